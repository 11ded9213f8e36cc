//! Telephony: the provider that places calls and sends texts, behind one trait.
//!
//! Two implementations: [`twilio::TwilioClient`] speaks Twilio's REST API (or any
//! Twilio-compatible base URL), and [`simulated::SimulatedProvider`] plays the same
//! call flow in-process for a machine without an account. Webhooks, TwiML and
//! signatures are Twilio's wire format in both cases, so the service runs the same
//! code either way.
//!
//! Errors: provider calls return [`ProviderError`], typed by what the caller can do
//! about them (retry, give up, or reconcile because the outcome is unknown).
//!
//! May not: read or write the store, or decide what a call means for a request;
//! that is the dispatcher's, the reconciler's and the webhooks' part.

pub mod breaker;
pub mod player;
pub mod simulated;
pub mod twilio;
pub mod twiml;

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

/// A call to place: the provider rings `to` from `from`, fetches TwiML from `url`
/// when answered, and posts status changes to `status_callback`.
#[derive(Clone, Debug)]
pub struct NewCall {
    /// E.164 callee.
    pub to: String,
    /// E.164 caller ID (the service number).
    pub from: String,
    /// TwiML URL requested when the call is answered.
    pub url: String,
    /// Where status changes are posted.
    pub status_callback: String,
    /// Seconds to let it ring.
    pub timeout_seconds: u32,
    /// Most seconds the call may last.
    pub time_limit_seconds: u32,
}

/// A text message to send.
#[derive(Clone, Debug)]
pub struct NewSms {
    /// E.164 recipient.
    pub to: String,
    /// E.164 sender (the service number).
    pub from: String,
    /// The text.
    pub body: String,
}

/// What the provider says about one call.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ProviderCall {
    /// The provider's call id (`CA…`).
    pub sid: String,
    /// `queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`,
    /// `no-answer` or `canceled`.
    pub status: String,
    /// Callee.
    #[serde(default)]
    pub to: Option<String>,
    /// Caller ID.
    #[serde(default)]
    pub from: Option<String>,
    /// The parent call of a `<Dial>`ed leg.
    #[serde(default)]
    pub parent_call_sid: Option<String>,
    /// Seconds, once completed (Twilio sends it as a string).
    #[serde(default, deserialize_with = "number_or_string")]
    pub duration: Option<u32>,
}

/// Filters of a call listing.
#[derive(Clone, Debug, Default)]
pub struct CallQuery {
    /// Only calls to this number.
    pub to: Option<String>,
    /// Only calls started on or after this instant.
    pub started_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only legs dialed from this parent call.
    pub parent_call_sid: Option<String>,
    /// Only calls in this status (`in-progress`, …).
    pub status: Option<String>,
    /// Calls per page of the listing; `None` is the provider's usual 50. A
    /// listing follows at most a few pages, so a large one asks for bigger pages.
    pub page_size: Option<u32>,
}

/// A change to a placed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallUpdate {
    /// Stop a call that is queued or ringing.
    Cancel,
    /// Hang up a call in progress.
    HangUp,
}

/// Why a provider request failed, typed by what the caller may do next.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The number cannot be called or texted (Twilio 21211, 21214, 21217, 21219, …).
    #[error("the provider refused the number (code {code})")]
    InvalidNumber {
        /// Provider error code.
        code: u32,
    },
    /// Credentials were refused (401, code 20003).
    #[error("the provider refused our credentials")]
    Auth,
    /// Too many requests (429, code 20429); nothing was processed, so retrying
    /// later is safe.
    #[error("the provider is rate limiting us")]
    RateLimited,
    /// The provider failed (5xx).
    #[error("the provider answered {status}")]
    Server {
        /// HTTP status.
        status: u16,
    },
    /// Any other refusal (4xx), with the provider's code.
    #[error("the provider refused the request: {status} code {code}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Provider error code, 0 when none was given.
        code: u32,
    },
    /// The request never reached the provider (connection refused, DNS); retrying
    /// is safe.
    #[error("could not reach the provider")]
    Unreachable,
    /// The request was sent but no answer came back: it may or may not have taken
    /// effect. A create-call in this state must be reconciled, never re-sent.
    #[error("the provider did not answer in time; the outcome is unknown")]
    OutcomeUnknown,
    /// The answer could not be read.
    #[error("unexpected answer from the provider: {0}")]
    Protocol(String),
    /// The provider has been failing, so the request was not sent (see
    /// [`breaker`]); retrying later is safe.
    #[error("the provider is failing; requests are held back for a while")]
    CircuitOpen,
}

impl ProviderError {
    /// Whether the recipient opted out of texts at the provider (Twilio 21610),
    /// so no text may go to them until they opt in again.
    pub fn recipient_opted_out(&self) -> bool {
        matches!(self, ProviderError::InvalidNumber { code: 21610 })
    }

    /// Whether nothing happened at the provider, so the same request may be sent again.
    pub fn nothing_happened(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited | ProviderError::Unreachable | ProviderError::CircuitOpen
        )
    }

    /// Whether a request that failed this way is worth sending again later: nothing
    /// happened, or the provider said it is unavailable (503).
    pub fn worth_retrying_later(&self) -> bool {
        self.nothing_happened() || matches!(self, ProviderError::Server { status: 503 })
    }

    /// Whether a create request that failed this way may still have created
    /// something: no answer, an answer we could not read, or a server error other
    /// than 503. Such a dial is reconciled with the provider, never re-sent.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            ProviderError::OutcomeUnknown | ProviderError::Protocol(_) => true,
            ProviderError::Server { status } => *status != 503,
            _ => false,
        }
    }

    /// Whether this says the provider itself is in trouble (as opposed to refusing
    /// one request), which is what the circuit breaker counts.
    pub fn provider_in_trouble(&self) -> bool {
        matches!(
            self,
            ProviderError::Server { .. }
                | ProviderError::Unreachable
                | ProviderError::OutcomeUnknown
        )
    }
}

/// Places calls and sends texts.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Places a call; returns as soon as the provider accepted it.
    async fn create_call(&self, call: &NewCall) -> Result<ProviderCall, ProviderError>;
    /// The current state of call `sid`.
    async fn fetch_call(&self, sid: &str) -> Result<ProviderCall, ProviderError>;
    /// Calls matching `query`, newest first.
    async fn list_calls(&self, query: &CallQuery) -> Result<Vec<ProviderCall>, ProviderError>;
    /// Cancels or hangs up call `sid`.
    async fn update_call(
        &self,
        sid: &str,
        update: CallUpdate,
    ) -> Result<ProviderCall, ProviderError>;
    /// Sends a text; returns the provider's message id.
    async fn send_sms(&self, sms: &NewSms) -> Result<String, ProviderError>;
    /// The auth token webhooks are signed with.
    fn webhook_auth_token(&self) -> &str;
}

/// How long one provider request may take before its outcome counts as unknown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn number_or_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u32),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        Some(Raw::Number(number)) => Some(number),
        Some(Raw::Text(text)) => text.parse().ok(),
        None => None,
    })
}
