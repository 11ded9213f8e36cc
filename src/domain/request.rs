//! A seeker's request for a call, parsed from raw input.

use chrono_tz::Tz;

use super::ValidationError;
use super::mentor::{RangeInput, parse_range};
use super::phone::PhoneNumber;
use super::text::{MESSAGE_MAX, SHORT_TEXT_MAX, person_name, required_text};
use super::weekly::{WeeklyRange, parse_zone};

/// Most availability ranges one request can state.
pub const MAX_AVAILABILITY_RANGES: usize = 28;

/// A seeker's request, every field checked.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// Display name; the mentor hears only the first word.
    pub name: String,
    /// The number the call goes to.
    pub phone: PhoneNumber,
    /// The seeker's zone: calling hours and availability are read in it.
    pub zone: Tz,
    /// What the call is about, in a few words.
    pub topic: String,
    /// What the seeker could use help with.
    pub message: String,
    /// When the seeker can take a call; empty means weekdays within calling hours.
    pub availability: Vec<WeeklyRange>,
}

/// The raw fields of a new request.
#[derive(Clone, Debug, Default)]
pub struct RequestInput<'a> {
    /// Display name.
    pub name: &'a str,
    /// Phone number, E.164 or national format.
    pub phone: &'a str,
    /// IANA zone name.
    pub timezone: &'a str,
    /// Topic.
    pub topic: &'a str,
    /// Message.
    pub message: &'a str,
    /// Availability ranges (their `timezone` is ignored: always the seeker's).
    pub availability: Vec<RangeInput<'a>>,
    /// Whether the seeker agreed to be called and texted.
    pub consent: bool,
}

impl NewRequest {
    /// Checks every field; `default_region` reads national-format numbers when the
    /// zone has no country.
    pub fn parse(
        input: RequestInput<'_>,
        default_region: Option<&str>,
    ) -> Result<NewRequest, ValidationError> {
        let name = person_name(input.name)?;
        let zone = parse_zone("timezone", input.timezone)?;
        let phone = PhoneNumber::parse("phone", input.phone, zone, default_region)?;
        let topic = required_text("topic", input.topic, SHORT_TEXT_MAX, false)?;
        let message = required_text("message", input.message, MESSAGE_MAX, true)?;
        if input.availability.len() > MAX_AVAILABILITY_RANGES {
            return Err(ValidationError::new(
                "availability",
                format!("at most {MAX_AVAILABILITY_RANGES} ranges"),
            ));
        }
        let availability = input
            .availability
            .into_iter()
            .enumerate()
            .map(|(index, range)| {
                parse_range(
                    RangeInput {
                        timezone: None,
                        ..range
                    },
                    zone,
                )
                .map_err(|error| error.within(&format!("availability[{index}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !input.consent {
            return Err(ValidationError::new(
                "consent",
                "must be true: we can only call and text a number whose owner agreed",
            ));
        }
        Ok(NewRequest {
            name,
            phone,
            zone,
            topic,
            message,
            availability,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RequestInput<'static> {
        RequestInput {
            name: "Ada",
            phone: "(201) 555-0123",
            timezone: "America/New_York",
            topic: "first job in data",
            message: "I have sent 80 applications and heard nothing back.",
            availability: vec![],
            consent: true,
        }
    }

    #[test]
    fn a_complete_request_parses() {
        let request = NewRequest::parse(input(), None).unwrap();
        assert_eq!(request.phone.as_str(), "+12015550123");
    }

    #[test]
    fn consent_is_required() {
        let error = NewRequest::parse(
            RequestInput {
                consent: false,
                ..input()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(error.field, "consent");
    }

    #[test]
    fn availability_errors_name_the_range() {
        let days = ["mon".to_owned()];
        let bad = RangeInput {
            weekdays: &days,
            start: "09:00",
            end: "09:00",
            timezone: None,
        };
        let error = NewRequest::parse(
            RequestInput {
                availability: vec![bad],
                ..input()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(error.field, "availability[0].end");
    }

    #[test]
    fn an_overlong_message_is_rejected() {
        let long = "x".repeat(MESSAGE_MAX + 1);
        let error = NewRequest::parse(
            RequestInput {
                message: &long,
                ..input()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(error.field, "message");
    }
}
