//! `/operator/requests/{id}`: one request as the operator looks at it: what the
//! seeker asked, the consent kept with it (the wording agreed to, where and when,
//! and how the number was confirmed), where its phone confirmation stands, and
//! its calls. An erased request says so and shows nothing personal.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use maud::{Markup, html};

use super::super::csrf::CsrfToken;
use super::super::error::PageError;
use super::super::layout::or_erased;
use super::super::seeker::availability_text;
use super::{Operator, Section, frame, local, path_id, scroll_table, talk_time, utc};
use crate::domain::consent::{
    CODE_TRIES, ConfirmedVia, ConsentSource, MAX_CODE_TEXTS, current_wording, wording,
};
use crate::domain::status::RequestStatus;
use crate::ids::RequestId;
use crate::store::{ConsentRecord, RequestRecord};
use crate::web::AppState;

/// Where consent was given, as the operator reads it.
pub fn source_text(source: Option<ConsentSource>) -> &'static str {
    match source {
        Some(ConsentSource::Web) => "the web form",
        Some(ConsentSource::Api) => "the API",
        None => "not recorded",
    }
}

/// How the number was confirmed, as the operator reads it.
pub fn confirmed_via_text(via: Option<ConfirmedVia>) -> &'static str {
    match via {
        Some(ConfirmedVia::Web) => "code entered on the web page",
        Some(ConfirmedVia::Api) => "code posted to the API",
        Some(ConfirmedVia::Sms) => "YES replied to the code's text",
        Some(ConfirmedVia::NotRequired) => "not required (confirmation was off)",
        None => "not yet",
    }
}

/// The consent of a request in one cell of the requests list: the wording's
/// version, where it was given and how the number was confirmed.
pub fn consent_cell(consent: &ConsentRecord) -> Markup {
    html! {
        span data-consent-version=[consent.version.as_deref()] {
            (consent.version.as_deref().unwrap_or("no version"))
        }
        br;
        span.muted {
            "via " (consent.source.map_or("—", ConsentSource::as_str)) "; confirmed: "
            (consent.confirmed_via.map_or("no", ConfirmedVia::as_str))
        }
    }
}

/// `GET /operator/requests/{id}`.
pub async fn detail(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
    path: Result<Path<RequestId>, PathRejection>,
) -> Result<Markup, PageError> {
    let id = path_id(path)?;
    let request = state.store.request(id).await?.ok_or(PageError::NotFound)?;
    let calls = state.store.calls_of_request(id).await?;
    let zone = request.timezone;
    Ok(frame(
        &format!("Request {id}"),
        &csrf,
        Section::Requests,
        html! {
            p { a href="/operator/requests" { "← All requests" } }
            h1 { "Request " (id) }
            @if let Some(erased_at) = request.erased_at {
                p.problem #erased role="note" {
                    strong { "Erased " (utc(erased_at)) "." }
                    " The seeker's name, number, topic, message and availability are gone; "
                    "the status, times and call outcomes stay for the counts."
                }
            }
            dl.facts {
                dt { "Status" } dd { span.status { (request.status.as_str()) } }
                dt { "Received" } dd { (utc(request.created_at)) " · " (local(request.created_at, zone)) }
                dt { "Seeker" } dd { (or_erased(&request.name)) br; span.muted { (zone.name()) } }
                dt { "Topic" } dd { (or_erased(&request.topic)) }
                dt { "Message" } dd.message { (or_erased(&request.message)) }
                dt { "Availability" } dd {
                    @if request.erased_at.is_some() { (or_erased("")) }
                    @else { (availability_text(&request.availability, state.settings.policy.calling_hours)) }
                }
                dt { "Seeker-side misses" } dd { (request.attempts) }
                dt { "Last change" } dd { (utc(request.updated_at)) }
            }
            (consent_section(&request))
            h2 #calls { "Calls" }
            @if calls.is_empty() {
                p.empty { "No calls booked for this request." }
            } @else {
                (scroll_table("Calls of this request", &["#", "Starts", "Status", "Outcome", "Talk time"], html! {
                    @for call in &calls {
                        tr data-call=(call.id) {
                            td { a href={ "/operator/calls/" (call.id) } { (call.id) } }
                            td { (utc(call.starts_at)) br; (local(call.starts_at, zone)) }
                            td { span.status { (call.status.as_str()) } }
                            td { @match call.outcome { Some(outcome) => { (outcome.as_str()) }, None => { "—" } } }
                            td { (talk_time(call.talk_seconds)) }
                        }
                    }
                }))
            }
        },
    ))
}

/// The consent kept with the request, and where confirming the number stands.
fn consent_section(request: &RequestRecord) -> Markup {
    let consent = &request.consent;
    let agreed = consent
        .version
        .as_deref()
        .map(|version| (version, wording(version)));
    let confirmation = &request.confirmation;
    html! {
        section #consent aria-labelledby="consent-heading" {
            h2 #consent-heading { "Consent" }
            dl.facts {
                dt { "Wording" } dd data-consent-version=[consent.version.as_deref()] {
                    @match agreed {
                        Some((version, _)) if version == current_wording().version => { "version " (version) " (current)" },
                        Some((version, Some(_))) => { "version " (version) " (an earlier one)" },
                        Some((version, None)) => { "version " (version) " (unknown to this release)" },
                        None => { "not recorded (made before versions were kept)" },
                    }
                }
                dt { "Given" } dd data-consent-source=[consent.source.map(ConsentSource::as_str)] {
                    "on " (source_text(consent.source)) ", " (utc(consent.given_at))
                }
                dt { "Number confirmed" } dd data-confirmed-via=[consent.confirmed_via.map(ConfirmedVia::as_str)] {
                    (confirmed_via_text(consent.confirmed_via))
                    @if let Some(confirmed_at) = consent.confirmed_at { ", " (utc(confirmed_at)) }
                }
                @if request.status == RequestStatus::Unconfirmed {
                    dt { "Code texts" } dd {
                        (confirmation.codes_sent) " of " (MAX_CODE_TEXTS)
                        @if confirmation.text_queued { "; one is waiting to go out" }
                        @if let Some(error) = &confirmation.send_error { "; last send failed: " code { (error) } }
                    }
                    dt { "Wrong entries" } dd { (confirmation.tries) " of " (CODE_TRIES) }
                    @if let Some(expires_at) = confirmation.code_expires_at {
                        dt { "Code works until" } dd { (utc(expires_at)) }
                    }
                }
            }
            @if let Some((_, Some(text))) = agreed {
                figure.wording {
                    figcaption { "What the seeker agreed to:" }
                    blockquote { (text.text) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_and_confirmation_reads_as_words() {
        assert_eq!(source_text(Some(ConsentSource::Web)), "the web form");
        assert_eq!(source_text(None), "not recorded");
        assert_eq!(
            confirmed_via_text(Some(ConfirmedVia::Sms)),
            "YES replied to the code's text"
        );
        assert_eq!(confirmed_via_text(None), "not yet");
    }
}
