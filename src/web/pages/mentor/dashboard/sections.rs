//! The dashboard's sections, as markup: upcoming calls, commute windows, the
//! slot preview, call settings, pauses, feedback, past calls and the calendar
//! link. Only
//! markup lives here; the handlers that read and change the data are in the
//! parent module.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};

use super::{PREVIEW_DAYS, PREVIEW_LIMIT, PauseForm, SettingsForm, WindowForm};
use crate::domain::feedback::{FEWEST_SHOWN, FeedbackSummary, average_text};
use crate::domain::status::{CallStatus, Outcome};
use crate::service::mentors::MentorSlot;
use crate::store::{MentorCall, MentorRecord, PauseRecord, WindowRecord};
use crate::web::pages::csrf::CsrfToken;
use crate::web::pages::layout::{
    Field, FormErrors, WEEKDAYS, csrf_field, local_time, or_erased, time_in, zone_select,
};

pub(super) fn upcoming_section(csrf: &CsrfToken, calls: &[MentorCall], zone: Tz) -> Markup {
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
                    @if call.call.follow_up_of.is_some() {
                        p.follow-up {
                            (or_erased(&call.seeker_first_name))
                            " took you up on your offer to talk again."
                        }
                    }
                    p { strong { "Topic: " } (or_erased(&call.topic)) }
                    p.message { (or_erased(&call.message)) }
                    @if call.call.status == CallStatus::Scheduled {
                        form method="post" action={ "/mentor/calls/" (call.call.id) "/cancel" } {
                            (csrf_field(csrf.as_str()))
                            button.secondary type="submit"
                                aria-label={ "Can't make it: the call " (local_time(call.call.starts_at, zone)) }
                                data-confirm="Can't make this call? We'll book the seeker with another mentor and text them the new time." { "Can't make it" }
                        }
                    } @else {
                        p { span.status { (call.call.status.as_str().replace('_', " ")) } }
                    }
                }
            }
        }
    }
}

pub(super) fn window_text(window: &WindowRecord) -> String {
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

pub(super) fn windows_section(
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

pub(super) fn slots_section(slots: &[MentorSlot], zone: Tz, no_windows: bool) -> Markup {
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
                            @if slot.booked {
                                " " span.status { "booked" }
                            } @else if slot.full {
                                " " span.status title="The service's phone line is taken by other calls then" { "full" }
                            }
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

pub(super) fn settings_section(
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

pub(super) fn pauses_section(
    csrf: &CsrfToken,
    pauses: &[PauseRecord],
    refused: Option<&(PauseForm, FormErrors)>,
) -> Markup {
    let empty = (PauseForm::default(), FormErrors::none());
    let (form, errors) = refused.unwrap_or(&empty);
    html! {
        section #pauses aria-labelledby="h-pauses" {
            h2 #h-pauses { "Pauses" }
            p { "Away or on vacation? No calls on these dates (in your zone, both days included). Calls already booked on them are booked again at another time, and their seekers are told." }
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

pub(super) fn outcome_text(outcome: Option<Outcome>) -> &'static str {
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

pub(super) fn talk_time(seconds: Option<u32>) -> String {
    match seconds {
        Some(seconds) => format!("{} min {:02} s", seconds / 60, seconds % 60),
        None => "—".to_owned(),
    }
}

/// The seekers' answers to the feedback question over the last 30 days: how
/// many, and their average from [`FEWEST_SHOWN`] answers on; never one call's.
pub(super) fn feedback_section(feedback: FeedbackSummary) -> Markup {
    html! {
        section #feedback aria-labelledby="h-feedback" {
            h2 #h-feedback { "Feedback" }
            p {
                "After each completed call we text the seeker: “How much did your call help? Reply 1 (not at all) to 5 (a lot).”"
            }
            @if feedback.count == 0 {
                p.muted data-figure="feedback-count" { "No answers in the last 30 days." }
            } @else {
                ul.figures {
                    li data-figure="feedback-count" {
                        span { strong { (feedback.count) } " "
                            (if feedback.count == 1 { "answer" } else { "answers" })
                            " in the last 30 days" }
                    }
                    @if let Some(average) = feedback.average_shown_to_mentor() {
                        li data-figure="feedback-average" {
                            span { "average " strong { (average_text(average)) } " of 5" }
                        }
                    }
                }
            }
            p.hint {
                "You see how many seekers answered and their average, never one call's answer, so that no seeker can be identified. "
                "The average shows from " (FEWEST_SHOWN) " answers on."
            }
        }
    }
}

pub(super) fn past_section(calls: &[MentorCall], zone: Tz) -> Markup {
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

/// The dashboard's calendar section: the link just made, or when the current one
/// was made and a button for a new one.
pub(super) fn calendar_section(
    csrf: &CsrfToken,
    made_at: Option<DateTime<Utc>>,
    new_url: Option<&str>,
    zone: Tz,
) -> Markup {
    html! {
        section #calendar aria-labelledby="h-calendar" {
            h2 #h-calendar { "Calendar feed" }
            p {
                "Subscribe to your calls and commute windows in your calendar app. "
                "The link is private: anyone who has it can see your calls' first names and topics."
            }
            @if let Some(url) = new_url {
                div.notice role="status" {
                    p { strong { "Your new calendar link" } " (shown only now; copy it into your calendar app):" }
                    label for="f-calendar-url" { "Calendar link" }
                    input #f-calendar-url type="text" readonly value=(url);
                    p { a href=(url) { "Download the calendar file" } }
                }
            } @else if let Some(made_at) = made_at {
                p { "Your calendar link was made " (local_time(made_at, zone)) ". "
                    "For your privacy we show it only when it is made: if you lost it, make a new one." }
            }
            form method="post" action="/mentor/calendar#calendar" {
                (csrf_field(csrf.as_str()))
                @if made_at.is_some() {
                    button.secondary type="submit"
                        data-confirm="Make a new link? The old one stops working." { "Make a new calendar link" }
                } @else {
                    button type="submit" { "Make my calendar link" }
                }
            }
        }
    }
}
