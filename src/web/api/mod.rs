//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/v1/openapi.json`, which is generated from these handlers.
//!
//! Each handler checks who is calling, parses the body into domain types, calls a
//! use case in [`crate::service`] and says what its outcome means as a status code
//! and the JSON error shape. May not: be called by a page; share words with the
//! pages (each door owns its own).

pub mod calls;
pub mod consent;
pub mod mentors;
pub mod openapi;
pub mod requests;

use std::str::FromStr;

use axum::Json;
use axum::Router;
use axum::routing::{delete, get, post};

use super::AppState;
use super::error::ApiError;
use crate::domain::ValidationError;

/// Rows a list returns when no `limit` is given.
pub const DEFAULT_PAGE: u32 = 100;
/// Most rows a list returns.
pub const MAX_PAGE: u32 = 1000;

/// The routes of `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route(
            "/api/v1/mentors",
            post(mentors::create_mentor).get(mentors::list_mentors),
        )
        .route("/api/v1/mentors/{id}", get(mentors::get_mentor))
        .route("/api/v1/mentors/{id}/windows", post(mentors::create_window))
        .route(
            "/api/v1/mentors/{id}/windows/{wid}",
            delete(mentors::delete_window),
        )
        .route("/api/v1/mentors/{id}/pauses", post(mentors::create_pause))
        .route("/api/v1/mentors/{id}/resume", post(mentors::resume_mentor))
        .route(
            "/api/v1/mentors/{id}/pauses/{pid}",
            delete(mentors::delete_pause),
        )
        .route("/api/v1/mentors/{id}/slots", get(mentors::list_slots))
        .route(
            "/api/v1/requests",
            post(requests::create_request).get(requests::list_requests),
        )
        .route(
            "/api/v1/requests/{id}",
            get(requests::get_request).delete(requests::cancel_request),
        )
        .route("/api/v1/requests/{id}/confirm", post(consent::confirm))
        .route("/api/v1/requests/{id}/code", post(consent::new_code))
        .route("/api/v1/calls", get(calls::list_calls))
        .route("/api/v1/calls/{id}", get(calls::get_call))
        .route("/api/v1/calls/{id}/cancel", post(calls::cancel_call))
}

/// Parses an optional `status` filter.
fn parse_status<T: FromStr<Err = ValidationError>>(
    text: Option<&str>,
) -> Result<Option<T>, ApiError> {
    Ok(text.map(str::parse).transpose()?)
}

/// Checks a `limit` query value.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        limit @ 1..=MAX_PAGE => Ok(limit),
        _ => Err(ValidationError::new("limit", format!("must be between 1 and {MAX_PAGE}")).into()),
    }
}
