//! `/operator/mentors`: every mentor at a glance, the form that registers one (the
//! same rules and token as `POST /api/v1/mentors`), and each mentor's page with
//! their windows, pauses, and the answer rate, completion rate and average
//! feedback of their last 30 days.
//!
//! Longer than most modules because the list and one mentor's page (figures,
//! windows, pauses, the pause form) are one section of the operator's pages; the
//! rest is tests.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;

use super::super::csrf::{CsrfForm, CsrfToken};
use super::super::error::PageError;
use super::super::layout::{Field, FormErrors, csrf_field, whole_number, zone_select};
use super::{Operator, Section, frame, path_id, scroll_table};
use crate::domain::feedback::{MentorFigures, average_text, percent_text};
use crate::domain::mentor::MentorInput;
use crate::domain::mentor::NewMentor;
use crate::domain::pause::Pause;
use crate::domain::weekly::resolve_local;
use crate::ids::{MentorId, PauseId};
use crate::service::mentors::MentorChangeError;
use crate::store::{AnswerTally, MentorRecord, PauseRecord};
use crate::tokens;
use crate::web::AppState;
use crate::web::pages::csrf::EmptyForm;

/// The mentor form's fields, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MentorForm {
    name: String,
    phone: String,
    timezone: String,
    /// Comma-separated.
    topics: String,
    call_minutes: String,
    max_calls_per_window: String,
}

/// The pause form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PauseForm {
    from: String,
    to: String,
}

/// One row of the mentor list.
struct MentorRow {
    mentor: MentorRecord,
    windows: usize,
    paused_until: Option<chrono::NaiveDate>,
    calls_this_week: usize,
    /// Share of the calls that rang them in the last 30 days they answered.
    answer_rate: Option<f64>,
}

/// Monday 00:00 of `now`'s ISO week in `zone`, and the Monday after.
fn local_week(now: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&zone).date_naive();
    let monday = today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()));
    (
        resolve_local(zone, monday.and_time(NaiveTime::MIN)),
        resolve_local(
            zone,
            (monday + TimeDelta::weeks(1)).and_time(NaiveTime::MIN),
        ),
    )
}

/// The pause in force on `now`'s date in the mentor's zone, if any.
fn pause_now(mentor: &MentorRecord, pauses: &[PauseRecord], now: DateTime<Utc>) -> Option<Pause> {
    let today = now.with_timezone(&mentor.timezone).date_naive();
    pauses
        .iter()
        .map(|pause| pause.pause)
        .find(|pause| pause.contains(today))
}

async fn rows(state: &AppState) -> Result<Vec<MentorRow>, PageError> {
    let now = state.clock.now();
    let rates = state.service.answer_rates().await?;
    let mut rows = Vec::new();
    for mentor in state.store.mentors().await? {
        let windows = state.store.windows(mentor.id).await?.len();
        let pauses = state.store.pauses(mentor.id).await?;
        let (from, to) = local_week(now, mentor.timezone);
        let calls_this_week = state.store.booked_starts(mentor.id, from, to).await?.len();
        rows.push(MentorRow {
            paused_until: pause_now(&mentor, &pauses, now).map(|pause| pause.last_day()),
            answer_rate: rates.get(&mentor.id).copied(),
            mentor,
            windows,
            calls_this_week,
        });
    }
    Ok(rows)
}

/// `GET /operator/mentors`.
pub async fn list(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Markup, PageError> {
    let rows = rows(&state).await?;
    Ok(list_page(
        &csrf,
        &rows,
        &MentorForm {
            call_minutes: "15".to_owned(),
            ..MentorForm::default()
        },
        &FormErrors::none(),
    ))
}

/// `POST /operator/mentors`: registers a mentor and sends the browser to the page
/// that shows their API token once.
pub async fn create(
    _: Operator,
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm { form, token }: CsrfForm<MentorForm>,
) -> Result<Response, PageError> {
    let topics: Vec<String> = form
        .topics
        .split(',')
        .map(str::trim)
        .filter(|topic| !topic.is_empty())
        .map(str::to_owned)
        .collect();
    let numbers = whole_number("call_minutes", &form.call_minutes).and_then(|call_minutes| {
        Ok((
            call_minutes,
            whole_number("max_calls_per_window", &form.max_calls_per_window)?,
        ))
    });
    let parsed = match numbers {
        Ok((call_minutes, max_calls_per_window)) => {
            let input = MentorInput {
                name: &form.name,
                phone: &form.phone,
                timezone: &form.timezone,
                topics: &topics,
                call_minutes,
                max_calls_per_window,
            };
            NewMentor::parse(input, state.settings.default_region.as_deref())
        }
        Err(error) => Err(error),
    };
    let mentor = match parsed {
        Ok(mentor) => mentor,
        Err(error) => {
            let rows = rows(&state).await?;
            let page = list_page(&token, &rows, &form, &FormErrors::from(error));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let (mentor, api_token) = state.service.register_mentor(&mentor).await?;
    // Post/redirect/get: reloading the next page must not register the mentor
    // again. The token rides to it in a short-lived cookie scoped to that page,
    // which shows it once and clears it.
    let cookie = Cookie::build((NEW_TOKEN_COOKIE, api_token))
        .path(created_path(mentor.id))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookies)
        .max_age(cookie::time::Duration::minutes(10))
        .build();
    Ok((jar.add(cookie), Redirect::to(&created_path(mentor.id))).into_response())
}

/// The cookie carrying a new mentor's API token to the page that shows it once.
const NEW_TOKEN_COOKIE: &str = "ridealong_new_mentor_token";

/// The page that shows mentor `id`'s API token after the form added them.
fn created_path(id: MentorId) -> String {
    format!("/operator/mentors/{id}/created")
}

/// `GET /operator/mentors/{id}/created`: the new mentor's API token, once.
pub async fn created(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
    jar: CookieJar,
    path: Result<Path<MentorId>, PathRejection>,
) -> Result<Response, PageError> {
    let id = path_id(path)?;
    let mentor = state.store.mentor(id).await?.ok_or(PageError::NotFound)?;
    let mut api_token = None;
    if let Some(cookie) = jar.get(NEW_TOKEN_COOKIE) {
        let owner = state
            .store
            .mentor_id_by_token_hash(&tokens::hash(cookie.value()))
            .await?;
        if owner == Some(id) {
            api_token = Some(cookie.value().to_owned());
        }
    }
    let jar = jar.remove(Cookie::build(NEW_TOKEN_COOKIE).path(created_path(id)));
    let page = frame(
        "Mentor added",
        &csrf,
        Section::Mentors,
        html! {
            h1 { "Mentor added" }
            div.notice role="status" {
                p { strong { (mentor.name) } " is registered (mentor " (mentor.id) ")." }
            }
            div.card.token-once {
                @if let Some(api_token) = &api_token {
                    h2 { "Their API token, shown only now" }
                    p { "Copy it and give it to the mentor privately; only a hash is kept, so it cannot be shown again." }
                    p { code #api-token { (api_token) } }
                } @else {
                    h2 { "Their API token was shown once" }
                    p { "Only a hash of it is kept, so it cannot be shown again." }
                }
                p {
                    "They do not need it for the web pages: mentors sign in at "
                    a href="/mentor" { "/mentor" } " with a code texted to their phone, "
                    (mentor.phone) ". The token is for the JSON API."
                }
            }
            p {
                a.button href={ "/operator/mentors/" (mentor.id) } { "See windows and pauses" }
                " "
                a href="/operator/mentors" { "Back to the mentors" }
            }
        },
    );
    Ok((jar, page).into_response())
}

fn list_page(
    csrf: &CsrfToken,
    rows: &[MentorRow],
    form: &MentorForm,
    errors: &FormErrors,
) -> Markup {
    frame(
        "Mentors",
        csrf,
        Section::Mentors,
        html! {
            h1 { "Mentors" }
            @if rows.is_empty() {
                p { "No mentors yet. Add the first one below." }
            } @else {
                (scroll_table("Mentors", &["Name", "Zone", "Topics", "Windows", "Paused", "Resting", "Answer rate", "Calls this week"], html! {
                    @for row in rows {
                        tr data-mentor=(row.mentor.id) {
                            td { a href={ "/operator/mentors/" (row.mentor.id) } { (row.mentor.name) } }
                            td { (row.mentor.timezone.name()) }
                            td { (row.mentor.topics.join(", ")) }
                            td.windows { (row.windows) }
                            td {
                                @match row.paused_until {
                                    Some(last) => { "until " (last.format("%Y-%m-%d")) }
                                    None => { "no" }
                                }
                            }
                            td.resting {
                                @match row.mentor.resting_since {
                                    Some(since) => { "since " (since.with_timezone(&row.mentor.timezone).format("%Y-%m-%d")) }
                                    None => { "no" }
                                }
                            }
                            td.answer-rate {
                                @match row.answer_rate {
                                    Some(rate) => { (format!("{:.0}%", rate * 100.0)) }
                                    None => { "–" }
                                }
                            }
                            td.calls-this-week { (row.calls_this_week) }
                        }
                    }
                }))
                p.hint { "Calls this week count booked and past calls in the mentor's own ISO week; pauses are dates in the mentor's zone. A mentor rests after missing several calls in a row, until they press \"I'm back\" on their dashboard. The answer rate is the share of the calls that rang the mentor in the last 30 days that they picked up." }
            }
            h2 #add { "Add a mentor" }
            (errors.summary())
            form.mentor-form method="post" action="/operator/mentors" novalidate {
                (csrf_field(csrf.as_str()))
                (Field { name: "name", label: "Name", kind: "text", value: &form.name,
                    hint: Some("What seekers are told: \"Your mentor today is …\"."),
                    autocomplete: Some("off"), required: true }.render(errors))
                (Field { name: "phone", label: "Phone", kind: "tel", value: &form.phone,
                    hint: Some("The number the calls ring. National format is read in the zone's country."),
                    autocomplete: Some("off"), required: true }.render(errors))
                (zone_select("timezone", "Time zone", &form.timezone, errors))
                (Field { name: "topics", label: "Topics", kind: "text", value: &form.topics,
                    hint: Some("What they can help with, separated by commas."),
                    autocomplete: Some("off"), required: false }.render(errors))
                (Field { name: "call_minutes", label: "Call length (minutes)", kind: "number",
                    value: &form.call_minutes, hint: Some("5 to 120; 15 if empty."),
                    autocomplete: None, required: false }.render(errors))
                (Field { name: "max_calls_per_window", label: "Calls per window", kind: "number",
                    value: &form.max_calls_per_window,
                    hint: Some("At most this many calls in one commute; empty uses every slot that fits."),
                    autocomplete: None, required: false }.render(errors))
                button type="submit" { "Add the mentor" }
            }
        },
    )
}

async fn detail_page(
    state: &AppState,
    csrf: &CsrfToken,
    id: MentorId,
    form: &PauseForm,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let mentor = state.store.mentor(id).await?.ok_or(PageError::NotFound)?;
    let windows = state.store.windows(id).await?;
    let pauses = state.store.pauses(id).await?;
    let now = state.clock.now();
    let paused = pause_now(&mentor, &pauses, now);
    let figures = state.service.mentor_figures(id, now).await?;
    let answers = state.service.answer_tally(id).await?;
    Ok(frame(
        &mentor.name,
        csrf,
        Section::Mentors,
        html! {
            p { a href="/operator/mentors" { "← All mentors" } }
            h1 { (mentor.name) }
            @if let Some(pause) = paused {
                p.notice { "Paused until " (pause.last_day().format("%Y-%m-%d")) " (in " (mentor.timezone.name()) ")." }
            }
            dl.facts {
                dt { "Phone" } dd { (mentor.phone) }
                dt { "Time zone" } dd { (mentor.timezone.name()) }
                dt { "Topics" } dd { @if mentor.topics.is_empty() { "—" } @else { (mentor.topics.join(", ")) } }
                dt { "Call length" } dd { (mentor.call_minutes) " minutes" }
                dt { "Calls per window" } dd {
                    @match mentor.max_calls_per_window { Some(cap) => { (cap) }, None => { "every slot that fits" } }
                }
                dt { "Registered" } dd { (super::utc(mentor.created_at)) }
            }
            p { a href={ "/operator/calls?mentor_id=" (mentor.id) } { "This mentor's calls" } }
            (figures_section(&figures, answers))
            h2 { "Commute windows" }
            @if windows.is_empty() {
                p { "None yet. The mentor adds them after signing in, or through the API." }
            } @else {
                ul.windows {
                    @for window in &windows {
                        li {
                            (window.range.weekdays().names().join(", ")) " "
                            (window.range.start().to_string()) "–" (window.range.end().to_string())
                            " (" (window.range.zone().name()) ")"
                        }
                    }
                }
            }
            h2 #pauses { "Pauses" }
            @if pauses.is_empty() {
                p { "No pauses." }
            } @else {
                ul.pauses {
                    @for pause in &pauses {
                        li {
                            (pause.pause.first_day().format("%Y-%m-%d")) " to "
                            (pause.pause.last_day().format("%Y-%m-%d"))
                            form.inline method="post" action={ "/operator/mentors/" (mentor.id) "/pauses/" (pause.id) "/delete" } {
                                (csrf_field(csrf.as_str()))
                                button.secondary type="submit" data-confirm="Remove this pause?" { "Remove" }
                            }
                        }
                    }
                }
            }
            h3 { "Pause this mentor" }
            p.hint { "No calls are booked on these dates, both included, in the mentor's zone. Calls already booked on them are booked again at another time, and their seekers are told." }
            (errors.summary())
            form method="post" action={ "/operator/mentors/" (mentor.id) "/pauses" } novalidate {
                (csrf_field(csrf.as_str()))
                div.date-pair {
                    (Field { name: "from", label: "From", kind: "date", value: &form.from, hint: None,
                        autocomplete: None, required: true }.render(errors))
                    (Field { name: "to", label: "To", kind: "date", value: &form.to, hint: None,
                        autocomplete: None, required: true }.render(errors))
                }
                button type="submit" { "Add the pause" }
            }
        },
    ))
}

/// How the mentor's calls of the last 30 days went: answer rate (`answers`,
/// the same figure as the mentor list and the mentor JSON), completion rate and
/// the seekers' average feedback, each with what it is counted from.
fn figures_section(figures: &MentorFigures, answers: AnswerTally) -> Markup {
    let rate = |rate: Option<f64>| rate.map_or_else(|| "—".to_owned(), percent_text);
    html! {
        h2 #figures { "Last 30 days" }
        p.hint {
            "Of the calls that started in the last 30 days and rang the mentor: the share the mentor picked up "
            "(as on the mentor list), and, canceled and failed calls left out, the share that completed. "
            "Feedback is the seekers' 1–5 answers after completed calls."
        }
        ul.figures {
            li data-figure="answer-rate" {
                span { strong { (rate(answers.rate())) } " answered ("
                    (answers.answered) " of " (answers.dialed) ")" }
            }
            li data-figure="completion-rate" {
                span { strong { (rate(figures.completion_rate())) } " completed ("
                    (figures.completed) " of " (figures.rung) ")" }
            }
            li data-figure="feedback-average" {
                span {
                    strong { (figures.feedback.average().map_or_else(|| "—".to_owned(), average_text)) }
                    " average feedback (" (figures.feedback.count) " "
                    (if figures.feedback.count == 1 { "answer" } else { "answers" }) ")"
                }
            }
        }
    }
}

/// `GET /operator/mentors/{id}`.
pub async fn detail(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
    path: Result<Path<MentorId>, PathRejection>,
) -> Result<Markup, PageError> {
    let id = path_id(path)?;
    detail_page(
        &state,
        &csrf,
        id,
        &PauseForm::default(),
        &FormErrors::none(),
    )
    .await
}

/// `POST /operator/mentors/{id}/pauses`: like `POST /api/v1/mentors/{id}/pauses`.
pub async fn add_pause(
    _: Operator,
    State(state): State<AppState>,
    path: Result<Path<MentorId>, PathRejection>,
    CsrfForm { form, token }: CsrfForm<PauseForm>,
) -> Result<Response, PageError> {
    let id = path_id(path)?;
    state.store.mentor(id).await?.ok_or(PageError::NotFound)?;
    let pause = match Pause::parse(&form.from, &form.to) {
        Ok(pause) => pause,
        Err(error) => {
            let page = detail_page(&state, &token, id, &form, &FormErrors::from(error)).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match state.service.add_pause(id, &pause).await {
        Ok(_) => Ok(Redirect::to(&format!("/operator/mentors/{id}#pauses")).into_response()),
        Err(MentorChangeError::MentorNotFound) => Err(PageError::NotFound),
        Err(error) => Err(PageError::Internal(error.into())),
    }
}

/// `POST /operator/mentors/{id}/pauses/{pid}/delete`: removes a pause.
pub async fn remove_pause(
    _: Operator,
    State(state): State<AppState>,
    path: Result<Path<(MentorId, PauseId)>, PathRejection>,
    _: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let Ok(Path((id, pause_id))) = path else {
        return Err(PageError::NotFound);
    };
    if !state.service.remove_pause(id, pause_id).await? {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to(&format!("/operator/mentors/{id}#pauses")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_optional_whole_numbers() {
        assert_eq!(whole_number("call_minutes", " "), Ok(None));
        assert_eq!(whole_number("call_minutes", "20"), Ok(Some(20)));
        assert_eq!(
            whole_number("call_minutes", "2.5").unwrap_err().field,
            "call_minutes"
        );
        assert!(whole_number("call_minutes", "-1").is_err());
    }

    #[test]
    fn a_week_in_the_mentors_zone_starts_on_local_monday() {
        let now: DateTime<Utc> = "2026-12-01T03:00:00Z".parse().unwrap();
        // Still Monday evening in Los Angeles.
        let (from, to) = local_week(now, chrono_tz::America::Los_Angeles);
        assert_eq!(
            from,
            "2026-11-30T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(to, "2026-12-07T08:00:00Z".parse::<DateTime<Utc>>().unwrap());
    }
}
