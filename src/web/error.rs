//! The HTTP error type and the JSON error shape
//! `{"error": {"code": "...", "message": "..."}}`.
//!
//! Which error type goes where: domain parsing returns `ValidationError`; storage
//! returns `StoreError` (constraint violations already mapped to `Conflict`);
//! background jobs use `anyhow`; HTTP handlers return [`ApiError`], which converts
//! from the other two. A 500 hides its cause from the client and logs it once.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ValidationError;
use crate::store::{Conflict, StoreError};

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or query broke a rule (422).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request could not be read at all (400).
    #[error("{0}")]
    BadRequest(String),
    /// No token, or one that is not known (401).
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A valid token that may not do this (403).
    #[error("this token may not access that")]
    Forbidden,
    /// Nothing there, or nothing the caller may know of (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write contradicts what is stored (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is over the size limit (413).
    #[error("the body is larger than the {0}-byte limit")]
    PayloadTooLarge(usize),
    /// The body is not JSON (415).
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The route exists but not with this method (405).
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// A refusal with its own status and code, e.g. a wrong confirmation code
    /// (422 `wrong_code`) or one entered wrong too often (409 `code_locked`).
    #[error("{message}")]
    Refused {
        /// HTTP status.
        status: StatusCode,
        /// The stable code.
        code: &'static str,
        /// What the client can do.
        message: String,
    },
    /// Too many posts from this client for now (429); retry after the seconds given.
    #[error("too many requests from this address; try again in {0} seconds")]
    TooManyRequests(u64),
    /// The service cannot take this request now (503).
    #[error("{0}; try again shortly")]
    Unavailable(&'static str),
    /// Something broke on our side (500); the cause is logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The error shape of every 4xx and 5xx answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_input`, `not_found`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The input field at fault, for `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Refused { status, code, .. } => (*status, code),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let (message, field) = match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                ("something went wrong on our side".to_owned(), None)
            }
            ApiError::Invalid(error) => (error.message.clone(), Some(error.field.to_string())),
            other => (other.to_string(), None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            ApiError::TooManyRequests(seconds) => Some(*seconds),
            ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(conflict) => {
                ApiError::Conflict(conflict_message(conflict).to_owned())
            }
            StoreError::Database(error) if database_unreachable(&error) => {
                tracing::warn!(error = %error, "the database is unreachable");
                ApiError::Unavailable("the database is unreachable")
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

/// What a uniqueness rule the store names means to an API client.
pub fn conflict_message(conflict: Conflict) -> &'static str {
    match conflict {
        Conflict::OpenRequestForPhone => "this phone number already has an open request",
        Conflict::ProviderCallSid => "provider call id already recorded",
        Conflict::MentorToken => "token already in use",
        Conflict::CalendarToken => "calendar token already in use",
    }
}

/// Body size limit of the JSON API, in bytes.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::JsonDataError(error) => {
                ApiError::Invalid(ValidationError::new("body", error.body_text()))
            }
            JsonRejection::JsonSyntaxError(error) => ApiError::BadRequest(error.body_text()),
            rejection if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(BODY_LIMIT_BYTES)
            }
            rejection => ApiError::BadRequest(rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Invalid(ValidationError::new("query", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::NotFound("resource")
    }
}

/// Whether `error` says the database cannot be reached (down, restarting, or every
/// connection busy), rather than that a statement failed: pool and I/O errors,
/// a connection dropped mid-handshake, and PostgreSQL's SQLSTATE classes 08
/// (connection exception) and 57 (shutting down, starting up).
fn database_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57")),
        _ => false,
    }
}
