//! `/request`: the form a seeker asks for a call with. It reads what was typed
//! into the same domain types as the JSON API, says in whole sentences next to
//! each field what is missing or wrong (keeping what was typed), and submits
//! through the same use case ([`crate::service::requests`]), so a request made
//! here is exactly one made there.
//!
//! Longer than most modules because the form's availability fields (days, two
//! time ranges, calling hours) need their own reading and wording, with unit
//! tests beside them; it is one page and reads best in one place.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::manage::clock_time;
use crate::domain::ValidationError;
use crate::domain::consent::{ConsentSource, current_wording};
use crate::domain::hours::CallingHours;
use crate::domain::mentor::RangeInput;
use crate::domain::request::{NewRequest, RequestInput};
use crate::domain::text::MESSAGE_MAX;
use crate::domain::weekly::{LocalTime, Weekdays};
use crate::service::requests::{SubmitError, Submitted};
use crate::web::AppState;
use crate::web::pages::csrf::{CsrfForm, CsrfToken};
use crate::web::pages::error::PageError;
use crate::web::pages::layout::{
    Field, FormErrors, WEEKDAYS, csrf_field, field_id, page, textarea, zone_select,
};

/// How many from–until time ranges the form offers.
const TIME_RANGES: usize = 2;

/// The request form as posted. Every field may be missing: the page says which
/// are needed rather than refusing to read the form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RequestForm {
    name: String,
    phone: String,
    timezone: String,
    topic: String,
    message: String,
    /// Ticked weekdays (`mon` … `sun`), repeated keys.
    days: Vec<String>,
    /// Starts of the time ranges, in form order; empty when left blank.
    from: Vec<String>,
    /// Ends of the time ranges, in form order.
    until: Vec<String>,
    /// Present when the consent box is ticked.
    consent: Option<String>,
}

impl RequestForm {
    /// A fresh form: Monday to Friday ticked, which is what no stated
    /// availability means anyway.
    fn blank() -> RequestForm {
        RequestForm {
            days: WEEKDAYS[..5]
                .iter()
                .map(|(day, _)| (*day).to_owned())
                .collect(),
            ..RequestForm::default()
        }
    }

    fn start_time(&self, index: usize) -> &str {
        self.from.get(index).map_or("", |text| text.trim())
    }

    fn end_time(&self, index: usize) -> &str {
        self.until.get(index).map_or("", |text| text.trim())
    }
}

/// One availability range to send to the domain, and the form range it came
/// from (`None`: the ticked days with no times, i.e. all of calling hours).
struct PlannedRange {
    days: Vec<String>,
    start: String,
    end: String,
    form_index: Option<usize>,
}

/// Reads the availability part of the form into ranges, adding to `errors` what
/// the domain cannot say in the form's terms (no day ticked, half a range).
fn plan_availability(
    form: &RequestForm,
    hours: CallingHours,
    errors: &mut Vec<ValidationError>,
) -> Vec<PlannedRange> {
    if form.days.is_empty() {
        errors.push(ValidationError::new(
            "days",
            "Tick at least one day you can take a call.",
        ));
    }
    let mut ranges = Vec::new();
    for index in 0..TIME_RANGES {
        let (from, until) = (form.start_time(index), form.end_time(index));
        match (from.is_empty(), until.is_empty()) {
            (true, true) => continue,
            (true, false) => errors.push(ValidationError::new(
                range_field("from", index),
                "Add the time you can take calls from.",
            )),
            (false, true) => errors.push(ValidationError::new(
                range_field("until", index),
                "Add the time you can take calls until.",
            )),
            (false, false) if outside_calling_hours(from, until, hours) => {
                errors.push(ValidationError::new(
                    range_field("from", index),
                    format!(
                        "We only call between {} and {}, so we could never call you in this \
                         range. Choose times inside those hours.",
                        clock_time(hours.start()),
                        clock_time(hours.end())
                    ),
                ));
            }
            (false, false) => ranges.push(PlannedRange {
                days: form.days.clone(),
                start: from.to_owned(),
                end: until.to_owned(),
                form_index: Some(index),
            }),
        }
    }
    let any_times = (0..TIME_RANGES)
        .any(|index| !form.start_time(index).is_empty() || !form.end_time(index).is_empty());
    if !any_times && !form.days.is_empty() && !is_workdays(&form.days) {
        ranges.push(PlannedRange {
            days: form.days.clone(),
            start: hours.start().to_string(),
            end: hours.end().to_string(),
            form_index: None,
        });
    }
    ranges
}

/// Whether the daily range `from`–`until` misses calling hours entirely (see
/// [`CallingHours::overlaps`]), said here in the form's words before the domain
/// says it in the API's. Times that do not parse are left to the domain to report.
fn outside_calling_hours(from: &str, until: &str, hours: CallingHours) -> bool {
    match (
        LocalTime::parse("from", from),
        LocalTime::parse("until", until),
    ) {
        (Ok(from), Ok(until)) => !hours.overlaps(from, until),
        _ => false,
    }
}

/// Whether `days` are exactly Monday to Friday: no stated availability means that.
fn is_workdays(days: &[String]) -> bool {
    Weekdays::parse(days).is_ok_and(|days| days == Weekdays::WORKDAYS)
}

/// The form field of time range `index` (`from-1`, `until-2`).
fn range_field(kind: &str, index: usize) -> String {
    format!("{kind}-{}", index + 1)
}

/// The order fields appear in on the form, for the error summary.
const FIELD_ORDER: [&str; 11] = [
    "name", "phone", "timezone", "topic", "message", "days", "from-1", "until-1", "from-2",
    "until-2", "consent",
];

/// A domain error said in the form's terms: its field as the form names it and
/// a sentence a person reads next to that field.
fn for_the_form(error: ValidationError, ranges: &[PlannedRange]) -> ValidationError {
    let field = error.field.as_ref();
    let message = error.message.as_str();
    if let Some(rest) = field.strip_prefix("availability[") {
        let (index, part) = rest.split_once("].").unwrap_or((rest, ""));
        let form_index = index
            .parse::<usize>()
            .ok()
            .and_then(|index| ranges.get(index))
            .and_then(|range| range.form_index);
        let (field, message) = match (part, form_index) {
            ("start", Some(index)) => (range_field("from", index), sentence(message)),
            ("end", Some(index)) if message.starts_with("end must differ") => (
                range_field("until", index),
                "Until must be a different time from From.".to_owned(),
            ),
            ("end", Some(index)) => (range_field("until", index), sentence(message)),
            ("weekdays", _) => ("days".to_owned(), "Tick the days from the list.".to_owned()),
            _ => ("days".to_owned(), sentence(message)),
        };
        return ValidationError::new(field, message);
    }
    let message = match (field, message) {
        ("name", "must not be empty") => "Tell us your name; a first name is enough.".to_owned(),
        ("phone", _) if message.starts_with("is not a phone number") => format!(
            "That does not look like a phone number{}.",
            message.strip_prefix("is not a phone number").unwrap_or("")
        ),
        ("phone", "is not a valid phone number") => {
            "That number is not one we can call; check the digits and the country code.".to_owned()
        }
        ("timezone", _) => "Choose your time zone from the list.".to_owned(),
        ("topic", "must not be empty") => "Give the topic in a few words.".to_owned(),
        ("message", "must not be empty") => "Tell us what you could use help with.".to_owned(),
        ("consent", _) => {
            "Tick the box to agree that we may call and text this number. We cannot call without it."
                .to_owned()
        }
        (field, message)
            if message.starts_with("is ")
                || message.starts_with("must ")
                || message.starts_with("contains ") =>
        {
            format!("{} {message}.", noun(field))
        }
        (_, message) => sentence(message),
    };
    ValidationError::new(error.field, message)
}

/// What a field is called at the start of a sentence.
fn noun(field: &str) -> &'static str {
    match field {
        "name" => "Your name",
        "phone" => "The number",
        "topic" => "The topic",
        "message" => "Your message",
        _ => "This",
    }
}

/// `message` with a capital first letter and a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

pub(super) async fn request_form(State(state): State<AppState>, csrf: CsrfToken) -> Markup {
    request_page(
        &RequestForm::blank(),
        &FormErrors::none(),
        csrf.as_str(),
        state.settings.policy.calling_hours,
    )
}

pub(super) async fn send_request(
    State(state): State<AppState>,
    CsrfForm { form, token }: CsrfForm<RequestForm>,
) -> Result<Response, PageError> {
    let hours = state.settings.policy.calling_hours;
    let mut problems = Vec::new();
    // Said first so it wins over the domain's "not a phone number", and said even
    // when a missing time zone keeps the number from being read at all.
    if form.phone.trim().is_empty() {
        problems.push(ValidationError::new(
            "phone",
            "Give the number we should call.",
        ));
    }
    let ranges = plan_availability(&form, hours, &mut problems);
    let availability = ranges
        .iter()
        .map(|range| RangeInput {
            weekdays: &range.days,
            start: &range.start,
            end: &range.end,
            timezone: None,
        })
        .collect();
    let checked = NewRequest::check(
        RequestInput {
            name: &form.name,
            phone: &form.phone,
            timezone: &form.timezone,
            topic: &form.topic,
            message: &form.message,
            availability,
            consent: form.consent.is_some(),
            calling_hours: hours,
        },
        state.settings.default_region.as_deref(),
    );
    let request = match checked {
        Ok(request) if problems.is_empty() => request,
        checked => {
            if let Err(errors) = checked {
                problems.extend(errors.into_iter().map(|error| for_the_form(error, &ranges)));
            }
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(form_with_errors(&form, problems, &token, hours, status));
        }
    };
    let submitted = state
        .service
        .submit_request(&request, ConsentSource::Web)
        .await;
    match submitted {
        Ok(Submitted { manage_token, .. }) => {
            Ok(Redirect::to(&format!("/r/{manage_token}?new=1")).into_response())
        }
        Err(SubmitError::TooManyForPhone { .. }) => {
            let error = ValidationError::new(
                "phone",
                "This number has asked for help several times today. To keep anyone's phone \
                 from getting unwanted texts, please try again tomorrow.",
            );
            Ok(form_with_errors(
                &form,
                vec![error],
                &token,
                hours,
                StatusCode::TOO_MANY_REQUESTS,
            ))
        }
        Err(SubmitError::OpenRequestForPhone) => {
            let error = ValidationError::new(
                "phone",
                "This number already has a request open with us, and one at a time keeps it fair. \
                 Open the private link you got when you asked to see it or cancel it.",
            );
            Ok(form_with_errors(
                &form,
                vec![error],
                &token,
                hours,
                StatusCode::CONFLICT,
            ))
        }
        Err(SubmitError::Store(error)) => Err(error.into()),
    }
}

/// The form again with `errors` next to their fields (the first one of each
/// field, in the form's order) and what was typed kept.
fn form_with_errors(
    form: &RequestForm,
    mut errors: Vec<ValidationError>,
    csrf: &CsrfToken,
    hours: CallingHours,
    status: StatusCode,
) -> Response {
    let position = |field: &str| {
        FIELD_ORDER
            .iter()
            .position(|known| *known == field)
            .unwrap_or(FIELD_ORDER.len())
    };
    errors.sort_by_key(|error| position(error.field.as_ref()));
    errors.dedup_by(|a, b| a.field == b.field);
    let mut form_errors = FormErrors::none();
    for error in errors {
        form_errors.push(error);
    }
    (
        status,
        request_page(form, &form_errors, csrf.as_str(), hours),
    )
        .into_response()
}

/// "8:00 AM".
fn request_page(
    form: &RequestForm,
    errors: &FormErrors,
    csrf: &str,
    hours: CallingHours,
) -> Markup {
    let (open, close) = (clock_time(hours.start()), clock_time(hours.end()));
    let title = if errors.is_empty() {
        "Ask for a call"
    } else {
        "Check the form: ask for a call"
    };
    page(
        title,
        html! {
            h1 { "Ask for a call" }
            p.lead {
                "Asking for help is the smart move. Tell us a little about where you are stuck, "
                "and a mentor will call you on their way to work: a short call, hands-free, "
                "to the point. This takes about two minutes."
            }
            (errors.summary())
            form.seeker-form method="post" action="/request" novalidate {
                (csrf_field(csrf))
                (Field {
                    name: "name",
                    label: "Your first name",
                    kind: "text",
                    value: &form.name,
                    hint: Some("The mentor hears only your first name."),
                    autocomplete: Some("given-name"),
                    required: true,
                }.render(errors))
                (Field {
                    name: "phone",
                    label: "Your phone number",
                    kind: "tel",
                    value: &form.phone,
                    hint: Some("We call and text only this number, only about this request. Start with + and the country code if it is not from your time zone's country."),
                    autocomplete: Some("tel"),
                    required: true,
                }.render(errors))
                (zone_select("timezone", "Your time zone", &form.timezone, errors))
                (Field {
                    name: "topic",
                    label: "Topic",
                    kind: "text",
                    value: &form.topic,
                    hint: Some("A few words, like \u{201c}first job in data\u{201d} or \u{201c}interview nerves\u{201d}."),
                    autocomplete: Some("off"),
                    required: true,
                }.render(errors))
                (textarea(
                    "message",
                    "What could you use help with?",
                    &form.message,
                    Some("Where you are stuck and what has not worked so far. Your mentor reads this before the call."),
                    MESSAGE_MAX,
                    errors,
                ))
                (availability_fields(form, errors, &open, &close))
                (consent_field(form, errors))
                p { button type="submit" { "Ask for a call" } }
            }
            p.muted {
                "The mentor who calls you sees your first name, your topic and your message, "
                "never your number. You can cancel at any time from the private link we give you next."
            }
        },
    )
}

fn availability_fields(form: &RequestForm, errors: &FormErrors, open: &str, close: &str) -> Markup {
    let days_error = errors.get("days");
    html! {
        fieldset.availability aria-describedby="f-days-hint" {
            legend { "When can you take a call?" }
            p.hint #f-days-hint {
                "We only call between " (open) " and " (close) " your time, and the whole call fits inside. "
                "Tick the days that suit you; leave the times empty and any time in those hours works. "
                "Monday to Friday with no times is what we assume when you say nothing."
            }
            div.field.invalid[days_error.is_some()] {
                @if let Some(error) = days_error { p.error #f-days-error { (error) } }
                div.checks.days role="group" aria-label="Days"
                    aria-describedby=[days_error.map(|_| "f-days-error")] {
                    @for (index, (value, label)) in WEEKDAYS.iter().enumerate() {
                        label {
                            input type="checkbox" name="days" value=(value)
                                id=[(index == 0).then(|| field_id("days"))]
                                checked[form.days.iter().any(|day| day == value)];
                            (label)
                        }
                    }
                }
            }
            @for index in 0..TIME_RANGES {
                div.range {
                    (time_input(&range_field("from", index), if index == 0 { "From" } else { "Or also from" }, form.start_time(index), errors))
                    (time_input(&range_field("until", index), "Until", form.end_time(index), errors))
                }
            }
        }
    }
}

/// One `from`/`until` time box; several share the form name, each has its own id.
fn time_input(field: &str, label: &str, value: &str, errors: &FormErrors) -> Markup {
    let id = field_id(field);
    let name = field.split('-').next().unwrap_or(field);
    let error = errors.get(field);
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(error) = error { p.error id={ (id) "-error" } { (error) } }
            input id=(id) name=(name) type="time" value=(value)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))];
        }
    }
}

fn consent_field(form: &RequestForm, errors: &FormErrors) -> Markup {
    let error = errors.get("consent");
    html! {
        div.field.consent.invalid[error.is_some()] {
            @if let Some(error) = error { p.error #f-consent-error { (error) } }
            div.check {
                input #f-consent type="checkbox" name="consent" value="yes" required
                    checked[form.consent.is_some()]
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "f-consent-error")];
                label for="f-consent" { (current_wording().text) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(days: &[&str], from: &[&str], until: &[&str]) -> RequestForm {
        RequestForm {
            days: days.iter().map(|day| (*day).to_owned()).collect(),
            from: from.iter().map(|time| (*time).to_owned()).collect(),
            until: until.iter().map(|time| (*time).to_owned()).collect(),
            ..RequestForm::default()
        }
    }

    #[test]
    fn weekdays_without_times_state_nothing_which_means_weekdays() {
        let mut errors = Vec::new();
        let ranges = plan_availability(
            &form(&["mon", "tue", "wed", "thu", "fri"], &["", ""], &["", ""]),
            CallingHours::WIDEST,
            &mut errors,
        );
        assert!(ranges.is_empty() && errors.is_empty());
    }

    #[test]
    fn other_days_without_times_mean_all_of_calling_hours_on_them() {
        let mut errors = Vec::new();
        let ranges =
            plan_availability(&form(&["sat"], &[], &[]), CallingHours::WIDEST, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(ranges.len(), 1);
        assert_eq!(
            (ranges[0].start.as_str(), ranges[0].end.as_str()),
            ("08:00", "21:00")
        );
        assert_eq!(ranges[0].form_index, None);
    }

    #[test]
    fn each_filled_time_range_becomes_a_range_and_half_a_range_is_an_error() {
        let mut errors = Vec::new();
        let ranges = plan_availability(
            &form(&["mon"], &["", "17:00"], &["09:00", "19:00"]),
            CallingHours::WIDEST,
            &mut errors,
        );
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[0].form_index, Some(1));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "from-1");
    }

    #[test]
    fn a_range_wholly_outside_calling_hours_is_refused_on_the_form() {
        let mut errors = Vec::new();
        let ranges = plan_availability(
            &form(&["mon"], &["06:00", "22:00"], &["07:45", "02:00"]),
            CallingHours::WIDEST,
            &mut errors,
        );
        assert!(ranges.is_empty());
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_ref()).collect();
        assert_eq!(fields, ["from-1", "from-2"]);
        assert!(
            errors[0]
                .message
                .starts_with("We only call between 8:00 AM and 9:00 PM")
        );

        let mut errors = Vec::new();
        let ranges = plan_availability(
            &form(&["mon"], &["07:00", "20:00"], &["08:30", "01:00"]),
            CallingHours::WIDEST,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            ranges.len(),
            2,
            "ranges that reach into calling hours are kept"
        );
    }

    #[test]
    fn no_day_ticked_is_an_error_on_the_days() {
        let mut errors = Vec::new();
        plan_availability(&form(&[], &[], &[]), CallingHours::WIDEST, &mut errors);
        assert_eq!(errors[0].field, "days");
    }

    #[test]
    fn domain_errors_land_on_the_form_field_they_concern() {
        let ranges = [PlannedRange {
            days: vec!["mon".to_owned()],
            start: "09:00".to_owned(),
            end: "09:00".to_owned(),
            form_index: Some(1),
        }];
        let error = for_the_form(
            ValidationError::new("availability[0].end", "end must differ from start"),
            &ranges,
        );
        assert_eq!(error.field, "until-2");
        let error = for_the_form(ValidationError::new("topic", "must not be empty"), &ranges);
        assert_eq!(error.message, "Give the topic in a few words.");
        let error = for_the_form(
            ValidationError::new("name", "is 120 characters long; the limit is 100"),
            &ranges,
        );
        assert_eq!(
            error.message,
            "Your name is 120 characters long; the limit is 100."
        );
    }
}
