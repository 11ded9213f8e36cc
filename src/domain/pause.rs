//! Pauses: inclusive date ranges, in the mentor's zone, on which no calls happen.

use chrono::{Datelike, NaiveDate};

use super::ValidationError;

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
