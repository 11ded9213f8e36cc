//! A seeker's request: asking for a call, withdrawing it, erasing it.

use chrono::TimeDelta;

use super::Service;
use crate::domain::consent::ConsentSource;
use crate::domain::request::NewRequest;
use crate::domain::status::{CallStatus, Outcome, RequestStatus};
use crate::ids::RequestId;
use crate::store::{
    CancelOutcome, CanceledCall, Conflict, EraseOutcome, Intake, NewCallEvent, RequestRecord,
    StoreError,
};
use crate::telephony::CallUpdate;
use crate::tokens;

/// Most requests one phone number may make in a day. Each request can text the
/// number (booked, moved, canceled), so the cap keeps the form from being used to
/// flood someone's phone, whatever addresses the posts come from.
pub const REQUESTS_PER_PHONE_PER_DAY: usize = 3;

/// A request just stored, with its manage token (shown to the seeker this once).
#[derive(Debug)]
pub struct Submitted {
    /// The stored request.
    pub record: RequestRecord,
    /// The private manage token; only its hash is stored.
    pub manage_token: String,
}

/// Why a request was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The number made [`REQUESTS_PER_PHONE_PER_DAY`] requests in the last day;
    /// the next is possible after this many seconds.
    #[error("the number's daily cap of requests is reached")]
    TooManyForPhone {
        /// Seconds until the number may ask again.
        retry_after_seconds: u64,
    },
    /// The number already has an open request (`unconfirmed`, `pending` or
    /// `scheduled`).
    #[error("the number already has an open request")]
    OpenRequestForPhone,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SubmitError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Conflict::OpenRequestForPhone) => SubmitError::OpenRequestForPhone,
            other => SubmitError::Store(other),
        }
    }
}

/// What erasing a request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// Whether the request was still open and got canceled first.
    pub withdrawn: CancelOutcome,
    /// Whether the personal data was erased now, or before.
    pub erased: EraseOutcome,
}

/// Why a request could not be erased.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// The request was reopened between canceling and erasing it; erasing again
    /// will work.
    #[error("the request was reopened while it was being erased")]
    ReopenedMeanwhile,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Service {
    /// Stores a new request with a fresh manage token: `unconfirmed` with its
    /// code text queued when the deployment confirms numbers, else `pending` (and
    /// the matcher is asked to run). The number may make
    /// [`REQUESTS_PER_PHONE_PER_DAY`] requests a day and hold one open request.
    pub async fn submit_request(
        &self,
        request: &NewRequest,
        source: ConsentSource,
    ) -> Result<Submitted, SubmitError> {
        let now = self.clock.now();
        let day = TimeDelta::days(1);
        let manage_token = tokens::generate(tokens::MANAGE_PREFIX);
        let cap = i64::try_from(REQUESTS_PER_PHONE_PER_DAY).unwrap_or(i64::MAX);
        let stored = self
            .intake
            .insert(Intake {
                request: request.clone(),
                manage_token_hash: tokens::hash(&manage_token),
                consent_source: source,
                confirm_phone: self.settings.confirm_phone,
                now,
                cap,
                since: now - day,
            })
            .await?;
        let Some(record) = stored else {
            let recent = self
                .store
                .request_times_for_phone(request.phone.as_str(), now - day)
                .await?;
            let oldest = recent.len().saturating_sub(REQUESTS_PER_PHONE_PER_DAY);
            let frees_at = recent.get(oldest).map_or(now + day, |made| *made + day);
            let seconds = (frees_at - now).num_seconds().max(1);
            tracing::info!("request refused: the number's daily cap is reached");
            return Err(SubmitError::TooManyForPhone {
                retry_after_seconds: seconds.unsigned_abs(),
            });
        };
        tracing::info!(request.id = record.id.0, request.status = %record.status, "request received");
        if record.status == RequestStatus::Pending {
            self.matcher.nudge();
        }
        Ok(Submitted {
            record,
            manage_token,
        })
    }

    /// Cancels request `id` and its booked call, stops a call already at the
    /// provider, and lets the matcher reuse the freed slot. The door has checked
    /// that the caller may.
    pub async fn withdraw_request(&self, id: RequestId) -> Result<CancelOutcome, StoreError> {
        let outcome = self.store.cancel_request(id, self.clock.now()).await?;
        if let CancelOutcome::Canceled { call } = &outcome {
            tracing::info!(
                request.id = id.0,
                call.id = call.as_ref().map(|call| call.id.0),
                "request canceled"
            );
            if let Some(call) = call {
                self.metrics.call_ended(Outcome::Canceled);
                self.stop_at_provider(call).await?;
            }
            self.matcher.nudge();
        }
        Ok(outcome)
    }

    /// Cancels request `id` if it is still open (stopping its call at the
    /// provider), then erases the seeker's personal data for good.
    pub async fn erase_request(&self, id: RequestId) -> Result<Erasure, EraseError> {
        let withdrawn = self.withdraw_request(id).await?;
        let erased = self.store.erase_request(id, self.clock.now()).await?;
        match erased {
            EraseOutcome::Erased => {
                self.store.checkpoint_after_erasure().await;
                tracing::info!(request.id = id.0, "personal data erased");
            }
            EraseOutcome::AlreadyErased => {}
            EraseOutcome::NotFound => return Err(EraseError::NotFound),
            EraseOutcome::StillOpen => return Err(EraseError::ReopenedMeanwhile),
        }
        Ok(Erasure { withdrawn, erased })
    }

    /// Cancels (ringing) or hangs up (answered) a call the provider already has.
    /// A call dialed but not yet given an id, or placed while no provider is at
    /// hand, is stopped when its next webhook finds it canceled.
    async fn stop_at_provider(&self, call: &CanceledCall) -> Result<(), StoreError> {
        let update = match call.was {
            CallStatus::Dialing => CallUpdate::Cancel,
            CallStatus::InProgress => CallUpdate::HangUp,
            _ => return Ok(()),
        };
        let (Some(sid), Some(provider)) = (&call.provider_call_sid, &self.provider) else {
            return Ok(());
        };
        let now = self.clock.now();
        let detail = match provider.update_call(sid, update).await {
            Ok(updated) => {
                serde_json::json!({ "update": format!("{update:?}"), "status": updated.status })
            }
            Err(error) => {
                self.metrics.provider_error("update_call", &error);
                tracing::warn!(call.id = call.id.0, error = %error, "could not stop the call at the provider");
                serde_json::json!({ "update": format!("{update:?}"), "error": error.to_string() })
            }
        };
        self.store
            .record_event(NewCallEvent::new(
                call.id,
                "stopped_at_provider",
                &detail,
                now,
            ))
            .await?;
        Ok(())
    }
}
