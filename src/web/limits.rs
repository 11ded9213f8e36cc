//! Abuse limits every request goes through: a bound on requests in flight (load is
//! shed with 503 rather than queued without end), a deadline per request, and a
//! per-client-IP rate limit on the routes that create things or send texts (asking
//! for a call, signing in), so a script cannot fill the database or flood phones.
//!
//! The rate limit is a token bucket per IP (`governor`, the GCRA limiter that
//! tower_governor wraps; used directly so the answer keeps the API's error shape
//! and pages get a page).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::error::ApiError;
use super::pages::error::PageError;

/// The longest any request may take before it is answered with 503.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// Routes (method POST, by route pattern) that create requests, send texts, take
/// secrets or erase data, and so are rate-limited per client IP.
pub const LIMITED_ROUTES: &[&str] = &[
    "/api/v1/requests",
    "/api/v1/requests/{id}/confirm",
    "/api/v1/requests/{id}/code",
    "/request",
    "/r/{token}/confirm",
    "/r/{token}/code",
    "/r/{token}/erase",
    "/mentor/sign-in",
    "/mentor/sign-in/code",
    "/operator/sign-in",
];

/// How the limits are set.
#[derive(Clone, Debug)]
pub struct LimitSettings {
    /// Posts to [`LIMITED_ROUTES`] allowed per client IP per minute; `None` turns
    /// the rate limit off (benchmarks, tests of other things).
    pub per_ip_per_minute: Option<NonZeroU32>,
    /// A header set by a trusted reverse proxy that names the client's IP
    /// (`x-forwarded-for`: its last entry is used). `None`: the peer address.
    pub client_ip_header: Option<HeaderName>,
    /// Requests handled at once; more are refused with 503.
    pub max_in_flight: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            per_ip_per_minute: NonZeroU32::new(10),
            client_ip_header: None,
            max_in_flight: 1024,
        }
    }
}

/// The limits' state, shared by every request.
pub struct Limits {
    settings: LimitSettings,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    in_flight: Semaphore,
    checks: AtomicU64,
}

impl Limits {
    /// Limits as `settings` say.
    pub fn new(settings: LimitSettings) -> Arc<Limits> {
        let per_ip = settings
            .per_ip_per_minute
            .map(|per_minute| RateLimiter::keyed(Quota::per_minute(per_minute)));
        Arc::new(Limits {
            in_flight: Semaphore::new(settings.max_in_flight.max(1)),
            settings,
            per_ip,
            checks: AtomicU64::new(0),
        })
    }

    /// The client's IP: from the trusted proxy's header when configured, else the
    /// peer address.
    fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if let Some(name) = &self.settings.client_ip_header {
            let forwarded = headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|last| last.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        peer.map(|address| address.ip())
    }

    /// `Err(seconds to wait)` when `ip` has used up its posts for now.
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.per_ip else {
            return Ok(());
        };
        // Forget idle clients now and then, so the table stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// Middleware: sheds load past the in-flight bound, enforces the deadline, and
/// rate-limits posts to [`LIMITED_ROUTES`] per client IP.
pub async fn enforce(State(limits): State<Arc<Limits>>, request: Request, next: Next) -> Response {
    let html = wants_html(&request);
    let Ok(_permit) = limits.in_flight.try_acquire() else {
        tracing::warn!("shedding load: too many requests in flight");
        return refuse(html, Refusal::Busy);
    };
    if request.method() == Method::POST {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        if route.is_some_and(|route| LIMITED_ROUTES.contains(&route)) {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0);
            if let Some(ip) = limits.client_ip(request.headers(), peer)
                && let Err(retry_after) = limits.check(ip)
            {
                tracing::info!(route = route.unwrap_or_default(), "rate limit reached");
                return refuse(html, Refusal::RateLimited(retry_after));
            }
        }
    }
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request ran past its deadline");
            refuse(html, Refusal::Deadline)
        }
    }
}

enum Refusal {
    Busy,
    Deadline,
    RateLimited(u64),
}

fn refuse(html: bool, refusal: Refusal) -> Response {
    let error = match refusal {
        Refusal::RateLimited(seconds) => ApiError::TooManyRequests(seconds.max(1)),
        Refusal::Busy => ApiError::Unavailable("the service is busy"),
        Refusal::Deadline => ApiError::Unavailable("the request took too long"),
    };
    if !html {
        // The API error sets Retry-After itself.
        return error.into_response();
    }
    let (page, retry_after) = match error {
        ApiError::TooManyRequests(seconds) => (PageError::TooManyRequests, seconds),
        _ => (PageError::Unavailable, 5),
    };
    let mut response = page.into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// Page routes answer with pages; the API and webhooks with JSON.
fn wants_html(request: &Request) -> bool {
    let path = request.uri().path();
    !(path.starts_with("/api/") || path.starts_with("/telephony/"))
        && super::accepts_html(request.headers())
}
