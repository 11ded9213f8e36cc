//! The seeker's privacy steps on the manage page `/r/{token}`: confirming that
//! the number is theirs (`POST /r/{token}/confirm` with the texted code, `POST
//! /r/{token}/code` for a new code) and erasing the request and its personal data
//! (`POST /r/{token}/erase`, with a checkbox that says it cannot be undone).
//!
//! The checks are the API's own use cases ([`crate::service::consent`] and
//! [`crate::service::requests`]), so the page and `POST
//! /api/v1/requests/{id}/confirm` confirm the same way. Each
//! post answers with a redirect back to the manage page, or shows that page again
//! with the message next to the form that was refused. Codes and tokens are never
//! logged.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::CsrfForm;
use super::error::PageError;
use super::layout::{csrf_field, local_time, page, time_in};
use super::seeker::{Banner, ManageView, Refused, by_token, last_digits, manage_response};
use crate::domain::ValidationError;
use crate::domain::consent::{CODE_LIFETIME, CODE_TRIES, ConfirmedVia, MAX_CODE_TEXTS};
use crate::domain::status::RequestStatus;
use crate::service::consent::{CodeRefusal, NewCodeRefusal};
use crate::service::requests::EraseError;
use crate::web::AppState;

/// The manage page's confirm, new-code and erase buttons.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/r/{token}/confirm", post(confirm))
        .route("/r/{token}/code", post(new_code))
        .route("/r/{token}/erase", post(erase_request))
}

/// The code form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    /// The code as typed.
    code: String,
}

/// A form with only its CSRF token.
#[derive(Debug, Default, Deserialize)]
struct EmptyForm {}

/// The erase form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EraseForm {
    /// Present when "I understand this cannot be undone" is ticked.
    understand: Option<String>,
}

/// `POST /r/{token}/confirm`: a right code confirms the number and goes back to
/// the page; anything else shows the page again with why.
async fn confirm(
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
    let refused = Refused {
        confirm: ValidationError::new("code", message).into(),
        ..Refused::default()
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
async fn new_code(
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
            let refused = Refused {
                new_code: Some(too_many_codes()),
                ..Refused::default()
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

/// What the page says once a request had all its code texts.
fn too_many_codes() -> String {
    format!(
        "We have sent this request {MAX_CODE_TEXTS} codes, the most we send for one request. If \
         the last one arrived, enter it or reply YES to it. If none did, cancel this request and \
         ask again tomorrow."
    )
}

/// `POST /r/{token}/erase`: cancels the request if it is open and erases the
/// seeker's personal data, once the box saying it cannot be undone is ticked.
async fn erase_request(
    State(state): State<AppState>,
    Path(token): Path<String>,
    CsrfForm { form, token: csrf }: CsrfForm<EraseForm>,
) -> Result<Response, PageError> {
    let request = by_token(&state, &token).await?;
    if form.understand.is_none() {
        let refused = Refused {
            erase: ValidationError::new(
                "understand",
                "Tick the box to confirm that you want your request and your data deleted. \
                 Nothing was deleted.",
            )
            .into(),
            ..Refused::default()
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

/// The "Confirm your number" card of an unconfirmed request: where the code text
/// stands, the code form, and the button for a new code.
pub(super) fn confirm_section(view: &ManageView<'_>) -> Markup {
    let confirmation = &view.request.confirmation;
    let code_error = view.refused.confirm.get("code");
    let described = if code_error.is_some() {
        "f-code-hint f-code-error"
    } else {
        "f-code-hint"
    };
    let out_of_codes = confirmation.codes_sent >= MAX_CODE_TEXTS && !confirmation.text_queued;
    let codes_left = MAX_CODE_TEXTS.saturating_sub(confirmation.codes_sent);
    html! {
        section.card.confirm-card #confirm aria-labelledby="confirm-heading" {
            h2 #confirm-heading { "Confirm your number" }
            p {
                "Only the owner of a number can ask us to call it. Enter the code we "
                "texted to your number ending in " (last_digits(&view.request.phone))
                ", and we start looking for a time."
            }
            (code_text_state(view, code_error.is_some()))
            (view.refused.confirm.summary())
            form.code-form method="post" action={ "/r/" (view.token) "/confirm" } novalidate {
                (csrf_field(view.csrf))
                div.field.invalid[code_error.is_some()] {
                    label for="f-code" { "The 6-digit code from the text" }
                    p.hint #f-code-hint {
                        "The text comes from " span.nowrap { (view.service_number) } ". "
                        "Replying " strong { "YES" } " to it confirms your number too."
                    }
                    @if let Some(error) = code_error { p.error #f-code-error { (error) } }
                    input #f-code name="code" type="text" inputmode="numeric"
                        pattern="[0-9 -]*" autocomplete="one-time-code" maxlength="12" required
                        aria-invalid=[code_error.map(|_| "true")] aria-describedby=(described);
                }
                button type="submit" { "Confirm my number" }
            }
            div.new-code {
                @if let Some(message) = &view.refused.new_code {
                    p.error #new-code-error role="alert" { (message) }
                }
                @if out_of_codes {
                    @if view.refused.new_code.is_none() {
                        p.muted #new-code-limit { (too_many_codes()) }
                    }
                } @else {
                    form method="post" action={ "/r/" (view.token) "/code" } {
                        (csrf_field(view.csrf))
                        p.hint #new-code-hint {
                            "No text after a few minutes, or the code stopped working? "
                            "We can send " (codes_left) " more "
                            (if codes_left == 1 { "code" } else { "codes" })
                            " for this request; only the newest one works."
                        }
                        button.secondary type="submit" aria-describedby="new-code-hint" {
                            "Text me a new code"
                        }
                    }
                }
            }
        }
    }
}

/// Where the code text stands: on its way, sent (until when), expired, used up,
/// or not sendable (the number opted out of texts, or cannot get them).
/// `refused` leaves out what the code form's error already says.
fn code_text_state(view: &ManageView<'_>, refused: bool) -> Markup {
    let request = view.request;
    let confirmation = &request.confirmation;
    let expired = confirmation
        .code_expires_at
        .is_some_and(|expires_at| expires_at <= view.now);
    html! {
        @match confirmation.send_error.as_deref() {
            Some("opted_out") => p.problem #code-problem role="alert" {
                strong { "We cannot text your code: this number replied STOP to one of our texts." }
                " To get texts from us again, text " strong { "START" } " to "
                span.nowrap { (view.service_number) } ", then ask for a new code below."
            },
            Some("invalid_number") => p.problem #code-problem role="alert" {
                strong { "We cannot text your code: your number ending in "
                    (last_digits(&request.phone)) " cannot get texts." }
                " We can only call a number that gets our texts. Cancel this request and ask "
                "again with a mobile number."
            },
            Some(_) if confirmation.text_queued => p.problem #code-problem role="status" {
                "The text with your code did not go out at the first try. We are trying again."
            },
            Some(_) => p.problem #code-problem role="alert" {
                "We could not send the text with your code. Ask for a new code below to try again."
            },
            None if confirmation.text_queued => p.notice role="status" {
                @if view.banner == Banner::CodeSent { "A new code is on its way. " }
                @else { "We are texting you a 6-digit code. " }
                "It usually arrives within a minute. Once it does, only the newest code works."
            },
            None if refused => {},
            None if confirmation.tries >= CODE_TRIES => p.notice {
                "The code was entered wrong " (CODE_TRIES) " times and no longer works. "
                "Ask for a new code below."
            },
            None if expired => p.notice {
                "The code we texted has expired: codes work for "
                (CODE_LIFETIME.num_minutes()) " minutes. Ask for a new code below."
            },
            None => {
                @if let Some(expires_at) = confirmation.code_expires_at {
                    p.notice {
                        "We texted you a 6-digit code. It works until "
                        (time_in(expires_at, request.timezone)) "."
                    }
                }
            },
        }
    }
}

/// "Delete my request and my data": what erasing does, and the form with the box
/// that says it cannot be undone.
pub(super) fn erase_section(view: &ManageView<'_>) -> Markup {
    let request = view.request;
    let error = view.refused.erase.get("understand");
    html! {
        section.erase #erase aria-labelledby="erase-heading" {
            h2 #erase-heading { "Delete my request and my data" }
            p {
                @if request.status.is_open() {
                    "This cancels your request"
                    @if request.status == RequestStatus::Scheduled { " (we let the mentor know)" }
                    " and deletes "
                } @else {
                    "This deletes "
                }
                "your name, your number, your topic, your message and your times for good. "
                "We keep only anonymous counts: that a request came in, when, and how its calls ended."
            }
            (view.refused.erase.summary())
            form.erase-form method="post" action={ "/r/" (view.token) "/erase" } novalidate {
                (csrf_field(view.csrf))
                div.field.invalid[error.is_some()] {
                    @if let Some(error) = error { p.error #f-understand-error { (error) } }
                    div.check {
                        input #f-understand type="checkbox" name="understand" value="yes" required
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| "f-understand-error")];
                        label for="f-understand" { "I understand this cannot be undone" }
                    }
                }
                button.danger type="submit" { "Delete my request and my data" }
            }
        }
    }
}

/// The manage page of an erased request: that it is erased, when, and what is
/// kept. Nothing the seeker told us is left to show.
pub(super) fn erased_page(view: &ManageView<'_>) -> Markup {
    let request = view.request;
    page(
        "Your request is deleted",
        html! {
            h1 { "Your request" }
            @if view.banner == Banner::Erased {
                div.notice.banner role="status" {
                    h2 { "Your request and your data are deleted." }
                    p { "Thank you for trying ridealong. You are welcome to ask again whenever you like." }
                }
            }
            section.card.status-card aria-labelledby="status-heading" {
                h2 #status-heading { "Where it stands" }
                p { span.status { "Deleted" } }
                @if let Some(erased_at) = request.erased_at {
                    p {
                        "On " (local_time(erased_at, request.timezone)) " we deleted your name, "
                        "your number, your topic, your message and the times you gave us, for good. "
                        "Nobody will call or text you about this request."
                    }
                }
                p {
                    "What we keep cannot tell anyone who you are: that a request came in, when, "
                    "and how its calls ended, for our anonymous counts."
                }
                p { a href="/request" { "Ask for another call" } }
            }
        },
    )
}
