//! Who is signed in: a session cookie naming a stored session (see
//! [`crate::store::SessionSubject`]). Mentors sign in with a one-time code sent to
//! their phone; the operator with the admin token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::TimeDelta;

use super::error::PageError;
use crate::ids::MentorId;
use crate::store::{NewSession, SessionSubject};
use crate::tokens;
use crate::web::AppState;

/// The cookie holding the session token.
pub const COOKIE: &str = "ridealong_session";
/// Prefix of session tokens, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "ras_";
/// How long a mentor's sign-in lasts.
pub const LIFETIME: TimeDelta = TimeDelta::days(14);
/// How long the operator's sign-in lasts: it can see everyone's requests, so a
/// working day, not two weeks.
pub const OPERATOR_LIFETIME: TimeDelta = TimeDelta::hours(12);

/// Starts a session for `subject` and returns the cookie jar that carries it.
pub async fn sign_in(
    state: &AppState,
    jar: CookieJar,
    subject: SessionSubject,
) -> Result<CookieJar, PageError> {
    let token = tokens::generate(TOKEN_PREFIX);
    let now = state.clock.now();
    let lifetime = match subject {
        SessionSubject::Mentor(_) => LIFETIME,
        SessionSubject::Operator => OPERATOR_LIFETIME,
    };
    let token_hash = tokens::hash(&token);
    let admin_key = admin_key(state);
    let session = NewSession {
        token_hash: &token_hash,
        subject,
        admin_key: admin_key.as_deref(),
        now,
        expires_at: now + lifetime,
    };
    state.store.create_session(session).await?;
    let cookie = Cookie::build((COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies)
        .max_age(cookie::time::Duration::seconds(lifetime.num_seconds()))
        .build();
    Ok(jar.add(cookie))
}

/// Ends this browser's session, if any, and clears its cookie.
pub async fn sign_out(state: &AppState, jar: CookieJar) -> Result<CookieJar, PageError> {
    if let Some(cookie) = jar.get(COOKIE) {
        state
            .store
            .delete_session(&tokens::hash(cookie.value()))
            .await?;
    }
    Ok(jar.remove(Cookie::build(COOKIE).path("/")))
}

/// Who this browser's session signs in, if anyone.
pub async fn current(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<SessionSubject>, PageError> {
    let Some(cookie) = jar.get(COOKIE) else {
        return Ok(None);
    };
    Ok(state
        .store
        .session(
            &tokens::hash(cookie.value()),
            admin_key(state).as_deref(),
            state.clock.now(),
        )
        .await?)
}

/// The fingerprint of the deployment's admin token, kept with operator sessions
/// so that changing the token signs the operator out.
fn admin_key(state: &AppState) -> Option<String> {
    state
        .settings
        .admin_token
        .as_ref()
        .map(|token| tokens::admin_key(token.expose()))
}

/// A signed-in mentor; anyone else is sent to the mentor sign-in page.
#[derive(Clone, Copy, Debug)]
pub struct MentorSession(pub MentorId);

/// A signed-in operator; anyone else is sent to the operator sign-in page.
#[derive(Clone, Copy, Debug)]
pub struct OperatorSession;

/// Why a signed-in page was not shown.
#[derive(Debug)]
pub enum SessionRejection {
    /// Not signed in (as this kind of user): go to `sign_in`.
    SignIn(&'static str),
    /// The session could not be checked.
    Failed(PageError),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            SessionRejection::SignIn(path) => Redirect::to(path).into_response(),
            SessionRejection::Failed(error) => error.into_response(),
        }
    }
}

/// Where a mentor signs in.
pub const MENTOR_SIGN_IN: &str = "/mentor/sign-in";
/// Where the operator signs in.
pub const OPERATOR_SIGN_IN: &str = "/operator/sign-in";

/// Who the request's session cookie signs in, if anyone.
async fn signed_in(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<SessionSubject>, SessionRejection> {
    let jar = CookieJar::from_headers(&parts.headers);
    current(state, &jar).await.map_err(SessionRejection::Failed)
}

impl FromRequestParts<AppState> for MentorSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match signed_in(parts, state).await? {
            Some(SessionSubject::Mentor(id)) => Ok(MentorSession(id)),
            _ => Err(SessionRejection::SignIn(MENTOR_SIGN_IN)),
        }
    }
}

impl FromRequestParts<AppState> for OperatorSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match signed_in(parts, state).await? {
            Some(SessionSubject::Operator) => Ok(OperatorSession),
            _ => Err(SessionRejection::SignIn(OPERATOR_SIGN_IN)),
        }
    }
}
