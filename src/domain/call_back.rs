//! The call-back line: what a seeker who rings the service number back after a
//! missed call gets, and how such a call ends. Pure: the store supplies the
//! facts, the voice webhook the provider's statuses.
//!
//! A seeker whose missed call's window occurrence (the mentor's commute that
//! day) is still open is put through to that mentor, mentor-first: the mentor's
//! leg is screened ("… is calling you back, press 1"), and only a 1 bridges the
//! two. Once the commute is over, or while the mentor is on another call, the
//! seeker hears where their request stands instead.

use chrono::{DateTime, TimeDelta, Utc};

use super::call_flow::LegStatus;
use super::status::Outcome;

/// The least time a call-back must have before the mentor's next booked call
/// starts: with less, the mentor counts as busy (the dispatcher is about to ring
/// them for that call).
pub const CALL_BACK_LEAST: TimeDelta = TimeDelta::minutes(2);

/// What the line does for a seeker who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekerLine {
    /// Put the seeker through to the mentor of the missed call; the call-back
    /// may last until `ends_at`.
    PutThrough {
        /// When the call-back's time is up.
        ends_at: DateTime<Utc>,
    },
    /// The missed call's commute is still open, but its mentor is on another
    /// call (or about to be): the seeker hears their status.
    MentorBusy,
    /// The missed call's commute is over: the seeker hears their status.
    TooLate,
    /// No missed call to call back about: the seeker hears their status.
    Status,
}

/// What the mentor of a seeker's last missed call is doing at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissedCall {
    /// When the window occurrence the missed call was in ends; `None` when no
    /// occurrence holds it any more (the window was changed or paused).
    pub occurrence_end: Option<DateTime<Utc>>,
    /// Whether the mentor is on a call now (one dialing or under way).
    pub mentor_on_call: bool,
    /// When the mentor's next booked call (for anyone else) starts, if any.
    pub next_booked: Option<DateTime<Utc>>,
    /// The mentor's call length, in minutes.
    pub call_minutes: u32,
}

/// What the line does at `now` for a seeker whose last seeker-side miss is
/// `missed` (`None`: they never missed a call).
///
/// The commute is open while `now` is before its end: a call-back just inside
/// it is put through, even if the end is near (the mentor may hang up when they
/// arrive). A call-back lasts a call's length, cut short before the mentor's
/// next booked call, and is not put through with less than
/// [`CALL_BACK_LEAST`] left before it.
pub fn seeker_line(missed: Option<MissedCall>, now: DateTime<Utc>) -> SeekerLine {
    let Some(missed) = missed else {
        return SeekerLine::Status;
    };
    match missed.occurrence_end {
        Some(end) if now < end => {}
        _ => return SeekerLine::TooLate,
    }
    if missed.mentor_on_call {
        return SeekerLine::MentorBusy;
    }
    let full = now + TimeDelta::minutes(i64::from(missed.call_minutes));
    let ends_at = missed
        .next_booked
        .filter(|next| *next >= now)
        .map_or(full, |next| full.min(next));
    if ends_at - now < CALL_BACK_LEAST {
        return SeekerLine::MentorBusy;
    }
    SeekerLine::PutThrough { ends_at }
}

/// The outcome of a call-back whose mentor leg ended with `mentor_leg`
/// (`None`: the caller hung up before the mentor was rung), `accepted` telling
/// whether the mentor pressed 1. `None` while the leg is not over.
///
/// Every miss is the mentor's side, so none counts against the seeker: the
/// seeker did call.
pub fn call_back_outcome(mentor_leg: Option<LegStatus>, accepted: bool) -> Option<Outcome> {
    let Some(status) = mentor_leg else {
        return Some(Outcome::MentorNoAnswer);
    };
    match status {
        LegStatus::Completed if accepted => Some(Outcome::Completed),
        // Answered, then silence, another key, or a voicemail.
        LegStatus::Completed => Some(Outcome::MentorDeclined),
        // Rang out, busy, or the seeker hung up while it rang.
        LegStatus::NoAnswer | LegStatus::Busy | LegStatus::Canceled => {
            Some(Outcome::MentorNoAnswer)
        }
        LegStatus::Failed => Some(Outcome::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    fn missed(end: &str) -> MissedCall {
        MissedCall {
            occurrence_end: Some(at(end)),
            mentor_on_call: false,
            next_booked: None,
            call_minutes: 15,
        }
    }

    #[test]
    fn a_call_back_is_put_through_only_while_the_commute_is_open() {
        let end = "2026-11-30T15:30:00Z";
        assert_eq!(
            seeker_line(Some(missed(end)), at("2026-11-30T15:29:59Z")),
            SeekerLine::PutThrough {
                ends_at: at("2026-11-30T15:44:59Z")
            }
        );
        assert_eq!(
            seeker_line(Some(missed(end)), at("2026-11-30T15:30:00Z")),
            SeekerLine::TooLate
        );
        let gone = MissedCall {
            occurrence_end: None,
            ..missed(end)
        };
        assert_eq!(
            seeker_line(Some(gone), at("2026-11-30T15:10:00Z")),
            SeekerLine::TooLate
        );
        assert_eq!(
            seeker_line(None, at("2026-11-30T15:10:00Z")),
            SeekerLine::Status
        );
    }

    #[test]
    fn a_mentor_on_a_call_or_about_to_be_is_busy() {
        let now = at("2026-11-30T15:10:00Z");
        let on_call = MissedCall {
            mentor_on_call: true,
            ..missed("2026-11-30T16:00:00Z")
        };
        assert_eq!(seeker_line(Some(on_call), now), SeekerLine::MentorBusy);
        let next_soon = MissedCall {
            next_booked: Some(now + CALL_BACK_LEAST - TimeDelta::seconds(1)),
            ..missed("2026-11-30T16:00:00Z")
        };
        assert_eq!(seeker_line(Some(next_soon), now), SeekerLine::MentorBusy);
        let next_later = MissedCall {
            next_booked: Some(at("2026-11-30T15:15:00Z")),
            ..missed("2026-11-30T16:00:00Z")
        };
        assert_eq!(
            seeker_line(Some(next_later), now),
            SeekerLine::PutThrough {
                ends_at: at("2026-11-30T15:15:00Z")
            },
            "cut short before the next call"
        );
    }

    #[test]
    fn only_a_mentor_who_presses_one_completes_a_call_back() {
        assert_eq!(
            call_back_outcome(Some(LegStatus::Completed), true),
            Some(Outcome::Completed)
        );
        assert_eq!(
            call_back_outcome(Some(LegStatus::Completed), false),
            Some(Outcome::MentorDeclined)
        );
        for status in [LegStatus::NoAnswer, LegStatus::Busy, LegStatus::Canceled] {
            assert_eq!(
                call_back_outcome(Some(status), false),
                Some(Outcome::MentorNoAnswer)
            );
        }
        assert_eq!(
            call_back_outcome(Some(LegStatus::Failed), false),
            Some(Outcome::Failed)
        );
        assert_eq!(
            call_back_outcome(None, false),
            Some(Outcome::MentorNoAnswer)
        );
        assert_eq!(call_back_outcome(Some(LegStatus::InProgress), true), None);
    }
}
