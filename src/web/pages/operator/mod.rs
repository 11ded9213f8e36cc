//! The operator's pages, behind the admin token: sign-in, an overview with outcome
//! counts per week, mentors (create, pause), requests and calls with filters,
//! one request with the consent kept with it, and outbound webhook deliveries.
//!
//! Only a browser signed in with the admin token sees them ([`Operator`]); with no
//! admin token configured they are off. The operator runs the service, so mentors'
//! phone numbers are shown here; seekers' numbers are not needed and never shown.

mod activity;
mod mentors;
mod overview;
mod request;
mod sign_in;
mod webhooks;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};

use super::csrf::CsrfToken;
use super::error::PageError;
use super::layout::{csrf_field, datetime_attribute, local_time, page};
use super::session::{OPERATOR_SIGN_IN, OperatorSession, SessionRejection};
use crate::web::AppState;

/// Most rows a list page shows.
pub const LIST_LIMIT: u32 = 200;

/// The operator's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(OPERATOR_SIGN_IN, get(sign_in::form).post(sign_in::submit))
        .route("/operator/sign-out", post(sign_in::sign_out))
        .route("/operator", get(overview::overview))
        .route(
            "/operator/mentors",
            get(mentors::list).post(mentors::create),
        )
        .route("/operator/mentors/{id}", get(mentors::detail))
        .route("/operator/mentors/{id}/created", get(mentors::created))
        .route("/operator/mentors/{id}/pauses", post(mentors::add_pause))
        .route(
            "/operator/mentors/{id}/pauses/{pid}/delete",
            post(mentors::remove_pause),
        )
        .route("/operator/requests", get(activity::requests))
        .route("/operator/requests/{id}", get(request::detail))
        .route("/operator/calls", get(activity::calls))
        .route("/operator/calls/{id}", get(activity::call))
        .route("/operator/webhooks", get(webhooks::webhooks))
}

/// The signed-in operator. Anyone else, or everyone while no admin token is
/// configured, is sent to the sign-in page.
#[derive(Clone, Copy, Debug)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.settings.admin_token.is_none() {
            return Err(SessionRejection::SignIn(OPERATOR_SIGN_IN));
        }
        OperatorSession::from_request_parts(parts, state)
            .await
            .map(|_| Operator)
    }
}

/// Which operator page is showing, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Overview,
    Mentors,
    Requests,
    Calls,
    Webhooks,
}

/// An operator page: the site frame with the operator's navigation and sign-out.
fn frame(title: &str, csrf: &CsrfToken, current: Section, body: Markup) -> Markup {
    let links = [
        (Section::Overview, "/operator", "Overview"),
        (Section::Mentors, "/operator/mentors", "Mentors"),
        (Section::Requests, "/operator/requests", "Requests"),
        (Section::Calls, "/operator/calls", "Calls"),
        (Section::Webhooks, "/operator/webhooks", "Webhooks"),
    ];
    page(
        title,
        html! {
            div.operator {
                nav.operator-nav aria-label="Operator" {
                    @for (section, href, label) in links {
                        a href=(href) aria-current=[(section == current).then_some("page")] { (label) }
                    }
                    form.inline method="post" action="/operator/sign-out" {
                        (csrf_field(csrf.as_str()))
                        button.secondary type="submit" { "Sign out" }
                    }
                }
                (body)
            }
        },
    )
}

/// A table in its own horizontal scroll box, so a wide table never widens the page
/// on a phone; `rows` are the body's `<tr>`s.
fn scroll_table(label: &str, headers: &[&str], rows: Markup) -> Markup {
    html! {
        div.table-scroll role="region" aria-label=(label) tabindex="0" {
            table {
                thead { tr { @for header in headers { th scope="col" { (header) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// The id in a page's path; anything that is not one is a page that does not exist.
fn path_id<T>(path: Result<Path<T>, PathRejection>) -> Result<T, PageError> {
    path.map(|Path(id)| id).map_err(|_| PageError::NotFound)
}

/// An instant in UTC, as a `<time>` element: "2026-11-30 15:00 UTC".
fn utc(instant: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(datetime_attribute(instant)) { (instant.format("%Y-%m-%d %H:%M UTC")) }
    }
}

/// An instant as a person in `zone` reads it, short ("Mon Nov 30, 10:00 AM EST"),
/// with the zone's name and the long form on hover.
fn local(instant: DateTime<Utc>, zone: Tz) -> Markup {
    let short = instant
        .with_timezone(&zone)
        .format("%a %b %-d, %-I:%M %p %Z");
    html! {
        time.local datetime=(datetime_attribute(instant)) title={ (local_time(instant, zone)) ", " (zone.name()) } {
            (short)
        }
    }
}

/// Talk time as minutes and seconds; a dash without a bridged call.
fn talk_time(seconds: Option<u32>) -> String {
    match seconds {
        Some(seconds) => format!("{}:{:02}", seconds / 60, seconds % 60),
        None => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_time_reads_as_minutes_and_seconds() {
        assert_eq!(talk_time(Some(0)), "0:00");
        assert_eq!(talk_time(Some(754)), "12:34");
        assert_eq!(talk_time(None), "—");
    }
}
