//! The mentor's private calendar feed, `/calendar/{token}.ics`: an iCalendar
//! (RFC 5545) document with the upcoming calls and the commute windows'
//! occurrences over the next [`FEED_DAYS`] days.
//!
//! Every event is written with UTC times (`…Z`), computed by the same schedule
//! code as the slots, so the feed is zone-correct by construction and needs no
//! VTIMEZONE. Events carry the seeker's first name and topic, never a phone number.
//!
//! The link's token is stored only as a hash, like every other token: the link is
//! shown once, when it is made, and making a new one turns the old one off.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};

use crate::service::mentors::CALENDAR_TOKEN_PREFIX;
use crate::store::MentorCalls;
use crate::tokens;
use crate::web::AppState;
use crate::web::pages::error::PageError;

/// How far ahead the feed lists window occurrences.
pub const FEED_DAYS: i64 = 14;
/// Most upcoming calls in the feed.
const FEED_CALLS: u32 = 500;

/// The feed route. It lives outside the page layers: it is not HTML and sets its
/// own headers.
pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed))
}

async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    let token = file.strip_suffix(".ics").ok_or(PageError::NotFound)?;
    if !token.starts_with(CALENDAR_TOKEN_PREFIX) {
        return Err(PageError::NotFound);
    }
    let mentor_id = state
        .store
        .mentor_id_by_calendar_token(&tokens::hash(token))
        .await?
        .ok_or(PageError::NotFound)?;
    let mentor = state
        .store
        .mentor(mentor_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = state.clock.now();
    let windows = state.store.windows(mentor.id).await?;
    let pauses = state.store.pauses(mentor.id).await?;
    let occurrences = mentor
        .schedule(&windows, &pauses)
        .occurrences(now, now + TimeDelta::days(FEED_DAYS));
    let calls = state
        .store
        .mentor_calls(mentor.id, MentorCalls::Upcoming, FEED_CALLS)
        .await?;

    let mut ics = Ics::default();
    ics.line("BEGIN", "VCALENDAR");
    ics.line("VERSION", "2.0");
    ics.line("PRODID", "-//ridealong//mentor calendar//EN");
    ics.line("CALSCALE", "GREGORIAN");
    ics.line("METHOD", "PUBLISH");
    ics.text("X-WR-CALNAME", "ridealong calls");
    ics.line("X-PUBLISHED-TTL", "PT1H");
    for entry in &calls {
        ics.event(Event {
            uid: &format!("call-{}@ridealong", entry.call.id),
            stamp: now,
            start: entry.call.starts_at,
            end: entry.call.ends_at,
            summary: &format!(
                "ridealong call: {} — {}",
                entry.seeker_first_name, entry.topic
            ),
            description: "ridealong rings you at this time, says who is next and what about, and connects you when you press 1. Press 2 to skip.",
            busy: true,
        });
    }
    for occurrence in &occurrences {
        ics.event(Event {
            uid: &format!(
                "window-{}-{}@ridealong",
                utc(occurrence.start),
                utc(occurrence.end)
            ),
            stamp: now,
            start: occurrence.start,
            end: occurrence.end,
            summary: "ridealong commute window",
            description: "Time you offer for calls. Booked calls appear as their own events.",
            busy: false,
        });
    }
    ics.line("END", "VCALENDAR");

    let mut response = ics.out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"ridealong.ics\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// An instant as an iCalendar UTC DATE-TIME: `20261201T124000Z`.
fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// One VEVENT, all times in UTC.
struct Event<'a> {
    uid: &'a str,
    stamp: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    summary: &'a str,
    description: &'a str,
    /// Whether the time shows as busy (a call) or free (a window).
    busy: bool,
}

/// An iCalendar document being written: CRLF line ends, lines folded at 75 octets.
#[derive(Default)]
struct Ics {
    out: String,
}

impl Ics {
    /// Adds `NAME:value` with `value` written as it is (for values we make).
    fn line(&mut self, name: &str, value: &str) {
        let line = format!("{name}:{value}");
        fold_into(&mut self.out, &line);
    }

    /// Adds `event` as a VEVENT.
    fn event(&mut self, event: Event<'_>) {
        self.line("BEGIN", "VEVENT");
        self.line("UID", event.uid);
        self.line("DTSTAMP", &utc(event.stamp));
        self.line("DTSTART", &utc(event.start));
        self.line("DTEND", &utc(event.end));
        self.text("SUMMARY", event.summary);
        self.text("DESCRIPTION", event.description);
        if event.busy {
            self.line("STATUS", "CONFIRMED");
        }
        self.line("TRANSP", if event.busy { "OPAQUE" } else { "TRANSPARENT" });
        self.line("END", "VEVENT");
    }

    /// Adds a TEXT property, escaping `value` (which may hold anyone's text).
    fn text(&mut self, name: &str, value: &str) {
        self.line(name, &escape_text(value));
    }
}

/// RFC 5545 §3.3.11: backslash, semicolon and comma are escaped, a line break is
/// `\n`; other control characters have no place in a TEXT value and are dropped.
fn escape_text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    escaped.push_str("\\n");
                }
            }
            '\n' => escaped.push_str("\\n"),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// RFC 5545 §3.1: a content line longer than 75 octets is split, never inside a
/// UTF-8 character, and each continuation starts with one space.
fn fold_into(out: &mut String, line: &str) {
    let mut room = 75;
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > room {
            out.push_str("\r\n ");
            room = 74;
            used = 0;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_text("a,b;c\\d\r\ne\nf\u{7}"),
            "a\\,b\\;c\\\\d\\ne\\nf"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let value = "é".repeat(100);
        fold_into(&mut out, &format!("SUMMARY:{value}"));
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.last(), Some(&""));
        for line in &lines {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        assert!(
            lines[1..lines.len() - 1]
                .iter()
                .all(|line| line.starts_with(' '))
        );
        let unfolded: String = lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                if index == 0 {
                    *line
                } else {
                    line.strip_prefix(' ').unwrap_or(line)
                }
            })
            .collect();
        assert_eq!(unfolded, format!("SUMMARY:{value}"));
    }

    #[test]
    fn instants_are_written_in_utc_form() {
        let instant = "2026-12-01T12:40:00Z".parse().expect("instant");
        assert_eq!(utc(instant), "20261201T124000Z");
    }
}
