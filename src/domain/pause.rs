//! Pauses: inclusive date ranges, in the mentor's zone, on which no calls happen.

use chrono::NaiveDate;

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
        let date = |field: &'static str, text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                ValidationError::new(field, format!("'{text}' is not a date; use YYYY-MM-DD"))
            })
        };
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
    }
}
