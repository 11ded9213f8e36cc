//! `/operator/requests` and `/operator/calls`: tables with filters (plain GET forms),
//! newest first, and `/operator/calls/{id}` with a call's event log.

use std::str::FromStr;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::super::csrf::CsrfToken;
use super::super::error::PageError;
use super::super::layout::{FormErrors, field_id, or_erased};
use super::request::consent_cell;
use super::{LIST_LIMIT, Operator, Section, frame, local, path_id, scroll_table, talk_time, utc};
use crate::domain::ValidationError;
use crate::domain::status::{CallStatus, RequestStatus};
use crate::ids::{CallId, MentorId};
use crate::store::{CallFilter, CallListing, MentorRecord, RequestFilter, RequestRecord};
use crate::web::AppState;

/// The filters of the request and call lists, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    status: String,
    mentor_id: String,
}

/// Reads the query string; anything unreadable is a filter error.
fn read_query(raw: Option<String>) -> Result<ListQuery, ValidationError> {
    serde_html_form::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ValidationError::new("status", "the filter could not be read; choose again"))
}

/// The query string and its status filter, with what was wrong with them.
fn read_filters<T: FromStr<Err = ValidationError>>(
    raw: Option<String>,
) -> (ListQuery, Option<T>, FormErrors) {
    let mut errors = FormErrors::none();
    let query = read_query(raw).unwrap_or_else(|error| {
        errors.push(error);
        ListQuery::default()
    });
    let status = status_filter::<T>(&query.status).unwrap_or_else(|error| {
        errors.push(error);
        None
    });
    (query, status, errors)
}

/// An optional status filter: empty means every status.
fn status_filter<T: FromStr<Err = ValidationError>>(
    text: &str,
) -> Result<Option<T>, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some)
}

/// A labelled `<select>` of `options` (value, label) with "all" first.
fn filter_select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FormErrors,
) -> Markup {
    let id = field_id(name);
    let error = errors.get(name);
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(error) = error { p.error id={ (id) "-error" } { (error) } }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                option value="" selected[selected.is_empty()] { "All" }
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

fn status_options(names: impl Iterator<Item = &'static str>) -> Vec<(String, String)> {
    names
        .map(|name| (name.to_owned(), name.replace('_', " ")))
        .collect()
}

/// The status of a page with a filter: 400 when the filter was refused.
fn answer(errors: &FormErrors, page: Markup) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, page).into_response()
}

/// `GET /operator/requests?status=`.
pub async fn requests(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (_, status, errors) = read_filters::<RequestStatus>(raw);
    let requests = if errors.is_empty() {
        state
            .store
            .requests_newest_first(RequestFilter {
                status,
                after_id: None,
                limit: LIST_LIMIT,
            })
            .await?
    } else {
        Vec::new()
    };
    let options = status_options(RequestStatus::ALL.iter().map(|status| status.as_str()));
    let selected = status.map_or("", RequestStatus::as_str);
    let page = frame(
        "Requests",
        &csrf,
        Section::Requests,
        html! {
            h1 { "Requests" }
            form.filters method="get" action="/operator/requests" {
                (filter_select("status", "Status", &options, selected, &errors))
                button type="submit" { "Show" }
            }
            @if errors.is_empty() {
                (request_table(&requests))
            }
        },
    );
    Ok(answer(&errors, page))
}

fn request_table(requests: &[RequestRecord]) -> Markup {
    html! {
        @if requests.is_empty() {
            p.empty { "No requests match." }
        } @else {
            p.hint { "Newest first" @if requests.len() as u32 >= LIST_LIMIT { "; the newest " (LIST_LIMIT) " are shown" } ". Times in UTC and in the seeker's zone." }
            (scroll_table("Requests", &["#", "Received", "Seeker", "Topic and message", "Status", "Consent", "Misses", "Booked call"], html! {
                @for request in requests {
                    tr data-request=(request.id) data-erased[request.erased_at.is_some()] {
                        td { a href={ "/operator/requests/" (request.id) } { (request.id) } }
                        td { (utc(request.created_at)) }
                        td { (or_erased(&request.name)) br; span.muted { (request.timezone.name()) } }
                        td {
                            (or_erased(&request.topic))
                            @if !request.message.is_empty() {
                                details {
                                    summary { "Message" }
                                    p.message { (request.message) }
                                }
                            }
                        }
                        td {
                            span.status { (request.status.as_str()) }
                            @if request.erased_at.is_some() { " " span.status.erased { "erased" } }
                        }
                        td { (consent_cell(&request.consent)) }
                        td { (request.attempts) }
                        td {
                            @if let Some(call) = &request.call {
                                a href={ "/operator/calls/" (call.id) } { "call " (call.id) }
                                " with " (call.mentor_name) br;
                                (utc(call.starts_at)) br;
                                (local(call.starts_at, request.timezone))
                            } @else {
                                "—"
                            }
                        }
                    }
                }
            }))
        }
    }
}

/// `GET /operator/calls?status=&mentor_id=`.
pub async fn calls(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (query, status, mut errors) = read_filters::<CallStatus>(raw);
    let mentors = state.store.mentors().await?;
    let mentor_id = match mentor_filter(&query.mentor_id, &mentors) {
        Ok(id) => id,
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let calls = if errors.is_empty() {
        state
            .store
            .call_listings(CallFilter {
                status,
                mentor_id,
                after_id: None,
                limit: LIST_LIMIT,
            })
            .await?
    } else {
        Vec::new()
    };
    let status_choices = status_options(CallStatus::ALL.iter().map(|status| status.as_str()));
    let mentor_choices: Vec<(String, String)> = mentors
        .iter()
        .map(|mentor| {
            (
                mentor.id.to_string(),
                format!("{} (#{})", mentor.name, mentor.id),
            )
        })
        .collect();
    let page = frame(
        "Calls",
        &csrf,
        Section::Calls,
        html! {
            h1 { "Calls" }
            form.filters method="get" action="/operator/calls" {
                (filter_select("status", "Status", &status_choices,
                    status.map_or("", CallStatus::as_str), &errors))
                (filter_select("mentor_id", "Mentor", &mentor_choices,
                    &mentor_id.map(|id| id.to_string()).unwrap_or_default(), &errors))
                button type="submit" { "Show" }
            }
            @if errors.is_empty() {
                (call_table(&calls))
            }
        },
    );
    Ok(answer(&errors, page))
}

/// An optional mentor filter: empty means every mentor; otherwise one of `mentors`.
fn mentor_filter(
    text: &str,
    mentors: &[MentorRecord],
) -> Result<Option<MentorId>, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let unknown = || ValidationError::new("mentor_id", format!("there is no mentor '{text}'"));
    let id: MentorId = text.parse().map_err(|_| unknown())?;
    if mentors.iter().any(|mentor| mentor.id == id) {
        Ok(Some(id))
    } else {
        Err(unknown())
    }
}

fn call_table(calls: &[CallListing]) -> Markup {
    html! {
        @if calls.is_empty() {
            p.empty { "No calls match." }
        } @else {
            p.hint { "Latest start first" @if calls.len() as u32 >= LIST_LIMIT { "; the latest " (LIST_LIMIT) " are shown" } ". Times in UTC and in each person's zone." }
            (scroll_table("Calls", &["#", "Starts", "Mentor", "Seeker", "Topic", "Status", "Outcome", "Talk time"], html! {
                @for listing in calls {
                    @let call = &listing.call;
                    tr data-call=(call.id) {
                        td { a href={ "/operator/calls/" (call.id) } { (call.id) } }
                        td { (utc(call.starts_at)) }
                        td { (listing.mentor_name) br; (local(call.starts_at, listing.mentor_zone)) }
                        td { (or_erased(&listing.seeker_name)) br; (local(call.starts_at, listing.seeker_zone)) }
                        td { (or_erased(&listing.topic)) }
                        td { span.status { (call.status.as_str()) } }
                        td data-outcome=[call.outcome.map(|outcome| outcome.as_str())] {
                            @match call.outcome { Some(outcome) => { (outcome.as_str()) }, None => { "—" } }
                        }
                        td { (talk_time(call.talk_seconds)) }
                    }
                }
            }))
        }
    }
}

/// `GET /operator/calls/{id}`: a call and its event log.
pub async fn call(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
    path: Result<Path<CallId>, PathRejection>,
) -> Result<Markup, PageError> {
    let id = path_id(path)?;
    let detail = state.store.call(id).await?.ok_or(PageError::NotFound)?;
    let call = &detail.call;
    let mentor = state.store.mentor(call.mentor_id).await?;
    let request = state.store.request(call.request_id).await?;
    Ok(frame(
        &format!("Call {id}"),
        &csrf,
        Section::Calls,
        html! {
            p { a href="/operator/calls" { "← All calls" } }
            h1 { "Call " (id) }
            dl.facts {
                dt { "Starts" } dd { (utc(call.starts_at)) }
                dt { "Mentor" } dd {
                    @if let Some(mentor) = &mentor {
                        a href={ "/operator/mentors/" (mentor.id) } { (mentor.name) } br;
                        (local(call.starts_at, mentor.timezone))
                    } @else { "mentor " (call.mentor_id) }
                }
                dt { "Seeker" } dd {
                    @if let Some(request) = &request {
                        (or_erased(&request.name)) " ("
                        a href={ "/operator/requests/" (request.id) } { "request " (request.id) }
                        ", " (request.status.as_str())
                        @if request.erased_at.is_some() { ", erased" }
                        ")" br;
                        (local(call.starts_at, request.timezone))
                    } @else { "request " (call.request_id) }
                }
                dt { "Status" } dd { span.status { (call.status.as_str()) } }
                dt { "Outcome" } dd { @match call.outcome { Some(outcome) => { (outcome.as_str()) }, None => { "—" } } }
                dt { "Talk time" } dd { (talk_time(call.talk_seconds)) }
                @if let Some(feedback) = &call.feedback {
                    dt { "Feedback" } dd data-figure="feedback" {
                        (feedback.score.value()) " of 5, received " (utc(feedback.received_at))
                    }
                }
                @if let Some(sid) = &call.provider_call_sid {
                    dt { "Provider call" } dd { code { (sid) } }
                }
            }
            h2 #events { "Event log" }
            @if detail.events.is_empty() {
                p { "No events yet." }
            } @else {
                (scroll_table("Event log", &["At (UTC)", "Event", "Detail"], html! {
                    @for event in &detail.events {
                        tr {
                            td { (utc(event.created_at)) }
                            td { code { (event.kind) } }
                            td { (event_detail(&event.detail)) }
                        }
                    }
                }))
            }
        },
    ))
}

/// An event's detail as `key: value` pairs (an object), or its JSON text.
fn event_detail(detail: &serde_json::Value) -> Markup {
    match detail {
        serde_json::Value::Object(fields) if fields.is_empty() => html! { "—" },
        serde_json::Value::Object(fields) => html! {
            ul.detail {
                @for (key, value) in fields {
                    li {
                        span.muted { (key) ": " }
                        @match value {
                            serde_json::Value::String(text) => { (text) },
                            other => { (other.to_string()) },
                        }
                    }
                }
            }
        },
        other => html! { code { (other.to_string()) } },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_status_is_a_filter_error_and_empty_means_all() {
        assert_eq!(status_filter::<CallStatus>(""), Ok(None));
        assert_eq!(
            status_filter::<CallStatus>("ended"),
            Ok(Some(CallStatus::Ended))
        );
        assert_eq!(
            status_filter::<CallStatus>("<b>").unwrap_err().field,
            "status"
        );
        assert_eq!(mentor_filter("x", &[]).unwrap_err().field, "mentor_id");
        assert_eq!(mentor_filter(" ", &[]), Ok(None));
    }

    #[test]
    fn event_details_are_escaped_text() {
        let markup = event_detail(&serde_json::json!({ "by": "<script>", "n": 2 })).into_string();
        assert!(
            markup.contains("&lt;script&gt;") && markup.contains("2"),
            "{markup}"
        );
    }
}
