//! What a page handler fails with, shown as a page in the site's frame (the JSON
//! API has [`crate::web::error::ApiError`]). A 500 hides its cause and logs it once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::page;
use crate::store::StoreError;

/// Everything a page handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Nothing there, or nothing this visitor may know of (404).
    #[error("page not found")]
    NotFound,
    /// A form whose CSRF token is missing or wrong, or posted from another site (403).
    #[error("form check failed")]
    FormExpired,
    /// A request the page cannot read (400).
    #[error("{0}")]
    BadRequest(String),
    /// Too many forms sent from this address for now (429).
    #[error("too many requests")]
    TooManyRequests,
    /// The service cannot take this request now (503).
    #[error("unavailable")]
    Unavailable,
    /// Something broke on our side (500); the cause is logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        PageError::Internal(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. If you followed a link from a text message, check that it was copied whole.".to_owned(),
            ),
            PageError::FormExpired => (
                StatusCode::FORBIDDEN,
                "Please try that again",
                "This form expired or came from another site, so nothing was saved. Go back, reload the page and send it again.".to_owned(),
            ),
            PageError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, "That did not work", message.clone())
            }
            PageError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "Please wait a moment",
                "Several forms came from your connection in a short time, so we paused it. Please wait a minute and send it again.".to_owned(),
            ),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy right now",
                "ridealong is very busy at the moment and nothing was changed. Please try again in a few seconds.".to_owned(),
            ),
            PageError::Internal(error) => {
                tracing::error!(error = %error, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side and nothing was changed. Please try again in a minute.".to_owned(),
                )
            }
        };
        let body = page(
            title,
            html! {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Back to the start" } }
            },
        );
        (status, body).into_response()
    }
}
