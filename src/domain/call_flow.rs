//! How a call's legs end up as one outcome, and what the outcome does to the
//! request. Pure: the webhooks feed in what the provider said.
//!
//! Mentor first: the mentor leg is placed; on answer the mentor hears who is next
//! and presses 1 (or 2, or nothing); on 1 the seeker leg is dialed, and the seeker
//! is screened (who is calling, "press any key to join") before the bridge. A
//! voicemail or silence never presses a key, so only a screen that passed makes
//! an answered seeker leg a completed call.
//!
//! After a seeker-side miss, a second try in the same commute: the next free slot
//! of the same window occurrence, far enough ahead for the seeker to notice.
//!
//! Longer than most modules because of its tests; the rules themselves are about
//! 200 lines.

use chrono::{DateTime, TimeDelta, Utc};

use super::concurrency::CallCapacity;
use super::hours::SeekerHours;
use super::schedule::{MentorSchedule, Slot};
use super::status::{Outcome, RequestStatus};

/// Seeker-side misses after which a request is `unreachable`.
pub const MAX_SEEKER_ATTEMPTS: u32 = 3;

/// Least time from a seeker-side miss to the start of its second try: long
/// enough for the seeker to read the text with the new time.
pub const SECOND_TRY_GAP: TimeDelta = TimeDelta::minutes(3);

/// How far a window occurrence can reach from one of its slots: a window spans at
/// most a day, and a daylight-saving change adds at most an hour (two on a few
/// islands); the rest is margin.
const OCCURRENCE_REACH: TimeDelta = TimeDelta::hours(26);

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

/// The outcome of the seeker leg, from `DialCallStatus` (or the child leg's final
/// status) and whether the seeker passed the screen by pressing a key. An
/// answered leg reports `completed` whatever happened on it, a voicemail greeting
/// or a screen nobody answered included: without a key press it is a miss.
pub fn seeker_leg_outcome(status: LegStatus, screen_passed: bool) -> Option<Outcome> {
    match status {
        LegStatus::Completed if screen_passed => Some(Outcome::Completed),
        LegStatus::Completed => Some(Outcome::SeekerNoAnswer),
        LegStatus::NoAnswer => Some(Outcome::SeekerNoAnswer),
        LegStatus::Busy => Some(Outcome::SeekerBusy),
        LegStatus::Failed => Some(Outcome::Failed),
        // The mentor hung up while the seeker's phone rang.
        LegStatus::Canceled => Some(Outcome::MentorDeclined),
        _ => None,
    }
}

/// Whether a seeker leg that ended with `status` was answered but never got past
/// the screen (silence, a voicemail, a hang-up during the prompt).
pub fn screen_failed(status: LegStatus, screen_passed: bool) -> bool {
    status == LegStatus::Completed && !screen_passed
}

/// Whether `outcome` earns the request a second try in the same commute: the
/// seeker did not pick up, or was busy. A failed seeker leg is the network's
/// doing, and a mentor-side miss is not the seeker's.
pub fn tries_again(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::SeekerNoAnswer | Outcome::SeekerBusy)
}

/// The slot of a second try at `missed`, missed at `missed_at`: the first usable
/// slot of the same window occurrence that starts [`SECOND_TRY_GAP`] or more
/// after the miss, overlaps none of the mentor's `booked` calls (every call that
/// holds the mentor's time, the missed one included), and that `seeker` may take.
/// `None` when the occurrence has none left.
pub fn second_try_slot(
    schedule: &MentorSchedule,
    missed: Slot,
    booked: &[Slot],
    capacity: Option<&CallCapacity>,
    seeker: &SeekerHours,
    missed_at: DateTime<Utc>,
) -> Option<Slot> {
    // A slot is taken when any booked call overlaps it: windows may overlap, so a
    // booked call need not start where this occurrence's slot does. Under the
    // provider's concurrent-call limit, a slot the limit fills is taken too.
    let mut taken: Vec<DateTime<Utc>> = schedule
        .slots(
            missed.starts_at - OCCURRENCE_REACH,
            missed.ends_at + OCCURRENCE_REACH,
        )
        .into_iter()
        .filter(|slot| {
            booked.iter().any(|call| call.overlaps(slot))
                || capacity.is_some_and(|capacity| !capacity.fits(*slot))
        })
        .map(|slot| slot.starts_at)
        .collect();
    taken.sort_unstable();
    taken.dedup();
    schedule.second_try(missed, &taken, seeker, missed_at + SECOND_TRY_GAP)
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
    use crate::domain::hours::CallingHours;
    use crate::domain::weekly::{LocalTime, Weekdays, WeeklyRange};
    use chrono_tz::America::New_York;
    use chrono_tz::Tz;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    fn slot(start: &str) -> Slot {
        let starts_at = at(start);
        Slot {
            starts_at,
            ends_at: starts_at + TimeDelta::minutes(15),
        }
    }

    fn window(zone: Tz, start: &str, end: &str) -> WeeklyRange {
        let time = |text: &str| LocalTime::parse("time", text).expect("time");
        WeeklyRange::new(Weekdays::ALL, time(start), time(end), zone).expect("window")
    }

    /// A mentor in `zone` with every-day windows, 15-minute calls, no cap.
    fn mentor(zone: Tz, windows: &[(&str, &str)]) -> MentorSchedule {
        MentorSchedule {
            zone,
            call_minutes: 15,
            max_calls_per_window: None,
            windows: windows
                .iter()
                .map(|(start, end)| window(zone, start, end))
                .collect(),
            pauses: Vec::new(),
        }
    }

    fn free_every_day(zone: Tz) -> SeekerHours {
        SeekerHours::new(
            zone,
            vec![CallingHours::WIDEST.every_day_in(zone)],
            CallingHours::WIDEST,
        )
    }

    #[test]
    fn an_answered_seeker_leg_is_a_call_only_after_a_key_press() {
        assert_eq!(
            seeker_leg_outcome(LegStatus::Completed, true),
            Some(Outcome::Completed)
        );
        // A voicemail greeting, or silence at the screen: answered, no key.
        assert_eq!(
            seeker_leg_outcome(LegStatus::Completed, false),
            Some(Outcome::SeekerNoAnswer)
        );
        assert!(screen_failed(LegStatus::Completed, false));
        assert!(!screen_failed(LegStatus::Completed, true));
        assert!(!screen_failed(LegStatus::NoAnswer, false));
        // A key press does not turn a leg that never connected into a call.
        assert_eq!(
            seeker_leg_outcome(LegStatus::Busy, true),
            Some(Outcome::SeekerBusy)
        );
        assert_eq!(seeker_leg_outcome(LegStatus::InProgress, true), None);
    }

    #[test]
    fn only_a_seeker_who_did_not_pick_up_or_was_busy_gets_a_second_try() {
        assert!(tries_again(Outcome::SeekerNoAnswer));
        assert!(tries_again(Outcome::SeekerBusy));
        for outcome in [
            Outcome::Completed,
            Outcome::Failed,
            Outcome::MentorNoAnswer,
            Outcome::MentorDeclined,
            Outcome::Canceled,
        ] {
            assert!(!tries_again(outcome), "{outcome}");
        }
    }

    #[test]
    fn under_the_concurrent_call_limit_a_slot_another_mentor_fills_is_skipped() {
        // 08:00-09:00 New York (EST): slots 08:00, 08:15, 08:30, 08:45.
        let schedule = mentor(New_York, &[("08:00", "09:00")]);
        let missed = slot("2026-12-01T13:00:00Z");
        let seeker = free_every_day(New_York);
        // One call at a time; another mentor's call holds 08:15.
        let mut capacity = CallCapacity::new(1);
        capacity.add(missed);
        capacity.add(slot("2026-12-01T13:15:00Z"));
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                Some(&capacity),
                &seeker,
                at("2026-12-01T13:01:00Z")
            ),
            Some(slot("2026-12-01T13:30:00Z"))
        );
    }

    #[test]
    fn the_second_try_starts_at_least_three_minutes_after_the_miss() {
        // 08:00-09:00 New York (EST): slots 08:00, 08:15, 08:30, 08:45.
        let schedule = mentor(New_York, &[("08:00", "09:00")]);
        let missed = slot("2026-12-01T13:00:00Z");
        let seeker = free_every_day(New_York);
        // Missed at 08:01: 08:15 is 14 minutes away.
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &seeker,
                at("2026-12-01T13:01:00Z")
            ),
            Some(slot("2026-12-01T13:15:00Z"))
        );
        // Missed at 08:12:00 exactly three minutes before 08:15: still fine.
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &seeker,
                at("2026-12-01T13:12:00Z")
            ),
            Some(slot("2026-12-01T13:15:00Z"))
        );
        // Missed at 08:12:01: 08:15 is too soon, 08:30 it is.
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &seeker,
                at("2026-12-01T13:12:01Z")
            ),
            Some(slot("2026-12-01T13:30:00Z"))
        );
    }

    #[test]
    fn a_call_of_an_overlapping_window_takes_the_slots_it_overlaps() {
        // 08:00-09:00 and 08:20-09:20: a call booked at 08:20-08:35 through the
        // second window overlaps the first window's 08:15 and 08:30 slots.
        let schedule = mentor(New_York, &[("08:00", "09:00"), ("08:20", "09:20")]);
        let missed = slot("2026-12-01T13:00:00Z");
        let other = slot("2026-12-01T13:20:00Z");
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed, other],
                None,
                &free_every_day(New_York),
                at("2026-12-01T13:02:00Z")
            ),
            Some(slot("2026-12-01T13:45:00Z"))
        );
    }

    #[test]
    fn on_the_new_york_spring_forward_night_the_second_try_follows_absolute_time() {
        // 01:30-03:30 New York on Sunday 2027-03-14: 02:00-03:00 does not exist,
        // so the occurrence runs 06:30-07:30 UTC. A seeker in Tokyo (15:30 JST) may
        // be called. Missed at 06:46 UTC: 07:00 UTC (03:00 EDT) is next.
        let schedule = mentor(New_York, &[("01:30", "03:30")]);
        let tokyo = chrono_tz::Asia::Tokyo;
        let missed = slot("2027-03-14T06:45:00Z");
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &free_every_day(tokyo),
                at("2027-03-14T06:46:00Z")
            ),
            Some(slot("2027-03-14T07:00:00Z"))
        );
        // The last slot of the short occurrence has no second try.
        let last = slot("2027-03-14T07:15:00Z");
        assert_eq!(
            second_try_slot(
                &schedule,
                last,
                &[last],
                None,
                &free_every_day(tokyo),
                at("2027-03-14T07:16:00Z")
            ),
            None
        );
    }

    #[test]
    fn on_the_new_york_fall_back_night_the_repeated_hour_has_slots_too() {
        // 01:00-02:30 New York on Sunday 2027-11-07: 01:00 is ambiguous (the
        // earlier, EDT), 02:30 is EST, so the occurrence runs 05:00-07:30 UTC.
        // Missed in the repeated hour's 01:00 EST slot (06:00 UTC).
        let schedule = mentor(New_York, &[("01:00", "02:30")]);
        let missed = slot("2027-11-07T06:00:00Z");
        // A seeker in Tokyo (15:00 JST) can take 01:15 EST, the next slot.
        let tokyo = free_every_day(chrono_tz::Asia::Tokyo);
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &tokyo,
                at("2027-11-07T06:01:30Z")
            ),
            Some(slot("2027-11-07T06:15:00Z"))
        );
        // A seeker in Berlin may be called from 08:00 CET (07:00 UTC) only.
        let berlin = free_every_day(chrono_tz::Europe::Berlin);
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &berlin,
                at("2027-11-07T06:01:30Z")
            ),
            Some(slot("2027-11-07T07:00:00Z"))
        );
    }

    #[test]
    fn in_apia_the_second_try_stays_in_the_occurrence_the_miss_was_in() {
        // Pacific/Apia skipped 2011-12-30 altogether. A 20:00-21:00 window on
        // 2011-12-29 (UTC-10): the second try is that evening's, not a later day's.
        let apia = chrono_tz::Pacific::Apia;
        let schedule = mentor(apia, &[("20:00", "21:00")]);
        let missed = slot("2011-12-30T06:00:00Z");
        assert_eq!(
            second_try_slot(
                &schedule,
                missed,
                &[missed],
                None,
                &free_every_day(apia),
                at("2011-12-30T06:05:00Z")
            ),
            Some(slot("2011-12-30T06:15:00Z"))
        );
        let last = slot("2011-12-30T06:45:00Z");
        assert_eq!(
            second_try_slot(
                &schedule,
                last,
                &[last],
                None,
                &free_every_day(apia),
                at("2011-12-30T06:50:00Z")
            ),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn a_second_try_is_free_far_enough_ahead_and_in_the_missed_calls_commute(
            zone in proptest::sample::select(vec![New_York, chrono_tz::Europe::London,
                chrono_tz::Pacific::Apia, chrono_tz::Australia::Lord_Howe]),
            day in 0i64..730,
            start_quarter in 0u32..96,
            length_quarters in 2u32..10,
            offset_quarters in 0u32..6,
            missed_index in 0usize..8,
            booked_minutes in proptest::collection::vec(0i64..180, 0..4),
            delay_seconds in 0i64..1800,
        ) {
            let hm = |quarter: u32| format!("{:02}:{:02}", quarter / 4 % 24, quarter % 4 * 15);
            let first = (hm(start_quarter), hm(start_quarter + length_quarters));
            let second = (
                hm(start_quarter + offset_quarters),
                hm(start_quarter + offset_quarters + length_quarters),
            );
            let schedule = mentor(zone, &[(&first.0, &first.1), (&second.0, &second.1)]);
            let from = at("2026-01-01T00:00:00Z") + TimeDelta::days(day);
            let slots = schedule.slots(from, from + TimeDelta::days(1));
            proptest::prop_assume!(!slots.is_empty());
            let missed = slots[missed_index % slots.len()];
            let mut booked = vec![missed];
            booked.extend(booked_minutes.iter().map(|minutes| Slot {
                starts_at: missed.starts_at + TimeDelta::minutes(*minutes - 30),
                ends_at: missed.starts_at + TimeDelta::minutes(*minutes - 15),
            }));
            let missed_at = missed.starts_at + TimeDelta::seconds(delay_seconds);
            let seeker = free_every_day(chrono_tz::Asia::Kolkata);
            if let Some(retry) = second_try_slot(&schedule, missed, &booked, None, &seeker, missed_at) {
                proptest::prop_assert!(retry.starts_at >= missed_at + SECOND_TRY_GAP);
                proptest::prop_assert!(booked.iter().all(|call| !call.overlaps(&retry)));
                proptest::prop_assert!(seeker.permits(retry.starts_at, retry.ends_at));
                let same_commute = schedule
                    .occurrences(missed.starts_at, missed.ends_at)
                    .into_iter()
                    .filter(|o| o.start <= missed.starts_at && missed.ends_at <= o.end)
                    .any(|o| schedule.occurrence_slots(&o).any(|slot| slot == retry));
                proptest::prop_assert!(same_commute, "{retry:?} is not in {missed:?}'s commute");
            }
        }
    }

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
            let outcome = seeker_leg_outcome(status, false).unwrap();
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
