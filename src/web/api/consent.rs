//! Proving a request's phone number is the seeker's: entering the texted code,
//! and asking for a new one.
//!
//! The functions here are shared by the API and the seeker's manage page, so both
//! confirm the same way; the caller has checked the manage token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ValidationError;
use crate::domain::consent::{CODE_TRIES, ConfirmedVia, MAX_CODE_TEXTS, code_hash, normalize_code};
use crate::domain::status::RequestStatus;
use crate::store::{ConfirmOutcome, NewCodeOutcome, StoreError};
use crate::web::AppState;
use crate::web::auth::RequestAccess;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, ApiPath};

use super::requests::load_for;

/// Body of `POST /api/v1/requests/{id}/confirm`.
#[derive(Deserialize, ToSchema)]
pub struct ConfirmBody {
    /// The 6-digit code texted to the request's number (spaces and dashes are
    /// ignored).
    pub code: String,
}

/// A request's status after confirming.
#[derive(Serialize, ToSchema)]
pub struct ConfirmedRequest {
    /// Id.
    pub id: i64,
    /// `pending` once confirmed (or where it went since).
    pub status: RequestStatus,
}

/// Why a code did not confirm the request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CodeRefusal {
    /// Not 6 digits.
    #[error("enter the 6 digits from the text")]
    Malformed,
    /// Not the code; this many tries are left.
    #[error("that code is not right; {0} more tries before it stops working")]
    Wrong(u32),
    /// Entered wrong too often.
    #[error(
        "that code was entered wrong {CODE_TRIES} times and no longer works; ask for a new code"
    )]
    Locked,
    /// Too old, or none was sent yet.
    #[error("that code has expired (codes work for 30 minutes); ask for a new code")]
    Expired,
    /// The request is over.
    #[error("the request is {0}; there is nothing to confirm")]
    Closed(RequestStatus),
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CodeRefusal> for ApiError {
    fn from(refusal: CodeRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            CodeRefusal::Malformed => ValidationError::new("code", message).into(),
            CodeRefusal::Wrong(_) => ApiError::Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "wrong_code",
                message,
            },
            CodeRefusal::Locked => ApiError::Refused {
                status: StatusCode::CONFLICT,
                code: "code_locked",
                message,
            },
            CodeRefusal::Expired => ApiError::Refused {
                status: StatusCode::CONFLICT,
                code: "code_expired",
                message,
            },
            CodeRefusal::Closed(_) => ApiError::Conflict(message),
            CodeRefusal::NotFound => ApiError::NotFound("request"),
            CodeRefusal::Store(error) => error.into(),
        }
    }
}

/// Checks `typed` against request `id`'s code; on success the request is
/// `pending` and the matcher is asked to book it. Confirming twice is fine.
pub(crate) async fn check_code(
    state: &AppState,
    id: i64,
    typed: &str,
    via: ConfirmedVia,
) -> Result<RequestStatus, CodeRefusal> {
    let code = normalize_code(typed).ok_or(CodeRefusal::Malformed)?;
    let now = state.clock.now();
    let outcome = state
        .store
        .confirm_with_code(id, &code_hash(id, &code), via, now)
        .await?;
    match outcome {
        ConfirmOutcome::Confirmed => {
            tracing::info!(request.id = id, confirmed.via = %via, "phone number confirmed");
            state.matcher.nudge();
            Ok(RequestStatus::Pending)
        }
        ConfirmOutcome::AlreadyConfirmed(status) => Ok(status),
        ConfirmOutcome::Wrong { tries_left } => {
            tracing::info!(request.id = id, tries_left, "wrong confirmation code");
            Err(CodeRefusal::Wrong(tries_left))
        }
        ConfirmOutcome::Locked => Err(CodeRefusal::Locked),
        ConfirmOutcome::Expired => Err(CodeRefusal::Expired),
        ConfirmOutcome::Closed(status) => Err(CodeRefusal::Closed(status)),
        ConfirmOutcome::NotFound => Err(CodeRefusal::NotFound),
    }
}

/// Why no new code was queued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NewCodeRefusal {
    /// The request had all its code texts.
    #[error("this request was sent {MAX_CODE_TEXTS} codes already; make a new request tomorrow")]
    TooMany,
    /// The request does not wait for a code.
    #[error("the request is {0}; it needs no code")]
    NotUnconfirmed(RequestStatus),
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<NewCodeRefusal> for ApiError {
    fn from(refusal: NewCodeRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            NewCodeRefusal::TooMany => ApiError::Refused {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_codes",
                message,
            },
            NewCodeRefusal::NotUnconfirmed(_) => ApiError::Conflict(message),
            NewCodeRefusal::NotFound => ApiError::NotFound("request"),
            NewCodeRefusal::Store(error) => error.into(),
        }
    }
}

/// Queues a new code text for request `id` (the old code stops working when the
/// new one is made).
pub(crate) async fn queue_new_code(state: &AppState, id: i64) -> Result<(), NewCodeRefusal> {
    match state.store.request_new_code(id, state.clock.now()).await? {
        NewCodeOutcome::Queued => {
            tracing::info!(request.id = id, "new confirmation code asked for");
            Ok(())
        }
        NewCodeOutcome::TooMany => Err(NewCodeRefusal::TooMany),
        NewCodeOutcome::NotUnconfirmed(status) => Err(NewCodeRefusal::NotUnconfirmed(status)),
        NewCodeOutcome::NotFound => Err(NewCodeRefusal::NotFound),
    }
}

/// Confirms the request's phone number with the code texted to it (manage token).
#[utoipa::path(post, path = "/api/v1/requests/{id}/confirm", tag = "requests",
    params(("id" = i64, Path, description = "Request id"),
           ("token" = Option<String>, Query, description = "Manage token (or send it as bearer)")),
    request_body = ConfirmBody,
    responses(
        (status = 200, description = "Confirmed (or already was); the matcher books it shortly", body = ConfirmedRequest),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such request, or the token does not open it", body = ErrorBody),
        (status = 409, description = "`code_locked` (5 wrong tries), `code_expired` (ask for a new code), or the request is over", body = ErrorBody),
        (status = 422, description = "`wrong_code`, or not 6 digits (`invalid_input`)", body = ErrorBody),
        (status = 429, description = "Too many posts from this address", body = ErrorBody),
    ),
    security((), ("bearer" = [])))]
pub async fn confirm(
    access: RequestAccess,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<ConfirmedRequest>, ApiError> {
    load_for(&state, id, &access).await?;
    let status = check_code(&state, id, &body.code, ConfirmedVia::Api).await?;
    Ok(Json(ConfirmedRequest { id, status }))
}

/// Texts a new code to an unconfirmed request's number (manage token); at most
/// five codes per request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/code", tag = "requests",
    params(("id" = i64, Path, description = "Request id"),
           ("token" = Option<String>, Query, description = "Manage token (or send it as bearer)")),
    responses(
        (status = 202, description = "A new code is on its way"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The request needs no code", body = ErrorBody),
        (status = 429, description = "`too_many_codes`, or too many posts from this address", body = ErrorBody),
    ),
    security((), ("bearer" = [])))]
pub async fn new_code(
    access: RequestAccess,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    load_for(&state, id, &access).await?;
    queue_new_code(&state, id).await?;
    Ok(StatusCode::ACCEPTED)
}
