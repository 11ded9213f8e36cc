//! When a seeker may be called: inside the deployment's calling hours (at most
//! 08:00–21:00 seeker-local, for the whole slot) and inside the seeker's stated
//! availability (weekdays within calling hours when they state none).

use chrono::{DateTime, Days, TimeDelta, Utc};
use chrono_tz::Tz;

use super::ValidationError;
use super::weekly::{LocalTime, Weekdays, WeeklyRange};

/// The daily span in which calls may happen, seeker-local. Deployments may narrow
/// the legal 08:00–21:00, never widen it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CallingHours {
    start: LocalTime,
    end: LocalTime,
}

impl CallingHours {
    /// 08:00–21:00, the widest span ridealong ever calls in.
    pub const WIDEST: CallingHours = CallingHours {
        start: LocalTime::EIGHT_AM,
        end: LocalTime::NINE_PM,
    };

    /// Calling hours `start`–`end`, which must lie within 08:00–21:00.
    pub fn new(start: LocalTime, end: LocalTime) -> Result<CallingHours, ValidationError> {
        if start < Self::WIDEST.start || end > Self::WIDEST.end || end <= start {
            return Err(ValidationError::new(
                "calling_hours",
                "calling hours must be a span inside 08:00-21:00",
            ));
        }
        Ok(CallingHours { start, end })
    }

    /// Parses "HH:MM-HH:MM".
    pub fn parse(text: &str) -> Result<CallingHours, ValidationError> {
        let (start, end) = text.split_once('-').ok_or_else(|| {
            ValidationError::new("calling_hours", "use HH:MM-HH:MM, e.g. 09:00-20:00")
        })?;
        CallingHours::new(
            LocalTime::parse("calling_hours", start)?,
            LocalTime::parse("calling_hours", end)?,
        )
    }

    /// Start of the daily span.
    pub fn start(&self) -> LocalTime {
        self.start
    }

    /// End of the daily span.
    pub fn end(&self) -> LocalTime {
        self.end
    }

    /// Whether the daily range `start`–`end` (crossing midnight when `end` is
    /// earlier, a whole day when they are equal) shares any time with these
    /// hours. A seeker's range that does not could never be given a call.
    pub fn overlaps(&self, start: LocalTime, end: LocalTime) -> bool {
        const DAY: i64 = 24 * 60;
        let (open, close) = (
            self.start.minutes_from_midnight(),
            self.end.minutes_from_midnight(),
        );
        let (start, end) = (start.minutes_from_midnight(), end.minutes_from_midnight());
        let pieces: &[(i64, i64)] = if start < end {
            &[(start, end)]
        } else {
            &[(start, DAY), (0, end)]
        };
        pieces
            .iter()
            .any(|&(from, until)| from < close && until > open)
    }

    /// These hours on every day of the week in `zone`.
    pub fn every_day_in(&self, zone: Tz) -> WeeklyRange {
        WeeklyRange::new(Weekdays::ALL, self.start, self.end, zone)
            .expect("calling hours never start and end at the same time")
    }

    /// The earliest instant at or after `instant` from which a whole minute lies
    /// inside these hours in `zone`: `instant` itself when it does, else the
    /// next opening (for a text that must wait for calling hours).
    pub fn first_minute_from(&self, instant: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let daily = self.every_day_in(zone);
        if daily.covers(instant, instant + MINUTE) {
            return instant;
        }
        let date = instant.with_timezone(&zone).date_naive();
        // Calling hours happen every day, so that day's or the next opens after
        // `instant`; a day more covers a zone that skipped a date.
        (0..=2)
            .filter_map(|ahead| date.checked_add_days(Days::new(ahead)))
            .filter_map(|day| daily.occurrence_on(day))
            .map(|hours| hours.start)
            .find(|opening| *opening >= instant)
            .unwrap_or(instant)
    }

    /// The latest instant at or before `instant` from which a whole minute lies
    /// inside these hours in `zone`: `instant` itself when it does, else the
    /// start of the last minute of the latest hours that ended before it (for a
    /// text that must go out before calling hours close).
    pub fn last_minute_until(&self, instant: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let daily = self.every_day_in(zone);
        if daily.covers(instant, instant + MINUTE) {
            return instant;
        }
        let date = instant.with_timezone(&zone).date_naive();
        // Calling hours happen every day, so that day's or the one before ends
        // before `instant`; a day more covers a zone that skipped a date.
        (0..=2)
            .filter_map(|back| date.checked_sub_days(Days::new(back)))
            .filter_map(|day| daily.occurrence_on(day))
            .map(|hours| hours.end - MINUTE)
            .find(|last| *last <= instant)
            .unwrap_or(instant)
    }
}

/// The span a text needs inside calling hours.
const MINUTE: TimeDelta = TimeDelta::minutes(1);

impl Default for CallingHours {
    fn default() -> Self {
        CallingHours::WIDEST
    }
}

/// When one seeker can take a call.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SeekerHours {
    calling_hours: WeeklyRange,
    availability: Vec<WeeklyRange>,
}

impl SeekerHours {
    /// The seeker in `zone` with `availability` (ranges in that zone); empty means
    /// any time within calling hours on weekdays.
    pub fn new(zone: Tz, availability: Vec<WeeklyRange>, calling_hours: CallingHours) -> Self {
        let availability = if availability.is_empty() {
            vec![
                WeeklyRange::new(
                    Weekdays::WORKDAYS,
                    calling_hours.start,
                    calling_hours.end,
                    zone,
                )
                .expect("calling hours never start and end at the same time"),
            ]
        } else {
            availability
        };
        SeekerHours {
            calling_hours: calling_hours.every_day_in(zone),
            availability,
        }
    }

    /// Whether a call from `start` to `end` fits wholly in calling hours and in one
    /// of the seeker's availability ranges.
    pub fn permits(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.calling_hours.covers(start, end)
            && self
                .availability
                .iter()
                .any(|range| range.covers(start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn calling_hours_cannot_be_widened() {
        assert!(CallingHours::parse("07:00-21:00").is_err());
        assert!(CallingHours::parse("08:00-21:30").is_err());
        assert!(CallingHours::parse("12:00-09:00").is_err());
        assert!(CallingHours::parse("09:00-20:00").is_ok());
    }

    #[test]
    fn a_range_overlaps_calling_hours_when_it_shares_a_minute_with_them() {
        let hours = CallingHours::parse("09:00-20:00").unwrap();
        let overlaps = |start: &str, end: &str| {
            hours.overlaps(
                LocalTime::parse("start", start).unwrap(),
                LocalTime::parse("end", end).unwrap(),
            )
        };
        assert!(overlaps("08:00", "09:01"));
        assert!(overlaps("19:59", "23:00"));
        assert!(overlaps("12:00", "13:00"));
        // Crossing midnight: 19:00–02:00 covers 19:00–20:00.
        assert!(overlaps("19:00", "02:00"));
        assert!(overlaps("23:00", "09:30"));
        // Touching is not sharing.
        assert!(!overlaps("06:00", "09:00"));
        assert!(!overlaps("20:00", "23:30"));
        assert!(!overlaps("21:00", "08:00"));
        assert!(!overlaps("20:00", "09:00"));
    }

    #[test]
    fn the_whole_slot_must_fit_in_calling_hours() {
        let seeker = SeekerHours::new(New_York, vec![], CallingHours::WIDEST);
        // Tuesday 2026-12-01, New York is UTC-5.
        assert!(seeker.permits(at("2026-12-01T13:00:00Z"), at("2026-12-01T13:15:00Z")));
        assert!(seeker.permits(at("2026-12-01T01:45:00Z"), at("2026-12-01T02:00:00Z")));
        assert!(!seeker.permits(at("2026-12-01T01:50:00Z"), at("2026-12-01T02:05:00Z")));
        assert!(!seeker.permits(at("2026-12-01T12:55:00Z"), at("2026-12-01T13:10:00Z")));
    }

    #[test]
    fn no_stated_availability_means_weekdays_only() {
        let seeker = SeekerHours::new(New_York, vec![], CallingHours::WIDEST);
        // Saturday 2026-12-05 at 10:00 local.
        assert!(!seeker.permits(at("2026-12-05T15:00:00Z"), at("2026-12-05T15:15:00Z")));
    }

    #[test]
    fn stated_availability_can_include_weekends_but_not_night() {
        let saturday_evening = WeeklyRange::new(
            Weekdays::parse(&["sat"]).unwrap(),
            LocalTime::from_hm(18, 0).unwrap(),
            LocalTime::from_hm(2, 0).unwrap(),
            New_York,
        )
        .unwrap();
        let seeker = SeekerHours::new(New_York, vec![saturday_evening], CallingHours::WIDEST);
        // Saturday 19:00 local fits; Saturday 21:30 local is past calling hours.
        assert!(seeker.permits(at("2026-12-06T00:00:00Z"), at("2026-12-06T00:15:00Z")));
        assert!(!seeker.permits(at("2026-12-06T02:30:00Z"), at("2026-12-06T02:45:00Z")));
    }
}
