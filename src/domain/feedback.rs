//! One-key feedback and the figures built on it: after a completed call the
//! seeker is asked how much it helped, answers with one digit from 1 to 5 within
//! [`REPLY_WINDOW`] of the ask, and the answers are only ever shown summed up.
//!
//! A mentor sees the count and the average of their last [`FIGURES_PERIOD`],
//! the average only from [`FEWEST_SHOWN`] answers on, so no single seeker's
//! score can be read off. The operator also sees each mentor's answer rate and
//! completion rate over the same period.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::hours::CallingHours;
use super::status::Outcome;
use super::text::first_name;

/// How long after the ask was sent a digit still answers it.
pub const REPLY_WINDOW: TimeDelta = TimeDelta::hours(48);

/// The period the mentor's and the operator's figures cover, up to now.
pub const FIGURES_PERIOD: TimeDelta = TimeDelta::days(30);

/// Fewest answers whose average a mentor is shown: below this, one seeker's
/// score could be worked out from the average and the calls they remember.
pub const FEWEST_SHOWN: u32 = 3;

/// A seeker's answer to "how much did the call help": 1 (not at all) to 5 (a lot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u8);

impl Score {
    /// The score `value`; `None` outside 1–5.
    pub fn new(value: u8) -> Option<Score> {
        (1..=5).contains(&value).then_some(Score(value))
    }

    /// The score as a number.
    pub fn value(self) -> u8 {
        self.0
    }

    /// The score an inbound text carries: the whole message is one digit from 1
    /// to 5, surrounding spaces and punctuation ignored ("4", " 4. "). "0", "6",
    /// "12" and any word are not scores.
    pub fn from_reply(body: &str) -> Option<Score> {
        let trimmed = body.trim().trim_matches(|c: char| !c.is_alphanumeric());
        let mut chars = trimmed.chars();
        match (chars.next(), chars.next()) {
            (Some(digit), None) if digit.is_ascii_digit() => {
                Score::new(digit.to_digit(10).and_then(|d| u8::try_from(d).ok())?)
            }
            _ => None,
        }
    }
}

/// Whether a reply at `now` answers an ask sent at `asked_at`: at most
/// [`REPLY_WINDOW`] later, the last instant included.
pub fn answers_ask(asked_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= asked_at && now - asked_at <= REPLY_WINDOW
}

/// The question texted to the seeker after a completed call with the mentor
/// named `mentor_name` (first name only).
pub fn ask_text(mentor_name: &str) -> String {
    let mentor = match first_name(mentor_name) {
        "" => "your mentor",
        name => name,
    };
    format!(
        "ridealong: How much did your call with {mentor} help? Reply 1 (not at all) to 5 (a lot)."
    )
}

/// The answer to a digit that was stored.
pub const THANKS_TEXT: &str = "ridealong: thank you, your answer is noted. It stays anonymous: \
     the mentor only sees an average of several answers.";

/// When the ask for a call that ended at `ended_at` goes to the seeker in
/// `zone`: then, when a whole minute from then lies inside calling hours, else
/// at the next opening of calling hours.
pub fn ask_due_at(ended_at: DateTime<Utc>, zone: Tz, hours: CallingHours) -> DateTime<Utc> {
    hours.first_minute_from(ended_at, zone)
}

/// Scores summed up: how many, and their total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedbackSummary {
    /// Answers counted.
    pub count: u32,
    /// Their scores added up.
    pub total: u32,
}

impl FeedbackSummary {
    /// The summary of `scores`.
    pub fn of(scores: impl IntoIterator<Item = Score>) -> FeedbackSummary {
        scores
            .into_iter()
            .fold(FeedbackSummary::default(), |summary, score| {
                summary.with(score)
            })
    }

    /// This summary with `score` counted too.
    pub fn with(self, score: Score) -> FeedbackSummary {
        FeedbackSummary {
            count: self.count + 1,
            total: self.total + u32::from(score.value()),
        }
    }

    /// The average score; `None` without answers.
    pub fn average(&self) -> Option<f64> {
        (self.count > 0).then(|| f64::from(self.total) / f64::from(self.count))
    }

    /// The average as a mentor may see it: only from [`FEWEST_SHOWN`] answers on.
    pub fn average_shown_to_mentor(&self) -> Option<f64> {
        self.average().filter(|_| self.count >= FEWEST_SHOWN)
    }
}

/// An average score as people read it: "4.3".
pub fn average_text(average: f64) -> String {
    format!("{average:.1}")
}

/// How one mentor's calls went over a period: the completion rate and the
/// feedback. (The answer rate is `domain::rest`'s, one figure everywhere.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MentorFigures {
    /// Calls that rang the mentor: every ended call but those that failed (a
    /// provider or line failure says nothing about the mentor).
    pub rung: u32,
    /// Of those, the calls that completed.
    pub completed: u32,
    /// The seekers' scores of the period's calls.
    pub feedback: FeedbackSummary,
}

impl MentorFigures {
    /// The figures of calls that ended with `outcomes` (canceled ones are
    /// skipped: nobody was rung), and the scores `feedback`.
    pub fn of(
        outcomes: impl IntoIterator<Item = Outcome>,
        feedback: FeedbackSummary,
    ) -> MentorFigures {
        let mut figures = MentorFigures {
            feedback,
            ..MentorFigures::default()
        };
        for outcome in outcomes {
            if matches!(outcome, Outcome::Canceled | Outcome::Failed) {
                continue;
            }
            figures.rung += 1;
            if outcome == Outcome::Completed {
                figures.completed += 1;
            }
        }
        figures
    }

    /// Share of the calls that rang the mentor which completed, 0–1; `None`
    /// when none rang.
    pub fn completion_rate(&self) -> Option<f64> {
        rate(self.completed, self.rung)
    }
}

fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// A rate as people read it: "67%".
pub fn percent_text(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_score_is_one_digit_from_one_to_five() {
        for (body, value) in [("1", 1), ("5", 5), (" 4 ", 4), ("3.", 3), ("2!", 2)] {
            assert_eq!(
                Score::from_reply(body).map(Score::value),
                Some(value),
                "{body}"
            );
        }
        for body in [
            "0", "6", "9", "12", "45", "", "four", "4 stars", "STOP", "１", "-",
        ] {
            assert_eq!(Score::from_reply(body), None, "{body}");
        }
    }

    #[test]
    fn the_reply_window_includes_its_last_instant() {
        let asked = at("2026-11-30T15:20:00Z");
        assert!(answers_ask(asked, asked));
        assert!(answers_ask(asked, at("2026-12-02T15:20:00Z")));
        assert!(!answers_ask(asked, at("2026-12-02T15:20:01Z")));
        assert!(!answers_ask(asked, at("2026-11-30T15:19:59Z")));
    }

    #[test]
    fn the_ask_names_the_mentor_by_first_name() {
        let text = ask_text("Grace Hopper");
        assert!(
            text.contains(
                "How much did your call with Grace help? Reply 1 (not at all) to 5 (a lot)."
            ),
            "{text}"
        );
        assert!(!text.contains("Hopper"));
        assert!(ask_text("").contains("with your mentor help"));
    }

    #[test]
    fn an_ask_after_calling_hours_waits_for_the_next_morning() {
        // 10:15 in New York: at once.
        let inside = at("2026-12-01T15:15:00Z");
        assert_eq!(ask_due_at(inside, New_York, CallingHours::WIDEST), inside);
        // 20:59:30: less than a minute left, so 08:00 the next day.
        assert_eq!(
            ask_due_at(at("2026-12-02T01:59:30Z"), New_York, CallingHours::WIDEST),
            at("2026-12-02T13:00:00Z")
        );
        // 06:00: 08:00 the same day.
        assert_eq!(
            ask_due_at(at("2026-12-02T11:00:00Z"), New_York, CallingHours::WIDEST),
            at("2026-12-02T13:00:00Z")
        );
    }

    #[test]
    fn a_mentor_sees_the_average_only_from_three_answers() {
        let score = |value| Score::new(value).expect("score");
        let two = FeedbackSummary::of([score(5), score(1)]);
        assert_eq!(two.average(), Some(3.0));
        assert_eq!(two.average_shown_to_mentor(), None);
        let three = two.with(score(3));
        assert_eq!(three.average_shown_to_mentor(), Some(3.0));
        assert_eq!(average_text(14.0 / 3.0), "4.7");
        assert_eq!(FeedbackSummary::default().average(), None);
    }

    #[test]
    fn rates_count_the_calls_that_rang_the_mentor() {
        let figures = MentorFigures::of(
            [
                Outcome::Completed,
                Outcome::Completed,
                Outcome::MentorNoAnswer,
                Outcome::MentorDeclined,
                Outcome::SeekerNoAnswer,
                Outcome::SeekerBusy,
                Outcome::Failed,
                Outcome::Canceled,
            ],
            FeedbackSummary::default(),
        );
        assert_eq!(figures.rung, 6);
        assert_eq!(figures.completion_rate(), Some(2.0 / 6.0));
        assert_eq!(percent_text(4.0 / 6.0), "67%");
        let none = MentorFigures::of([Outcome::Canceled], FeedbackSummary::default());
        assert_eq!(none.completion_rate(), None);
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        proptest::sample::select(Outcome::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn the_completion_rate_lies_between_zero_and_one(
            outcomes in proptest::collection::vec(outcome(), 0..40),
        ) {
            let figures = MentorFigures::of(outcomes, FeedbackSummary::default());
            if let Some(completed) = figures.completion_rate() {
                prop_assert!((0.0..=1.0).contains(&completed));
            }
        }

        #[test]
        fn an_average_lies_between_the_lowest_and_highest_score(
            values in proptest::collection::vec(1u8..=5, 1..40),
        ) {
            let summary = FeedbackSummary::of(values.iter().filter_map(|v| Score::new(*v)));
            let average = summary.average().expect("answers");
            let lowest = f64::from(*values.iter().min().expect("one"));
            let highest = f64::from(*values.iter().max().expect("one"));
            prop_assert!(lowest <= average && average <= highest);
        }

        #[test]
        fn an_ask_goes_within_calling_hours_and_never_before_the_call_ended(
            offset in 0i64..(14 * 24 * 3600),
        ) {
            let ended = at("2026-11-01T00:00:00Z") + TimeDelta::seconds(offset);
            let due = ask_due_at(ended, New_York, CallingHours::WIDEST);
            prop_assert!(due >= ended);
            prop_assert!(due - ended < TimeDelta::days(1));
            let daily = CallingHours::WIDEST.every_day_in(New_York);
            prop_assert!(daily.covers(due, due + TimeDelta::minutes(1)));
        }
    }
}
