//! Pauses: inclusive date ranges, in the mentor's zone, on which no calls happen.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use super::ValidationError;
use super::schedule::Slot;
use super::weekly::WeeklyRange;

/// Longest pause accepted, in days; longer absences are better handled by removing
/// the windows.
pub const MAX_PAUSE_DAYS: i64 = 366;

/// An inclusive range of local dates, e.g. 2026-12-21 to 2027-01-03.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pause {
    first_day: NaiveDate,
    last_day: NaiveDate,
}

impl Pause {
    /// A pause from `first_day` to `last_day`, both included.
    pub fn new(first_day: NaiveDate, last_day: NaiveDate) -> Result<Pause, ValidationError> {
        if last_day < first_day {
            return Err(ValidationError::new("to", "must not be before from"));
        }
        if (last_day - first_day).num_days() >= MAX_PAUSE_DAYS {
            return Err(ValidationError::new(
                "to",
                format!("a pause spans at most {MAX_PAUSE_DAYS} days"),
            ));
        }
        Ok(Pause {
            first_day,
            last_day,
        })
    }

    /// Parses `from` and `to` as `YYYY-MM-DD`.
    pub fn parse(from: &str, to: &str) -> Result<Pause, ValidationError> {
        let date = |field: &'static str, text: &str| parse_date(field, text);
        Pause::new(date("from", from)?, date("to", to)?)
    }

    /// First paused day.
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// Last paused day (included).
    pub fn last_day(&self) -> NaiveDate {
        self.last_day
    }

    /// Whether `date` is paused.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first_day <= date && date <= self.last_day
    }

    /// Whether this pause takes away a call booked in `call` from a mentor
    /// whose zone is `zone` and whose windows are `windows`: as for slots, the
    /// window occurrence the call lies in is paused when it starts on a paused
    /// date in the mentor's zone (one that crosses midnight belongs to the day
    /// it starts). A call no window holds any more (the window was removed)
    /// goes by its own start date.
    pub fn takes_call(&self, call: Slot, zone: Tz, windows: &[WeeklyRange]) -> bool {
        let paused =
            |instant: DateTime<Utc>| self.contains(instant.with_timezone(&zone).date_naive());
        let mut holding = windows
            .iter()
            .flat_map(|window| window.occurrences(call.starts_at, call.ends_at))
            .filter(|occurrence| {
                occurrence.start <= call.starts_at && call.ends_at <= occurrence.end
            })
            .peekable();
        if holding.peek().is_none() {
            return paused(call.starts_at);
        }
        holding.any(|occurrence| paused(occurrence.start))
    }
}

/// Parses a calendar date `YYYY-MM-DD` with a four-digit year (0001–9999, what
/// RFC 3339 and both databases can carry).
pub fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, ValidationError> {
    let text = text.trim();
    let four_digit_year = text.len() == 10 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    four_digit_year
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .filter(|date| date.year() >= 1)
        .ok_or_else(|| {
            ValidationError::new(field, format!("'{text}' is not a date; use YYYY-MM-DD"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::weekly::{LocalTime, Weekdays};
    use chrono::TimeDelta;
    use chrono_tz::America::New_York;

    fn call_at(text: &str) -> Slot {
        let starts_at = DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        Slot {
            starts_at,
            ends_at: starts_at + TimeDelta::minutes(15),
        }
    }

    fn night_window() -> WeeklyRange {
        // 23:30 to 00:30 New York time, every day: crosses midnight.
        WeeklyRange::new(
            Weekdays::ALL,
            LocalTime::from_hm(23, 30).unwrap(),
            LocalTime::from_hm(0, 30).unwrap(),
            New_York,
        )
        .unwrap()
    }

    #[test]
    fn a_pause_takes_the_calls_of_occurrences_that_start_on_its_dates() {
        let pause = Pause::parse("2026-12-01", "2026-12-01").unwrap();
        let windows = [night_window()];
        // Tue Dec 1 23:45 New York: in Tuesday's occurrence.
        assert!(pause.takes_call(call_at("2026-12-02T04:45:00Z"), New_York, &windows));
        // Wed Dec 2 00:10 New York: still Tuesday's occurrence, paused.
        assert!(pause.takes_call(call_at("2026-12-02T05:10:00Z"), New_York, &windows));
        // Tue Dec 1 00:10 New York: Monday's occurrence, not paused.
        assert!(!pause.takes_call(call_at("2026-12-01T05:10:00Z"), New_York, &windows));
        // With no window left, a call goes by its own start date.
        assert!(pause.takes_call(call_at("2026-12-01T05:10:00Z"), New_York, &[]));
        assert!(!pause.takes_call(call_at("2026-12-02T05:10:00Z"), New_York, &[]));
    }

    #[test]
    fn a_pause_reads_dates_in_the_mentors_zone_across_daylight_saving() {
        // New York falls back on Sun 2026-11-01: a 08:00 call is 13:00 UTC that
        // day and 12:00 UTC the day before.
        let window = WeeklyRange::new(
            Weekdays::ALL,
            LocalTime::from_hm(8, 0).unwrap(),
            LocalTime::from_hm(8, 30).unwrap(),
            New_York,
        )
        .unwrap();
        let pause = Pause::parse("2026-11-01", "2026-11-01").unwrap();
        assert!(pause.takes_call(call_at("2026-11-01T13:00:00Z"), New_York, &[window]));
        assert!(!pause.takes_call(call_at("2026-10-31T12:00:00Z"), New_York, &[window]));
        // Spring forward, Sun 2027-03-14: 08:00 EDT is 12:00 UTC.
        let pause = Pause::parse("2027-03-14", "2027-03-14").unwrap();
        assert!(pause.takes_call(call_at("2027-03-14T12:00:00Z"), New_York, &[window]));
        assert!(!pause.takes_call(call_at("2027-03-13T13:00:00Z"), New_York, &[window]));
    }

    #[test]
    fn pauses_are_inclusive_and_ordered() {
        let pause = Pause::parse("2026-12-21", "2027-01-03").unwrap();
        assert!(pause.contains(NaiveDate::from_ymd_opt(2026, 12, 21).unwrap()));
        assert!(pause.contains(NaiveDate::from_ymd_opt(2027, 1, 3).unwrap()));
        assert!(!pause.contains(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()));
        assert!(Pause::parse("2027-01-03", "2026-12-21").is_err());
        assert!(Pause::parse("2026-02-30", "2026-03-01").is_err());
        assert!(Pause::parse("2026-01-01", "2028-01-01").is_err());
        assert!(Pause::parse("+12000-01-01", "+12000-01-02").is_err());
        assert!(Pause::parse("-4800-01-01", "-4800-01-02").is_err());
        assert!(Pause::parse("0000-01-01", "0000-01-02").is_err());
    }
}
