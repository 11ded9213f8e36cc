//! `/operator/sign-in` and `/operator/sign-out`: the admin token opens a browser
//! session; without a configured admin token the operator pages are off.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

use super::super::csrf::{CsrfForm, CsrfToken};
use super::super::error::PageError;
use super::super::layout::{Field, FormErrors, csrf_field, page};
use super::super::session::{self, OPERATOR_SIGN_IN};
use crate::domain::ValidationError;
use crate::store::SessionSubject;
use crate::web::AppState;
use crate::web::auth::is_admin_token;
use crate::web::pages::csrf::EmptyForm;

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

/// `GET /operator/sign-in`: the form, or why there is none.
pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    if state.settings.admin_token.is_none() {
        return Ok(off().into_response());
    }
    if session::current(&state, &jar).await? == Some(SessionSubject::Operator) {
        return Ok(Redirect::to("/operator").into_response());
    }
    Ok(sign_in_page(&csrf, &FormErrors::none()).into_response())
}

/// `POST /operator/sign-in`: the right admin token signs this browser in.
pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm { form, token }: CsrfForm<SignInForm>,
) -> Result<Response, PageError> {
    if state.settings.admin_token.is_none() {
        return Ok((StatusCode::NOT_FOUND, off()).into_response());
    }
    if !is_admin_token(&state, form.token.trim()) {
        tracing::info!("operator sign-in refused");
        let errors = FormErrors::from(ValidationError::new(
            "token",
            "That is not the admin token. Check RIDEALONG_ADMIN_TOKEN and try again.",
        ));
        return Ok((StatusCode::UNAUTHORIZED, sign_in_page(&token, &errors)).into_response());
    }
    let jar = session::sign_in(&state, jar, SessionSubject::Operator).await?;
    tracing::info!("operator signed in");
    Ok((jar, Redirect::to("/operator")).into_response())
}

/// `POST /operator/sign-out`: ends this browser's session.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    _: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let jar = session::sign_out(&state, jar).await?;
    Ok((jar, Redirect::to(OPERATOR_SIGN_IN)).into_response())
}

fn sign_in_page(csrf: &CsrfToken, errors: &FormErrors) -> Markup {
    page(
        "Operator sign-in",
        html! {
            h1 { "Operator sign-in" }
            p { "The operator pages show every mentor, request and call. Sign in with the admin token the service was started with." }
            (errors.summary())
            form method="post" action=(OPERATOR_SIGN_IN) novalidate {
                (csrf_field(csrf.as_str()))
                (Field {
                    name: "token",
                    label: "Admin token",
                    kind: "password",
                    value: "",
                    hint: Some("The value of RIDEALONG_ADMIN_TOKEN."),
                    autocomplete: Some("current-password"),
                    required: true,
                }.render(errors))
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The page shown while no admin token is configured.
fn off() -> Markup {
    page(
        "Operator pages are off",
        html! {
            h1 { "The operator pages are off" }
            p {
                "They open only with an admin token, and this service was started without one. "
                "To turn them on, set " code { "RIDEALONG_ADMIN_TOKEN" } " (16 characters or more; "
                code { "openssl rand -hex 24" } " makes a good one) or pass "
                code { "--admin-token" } " to " code { "ridealong serve" } ", restart, and sign in here with it."
            }
        },
    )
}
