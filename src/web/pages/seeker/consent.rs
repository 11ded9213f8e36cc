//! The seeker's consent steps on the manage page `/r/{token}`: confirming that
//! the number is theirs (`POST /r/{token}/confirm` with the texted code, `POST
//! /r/{token}/code` for a new code) and erasing the request and its personal data
//! (`POST /r/{token}/erase`, with a checkbox that says it cannot be undone).
//!
//! The checks are the API's own use cases ([`crate::service::consent`] and
//! [`crate::service::requests`]), so the page and `POST
//! /api/v1/requests/{id}/confirm` confirm the same way. Each post answers with a
//! redirect back to the manage page, or shows that page again with the message
//! next to the form that was refused. Codes and tokens are never logged.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::manage::*;
use crate::domain::ValidationError;
use crate::domain::consent::{CODE_LIFETIME, CODE_TRIES, ConfirmedVia};
use crate::service::consent::{CodeRefusal, NewCodeRefusal};
use crate::service::requests::EraseError;
use crate::web::AppState;
use crate::web::pages::csrf::{CsrfForm, EmptyForm};
use crate::web::pages::error::PageError;

/// The code form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CodeForm {
    /// The code as typed.
    code: String,
}

/// The erase form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EraseForm {
    /// Present when "I understand this cannot be undone" is ticked.
    understand: Option<String>,
}

/// `POST /r/{token}/confirm`: a right code confirms the number and goes back to
/// the page; anything else shows the page again with why.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    CsrfForm { form, token: csrf }: CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    let request = by_token(&state, &token).await?;
    let confirmed = state
        .service
        .confirm_with_code(request.id, &form.code, ConfirmedVia::Web)
        .await;
    let message = match confirmed {
        Ok(_) => return Ok(Redirect::to(&format!("/r/{token}?confirmed=1")).into_response()),
        // Over already (canceled, expired): the page says how it ended.
        Err(CodeRefusal::Closed(_)) => {
            return Ok(Redirect::to(&format!("/r/{token}")).into_response());
        }
        Err(CodeRefusal::NotFound) => return Err(PageError::NotFound),
        Err(CodeRefusal::Store(error)) => return Err(error.into()),
        Err(CodeRefusal::Malformed) => "Enter the 6 digits from the text.".to_owned(),
        Err(CodeRefusal::Wrong(left)) => format!(
            "That code is not right. Check the text and try again: {left} more {} before \
             the code stops working.",
            if left == 1 { "try" } else { "tries" }
        ),
        Err(CodeRefusal::Locked) => format!(
            "That code was entered wrong {CODE_TRIES} times, so it no longer works. Ask for a \
             new code below."
        ),
        Err(CodeRefusal::Expired)
            if request.confirmation.code_expires_at.is_none()
                && request.confirmation.text_queued =>
        {
            "Your code is still on its way. Wait for the text, then enter the code.".to_owned()
        }
        Err(CodeRefusal::Expired) => format!(
            "That code has expired: codes work for {} minutes. Ask for a new code below.",
            CODE_LIFETIME.num_minutes()
        ),
    };
    let refused = RefusedManageForms {
        confirm: ValidationError::new("code", message).into(),
        ..RefusedManageForms::default()
    };
    manage_response(
        &state,
        &token,
        Banner::None,
        &refused,
        &csrf,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /r/{token}/code`: texts a new code, up to [`MAX_CODE_TEXTS`] per request.
pub(super) async fn new_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    CsrfForm {
        form: EmptyForm {},
        token: csrf,
    }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let request = by_token(&state, &token).await?;
    match state.service.queue_new_code(request.id).await {
        Ok(()) => Ok(Redirect::to(&format!("/r/{token}?code=sent#confirm")).into_response()),
        Err(NewCodeRefusal::TooMany) => {
            let refused = RefusedManageForms {
                new_code: Some(too_many_codes()),
                ..RefusedManageForms::default()
            };
            manage_response(
                &state,
                &token,
                Banner::None,
                &refused,
                &csrf,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        // Confirmed or over since: the page says where it stands.
        Err(NewCodeRefusal::NotUnconfirmed(_)) => {
            Ok(Redirect::to(&format!("/r/{token}")).into_response())
        }
        Err(NewCodeRefusal::NotFound) => Err(PageError::NotFound),
        Err(NewCodeRefusal::Store(error)) => Err(error.into()),
    }
}

/// `POST /r/{token}/erase`: cancels the request if it is open and erases the
/// seeker's personal data, once the box saying it cannot be undone is ticked.
pub(super) async fn erase_request(
    State(state): State<AppState>,
    Path(token): Path<String>,
    CsrfForm { form, token: csrf }: CsrfForm<EraseForm>,
) -> Result<Response, PageError> {
    let request = by_token(&state, &token).await?;
    if form.understand.is_none() {
        let refused = RefusedManageForms {
            erase: ValidationError::new(
                "understand",
                "Tick the box to confirm that you want your request and your data deleted. \
                 Nothing was deleted.",
            )
            .into(),
            ..RefusedManageForms::default()
        };
        return manage_response(
            &state,
            &token,
            Banner::None,
            &refused,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state.service.erase_request(request.id).await {
        Ok(_) => Ok(Redirect::to(&format!("/r/{token}?erased=1")).into_response()),
        Err(EraseError::NotFound) => Err(PageError::NotFound),
        // Reopened between the two steps: nothing was lost, the visitor tries again.
        Err(error @ (EraseError::ReopenedMeanwhile | EraseError::Store(_))) => {
            Err(PageError::Internal(error.into()))
        }
    }
}
