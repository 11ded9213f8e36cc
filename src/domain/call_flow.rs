//! How a call's legs end up as one outcome, and what the outcome does to the
//! request. Pure: the webhooks feed in what the provider said.
//!
//! Mentor first: the mentor leg is placed; on answer the mentor hears who is next
//! and presses 1 (or 2, or nothing); on 1 the seeker leg is dialed and bridged.

use super::status::{Outcome, RequestStatus};

/// Seeker-side misses after which a request is `unreachable`.
pub const MAX_SEEKER_ATTEMPTS: u32 = 3;

/// A provider's status for one call leg (Twilio's strings).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LegStatus {
    /// Accepted, not yet ringing.
    Queued,
    /// Being placed.
    Initiated,
    /// Ringing.
    Ringing,
    /// Answered.
    InProgress,
    /// Over after being answered (including by voicemail).
    Completed,
    /// Busy signal.
    Busy,
    /// Rang out.
    NoAnswer,
    /// Could not be placed.
    Failed,
    /// Stopped before it was answered.
    Canceled,
}

impl LegStatus {
    /// Parses Twilio's `CallStatus` / `DialCallStatus` strings.
    pub fn parse(text: &str) -> Option<LegStatus> {
        Some(match text {
            "queued" => LegStatus::Queued,
            "initiated" => LegStatus::Initiated,
            "ringing" => LegStatus::Ringing,
            "in-progress" | "answered" => LegStatus::InProgress,
            "completed" => LegStatus::Completed,
            "busy" => LegStatus::Busy,
            "no-answer" => LegStatus::NoAnswer,
            "failed" => LegStatus::Failed,
            "canceled" => LegStatus::Canceled,
            _ => return None,
        })
    }

    /// Whether the leg is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            LegStatus::Completed
                | LegStatus::Busy
                | LegStatus::NoAnswer
                | LegStatus::Failed
                | LegStatus::Canceled
        )
    }
}

/// Which leg an outcome is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Leg {
    /// The mentor's phone.
    Mentor,
    /// The seeker's phone.
    Seeker,
}

impl Leg {
    /// The name used in event logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Mentor => "mentor",
            Leg::Seeker => "seeker",
        }
    }
}

/// The outcome when the mentor leg ends with `status`, if that decides the call.
/// `accepted` tells whether the mentor pressed 1: then the seeker leg decides, and
/// a mentor leg that completes says nothing by itself.
pub fn mentor_leg_outcome(status: LegStatus, accepted: bool) -> Option<Outcome> {
    match status {
        LegStatus::Busy | LegStatus::NoAnswer => Some(Outcome::MentorNoAnswer),
        LegStatus::Failed => Some(Outcome::Failed),
        LegStatus::Canceled => Some(Outcome::Canceled),
        // Answered, then hung up or stayed silent without pressing 1.
        LegStatus::Completed if !accepted => Some(Outcome::MentorDeclined),
        _ => None,
    }
}

/// The outcome of the bridged seeker leg, from `DialCallStatus` (or the child
/// leg's final status).
pub fn seeker_leg_outcome(status: LegStatus) -> Option<Outcome> {
    match status {
        LegStatus::Completed => Some(Outcome::Completed),
        LegStatus::NoAnswer => Some(Outcome::SeekerNoAnswer),
        LegStatus::Busy => Some(Outcome::SeekerBusy),
        LegStatus::Failed => Some(Outcome::Failed),
        // The mentor hung up while the seeker's phone rang.
        LegStatus::Canceled => Some(Outcome::MentorDeclined),
        _ => None,
    }
}

/// What an outcome does to its request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RequestEffect {
    /// The call happened: the request is done.
    Complete,
    /// Back in the queue; `counts` when the seeker missed it.
    Requeue {
        /// Whether this miss counts against the seeker's attempts.
        counts: bool,
    },
    /// Nothing changes (the request was canceled).
    Keep,
}

/// The effect of `outcome` on the leg it is about: seeker-side misses count,
/// mentor-side and provider trouble do not.
pub fn request_effect(outcome: Outcome, leg: Leg) -> RequestEffect {
    match outcome {
        Outcome::Completed => RequestEffect::Complete,
        Outcome::SeekerNoAnswer | Outcome::SeekerBusy => RequestEffect::Requeue { counts: true },
        Outcome::Failed => RequestEffect::Requeue {
            counts: leg == Leg::Seeker,
        },
        Outcome::MentorNoAnswer | Outcome::MentorDeclined => {
            RequestEffect::Requeue { counts: false }
        }
        Outcome::Canceled => RequestEffect::Keep,
    }
}

/// The request's status after a requeue that leaves it with `attempts` misses.
pub fn status_after_requeue(attempts: u32) -> RequestStatus {
    if attempts >= MAX_SEEKER_ATTEMPTS {
        RequestStatus::Unreachable
    } else {
        RequestStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mentor_who_does_not_pick_up_is_a_mentor_side_miss() {
        assert_eq!(
            mentor_leg_outcome(LegStatus::NoAnswer, false),
            Some(Outcome::MentorNoAnswer)
        );
        assert_eq!(
            mentor_leg_outcome(LegStatus::Busy, false),
            Some(Outcome::MentorNoAnswer)
        );
        assert_eq!(
            request_effect(Outcome::MentorNoAnswer, Leg::Mentor),
            RequestEffect::Requeue { counts: false }
        );
    }

    #[test]
    fn a_completed_mentor_leg_decides_only_without_a_press() {
        assert_eq!(
            mentor_leg_outcome(LegStatus::Completed, false),
            Some(Outcome::MentorDeclined)
        );
        assert_eq!(mentor_leg_outcome(LegStatus::Completed, true), None);
        assert_eq!(mentor_leg_outcome(LegStatus::InProgress, false), None);
    }

    #[test]
    fn seeker_misses_count_and_the_third_makes_the_request_unreachable() {
        for status in [LegStatus::NoAnswer, LegStatus::Busy, LegStatus::Failed] {
            let outcome = seeker_leg_outcome(status).unwrap();
            assert_eq!(
                request_effect(outcome, Leg::Seeker),
                RequestEffect::Requeue { counts: true }
            );
        }
        assert_eq!(
            request_effect(Outcome::Failed, Leg::Mentor),
            RequestEffect::Requeue { counts: false }
        );
        assert_eq!(status_after_requeue(2), RequestStatus::Pending);
        assert_eq!(status_after_requeue(3), RequestStatus::Unreachable);
    }

    #[test]
    fn twilio_status_strings_parse() {
        assert_eq!(LegStatus::parse("no-answer"), Some(LegStatus::NoAnswer));
        assert_eq!(LegStatus::parse("in-progress"), Some(LegStatus::InProgress));
        assert!(LegStatus::parse("completed").unwrap().is_final());
        assert!(!LegStatus::parse("ringing").unwrap().is_final());
        assert_eq!(LegStatus::parse("bogus"), None);
    }
}
