//! HTTP: one router per area (pages, JSON API, provider webhooks, health), merged
//! here with the layers every request goes through.
//!
//! Lives here: the doors over HTTP only: the JSON API, the pages, the provider's
//! webhooks, health probes and /metrics, with their extractors, errors, auth and
//! abuse limits. May not: hold a use case. A change to data goes through
//! [`crate::service`]; a door reads the store directly only to show what it asked for.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderMap, Request, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::domain::matching::MatchPolicy;
use crate::metrics::Metrics;
use crate::scheduler::dispatcher::DispatchSettings;
use crate::secret::Secret;
use crate::service::Service;
use crate::store::Store;
use crate::telephony::Provider;
use error::{ApiError, BODY_LIMIT_BYTES};

/// Settings the handlers read.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The admin API token; `None` disables the admin API.
    pub admin_token: Option<Secret>,
    /// Matching rules (notice, horizon, calling hours).
    pub policy: MatchPolicy,
    /// Region for national-format numbers when a zone has no country.
    pub default_region: Option<String>,
    /// Whether cookies get the `Secure` flag: the service is reached over https.
    pub secure_cookies: bool,
    /// Whether new requests wait for the seeker to confirm the number.
    pub confirm_phone: bool,
    /// The site's public address (`RIDEALONG_PUBLIC_URL`) when it was set: the
    /// call-back line says it to callers. `None` when the service only knows its
    /// listening address, which is no use on a phone.
    pub site_url: Option<String>,
}

/// Shared state of every handler, behind one `Arc`: axum clones the state for
/// every request, and one reference count is cheaper than one per field.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    /// State sharing `shared`.
    pub fn new(shared: SharedState) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// What every handler shares, behind [`AppState`].
pub struct SharedState {
    /// The use cases every door calls.
    pub service: Service,
    /// The database, for the doors' reads.
    pub store: Store,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Places calls and sends texts; signs the webhooks.
    pub provider: Arc<dyn Provider>,
    /// The public URL the webhooks are reached at, and the service number.
    pub dispatch_settings: Arc<DispatchSettings>,
    /// Rate limits, load shedding and the request deadline.
    pub limits: Arc<limits::Limits>,
    /// The process's Prometheus metrics.
    pub metrics: Arc<Metrics>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::router(state.clone()))
        .merge(api::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(webhooks::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.limits),
            limits::enforce,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal(anyhow::anyhow!(
                "handler panicked"
            )))
        }))
        .layer(
            // Spans carry the method and the route's pattern, never the path itself:
            // paths (/r/{token}) and query strings can hold tokens.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str);
                    tracing::info_span!("http", method = %request.method(), route = %route)
                })
                .on_response(
                    |response: &axum::http::Response<_>, latency: Duration, _: &tracing::Span| {
                        tracing::debug!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "answered"
                        );
                    },
                ),
        )
        .with_state(state)
}

/// Unknown routes: a page for browsers, the JSON error shape for everyone else.
async fn not_found(headers: HeaderMap) -> Response {
    if accepts_html(&headers) {
        pages::error::PageError::NotFound.into_response()
    } else {
        ApiError::NotFound("route").into_response()
    }
}

/// Whether the client is a browser asking for a page (`Accept` names HTML).
pub(crate) fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
