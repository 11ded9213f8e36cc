//! A new mentor and a new commute window, parsed from raw input.

use chrono_tz::Tz;

use super::ValidationError;
use super::phone::PhoneNumber;
use super::schedule::{CALL_MINUTES_RANGE, DEFAULT_CALL_MINUTES, MAX_CALLS_PER_WINDOW_RANGE};
use super::text::{SHORT_TEXT_MAX, person_name, required_text};
use super::weekly::{LocalTime, Weekdays, WeeklyRange, parse_zone};

/// Most topics one mentor can list.
pub const MAX_TOPICS: usize = 20;

/// A mentor as an operator registers them.
#[derive(Clone, Debug)]
pub struct NewMentor {
    /// Display name.
    pub name: String,
    /// Where the calls ring.
    pub phone: PhoneNumber,
    /// Home zone: pauses are dates in it, and windows default to it.
    pub zone: Tz,
    /// What the mentor can help with, as typed.
    pub topics: Vec<String>,
    /// Length of one call.
    pub call_minutes: u32,
    /// Cap on calls per window occurrence; `None` uses every slot that fits.
    pub max_calls_per_window: Option<u32>,
}

/// The raw fields of a new mentor, as the API and the CLI receive them.
#[derive(Clone, Debug, Default)]
pub struct MentorInput<'a> {
    /// Display name.
    pub name: &'a str,
    /// Phone number, E.164 or national format.
    pub phone: &'a str,
    /// IANA zone name.
    pub timezone: &'a str,
    /// Topics.
    pub topics: &'a [String],
    /// Call length in minutes; default 15.
    pub call_minutes: Option<u32>,
    /// Cap on calls per window occurrence.
    pub max_calls_per_window: Option<u32>,
}

impl NewMentor {
    /// Checks every field; `default_region` reads national-format numbers when the
    /// zone has no country.
    pub fn parse(
        input: MentorInput<'_>,
        default_region: Option<&str>,
    ) -> Result<NewMentor, ValidationError> {
        let name = person_name(input.name)?;
        let zone = parse_zone("timezone", input.timezone)?;
        let phone = PhoneNumber::parse("phone", input.phone, zone, default_region)?;
        let topics = parse_topics(input.topics)?;
        let settings = CallSettings::parse(input.call_minutes, input.max_calls_per_window)?;
        Ok(NewMentor {
            name,
            phone,
            zone,
            topics,
            call_minutes: settings.call_minutes,
            max_calls_per_window: settings.max_calls_per_window,
        })
    }
}

/// How long a mentor's calls are and how many fit in one window occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSettings {
    /// Length of one call, in minutes.
    pub call_minutes: u32,
    /// Cap on calls per window occurrence; `None` uses every slot that fits.
    pub max_calls_per_window: Option<u32>,
}

impl CallSettings {
    /// Checks both numbers; a missing call length is the default 15 minutes.
    pub fn parse(
        call_minutes: Option<u32>,
        max_calls_per_window: Option<u32>,
    ) -> Result<CallSettings, ValidationError> {
        let call_minutes = call_minutes.unwrap_or(DEFAULT_CALL_MINUTES);
        if !CALL_MINUTES_RANGE.contains(&call_minutes) {
            return Err(ValidationError::new(
                "call_minutes",
                format!(
                    "must be between {} and {}",
                    CALL_MINUTES_RANGE.start(),
                    CALL_MINUTES_RANGE.end()
                ),
            ));
        }
        if let Some(cap) = max_calls_per_window
            && !MAX_CALLS_PER_WINDOW_RANGE.contains(&cap)
        {
            return Err(ValidationError::new(
                "max_calls_per_window",
                format!(
                    "must be between {} and {}",
                    MAX_CALLS_PER_WINDOW_RANGE.start(),
                    MAX_CALLS_PER_WINDOW_RANGE.end()
                ),
            ));
        }
        Ok(CallSettings {
            call_minutes,
            max_calls_per_window,
        })
    }

    /// Refuses a call length that no longer fits in one of `windows`: such a
    /// window would silently never be used.
    pub fn fits(&self, windows: &[WeeklyRange]) -> Result<(), ValidationError> {
        match windows
            .iter()
            .find(|window| window.nominal_minutes() < i64::from(self.call_minutes))
        {
            Some(window) => Err(ValidationError::new(
                "call_minutes",
                format!(
                    "your {}–{} window is shorter than a {}-minute call; remove it first or choose a shorter call",
                    window.start(),
                    window.end(),
                    self.call_minutes
                ),
            )),
            None => Ok(()),
        }
    }
}

fn parse_topics(topics: &[String]) -> Result<Vec<String>, ValidationError> {
    if topics.len() > MAX_TOPICS {
        return Err(ValidationError::new(
            "topics",
            format!("at most {MAX_TOPICS} topics"),
        ));
    }
    let mut parsed: Vec<String> = Vec::with_capacity(topics.len());
    for topic in topics {
        let topic = required_text("topics", topic, SHORT_TEXT_MAX, false)?;
        if !parsed.iter().any(|seen| seen.eq_ignore_ascii_case(&topic)) {
            parsed.push(topic);
        }
    }
    Ok(parsed)
}

/// The raw fields of a weekly range: commute window or seeker availability.
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeInput<'a> {
    /// Weekday names.
    pub weekdays: &'a [String],
    /// Local start, HH:MM.
    pub start: &'a str,
    /// Local end, HH:MM; before `start` crosses midnight.
    pub end: &'a str,
    /// IANA zone; defaults to the owner's.
    pub timezone: Option<&'a str>,
}

/// Parses a weekly range, reading times in `timezone` or else `default_zone`.
pub fn parse_range(
    input: RangeInput<'_>,
    default_zone: Tz,
) -> Result<WeeklyRange, ValidationError> {
    let weekdays = Weekdays::parse(input.weekdays)?;
    let start = LocalTime::parse("start", input.start)?;
    let end = LocalTime::parse("end", input.end)?;
    let zone = match input.timezone {
        Some(name) => parse_zone("timezone", name)?,
        None => default_zone,
    };
    WeeklyRange::new(weekdays, start, end, zone)
}

/// Parses a commute window for a mentor whose calls last `call_minutes`; a window
/// too short to hold one call is refused rather than silently never used.
pub fn parse_window(
    input: RangeInput<'_>,
    mentor_zone: Tz,
    call_minutes: u32,
) -> Result<WeeklyRange, ValidationError> {
    let window = parse_range(input, mentor_zone)?;
    if window.nominal_minutes() < i64::from(call_minutes) {
        return Err(ValidationError::new(
            "end",
            format!("the window is shorter than one {call_minutes}-minute call"),
        ));
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(topics: &'a [String]) -> MentorInput<'a> {
        MentorInput {
            name: "Grace Hopper",
            phone: "+12015550123",
            timezone: "America/New_York",
            topics,
            ..MentorInput::default()
        }
    }

    #[test]
    fn defaults_apply_and_duplicate_topics_collapse() {
        let topics = vec![
            "Rust".to_owned(),
            "rust".to_owned(),
            "Interviews".to_owned(),
        ];
        let mentor = NewMentor::parse(input(&topics), None).unwrap();
        assert_eq!(mentor.call_minutes, DEFAULT_CALL_MINUTES);
        assert_eq!(mentor.max_calls_per_window, None);
        assert_eq!(mentor.topics, vec!["Rust", "Interviews"]);
    }

    #[test]
    fn out_of_range_numbers_are_rejected() {
        let topics = vec![];
        let short = MentorInput {
            call_minutes: Some(2),
            ..input(&topics)
        };
        assert_eq!(
            NewMentor::parse(short, None).unwrap_err().field,
            "call_minutes"
        );
        let none = MentorInput {
            max_calls_per_window: Some(0),
            ..input(&topics)
        };
        assert_eq!(
            NewMentor::parse(none, None).unwrap_err().field,
            "max_calls_per_window"
        );
    }

    #[test]
    fn a_window_shorter_than_a_call_is_refused() {
        let days = vec!["mon".to_owned()];
        let range = RangeInput {
            weekdays: &days,
            start: "07:30",
            end: "07:40",
            timezone: None,
        };
        assert!(parse_window(range, chrono_tz::UTC, 15).is_err());
        let range = RangeInput {
            end: "07:45",
            ..range
        };
        assert!(parse_window(range, chrono_tz::UTC, 15).is_ok());
    }
}
