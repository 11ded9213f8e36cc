//! Who is calling: the admin, a mentor, or a seeker holding a manage token.
//!
//! A missing or unknown bearer token is 401. A valid token reaching what is not its
//! own is 403. A manage token that does not fit the request is 404, so request ids
//! cannot be probed.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use crate::ids::MentorId;
use crate::tokens;

/// An authenticated API caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Holds the admin token.
    Admin,
    /// Holds mentor `id`'s token.
    Mentor(MentorId),
}

impl Caller {
    /// Admin only; a mentor is refused with 403.
    pub fn require_admin(self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Mentor(_) => Err(ApiError::Forbidden),
        }
    }

    /// The admin, or mentor `mentor_id` themself.
    pub fn require_mentor(self, mentor_id: MentorId) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Mentor(id) if id == mentor_id => Ok(()),
            Caller::Mentor(_) => Err(ApiError::Forbidden),
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether `token` is the configured admin token.
pub fn is_admin_token(state: &AppState, token: &str) -> bool {
    state
        .settings
        .admin_token
        .as_ref()
        .is_some_and(|admin| tokens::same_secret(token, admin.expose()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        if is_admin_token(state, token) {
            return Ok(Caller::Admin);
        }
        if !token.starts_with(tokens::MENTOR_PREFIX) {
            return Err(ApiError::Unauthorized);
        }
        let id = state
            .store
            .mentor_id_by_token_hash(&tokens::hash(token))
            .await?;
        id.map(Caller::Mentor).ok_or(ApiError::Unauthorized)
    }
}

/// A seeker's manage token, from `?token=` or the bearer header; or the admin.
#[derive(Clone, Debug)]
pub enum RequestAccess {
    /// Holds the admin token.
    Admin,
    /// Presents this manage token (not yet checked against a request).
    ManageToken(String),
}

#[derive(Deserialize)]
struct TokenParam {
    token: Option<String>,
}

impl RequestAccess {
    /// Whether this access opens the request whose manage token hashes to
    /// `manage_token_hash`.
    pub fn opens(&self, manage_token_hash: &str) -> bool {
        match self {
            RequestAccess::Admin => true,
            RequestAccess::ManageToken(token) => {
                tokens::same_secret(&tokens::hash(token), manage_token_hash)
            }
        }
    }

    /// The hash of the presented manage token, to look up among reminders'
    /// manage links; `None` for the admin.
    pub fn token_hash(&self) -> Option<String> {
        match self {
            RequestAccess::Admin => None,
            RequestAccess::ManageToken(token) => Some(tokens::hash(token)),
        }
    }
}

impl FromRequestParts<AppState> for RequestAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let from_query = axum::extract::Query::<TokenParam>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|query| query.0.token)
            .filter(|token| !token.is_empty());
        let token = from_query
            .or_else(|| bearer_token(parts).map(str::to_owned))
            .ok_or(ApiError::Unauthorized)?;
        if is_admin_token(state, &token) {
            return Ok(RequestAccess::Admin);
        }
        Ok(RequestAccess::ManageToken(token))
    }
}
