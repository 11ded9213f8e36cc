//! The dispatcher: places each scheduled call at its start.
//!
//! For every due call it first records the intent (`scheduled` → `dialing`, one
//! statement, so no two dispatchers both win), then asks the provider to ring the
//! mentor, then stores the provider's call id. Calls sharing a start instant are
//! staggered so no more than `cps` reach the provider per second; each placement
//! runs concurrently so a slow provider does not delay the next one.
//!
//! A dial whose answer never came (timeout after sending) is never re-sent: the
//! [reconciler](super::reconciler) looks it up at the provider.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, instrument, warn};

use crate::clock::Clock;
use crate::domain::call_flow::Leg;
use crate::domain::status::Outcome;
use crate::ids::CallId;
use crate::metrics::Metrics;
use crate::scheduler::matcher::MatcherHandle;
use crate::service::calls::account_for_ended_call;
use crate::store::SecondTryRules;
use crate::store::{DialTarget, DueClaim, NewCallEvent, Store};
use crate::telephony::{NewCall, Provider, ProviderError};

/// Seconds the mentor's phone rings before the call counts as unanswered.
pub const MENTOR_RING_SECONDS: u32 = 25;
/// Slack past the slot's end before the provider cuts the call.
pub const TIME_LIMIT_GRACE: TimeDelta = TimeDelta::minutes(2);
/// Due calls a pass looks over for slots that went by undialed.
const PASS_LIMIT: u32 = 500;
/// Longest the idle loop waits before looking again.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How calls are placed.
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    /// Base URL the provider reaches our webhooks at.
    pub public_url: String,
    /// The service number: caller ID of every call and sender of every text.
    pub from_number: String,
    /// Most calls that reach the provider per second.
    pub cps: u32,
    /// Most calls dialing or in progress at once, under the provider's
    /// concurrent-call limit; `None` for no limit.
    pub calls_at_once: Option<usize>,
}

impl DispatchSettings {
    /// The webhook URL `leaf` of call `call_id`.
    pub fn call_webhook(&self, call_id: CallId, leaf: &str) -> String {
        format!(
            "{}/telephony/twilio/calls/{call_id}/{leaf}",
            self.public_url
        )
    }
}

/// What one dispatcher pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Calls handed to the provider.
    pub placed: usize,
    /// Calls the provider refused (ended as `failed`).
    pub failed: usize,
    /// Calls whose dial outcome is unknown (left for the reconciler).
    pub in_doubt: usize,
    /// Calls the provider could not take now, kept to be dialed again within
    /// their slot.
    pub retrying: usize,
    /// Whether a due call was left waiting because the concurrent-call limit
    /// was reached: the next pass comes a second later, or sooner when
    /// nudged.
    pub at_call_limit: bool,
}

impl DispatchReport {
    /// Counts one placement's result.
    fn count(&mut self, placement: anyhow::Result<Placement>) {
        match placement {
            Ok(Placement::Placed) => self.placed += 1,
            Ok(Placement::Failed) => self.failed += 1,
            Ok(Placement::InDoubt) => self.in_doubt += 1,
            Ok(Placement::Retrying) => self.retrying += 1,
            Ok(Placement::Skipped) => {}
            Err(error) => warn!(error = format!("{error:#}"), "placing a call failed"),
        }
    }
}

/// Places due calls through a provider.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    provider: Arc<dyn Provider>,
    clock: Arc<dyn Clock>,
    settings: Arc<DispatchSettings>,
    matcher: MatcherHandle,
    metrics: Arc<Metrics>,
    /// Set when the service shuts down: no new claims after it.
    stopping: CancellationToken,
    /// Held for a whole pass: passes never overlap, so a pass asked for while
    /// another runs starts after it and sees everything it wrote.
    pass: Arc<Mutex<()>>,
}

enum Placement {
    Placed,
    Failed,
    InDoubt,
    Retrying,
    Skipped,
}

impl Dispatcher {
    /// A dispatcher over `store` and `provider`; `matcher` is nudged when a call
    /// fails and its request goes back in the queue.
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
        clock: Arc<dyn Clock>,
        settings: DispatchSettings,
        matcher: MatcherHandle,
    ) -> Dispatcher {
        Dispatcher {
            store,
            provider,
            clock,
            settings: Arc::new(settings),
            matcher,
            metrics: Arc::default(),
            stopping: CancellationToken::new(),
            pass: Arc::new(Mutex::new(())),
        }
    }

    /// This dispatcher, claiming no more calls once `shutdown` is cancelled (the
    /// placements already claimed still finish).
    pub fn stopping_on(self, shutdown: CancellationToken) -> Dispatcher {
        Dispatcher {
            stopping: shutdown,
            ..self
        }
    }

    /// This dispatcher, counting into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Dispatcher {
        Dispatcher { metrics, ..self }
    }

    /// Ends call `call_id` with `outcome` and counts it; `true` when this ended it.
    async fn end_call(
        &self,
        call_id: CallId,
        outcome: Outcome,
        leg: Leg,
        talk_seconds: Option<u32>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let ended = self
            .store
            // The dispatcher only ends calls that failed to be placed, which
            // never earn a second try, so no rules for one are needed.
            .end_call(
                call_id,
                outcome,
                leg,
                talk_seconds,
                SecondTryRules::default(),
                now,
            )
            .await?;
        if let Some(ended) = &ended {
            account_for_ended_call(&self.metrics, call_id, outcome, ended, "call ended");
        }
        Ok(ended.is_some())
    }

    /// One pass: places every due call, paced at `cps`, and waits for the
    /// placements to finish.
    #[instrument(skip_all, name = "dispatcher.run")]
    pub async fn run_once(&self) -> anyhow::Result<DispatchReport> {
        let _pass = self.pass.lock().await;
        let mut report = DispatchReport::default();
        let now = self.clock.now();
        let due = self
            .store
            .due_calls(now, PASS_LIMIT)
            .await
            .context("loading due calls")?;
        let spacing =
            TimeDelta::seconds(1) / i32::try_from(self.settings.cps.max(1)).unwrap_or(i32::MAX);
        // Slots that went by while nobody could dial (the service was down):
        // ringing now would miss the mentor's window or the seeker's hours.
        for call in due {
            if now > latest_dial(call.starts_at, call.ends_at)
                && self.slot_missed(call.call_id, now).await?
            {
                report.failed += 1;
            }
        }
        // Claims go on while calls are due, paced by their reserved send times,
        // and never wait for earlier create-calls to answer: waiting after every
        // 500 put the 501st call one provider round trip behind its time.
        let mut placements = JoinSet::new();
        loop {
            if self.stopping.is_cancelled() {
                break;
            }
            let claim = self
                .store
                .claim_next_due(self.clock.now(), spacing, self.settings.calls_at_once)
                .await?;
            let target = match claim {
                DueClaim::Claimed(target) => target,
                DueClaim::NothingDue => break,
                DueClaim::AtCallLimit => {
                    debug!("a due call waits: the concurrent-call limit is reached");
                    report.at_call_limit = true;
                    break;
                }
            };
            // Wait for the send time this claim reserved (cluster-wide pacing).
            let wait = (target.send_at - self.clock.now())
                .to_std()
                .unwrap_or_default();
            tokio::time::sleep(wait).await;
            let dispatcher = self.clone();
            placements.spawn(async move { dispatcher.place(target).await });
            while let Some(joined) = placements.try_join_next() {
                report.count(joined.context("placing a call")?);
            }
        }
        while let Some(joined) = placements.join_next().await {
            report.count(joined.context("placing a call")?);
        }
        if report.failed > 0 {
            self.matcher.nudge();
        }
        Ok(report)
    }

    #[instrument(skip_all, fields(call.id = target.call_id.0))]
    async fn place(&self, target: DialTarget) -> anyhow::Result<Placement> {
        let call_id = target.call_id;
        let starts_at = target.starts_at;
        let now = self.clock.now();
        if now > latest_dial(target.starts_at, target.ends_at) {
            // The calls-per-second queue held it until too little of its slot was left.
            let ended = self.slot_missed(call_id, now).await?;
            return Ok(if ended {
                Placement::Failed
            } else {
                Placement::Skipped
            });
        }
        let lag_ms = (now - starts_at).num_milliseconds();
        let request = self.new_call(&target, now);
        let sent_at = self.clock.now();
        let placed = self.provider.create_call(&request).await;
        if let Err(error) = &placed {
            self.metrics.provider_error("create_call", error);
        }
        match placed {
            Ok(placed) => {
                self.store
                    .record_dialed(call_id, target.attempt, &placed.sid, self.clock.now())
                    .await?;
                self.metrics.call_placed(sent_at - starts_at);
                info!(call.id = call_id.0, dispatch.lag_ms = lag_ms, "call placed");
                Ok(Placement::Placed)
            }
            Err(error) if error.worth_retrying_later() => {
                let at = self.clock.now();
                let retry_at = at + retry_backoff(target.attempt);
                if retry_at > latest_dial(target.starts_at, target.ends_at) {
                    return self.dial_failed(&target, &error, at).await;
                }
                let detail = serde_json::json!({
                    "attempt": target.attempt,
                    "error": error.to_string(),
                    "retry_at": retry_at,
                });
                self.store
                    .retry_dial(call_id, target.attempt, retry_at, &detail, at)
                    .await?;
                warn!(call.id = call_id.0, error = %error, dispatch.retry_at = %retry_at,
                    "the provider could not take the call; trying again within the slot");
                Ok(Placement::Retrying)
            }
            Err(error) if error.may_have_taken_effect() => {
                let detail =
                    serde_json::json!({ "attempt": target.attempt, "error": error.to_string() });
                let event =
                    NewCallEvent::new(call_id, "dial_outcome_unknown", &detail, self.clock.now());
                self.store.record_event(event).await?;
                warn!(
                    call.id = call_id.0,
                    "the provider did not answer the dial; it will be reconciled"
                );
                Ok(Placement::InDoubt)
            }
            Err(error) => self.dial_failed(&target, &error, self.clock.now()).await,
        }
    }

    /// Ends call `call_id`, whose slot went by undialed, as failed; the request goes
    /// back in the queue. `true` when this ended it.
    async fn slot_missed(&self, call_id: CallId, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let detail = serde_json::json!({ "reason": "the slot passed before it could be dialed" });
        self.store
            .record_event(NewCallEvent::new(call_id, "slot_missed", &detail, now))
            .await?;
        self.end_call(call_id, Outcome::Failed, Leg::Mentor, None, now)
            .await
    }

    /// Ends claim `target` as failed after `error`; the request goes back in the queue.
    async fn dial_failed(
        &self,
        target: &DialTarget,
        error: &ProviderError,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Placement> {
        let detail = serde_json::json!({ "attempt": target.attempt, "error": error.to_string() });
        let event = NewCallEvent::new(target.call_id, "dial_failed", &detail, at);
        self.store.record_event(event).await?;
        self.end_call(target.call_id, Outcome::Failed, Leg::Mentor, None, at)
            .await?;
        warn!(call.id = target.call_id.0, error = %error, "the provider refused the call; the request is requeued");
        Ok(Placement::Failed)
    }

    fn new_call(&self, target: &DialTarget, now: DateTime<Utc>) -> NewCall {
        NewCall {
            to: target.mentor_phone.clone(),
            from: self.settings.from_number.clone(),
            url: self.settings.call_webhook(target.call_id, "answer"),
            status_callback: self.settings.call_webhook(target.call_id, "status"),
            timeout_seconds: MENTOR_RING_SECONDS,
            time_limit_seconds: time_limit_seconds(now.max(target.starts_at), target.ends_at),
        }
    }

    /// How long to wait before the next pass: until the next call is due, at most
    /// a second.
    async fn idle_wait(&self) -> Duration {
        match self.store.next_due_at().await {
            Ok(Some(next)) => (next - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(IDLE_WAIT),
            Ok(None) => IDLE_WAIT,
            Err(error) => {
                warn!(error = %error, "cannot read the next due call");
                IDLE_WAIT
            }
        }
    }
}

/// Seconds a call (or its bridged leg) placed at `from` may last: to the end of
/// its slot plus [`TIME_LIMIT_GRACE`], at least a minute, at most four hours.
pub fn time_limit_seconds(from: DateTime<Utc>, ends_at: DateTime<Utc>) -> u32 {
    let remaining = (ends_at - from).max(TimeDelta::zero()) + TIME_LIMIT_GRACE;
    remaining.num_seconds().clamp(60, 4 * 3600) as u32
}

/// The last instant a call of slot `[starts_at, ends_at)` is still worth placing:
/// while at least five minutes of it are left, or half of a shorter slot.
pub fn latest_dial(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> DateTime<Utc> {
    let length = ends_at - starts_at;
    let needed = TimeDelta::minutes(5).min(length / 2);
    ends_at - needed
}

/// How long to wait before dialing again after the provider could not take claim
/// `attempt`: 15 s, 30 s, then every minute, as long as the slot allows.
pub fn retry_backoff(attempt: i32) -> TimeDelta {
    let doublings = u32::try_from(attempt.clamp(1, 3) - 1).unwrap_or(0);
    TimeDelta::seconds(15 * 2_i64.pow(doublings)).min(TimeDelta::minutes(1))
}

/// Asks the running dispatcher for a pass.
#[derive(Clone, Debug)]
pub struct DispatcherHandle {
    wake: Arc<Notify>,
}

impl DispatcherHandle {
    /// Wakes the dispatcher now (e.g. after a booking close to its start).
    pub fn nudge(&self) {
        self.wake.notify_one();
    }
}

/// Starts the dispatcher loop until `shutdown`. In-flight placements of the
/// current pass finish before it stops.
pub fn spawn(
    dispatcher: Dispatcher,
    shutdown: CancellationToken,
) -> (DispatcherHandle, tokio::task::JoinHandle<()>) {
    let wake = Arc::new(Notify::new());
    let handle = DispatcherHandle {
        wake: Arc::clone(&wake),
    };
    let task = tokio::spawn(async move {
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let wait = match dispatcher.run_once().await {
                // A due call waits for a call to end, which no due time tells.
                Ok(report) if report.at_call_limit => IDLE_WAIT,
                Ok(_) => dispatcher.idle_wait().await,
                Err(error) => {
                    warn!(
                        error = format!("{error:#}"),
                        "dispatcher pass failed; retrying"
                    );
                    dispatcher.idle_wait().await
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
    (handle, task)
}
