//! `/operator`: what is waiting, what happens today, how many booked calls took
//! place and how many missed calls were recovered, and how calls ended, week by
//! week, with the seekers' average feedback.

use axum::extract::State;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use maud::{Markup, html};

use super::super::csrf::CsrfToken;
use super::super::error::PageError;
use super::{Operator, Section, frame};
use crate::domain::feedback::{FeedbackSummary, average_text};
use crate::domain::status::{Outcome, RequestStatus};
use crate::store::{CallOutcome, CallTally};
use crate::web::AppState;

/// How many ISO weeks the outcome table covers, this one included.
pub const WEEKS_SHOWN: u32 = 8;

/// The outcome counts of one ISO week (Monday to Sunday, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeekCounts {
    /// The week's Monday.
    pub monday: NaiveDate,
    /// Calls per outcome, in [`Outcome::ALL`] order.
    pub counts: Vec<u64>,
    /// The seekers' answers to the feedback question about the week's calls.
    pub feedback: FeedbackSummary,
}

impl WeekCounts {
    /// The ISO week's name, e.g. `2026-W49`.
    pub fn label(&self) -> String {
        week_label(self.monday)
    }

    /// Calls with any outcome.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The name of the ISO week of `monday`, e.g. `2026-W49`.
fn week_label(monday: NaiveDate) -> String {
    let week = monday.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// Monday 00:00 UTC of the ISO week `weeks - 1` weeks before `now`'s, and Monday
/// 00:00 UTC after `now`'s week: the span the table covers.
pub fn span(now: DateTime<Utc>, weeks: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.date_naive();
    let monday = today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()));
    let first = monday - TimeDelta::weeks(i64::from(weeks.saturating_sub(1)));
    (
        first.and_time(chrono::NaiveTime::MIN).and_utc(),
        (monday + TimeDelta::weeks(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc(),
    )
}

/// Counts `outcomes` (each call's start, outcome and feedback score) per ISO
/// week of its start, for the `weeks` weeks up to `now`'s, newest first; weeks
/// without calls are there with zeros, calls outside the span are left out.
pub fn count_by_week(now: DateTime<Utc>, weeks: u32, outcomes: &[CallOutcome]) -> Vec<WeekCounts> {
    let (from, _) = span(now, weeks);
    let first_monday = from.date_naive();
    let mut rows: Vec<WeekCounts> = (0..weeks)
        .map(|index| WeekCounts {
            monday: first_monday + TimeDelta::weeks(i64::from(index)),
            counts: vec![0; Outcome::ALL.len()],
            feedback: FeedbackSummary::default(),
        })
        .collect();
    for (starts_at, outcome, score) in outcomes {
        let days = (starts_at.date_naive() - first_monday).num_days();
        if days < 0 {
            continue;
        }
        let Some(row) = usize::try_from(days / 7)
            .ok()
            .and_then(|week| rows.get_mut(week))
        else {
            continue;
        };
        if let Some(column) = Outcome::ALL.iter().position(|known| known == outcome) {
            row.counts[column] += 1;
        }
        if let Some(score) = score {
            row.feedback = row.feedback.with(*score);
        }
    }
    rows.reverse();
    rows
}

/// How missed calls were recovered in one ISO week.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeekRecovery {
    /// The week's Monday.
    pub monday: NaiveDate,
    /// Calls the matcher booked that were not called off (second tries and
    /// call-backs are not bookings of their own).
    pub booked: u64,
    /// Calls that completed, second tries and call-backs included.
    pub completed: u64,
    /// Completed calls that were a second try or a call-back: missed calls
    /// recovered.
    pub recovered: u64,
}

impl WeekRecovery {
    /// Completed calls per booked call, in whole percent; `None` without bookings.
    pub fn completion_percent(&self) -> Option<u64> {
        (self.booked > 0).then(|| (self.completed * 100 + self.booked / 2) / self.booked)
    }
}

/// Counts `calls` per ISO week of their start, for the `weeks` weeks up to
/// `now`'s, newest first, like [`count_by_week`].
pub fn recovery_by_week(now: DateTime<Utc>, weeks: u32, calls: &[CallTally]) -> Vec<WeekRecovery> {
    let (from, _) = span(now, weeks);
    let first_monday = from.date_naive();
    let mut rows: Vec<WeekRecovery> = (0..weeks)
        .map(|index| WeekRecovery {
            monday: first_monday + TimeDelta::weeks(i64::from(index)),
            booked: 0,
            completed: 0,
            recovered: 0,
        })
        .collect();
    for call in calls {
        let days = (call.starts_at.date_naive() - first_monday).num_days();
        let Some(row) = usize::try_from(days)
            .ok()
            .and_then(|days| rows.get_mut(days / 7))
        else {
            continue;
        };
        if !call.canceled && !call.second_try && !call.inbound {
            row.booked += 1;
        }
        if call.outcome == Some(Outcome::Completed) {
            row.completed += 1;
            if call.second_try || call.inbound {
                row.recovered += 1;
            }
        }
    }
    rows.reverse();
    rows
}

/// `GET /operator`.
pub async fn overview(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Markup, PageError> {
    let now = state.clock.now();
    let by_status = state.store.count_requests_by_status().await?;
    let count = |wanted: RequestStatus| {
        by_status
            .iter()
            .find(|(status, _)| *status == wanted)
            .map_or(0, |(_, count)| *count)
    };
    let today = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let calls_today = state
        .store
        .count_calls_starting(today, today + TimeDelta::days(1))
        .await?;
    let (from, to) = span(now, WEEKS_SHOWN);
    let outcomes = state.store.call_outcomes(from, to).await?;
    let weeks = count_by_week(now, WEEKS_SHOWN, &outcomes);
    let tallies = state.store.call_tallies(from, to).await?;
    let recovery = recovery_by_week(now, WEEKS_SHOWN, &tallies);

    let figures = [
        (
            "pending",
            count(RequestStatus::Pending),
            "requests waiting for a slot",
            "/operator/requests?status=pending",
        ),
        (
            "scheduled",
            count(RequestStatus::Scheduled),
            "requests booked into a call",
            "/operator/requests?status=scheduled",
        ),
        (
            "unconfirmed",
            count(RequestStatus::Unconfirmed),
            "requests waiting for the seeker's code",
            "/operator/requests?status=unconfirmed",
        ),
        (
            "calls-today",
            calls_today,
            "calls today (UTC)",
            "/operator/calls",
        ),
    ];
    Ok(frame(
        "Operator overview",
        &csrf,
        Section::Overview,
        html! {
            h1 { "Overview" }
            ul.figures {
                @for (key, value, label, href) in figures {
                    li data-figure=(key) {
                        a href=(href) { strong { (value) } " " (label) }
                    }
                }
            }
            h2 #recovery { "Booked, completed and recovered, week by week" }
            p.hint {
                "Booked: calls the matcher booked, less those called off. Completed: calls that \
                 took place. Recovered: completed on a second try in the same commute, or by a \
                 seeker calling back. Rate: completed per booked call."
            }
            div.table-scroll role="region" aria-labelledby="recovery" tabindex="0" {
                table.recovery {
                    thead {
                        tr {
                            th scope="col" { "Week" }
                            th scope="col" { "booked" }
                            th scope="col" { "completed" }
                            th scope="col" { "recovered" }
                            th scope="col" { "completion rate" }
                        }
                    }
                    tbody {
                        @for week in &recovery {
                            @let label = week_label(week.monday);
                            tr {
                                th scope="row" { (label) }
                                td data-week=(label) data-figure="booked" { (week.booked) }
                                td data-week=(label) data-figure="completed" { (week.completed) }
                                td data-week=(label) data-figure="recovered" { (week.recovered) }
                                td data-week=(label) data-figure="completion-rate" {
                                    @match week.completion_percent() {
                                        Some(percent) => { (percent) "%" }
                                        None => { "–" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 #outcomes { "How calls ended, week by week" }
            p.hint { "ISO weeks in UTC, Monday to Sunday, by the call's start; the current week first. Feedback is the average of the seekers' 1–5 answers about the week's calls, with how many answered." }
            div.table-scroll role="region" aria-labelledby="outcomes" tabindex="0" {
                table.outcomes {
                    thead {
                        tr {
                            th scope="col" { "Week" }
                            @for outcome in Outcome::ALL {
                                th scope="col" { (outcome.as_str().replace('_', " ")) }
                            }
                            th scope="col" { "all" }
                            th scope="col" { "feedback" }
                        }
                    }
                    tbody {
                        @for week in &weeks {
                            @let label = week.label();
                            tr {
                                th scope="row" {
                                    (label) br;
                                    span.muted { "from " (week.monday.format("%b %-d")) }
                                }
                                @for (outcome, count) in Outcome::ALL.iter().zip(&week.counts) {
                                    td data-week=(label) data-outcome=(outcome.as_str()) { (count) }
                                }
                                td data-week=(label) data-outcome="all" { (week.total()) }
                                td data-week=(label) data-outcome="feedback" {
                                    @match week.feedback.average() {
                                        Some(average) => {
                                            (average_text(average))
                                            span.muted { " (" (week.feedback.count) ")" }
                                        }
                                        None => { "—" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::feedback::Score;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn the_span_runs_from_a_monday_to_the_monday_after_this_week() {
        // Wednesday 2026-12-02.
        let (from, to) = span(at("2026-12-02T18:00:00Z"), 8);
        assert_eq!(from, at("2026-10-12T00:00:00Z"));
        assert_eq!(to, at("2026-12-07T00:00:00Z"));
        let (from, _) = span(at("2026-11-30T00:00:00Z"), 1);
        assert_eq!(from, at("2026-11-30T00:00:00Z"));
    }

    #[test]
    fn outcomes_are_counted_in_the_iso_week_of_the_call_start_newest_first() {
        let now = at("2026-12-02T18:00:00Z");
        let weeks = count_by_week(
            now,
            3,
            &[
                (
                    at("2026-11-30T00:00:00Z"),
                    Outcome::Completed,
                    Score::new(5),
                ),
                (
                    at("2026-12-06T23:59:59Z"),
                    Outcome::Completed,
                    Score::new(2),
                ),
                (at("2026-11-29T23:59:59Z"), Outcome::SeekerNoAnswer, None),
                (at("2026-11-16T00:00:00Z"), Outcome::Canceled, None),
                (at("2026-11-15T23:59:59Z"), Outcome::Failed, None),
            ],
        );
        let labels: Vec<String> = weeks.iter().map(WeekCounts::label).collect();
        assert_eq!(labels, ["2026-W49", "2026-W48", "2026-W47"]);
        let column = |outcome| Outcome::ALL.iter().position(|o| *o == outcome).unwrap();
        assert_eq!(weeks[0].counts[column(Outcome::Completed)], 2);
        assert_eq!(weeks[0].total(), 2);
        assert_eq!(weeks[1].counts[column(Outcome::SeekerNoAnswer)], 1);
        assert_eq!(weeks[2].counts[column(Outcome::Canceled)], 1);
        assert_eq!(weeks[2].total(), 1, "the week before the span is left out");
        assert_eq!(weeks[0].feedback.average(), Some(3.5));
        assert_eq!(weeks[1].feedback.average(), None);
    }

    #[test]
    fn recovered_calls_are_completed_second_tries_and_call_backs() {
        let now = at("2026-12-02T18:00:00Z");
        let call = |start: &str, outcome, second_try, inbound| CallTally {
            starts_at: at(start),
            canceled: outcome == Some(Outcome::Canceled),
            outcome,
            second_try,
            inbound,
        };
        let weeks = recovery_by_week(
            now,
            2,
            &[
                // A miss, its second try completed.
                call(
                    "2026-11-30T15:00:00Z",
                    Some(Outcome::SeekerNoAnswer),
                    false,
                    false,
                ),
                call(
                    "2026-11-30T15:15:00Z",
                    Some(Outcome::Completed),
                    true,
                    false,
                ),
                // A miss, a call-back completed, the matcher's rebooking called off.
                call(
                    "2026-12-01T15:00:00Z",
                    Some(Outcome::SeekerBusy),
                    false,
                    false,
                ),
                call(
                    "2026-12-01T15:05:00Z",
                    Some(Outcome::Completed),
                    false,
                    true,
                ),
                call(
                    "2026-12-02T15:00:00Z",
                    Some(Outcome::Canceled),
                    false,
                    false,
                ),
                // Completed the first time; one still ahead.
                call(
                    "2026-12-01T16:00:00Z",
                    Some(Outcome::Completed),
                    false,
                    false,
                ),
                call("2026-12-04T16:00:00Z", None, false, false),
                // Last week: a miss nobody recovered.
                call(
                    "2026-11-23T16:00:00Z",
                    Some(Outcome::SeekerNoAnswer),
                    false,
                    false,
                ),
            ],
        );
        assert_eq!(
            weeks[0],
            WeekRecovery {
                monday: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                booked: 4,
                completed: 3,
                recovered: 2,
            }
        );
        assert_eq!(weeks[0].completion_percent(), Some(75));
        assert_eq!((weeks[1].booked, weeks[1].completed), (1, 0));
        assert_eq!(weeks[1].completion_percent(), Some(0));
        let empty = recovery_by_week(now, 1, &[]);
        assert_eq!(empty[0].completion_percent(), None);
    }

    #[test]
    fn iso_weeks_take_the_year_of_their_thursday() {
        let weeks = count_by_week(at("2027-01-01T12:00:00Z"), 1, &[]);
        assert_eq!(weeks[0].label(), "2026-W53");
        assert_eq!(
            weeks[0].monday,
            NaiveDate::from_ymd_opt(2026, 12, 28).unwrap()
        );
    }
}
