//! The page frame and the form pieces every page shares, so pages only say what is
//! theirs. Everything interpolated through `maud` is HTML-escaped.

use chrono::{DateTime, DurationRound, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, html};

use crate::domain::ValidationError;
use crate::domain::zones::picker_zones;

/// A whole HTML document: `<head>`, the site header with navigation, `body` in
/// `<main>`, and the footer.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · ridealong" }
                link rel="stylesheet" href="/assets/site.css";
                script src="/assets/site.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.site {
                    a.brand href="/" { "ridealong" }
                    nav aria-label="Main" {
                        a href="/request" { "Ask for a call" }
                        a href="/mentor" { "Mentors" }
                    }
                }
                main #main tabindex="-1" {
                    (body)
                }
                footer.site {
                    p { "Asking for help is the smart move. A mentor's drive to work is time they chose to give." }
                }
            }
        }
    }
}

/// The hidden field that carries the page's CSRF token in every form.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// The errors of one form submission, by field name, so each message is shown next
/// to its field.
#[derive(Clone, Debug, Default)]
pub struct FormErrors(Vec<ValidationError>);

impl FormErrors {
    /// No errors.
    pub fn none() -> Self {
        FormErrors::default()
    }

    /// Adds `error`, its message said as a [whole sentence](whole_sentence).
    pub fn push(&mut self, error: ValidationError) {
        let message = whole_sentence(&error.field, &error.message);
        self.0.push(ValidationError::new(error.field, message));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, if it has one. A field's sub-fields
    /// (`availability[0].start`) count as the field's.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|error| {
                error.field == field
                    || error
                        .field
                        .strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
            .map(|error| error.message.as_str())
    }

    /// Every error, in order.
    pub fn iter(&self) -> impl Iterator<Item = &ValidationError> {
        self.0.iter()
    }

    /// A summary at the top of a form that links to each field in error, for
    /// screen readers and long forms on small screens.
    pub fn summary(&self) -> Markup {
        html! {
            @if !self.is_empty() {
                div.error-summary role="alert" tabindex="-1" {
                    h2 { "Please check " (if self.0.len() == 1 { "one thing" } else { "a few things" }) }
                    ul {
                        @for error in &self.0 {
                            li { a href={ "#" (field_id(&error.field)) } { (error.message) } }
                        }
                    }
                }
            }
        }
    }
}

impl From<ValidationError> for FormErrors {
    fn from(error: ValidationError) -> Self {
        let mut errors = FormErrors::none();
        errors.push(error);
        errors
    }
}

/// A field error as a page shows it: a whole sentence that starts with a capital
/// and ends with a full stop. The domain and the use cases say what is wrong in
/// fragments made for the API ("must not be empty", "is not a phone number; add
/// the country code"); a page puts the field's name in front of them. Messages
/// that are sentences already are left as they are.
pub fn whole_sentence(field: &str, message: &str) -> String {
    let message = message.trim();
    if message.starts_with(char::is_uppercase) {
        return with_full_stop(message.to_owned());
    }
    // `availability[0].start` is about a start.
    let field = field.rsplit(['.', ']']).next().unwrap_or(field);
    if field == "phone" {
        if let Some(rest) = message.strip_prefix("is not a phone number") {
            return with_full_stop(format!("That does not look like a phone number{rest}"));
        }
        if message == "is not a valid phone number" {
            return "That number is not one we can call; check the digits and the country code."
                .to_owned();
        }
    }
    if ["is ", "must ", "contains ", "has "]
        .iter()
        .any(|start| message.starts_with(start))
    {
        return with_full_stop(format!("{} {message}", field_noun(field)));
    }
    let mut chars = message.chars();
    let capitalised = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    with_full_stop(capitalised)
}

/// What a field is called at the start of a sentence.
fn field_noun(field: &str) -> &'static str {
    match field {
        "name" => "The name",
        "phone" => "The number",
        "timezone" => "The time zone",
        "topic" => "The topic",
        "topics" => "The topics",
        "message" => "The message",
        "code" => "The code",
        "weekdays" | "days" => "The days",
        "start" => "The start",
        "end" => "The end",
        "from" => "The first day",
        "to" => "The last day",
        "call_minutes" => "The length of a call",
        "max_calls_per_window" => "The number of calls",
        _ => "This",
    }
}

fn with_full_stop(mut text: String) -> String {
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// The element id of form field `name` (`availability[0].start` → `f-availability`).
pub fn field_id(name: &str) -> String {
    let base = name.split(['.', '[']).next().unwrap_or(name);
    format!("f-{base}")
}

/// A labelled input with its hint and inline error, keeping what was typed.
pub struct Field<'a> {
    /// The form field name (and, through [`field_id`], the element id).
    pub name: &'a str,
    /// The visible label.
    pub label: &'a str,
    /// The input type (`text`, `tel`, `time`, …).
    pub kind: &'a str,
    /// What was typed, or the default.
    pub value: &'a str,
    /// A short help text under the label.
    pub hint: Option<&'a str>,
    /// The browser's autocomplete token (`name`, `tel`, …).
    pub autocomplete: Option<&'a str>,
    /// Whether the field must be filled.
    pub required: bool,
}

impl Field<'_> {
    /// The field as HTML, with `errors`' message for it.
    pub fn render(&self, errors: &FormErrors) -> Markup {
        let id = field_id(self.name);
        let error = errors.get(self.name);
        let described = described_by(&id, self.hint.is_some(), error.is_some());
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) { (self.label) }
                @if let Some(hint) = self.hint { p.hint id={ (id) "-hint" } { (hint) } }
                @if let Some(error) = error { p.error id={ (id) "-error" } { (error) } }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    autocomplete=[self.autocomplete] required[self.required]
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[described];
            }
        }
    }
}

/// A labelled multi-line text box, like [`Field`].
pub fn textarea(
    name: &str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    max_chars: usize,
    errors: &FormErrors,
) -> Markup {
    let id = field_id(name);
    let error = errors.get(name);
    let described = described_by(&id, hint.is_some(), error.is_some());
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(hint) = hint { p.hint id={ (id) "-hint" } { (hint) } }
            @if let Some(error) = error { p.error id={ (id) "-error" } { (error) } }
            textarea id=(id) name=(name) rows="5" maxlength=(max_chars) required
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described] { (value) }
        }
    }
}

/// A labelled time-zone picker with `selected` chosen. The site script preselects
/// the browser's zone when `selected` is empty; without JavaScript the person picks.
pub fn zone_select(name: &str, label: &str, selected: &str, errors: &FormErrors) -> Markup {
    let id = field_id(name);
    let error = errors.get(name);
    let described = described_by(&id, false, error.is_some());
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(error) = error { p.error id={ (id) "-error" } { (error) } }
            select id=(id) name=(name) required data-browser-zone[selected.is_empty()]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described] {
                // A required select starts with an empty placeholder (HTML's rule),
                // selected only while nothing else is.
                option value="" selected[selected.is_empty()] { "Choose your time zone" }
                @for zone in picker_zones() {
                    option value=(zone) selected[*zone == selected] { (zone.replace('_', " ")) }
                }
            }
        }
    }
}

fn described_by(id: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [
        hint.then(|| format!("{id}-hint")),
        error.then(|| format!("{id}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// `text`, or "(erased)" when it is empty because the seeker's personal data was
/// erased (names, topics and messages are never empty otherwise).
pub fn or_erased(text: &str) -> Markup {
    html! {
        @if text.is_empty() { span.muted.erased { "(erased)" } } @else { (text) }
    }
}

/// The weekday checkboxes of every form: the API's names and what a person
/// reads.
pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
];

/// A whole number typed into form field `field`; empty means "not given".
pub fn whole_number(field: &'static str, text: &str) -> Result<Option<u32>, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ValidationError::new(
            field,
            format!("'{text}' is not a whole number. Enter one, such as 15."),
        )
    })
}

/// `instant` as a `<time datetime>` value: RFC 3339, with at most milliseconds
/// (HTML allows no more than three digits of a second; stored times carry
/// microseconds).
pub fn datetime_attribute(instant: DateTime<Utc>) -> String {
    let millis = instant
        .duration_trunc(chrono::TimeDelta::milliseconds(1))
        .unwrap_or(instant);
    millis.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// `instant` as a person in `zone` reads it: "Tuesday, December 1, 7:40 AM EST".
pub fn local_time(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%A, %B %-d, %-I:%M %p %Z")
        .to_string()
}

/// A `<time>` element: machine-readable UTC, shown in `zone`.
pub fn time_in(instant: DateTime<Utc>, zone: Tz) -> Markup {
    html! { time datetime=(datetime_attribute(instant)) { (local_time(instant, zone)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped() {
        let markup = page("<b>", html! { p { ("<script>alert(1)</script>") } }).into_string();
        assert!(markup.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!markup.contains("<script>alert"));
        assert!(markup.contains("<title>&lt;b&gt; · ridealong</title>"));
    }

    #[test]
    fn field_errors_are_whole_sentences() {
        let cases = [
            ("name", "must not be empty", "The name must not be empty."),
            (
                "phone",
                "is not a phone number; add the country code, e.g. +44 20 7946 0958",
                "That does not look like a phone number; add the country code, e.g. +44 20 7946 0958.",
            ),
            (
                "availability[0].start",
                "'7' is not a time; use HH:MM, e.g. 07:30",
                "'7' is not a time; use HH:MM, e.g. 07:30.",
            ),
            (
                "end",
                "end must differ from start",
                "End must differ from start.",
            ),
            (
                "code",
                "Enter the 6 digits from the text.",
                "Enter the 6 digits from the text.",
            ),
            (
                "to",
                "must not be before from",
                "The last day must not be before from.",
            ),
            (
                "call_minutes",
                "enter the minutes per call",
                "Enter the minutes per call.",
            ),
        ];
        for (field, message, sentence) in cases {
            assert_eq!(
                whole_sentence(field, message),
                sentence,
                "{field}: {message}"
            );
            let errors = FormErrors::from(ValidationError::new(field, message));
            assert_eq!(
                errors.iter().next().map(|e| e.message.as_str()),
                Some(sentence)
            );
        }
    }

    #[test]
    fn errors_attach_to_their_field_and_its_sub_fields() {
        let mut errors = FormErrors::none();
        errors.push(ValidationError::new("availability[1].start", "use HH:MM"));
        assert_eq!(errors.get("availability"), Some("Use HH:MM."));
        assert_eq!(errors.get("avail"), None);
        assert_eq!(field_id("availability[1].start"), "f-availability");
    }

    #[test]
    fn erased_text_says_so_and_other_text_is_escaped() {
        assert_eq!(
            or_erased("").into_string(),
            r#"<span class="muted erased">(erased)</span>"#
        );
        assert_eq!(
            or_erased("<b>Ada</b>").into_string(),
            "&lt;b&gt;Ada&lt;/b&gt;"
        );
    }

    #[test]
    fn times_read_in_the_persons_zone() {
        let instant = "2026-12-01T12:40:00Z".parse().expect("instant");
        assert_eq!(
            local_time(instant, chrono_tz::America::New_York),
            "Tuesday, December 1, 7:40 AM EST"
        );
    }

    #[test]
    fn time_elements_carry_at_most_milliseconds() {
        let stored: DateTime<Utc> = "2026-12-01T12:40:05.123456Z".parse().expect("instant");
        assert_eq!(datetime_attribute(stored), "2026-12-01T12:40:05.123+00:00");
        let whole: DateTime<Utc> = "2026-12-01T12:40:00Z".parse().expect("instant");
        assert_eq!(datetime_attribute(whole), whole.to_rfc3339());
    }

    #[test]
    fn the_zone_picker_starts_with_an_empty_placeholder_even_when_a_zone_is_chosen() {
        let html = zone_select(
            "timezone",
            "Time zone",
            "Europe/Dublin",
            &FormErrors::none(),
        )
        .into_string();
        let first_option = html.find("<option").expect("options");
        assert!(
            html[first_option..].starts_with(r#"<option value="">"#),
            "{html}"
        );
        assert!(html.contains(r#"<option value="Europe/Dublin" selected>"#));
    }
}
