//! The matcher: books pending requests into mentor slots.
//!
//! It runs whenever something that changes supply or demand is written (a request,
//! a window, a pause, a cancellation) and on a fixed interval besides, so slots
//! freed by time passing or by another process are picked up. Runs never overlap:
//! within a process they are queued, and across instances sharing PostgreSQL a run
//! holds an advisory lock, so each run sees what the one before it booked. The
//! unique index on (mentor, start) would refuse a double booking regardless.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::TimeDelta;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::clock::Clock;
use crate::domain::matching::{MatchPolicy, plan_bookings};
use crate::domain::reminder::ReminderPolicy;
use crate::metrics::Metrics;
use crate::store::Store;

/// What one matcher run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchReport {
    /// Pending requests considered.
    pub pending: usize,
    /// Calls booked.
    pub booked: usize,
    /// Planned bookings another writer got to first; they are retried next run.
    pub lost_races: usize,
}

/// Everything a matcher run needs.
#[derive(Clone)]
pub struct Matcher {
    store: Store,
    clock: Arc<dyn Clock>,
    policy: MatchPolicy,
    reminders: ReminderPolicy,
    metrics: Arc<Metrics>,
}

impl Matcher {
    /// A matcher over `store` with `policy`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, policy: MatchPolicy) -> Matcher {
        Matcher {
            store,
            clock,
            policy,
            reminders: ReminderPolicy::OFF,
            metrics: Arc::default(),
        }
    }

    /// This matcher, queuing a reminder with each booking as `reminders` says.
    pub fn with_reminders(self, reminders: ReminderPolicy) -> Matcher {
        Matcher { reminders, ..self }
    }

    /// This matcher, timing its runs into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Matcher {
        Matcher { metrics, ..self }
    }

    /// Books every pending request that fits somewhere, oldest first.
    #[instrument(skip_all, name = "matcher.run")]
    pub async fn run_once(&self) -> anyhow::Result<MatchReport> {
        let lock = self
            .store
            .lock_matcher()
            .await
            .context("taking the matcher lock")?;
        let report = self.run_locked().await;
        lock.release().await.context("releasing the matcher lock")?;
        report
    }

    async fn run_locked(&self) -> anyhow::Result<MatchReport> {
        let started = Instant::now();
        let now = self.clock.now();
        let requests = self
            .store
            .open_requests(self.policy.calling_hours)
            .await
            .context("loading pending requests")?;
        if requests.is_empty() {
            self.metrics.matcher_ran(started.elapsed(), 0);
            return Ok(MatchReport::default());
        }
        let mentors = self
            .store
            .mentor_supply()
            .await
            .context("loading mentors")?;
        // A week either side of the horizon, for the weekly balance.
        let week = TimeDelta::days(8);
        let booked = self
            .store
            .booked_calls(now - week, now + self.policy.horizon + week)
            .await
            .context("loading booked calls")?;
        let policy = self.policy;
        let pending = requests.len();
        let plan = tokio::task::spawn_blocking(move || {
            plan_bookings(now, &policy, &requests, &mentors, &booked)
        })
        .await
        .context("planning bookings")?;
        let booked = self
            .store
            .book_reminding(&plan, self.reminders, now)
            .await
            .context("saving bookings")?;
        let report = MatchReport {
            pending,
            booked: booked.len(),
            lost_races: plan.len() - booked.len(),
        };
        self.metrics.matcher_ran(started.elapsed(), report.booked);
        if report.booked > 0 || report.lost_races > 0 {
            info!(
                match.pending = report.pending,
                match.booked = report.booked,
                match.lost_races = report.lost_races,
                match.duration_ms = started.elapsed().as_millis() as u64,
                "matcher booked calls"
            );
        }
        Ok(report)
    }
}

type Waiter = oneshot::Sender<MatchReport>;

/// Asks the running matcher task for a run.
#[derive(Clone, Debug)]
pub struct MatcherHandle {
    requests: mpsc::Sender<Option<Waiter>>,
}

impl MatcherHandle {
    /// A handle on no matcher: nudges go nowhere and `run_now` answers `None`.
    /// For the operator CLI, whose changes the running service's matcher sees on
    /// its next periodic run.
    pub fn detached() -> MatcherHandle {
        let (requests, _) = mpsc::channel(1);
        MatcherHandle { requests }
    }

    /// Asks for a run soon, without waiting for it. Nudges arriving while a run is
    /// under way coalesce into one more run.
    pub fn nudge(&self) {
        // A full queue already holds a pending run; a closed one means shutdown.
        let _ = self.requests.try_send(None);
    }

    /// Runs the matcher and waits for a run that started after this call; `None`
    /// when the matcher task has stopped.
    pub async fn run_now(&self) -> Option<MatchReport> {
        let (waiter, report) = oneshot::channel();
        self.requests.send(Some(waiter)).await.ok()?;
        report.await.ok()
    }
}

/// Starts the matcher task: it runs on every nudge and every `interval`, until
/// `shutdown` is cancelled.
pub fn spawn(
    matcher: Matcher,
    interval: Duration,
    shutdown: CancellationToken,
) -> (MatcherHandle, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<Option<Waiter>>(64);
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut waiters: Vec<Waiter> = Vec::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                request = receiver.recv() => match request {
                    Some(waiter) => waiters.extend(waiter),
                    None => break,
                },
                _ = ticker.tick() => {}
            }
            while let Ok(request) = receiver.try_recv() {
                waiters.extend(request);
            }
            let report = match matcher.run_once().await {
                Ok(report) => report,
                Err(error) => {
                    warn!(
                        error = format!("{error:#}"),
                        "matcher run failed; retrying on the next tick"
                    );
                    MatchReport::default()
                }
            };
            if report.lost_races > 0 {
                // Another writer took some slots; plan again right away.
                ticker.reset_immediately();
            }
            for waiter in waiters.drain(..) {
                let _ = waiter.send(report);
            }
        }
    });
    (MatcherHandle { requests: sender }, task)
}
