//! The webhook deliverer: posts the outbox's events (`call.ended`,
//! `request.updated`, `feedback.received`) to the configured URL as JSON, signed per the Standard
//! Webhooks specification (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`).
//!
//! Delivery is at least once and in order per request: database triggers write
//! each event in the transaction of the change it tells of, a claim takes only a
//! request's earliest pending event, and an event is done when the receiver
//! answers 2xx. Anything else (another status, a timeout, no connection) is
//! retried with exponential backoff and jitter for 24 hours from the event, then
//! given up (`failed`); a request's later events wait until then. Every attempt
//! keeps the event's `webhook-id`, so receivers can drop duplicates.
//!
//! Never logged: the secret, the URL (it may carry a token) and the payload.
//!
//! Longer than most modules because of its tests: payload and signature vectors
//! sit beside the code.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::clock::Clock;
use crate::ids::{CallId, MentorId, RequestId};
use crate::metrics::Metrics;
use crate::store::{Store, WebhookEventKind, WebhookJob};

/// Time between passes in service: events go out within a second or two.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// How long the receiver has to answer one post (the specification suggests
/// 15-30 s; a CRM hook that needs longer should answer first and work after).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long retries go on, counted from the event.
pub const RETRY_FOR: TimeDelta = TimeDelta::hours(24);
/// The first retry's delay; each one after doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(10);
/// The longest wait between two attempts.
const MAX_BACKOFF: TimeDelta = TimeDelta::hours(1);
/// How long a claimed event is left alone before it counts as abandoned: well
/// beyond a post's timeout.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Events claimed at a time (at most one per request).
const BATCH: u32 = 100;
/// Posts in flight at once, to different requests.
const POSTS_AT_ONCE: usize = 8;

/// A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64
/// random bytes. Only the decoded key is kept, and `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Reads `whsec_<base64>` (padded or not), as the reference libraries do;
    /// the key must be 24 to 64 bytes, as the specification asks.
    pub fn parse(text: &str) -> Result<SigningKey, String> {
        let Some(encoded) = text.trim().strip_prefix("whsec_") else {
            return Err("must start with whsec_ (a Standard Webhooks secret)".to_owned());
        };
        let key = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| "the part after whsec_ must be base64".to_owned())?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!(
                "the part after whsec_ must decode to 24-64 bytes, not {}",
                key.len()
            ));
        }
        Ok(SigningKey(key))
    }

    /// The `webhook-signature` header for message `id` sent at unix `timestamp`
    /// with `body`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Where events go and how they are signed.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The receiver's URL (`RIDEALONG_WEBHOOK_URL`).
    pub url: reqwest::Url,
    /// The signing key (`RIDEALONG_WEBHOOK_SECRET`).
    pub key: SigningKey,
    /// How long the receiver has to answer a post ([`REQUEST_TIMEOUT`] in service).
    pub timeout: Duration,
    /// Time between the deliverer's passes ([`INTERVAL`] in service; the first
    /// runs as the service starts).
    pub interval: Duration,
}

impl WebhookConfig {
    /// Checks `url` (http or https) and `secret` (`whsec_…`); each error says which
    /// setting is wrong, never its value.
    pub fn parse(url: &str, secret: Option<&str>) -> Result<WebhookConfig, String> {
        let url = reqwest::Url::parse(url.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| "RIDEALONG_WEBHOOK_URL must be an http:// or https:// URL".to_owned())?;
        let secret = secret.map(str::trim).filter(|secret| !secret.is_empty());
        let Some(secret) = secret else {
            return Err(
                "RIDEALONG_WEBHOOK_URL is set, so RIDEALONG_WEBHOOK_SECRET must be too (whsec_ and base64 of 24-64 random bytes)"
                    .to_owned(),
            );
        };
        let key = SigningKey::parse(secret)
            .map_err(|error| format!("RIDEALONG_WEBHOOK_SECRET {error}"))?;
        Ok(WebhookConfig {
            url,
            key,
            timeout: REQUEST_TIMEOUT,
            interval: INTERVAL,
        })
    }
}

/// The JSON body of an event, as the specification shapes it.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: DateTime<Utc>,
    data: Data<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Data<'a> {
    CallEnded {
        call_id: CallId,
        request_id: RequestId,
        mentor_id: MentorId,
        outcome: &'a str,
        talk_seconds: Option<u32>,
        starts_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    },
    RequestUpdated {
        request_id: RequestId,
        status: &'a str,
        previous_status: Option<&'a str>,
        attempts: u32,
        call: Option<BookedCall>,
    },
    FeedbackReceived {
        call_id: CallId,
        request_id: RequestId,
        mentor_id: MentorId,
        score: u8,
        starts_at: DateTime<Utc>,
        received_at: DateTime<Utc>,
    },
}

#[derive(Serialize)]
struct BookedCall {
    id: CallId,
    mentor_id: MentorId,
    starts_at: DateTime<Utc>,
}

/// The body posted for `job`: the same text on every attempt.
pub fn payload(job: &WebhookJob) -> String {
    let data = match &job.kind {
        WebhookEventKind::CallEnded {
            call_id,
            mentor_id,
            outcome,
            talk_seconds,
            starts_at,
            ended_at,
        } => Data::CallEnded {
            call_id: *call_id,
            request_id: job.request_id,
            mentor_id: *mentor_id,
            outcome: outcome.as_str(),
            talk_seconds: *talk_seconds,
            starts_at: *starts_at,
            ended_at: *ended_at,
        },
        WebhookEventKind::RequestUpdated {
            status,
            previous_status,
            attempts,
            call,
        } => Data::RequestUpdated {
            request_id: job.request_id,
            status: status.as_str(),
            previous_status: previous_status.map(|status| status.as_str()),
            attempts: *attempts,
            call: call.map(|(id, mentor_id, starts_at)| BookedCall {
                id,
                mentor_id,
                starts_at,
            }),
        },
        WebhookEventKind::FeedbackReceived {
            call_id,
            mentor_id,
            score,
            starts_at,
        } => Data::FeedbackReceived {
            call_id: *call_id,
            request_id: job.request_id,
            mentor_id: *mentor_id,
            score: score.value(),
            starts_at: *starts_at,
            received_at: job.occurred_at,
        },
    };
    let envelope = Envelope {
        kind: job.kind.type_name(),
        timestamp: job.occurred_at,
        data,
    };
    serde_json::to_string(&envelope).expect("an event serialises")
}

/// When to post an event created at `created_at` again after its `attempts`-th
/// post failed at `now`: 10 s doubling per attempt up to an hour, stretched by
/// `jitter` (0 to 1: ×0.75 to ×1.25) so retries to a receiver that was down do
/// not arrive all at once, and never later than [`RETRY_FOR`] after the event,
/// which is the last try. `None` once that has passed: give up.
pub fn retry_at(
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    attempts: u32,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    let deadline = created_at + RETRY_FOR;
    if now >= deadline {
        return None;
    }
    let doublings = attempts.saturating_sub(1).min(20);
    let backoff = (FIRST_BACKOFF * 2_i32.pow(doublings)).min(MAX_BACKOFF);
    let factor = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
    let delay = TimeDelta::milliseconds((backoff.num_milliseconds() as f64 * factor) as i64);
    Some((now + delay).min(deadline))
}

/// What one deliverer pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Events the receiver took (2xx).
    pub delivered: usize,
    /// Posts that failed and will be tried again.
    pub retrying: usize,
    /// Events given up after 24 hours of retries.
    pub given_up: usize,
}

/// How one post went.
enum Posted {
    /// A 2xx answer.
    Delivered(u16),
    /// Anything else: the failure's kind and the status, if one came.
    Failed(String, Option<u16>),
}

/// Posts outbox events to the configured receiver.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<WebhookConfig>,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    /// Held for a whole pass, so passes never overlap.
    pass: Arc<tokio::sync::Mutex<()>>,
    /// Passes finished so far, whether they failed or not.
    passes_done: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Deliverer {
    /// A deliverer posting to `config.url`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: WebhookConfig,
    ) -> anyhow::Result<Deliverer> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect is a failure (the specification): the URL should be fixed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ridealong-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            store,
            clock,
            config: Arc::new(config),
            http,
            metrics: Arc::default(),
            pass: Arc::new(tokio::sync::Mutex::new(())),
            passes_done: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// This deliverer, counting deliveries into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Deliverer {
        Deliverer { metrics, ..self }
    }

    /// Waits until at least `passes` passes have finished since this deliverer
    /// was made; the first is the one its loop makes as the service starts.
    pub async fn passes_done(&self, passes: u64) {
        let mut done = self.passes_done.subscribe();
        let _ = done.wait_for(|done| *done >= passes).await;
    }

    /// Posts every due event, a request's events one after another in order,
    /// until none is due.
    #[instrument(skip_all, name = "webhooks.run")]
    pub async fn run_once(&self) -> anyhow::Result<DeliveryReport> {
        let _pass = self.pass.lock().await;
        let report = self.deliver_due().await;
        self.passes_done.send_modify(|done| *done += 1);
        report
    }

    async fn deliver_due(&self) -> anyhow::Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        loop {
            let now = self.clock.now();
            let jobs = self
                .store
                .claim_webhook_events(now, now + LEASE, BATCH)
                .await?;
            if jobs.is_empty() {
                return Ok(report);
            }
            let posts: Vec<_> = jobs.iter().map(|job| self.deliver(job)).collect();
            let outcomes: Vec<anyhow::Result<Option<bool>>> = stream::iter(posts)
                .buffer_unordered(POSTS_AT_ONCE)
                .collect()
                .await;
            // Every post is over before an error ends the pass, so none is cut
            // off between its answer and its bookkeeping.
            for outcome in outcomes {
                match outcome? {
                    Some(true) => report.delivered += 1,
                    Some(false) => report.retrying += 1,
                    None => report.given_up += 1,
                }
            }
        }
    }

    /// Posts one event and records how it went: delivered (`Some(true)`), to be
    /// retried (`Some(false)`) or given up (`None`).
    async fn deliver(&self, job: &WebhookJob) -> anyhow::Result<Option<bool>> {
        let posted = self.post(job).await;
        let now = self.clock.now();
        match posted {
            Posted::Delivered(status) => {
                self.store
                    .webhook_delivered(job.id, job.attempts, status, now)
                    .await?;
                self.metrics.webhook_delivery("delivered");
                info!(
                    webhook.event_id = job.id,
                    webhook.type = job.kind.type_name(),
                    request.id = job.request_id.0,
                    webhook.attempts = job.attempts,
                    http.status = status,
                    "webhook delivered"
                );
                Ok(Some(true))
            }
            Posted::Failed(error, status) => {
                let retry = retry_at(job.created_at, now, job.attempts, rand::random::<f64>());
                self.store
                    .webhook_attempt_failed(job.id, job.attempts, &error, status, retry, now)
                    .await?;
                self.metrics.webhook_delivery(if retry.is_some() {
                    "retrying"
                } else {
                    "given_up"
                });
                warn!(
                    webhook.event_id = job.id,
                    webhook.type = job.kind.type_name(),
                    request.id = job.request_id.0,
                    webhook.attempts = job.attempts,
                    webhook.error = %error,
                    webhook.given_up = retry.is_none(),
                    webhook.retry_at = retry.map(|at| at.to_rfc3339()),
                    "webhook not delivered"
                );
                Ok(retry.map(|_| false))
            }
        }
    }

    /// One signed post of `job`.
    async fn post(&self, job: &WebhookJob) -> Posted {
        let body = payload(job);
        let timestamp = self.clock.now().timestamp();
        let signature = self.config.key.sign(&job.webhook_id, timestamp, &body);
        let sent = self
            .http
            .post(self.config.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &job.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                Posted::Delivered(response.status().as_u16())
            }
            Ok(response) => {
                let status = response.status().as_u16();
                Posted::Failed(format!("http_{status}"), Some(status))
            }
            Err(error) if error.is_timeout() => Posted::Failed("timeout".to_owned(), None),
            Err(error) if error.is_connect() => Posted::Failed("connect".to_owned(), None),
            Err(_) => Posted::Failed("request".to_owned(), None),
        }
    }
}

/// Starts the deliverer loop until `shutdown`: a pass every configured
/// interval ([`INTERVAL`] in service).
pub fn spawn(deliverer: Deliverer, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    let interval = deliverer.config.interval;
    tokio::spawn(async move {
        loop {
            if let Err(error) = deliverer.run_once().await {
                warn!(
                    error = format!("{error:#}"),
                    "webhook pass failed; retrying"
                );
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::feedback::Score;
    use crate::domain::status::{Outcome, RequestStatus};
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("RFC 3339")
            .with_timezone(&Utc)
    }

    /// The specification's own example secret and signature (the Python
    /// library's tests use the same).
    #[test]
    fn a_signature_matches_the_specification_example() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_without_the_prefix_or_not_base64_or_too_short_are_refused() {
        assert!(SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningKey::parse("whsec_not base64!!").is_err());
        assert!(SigningKey::parse("whsec_c2hvcnQ=").is_err(), "5 bytes");
        assert!(SigningKey::parse(&format!("whsec_{}", BASE64.encode([7u8; 65]))).is_err());
        assert!(SigningKey::parse(&format!("whsec_{}", BASE64.encode([7u8; 24]))).is_ok());
        // Unpadded, as some tools print it.
        assert!(SigningKey::parse(&format!("whsec_{}", BASE64.encode([7u8; 32]))).is_ok());
        let unpadded = BASE64.encode([7u8; 32]);
        assert!(SigningKey::parse(&format!("whsec_{}", unpadded.trim_end_matches('='))).is_ok());
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let config = WebhookConfig::parse(
            "https://crm.example.org/hooks",
            Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        )
        .expect("valid");
        let shown = format!("{config:?}");
        assert!(!shown.contains("MfKQ9r8G"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn a_url_without_a_secret_or_not_http_is_refused_naming_the_setting() {
        let error = WebhookConfig::parse("https://crm.example.org/hooks", None).unwrap_err();
        assert!(error.contains("RIDEALONG_WEBHOOK_SECRET"), "{error}");
        let error = WebhookConfig::parse("ftp://crm.example.org", Some("whsec_x")).unwrap_err();
        assert!(error.contains("RIDEALONG_WEBHOOK_URL"), "{error}");
        let error =
            WebhookConfig::parse("https://crm.example.org", Some("whsec_short")).unwrap_err();
        assert!(error.contains("RIDEALONG_WEBHOOK_SECRET"), "{error}");
        assert!(
            !error.contains("short"),
            "the value is never echoed: {error}"
        );
    }

    fn job(kind: WebhookEventKind) -> WebhookJob {
        WebhookJob {
            id: 7,
            webhook_id: "msg_0123".to_owned(),
            request_id: RequestId(3),
            kind,
            occurred_at: at("2026-11-30T15:09:00Z"),
            created_at: at("2026-11-30T15:09:00Z"),
            attempts: 1,
        }
    }

    #[test]
    fn payloads_are_the_specification_envelope_with_ids_statuses_and_times() {
        let ended = job(WebhookEventKind::CallEnded {
            call_id: CallId(5),
            mentor_id: MentorId(2),
            outcome: Outcome::Completed,
            talk_seconds: Some(540),
            starts_at: at("2026-11-30T15:00:00Z"),
            ended_at: at("2026-11-30T15:09:00Z"),
        });
        assert_eq!(
            payload(&ended),
            r#"{"type":"call.ended","timestamp":"2026-11-30T15:09:00Z","data":{"call_id":5,"request_id":3,"mentor_id":2,"outcome":"completed","talk_seconds":540,"starts_at":"2026-11-30T15:00:00Z","ended_at":"2026-11-30T15:09:00Z"}}"#
        );
        let updated = job(WebhookEventKind::RequestUpdated {
            status: RequestStatus::Scheduled,
            previous_status: Some(RequestStatus::Pending),
            attempts: 0,
            call: Some((CallId(5), MentorId(2), at("2026-11-30T15:00:00Z"))),
        });
        assert_eq!(
            payload(&updated),
            r#"{"type":"request.updated","timestamp":"2026-11-30T15:09:00Z","data":{"request_id":3,"status":"scheduled","previous_status":"pending","attempts":0,"call":{"id":5,"mentor_id":2,"starts_at":"2026-11-30T15:00:00Z"}}}"#
        );
        let feedback = job(WebhookEventKind::FeedbackReceived {
            call_id: CallId(5),
            mentor_id: MentorId(2),
            score: Score::new(4).expect("score"),
            starts_at: at("2026-11-30T15:00:00Z"),
        });
        assert_eq!(
            payload(&feedback),
            r#"{"type":"feedback.received","timestamp":"2026-11-30T15:09:00Z","data":{"call_id":5,"request_id":3,"mentor_id":2,"score":4,"starts_at":"2026-11-30T15:00:00Z","received_at":"2026-11-30T15:09:00Z"}}"#
        );
    }

    #[test]
    fn retries_back_off_from_ten_seconds_to_an_hour_and_end_a_day_after_the_event() {
        let created = at("2026-11-30T12:00:00Z");
        let middle = 0.5;
        assert_eq!(
            retry_at(created, created, 1, middle),
            Some(created + TimeDelta::seconds(10))
        );
        assert_eq!(
            retry_at(created, created, 2, middle),
            Some(created + TimeDelta::seconds(20))
        );
        assert_eq!(
            retry_at(created, created, 30, middle),
            Some(created + TimeDelta::hours(1))
        );
        assert_eq!(
            retry_at(created, created, 1, 0.0),
            Some(created + TimeDelta::milliseconds(7500))
        );
        let late = created + TimeDelta::hours(23) + TimeDelta::minutes(30);
        assert_eq!(
            retry_at(created, late, 30, middle),
            Some(created + RETRY_FOR),
            "the last try is at the deadline"
        );
        assert_eq!(retry_at(created, created + RETRY_FOR, 31, middle), None);
    }

    proptest! {
        #[test]
        fn a_retry_is_later_than_now_and_never_past_the_deadline(
            attempts in 1u32..200,
            after_seconds in 0i64..(26 * 3600),
            jitter in 0.0f64..=1.0,
        ) {
            let created = at("2027-03-14T06:59:30Z");
            let now = created + TimeDelta::seconds(after_seconds);
            match retry_at(created, now, attempts, jitter) {
                Some(next) => {
                    prop_assert!(next > now);
                    prop_assert!(next <= created + RETRY_FOR);
                    prop_assert!(next - now <= TimeDelta::minutes(75));
                }
                None => prop_assert!(now >= created + RETRY_FOR),
            }
        }

        #[test]
        fn more_attempts_never_wait_less_before_the_cap(attempts in 1u32..12, jitter in 0.0f64..=1.0) {
            let created = at("2026-11-30T12:00:00Z");
            let first = retry_at(created, created, attempts, jitter);
            let second = retry_at(created, created, attempts + 1, jitter);
            prop_assert!(second >= first);
        }
    }
}
