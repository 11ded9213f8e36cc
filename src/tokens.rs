//! Bearer tokens: random, shown once, stored only as a SHA-256 hash.
//!
//! Tokens carry 256 bits from the operating system's generator, so a fast hash is
//! enough to keep a leaked database from yielding usable tokens; a slow password
//! hash would only slow every API call down.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of mentor API tokens, so a leaked one is recognisable.
pub const MENTOR_PREFIX: &str = "ram_";
/// Prefix of a seeker's manage token.
pub const MANAGE_PREFIX: &str = "rar_";

/// A new random token with `prefix`.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 of `token`, as stored.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The fingerprint of the admin token kept with each operator session, so that
/// changing the token ends the sessions it signed in. Domain-separated, so it is
/// not the hash an API bearer token would be stored under.
pub fn admin_key(admin_token: &str) -> String {
    hash(&format!("ridealong operator session\n{admin_token}"))
}

/// Compares two secrets without leaking where they differ through timing.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hash_stably() {
        let first = generate(MENTOR_PREFIX);
        let second = generate(MENTOR_PREFIX);
        assert!(first.starts_with(MENTOR_PREFIX));
        assert_ne!(first, second);
        assert_eq!(hash(&first), hash(&first));
        assert_eq!(hash(&first).len(), 64);
        assert!(same_secret(&first, &first));
        assert!(!same_secret(&first, &second));
    }
}
