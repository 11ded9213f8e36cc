//! `GET /metrics`: the process's Prometheus metrics, queue depths read from the
//! store at scrape time, in OpenMetrics text when the scraper asks for it and in
//! the classic Prometheus text format otherwise. No auth, like the health probes:
//! labels carry kinds and codes only.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use super::error::ApiError;
use crate::metrics::Format;

/// The `/metrics` route.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let depths = state.store.queue_depths(state.clock.now()).await?;
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        state.metrics.render(depths, format),
    ))
}
