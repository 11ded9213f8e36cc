//! `X-Twilio-Signature`: HMAC-SHA1 over the URL Twilio requested and the sorted
//! form parameters, keyed with the auth token, base64-encoded.
//!
//! The URL is the one Twilio was given, built from `RIDEALONG_PUBLIC_URL`, never
//! from the Host header. Twilio is inconsistent about explicit default ports, so a
//! signature is accepted when it matches the URL as built, without its port, or
//! with `:443`/`:80` added — the variants Twilio's own libraries accept.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The signature of a form POST to `url` with `params`, or of a GET (no params).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in params {
        grouped.entry(name).or_default().push(value);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(url.as_bytes());
    for (name, mut values) in grouped {
        values.sort_unstable();
        values.dedup();
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `given` signs a form POST to `url` with `params`, allowing the port
/// variants described in the module docs. Compares in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    url_variants(url)
        .iter()
        .any(|candidate| crate::tokens::same_secret(&sign(auth_token, candidate, params), given))
}

/// Whether `given` signs a JSON `body` posted to `url`, whose `bodySHA256` query
/// parameter must be the body's hex SHA-256.
pub fn verify_json(auth_token: &str, url: &str, body: &[u8], given: &str) -> bool {
    let expected = hex::encode(Sha256::digest(body));
    let carried = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("bodySHA256="));
    carried.is_some_and(|hash| crate::tokens::same_secret(hash, &expected))
        && verify(auth_token, url, &[], given)
}

/// `url` as given, without an explicit port, and with the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some(scheme_end) = url.find("://") else {
        return variants;
    };
    let scheme = &url[..scheme_end];
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    // An IPv6 literal's colons are inside brackets; a port follows the last ']'.
    let port_start = host_port
        .rfind(':')
        .filter(|&colon| !host_port[colon..].contains(']'));
    let host = port_start.map_or(host_port, |colon| &host_port[..colon]);
    let rebuild = |port: &str| format!("{scheme}://{userinfo}{host}{port}{tail}");
    if port_start.is_some() {
        variants.push(rebuild(""));
    } else {
        match scheme {
            "https" => variants.push(rebuild(":443")),
            "http" => variants.push(rebuild(":80")),
            _ => {}
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_variants_add_or_remove_the_port() {
        assert_eq!(
            url_variants("https://example.com/a?b=1"),
            vec!["https://example.com/a?b=1", "https://example.com:443/a?b=1"]
        );
        assert_eq!(
            url_variants("http://example.com:8080/a"),
            vec!["http://example.com:8080/a", "http://example.com/a"]
        );
        assert_eq!(
            url_variants("http://u:p@[::1]:80/x"),
            vec!["http://u:p@[::1]:80/x", "http://u:p@[::1]/x"]
        );
    }

    #[test]
    fn a_changed_parameter_breaks_the_signature() {
        let params = vec![("Digits".to_owned(), "1".to_owned())];
        let signature = sign("secret", "https://example.com/x", &params);
        assert!(verify(
            "secret",
            "https://example.com/x",
            &params,
            &signature
        ));
        let forged = vec![("Digits".to_owned(), "2".to_owned())];
        assert!(!verify(
            "secret",
            "https://example.com/x",
            &forged,
            &signature
        ));
        assert!(!verify(
            "other",
            "https://example.com/x",
            &params,
            &signature
        ));
    }
}
