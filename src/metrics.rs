//! Prometheus metrics: what the service did (calls placed, outcomes, provider
//! errors), how promptly (dial lag, webhook handling, matcher runs) and what is
//! waiting (queue depths, read from the store at scrape time).
//!
//! One [`Metrics`] per process, shared through an `Arc` by the web handlers and
//! the scheduler tasks. `GET /metrics` renders it in the OpenMetrics text format
//! to a scraper that asks for it (Prometheus does), and in the classic Prometheus
//! text format otherwise (curl, `promtool check metrics`). Labels carry kinds and
//! codes only, never numbers, names or tokens.
//!
//! Longer than most modules because each metric is declared with its help text
//! and labels in one registry; about 80 lines are tests.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::domain::status::Outcome;
use crate::telephony::ProviderError;

/// How a scrape wants the metrics written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4 (`text/plain`).
    PrometheusText,
}

impl Format {
    /// The format for a scrape sending `accept`: OpenMetrics when it is asked for.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::PrometheusText,
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// Buckets for latencies from a millisecond to about half a minute, in seconds.
const LATENCY_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0,
];

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// What became of a reminder before a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReminderResult {
    /// Texted to the seeker.
    Sent,
    /// Not sent: its call was canceled or moved, or had begun.
    Skipped,
    /// Not sent: the seeker's number opted out of texts.
    OptedOut,
    /// Given up after the provider refused it or failed too often.
    Failed,
}

impl ReminderResult {
    const ALL: [ReminderResult; 4] = [
        ReminderResult::Sent,
        ReminderResult::Skipped,
        ReminderResult::OptedOut,
        ReminderResult::Failed,
    ];

    fn label(self) -> &'static str {
        match self {
            ReminderResult::Sent => "sent",
            ReminderResult::Skipped => "skipped",
            ReminderResult::OptedOut => "opted_out",
            ReminderResult::Failed => "failed",
        }
    }
}

/// What became of a seeker calling the service number back after a missed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallBackResult {
    /// Put through, and the mentor pressed 1: they talked.
    Completed,
    /// Put through, but the mentor did not take it (no answer, no 1, a failure).
    Missed,
    /// The commute was still open, but the mentor was on another call.
    MentorBusy,
    /// The missed call's commute was over.
    TooLate,
}

impl CallBackResult {
    const ALL: [CallBackResult; 4] = [
        CallBackResult::Completed,
        CallBackResult::Missed,
        CallBackResult::MentorBusy,
        CallBackResult::TooLate,
    ];

    fn label(self) -> &'static str {
        match self {
            CallBackResult::Completed => "completed",
            CallBackResult::Missed => "missed",
            CallBackResult::MentorBusy => "mentor_busy",
            CallBackResult::TooLate => "too_late",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderErrorLabels {
    operation: &'static str,
    code: String,
}

/// How much work is waiting, counted in the store when metrics are scraped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Scheduled calls whose start has come and that no dispatcher has claimed.
    pub calls_due: i64,
    /// Calls scheduled for later.
    pub calls_scheduled: i64,
    /// Requests waiting for a slot.
    pub requests_pending: i64,
    /// SMS notices waiting to be sent (or retried); reminders count once due.
    pub notices_pending: i64,
    /// Requests waiting for the seeker to confirm the number.
    pub requests_unconfirmed: i64,
    /// Confirmation-code texts waiting to be sent (or retried).
    pub code_texts_pending: i64,
}

/// The process's metrics and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls_placed: Counter,
    call_outcomes: Family<OutcomeLabels, Counter>,
    dial_lag: Histogram,
    webhook_duration: HistogramFamily<RouteLabels>,
    matcher_run: Histogram,
    matcher_booked: Counter,
    queue_depth: Family<QueueLabels, Gauge>,
    provider_errors: Family<ProviderErrorLabels, Counter>,
    reminders: Family<ResultLabels, Counter>,
    screens_failed: Counter,
    second_tries: Family<StageLabels, Counter>,
    call_backs: Family<ResultLabels, Counter>,
    follow_ups: Family<StageLabels, Counter>,
    webhook_deliveries: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ridealong");
        let calls_placed = Counter::default();
        registry.register(
            "calls_placed",
            "Calls handed to the telephony provider",
            calls_placed.clone(),
        );
        let call_outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "call_outcomes",
            "Calls ended, by outcome",
            call_outcomes.clone(),
        );
        let dial_lag = latency_histogram();
        registry.register_with_unit(
            "dial_lag",
            "How late a call reached the provider after its slot's start",
            Unit::Seconds,
            dial_lag.clone(),
        );
        let webhook_duration =
            HistogramFamily::<RouteLabels>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register_with_unit(
            "webhook_duration",
            "Time to answer a provider webhook, by route",
            Unit::Seconds,
            webhook_duration.clone(),
        );
        let matcher_run = latency_histogram();
        registry.register_with_unit(
            "matcher_run_duration",
            "Wall time of one matcher run (load, plan, save)",
            Unit::Seconds,
            matcher_run.clone(),
        );
        let matcher_booked = Counter::default();
        registry.register(
            "matcher_booked",
            "Calls booked by the matcher",
            matcher_booked.clone(),
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Work waiting, by queue, counted when scraped",
            queue_depth.clone(),
        );
        let provider_errors = Family::<ProviderErrorLabels, Counter>::default();
        registry.register(
            "provider_errors",
            "Telephony provider requests that failed, by operation and error code",
            provider_errors.clone(),
        );
        let reminders = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reminders",
            "Reminders before calls, by result: sent, skipped (call canceled, moved or begun), opted_out, failed",
            reminders.clone(),
        );
        // Every result shows, at zero, from the first scrape.
        for result in ReminderResult::ALL {
            drop(reminders.get_or_create(&ResultLabels {
                result: result.label(),
            }));
        }
        let screens_failed = Counter::default();
        registry.register(
            "screens_failed",
            "Seeker legs answered without a key press at the screen (silence, voicemail)",
            screens_failed.clone(),
        );
        let second_tries = Family::<StageLabels, Counter>::default();
        registry.register(
            "second_tries",
            "Second tries in the same commute after a seeker-side miss, by stage (booked, completed)",
            second_tries.clone(),
        );
        let call_backs = Family::<ResultLabels, Counter>::default();
        registry.register(
            "callbacks",
            "Seekers calling the service number back after a missed call, by result: completed, missed (put through, the mentor did not take it), mentor_busy, too_late (the commute was over)",
            call_backs.clone(),
        );
        for result in CallBackResult::ALL {
            drop(call_backs.get_or_create(&ResultLabels {
                result: result.label(),
            }));
        }
        let follow_ups = Family::<StageLabels, Counter>::default();
        registry.register(
            "follow_ups",
            "Follow-ups offered from the car, by stage: offered (the mentor pressed 1 after the call), requested (the seeker replied AGAIN and a request preferring that mentor was made)",
            follow_ups.clone(),
        );
        for stage in ["offered", "requested"] {
            drop(follow_ups.get_or_create(&StageLabels { stage }));
        }
        let webhook_deliveries = Family::<ResultLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Outbound webhook posts, by result (delivered, retrying, given_up)",
            webhook_deliveries.clone(),
        );
        Metrics {
            registry,
            calls_placed,
            call_outcomes,
            dial_lag,
            webhook_duration,
            matcher_run,
            matcher_booked,
            queue_depth,
            provider_errors,
            reminders,
            screens_failed,
            second_tries,
            call_backs,
            follow_ups,
            webhook_deliveries,
        }
    }

    /// A seeker leg was answered but nobody pressed a key at the screen.
    pub fn screen_failed(&self) {
        self.screens_failed.inc();
    }

    /// A second try was booked after a seeker-side miss.
    pub fn second_try_booked(&self) {
        self.second_try_stage("booked");
    }

    /// A second try ended as a completed call.
    pub fn second_try_completed(&self) {
        self.second_try_stage("completed");
    }

    fn second_try_stage(&self, stage: &'static str) {
        self.second_tries
            .get_or_create(&StageLabels { stage })
            .inc();
    }

    /// A mentor offered another call at the end of a completed call.
    pub fn follow_up_offered(&self) {
        self.follow_ups
            .get_or_create(&StageLabels { stage: "offered" })
            .inc();
    }

    /// A seeker took a follow-up offer: a request preferring the mentor was made.
    pub fn follow_up_requested(&self) {
        self.follow_ups
            .get_or_create(&StageLabels { stage: "requested" })
            .inc();
    }

    /// A seeker called back after a missed call, with `result`.
    pub fn call_back(&self, result: CallBackResult) {
        self.call_backs
            .get_or_create(&ResultLabels {
                result: result.label(),
            })
            .inc();
    }

    /// A call reached the provider `lag` after its slot's start (negative: early).
    pub fn call_placed(&self, lag: chrono::TimeDelta) {
        self.calls_placed.inc();
        self.dial_lag
            .observe(lag.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
    }

    /// A call ended with `outcome`.
    pub fn call_ended(&self, outcome: Outcome) {
        self.call_outcomes
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// A webhook on `route` (the route template, no ids) was answered in `took`.
    pub fn webhook_handled(&self, route: &str, took: Duration) {
        self.webhook_duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A matcher run took `took` and booked `booked` calls.
    pub fn matcher_ran(&self, took: Duration, booked: usize) {
        self.matcher_run.observe(took.as_secs_f64());
        self.matcher_booked.inc_by(booked as u64);
    }

    /// A provider request for `operation` (e.g. `create_call`) failed with `error`.
    pub fn provider_error(&self, operation: &'static str, error: &ProviderError) {
        self.provider_errors
            .get_or_create(&ProviderErrorLabels {
                operation,
                code: error_code(error),
            })
            .inc();
    }

    /// A reminder was sent, skipped or given up.
    pub fn reminder(&self, result: ReminderResult) {
        self.reminders
            .get_or_create(&ResultLabels {
                result: result.label(),
            })
            .inc();
    }

    /// An outbound webhook post ended with `result`: `delivered` (2xx),
    /// `retrying` (it failed and will be tried again) or `given_up`.
    pub fn webhook_delivery(&self, result: &'static str) {
        self.webhook_deliveries
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Calls handed to the provider so far.
    pub fn calls_placed_total(&self) -> u64 {
        self.calls_placed.get()
    }

    /// The metrics in `format`, with the queue gauges set to `depths`.
    pub fn render(&self, depths: QueueDepths, format: Format) -> String {
        for (queue, depth) in [
            ("calls_due", depths.calls_due),
            ("calls_scheduled", depths.calls_scheduled),
            ("requests_pending", depths.requests_pending),
            ("notices_pending", depths.notices_pending),
            ("requests_unconfirmed", depths.requests_unconfirmed),
            ("code_texts_pending", depths.code_texts_pending),
        ] {
            self.queue_depth
                .get_or_create(&QueueLabels { queue })
                .set(depth);
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        match format {
            Format::OpenMetrics => text,
            Format::PrometheusText => to_prometheus_text(&text),
        }
    }
}

/// Rewrites OpenMetrics text as classic Prometheus text: a counter family is
/// named with its `_total` suffix, and `# UNIT` and `# EOF` lines go.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(renamed) => text.push_str(&renamed),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

/// The provider's error code where it gave one, else the kind of failure.
fn error_code(error: &ProviderError) -> String {
    match error {
        ProviderError::InvalidNumber { code } => code.to_string(),
        ProviderError::Auth => "20003".to_owned(),
        ProviderError::RateLimited => "20429".to_owned(),
        ProviderError::Server { status } => format!("http_{status}"),
        ProviderError::Rejected { status, code: 0 } => format!("http_{status}"),
        ProviderError::Rejected { code, .. } => code.to_string(),
        ProviderError::Unreachable => "unreachable".to_owned(),
        ProviderError::OutcomeUnknown => "outcome_unknown".to_owned(),
        ProviderError::Protocol(_) => "protocol".to_owned(),
        ProviderError::CircuitOpen => "circuit_open".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_registry_renders_every_family_and_ends_with_eof() {
        let metrics = Metrics::new();
        metrics.call_placed(chrono::TimeDelta::milliseconds(30));
        metrics.call_ended(Outcome::Completed);
        metrics.provider_error("create_call", &ProviderError::InvalidNumber { code: 21211 });
        let text = metrics.render(
            QueueDepths {
                requests_pending: 3,
                ..Default::default()
            },
            Format::OpenMetrics,
        );
        assert!(text.contains("ridealong_calls_placed_total 1"), "{text}");
        assert!(
            text.contains(r#"ridealong_call_outcomes_total{outcome="completed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ridealong_queue_depth{queue="requests_pending"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ridealong_provider_errors_total{operation="create_call",code="21211"} 1"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn reminders_are_counted_by_result_from_zero() {
        let metrics = Metrics::new();
        metrics.reminder(ReminderResult::Sent);
        metrics.reminder(ReminderResult::Sent);
        metrics.reminder(ReminderResult::Skipped);
        let text = metrics.render(QueueDepths::default(), Format::PrometheusText);
        assert!(
            text.contains("# TYPE ridealong_reminders_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains(r#"ridealong_reminders_total{result="sent"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ridealong_reminders_total{result="skipped"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ridealong_reminders_total{result="opted_out"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn classic_text_names_counter_families_with_their_total_suffix() {
        let metrics = Metrics::new();
        metrics.call_ended(Outcome::Failed);
        let text = metrics.render(QueueDepths::default(), Format::PrometheusText);
        assert!(
            text.contains("# TYPE ridealong_call_outcomes_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP ridealong_calls_placed_total Calls handed"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE ridealong_dial_lag_seconds histogram\n"),
            "{text}"
        );
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
    }
}
