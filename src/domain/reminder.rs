//! When a seeker is reminded of a booked call: `lead` before it, unless that
//! instant falls outside calling hours in the seeker's zone; then at the last
//! calling-hours minute before it (the evening before an 08:05 call, say), so no
//! text wakes anyone.
//!
//! A reminder carries a link to the seeker's manage page that works for
//! [`LINK_LIFETIME`] after it is sent.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::hours::CallingHours;

/// How long the manage link a reminder carries keeps working: long enough to
/// cancel a call the evening before, or to look back at it a day or two later;
/// short enough that an old text on a lost phone opens nothing.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::days(3);

/// When reminders go out: `lead` before each call (zero turns them off), pulled
/// back into the deployment's calling hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReminderPolicy {
    /// How long before the call the seeker is texted; zero or less: never.
    pub lead: TimeDelta,
    /// The seeker-local hours in which the service texts or calls anyone.
    pub hours: CallingHours,
}

impl ReminderPolicy {
    /// No reminders.
    pub const OFF: ReminderPolicy = ReminderPolicy {
        lead: TimeDelta::zero(),
        hours: CallingHours::WIDEST,
    };

    /// Whether reminders go out at all.
    pub fn is_on(&self) -> bool {
        self.lead > TimeDelta::zero()
    }

    /// When the seeker in `zone` of a call starting at `starts_at`, booked at
    /// `now`, is reminded of it; `None` when reminders are off, or when that
    /// instant has passed already (a call booked a few minutes ahead, or early
    /// in the morning after the evening's last calling minute): the booking's
    /// own text has just told the seeker.
    pub fn due_at(
        &self,
        starts_at: DateTime<Utc>,
        zone: Tz,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        reminder_at(starts_at, self.lead, zone, self.hours).filter(|due| *due >= now)
    }
}

/// When the seeker of a call starting at `starts_at` is texted a reminder, with
/// reminders `lead` ahead; `None` when `lead` is not positive (reminders are off).
pub fn reminder_at(
    starts_at: DateTime<Utc>,
    lead: TimeDelta,
    zone: Tz,
    hours: CallingHours,
) -> Option<DateTime<Utc>> {
    (lead > TimeDelta::zero()).then(|| last_calling_minute(starts_at - lead, zone, hours))
}

/// The latest instant at or before `instant` from which a whole minute lies
/// inside `hours` in `zone`: `instant` itself when it does, else the start of the
/// last minute of the latest calling hours that ended before it.
pub fn last_calling_minute(instant: DateTime<Utc>, zone: Tz, hours: CallingHours) -> DateTime<Utc> {
    hours.last_minute_until(instant, zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Los_Angeles, New_York};
    use chrono_tz::Pacific::Apia;
    use proptest::prelude::*;

    /// The span a reminder needs inside calling hours.
    const MINUTE: TimeDelta = TimeDelta::minutes(1);

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .with_timezone(&Utc)
    }

    const LEAD: TimeDelta = TimeDelta::minutes(15);

    #[test]
    fn a_reminder_goes_out_its_lead_before_the_call() {
        // 10:00 in New York.
        let call = at("2026-12-01T15:00:00Z");
        assert_eq!(
            reminder_at(call, LEAD, New_York, CallingHours::WIDEST),
            Some(at("2026-12-01T14:45:00Z"))
        );
    }

    #[test]
    fn no_lead_means_no_reminder() {
        let call = at("2026-12-01T15:00:00Z");
        assert_eq!(
            reminder_at(call, TimeDelta::zero(), New_York, CallingHours::WIDEST),
            None
        );
    }

    #[test]
    fn a_reminder_before_calling_hours_goes_out_the_evening_before() {
        // An 08:05 call: 07:50 is too early, so 20:59 the day before.
        let call = at("2026-12-01T13:05:00Z");
        assert_eq!(
            reminder_at(call, LEAD, New_York, CallingHours::WIDEST),
            Some(at("2026-12-01T01:59:00Z"))
        );
        // At the first calling minute itself it goes out then.
        let call = at("2026-12-01T13:15:00Z");
        assert_eq!(
            reminder_at(call, LEAD, New_York, CallingHours::WIDEST),
            Some(at("2026-12-01T13:00:00Z"))
        );
    }

    #[test]
    fn the_last_minute_of_calling_hours_is_the_latest_a_reminder_may_go() {
        let hours = CallingHours::parse("09:00-20:00").expect("hours");
        // 20:30 New York is past narrowed hours: 19:59 the same evening.
        assert_eq!(
            last_calling_minute(at("2026-12-02T01:30:00Z"), New_York, hours),
            at("2026-12-02T00:59:00Z")
        );
        // 19:59:30 leaves less than a minute: 19:59:00.
        assert_eq!(
            last_calling_minute(at("2026-12-02T00:59:30Z"), New_York, hours),
            at("2026-12-02T00:59:00Z")
        );
    }

    #[test]
    fn across_the_spring_forward_night_the_evening_before_is_in_the_old_offset() {
        // 2027-03-14 08:05 PDT (after the 02:00 jump): the reminder is 20:59 PST
        // on the 13th.
        let call = at("2027-03-14T15:05:00Z");
        assert_eq!(
            reminder_at(call, LEAD, Los_Angeles, CallingHours::WIDEST),
            Some(at("2027-03-14T04:59:00Z"))
        );
    }

    #[test]
    fn across_the_fall_back_night_the_evening_before_is_in_the_old_offset() {
        // 2026-11-01 08:05 PST (after 02:00 PDT fell back): 20:59 PDT on the 31st.
        let call = at("2026-11-01T16:05:00Z");
        assert_eq!(
            reminder_at(call, LEAD, Los_Angeles, CallingHours::WIDEST),
            Some(at("2026-11-01T03:59:00Z"))
        );
    }

    #[test]
    fn a_zone_that_skipped_a_day_still_gets_the_evening_before() {
        // Samoa skipped 2011-12-30; an 08:05 call on the 31st is reminded at
        // 20:59 on the 29th.
        let call = at("2011-12-30T18:05:00Z");
        let reminder = reminder_at(call, LEAD, Apia, CallingHours::WIDEST).expect("reminder");
        let local = reminder.with_timezone(&Apia);
        assert_eq!(
            local.format("%Y-%m-%d %H:%M").to_string(),
            "2011-12-29 20:59"
        );
    }

    /// The oracle: walk back minute by minute from `instant` to the first minute
    /// that lies wholly inside calling hours.
    fn walk_back(instant: DateTime<Utc>, zone: Tz, hours: CallingHours) -> DateTime<Utc> {
        let daily = hours.every_day_in(zone);
        let mut probe = instant;
        while !daily.covers(probe, probe + MINUTE) {
            probe -= MINUTE;
        }
        probe
    }

    fn every_minute_policy() -> ReminderPolicy {
        ReminderPolicy {
            lead: LEAD,
            hours: CallingHours::WIDEST,
        }
    }

    #[test]
    fn a_reminder_whose_time_has_passed_at_booking_is_not_queued() {
        let policy = every_minute_policy();
        // 10:00 New York, booked at 09:50: 09:45 has passed.
        let call = at("2026-12-01T15:00:00Z");
        assert_eq!(
            policy.due_at(call, New_York, at("2026-12-01T14:50:00Z")),
            None
        );
        // Booked at 09:45 sharp: it goes at once.
        assert_eq!(
            policy.due_at(call, New_York, at("2026-12-01T14:45:00Z")),
            Some(at("2026-12-01T14:45:00Z"))
        );
        // An 08:05 call booked at 07:00: 20:59 the evening before has passed.
        let early = at("2026-12-01T13:05:00Z");
        assert_eq!(
            policy.due_at(early, New_York, at("2026-12-01T12:00:00Z")),
            None
        );
        assert_eq!(
            policy.due_at(early, New_York, at("2026-12-01T01:00:00Z")),
            Some(at("2026-12-01T01:59:00Z"))
        );
    }

    #[test]
    fn reminders_off_queue_nothing() {
        let call = at("2026-12-01T15:00:00Z");
        assert!(!ReminderPolicy::OFF.is_on());
        assert_eq!(
            ReminderPolicy::OFF.due_at(call, New_York, at("2026-11-30T12:00:00Z")),
            None
        );
    }

    #[test]
    fn a_reminder_at_the_edges_of_narrowed_calling_hours() {
        let policy = ReminderPolicy {
            lead: LEAD,
            hours: CallingHours::parse("09:00-20:00").expect("hours"),
        };
        // A 09:15 call: 09:00 is the first calling minute, so then.
        assert_eq!(
            policy.due_at(
                at("2026-12-01T14:15:00Z"),
                New_York,
                at("2026-11-30T12:00:00Z")
            ),
            Some(at("2026-12-01T14:00:00Z"))
        );
        // A 09:14 call: 08:59 is outside, so 19:59 the evening before.
        assert_eq!(
            policy.due_at(
                at("2026-12-01T14:14:00Z"),
                New_York,
                at("2026-11-30T12:00:00Z")
            ),
            Some(at("2026-12-01T00:59:00Z"))
        );
        // A call 20:10 (the slot of a seeker whose hours were wider when it was
        // booked): 19:55 is inside, so then.
        assert_eq!(
            policy.due_at(
                at("2026-12-02T01:10:00Z"),
                New_York,
                at("2026-11-30T12:00:00Z")
            ),
            Some(at("2026-12-02T00:55:00Z"))
        );
    }

    #[test]
    fn on_the_spring_forward_night_a_lead_across_the_gap_counts_real_minutes() {
        // A New York call at 08:30 EDT on 2027-03-14, after the 02:00 jump:
        // 15 real minutes before is 08:15 EDT, inside calling hours.
        let call = at("2027-03-14T12:30:00Z");
        assert_eq!(
            every_minute_policy().due_at(call, New_York, at("2027-03-13T12:00:00Z")),
            Some(at("2027-03-14T12:15:00Z"))
        );
        // An eight-hour lead from 08:30 EDT lands at 23:30 EST the night before
        // (only seven wall-clock hours earlier): pulled back to 20:59 EST.
        let policy = ReminderPolicy {
            lead: TimeDelta::hours(8),
            hours: CallingHours::WIDEST,
        };
        assert_eq!(
            policy.due_at(call, New_York, at("2027-03-13T12:00:00Z")),
            Some(at("2027-03-14T01:59:00Z"))
        );
    }

    #[test]
    fn on_the_fall_back_night_the_last_minute_is_read_on_the_right_side() {
        // 2026-11-01 08:10 EST, after 02:00 EDT fell back; 15 min before is
        // 07:55 EST, outside: 20:59 EDT on Oct 31 = 00:59Z Nov 1.
        let call = at("2026-11-01T13:10:00Z");
        assert_eq!(
            every_minute_policy().due_at(call, New_York, at("2026-10-30T12:00:00Z")),
            Some(at("2026-11-01T00:59:00Z"))
        );
        // Europe/Berlin falls back on 2026-10-25 at 03:00 CEST: an 08:05 CET
        // call is reminded at 20:59 CEST the evening before (18:59Z).
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            every_minute_policy().due_at(
                at("2026-10-25T07:05:00Z"),
                berlin,
                at("2026-10-23T12:00:00Z")
            ),
            Some(at("2026-10-24T18:59:00Z"))
        );
    }

    proptest! {
        #[test]
        fn a_queued_reminder_is_never_before_booking_nor_after_the_call_nor_outside_hours(
            minute in 0i64..(366 * 24 * 60),
            ahead in 0i64..(3 * 24 * 60),
            lead in 1i64..600,
            zone in prop::sample::select(vec![New_York, Los_Angeles, chrono_tz::Europe::Berlin, Apia]),
        ) {
            let policy = ReminderPolicy { lead: TimeDelta::minutes(lead), hours: CallingHours::WIDEST };
            let now = at("2026-01-01T00:00:00Z") + TimeDelta::minutes(minute);
            let call = now + TimeDelta::minutes(ahead);
            if let Some(due) = policy.due_at(call, zone, now) {
                prop_assert!(due >= now);
                prop_assert!(due <= call - policy.lead);
                prop_assert!(CallingHours::WIDEST.every_day_in(zone).covers(due, due + MINUTE));
            }
        }

        #[test]
        fn the_reminder_is_the_latest_calling_minute_at_or_before_its_lead(
            minute in 0i64..(2 * 366 * 24 * 60),
            zone in prop::sample::select(vec![New_York, Los_Angeles, chrono_tz::Europe::London,
                chrono_tz::Australia::Lord_Howe, chrono_tz::Asia::Kolkata, Apia]),
            start_hour in 8u32..12, end_hour in 13u32..=21,
        ) {
            let hours = CallingHours::parse(&format!("{start_hour:02}:00-{end_hour:02}:00"))
                .expect("hours");
            let instant = at("2026-01-01T00:00:00Z") + TimeDelta::minutes(minute);
            prop_assert_eq!(last_calling_minute(instant, zone, hours), walk_back(instant, zone, hours));
        }
    }
}
