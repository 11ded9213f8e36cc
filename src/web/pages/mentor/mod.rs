//! The mentor's pages: sign-in with a code sent by SMS, the dashboard (commute
//! windows, slot preview, call settings, pauses, calls) and the private calendar
//! feed.

pub mod calendar;
pub mod dashboard;
pub mod sign_in;

use axum::Router;

use crate::web::AppState;

/// The mentor's pages (behind the CSRF layer).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(sign_in::router())
        .merge(dashboard::router())
}
