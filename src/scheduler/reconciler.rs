//! The reconciler: makes the store agree with the provider about calls in flight.
//!
//! Two kinds of call need it:
//! - A dial whose answer never came (the create-call timed out, or the instance
//!   died between its claim and the provider's answer) has no provider id. It is
//!   looked up by listing the provider's calls to the mentor since the dial, and
//!   adopted if found, or else ended as `failed` and requeued: never dialed again.
//! - A placed call the provider has been quiet about for [`QUIET_AFTER`] may have
//!   sent its callbacks to an instance that was down, or to another address. It is
//!   looked up at the provider and settled from what the provider says.
//!
//! A quiet call still talking is normal (nothing is said during a conversation),
//! so the calls still in progress are learnt from one listing of the provider's
//! calls in progress; only the others are fetched one by one. A morning of long
//! conversations costs one request a round, not one per call.
//!
//! An instance that starts checks every call in flight at once. Provider requests
//! stay bounded: at most [`CHECK_BATCH`] calls are claimed at a time (a claim is a
//! one-minute lease, so instances never check the same call together), fetches are
//! paced at [`FETCHES_PER_SECOND`], and a 429 or an open circuit ends the round
//! and doubles the wait before the next one, up to [`LONGEST_WAIT`].
//!
//! Longer than most modules because settling from the provider covers three
//! cases (dials in doubt, quiet calls, the sweep at start-up) over one paced
//! client.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::clock::Clock;
use crate::domain::call_back::call_back_outcome;
use crate::domain::call_flow::{
    Leg, LegStatus, mentor_leg_outcome, screen_failed, seeker_leg_outcome,
};
use crate::domain::status::Outcome;
use crate::ids::CallId;
use crate::metrics::Metrics;
use crate::scheduler::matcher::MatcherHandle;
use crate::service::calls::account_for_ended_call;
use crate::store::EndCallRules;
use crate::store::{NewCallEvent, QuietCall, Store};
use crate::telephony::{CallQuery, Provider, ProviderCall, ProviderError};

/// How long a dial may stay without a provider id before it is reconciled.
pub const IN_DOUBT_AFTER: TimeDelta = TimeDelta::seconds(30);
/// How long after the dial a call still missing at the provider counts as failed.
pub const GIVE_UP_AFTER: TimeDelta = TimeDelta::minutes(2);
/// How long a call in flight may go without a word from the provider before it
/// is looked up there.
pub const QUIET_AFTER: TimeDelta = TimeDelta::seconds(60);
/// Quiet calls claimed at a time.
pub const CHECK_BATCH: u32 = 100;
/// Most single-call provider requests a second.
pub const FETCHES_PER_SECOND: u32 = 10;
/// Time between rounds while the provider answers.
pub const ROUND_INTERVAL: Duration = Duration::from_secs(10);
/// The longest wait between rounds while the provider keeps refusing us.
pub const LONGEST_WAIT: Duration = Duration::from_secs(120);
/// Calls per page when listing the calls in progress (Twilio's largest).
const LIVE_PAGE_SIZE: u32 = 1000;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Dials in doubt found at the provider and adopted.
    pub adopted: usize,
    /// Dials in doubt the provider never had, ended as failed.
    pub given_up: usize,
    /// Quiet calls looked up at the provider.
    pub checked: usize,
    /// Quiet calls the provider had ended, settled from its record.
    pub settled: usize,
    /// The provider refused to answer more (429 or an open circuit): the round
    /// ended early.
    pub throttled: bool,
}

/// Settles calls in flight from the provider's record.
#[derive(Clone)]
pub struct Reconciler {
    store: Store,
    provider: Arc<dyn Provider>,
    clock: Arc<dyn Clock>,
    from_number: String,
    matcher: MatcherHandle,
    metrics: Arc<Metrics>,
    /// What ending a call when it is settled keeps to: a second try, a
    /// mentor's rest.
    end_rules: EndCallRules,
    fetches: Arc<DefaultDirectRateLimiter>,
    /// Held for a whole round: rounds never overlap, so a round asked for while
    /// another runs starts after it and sees everything it settled.
    round: Arc<Mutex<()>>,
    /// Rounds finished so far, for whoever waits for one (the first is the
    /// startup check).
    rounds_done: Arc<watch::Sender<u64>>,
}

/// A provider request this round cannot make now: the provider is rate limiting
/// us or held back by the circuit breaker.
struct Throttled;

impl Reconciler {
    /// A reconciler over `store` and `provider`; `from_number` is the service
    /// number the dials went out from, and `matcher` is nudged when a request
    /// goes back in the queue.
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
        clock: Arc<dyn Clock>,
        from_number: String,
        matcher: MatcherHandle,
    ) -> Reconciler {
        let per_second = NonZeroU32::new(FETCHES_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        Reconciler {
            store,
            provider,
            clock,
            from_number,
            matcher,
            metrics: Arc::default(),
            end_rules: EndCallRules::default(),
            fetches: Arc::new(RateLimiter::direct(Quota::per_second(per_second))),
            round: Arc::new(Mutex::new(())),
            rounds_done: Arc::new(watch::Sender::new(0)),
        }
    }

    /// This reconciler, counting into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Reconciler {
        Reconciler { metrics, ..self }
    }

    /// This reconciler, ending calls by `rules`: second tries keep to the
    /// deployment's calling hours and concurrent-call limit (08:00–21:00 and
    /// none unless told), and a mentor rests after the deployment's count of
    /// misses in a row (3 unless told).
    pub fn with_end_call_rules(self, rules: EndCallRules) -> Reconciler {
        Reconciler {
            end_rules: rules,
            ..self
        }
    }

    /// Waits until at least `rounds` rounds have finished since this reconciler
    /// was made.
    pub async fn rounds_done(&self, rounds: u64) {
        let mut done = self.rounds_done.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = done.wait_for(|done| *done >= rounds).await;
    }

    /// One round: dials in doubt, then calls quiet for [`QUIET_AFTER`].
    #[instrument(skip_all, name = "reconciler.run")]
    pub async fn run_once(&self) -> anyhow::Result<ReconcileReport> {
        let now = self.clock.now();
        self.round(now - QUIET_AFTER).await
    }

    /// The round of an instance that starts: dials in doubt, then every call in
    /// flight, however recently it was heard of, since its callbacks may have
    /// gone to the instance that ran before.
    #[instrument(skip_all, name = "reconciler.startup")]
    pub async fn check_everything_in_flight(&self) -> anyhow::Result<ReconcileReport> {
        // Claims mark calls heard at the round's time, so this never claims one twice.
        self.round(self.clock.now()).await
    }

    async fn round(&self, quiet_since: DateTime<Utc>) -> anyhow::Result<ReconcileReport> {
        let _round = self.round.lock().await;
        let report = self.checks(quiet_since).await;
        self.rounds_done.send_modify(|done| *done += 1);
        report
    }

    async fn checks(&self, quiet_since: DateTime<Utc>) -> anyhow::Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        if self.reconcile_in_doubt(&mut report).await?.is_err() {
            report.throttled = true;
            return Ok(report);
        }
        loop {
            let now = self.clock.now();
            let quiet = self
                .store
                .claim_quiet_calls(quiet_since, now, CHECK_BATCH)
                .await?;
            if quiet.is_empty() {
                break;
            }
            let full_batch = quiet.len() == CHECK_BATCH as usize;
            if self.check(&quiet, &mut report).await?.is_err() {
                report.throttled = true;
                break;
            }
            if !full_batch {
                break;
            }
        }
        if report.given_up + report.settled > 0 {
            self.matcher.nudge();
        }
        if report != ReconcileReport::default() {
            info!(
                reconcile.adopted = report.adopted,
                reconcile.given_up = report.given_up,
                reconcile.checked = report.checked,
                reconcile.settled = report.settled,
                reconcile.throttled = report.throttled,
                "reconciled calls in flight with the provider"
            );
        }
        Ok(report)
    }

    /// Settles dials that never got a provider id: adopts the call if the provider
    /// has it, ends it as failed (requeuing the request) once it is clearly absent.
    async fn reconcile_in_doubt(
        &self,
        report: &mut ReconcileReport,
    ) -> anyhow::Result<Result<(), Throttled>> {
        let now = self.clock.now();
        for dial in self.store.dials_in_doubt(now - IN_DOUBT_AFTER).await? {
            let query = CallQuery {
                to: Some(dial.mentor_phone.clone()),
                started_after: Some(dial.dialed_at - TimeDelta::minutes(1)),
                ..CallQuery::default()
            };
            let found = match self
                .ask("list_calls", self.provider.list_calls(&query))
                .await
            {
                Ok(Ok(calls)) => calls.into_iter().find(|call| {
                    call.parent_call_sid.is_none()
                        && call
                            .from
                            .as_deref()
                            .is_none_or(|from| from == self.from_number)
                }),
                Ok(Err(error)) => {
                    warn!(call.id = dial.call_id.0, error = %error, "cannot reconcile a dial yet");
                    continue;
                }
                Err(throttled) => return Ok(Err(throttled)),
            };
            match found {
                Some(call) => {
                    let recorded = self
                        .store
                        .record_dialed(dial.call_id, dial.attempt, &call.sid, now)
                        .await?;
                    let detail = serde_json::json!({ "call_sid": call.sid, "recorded": recorded });
                    let event = NewCallEvent::new(dial.call_id, "dial_adopted", &detail, now);
                    self.store.record_event(event).await?;
                    report.adopted += usize::from(recorded);
                }
                None if now - dial.dialed_at >= GIVE_UP_AFTER => {
                    let detail = serde_json::json!({ "reason": "not found at the provider" });
                    let event = NewCallEvent::new(dial.call_id, "dial_failed", &detail, now);
                    self.store.record_event(event).await?;
                    if self
                        .end_call(dial.call_id, Outcome::Failed, Leg::Mentor, None, now)
                        .await?
                    {
                        report.given_up += 1;
                    }
                }
                None => {}
            }
        }
        Ok(Ok(()))
    }

    /// Looks up the claimed quiet calls: those the provider lists as in progress
    /// are left to talk; each other one is fetched and, if over, settled.
    async fn check(
        &self,
        quiet: &[QuietCall],
        report: &mut ReconcileReport,
    ) -> anyhow::Result<Result<(), Throttled>> {
        let in_progress = CallQuery {
            status: Some("in-progress".to_owned()),
            page_size: Some(LIVE_PAGE_SIZE),
            ..CallQuery::default()
        };
        let talking: HashSet<String> = match self
            .ask("list_calls", self.provider.list_calls(&in_progress))
            .await
        {
            Ok(Ok(calls)) => calls.into_iter().map(|call| call.sid).collect(),
            Ok(Err(error)) => {
                // Fetching each call one by one still settles them.
                warn!(error = %error, "cannot list the calls in progress; fetching each");
                HashSet::new()
            }
            Err(throttled) => return Ok(Err(throttled)),
        };
        for call in quiet {
            report.checked += 1;
            if talking.contains(&call.provider_call_sid) {
                continue;
            }
            let mentor_leg = match self
                .ask(
                    "fetch_call",
                    self.provider.fetch_call(&call.provider_call_sid),
                )
                .await
            {
                Ok(Ok(leg)) => leg,
                Ok(Err(error)) => {
                    warn!(call.id = call.call_id.0, error = %error, "cannot look up a quiet call yet");
                    continue;
                }
                Err(throttled) => return Ok(Err(throttled)),
            };
            match self.settle(call, &mentor_leg).await? {
                Ok(true) => report.settled += 1,
                Ok(false) => {}
                Err(throttled) => return Ok(Err(throttled)),
            }
        }
        Ok(Ok(()))
    }

    /// Settles `call` from the provider's record of its mentor leg and, if the
    /// mentor pressed 1, of the seeker leg; `Ok(true)` when this ended it. A
    /// mentor leg still live is left alone. A call-back's parent leg is the
    /// seeker's inbound call, and the leg it dialed the mentor's.
    async fn settle(
        &self,
        call: &QuietCall,
        parent_leg: &ProviderCall,
    ) -> anyhow::Result<Result<bool, Throttled>> {
        let Some(parent_status) =
            LegStatus::parse(&parent_leg.status).filter(|status| status.is_final())
        else {
            return Ok(Ok(false));
        };
        let mut failed_screen = false;
        let (outcome, leg, talk_seconds) = if call.inbound {
            let mentor_leg = match self.dialed_leg(call).await? {
                Ok(Some(leg)) => leg,
                Ok(None) => return Ok(Ok(false)),
                Err(throttled) => return Ok(Err(throttled)),
            };
            let status = mentor_leg
                .as_ref()
                .and_then(|leg| LegStatus::parse(&leg.status));
            // No leg: the caller hung up before the mentor was rung. A leg still
            // live under an ended parent will not end well either.
            let outcome = call_back_outcome(status, call.accepted).unwrap_or(Outcome::Failed);
            let talk = mentor_leg.as_ref().and_then(|leg| leg.duration);
            let talk = (outcome == Outcome::Completed).then_some(talk.unwrap_or_default());
            (outcome, Leg::Mentor, talk)
        } else {
            match mentor_leg_outcome(parent_status, call.accepted) {
                Some(outcome) => (outcome, Leg::Mentor, None),
                None => {
                    let seeker_leg = match self.dialed_leg(call).await? {
                        Ok(Some(leg)) => leg,
                        Ok(None) => return Ok(Ok(false)),
                        Err(throttled) => return Ok(Err(throttled)),
                    };
                    let seeker = seeker_leg
                        .as_ref()
                        .and_then(|leg| LegStatus::parse(&leg.status));
                    // The provider says only "completed" for a leg a voicemail took:
                    // the screen result recorded here decides.
                    failed_screen =
                        seeker.is_some_and(|status| screen_failed(status, call.screen_passed));
                    match seeker.and_then(|status| seeker_leg_outcome(status, call.screen_passed)) {
                        Some(outcome) => {
                            let talk = seeker_leg.as_ref().and_then(|leg| leg.duration);
                            let talk =
                                (outcome == Outcome::Completed).then_some(talk.unwrap_or_default());
                            (outcome, Leg::Seeker, talk)
                        }
                        // Pressed 1 but the seeker leg never started.
                        None => (Outcome::Failed, Leg::Seeker, None),
                    }
                }
            }
        };
        let now = self.clock.now();
        let detail = serde_json::json!({
            "mentor_status": parent_leg.status,
            "outcome": outcome.as_str(),
        });
        let event = NewCallEvent::new(call.call_id, "settled_from_provider", &detail, now);
        self.store.record_event(event).await?;
        let ended = self
            .end_call(call.call_id, outcome, leg, talk_seconds, now)
            .await?;
        if ended && failed_screen {
            self.metrics.screen_failed();
        }
        Ok(Ok(ended))
    }

    /// The leg call `call`'s parent dialed (`Some(None)`: none), or `None` when
    /// the provider could not say (tried again next round); `Err` when throttled.
    async fn dialed_leg(
        &self,
        call: &QuietCall,
    ) -> anyhow::Result<Result<Option<Option<ProviderCall>>, Throttled>> {
        let children = CallQuery {
            parent_call_sid: Some(call.provider_call_sid.clone()),
            ..CallQuery::default()
        };
        match self
            .ask("list_calls", self.provider.list_calls(&children))
            .await
        {
            Ok(Ok(legs)) => Ok(Ok(Some(legs.into_iter().next()))),
            Ok(Err(error)) => {
                warn!(call.id = call.call_id.0, error = %error, "cannot look up a dialed leg yet");
                Ok(Ok(None))
            }
            Err(throttled) => Ok(Err(throttled)),
        }
    }

    /// Makes one provider request, `operation`, paced, and counts its failure;
    /// `Err` when the provider is rate limiting us or the circuit breaker holds
    /// requests back, so the round stops.
    async fn ask<T>(
        &self,
        operation: &'static str,
        request: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<Result<T, ProviderError>, Throttled> {
        self.fetches.until_ready().await;
        let answer = request.await;
        if let Err(error) = &answer {
            self.metrics.provider_error(operation, error);
            if matches!(
                error,
                ProviderError::RateLimited | ProviderError::CircuitOpen
            ) {
                warn!(error = %error, "the provider is holding us back; reconciling later");
                return Err(Throttled);
            }
        }
        Ok(answer)
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
            .end_call(call_id, outcome, leg, talk_seconds, self.end_rules, now)
            .await?;
        if let Some(ended) = &ended {
            account_for_ended_call(
                &self.metrics,
                call_id,
                outcome,
                ended,
                "call settled from the provider's record",
            );
        }
        Ok(ended.is_some())
    }
}

/// Starts the reconciler loop until `shutdown`: a round that checks every call in
/// flight at once, then a round every `interval` ([`ROUND_INTERVAL`] in service),
/// waiting twice as long after each round the provider throttled (up to
/// [`LONGEST_WAIT`]).
pub fn spawn(
    reconciler: Reconciler,
    interval: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = interval;
        let mut first = true;
        loop {
            let round = if std::mem::take(&mut first) {
                reconciler.check_everything_in_flight().await
            } else {
                reconciler.run_once().await
            };
            wait = match round {
                Ok(report) if report.throttled => (wait * 2).min(LONGEST_WAIT.max(interval)),
                Ok(_) => interval,
                Err(error) => {
                    warn!(
                        error = format!("{error:#}"),
                        "reconciler round failed; retrying"
                    );
                    interval
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
    })
}
