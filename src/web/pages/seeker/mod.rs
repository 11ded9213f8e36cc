//! The seeker's pages: `/request` (the form that asks for a call), `/r/{token}`
//! (the private manage page) and the manage page's consent steps. One module a
//! page: `request_form`, `manage`, and `consent` for the posts of the
//! manage page's confirm and erase cards.

mod consent;
mod manage;
mod request_form;

use axum::Router;
use axum::routing::{get, post};

pub use manage::availability_text;

use crate::web::AppState;

/// `/request`, `/r/{token}` and its buttons: cancel, confirm the number, text a
/// new code, erase.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/request",
            get(request_form::request_form).post(request_form::send_request),
        )
        .route("/r/{token}", get(manage::manage))
        .route("/r/{token}/cancel", post(manage::cancel))
        .route("/r/{token}/confirm", post(consent::confirm))
        .route("/r/{token}/code", post(consent::new_code))
        .route("/r/{token}/erase", post(consent::erase_request))
}
