//! `/r/{token}`: the seeker's private manage page. Status, the booked time in the
//! seeker's own zone, the mentor's first name, earlier calls and how they went,
//! and its steps: cancel, and while the number is unconfirmed the "Confirm your
//! number" card ([`super::consent`] takes its posts), and "Delete my request and
//! my data". No phone number is shown but the service's own and the last digits
//! of the seeker's.
//!
//! Longer than most modules because the page is one view with many states
//! (unconfirmed, booked, missed and rebooked, over, erased) and their wording;
//! each state is a small function, and splitting them across files would only
//! scatter one page.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::domain::consent::{CODE_LIFETIME, CODE_TRIES, MAX_CODE_TEXTS};
use crate::domain::hours::CallingHours;
use crate::domain::status::{CallStatus, Outcome, RequestStatus};
use crate::domain::text::first_name;
use crate::domain::weekly::{LocalTime, Weekdays, WeeklyRange};
use crate::store::{CallRecord, CancelOutcome, RequestRecord};
use crate::tokens;
use crate::web::AppState;
use crate::web::pages::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::web::pages::error::PageError;
use crate::web::pages::layout::{FormErrors, WEEKDAYS, csrf_field, local_time, page, time_in};

pub(super) fn clock_time(time: LocalTime) -> String {
    time.naive().format("%-I:%M %p").to_string()
}

/// What the page says once a request had all its code texts.
pub(super) fn too_many_codes() -> String {
    format!(
        "We have sent this request {MAX_CODE_TEXTS} codes, the most we send for one request. If \
         the last one arrived, enter it or reply YES to it. If none did, cancel this request and \
         ask again tomorrow."
    )
}

/// The request behind a manage token (or a reminder's unexpired manage link),
/// or a 404 page.
pub(super) async fn by_token(state: &AppState, token: &str) -> Result<RequestRecord, PageError> {
    state
        .store
        .request_by_manage_token(&tokens::hash(token), state.clock.now())
        .await?
        .ok_or(PageError::NotFound)
}

/// Which banner the manage page opens with, from its query string (set by the
/// redirect after a post).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Banner {
    /// No banner.
    None,
    /// The request was just made.
    New,
    /// The request was just canceled.
    Canceled,
    /// The number was just confirmed.
    Confirmed,
    /// A new code was just asked for.
    CodeSent,
    /// The request and its data were just erased.
    Erased,
}

fn banner_of(query: Option<&str>) -> Banner {
    let pairs: Vec<&str> = query.unwrap_or("").split('&').collect();
    [
        ("new=1", Banner::New),
        ("canceled=1", Banner::Canceled),
        ("confirmed=1", Banner::Confirmed),
        ("code=sent", Banner::CodeSent),
        ("erased=1", Banner::Erased),
    ]
    .into_iter()
    .find(|(pair, _)| pairs.contains(pair))
    .map_or(Banner::None, |(_, banner)| banner)
}

pub(super) async fn manage(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let banner = banner_of(query.as_deref());
    manage_response(
        &state,
        &token,
        banner,
        &RefusedManageForms::default(),
        &csrf,
        StatusCode::OK,
    )
    .await
}

/// What a refused post on the manage page shows next to its form.
#[derive(Debug, Default)]
pub(super) struct RefusedManageForms {
    /// The code form's error (field `code`).
    pub confirm: FormErrors,
    /// Why no new code was texted.
    pub new_code: Option<String>,
    /// The erase form's error (field `understand`).
    pub erase: FormErrors,
}

/// The manage page of the request behind `token`, as it stands now, with
/// `banner` and `refused`'s messages, answered with `status`.
pub(super) async fn manage_response(
    state: &AppState,
    token: &str,
    banner: Banner,
    refused: &RefusedManageForms,
    csrf: &CsrfToken,
    status: StatusCode,
) -> Result<Response, PageError> {
    let request = by_token(state, token).await?;
    let calls = state.store.calls_of_request(request.id).await?;
    let link = format!(
        "{}/r/{token}",
        state.dispatch_settings.public_url.trim_end_matches('/')
    );
    let page = manage_page(&ManageView {
        request: &request,
        calls: &calls,
        banner,
        token,
        link: &link,
        service_number: &state.dispatch_settings.from_number,
        hours: state.settings.policy.calling_hours,
        csrf: csrf.as_str(),
        now: state.clock.now(),
        refused,
    });
    Ok((status, page).into_response())
}

/// Everything the manage page shows.
pub(super) struct ManageView<'a> {
    /// The request.
    pub request: &'a RequestRecord,
    /// Its calls, earlier and booked.
    pub calls: &'a [CallRecord],
    /// What the page opens with.
    pub banner: Banner,
    /// The manage token (the page's own path).
    pub token: &'a str,
    /// The full private link.
    pub link: &'a str,
    /// The number calls and texts come from.
    pub service_number: &'a str,
    /// The deployment's calling hours.
    pub hours: CallingHours,
    /// The CSRF token for the page's forms.
    pub csrf: &'a str,
    /// Now, to tell an expired code.
    pub now: DateTime<Utc>,
    /// Messages of a refused post.
    pub refused: &'a RefusedManageForms,
}

/// The status in a few words, for the badge.
fn status_label(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Unconfirmed => "Waiting for you to confirm your number",
        RequestStatus::Pending => "Finding a time",
        RequestStatus::Scheduled => "Booked",
        RequestStatus::Completed => "Call done",
        RequestStatus::Canceled => "Canceled",
        RequestStatus::Unreachable => "We could not reach you",
        RequestStatus::Expired => "Expired",
    }
}

fn manage_page(view: &ManageView<'_>) -> Markup {
    let request = view.request;
    if request.erased_at.is_some() {
        return erased_page(view);
    }
    let zone = request.timezone;
    let live = view.calls.iter().find(|call| {
        matches!(
            call.status,
            CallStatus::Scheduled | CallStatus::Dialing | CallStatus::InProgress
        )
    });
    let history: Vec<&CallRecord> = view
        .calls
        .iter()
        .filter(|call| matches!(call.status, CallStatus::Ended | CallStatus::Canceled))
        .collect();
    let seeker = first_name(&request.name);
    let unconfirmed = request.status == RequestStatus::Unconfirmed;
    page(
        if unconfirmed {
            "Confirm your number: your request"
        } else {
            "Your request"
        },
        html! {
            h1 { "Your request" }
            @match view.banner {
                Banner::New => div.notice.banner role="status" {
                    h2 { "Thank you, " (seeker) ". Your request is in." }
                    @if unconfirmed {
                        p { "Asking was the hard part. One more step: confirm your number below, so we know it is yours." }
                    } @else {
                        p { "Asking was the hard part. Keep the private link at the bottom of this page to come back." }
                    }
                },
                Banner::Canceled => div.notice.banner role="status" {
                    h2 { "Your request is canceled." }
                    p { "Nobody will call you for it. You are welcome to ask again whenever you like." }
                },
                Banner::Confirmed => div.notice.banner role="status" {
                    h2 { "Thank you, your number is confirmed." }
                    p { "Keep the private link at the bottom of this page to come back." }
                },
                Banner::CodeSent | Banner::Erased | Banner::None => {},
            }
            @if unconfirmed {
                (confirm_section(view))
            }
            section.card.status-card aria-labelledby="status-heading" {
                h2 #status-heading { "Where it stands" }
                p { span.status { (status_label(request.status)) } }
                (status_text(view, live))
            }
            section aria-labelledby="asked-heading" {
                h2 #asked-heading { "What you asked" }
                dl.asked {
                    dt { "Topic" }
                    dd { (request.topic) }
                    dt { "What you could use help with" }
                    dd.message { (request.message) }
                    dt { "When you can take a call" }
                    dd { (availability_text(&request.availability, view.hours)) }
                    dt { "Your time zone" }
                    dd { (zone.name().replace('_', " ")) }
                    dt { "The number we call" }
                    dd { "Your number ending in " (last_digits(&request.phone)) }
                }
            }
            @if !history.is_empty() {
                section aria-labelledby="history-heading" {
                    h2 #history-heading { "Earlier calls" }
                    ul.history {
                        @for (index, call) in history.iter().enumerate() {
                            li {
                                (time_in(call.starts_at, zone)) ": "
                                (outcome_text(call, history.len() > index + 1 || live.is_some(), request.status))
                            }
                        }
                    }
                }
            }
            @if request.status.is_open() {
                section aria-labelledby="cancel-heading" {
                    h2 #cancel-heading { "Changed your mind?" }
                    p { "You can cancel at any time. If a call is booked, we let the mentor know." }
                    form method="post" action={ "/r/" (view.token) "/cancel" } {
                        (csrf_field(view.csrf))
                        button.danger type="submit"
                            data-confirm="Cancel this request? Nobody will call you for it." {
                            "Cancel my request"
                        }
                    }
                }
            }
            (erase_section(view))
            section.card aria-labelledby="link-heading" {
                h2 #link-heading { "Keep this private link" }
                p {
                    "This page is yours: anyone with the link can see and cancel your request, "
                    "so keep it to yourself. Bookmark it or save it in your notes; we do not send it again."
                }
                p.private-link { a href=(view.link) { (view.link) } }
            }
        },
    )
}

/// What the status means for the seeker, with the booked time in their zone.
fn status_text(view: &ManageView<'_>, live: Option<&CallRecord>) -> Markup {
    let request = view.request;
    let zone = request.timezone;
    html! {
        @match (request.status, &request.call) {
            (RequestStatus::Scheduled, Some(call)) => {
                p.when {
                    (first_name(&call.mentor_name)) " will call you on "
                    strong { (time_in(call.starts_at, zone)) }
                    "."
                }
                @if let Some(live) = live {
                    @if matches!(live.status, CallStatus::Dialing | CallStatus::InProgress) {
                        p { strong { "Your call is happening now." } }
                    }
                    p {
                        "The call lasts up to " ((live.ends_at - live.starts_at).num_minutes()) " minutes. "
                        "It comes from " strong.nowrap { (view.service_number) } "; save that number so you know to pick up. "
                        "The mentor is driving, so the call is hands-free and to the point."
                    }
                }
                p.muted { "We also texted you the time. If you miss the call, we book another time." }
            }
            (RequestStatus::Pending | RequestStatus::Scheduled, _) => {
                p {
                    "We are finding a mentor whose drive to work fits your times. "
                    strong { "We'll text you when it's booked" }
                    ", with the time in your own time zone and the number the call will come from."
                }
                p { a href={ "/r/" (view.token) } { "Check again" } }
            }
            (RequestStatus::Unconfirmed, _) => {
                p {
                    "Nobody will call you until you confirm that this number is yours, "
                    "with the code we texted you or a YES reply to that text."
                }
            }
            (status, _) => {
                p { (closing_words(status)) }
                p { a href="/request" { "Ask for another call" } }
            }
        }
    }
}

/// The last four digits of an E.164 number: enough for the seeker to recognise
/// it, not enough to be worth reading off a screen.
pub(super) fn last_digits(phone: &str) -> &str {
    phone.get(phone.len().saturating_sub(4)..).unwrap_or("")
}

/// What a request that is over says about how it ended.
fn closing_words(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Completed => {
            "Your call took place. We hope it helped; asking was the smart move."
        }
        RequestStatus::Canceled => "This request is canceled. Nobody will call you for it.",
        RequestStatus::Unreachable => {
            "We tried three times and could not reach you, so we stopped calling. That happens; \
             you are welcome to ask again."
        }
        RequestStatus::Expired => {
            "The number was not confirmed in time, so this request expired. You are welcome to \
             ask again."
        }
        // Open requests have their own words above.
        RequestStatus::Unconfirmed | RequestStatus::Pending | RequestStatus::Scheduled => "",
    }
}

/// How an earlier call went, from the seeker's side.
fn outcome_text(call: &CallRecord, rebooked: bool, status: RequestStatus) -> String {
    let what = match call.outcome {
        Some(Outcome::Completed) => match call.talk_seconds {
            Some(seconds) if seconds >= 60 => {
                format!("you talked for {} minutes", seconds.div_ceil(60))
            }
            Some(_) => "you talked for under a minute".to_owned(),
            None => "you talked".to_owned(),
        },
        Some(Outcome::MentorNoAnswer) => "the mentor could not pick up".to_owned(),
        Some(Outcome::MentorDeclined) => "the mentor could not take the call".to_owned(),
        Some(Outcome::SeekerNoAnswer) => "you didn't pick up".to_owned(),
        Some(Outcome::SeekerBusy) => "your line was busy".to_owned(),
        Some(Outcome::Failed) => "the call did not go through".to_owned(),
        Some(Outcome::Canceled) | None => "canceled".to_owned(),
    };
    let missed = !matches!(
        call.outcome,
        Some(Outcome::Completed | Outcome::Canceled) | None
    );
    let next = if !missed {
        ""
    } else if rebooked {
        "; we booked another time"
    } else if status == RequestStatus::Pending {
        "; we are finding another time"
    } else {
        ""
    };
    format!("{what}{next}")
}

/// The seeker's availability as a sentence.
pub fn availability_text(availability: &[WeeklyRange], hours: CallingHours) -> String {
    let span =
        |start: LocalTime, end: LocalTime| format!("{} to {}", clock_time(start), clock_time(end));
    if availability.is_empty() {
        return format!("Weekdays, {}", span(hours.start(), hours.end()));
    }
    availability
        .iter()
        .map(|range| {
            format!(
                "{}, {}",
                days_text(range.weekdays()),
                span(range.start(), range.end())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn days_text(days: Weekdays) -> String {
    if days == Weekdays::WORKDAYS {
        return "Weekdays".to_owned();
    }
    if days == Weekdays::ALL {
        return "Every day".to_owned();
    }
    days.names()
        .iter()
        .filter_map(|name| {
            WEEKDAYS
                .iter()
                .find(|(value, _)| value == name)
                .map(|(_, label)| *label)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn cancel(
    State(state): State<AppState>,
    Path(token): Path<String>,
    _form: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let request = by_token(&state, &token).await?;
    match state.service.withdraw_request(request.id).await? {
        CancelOutcome::Canceled { .. } | CancelOutcome::AlreadyCanceled => {
            Ok(Redirect::to(&format!("/r/{token}?canceled=1")).into_response())
        }
        // Over already: the page says how it ended.
        CancelOutcome::Finished(_) => Ok(Redirect::to(&format!("/r/{token}")).into_response()),
        CancelOutcome::NotFound => Err(PageError::NotFound),
    }
}

/// The "Confirm your number" card of an unconfirmed request: where the code text
/// stands, the code form, and the button for a new code.
pub(super) fn confirm_section(view: &ManageView<'_>) -> Markup {
    let confirmation = &view.request.confirmation;
    let code_error = view.refused.confirm.get("code");
    let described = if code_error.is_some() {
        "f-code-hint f-code-error"
    } else {
        "f-code-hint"
    };
    let out_of_codes = confirmation.codes_sent >= MAX_CODE_TEXTS && !confirmation.text_queued;
    let codes_left = MAX_CODE_TEXTS.saturating_sub(confirmation.codes_sent);
    html! {
        section.card.confirm-card #confirm aria-labelledby="confirm-heading" {
            h2 #confirm-heading { "Confirm your number" }
            p {
                "Only the owner of a number can ask us to call it. Enter the code we "
                "texted to your number ending in " (last_digits(&view.request.phone))
                ", and we start looking for a time."
            }
            (code_text_state(view, code_error.is_some()))
            (view.refused.confirm.summary())
            form.code-form method="post" action={ "/r/" (view.token) "/confirm" } novalidate {
                (csrf_field(view.csrf))
                div.field.invalid[code_error.is_some()] {
                    label for="f-code" { "The 6-digit code from the text" }
                    p.hint #f-code-hint {
                        "The text comes from " span.nowrap { (view.service_number) } ". "
                        "Replying " strong { "YES" } " to it confirms your number too."
                    }
                    @if let Some(error) = code_error { p.error #f-code-error { (error) } }
                    input #f-code name="code" type="text" inputmode="numeric"
                        pattern="[0-9 -]*" autocomplete="one-time-code" maxlength="12" required
                        aria-invalid=[code_error.map(|_| "true")] aria-describedby=(described);
                }
                button type="submit" { "Confirm my number" }
            }
            div.new-code {
                @if let Some(message) = &view.refused.new_code {
                    p.error #new-code-error role="alert" { (message) }
                }
                @if out_of_codes {
                    @if view.refused.new_code.is_none() {
                        p.muted #new-code-limit { (too_many_codes()) }
                    }
                } @else {
                    form method="post" action={ "/r/" (view.token) "/code" } {
                        (csrf_field(view.csrf))
                        p.hint #new-code-hint {
                            "No text after a few minutes, or the code stopped working? "
                            "We can send " (codes_left) " more "
                            (if codes_left == 1 { "code" } else { "codes" })
                            " for this request; only the newest one works."
                        }
                        button.secondary type="submit" aria-describedby="new-code-hint" {
                            "Text me a new code"
                        }
                    }
                }
            }
        }
    }
}

/// Where the code text stands: on its way, sent (until when), expired, used up,
/// or not sendable (the number opted out of texts, or cannot get them).
/// `refused` leaves out what the code form's error already says.
fn code_text_state(view: &ManageView<'_>, refused: bool) -> Markup {
    let request = view.request;
    let confirmation = &request.confirmation;
    let expired = confirmation
        .code_expires_at
        .is_some_and(|expires_at| expires_at <= view.now);
    html! {
        @match confirmation.send_error.as_deref() {
            Some("opted_out") => p.problem #code-problem role="alert" {
                strong { "We cannot text your code: this number replied STOP to one of our texts." }
                " To get texts from us again, text " strong { "START" } " to "
                span.nowrap { (view.service_number) } ", then ask for a new code below."
            },
            Some("invalid_number") => p.problem #code-problem role="alert" {
                strong { "We cannot text your code: your number ending in "
                    (last_digits(&request.phone)) " cannot get texts." }
                " We can only call a number that gets our texts. Cancel this request and ask "
                "again with a mobile number."
            },
            Some(_) if confirmation.text_queued => p.problem #code-problem role="status" {
                "The text with your code did not go out at the first try. We are trying again."
            },
            Some(_) => p.problem #code-problem role="alert" {
                "We could not send the text with your code. Ask for a new code below to try again."
            },
            None if confirmation.text_queued => p.notice role="status" {
                @if view.banner == Banner::CodeSent { "A new code is on its way. " }
                @else { "We are texting you a 6-digit code. " }
                "It usually arrives within a minute. Once it does, only the newest code works."
            },
            None if refused => {},
            None if confirmation.tries >= CODE_TRIES => p.notice {
                "The code was entered wrong " (CODE_TRIES) " times and no longer works. "
                "Ask for a new code below."
            },
            None if expired => p.notice {
                "The code we texted has expired: codes work for "
                (CODE_LIFETIME.num_minutes()) " minutes. Ask for a new code below."
            },
            None => {
                @if let Some(expires_at) = confirmation.code_expires_at {
                    p.notice {
                        "We texted you a 6-digit code. It works until "
                        (time_in(expires_at, request.timezone)) "."
                    }
                }
            },
        }
    }
}

/// "Delete my request and my data": what erasing does, and the form with the box
/// that says it cannot be undone.
pub(super) fn erase_section(view: &ManageView<'_>) -> Markup {
    let request = view.request;
    let error = view.refused.erase.get("understand");
    html! {
        section.erase #erase aria-labelledby="erase-heading" {
            h2 #erase-heading { "Delete my request and my data" }
            p {
                @if request.status.is_open() {
                    "This cancels your request"
                    @if request.status == RequestStatus::Scheduled { " (we let the mentor know)" }
                    " and deletes "
                } @else {
                    "This deletes "
                }
                "your name, your number, your topic, your message and your times for good. "
                "We keep only anonymous counts: that a request came in, when, and how its calls ended."
            }
            (view.refused.erase.summary())
            form.erase-form method="post" action={ "/r/" (view.token) "/erase" } novalidate {
                (csrf_field(view.csrf))
                div.field.invalid[error.is_some()] {
                    @if let Some(error) = error { p.error #f-understand-error { (error) } }
                    div.check {
                        input #f-understand type="checkbox" name="understand" value="yes" required
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| "f-understand-error")];
                        label for="f-understand" { "I understand this cannot be undone" }
                    }
                }
                button.danger type="submit" { "Delete my request and my data" }
            }
        }
    }
}

/// The manage page of an erased request: that it is erased, when, and what is
/// kept. Nothing the seeker told us is left to show.
pub(super) fn erased_page(view: &ManageView<'_>) -> Markup {
    let request = view.request;
    page(
        "Your request is deleted",
        html! {
            h1 { "Your request" }
            @if view.banner == Banner::Erased {
                div.notice.banner role="status" {
                    h2 { "Your request and your data are deleted." }
                    p { "Thank you for trying ridealong. You are welcome to ask again whenever you like." }
                }
            }
            section.card.status-card aria-labelledby="status-heading" {
                h2 #status-heading { "Where it stands" }
                p { span.status { "Deleted" } }
                @if let Some(erased_at) = request.erased_at {
                    p {
                        "On " (local_time(erased_at, request.timezone)) " we deleted your name, "
                        "your number, your topic, your message and the times you gave us, for good. "
                        "Nobody will call or text you about this request."
                    }
                }
                p {
                    "What we keep cannot tell anyone who you are: that a request came in, when, "
                    "and how its calls ended, for our anonymous counts."
                }
                p { a href="/request" { "Ask for another call" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CallId, MentorId, RequestId};

    #[test]
    fn missed_calls_say_what_happens_next() {
        let call = CallRecord {
            id: CallId(1),
            request_id: RequestId(1),
            mentor_id: MentorId(1),
            starts_at: "2026-12-01T12:40:00Z".parse().expect("instant"),
            ends_at: "2026-12-01T12:55:00Z".parse().expect("instant"),
            status: CallStatus::Ended,
            outcome: Some(Outcome::SeekerNoAnswer),
            talk_seconds: None,
            provider_call_sid: None,
            retry_of: None,
            feedback: None,
            inbound: false,
            follow_up: None,
            follow_up_of: None,
            created_at: "2026-11-30T12:00:00Z".parse().expect("instant"),
            updated_at: "2026-12-01T12:55:00Z".parse().expect("instant"),
        };
        assert_eq!(
            outcome_text(&call, true, RequestStatus::Scheduled),
            "you didn't pick up; we booked another time"
        );
        assert_eq!(
            outcome_text(&call, false, RequestStatus::Unreachable),
            "you didn't pick up"
        );
    }
}
