//! `/mentor`: the signed-in mentor's dashboard. Upcoming calls (the seeker's first
//! name, topic and message; never their phone), commute windows with a preview of
//! the next slots, call length and per-window capacity, pauses, past calls, and
//! the private calendar feed link.
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
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;

use super::calendar;
use super::sign_in::{EmptyForm, SIGN_OUT_PATH};
use crate::domain::ValidationError;
use crate::domain::mentor::{CallSettings, RangeInput, parse_window};
use crate::domain::pause::Pause;
use crate::domain::status::Outcome;
use crate::service::mentors::{MentorChangeError, MentorSlot};
use crate::store::{MentorCall, MentorCalls, MentorRecord, PauseRecord, WindowRecord};
use crate::web::AppState;
use crate::web::pages::csrf::{CsrfForm, CsrfToken};
use crate::web::pages::error::PageError;
use crate::web::pages::layout::{
    Field, FormErrors, csrf_field, or_erased, page, time_in, zone_select,
};
use crate::web::pages::session::MentorSession;

/// How far ahead the slot preview looks.
pub const PREVIEW_DAYS: i64 = 7;
/// Most slots the preview lists.
const PREVIEW_LIMIT: usize = 40;
/// Most upcoming and past calls listed.
const CALL_LIMIT: u32 = 50;

const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
];

/// The dashboard and the forms on it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mentor", get(show))
        .route("/mentor/windows", post(create_window))
        .route("/mentor/windows/{id}/remove", post(delete_window))
        .route("/mentor/pauses", post(create_pause))
        .route("/mentor/pauses/{id}/remove", post(delete_pause))
        .route("/mentor/settings", post(save_settings))
        .route("/mentor/calendar", post(calendar::new_link))
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
pub struct Refused {
    /// The add-window form, as typed, and its errors.
    pub window: Option<(WindowForm, FormErrors)>,
    /// The add-pause form, as typed, and its errors.
    pub pause: Option<(PauseForm, FormErrors)>,
    /// The settings form, as typed, and its errors.
    pub settings: Option<(SettingsForm, FormErrors)>,
    /// A calendar link made just now, shown this once.
    pub new_calendar_url: Option<String>,
}

impl Refused {
    fn any_errors(&self) -> bool {
        self.window.is_some() || self.pause.is_some() || self.settings.is_some()
    }
}

async fn show(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    render(&state, mentor_id, &csrf, Refused::default()).await
}

/// The dashboard of mentor `mentor_id`, with `refused`'s forms and messages; 422
/// when a form was refused.
pub async fn render(
    state: &AppState,
    mentor_id: i64,
    csrf: &CsrfToken,
    refused: Refused,
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
        nav.mentor-nav aria-label="Dashboard sections" {
            a href="#upcoming" { "Upcoming calls" }
            a href="#windows" { "Commute windows" }
            a href="#slots" { "Next slots" }
            a href="#settings" { "Call length" }
            a href="#pauses" { "Pauses" }
            a href="#past" { "Past calls" }
            a href="#calendar" { "Calendar" }
        }
        (upcoming_section(&upcoming, zone))
        (windows_section(csrf, &mentor, &windows, refused.window.as_ref()))
        (slots_section(&slots, zone, windows.is_empty()))
        (settings_section(csrf, &mentor, refused.settings.as_ref()))
        (pauses_section(csrf, &pauses, refused.pause.as_ref()))
        (past_section(&past, zone))
        (calendar::section(csrf, calendar_made, refused.new_calendar_url.as_deref(), zone))
    };
    Ok((status, page("Your calls", body)).into_response())
}

async fn load(state: &AppState, mentor_id: i64) -> Result<MentorRecord, PageError> {
    // A session outlives nothing: a removed mentor's session cascades away, so this
    // is only a race with removal.
    state
        .store
        .mentor(mentor_id)
        .await?
        .ok_or(PageError::NotFound)
}

fn upcoming_section(calls: &[MentorCall], zone: Tz) -> Markup {
    html! {
        section #upcoming aria-labelledby="h-upcoming" {
            h2 #h-upcoming { "Upcoming calls" }
            @if calls.is_empty() {
                p.muted { "No calls booked yet. We book seekers into your windows and text you when we do." }
            }
            @for call in calls {
                article.card.call {
                    h3 {
                        (time_in(call.call.starts_at, zone))
                        " · " (or_erased(&call.seeker_first_name))
                    }
                    p { strong { "Topic: " } (or_erased(&call.topic)) }
                    p.message { (or_erased(&call.message)) }
                    @if call.call.status.as_str() != "scheduled" {
                        p { span.status { (call.call.status.as_str().replace('_', " ")) } }
                    }
                }
            }
        }
    }
}

fn window_text(window: &WindowRecord) -> String {
    let range = &window.range;
    let days: Vec<&str> = WEEKDAYS
        .iter()
        .filter(|(name, _)| range.weekdays().names().contains(name))
        .map(|(_, short)| *short)
        .collect();
    format!(
        "{} · {}–{}{} · {}",
        days.join(", "),
        range.start(),
        range.end(),
        if range.crosses_midnight() {
            " (next day)"
        } else {
            ""
        },
        range.zone().name().replace('_', " ")
    )
}

fn windows_section(
    csrf: &CsrfToken,
    mentor: &MentorRecord,
    windows: &[WindowRecord],
    refused: Option<&(WindowForm, FormErrors)>,
) -> Markup {
    let empty = (WindowForm::default(), FormErrors::none());
    let (form, errors) = refused.unwrap_or(&empty);
    let zone = if form.timezone.is_empty() {
        mentor.timezone.name()
    } else {
        form.timezone.as_str()
    };
    let weekday_error = errors.get("weekdays");
    html! {
        section #windows aria-labelledby="h-windows" {
            h2 #h-windows { "Commute windows" }
            p { "When you drive to work. We fill these with " (mentor.call_minutes) "-minute calls." }
            @if windows.is_empty() {
                p.muted { "No windows yet: add your first one below." }
            } @else {
                ul.plain-list {
                    @for window in windows {
                        li.row {
                            span { (window_text(window)) }
                            form method="post" action={ "/mentor/windows/" (window.id) "/remove" } {
                                (csrf_field(csrf.as_str()))
                                button.secondary type="submit"
                                    aria-label={ "Remove window " (window_text(window)) }
                                    data-confirm="Remove this window? Calls already booked in it stay booked." { "Remove" }
                            }
                        }
                    }
                }
            }
            form.card method="post" action="/mentor/windows#windows" novalidate {
                h3 { "Add a window" }
                (errors.summary())
                (csrf_field(csrf.as_str()))
                fieldset.weekdays.invalid[weekday_error.is_some()] #f-weekdays
                    aria-describedby=[weekday_error.map(|_| "f-weekdays-error")] {
                    legend { "Days" }
                    @if let Some(error) = weekday_error { p.error #f-weekdays-error { (error) } }
                    div.checks {
                        @for (value, label) in WEEKDAYS {
                            label {
                                input type="checkbox" name="weekdays" value=(value)
                                    checked[form.weekdays.iter().any(|day| day == value)];
                                (label)
                            }
                        }
                    }
                }
                div.two-up {
                    (Field { name: "start", label: "Leaving at", kind: "time", value: &form.start,
                        hint: None, autocomplete: None, required: true }.render(errors))
                    (Field { name: "end", label: "Arriving at", kind: "time", value: &form.end,
                        hint: None, autocomplete: None, required: true }.render(errors))
                }
                (zone_select("timezone", "Time zone of these times", zone, errors))
                button type="submit" { "Add window" }
            }
        }
    }
}

fn slots_section(slots: &[MentorSlot], zone: Tz, no_windows: bool) -> Markup {
    html! {
        section #slots aria-labelledby="h-slots" {
            h2 #h-slots { "Your next slots" }
            p.muted { "The calls your windows offer in the next " (PREVIEW_DAYS) " days, pauses taken out." }
            @if slots.is_empty() {
                p { @if no_windows { "Add a window to see your slots." } @else { "No slots in the next week." } }
            } @else {
                ul.slot-list {
                    @for slot in slots.iter().take(PREVIEW_LIMIT) {
                        li {
                            (time_in(slot.starts_at, zone))
                            @if slot.booked { " " span.status { "booked" } }
                        }
                    }
                }
                @if slots.len() > PREVIEW_LIMIT {
                    p.muted { "…and " (slots.len() - PREVIEW_LIMIT) " more." }
                }
            }
        }
    }
}

fn settings_section(
    csrf: &CsrfToken,
    mentor: &MentorRecord,
    refused: Option<&(SettingsForm, FormErrors)>,
) -> Markup {
    let stored = SettingsForm {
        call_minutes: mentor.call_minutes.to_string(),
        max_calls_per_window: mentor
            .max_calls_per_window
            .map(|cap| cap.to_string())
            .unwrap_or_default(),
    };
    let none = FormErrors::none();
    let (form, errors) = match refused {
        Some((form, errors)) => (form, errors),
        None => (&stored, &none),
    };
    html! {
        section #settings aria-labelledby="h-settings" {
            h2 #h-settings { "Call length and capacity" }
            form.card method="post" action="/mentor/settings#settings" novalidate {
                (errors.summary())
                (csrf_field(csrf.as_str()))
                div.two-up {
                    (Field { name: "call_minutes", label: "Minutes per call", kind: "number",
                        value: &form.call_minutes, hint: Some("5 to 120."), autocomplete: None,
                        required: true }.render(errors))
                    (Field { name: "max_calls_per_window", label: "Most calls per window",
                        kind: "number", value: &form.max_calls_per_window,
                        hint: Some("Leave empty for as many as fit."), autocomplete: None,
                        required: false }.render(errors))
                }
                button type="submit" { "Save" }
            }
        }
    }
}

fn pauses_section(
    csrf: &CsrfToken,
    pauses: &[PauseRecord],
    refused: Option<&(PauseForm, FormErrors)>,
) -> Markup {
    let empty = (PauseForm::default(), FormErrors::none());
    let (form, errors) = refused.unwrap_or(&empty);
    html! {
        section #pauses aria-labelledby="h-pauses" {
            h2 #h-pauses { "Pauses" }
            p { "Away or on vacation? No calls on these dates (in your zone, both days included)." }
            @if !pauses.is_empty() {
                ul.plain-list {
                    @for pause in pauses {
                        li.row {
                            span { (pause.pause.first_day().format("%a %b %-d, %Y")) " – " (pause.pause.last_day().format("%a %b %-d, %Y")) }
                            form method="post" action={ "/mentor/pauses/" (pause.id) "/remove" } {
                                (csrf_field(csrf.as_str()))
                                button.secondary type="submit" aria-label={ "Remove pause from " (pause.pause.first_day()) } { "Remove" }
                            }
                        }
                    }
                }
            }
            form.card method="post" action="/mentor/pauses#pauses" novalidate {
                h3 { "Add a pause" }
                (errors.summary())
                (csrf_field(csrf.as_str()))
                div.two-up {
                    (Field { name: "from", label: "From", kind: "date", value: &form.from,
                        hint: None, autocomplete: None, required: true }.render(errors))
                    (Field { name: "to", label: "To (included)", kind: "date", value: &form.to,
                        hint: None, autocomplete: None, required: true }.render(errors))
                }
                button type="submit" { "Add pause" }
            }
        }
    }
}

fn outcome_text(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Completed) => "Talked",
        Some(Outcome::MentorNoAnswer) => "You did not answer",
        Some(Outcome::MentorDeclined) => "You skipped it",
        Some(Outcome::SeekerNoAnswer) => "Seeker did not answer",
        Some(Outcome::SeekerBusy) => "Seeker was busy",
        Some(Outcome::Failed) => "The call failed",
        Some(Outcome::Canceled) | None => "Canceled",
    }
}

fn talk_time(seconds: Option<u32>) -> String {
    match seconds {
        Some(seconds) => format!("{} min {:02} s", seconds / 60, seconds % 60),
        None => "—".to_owned(),
    }
}

fn past_section(calls: &[MentorCall], zone: Tz) -> Markup {
    html! {
        section #past aria-labelledby="h-past" {
            h2 #h-past { "Past calls" }
            @if calls.is_empty() {
                p.muted { "None yet." }
            } @else {
                div.table-scroll {
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "With" } th scope="col" { "Topic" } th scope="col" { "Outcome" } th scope="col" { "Talk time" } } }
                        tbody {
                            @for call in calls {
                                tr {
                                    td { (time_in(call.call.starts_at, zone)) }
                                    td { (or_erased(&call.seeker_first_name)) }
                                    td { (or_erased(&call.topic)) }
                                    td { (outcome_text(call.call.outcome)) }
                                    td { (talk_time(call.call.talk_seconds)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
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
            let refused = Refused {
                window: Some((form, errors)),
                ..Refused::default()
            };
            render(&state, mentor_id, &token, refused).await
        }
    }
}

async fn delete_window(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    Path(window_id): Path<i64>,
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
            let refused = Refused {
                pause: Some((form, errors)),
                ..Refused::default()
            };
            render(&state, mentor_id, &token, refused).await
        }
    }
}

async fn delete_pause(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    Path(pause_id): Path<i64>,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    state.service.remove_pause(mentor_id, pause_id).await?;
    Ok(back_to("pauses"))
}

/// Reads a whole number typed into `field`; empty is `None`.
fn number(field: &'static str, text: &str) -> Result<Option<u32>, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| ValidationError::new(field, "enter a whole number"))
}

async fn save_settings(
    MentorSession(mentor_id): MentorSession,
    State(state): State<AppState>,
    CsrfForm { form, token }: CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let mentor = load(&state, mentor_id).await?;
    let parsed = number("call_minutes", &form.call_minutes)
        .and_then(|minutes| {
            minutes
                .ok_or_else(|| ValidationError::new("call_minutes", "enter the minutes per call"))
        })
        .and_then(|minutes| {
            let cap = number("max_calls_per_window", &form.max_calls_per_window)?;
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
            let refused = Refused {
                settings: Some((form, errors)),
                ..Refused::default()
            };
            render(&state, mentor_id, &token, refused).await
        }
    }
}
