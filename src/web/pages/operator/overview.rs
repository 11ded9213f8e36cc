//! `/operator`: what is waiting, what happens today, and how calls ended, week by
//! week, with the seekers' average feedback.

use axum::extract::State;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use maud::{Markup, html};

use super::super::csrf::CsrfToken;
use super::super::error::PageError;
use super::{Operator, Section, frame};
use crate::domain::feedback::{FeedbackSummary, average_text};
use crate::domain::status::{Outcome, RequestStatus};
use crate::store::CallOutcome;
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
        let week = self.monday.iso_week();
        format!("{}-W{:02}", week.year(), week.week())
    }

    /// Calls with any outcome.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
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
    fn iso_weeks_take_the_year_of_their_thursday() {
        let weeks = count_by_week(at("2027-01-01T12:00:00Z"), 1, &[]);
        assert_eq!(weeks[0].label(), "2026-W53");
        assert_eq!(
            weeks[0].monday,
            NaiveDate::from_ymd_opt(2026, 12, 28).unwrap()
        );
    }
}
