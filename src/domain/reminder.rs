//! When a seeker is reminded of a booked call: `lead` before it, unless that
//! instant falls outside calling hours in the seeker's zone; then at the last
//! calling-hours minute before it (the evening before an 08:05 call, say), so no
//! text wakes anyone.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::hours::CallingHours;

/// One minute: a reminder goes out at an instant from which a whole minute lies
/// inside calling hours.
const MINUTE: TimeDelta = TimeDelta::minutes(1);

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
    let daily = hours.every_day_in(zone);
    if daily.covers(instant, instant + MINUTE) {
        return instant;
    }
    let date = instant.with_timezone(&zone).date_naive();
    // Calling hours happen every day, so the local day of `instant` or the one
    // before ends before it; a day more covers a zone that skipped a date.
    (0..=2)
        .filter_map(|back| date.checked_sub_days(chrono::Days::new(back)))
        .filter_map(|day| daily.occurrence_on(day))
        .map(|hours| hours.end - MINUTE)
        .find(|last| *last <= instant)
        .unwrap_or(instant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Los_Angeles, New_York};
    use chrono_tz::Pacific::Apia;
    use proptest::prelude::*;

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

    proptest! {
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
