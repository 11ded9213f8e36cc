//! Pure rules of the product: no database, no clock, no network. Time is passed in.
//!
//! Handlers and the CLI turn raw input into these types first ("parse, don't
//! validate"); everything after that works with values that are known to be valid.

pub mod hours;
pub mod matching;
pub mod mentor;
pub mod pause;
pub mod phone;
pub mod request;
pub mod schedule;
pub mod status;
pub mod text;
pub mod weekly;
mod zones;

use std::borrow::Cow;

/// Input that breaks a rule, with the field it concerns. The API answers it with 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The input field at fault, as the API names it.
    pub field: Cow<'static, str>,
    /// What is wrong and how to fix it, for a person.
    pub message: String,
}

impl ValidationError {
    /// An error about `field`.
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error reported under a longer path, e.g. `availability[2].start`.
    pub fn within(self, prefix: &str) -> Self {
        ValidationError {
            field: format!("{prefix}.{}", self.field).into(),
            message: self.message,
        }
    }
}
