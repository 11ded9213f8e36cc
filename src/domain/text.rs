//! Free-text inputs with their limits: names and topics up to 100 characters,
//! messages up to 4,000. Limits count characters, not bytes.

use super::ValidationError;

/// Longest name or topic, in characters.
pub const SHORT_TEXT_MAX: usize = 100;
/// Longest seeker message, in characters.
pub const MESSAGE_MAX: usize = 4_000;

/// Trims `text` and checks it is non-empty, at most `max` characters and free of
/// control characters (newlines and tabs are allowed only when `multiline`).
pub fn required_text(
    field: &'static str,
    text: &str,
    max: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let length = text.chars().count();
    if length > max {
        return Err(ValidationError::new(
            field,
            format!("is {length} characters long; the limit is {max}"),
        ));
    }
    let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(ValidationError::new(field, "contains control characters"));
    }
    Ok(text.to_owned())
}

/// A person's display name, 1–100 characters.
pub fn person_name(text: &str) -> Result<String, ValidationError> {
    required_text("name", text, SHORT_TEXT_MAX, false)
}

/// The first word of a name, which is all the other party is told.
pub fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_not_bytes() {
        let hundred_accents = "é".repeat(100);
        assert!(required_text("name", &hundred_accents, SHORT_TEXT_MAX, false).is_ok());
        assert!(required_text("name", &"é".repeat(101), SHORT_TEXT_MAX, false).is_err());
    }

    #[test]
    fn blank_and_control_characters_are_rejected() {
        assert!(required_text("name", "   ", 10, false).is_err());
        assert!(required_text("name", "a\0b", 10, false).is_err());
        assert!(required_text("name", "a\nb", 10, false).is_err());
        assert_eq!(
            required_text("message", " a\nb ", 10, true).unwrap(),
            "a\nb"
        );
    }

    #[test]
    fn first_name_is_the_first_word() {
        assert_eq!(first_name("Ada  Lovelace"), "Ada");
        assert_eq!(first_name("Cher"), "Cher");
    }
}
