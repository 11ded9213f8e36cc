//! Pure rules of the product: no database, no clock, no network. Time is passed in.
//!
//! Handlers and the CLI turn raw input into these types first ("parse, don't
//! validate"); everything after that works with values that are known to be valid.
//!
//! May not: touch the database, the clock, the network or the environment, or know
//! which door a value came through. Wording lives here only where it is the
//! product's own text (notices, consent wording), never an HTTP status or a page.

/// An enum of fixed strings: serde, OpenAPI, `Display` and `FromStr` all use the
/// exact strings given, which are part of the public contract.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The contract's string for this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::ValidationError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::ValidationError::new(
                        "status",
                        format!(
                            "'{text}' is not one of: {}",
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

pub mod call_back;
pub mod call_flow;
pub mod concurrency;
pub mod consent;
pub mod feedback;
pub mod follow_up;
pub mod hours;
pub mod matching;
pub mod mentor;
pub mod notices;
pub mod pause;
pub mod phone;
pub mod reminder;
pub mod request;
pub mod rest;
pub mod schedule;
pub mod status;
pub mod text;
pub mod weekly;
pub mod zones;

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
