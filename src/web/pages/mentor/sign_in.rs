//! Mentor sign-in with a one-time code sent by SMS.
//!
//! `/mentor/sign-in` asks for the phone number. If a mentor has that number, a
//! 6-digit code is texted to it from the service number; either way the next page
//! says the same thing, as fast (the text goes out in the background), so the form
//! does not tell who is a mentor. The codes are [`crate::service::mentors`]'s:
//! stored hashed, working for [`SIGN_IN_CODE_LIFETIME`] and
//! [`SIGN_IN_CODE_TRIES`](crate::service::mentors::SIGN_IN_CODE_TRIES) wrong
//! tries, a new one replacing the old, at most
//! [`SIGN_IN_CODES_PER_HOUR`](crate::service::mentors::SIGN_IN_CODES_PER_HOUR)
//! to one phone an hour. A right code starts a
//! session and opens the dashboard.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;

use crate::domain::ValidationError;
use crate::domain::phone::PhoneNumber;
use crate::service::mentors::SIGN_IN_CODE_LIFETIME;
use crate::store::SessionSubject;
use crate::web::AppState;
use crate::web::pages::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::web::pages::error::PageError;
use crate::web::pages::layout::{Field, FormErrors, csrf_field, page};
use crate::web::pages::session::{self, MENTOR_SIGN_IN};

/// Where the code is entered.
pub const CODE_PATH: &str = "/mentor/sign-in/code";
/// Where a signed-in mentor signs out.
pub const SIGN_OUT_PATH: &str = "/mentor/sign-out";

/// The sign-in routes, and `/mentor` itself.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(MENTOR_SIGN_IN, get(phone_page).post(send_code))
        .route(CODE_PATH, post(check_code))
        .route(SIGN_OUT_PATH, post(sign_out))
}

/// The sign-in form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct PhoneForm {
    /// The phone number as typed.
    #[serde(default)]
    pub phone: String,
    /// The browser's time zone (filled in by the page's script), whose country a
    /// national number is read in.
    #[serde(default)]
    pub timezone: String,
}

/// The code form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    /// The phone number the code was sent to (E.164, carried from the first step).
    #[serde(default)]
    pub phone: String,
    /// The code as typed.
    #[serde(default)]
    pub code: String,
}

/// The sign-in page; a signed-in mentor goes straight to the dashboard.
async fn phone_page(
    State(state): State<AppState>,
    jar: CookieJar,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    if let Some(SessionSubject::Mentor(_)) = session::current(&state, &jar).await? {
        return Ok(Redirect::to("/mentor").into_response());
    }
    Ok(phone_form(&csrf, &PhoneForm::default(), &FormErrors::none()).into_response())
}

fn phone_form(csrf: &CsrfToken, form: &PhoneForm, errors: &FormErrors) -> Markup {
    page(
        "Mentor sign-in",
        html! {
            h1 { "Mentor sign-in" }
            p.lead { "We text a 6-digit code to the phone your calls ring. No password to remember." }
            (errors.summary())
            form method="post" action=(MENTOR_SIGN_IN) novalidate {
                (csrf_field(csrf.as_str()))
                input type="hidden" name="timezone" value=(form.timezone) data-browser-zone;
                (Field {
                    name: "phone",
                    label: "Your phone number",
                    kind: "tel",
                    value: &form.phone,
                    hint: Some("The number you registered as a mentor, as you would dial it at home, or with + and the country code, e.g. +1 201 555 0123."),
                    autocomplete: Some("tel"),
                    required: true,
                }.render(errors))
                button type="submit" { "Text me a code" }
            }
            p.muted { "Not a mentor yet? The operator of this service invites mentors." }
        },
    )
}

fn code_form(csrf: &CsrfToken, phone: &PhoneNumber, errors: &FormErrors) -> Markup {
    page(
        "Enter your code",
        html! {
            h1 { "Check your phone" }
            p.notice {
                "If this number belongs to a mentor, we just texted it a 6-digit code. "
                "It works for " (SIGN_IN_CODE_LIFETIME.num_minutes()) " minutes."
            }
            (errors.summary())
            form method="post" action=(CODE_PATH) novalidate {
                (csrf_field(csrf.as_str()))
                input type="hidden" name="phone" value=(phone.as_str());
                div.field.invalid[errors.get("code").is_some()] {
                    label for="f-code" { "The code from the text" }
                    @if let Some(error) = errors.get("code") { p.error id="f-code-error" { (error) } }
                    input #f-code name="code" type="text" inputmode="numeric" pattern="[0-9 ]*"
                        autocomplete="one-time-code" maxlength="12" required
                        aria-invalid=[errors.get("code").map(|_| "true")]
                        aria-describedby=[errors.get("code").map(|_| "f-code-error")];
                }
                button type="submit" { "Sign in" }
            }
            p { a href=(MENTOR_SIGN_IN) { "No text? Ask for a new code" } }
        },
    )
}

/// Parses the phone as a person types it: with a `+` country code, or as a
/// national number in the country of `zone` (the browser's), else of the
/// deployment's default region.
fn parse_phone(state: &AppState, text: &str, zone: &str) -> Result<PhoneNumber, ValidationError> {
    let zone = zone.trim().parse::<Tz>().unwrap_or(Tz::UTC);
    PhoneNumber::parse(
        "phone",
        text,
        zone,
        state.settings.default_region.as_deref(),
    )
}

async fn send_code(
    State(state): State<AppState>,
    CsrfForm { form, token }: CsrfForm<PhoneForm>,
) -> Result<Response, PageError> {
    let phone = match parse_phone(&state, &form.phone, &form.timezone) {
        Ok(phone) => phone,
        Err(error) => {
            let page = phone_form(&token, &form, &error.into());
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    state.service.send_sign_in_code(&phone).await?;
    Ok(code_form(&token, &phone, &FormErrors::none()).into_response())
}

async fn check_code(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm { form, token }: CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    // The phone came from our own hidden field; anything else cannot sign in.
    let Ok(phone) = parse_phone(&state, &form.phone, "") else {
        return Ok(Redirect::to(MENTOR_SIGN_IN).into_response());
    };
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        let error = ValidationError::new("code", "Enter the 6 digits from the text.");
        let page = code_form(&token, &phone, &error.into());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if let Some(mentor_id) = state.service.check_sign_in_code(&phone, &code).await? {
        let jar = session::sign_in(&state, jar, SessionSubject::Mentor(mentor_id)).await?;
        return Ok((jar, Redirect::to("/mentor")).into_response());
    }
    let error = ValidationError::new(
        "code",
        "That code is not right, or it has expired. Check the text, or ask for a new code.",
    );
    let page = code_form(&token, &phone, &error.into());
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let jar = session::sign_out(&state, jar).await?;
    Ok((jar, Redirect::to(MENTOR_SIGN_IN)).into_response())
}
