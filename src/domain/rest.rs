//! Mentors who keep missing calls rest (issue 16, point 3): after
//! `misses_before_rest` mentor-side misses in a row the mentor gets no new
//! bookings and their booked calls go to others, until they say they are back.
//! And the answer rate a mentor's record shows.

use chrono::TimeDelta;

use super::status::Outcome;

/// How many mentor-side misses in a row make a mentor rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestPolicy {
    /// Misses in a row (`mentor_no_answer`, `mentor_declined`) after which the
    /// mentor rests; at least 1.
    pub misses_before_rest: u32,
}

impl Default for RestPolicy {
    /// Three misses in a row (`RIDEALONG_MENTOR_MISSES_BEFORE_REST`'s default).
    fn default() -> Self {
        RestPolicy {
            misses_before_rest: 3,
        }
    }
}

impl RestPolicy {
    /// Whether a mentor with `misses` misses in a row rests.
    pub fn rests_after(self, misses: u32) -> bool {
        misses >= self.misses_before_rest.max(1)
    }
}

/// What an ended call does to its mentor's count of misses in a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissCount {
    /// A mentor-side miss: one more.
    Add,
    /// A completed call: back to zero.
    Reset,
    /// Anything else (a seeker-side miss, a failure, a cancellation) leaves
    /// the count as it is.
    Keep,
}

/// What call outcome `outcome` does to the mentor's misses in a row.
pub fn miss_count(outcome: Outcome) -> MissCount {
    match outcome {
        Outcome::MentorNoAnswer | Outcome::MentorDeclined => MissCount::Add,
        Outcome::Completed => MissCount::Reset,
        Outcome::SeekerNoAnswer | Outcome::SeekerBusy | Outcome::Failed | Outcome::Canceled => {
            MissCount::Keep
        }
    }
}

/// The span a mentor's answer rate looks back over.
pub const ANSWER_RATE_SPAN: TimeDelta = TimeDelta::days(30);

/// How a call that rang the mentor went for the answer rate: the call ended
/// with `outcome`, and the mentor did (`accepted`) or did not press 1.
/// `None` for a call that never rang the mentor (called off before it was
/// placed, or it could not be placed).
pub fn mentor_answered(outcome: Outcome, accepted: bool, dialed: bool) -> Option<bool> {
    if !dialed {
        return None;
    }
    Some(match outcome {
        Outcome::Completed
        | Outcome::MentorDeclined
        | Outcome::SeekerNoAnswer
        | Outcome::SeekerBusy => true,
        Outcome::MentorNoAnswer => false,
        // A failed leg after the mentor pressed 1 is the seeker's; before, the
        // mentor's (not answered). A call canceled while ringing was not.
        Outcome::Failed | Outcome::Canceled => accepted,
    })
}

/// The share of calls that rang the mentor which the mentor answered:
/// `answered / dialed`, between 0 and 1; `None` when no call rang them.
pub fn answer_rate(answered: u32, dialed: u32) -> Option<f64> {
    (dialed > 0).then(|| f64::from(answered.min(dialed)) / f64::from(dialed))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn only_mentor_side_misses_count_and_a_completed_call_resets() {
        for outcome in Outcome::ALL.iter().copied() {
            let expected = match outcome {
                Outcome::MentorNoAnswer | Outcome::MentorDeclined => MissCount::Add,
                Outcome::Completed => MissCount::Reset,
                _ => MissCount::Keep,
            };
            assert_eq!(miss_count(outcome), expected, "{outcome}");
        }
    }

    #[test]
    fn a_mentor_rests_at_the_configured_count() {
        let policy = RestPolicy::default();
        assert!(!policy.rests_after(2));
        assert!(policy.rests_after(3));
        assert!(policy.rests_after(4));
        let one = RestPolicy {
            misses_before_rest: 1,
        };
        assert!(!one.rests_after(0) && one.rests_after(1));
    }

    #[test]
    fn answered_legs_are_those_the_mentor_picked_up() {
        assert_eq!(mentor_answered(Outcome::Completed, true, true), Some(true));
        assert_eq!(
            mentor_answered(Outcome::MentorDeclined, false, true),
            Some(true)
        );
        assert_eq!(
            mentor_answered(Outcome::SeekerNoAnswer, true, true),
            Some(true)
        );
        assert_eq!(
            mentor_answered(Outcome::MentorNoAnswer, false, true),
            Some(false)
        );
        assert_eq!(mentor_answered(Outcome::Failed, false, true), Some(false));
        assert_eq!(mentor_answered(Outcome::Failed, true, true), Some(true));
        assert_eq!(mentor_answered(Outcome::Canceled, false, false), None);
        assert_eq!(mentor_answered(Outcome::Failed, false, false), None);
    }

    #[test]
    fn no_dialed_call_has_no_rate() {
        assert_eq!(answer_rate(0, 0), None);
        assert_eq!(answer_rate(0, 4), Some(0.0));
        assert_eq!(answer_rate(3, 4), Some(0.75));
        assert_eq!(answer_rate(4, 4), Some(1.0));
    }

    proptest! {
        #[test]
        fn a_rate_is_between_zero_and_one(answered in 0u32..1000, dialed in 0u32..1000) {
            match answer_rate(answered, dialed) {
                None => prop_assert_eq!(dialed, 0),
                Some(rate) => prop_assert!((0.0..=1.0).contains(&rate)),
            }
        }
    }
}
