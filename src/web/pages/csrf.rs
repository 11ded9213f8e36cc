//! Cross-site request forgery protection for every form: a double-submit token
//! plus the browser's fetch metadata.
//!
//! [`issue_token`] gives every browser a random token in a `SameSite=Strict`,
//! HttpOnly cookie and hands it to the page as [`CsrfToken`]; forms carry it in a
//! hidden field. [`CsrfForm`] accepts a post only when the field equals the cookie
//! and the browser does not say the post came from another site. A page on another
//! site can neither read the cookie nor make the browser send it.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::PageError;
use crate::tokens;
use crate::web::AppState;
use crate::web::error::BODY_LIMIT_BYTES;

/// A form with nothing but its CSRF token: a button (sign out, cancel, remove a
/// pause, ask for a new code).
#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

/// The cookie holding the browser's CSRF token.
pub const COOKIE: &str = "ridealong_csrf";
/// The form field carrying it back.
pub const FIELD: &str = "csrf";

/// This browser's CSRF token, for the hidden field of every form on the page.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Middleware: reads the browser's token from its cookie, or makes one and sets
/// the cookie on the response.
pub async fn issue_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = CookieJar::from_headers(request.headers())
        .get(COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| well_formed(value));
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (tokens::generate(""), true),
    };
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if fresh {
        let cookie = Cookie::build((COOKIE, token))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(state.settings.secure_cookies)
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// A token we could have issued: 43 URL-safe base64 characters.
fn well_formed(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CsrfToken>().cloned().ok_or_else(|| {
            PageError::Internal(anyhow::anyhow!("page route without the CSRF layer"))
        })
    }
}

/// A form post (`application/x-www-form-urlencoded`, repeated keys allowed for
/// checkboxes) that passed the CSRF check, with the token that checked it.
#[derive(Debug)]
pub struct CsrfForm<T> {
    /// The form's fields.
    pub form: T,
    /// The browser's token, for re-rendering the form after an error.
    pub token: CsrfToken,
}

#[derive(Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let token = CsrfToken::from_request_parts(&mut parts, state).await?;
        if !same_origin_by_fetch_metadata(&parts) {
            return Err(PageError::FormExpired);
        }
        let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
            .await
            .map_err(|_| PageError::BadRequest("The form is too large to send.".to_owned()))?;
        let sent: TokenField =
            serde_html_form::from_bytes(&bytes).map_err(|_| PageError::FormExpired)?;
        if !tokens::same_secret(&sent.csrf, token.as_str()) {
            return Err(PageError::FormExpired);
        }
        let form = serde_html_form::from_bytes(&bytes).map_err(|error| {
            PageError::BadRequest(format!(
                "The form could not be read ({error}). Please reload the page and try again."
            ))
        })?;
        Ok(CsrfForm { form, token })
    }
}

/// Browsers say where a request came from in `Sec-Fetch-Site`; a post from another
/// site (or a sibling subdomain) is refused. Browsers too old to send it are left
/// to the token check.
fn same_origin_by_fetch_metadata(parts: &Parts) -> bool {
    match parts.headers.get("sec-fetch-site") {
        None => true,
        Some(value) => matches!(value.as_bytes(), b"same-origin" | b"none"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_we_issue_are_taken_from_the_cookie() {
        assert!(well_formed(&tokens::generate("")));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}=", &tokens::generate("")[..42])));
    }
}
