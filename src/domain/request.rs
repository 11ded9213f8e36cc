//! A seeker's request for a call, parsed from raw input.

use chrono_tz::Tz;

use super::ValidationError;
use super::hours::CallingHours;
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
    /// The deployment's calling hours: a range wholly outside them is refused,
    /// as no call could ever be placed in it.
    pub calling_hours: CallingHours,
}

impl NewRequest {
    /// Checks every field; `default_region` reads national-format numbers when the
    /// zone has no country. Answers the first error, in field order.
    pub fn parse(
        input: RequestInput<'_>,
        default_region: Option<&str>,
    ) -> Result<NewRequest, ValidationError> {
        NewRequest::check(input, default_region).map_err(|errors| {
            errors
                .into_iter()
                .next()
                .unwrap_or_else(|| ValidationError::new("body", "is not a valid request"))
        })
    }

    /// Like [`NewRequest::parse`], but answers every error at once (never an
    /// empty list), in field order, so a form can mark all its fields in one go.
    pub fn check(
        input: RequestInput<'_>,
        default_region: Option<&str>,
    ) -> Result<NewRequest, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let name = keep(&mut errors, person_name(input.name));
        let zone = keep(&mut errors, parse_zone("timezone", input.timezone));
        // A number in national format is read in the zone's country, so it can
        // only be checked once the zone is known.
        let phone = zone.and_then(|zone| {
            keep(
                &mut errors,
                PhoneNumber::parse("phone", input.phone, zone, default_region),
            )
        });
        let topic = keep(
            &mut errors,
            required_text("topic", input.topic, SHORT_TEXT_MAX, false),
        );
        let message = keep(
            &mut errors,
            required_text("message", input.message, MESSAGE_MAX, true),
        );
        let mut availability = Vec::with_capacity(input.availability.len());
        if input.availability.len() > MAX_AVAILABILITY_RANGES {
            errors.push(ValidationError::new(
                "availability",
                format!("at most {MAX_AVAILABILITY_RANGES} ranges"),
            ));
        } else {
            for (index, range) in input.availability.into_iter().enumerate() {
                let field = format!("availability[{index}]");
                let parsed = parse_range(
                    RangeInput {
                        timezone: None,
                        ..range
                    },
                    zone.unwrap_or(Tz::UTC),
                )
                .map_err(|error| error.within(&field))
                .and_then(|range| within_calling_hours(range, input.calling_hours, field));
                availability.extend(keep(&mut errors, parsed));
            }
        }
        if !input.consent {
            errors.push(ValidationError::new(
                "consent",
                "must be true: we can only call and text a number whose owner agreed",
            ));
        }
        match (name, zone, phone, topic, message) {
            (Some(name), Some(zone), Some(phone), Some(topic), Some(message))
                if errors.is_empty() =>
            {
                // Ranges were read in a placeholder zone only when the zone was
                // missing, and then `zone` is `None` and this arm is not taken.
                Ok(NewRequest {
                    name,
                    phone,
                    zone,
                    topic,
                    message,
                    availability,
                })
            }
            _ => Err(errors),
        }
    }
}

/// `range` (the request's `field`) when calls could be placed in it, else why not.
fn within_calling_hours(
    range: WeeklyRange,
    hours: CallingHours,
    field: String,
) -> Result<WeeklyRange, ValidationError> {
    if hours.overlaps(range.start(), range.end()) {
        return Ok(range);
    }
    Err(ValidationError::new(
        field,
        format!(
            "is wholly outside calling hours ({}-{} in the seeker's zone): no call could \
             ever be placed in it",
            hours.start(),
            hours.end()
        ),
    ))
}

/// `result`'s value, or `None` with its error added to `errors`.
fn keep<T>(errors: &mut Vec<ValidationError>, result: Result<T, ValidationError>) -> Option<T> {
    result.map_err(|error| errors.push(error)).ok()
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
            calling_hours: CallingHours::WIDEST,
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
    fn a_range_wholly_outside_calling_hours_is_refused_by_name() {
        let days = ["sat".to_owned()];
        let range = |start: &'static str, end: &'static str| RangeInput {
            weekdays: &days,
            start,
            end,
            timezone: None,
        };
        let hours = CallingHours::parse("09:00-20:00").unwrap();
        let error = NewRequest::parse(
            RequestInput {
                availability: vec![range("10:00", "12:00"), range("20:00", "23:00")],
                calling_hours: hours,
                ..input()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(error.field, "availability[1]");
        assert!(error.message.contains("09:00-20:00"), "{}", error.message);
        // Overlapping them by a little is enough: the call fits the overlap or not
        // at matching time, like any other range.
        let request = NewRequest::parse(
            RequestInput {
                availability: vec![range("19:00", "23:00")],
                calling_hours: hours,
                ..input()
            },
            None,
        )
        .unwrap();
        assert_eq!(request.availability.len(), 1);
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

    #[test]
    fn check_reports_every_field_at_fault_in_order() {
        let days = ["mon".to_owned()];
        let bad = RangeInput {
            weekdays: &days,
            start: "9am",
            end: "10:00",
            timezone: None,
        };
        let errors = NewRequest::check(
            RequestInput {
                name: " ",
                topic: "",
                availability: vec![bad],
                consent: false,
                ..input()
            },
            None,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_ref()).collect();
        assert_eq!(
            fields,
            ["name", "topic", "availability[0].start", "consent"]
        );
        let first = NewRequest::parse(
            RequestInput {
                name: " ",
                topic: "",
                ..input()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(first.field, "name");
    }
}
