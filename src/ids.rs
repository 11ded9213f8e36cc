//! Typed row ids: one newtype over `i64` per table whose id travels beside
//! another id, so that `delete_window(mentor_id, window_id)` does not compile
//! with its arguments swapped.
//!
//! Each id is as cheap as the `i64` it wraps and looks exactly like it from the
//! outside: serde and sqlx see the bare number (`transparent`), `Display` prints
//! the bare number, and `FromStr` parses it (clap arguments, callback URLs).
//! Log fields take the number itself (`call.id = call_id.0`), so JSON logs keep
//! it a number. The OpenAPI document describes an id field as the integer it is
//! with `#[schema(value_type = i64)]` at the field: the ids deliberately do not
//! implement `ToSchema`, so a field without it fails to compile instead of
//! growing a `$ref` in the published document.
//!
//! Swapped ids are a type error:
//!
//! ```compile_fail,E0308
//! # use ridealong::ids::{MentorId, WindowId};
//! # async fn swapped(store: &ridealong::store::Store, mentor: MentorId, window: WindowId) {
//! store.delete_window(window, mentor).await;
//! # }
//! ```
//!
//! Not here: what an id means or where it may be used (the store and service
//! own that), and ids that never sit beside another one (sessions, codes).

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

/// Defines one id newtype per documented name, all with the same derives and
/// impls (see the module doc).
macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug,
            serde::Serialize, serde::Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;
            fn from_str(text: &str) -> Result<Self, ParseIntError> {
                text.parse().map($name)
            }
        }
    )+};
}

ids! {
    /// A mentor (`mentors.id`).
    MentorId;
    /// A mentor's commute window (`commute_windows.id`).
    WindowId;
    /// A mentor's pause (`pauses.id`).
    PauseId;
    /// A seeker's request (`requests.id`).
    RequestId;
    /// A booked call (`calls.id`); callback URLs carry it.
    CallId;
    /// A queued text message to a mentor or seeker (`notifications.id`).
    NoticeId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_and_writes_as_its_bare_number() {
        let id = CallId(42);
        assert_eq!(id.to_string(), "42");
        assert_eq!("42".parse::<CallId>(), Ok(id));
        assert!("4x".parse::<CallId>().is_err());
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<CallId>("42").unwrap(), id);
    }
}
