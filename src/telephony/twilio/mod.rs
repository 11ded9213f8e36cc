//! Twilio's REST API over reqwest: form-encoded bodies, HTTP Basic auth, any
//! Twilio-compatible base URL (`TWILIO_API_BASE`).
//!
//! Retries are limited to what is safe: a 429/20429 or a refused connection means
//! nothing was processed; a read may also be retried after a 5xx or a timeout.
//! Twilio has no idempotency key for creating a call or a message, so a POST whose
//! answer never came is reported as [`ProviderError::OutcomeUnknown`] and never
//! re-sent blindly.

pub mod signature;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{
    CallQuery, CallUpdate, NewCall, NewSms, Provider, ProviderCall, ProviderError, REQUEST_TIMEOUT,
};
use crate::secret::Secret;

/// Twilio error codes that mean "this number cannot be reached this way".
const INVALID_NUMBER_CODES: &[u32] = &[
    13223, 13224, 21210, 21211, 21212, 21214, 21215, 21216, 21217, 21219, 21401, 21407, 21408,
    21421, 21601, 21602, 21608, 21610, 21612, 21614,
];

/// Most pages a call listing follows.
const MAX_LIST_PAGES: usize = 5;

/// How the client retries what is safe to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubles each time.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(250),
        }
    }
}

/// Connection settings of a Twilio account.
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    /// `https://api.twilio.com`, or a compatible provider's base URL.
    pub api_base: String,
    /// Account SID (`AC…` on Twilio; compatible providers use other forms).
    pub account_sid: String,
    /// Auth token: the Basic-auth password and the webhook signing key.
    pub auth_token: Secret,
}

/// A Twilio REST client.
#[derive(Clone, Debug)]
pub struct TwilioClient {
    http: reqwest::Client,
    config: TwilioConfig,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct TwilioErrorBody {
    #[serde(default)]
    code: Option<u32>,
}

#[derive(Deserialize)]
struct CallPage {
    calls: Vec<ProviderCall>,
    #[serde(default)]
    next_page_uri: Option<String>,
}

#[derive(Deserialize)]
struct MessageCreated {
    sid: String,
}

/// Whether a request may be sent again after an unclear failure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// A read: repeating it changes nothing.
    Idempotent,
    /// A write without idempotency key: only repeat what provably did not happen.
    CreatesSomething,
}

impl TwilioClient {
    /// A client for `config` with the default retry policy.
    pub fn new(config: TwilioConfig) -> anyhow::Result<TwilioClient> {
        TwilioClient::with_retry(config, RetryPolicy::default())
    }

    /// A client for `config` retrying by `retry`.
    pub fn with_retry(config: TwilioConfig, retry: RetryPolicy) -> anyhow::Result<TwilioClient> {
        TwilioClient::with_timeout(config, retry, REQUEST_TIMEOUT)
    }

    /// A client whose requests count as unanswered after `timeout`.
    pub fn with_timeout(
        config: TwilioConfig,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> anyhow::Result<TwilioClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("ridealong/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut config = config;
        config.api_base = config.api_base.trim_end_matches('/').to_owned();
        Ok(TwilioClient {
            http,
            config,
            retry,
        })
    }

    fn account_url(&self, rest: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{rest}",
            self.config.api_base, self.config.account_sid
        )
    }

    /// Sends one request, retrying what `safety` allows, and returns the JSON answer.
    async fn send(
        &self,
        method: Method,
        url: &str,
        form: &[(&str, String)],
        safety: Safety,
    ) -> Result<Value, ProviderError> {
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            let result = self.send_once(method.clone(), url, form).await;
            let retry = match &result {
                Ok(_) => false,
                Err(error) if error.nothing_happened() => true,
                Err(ProviderError::Server { status }) => {
                    safety == Safety::Idempotent
                        || *status == StatusCode::SERVICE_UNAVAILABLE.as_u16()
                }
                Err(ProviderError::OutcomeUnknown) => safety == Safety::Idempotent,
                Err(_) => false,
            };
            if !retry || attempt >= self.retry.attempts {
                return result;
            }
            if let Err(error) = &result {
                tracing::debug!(provider.attempt = attempt, error = %error, "retrying provider request");
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        form: &[(&str, String)],
    ) -> Result<Value, ProviderError> {
        let mut request = self.http.request(method.clone(), url).basic_auth(
            &self.config.account_sid,
            Some(self.config.auth_token.expose()),
        );
        if method == Method::POST {
            request = request.form(form);
        }
        let response = request.send().await.map_err(|error| {
            if error.is_connect() {
                ProviderError::Unreachable
            } else {
                ProviderError::OutcomeUnknown
            }
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|_| ProviderError::OutcomeUnknown)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|error| ProviderError::Protocol(error.to_string()));
        }
        let code = serde_json::from_slice::<TwilioErrorBody>(&body)
            .ok()
            .and_then(|body| body.code);
        Err(classify(status, code))
    }
}

/// Maps an error answer to what the caller can do about it.
fn classify(status: StatusCode, code: Option<u32>) -> ProviderError {
    match (status, code) {
        (StatusCode::UNAUTHORIZED, _) | (_, Some(20003)) => ProviderError::Auth,
        (StatusCode::TOO_MANY_REQUESTS, _) | (_, Some(20429)) => ProviderError::RateLimited,
        (_, Some(code)) if INVALID_NUMBER_CODES.contains(&code) => {
            ProviderError::InvalidNumber { code }
        }
        (status, _) if status.is_server_error() => ProviderError::Server {
            status: status.as_u16(),
        },
        (status, code) => ProviderError::Rejected {
            status: status.as_u16(),
            code: code.unwrap_or(0),
        },
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ProviderError> {
    serde_json::from_value(value).map_err(|error| ProviderError::Protocol(error.to_string()))
}

#[async_trait]
impl Provider for TwilioClient {
    async fn create_call(&self, call: &NewCall) -> Result<ProviderCall, ProviderError> {
        let mut form = vec![
            ("To", call.to.clone()),
            ("From", call.from.clone()),
            ("Url", call.url.clone()),
            ("Method", "POST".to_owned()),
            ("StatusCallback", call.status_callback.clone()),
            ("StatusCallbackMethod", "POST".to_owned()),
            ("Timeout", call.timeout_seconds.to_string()),
            ("TimeLimit", call.time_limit_seconds.to_string()),
        ];
        for event in ["initiated", "ringing", "answered", "completed"] {
            form.push(("StatusCallbackEvent", event.to_owned()));
        }
        let url = self.account_url("Calls.json");
        parse(
            self.send(Method::POST, &url, &form, Safety::CreatesSomething)
                .await?,
        )
    }

    async fn fetch_call(&self, sid: &str) -> Result<ProviderCall, ProviderError> {
        let url = self.account_url(&format!("Calls/{sid}.json"));
        parse(
            self.send(Method::GET, &url, &[], Safety::Idempotent)
                .await?,
        )
    }

    async fn list_calls(&self, query: &CallQuery) -> Result<Vec<ProviderCall>, ProviderError> {
        let page_size = query.page_size.unwrap_or(50).clamp(1, 1000);
        let mut params: Vec<(&str, String)> = vec![("PageSize", page_size.to_string())];
        if let Some(to) = &query.to {
            params.push(("To", to.clone()));
        }
        if let Some(after) = query.started_after {
            // ISO 8601 date-time, as the spec and Twilio's helper libraries send it.
            params.push(("StartTime>", after.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
        }
        if let Some(parent) = &query.parent_call_sid {
            params.push(("ParentCallSid", parent.clone()));
        }
        if let Some(status) = &query.status {
            params.push(("Status", status.clone()));
        }
        let mut url = reqwest::Url::parse_with_params(&self.account_url("Calls.json"), &params)
            .map_err(|error| ProviderError::Protocol(error.to_string()))?
            .to_string();
        let list_path = format!(
            "/2010-04-01/Accounts/{}/Calls.json",
            self.config.account_sid
        );
        let mut calls = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let page: CallPage = parse(
                self.send(Method::GET, &url, &[], Safety::Idempotent)
                    .await?,
            )?;
            calls.extend(page.calls);
            match page.next_page_uri {
                // Twilio's next page is a path to the same list of the same account;
                // anything else is not followed, so credentials go nowhere else.
                Some(next) if next.starts_with(&list_path) => {
                    url = format!("{}{next}", self.config.api_base)
                }
                _ => break,
            }
        }
        Ok(calls)
    }

    async fn update_call(
        &self,
        sid: &str,
        update: CallUpdate,
    ) -> Result<ProviderCall, ProviderError> {
        let status = match update {
            CallUpdate::Cancel => "canceled",
            CallUpdate::HangUp => "completed",
        };
        let url = self.account_url(&format!("Calls/{sid}.json"));
        // Repeating a cancel or hang-up is harmless, so it may be retried.
        parse(
            self.send(
                Method::POST,
                &url,
                &[("Status", status.to_owned())],
                Safety::Idempotent,
            )
            .await?,
        )
    }

    async fn send_sms(&self, sms: &NewSms) -> Result<String, ProviderError> {
        let form = [
            ("To", sms.to.clone()),
            ("From", sms.from.clone()),
            ("Body", sms.body.clone()),
        ];
        let url = self.account_url("Messages.json");
        let created: MessageCreated = parse(
            self.send(Method::POST, &url, &form, Safety::CreatesSomething)
                .await?,
        )?;
        Ok(created.sid)
    }

    fn webhook_auth_token(&self) -> &str {
        self.config.auth_token.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_map_to_what_the_caller_can_do() {
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, Some(20003)),
            ProviderError::Auth
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, Some(20429)),
            ProviderError::RateLimited
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, Some(21211)),
            ProviderError::InvalidNumber { code: 21211 }
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None),
            ProviderError::Server { status: 502 }
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, Some(21626)),
            ProviderError::Rejected {
                status: 400,
                code: 21626
            }
        ));
    }
}
