//! Proving a request's phone number is the seeker's: entering the texted code,
//! and asking for a new one. The use cases are [`crate::service::consent`]'s,
//! shared with the seeker's manage page; this door checks the manage token and
//! says what each refusal means to an API client.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ValidationError;
use crate::domain::consent::{CODE_TRIES, ConfirmedVia, MAX_CODE_TEXTS};
use crate::domain::status::RequestStatus;
use crate::ids::RequestId;
use crate::service::consent::{CodeRefusal, NewCodeRefusal};
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
    #[schema(pattern = r"^[\s-]*([0-9][\s-]*){6}$")]
    pub code: String,
}

/// A request's status after confirming.
#[derive(Serialize, ToSchema)]
pub struct ConfirmedRequest {
    /// Id.
    #[schema(value_type = i64)]
    pub id: RequestId,
    /// `pending` once confirmed (or where it went since).
    pub status: RequestStatus,
}

impl From<CodeRefusal> for ApiError {
    fn from(refusal: CodeRefusal) -> Self {
        match refusal {
            CodeRefusal::Malformed => {
                ValidationError::new("code", "enter the 6 digits from the text").into()
            }
            CodeRefusal::Wrong(left) => ApiError::Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "wrong_code",
                message: format!(
                    "that code is not right; {left} more tries before it stops working"
                ),
            },
            CodeRefusal::Locked => ApiError::Refused {
                status: StatusCode::CONFLICT,
                code: "code_locked",
                message: format!(
                    "that code was entered wrong {CODE_TRIES} times and no longer works; ask for a new code"
                ),
            },
            CodeRefusal::Expired => ApiError::Refused {
                status: StatusCode::CONFLICT,
                code: "code_expired",
                message: "that code has expired (codes work for 30 minutes); ask for a new code"
                    .to_owned(),
            },
            CodeRefusal::Closed(status) => ApiError::Conflict(format!(
                "the request is {status}; there is nothing to confirm"
            )),
            CodeRefusal::NotFound => ApiError::NotFound("request"),
            CodeRefusal::Store(error) => error.into(),
        }
    }
}

impl From<NewCodeRefusal> for ApiError {
    fn from(refusal: NewCodeRefusal) -> Self {
        match refusal {
            NewCodeRefusal::TooMany => ApiError::Refused {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_codes",
                message: format!(
                    "this request was sent {MAX_CODE_TEXTS} codes already; make a new request tomorrow"
                ),
            },
            NewCodeRefusal::NotUnconfirmed(status) => {
                ApiError::Conflict(format!("the request is {status}; it needs no code"))
            }
            NewCodeRefusal::NotFound => ApiError::NotFound("request"),
            NewCodeRefusal::Store(error) => error.into(),
        }
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
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<ConfirmedRequest>, ApiError> {
    load_for(&state, id, &access).await?;
    let status = state
        .service
        .confirm_with_code(id, &body.code, ConfirmedVia::Api)
        .await?;
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
    ApiPath(id): ApiPath<RequestId>,
) -> Result<StatusCode, ApiError> {
    load_for(&state, id, &access).await?;
    state.service.queue_new_code(id).await?;
    Ok(StatusCode::ACCEPTED)
}
