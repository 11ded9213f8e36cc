//! Server-rendered pages for seekers, mentors and the operator.
//!
//! Pages are HTML built with `maud` (every interpolated value is escaped), forms
//! that work without JavaScript, and a small script for progressive enhancement.
//! Every page response carries a strict Content-Security-Policy and is not cached;
//! every form post is checked against a CSRF token ([`csrf`]). Signed-in mentors
//! and the operator are recognised by a session cookie ([`session`]).
//!
//! May not: import an API handler or [`crate::web::error::ApiError`]; changes go
//! through [`crate::service`], and the pages say in their own words (whole sentences,
//! next to the field) what a refused change means.

pub mod assets;
pub mod csrf;
pub mod error;
pub mod home;
pub mod layout;
pub mod mentor;
pub mod operator;
pub mod seeker;
pub mod session;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;

use super::AppState;

/// The policy every page is served under: only our own styles and script, no
/// inline code, no framing, forms post only back to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Every page route, behind the security headers and the CSRF cookie.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(mentor::router())
        .merge(seeker::router())
        .merge(operator::router())
        .layer(middleware::from_fn_with_state(state, csrf::issue_token))
        .layer(middleware::from_fn(security_headers))
        .merge(assets::router())
        .merge(mentor::calendar::router())
}

/// Adds the headers every HTML page needs, unless the handler set its own.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Manage links and calendar feeds carry tokens in the path: never send
        // them to another site as a referrer.
        (header::REFERRER_POLICY, "no-referrer"),
        // Pages show personal data: no shared cache may keep them.
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
