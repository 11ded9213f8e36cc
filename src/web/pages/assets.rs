//! The stylesheet and the progressive-enhancement script, compiled into the binary
//! so a single file is the whole service.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::web::AppState;

/// The site's stylesheet.
pub const STYLESHEET: &str = include_str!("../../../assets/site.css");
/// The site's only script: enhancements that every page works without.
pub const SCRIPT: &str = include_str!("../../../assets/site.js");

/// `/assets/site.css` and `/assets/site.js`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/site.css", get(stylesheet))
        .route("/assets/site.js", get(script))
}

/// Assets change only with a new release; an hour of caching is safe and enough.
const CACHE: &str = "public, max-age=3600";

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLESHEET,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
}
