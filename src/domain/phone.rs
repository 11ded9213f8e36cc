//! Phone numbers, parsed with libphonenumber's data (the `phonenumber` crate) and
//! kept in E.164. A number typed in national format takes its country from the
//! person's time zone, or else from the deployment's default region.

use std::fmt;

use chrono_tz::Tz;
use phonenumber::country;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type};

use super::ValidationError;
use super::zones::country_of;

/// Short codes that reach emergency services somewhere; they are never dialed.
const EMERGENCY_NUMBERS: &[&str] = &[
    "000", "100", "101", "102", "108", "110", "112", "118", "119", "122", "15", "17", "18", "190",
    "192", "193", "199", "911", "999",
];

/// A callable phone number in E.164 form (`+14155550123`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `text` as typed by a person. A number without a `+` country prefix is
    /// read in the country of `zone`, or of `default_region` (ISO 3166 code) when the
    /// zone has none. Invalid, premium-rate and emergency numbers are rejected.
    pub fn parse(
        field: &'static str,
        text: &str,
        zone: Tz,
        default_region: Option<&str>,
    ) -> Result<PhoneNumber, ValidationError> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if EMERGENCY_NUMBERS.contains(&digits.as_str()) {
            return Err(ValidationError::new(
                field,
                "emergency numbers cannot be used",
            ));
        }
        let region = country_of(zone)
            .or(default_region)
            .and_then(|code| code.parse::<country::Id>().ok());
        let number = phonenumber::parse(region, text.trim()).map_err(|_| {
            let hint = if region.is_none() && !text.trim_start().starts_with('+') {
                "; add the country code, e.g. +44 20 7946 0958"
            } else {
                ""
            };
            ValidationError::new(field, format!("is not a phone number{hint}"))
        })?;
        if EMERGENCY_NUMBERS.contains(&number.national().value().to_string().as_str()) {
            return Err(ValidationError::new(
                field,
                "emergency numbers cannot be used",
            ));
        }
        if number.extension().is_some() {
            return Err(ValidationError::new(
                field,
                "extensions cannot be dialed; give a direct number",
            ));
        }
        // Not `number_type(..) == Unknown` instead, though it would save a walk
        // over the descriptors: `number_type` drops a national number's leading
        // zeros (Italy's, the international networks'), `is_valid` keeps them.
        if !number.is_valid() {
            return Err(ValidationError::new(field, "is not a valid phone number"));
        }
        match number.number_type(&DATABASE) {
            Type::PremiumRate | Type::SharedCost => Err(ValidationError::new(
                field,
                "premium-rate and shared-cost numbers cannot be used",
            )),
            Type::Pager | Type::Voicemail => Err(ValidationError::new(
                field,
                "pager and voicemail numbers cannot take a call",
            )),
            _ => Ok(PhoneNumber(number.format().mode(Mode::E164).to_string())),
        }
    }

    /// Wraps a number that was validated before it was stored.
    pub fn from_stored(e164: String) -> PhoneNumber {
        PhoneNumber(e164)
    }

    /// Whether `text` has the shape of an E.164 number (`+` and 8 to 15 digits),
    /// as providers send them in webhooks.
    pub fn looks_like_e164(text: &str) -> bool {
        text.strip_prefix('+').is_some_and(|digits| {
            (8..=15).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit())
        })
    }

    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never prints the number: phone numbers stay out of logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn e164_shapes_are_told_apart() {
        assert!(super::PhoneNumber::looks_like_e164("+14155550123"));
        assert!(!super::PhoneNumber::looks_like_e164("14155550123"));
        assert!(!super::PhoneNumber::looks_like_e164("+1415"));
        assert!(!super::PhoneNumber::looks_like_e164("+1415555a123"));
        assert!(!super::PhoneNumber::looks_like_e164("client:alice"));
    }

    use super::*;
    use chrono_tz::{America, Europe, UTC};

    fn parse(text: &str, zone: Tz) -> Result<String, ValidationError> {
        PhoneNumber::parse("phone", text, zone, None).map(|n| n.0)
    }

    #[test]
    fn national_format_takes_the_country_of_the_time_zone() {
        assert_eq!(
            parse("(201) 555-0123", America::New_York).unwrap(),
            "+12015550123"
        );
        assert_eq!(
            parse("020 7946 0958", Europe::London).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            parse("+44 20 7946 0958", America::Chicago).unwrap(),
            "+442079460958"
        );
    }

    #[test]
    fn a_zone_without_a_country_falls_back_to_the_default_region() {
        assert!(parse("(201) 555-0123", UTC).is_err());
        let number = PhoneNumber::parse("phone", "(201) 555-0123", UTC, Some("US")).unwrap();
        assert_eq!(number.as_str(), "+12015550123");
    }

    #[test]
    fn invalid_premium_and_emergency_numbers_are_rejected() {
        assert!(parse("12", America::New_York).is_err());
        assert!(parse("not a number", America::New_York).is_err());
        assert!(parse("+1 201 555 01", America::New_York).is_err());
        let premium = parse("+1 900 555 0123", America::New_York).unwrap_err();
        assert!(premium.message.contains("premium"), "{premium}");
        let premium_uk = parse("09065 123456", Europe::London).unwrap_err();
        assert!(premium_uk.message.contains("premium"), "{premium_uk}");
        let extension = parse("+1 201 555 0123 ext. 5", America::New_York).unwrap_err();
        assert!(extension.message.contains("extension"), "{extension}");
        for emergency in ["911", "112", "999", "+1 911"] {
            let error = parse(emergency, America::New_York).unwrap_err();
            assert!(error.message.contains("emergency"), "{emergency}: {error}");
        }
    }

    #[test]
    fn numbers_with_a_leading_zero_are_judged_with_it() {
        // Rome: valid only with its leading zero.
        assert_eq!(parse("+39 06 6988 1234", UTC).unwrap(), "+390669881234");
        // An international network's number whose type is known without its
        // leading zero, but which is not valid with it.
        let error = parse("+882 01000000000", UTC).unwrap_err();
        assert_eq!(error.message, "is not a valid phone number");
    }

    proptest::proptest! {
        /// A number libphonenumber's own validity check refuses is refused (as
        /// invalid, or earlier: an emergency short code behind a leading zero,
        /// say), and one it accepts is never refused as invalid.
        #[test]
        fn validity_is_libphonenumbers(
            code in proptest::sample::select(vec!["1", "39", "44", "49", "33", "81", "61", "55", "91", "7", "358", "262", "599", "882"]),
            digits in "[0-9]{4,13}",
        ) {
            let text = format!("+{code}{digits}");
            let Ok(number) = phonenumber::parse(None, &text) else {
                return Ok(());
            };
            let parsed = parse(&text, UTC);
            if number.is_valid() {
                proptest::prop_assert!(
                    !matches!(&parsed, Err(error) if error.message == "is not a valid phone number"),
                    "{} is valid", text
                );
            } else {
                proptest::prop_assert!(parsed.is_err(), "{} is not valid", text);
            }
        }
    }

    #[test]
    fn an_emergency_code_behind_a_leading_zero_is_refused_as_one() {
        let error = parse("+39 0112", UTC).unwrap_err();
        assert!(error.message.contains("emergency"), "{error}");
    }

    #[test]
    fn debug_output_hides_the_number() {
        let number = parse("+12015550123", America::New_York).unwrap();
        let number = PhoneNumber(number);
        assert!(!format!("{number:?}").contains("555"));
    }
}
