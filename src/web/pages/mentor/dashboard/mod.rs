//! `/mentor`: the signed-in mentor's dashboard. Upcoming calls (the seeker's first
//! name, topic and message; never their phone), commute windows with a preview of
//! the next slots, call length and per-window capacity, pauses, the seekers'
//! feedback (a count and an average, never one call's), past calls, and the
//! private calendar feed link.
//!
//! Every change is the same use case as the JSON API's
//! ([`crate::service::mentors`]), so both parse, store and nudge the matcher the
//! same way. A refused change shows the dashboard again with the message next to
//! the field and what was typed kept.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::TimeDelta;
use maud::html;
use serde::Deserialize;

mod sections;

use super::sign_in::SIGN_OUT_PATH;
use crate::domain::ValidationError;
use crate::domain::mentor::{CallSettings, RangeInput, parse_window};
use crate::domain::pause::Pause;
use crate::ids::{CallId, MentorId, PauseId, WindowId};
use crate::service::mentor_calls::{CancelCallOutcome, GivenBackBy};
use crate::service::mentors::MentorChangeError;
use crate::store::{MentorCalls, MentorRecord};
use crate::web::AppState;
use crate::web::pages::csrf::EmptyForm;
use crate::web::pages::csrf::{CsrfForm, CsrfToken};
use crate::web::pages::error::PageError;
use crate::web::pages::layout::{FormErrors, csrf_field, page, whole_number};
use crate::web::pages::session::MentorSession;
use sections::{
    calendar_section, feedback_section, past_section, pauses_section, settings_section,
    slots_section, upcoming_section, windows_section,
};

/// How far ahead the slot preview looks.
pub const PREVIEW_DAYS: i64 = 7;
/// Most slots the preview lists.
pub(super) const PREVIEW_LIMIT: usize = 40;
/// Most upcoming and past calls listed.
const CALL_LIMIT: u32 = 50;

/// The dashboard and the forms on it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mentor", get(show))
        .route("/mentor/windows", post(create_window))
        .route("/mentor/windows/{id}/remove", post(delete_window))
        .route("/mentor/pauses", post(create_pause))
        .route("/mentor/pauses/{id}/remove", post(delete_pause))
        .route("/mentor/settings", post(save_settings))
        .route("/mentor/calls/{id}/cancel", post(cancel_call))
        .route("/mentor/resume", post(resume))
        .route("/mentor/calendar", post(new_calendar_link))
}

/// The add-window form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct WindowForm {
    /// Checked weekdays (`mon` … `sun`).
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Local start, `HH:MM`.
    #[serde(default)]
    pub start: String,
    /// Local end, `HH:MM`.
    #[serde(default)]
    pub end: String,
    /// IANA zone.
    #[serde(default)]
    pub timezone: String,
}

/// The add-pause form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct PauseForm {
    /// First paused date.
    #[serde(default)]
    pub from: String,
    /// Last paused date.
    #[serde(default)]
    pub to: String,
}

/// The call-settings form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    /// Minutes per call.
    #[serde(default)]
    pub call_minutes: String,
    /// Most calls per window occurrence; empty for every slot that fits.
    #[serde(default)]
    pub max_calls_per_window: String,
}

/// What the dashboard shows besides the stored data: a form that was refused
/// (with what was typed and why), or a calendar link just made.
#[derive(Debug, Default)]
pub struct RefusedDashboardForms {
    /// The add-window form, as typed, and its errors.
    pub window: Option<(WindowForm, FormErrors)>,
    /// The add-pause form, as typed, and its errors.
    pub pause: Option<(PauseForm, FormErrors)>,
    /// The settings form, as typed, and its errors.
    pub settings: Option<(SettingsForm, FormErrors)>,
    /// A calendar link made just now, shown this once.
    pub new_calendar_url: Option<String>,
}

impl RefusedDashboardForms {
    fn any_errors(&self) -> bool {
        self.window.is_some() || self.pause.is_some() || self.settings.is_some()
    }
}

async fn show(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    render(&state, mentor_id, &csrf, RefusedDashboardForms::default()).await
}

/// The dashboard of mentor `mentor_id`, with `refused`'s forms and messages; 422
/// when a form was refused.
pub async fn render(
    state: &AppState,
    mentor_id: MentorId,
    csrf: &CsrfToken,
    refused: RefusedDashboardForms,
) -> Result<Response, PageError> {
    let mentor = load(state, mentor_id).await?;
    let now = state.clock.now();
    let windows = state.store.windows(mentor.id).await?;
    let pauses = state.store.pauses(mentor.id).await?;
    let slots = state
        .service
        .mentor_slots(&mentor, now, now + TimeDelta::days(PREVIEW_DAYS))
        .await?;
    let upcoming = state
        .store
        .mentor_calls(mentor.id, MentorCalls::Upcoming, CALL_LIMIT)
        .await?;
    let past = state
        .store
        .mentor_calls(mentor.id, MentorCalls::Past, CALL_LIMIT)
        .await?;
    let figures = state.service.mentor_figures(mentor.id, now).await?;
    let calendar_made = state.store.calendar_made_at(mentor.id).await?;
    let status = if refused.any_errors() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let zone = mentor.timezone;
    let body = html! {
        div.mentor-head {
            h1 { "Hello, " (mentor.name) }
            form method="post" action=(SIGN_OUT_PATH) {
                (csrf_field(csrf.as_str()))
                button.secondary type="submit" { "Sign out" }
            }
        }
        p.muted { "Times are shown in your zone, " (zone.name()) "." }
        @if mentor.resting_since.is_some() {
            section #resting .notice aria-labelledby="h-resting" {
                h2 #h-resting { "You're resting" }
                p { "We couldn't reach you for several calls in a row, so we've stopped booking calls for you and gave your booked calls to other mentors. Ready again?" }
                form method="post" action="/mentor/resume" {
                    (csrf_field(csrf.as_str()))
                    button type="submit" { "I'm back" }
                }
            }
        }
        nav.mentor-nav aria-label="Dashboard sections" {
            a href="#upcoming" { "Upcoming calls" }
            a href="#windows" { "Commute windows" }
            a href="#slots" { "Next slots" }
            a href="#settings" { "Call length" }
            a href="#pauses" { "Pauses" }
            a href="#feedback" { "Feedback" }
            a href="#past" { "Past calls" }
            a href="#calendar" { "Calendar" }
        }
        (upcoming_section(csrf, &upcoming, zone))
        (windows_section(csrf, &mentor, &windows, refused.window.as_ref()))
        (slots_section(&slots, zone, windows.is_empty()))
        (settings_section(csrf, &mentor, refused.settings.as_ref()))
        (pauses_section(csrf, &pauses, refused.pause.as_ref()))
        (feedback_section(figures.feedback))
        (past_section(&past, zone))
        (calendar_section(csrf, calendar_made, refused.new_calendar_url.as_deref(), zone))
    };
    Ok((status, page("Your calls", body)).into_response())
}

async fn load(state: &AppState, mentor_id: MentorId) -> Result<MentorRecord, PageError> {
    // A session outlives nothing: a removed mentor's session cascades away, so this
    // is only a race with removal.
    state
        .store
        .mentor(mentor_id)
        .await?
        .ok_or(PageError::NotFound)
}

/// `POST /mentor/calendar`: a new feed token replaces the old one; the dashboard
/// shows its link this once.
async fn new_calendar_link(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    CsrfForm { token: csrf, .. }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let token = state.service.new_calendar_token(mentor_id).await?;
    let url = format!(
        "{}/calendar/{token}.ics",
        state.dispatch_settings.public_url.trim_end_matches('/')
    );
    let refused = RefusedDashboardForms {
        new_calendar_url: Some(url),
        ..RefusedDashboardForms::default()
    };
    render(&state, mentor_id, &csrf, refused).await
}

/// Turns a refused change into the form's errors; anything else is a failure.
fn refusal(error: MentorChangeError) -> Result<FormErrors, PageError> {
    match error {
        MentorChangeError::Invalid(error) => Ok(error.into()),
        MentorChangeError::MentorNotFound => Err(PageError::NotFound),
        MentorChangeError::Store(error) => Err(error.into()),
    }
}

fn back_to(section: &str) -> Response {
    Redirect::to(&format!("/mentor#{section}")).into_response()
}

async fn create_window(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    CsrfForm { form, token }: CsrfForm<WindowForm>,
) -> Result<Response, PageError> {
    let mentor = load(&state, mentor_id).await?;
    let input = RangeInput {
        weekdays: &form.weekdays,
        start: &form.start,
        end: &form.end,
        timezone: Some(form.timezone.as_str()).filter(|zone| !zone.is_empty()),
    };
    let added = match parse_window(input, mentor.timezone, mentor.call_minutes) {
        Ok(range) => state
            .service
            .add_window(mentor.id, &range)
            .await
            .map_err(MentorChangeError::from),
        Err(error) => Err(error.into()),
    };
    match added {
        Ok(_) => Ok(back_to("windows")),
        Err(error) => {
            let errors = refusal(error)?;
            let refused = RefusedDashboardForms {
                window: Some((form, errors)),
                ..RefusedDashboardForms::default()
            };
            render(&state, mentor_id, &token, refused).await
        }
    }
}

async fn delete_window(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    Path(window_id): Path<WindowId>,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    // Another mentor's window, or one removed in another tab: nothing to do.
    state.service.remove_window(mentor_id, window_id).await?;
    Ok(back_to("windows"))
}

async fn create_pause(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    CsrfForm { form, token }: CsrfForm<PauseForm>,
) -> Result<Response, PageError> {
    let added = match Pause::parse(&form.from, &form.to) {
        Ok(pause) => state.service.add_pause(mentor_id, &pause).await,
        Err(error) => Err(error.into()),
    };
    match added {
        Ok(_) => Ok(back_to("pauses")),
        Err(error) => {
            let errors = refusal(error)?;
            let refused = RefusedDashboardForms {
                pause: Some((form, errors)),
                ..RefusedDashboardForms::default()
            };
            render(&state, mentor_id, &token, refused).await
        }
    }
}

async fn delete_pause(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    Path(pause_id): Path<PauseId>,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    state.service.remove_pause(mentor_id, pause_id).await?;
    Ok(back_to("pauses"))
}

/// `POST /mentor/calls/{id}/cancel`: "Can't make it". The call is given back
/// and its seeker booked again, as through the API; a call already dialing
/// stays, and the dashboard shows where it stands.
async fn cancel_call(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    Path(call_id): Path<CallId>,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let outcome = state
        .service
        .cancel_call_for_mentor(call_id, GivenBackBy::Mentor(mentor_id))
        .await?;
    match outcome {
        CancelCallOutcome::Canceled
        | CancelCallOutcome::AlreadyCanceled
        | CancelCallOutcome::TooLate(_) => Ok(back_to("upcoming")),
        CancelCallOutcome::NotFound => Err(PageError::NotFound),
    }
}

/// `POST /mentor/resume`: "I'm back" after resting for repeated misses; calls
/// are booked again from now on.
async fn resume(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    match state.service.resume_mentor(mentor_id).await {
        Ok(_) => Ok(back_to("upcoming")),
        Err(MentorChangeError::Store(error)) => Err(error.into()),
        Err(MentorChangeError::MentorNotFound | MentorChangeError::Invalid(_)) => {
            Err(PageError::NotFound)
        }
    }
}

async fn save_settings(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    CsrfForm { form, token }: CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let mentor = load(&state, mentor_id).await?;
    let parsed = whole_number("call_minutes", &form.call_minutes)
        .and_then(|minutes| {
            minutes
                .ok_or_else(|| ValidationError::new("call_minutes", "enter the minutes per call"))
        })
        .and_then(|minutes| {
            let cap = whole_number("max_calls_per_window", &form.max_calls_per_window)?;
            CallSettings::parse(Some(minutes), cap)
        });
    let result = match parsed {
        Ok(settings) => state.service.update_call_settings(&mentor, settings).await,
        Err(error) => Err(error.into()),
    };
    match result {
        Ok(()) => Ok(back_to("settings")),
        Err(error) => {
            let errors = refusal(error)?;
            let refused = RefusedDashboardForms {
                settings: Some((form, errors)),
                ..RefusedDashboardForms::default()
            };
            render(&state, mentor_id, &token, refused).await
        }
    }
}
