//! Daylight-saving behaviour of the domain rules, with every expected instant worked
//! out by hand.
//!
//! The rules under test (DESIGN.md, "Domain rules"):
//! - a local time in a spring-forward gap moves forward by the gap's length;
//! - an ambiguous local time (fall-back fold) takes the earlier instant;
//! - a window's start and end are resolved independently, so an occurrence on a
//!   transition day can be longer or shorter than usual (or vanish when it resolves
//!   to nothing);
//! - slots are back-to-back blocks of `call_minutes` stepped in absolute time from
//!   the resolved start, wholly inside the occurrence, at most
//!   `max_calls_per_window` per occurrence;
//! - pauses are inclusive dates in the mentor's zone and remove occurrences;
//! - calling hours (08:00-21:00 seeker-local) must hold the whole slot.
//!
//! The 2026 transitions used below (all on Sundays):
//! - America/New_York: 2026-03-08 02:00 EST (-5) -> 03:00 EDT (-4) at 07:00Z;
//!   2026-11-01 02:00 EDT -> 01:00 EST at 06:00Z (01:00-02:00 happens twice).
//! - Europe/London and Europe/Dublin: 2026-03-29 01:00 (+0) -> 02:00 (+1) at 01:00Z;
//!   2026-10-25 02:00 (+1) -> 01:00 (+0) at 01:00Z.
//! - Australia/Sydney: 2026-04-05 03:00 AEDT (+11) -> 02:00 AEST (+10) at
//!   2026-04-04T16:00Z; 2026-10-04 02:00 AEST -> 03:00 AEDT at 2026-10-03T16:00Z.
//! - Australia/Lord_Howe: 2026-04-05 02:00 (+11) -> 01:30 (+10:30) at
//!   2026-04-04T15:00Z; 2026-10-04 02:00 (+10:30) -> 02:30 (+11) at 2026-10-03T15:30Z.
//! - America/Santiago: 2026-04-05 00:00 (-3) -> 2026-04-04 23:00 (-4) at 03:00Z;
//!   2026-09-06 00:00 (-4) -> 01:00 (-3) at 04:00Z (transitions at midnight).
//! - Asia/Kathmandu: +05:45 all year.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::America::{New_York, Santiago};
use chrono_tz::Asia::Kathmandu;
use chrono_tz::Australia::{Lord_Howe, Sydney};
use chrono_tz::Europe::{Dublin, London};
use chrono_tz::Tz;
use ridealong::domain::hours::{CallingHours, SeekerHours};
use ridealong::domain::pause::Pause;
use ridealong::domain::schedule::MentorSchedule;
use ridealong::domain::weekly::{LocalTime, Weekdays, WeeklyRange, resolve_local};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An instant from RFC 3339 text, e.g. `2026-03-08T07:30:00Z`.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("bad instant {text}: {error}"))
        .with_timezone(&Utc)
}

/// A wall-clock time, e.g. `2026-03-08 02:30`.
fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|error| panic!("bad local time {text}: {error}"))
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap_or_else(|error| panic!("bad date {text}: {error}"))
}

fn time(text: &str) -> LocalTime {
    LocalTime::parse("time", text).unwrap_or_else(|error| panic!("bad time {text}: {error}"))
}

/// A weekly range such as `window(&["sun"], "02:30", "04:00", New_York)`.
fn window(days: &[&str], start: &str, end: &str, zone: Tz) -> WeeklyRange {
    let weekdays = Weekdays::parse(days).expect("valid weekdays");
    WeeklyRange::new(weekdays, time(start), time(end), zone).expect("valid range")
}

/// `(start, end)` of every occurrence of `range` overlapping `[from, to)`.
fn spans(range: &WeeklyRange, from: &str, to: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    range
        .occurrences(at(from), at(to))
        .into_iter()
        .map(|occurrence| (occurrence.start, occurrence.end))
        .collect()
}

/// Expected spans, written as text.
fn expected_spans(spans: &[(&str, &str)]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    spans
        .iter()
        .map(|(start, end)| (at(start), at(end)))
        .collect()
}

fn schedule(
    zone: Tz,
    call_minutes: u32,
    max_calls_per_window: Option<u32>,
    windows: Vec<WeeklyRange>,
    pauses: Vec<Pause>,
) -> MentorSchedule {
    MentorSchedule {
        zone,
        call_minutes,
        max_calls_per_window,
        windows,
        pauses,
    }
}

/// Start instants of the slots in `[from, to)`, after checking that every slot is
/// exactly `call_minutes` long.
fn slot_starts(schedule: &MentorSchedule, from: &str, to: &str) -> Vec<DateTime<Utc>> {
    let length = TimeDelta::minutes(i64::from(schedule.call_minutes));
    schedule
        .slots(at(from), at(to))
        .into_iter()
        .map(|slot| {
            assert_eq!(
                slot.ends_at - slot.starts_at,
                length,
                "slot {slot:?} has the wrong length"
            );
            slot.starts_at
        })
        .collect()
}

fn instants(texts: &[&str]) -> Vec<DateTime<Utc>> {
    texts.iter().map(|text| at(text)).collect()
}

/// Asserts `resolve_local(zone, local) == expected` for each `(local, expected)`.
fn assert_resolves(zone: Tz, cases: &[(&str, &str)]) {
    for (wall, expected) in cases {
        assert_eq!(
            resolve_local(zone, local(wall)),
            at(expected),
            "{wall} in {} should resolve to {expected}",
            zone.name()
        );
    }
}

/// A seeker in `zone` with widest calling hours and `availability`.
fn seeker(zone: Tz, availability: Vec<WeeklyRange>) -> SeekerHours {
    SeekerHours::new(zone, availability, CallingHours::WIDEST)
}

/// Asserts whether `seeker` permits each `(start, end, expected)` call.
fn assert_permits(seeker: &SeekerHours, cases: &[(&str, &str, bool)]) {
    for (start, end, expected) in cases {
        assert_eq!(
            seeker.permits(at(start), at(end)),
            *expected,
            "a call {start}..{end} should {}be permitted",
            if *expected { "" } else { "not " }
        );
    }
}

// ---------------------------------------------------------------------------
// America/New_York
// ---------------------------------------------------------------------------

#[test]
fn a_new_york_time_in_the_spring_gap_moves_forward_by_one_hour() {
    assert_resolves(
        New_York,
        &[
            // 01:59 EST (-5) is the last minute before the gap.
            ("2026-03-08 01:59", "2026-03-08T06:59:00Z"),
            // 02:00-02:59 do not exist; read with EST they land an hour later
            // (03:00-03:59 EDT).
            ("2026-03-08 02:00", "2026-03-08T07:00:00Z"),
            ("2026-03-08 02:30", "2026-03-08T07:30:00Z"),
            ("2026-03-08 02:59", "2026-03-08T07:59:00Z"),
            // 03:00 EDT (-4) is the same instant as the non-existent 02:00.
            ("2026-03-08 03:00", "2026-03-08T07:00:00Z"),
            ("2026-03-08 03:30", "2026-03-08T07:30:00Z"),
        ],
    );
}

#[test]
fn an_ambiguous_new_york_time_on_the_fall_back_night_takes_the_daylight_reading() {
    assert_resolves(
        New_York,
        &[
            // 00:59 EDT (-4), unambiguous.
            ("2026-11-01 00:59", "2026-11-01T04:59:00Z"),
            // 01:00-01:59 happen at -4 (05:00Z-05:59Z) and again at -5 (06:00Z-06:59Z);
            // the earlier one wins.
            ("2026-11-01 01:00", "2026-11-01T05:00:00Z"),
            ("2026-11-01 01:30", "2026-11-01T05:30:00Z"),
            ("2026-11-01 01:59", "2026-11-01T05:59:00Z"),
            // 02:00 exists only in EST (-5).
            ("2026-11-01 02:00", "2026-11-01T07:00:00Z"),
        ],
    );
}

#[test]
fn a_window_starting_in_the_new_york_gap_starts_an_hour_later_in_local_terms() {
    let range = window(&["sun"], "02:30", "04:00", New_York);
    let occurrences = range.occurrences(at("2026-03-01T00:00:00Z"), at("2026-03-16T00:00:00Z"));
    assert_eq!(
        occurrences
            .iter()
            .map(|o| (o.start, o.end))
            .collect::<Vec<_>>(),
        expected_spans(&[
            // 2026-03-01, EST: 02:30 -> 07:30Z, 04:00 -> 09:00Z (90 minutes).
            ("2026-03-01T07:30:00Z", "2026-03-01T09:00:00Z"),
            // 2026-03-08: 02:30 is in the gap -> 03:30 EDT = 07:30Z; 04:00 EDT = 08:00Z.
            // Only 30 minutes remain.
            ("2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"),
            // 2026-03-15, EDT: 02:30 -> 06:30Z, 04:00 -> 08:00Z (90 minutes).
            ("2026-03-15T06:30:00Z", "2026-03-15T08:00:00Z"),
        ]),
    );
    assert_eq!(occurrences[1].local_date, date("2026-03-08"));
    // In local terms the transition-day occurrence starts at 03:30, an hour later.
    assert_eq!(
        occurrences[1].start.with_timezone(&New_York).naive_local(),
        local("2026-03-08 03:30")
    );

    // With 20-minute calls the short occurrence holds one slot, the others four.
    let mentor = schedule(New_York, 20, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-03-01T00:00:00Z", "2026-03-16T00:00:00Z"),
        instants(&[
            "2026-03-01T07:30:00Z",
            "2026-03-01T07:50:00Z",
            "2026-03-01T08:10:00Z",
            "2026-03-01T08:30:00Z",
            // 07:30Z-07:50Z fits before 08:00Z; 07:50Z-08:10Z would not.
            "2026-03-08T07:30:00Z",
            "2026-03-15T06:30:00Z",
            "2026-03-15T06:50:00Z",
            "2026-03-15T07:10:00Z",
            "2026-03-15T07:30:00Z",
        ]),
    );
}

#[test]
fn a_new_york_window_ending_inside_the_gap_keeps_its_nominal_length_in_absolute_time() {
    // 01:00 EST = 06:00Z; 02:30 is in the gap -> 03:30 EDT = 07:30Z: still 90 minutes.
    let range = window(&["sun"], "01:00", "02:30", New_York);
    assert_eq!(
        spans(&range, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"),
        expected_spans(&[("2026-03-08T06:00:00Z", "2026-03-08T07:30:00Z")]),
    );
    // A window written to end at 03:30 ends at the very same instant.
    let to_half_past_three = window(&["sun"], "01:00", "03:30", New_York);
    assert_eq!(
        spans(
            &to_half_past_three,
            "2026-03-08T00:00:00Z",
            "2026-03-09T00:00:00Z"
        ),
        expected_spans(&[("2026-03-08T06:00:00Z", "2026-03-08T07:30:00Z")]),
    );
}

#[test]
fn a_new_york_window_ending_at_three_on_the_spring_day_loses_the_missing_hour() {
    // 01:30-03:00 is 90 minutes on an ordinary Sunday (2026-03-01: 06:30Z-08:00Z) but
    // only 30 on 2026-03-08 (01:30 EST = 06:30Z, 03:00 EDT = 07:00Z).
    let range = window(&["sun"], "01:30", "03:00", New_York);
    let mentor = schedule(New_York, 15, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z"),
        instants(&[
            "2026-03-01T06:30:00Z",
            "2026-03-01T06:45:00Z",
            "2026-03-01T07:00:00Z",
            "2026-03-01T07:15:00Z",
            "2026-03-01T07:30:00Z",
            "2026-03-01T07:45:00Z",
            "2026-03-08T06:30:00Z",
            "2026-03-08T06:45:00Z",
        ]),
    );
}

#[test]
fn a_new_york_window_from_inside_the_gap_to_three_has_no_occurrence_on_the_spring_day() {
    // On 2026-03-08, 02:30 resolves to 07:30Z but 03:00 EDT is 07:00Z: the interval is
    // empty, so the occurrence is dropped. Neighbouring Sundays are untouched.
    let range = window(&["sun"], "02:30", "03:00", New_York);
    assert_eq!(
        spans(&range, "2026-03-01T00:00:00Z", "2026-03-16T00:00:00Z"),
        expected_spans(&[
            ("2026-03-01T07:30:00Z", "2026-03-01T08:00:00Z"),
            ("2026-03-15T06:30:00Z", "2026-03-15T07:00:00Z"),
        ]),
    );
    assert_eq!(range.occurrence_on(date("2026-03-08")), None);
    let mentor = schedule(New_York, 15, None, vec![range], vec![]);
    assert!(slot_starts(&mentor, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z").is_empty());
}

#[test]
fn a_new_york_window_spanning_the_repeated_hour_lasts_two_hours_on_the_fall_back_day() {
    // Sunday 01:00-02:00: 01:00 is ambiguous -> 01:00 EDT = 05:00Z; 02:00 EST = 07:00Z.
    let range = window(&["sun"], "01:00", "02:00", New_York);
    assert_eq!(
        spans(&range, "2026-10-25T00:00:00Z", "2026-11-09T00:00:00Z"),
        expected_spans(&[
            // 2026-10-25, EDT: one hour.
            ("2026-10-25T05:00:00Z", "2026-10-25T06:00:00Z"),
            // 2026-11-01: two hours.
            ("2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z"),
            // 2026-11-08, EST: one hour.
            ("2026-11-08T06:00:00Z", "2026-11-08T07:00:00Z"),
        ]),
    );

    // Thirty-minute calls: two on ordinary Sundays, four on the long one, stepped in
    // absolute time (local 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST).
    let mentor = schedule(New_York, 30, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-10-25T00:00:00Z", "2026-11-09T00:00:00Z"),
        instants(&[
            "2026-10-25T05:00:00Z",
            "2026-10-25T05:30:00Z",
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-08T06:00:00Z",
            "2026-11-08T06:30:00Z",
        ]),
    );
    // Only slots whose start lies in [from, to) are returned.
    assert_eq!(
        slot_starts(&mentor, "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"),
        instants(&["2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z"]),
    );
}

#[test]
fn the_capacity_per_window_still_caps_the_longer_fall_back_occurrence() {
    let range = window(&["sun"], "01:00", "02:00", New_York);
    let mentor = schedule(New_York, 30, Some(3), vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-10-25T00:00:00Z", "2026-11-02T00:00:00Z"),
        instants(&[
            "2026-10-25T05:00:00Z",
            "2026-10-25T05:30:00Z",
            // The first three of the four that fit.
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:00:00Z",
        ]),
    );
    // The cap counts from the occurrence's start, not from the query's start.
    assert_eq!(
        slot_starts(&mentor, "2026-11-01T05:45:00Z", "2026-11-01T08:00:00Z"),
        instants(&["2026-11-01T06:00:00Z"]),
    );
}

#[test]
fn a_new_york_window_inside_the_repeated_hour_uses_its_first_pass() {
    // 01:15 and 01:45 both take the EDT reading: 05:15Z-05:45Z, 30 minutes.
    let range = window(&["sun"], "01:15", "01:45", New_York);
    assert_eq!(
        spans(&range, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        expected_spans(&[("2026-11-01T05:15:00Z", "2026-11-01T05:45:00Z")]),
    );
}

#[test]
fn a_new_york_window_crossing_midnight_into_the_spring_gap_ends_when_the_clock_jumps() {
    // Saturday 2026-03-07 23:30 EST = 2026-03-08T04:30Z.
    // Ending at 02:00 (in the gap -> 03:00 EDT = 07:00Z): 2h30, as written.
    let to_two = window(&["sat"], "23:30", "02:00", New_York);
    let occurrences = to_two.occurrences(at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z"));
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0].local_date, date("2026-03-07"));
    assert_eq!(
        (occurrences[0].start, occurrences[0].end),
        (at("2026-03-08T04:30:00Z"), at("2026-03-08T07:00:00Z"))
    );
    // Ending at 03:00 EDT: the same instant, so 2h30 instead of 3h30.
    let to_three = window(&["sat"], "23:30", "03:00", New_York);
    assert_eq!(
        spans(&to_three, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"),
        expected_spans(&[("2026-03-08T04:30:00Z", "2026-03-08T07:00:00Z")]),
    );
}

#[test]
fn a_new_york_window_crossing_midnight_into_the_fall_back_hour_ends_at_the_daylight_reading() {
    // Saturday 2026-10-31 23:30 EDT = 2026-11-01T03:30Z.
    // Ending 01:30 (ambiguous -> EDT) = 05:30Z: 2 hours as written.
    let to_half_past_one = window(&["sat"], "23:30", "01:30", New_York);
    assert_eq!(
        spans(
            &to_half_past_one,
            "2026-11-01T00:00:00Z",
            "2026-11-02T00:00:00Z"
        ),
        expected_spans(&[("2026-11-01T03:30:00Z", "2026-11-01T05:30:00Z")]),
    );
    // Ending 02:00 (EST only) = 07:00Z: 3h30 instead of 2h30.
    let to_two = window(&["sat"], "23:30", "02:00", New_York);
    assert_eq!(
        spans(&to_two, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        expected_spans(&[("2026-11-01T03:30:00Z", "2026-11-01T07:00:00Z")]),
    );
}

#[test]
fn new_york_calling_hours_follow_the_clock_on_both_sides_of_the_spring_change() {
    let every_day = window(
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        "06:00",
        "23:00",
        New_York,
    );
    let hours = seeker(New_York, vec![every_day]);
    assert_permits(
        &hours,
        &[
            // Saturday 2026-03-07, EST: 08:00 = 13:00Z, 21:00 = 2026-03-08T02:00Z.
            ("2026-03-07T13:00:00Z", "2026-03-07T13:15:00Z", true),
            ("2026-03-07T12:45:00Z", "2026-03-07T13:00:00Z", false),
            ("2026-03-08T01:45:00Z", "2026-03-08T02:00:00Z", true),
            ("2026-03-08T01:46:00Z", "2026-03-08T02:01:00Z", false),
            // Sunday 2026-03-08, EDT: 08:00 = 12:00Z, 21:00 = 2026-03-09T01:00Z.
            ("2026-03-08T12:00:00Z", "2026-03-08T12:15:00Z", true),
            ("2026-03-08T11:45:00Z", "2026-03-08T12:00:00Z", false),
            ("2026-03-09T00:45:00Z", "2026-03-09T01:00:00Z", true),
            ("2026-03-09T00:50:00Z", "2026-03-09T01:05:00Z", false),
            // 12:30Z is 07:30 on Saturday but 08:30 on Sunday.
            ("2026-03-07T12:30:00Z", "2026-03-07T12:45:00Z", false),
            ("2026-03-08T12:30:00Z", "2026-03-08T12:45:00Z", true),
        ],
    );
}

#[test]
fn new_york_calling_hours_follow_the_clock_on_both_sides_of_the_fall_back_change() {
    let hours = seeker(
        New_York,
        vec![window(&["sat", "sun"], "07:00", "22:00", New_York)],
    );
    assert_permits(
        &hours,
        &[
            // Saturday 2026-10-31, EDT: 08:00 = 12:00Z.
            ("2026-10-31T12:00:00Z", "2026-10-31T12:15:00Z", true),
            ("2026-10-31T11:45:00Z", "2026-10-31T12:00:00Z", false),
            // Sunday 2026-11-01, EST: 08:00 = 13:00Z, so 12:00Z is 07:00.
            ("2026-11-01T12:00:00Z", "2026-11-01T12:15:00Z", false),
            ("2026-11-01T13:00:00Z", "2026-11-01T13:15:00Z", true),
            // 21:00 EST = 2026-11-02T02:00Z.
            ("2026-11-02T01:45:00Z", "2026-11-02T02:00:00Z", true),
            ("2026-11-02T01:50:00Z", "2026-11-02T02:05:00Z", false),
        ],
    );
}

#[test]
fn default_availability_in_new_york_is_weekdays_in_local_calling_hours_after_the_change() {
    let hours = seeker(New_York, vec![]);
    assert_permits(
        &hours,
        &[
            // Sunday 2026-03-08 10:00 EDT: a weekend day.
            ("2026-03-08T14:00:00Z", "2026-03-08T14:15:00Z", false),
            // Monday 2026-03-09 08:00 EDT = 12:00Z (it was 13:00Z a week earlier).
            ("2026-03-09T12:00:00Z", "2026-03-09T12:15:00Z", true),
            ("2026-03-02T12:00:00Z", "2026-03-02T12:15:00Z", false),
            ("2026-03-02T13:00:00Z", "2026-03-02T13:15:00Z", true),
        ],
    );
}

// ---------------------------------------------------------------------------
// Europe/London and Europe/Dublin
// ---------------------------------------------------------------------------

/// Wall times around both 2026 UK/Irish transitions and their instants.
const BRITISH_ISLES_CASES: [(&str, &str); 9] = [
    // Spring: 00:59 GMT, then 01:00-01:59 do not exist (read with +0, i.e. 02:00-02:59
    // BST), and 02:00 BST is the same instant as the missing 01:00.
    ("2026-03-29 00:59", "2026-03-29T00:59:00Z"),
    ("2026-03-29 01:00", "2026-03-29T01:00:00Z"),
    ("2026-03-29 01:30", "2026-03-29T01:30:00Z"),
    ("2026-03-29 02:00", "2026-03-29T01:00:00Z"),
    // Autumn: 00:59 at +1; 01:00-01:59 happen at +1 then +0, the +1 reading wins;
    // 02:00 exists only at +0.
    ("2026-10-25 00:59", "2026-10-24T23:59:00Z"),
    ("2026-10-25 01:00", "2026-10-25T00:00:00Z"),
    ("2026-10-25 01:30", "2026-10-25T00:30:00Z"),
    ("2026-10-25 01:59", "2026-10-25T00:59:00Z"),
    ("2026-10-25 02:00", "2026-10-25T02:00:00Z"),
];

#[test]
fn london_skips_the_missing_hour_and_takes_summer_time_in_the_repeated_one() {
    assert_resolves(London, &BRITISH_ISLES_CASES);
}

#[test]
fn dublin_resolves_exactly_like_london_despite_its_negative_dst_in_the_tz_database() {
    assert_resolves(Dublin, &BRITISH_ISLES_CASES);
    // Every quarter hour of both transition days and the days around them agrees.
    for day in [
        "2026-03-28",
        "2026-03-29",
        "2026-03-30",
        "2026-10-24",
        "2026-10-25",
        "2026-10-26",
    ] {
        let midnight = date(day).and_hms_opt(0, 0, 0).expect("midnight");
        for quarter in 0..96 {
            let wall = midnight + TimeDelta::minutes(15 * quarter);
            assert_eq!(
                resolve_local(Dublin, wall),
                resolve_local(London, wall),
                "{wall}"
            );
        }
    }
}

#[test]
fn a_london_window_across_the_spring_gap_is_an_hour_shorter() {
    // Sunday 00:30-02:30. 2026-03-22 (GMT): 00:30Z-02:30Z.
    // 2026-03-29: 00:30 GMT = 00:30Z, 02:30 BST = 01:30Z: one hour.
    // 2026-04-05 (BST): 23:30Z (Saturday) - 01:30Z.
    let range = window(&["sun"], "00:30", "02:30", London);
    assert_eq!(
        spans(&range, "2026-03-22T00:00:00Z", "2026-04-06T00:00:00Z"),
        expected_spans(&[
            ("2026-03-22T00:30:00Z", "2026-03-22T02:30:00Z"),
            ("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"),
            ("2026-04-04T23:30:00Z", "2026-04-05T01:30:00Z"),
        ]),
    );
    let mentor = schedule(London, 20, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z"),
        instants(&[
            "2026-03-29T00:30:00Z",
            "2026-03-29T00:50:00Z",
            "2026-03-29T01:10:00Z"
        ]),
    );
}

#[test]
fn a_london_window_across_the_autumn_fold_is_an_hour_longer() {
    // Sunday 00:30-02:30. 2026-10-25: 00:30 BST = 2026-10-24T23:30Z, 02:30 GMT = 02:30Z.
    let range = window(&["sun"], "00:30", "02:30", London);
    assert_eq!(
        spans(&range, "2026-10-18T00:00:00Z", "2026-11-02T00:00:00Z"),
        expected_spans(&[
            ("2026-10-17T23:30:00Z", "2026-10-18T01:30:00Z"),
            ("2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z"),
            ("2026-11-01T00:30:00Z", "2026-11-01T02:30:00Z"),
        ]),
    );
    // One-hour calls: three fit on the long Sunday, two on the others.
    let mentor = schedule(London, 60, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-10-24T00:00:00Z", "2026-11-02T00:00:00Z"),
        instants(&[
            "2026-10-24T23:30:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00Z",
            "2026-11-01T00:30:00Z",
            "2026-11-01T01:30:00Z",
        ]),
    );
}

#[test]
fn a_dublin_window_across_both_transitions_matches_the_london_one() {
    let london = window(&["sun"], "00:30", "02:30", London);
    let dublin = window(&["sun"], "00:30", "02:30", Dublin);
    for (from, to) in [
        ("2026-03-20T00:00:00Z", "2026-04-10T00:00:00Z"),
        ("2026-10-15T00:00:00Z", "2026-11-05T00:00:00Z"),
    ] {
        assert_eq!(spans(&dublin, from, to), spans(&london, from, to));
    }
    assert_eq!(
        spans(&dublin, "2026-10-25T00:00:00Z", "2026-10-26T00:00:00Z"),
        expected_spans(&[("2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z")]),
    );
}

#[test]
fn a_london_window_crossing_midnight_is_resolved_at_both_ends_independently() {
    // Saturday 2026-03-28 23:30 GMT = 23:30Z.
    let cases = [
        // 00:30 GMT Sunday: an ordinary hour.
        ("00:30", "2026-03-29T00:30:00Z"),
        // 01:30 is in the gap -> 02:30 BST = 01:30Z: two hours, as written.
        ("01:30", "2026-03-29T01:30:00Z"),
        // 02:00 BST = 01:00Z: 1h30 instead of 2h30.
        ("02:00", "2026-03-29T01:00:00Z"),
    ];
    for (end, expected_end) in cases {
        let range = window(&["sat"], "23:30", end, London);
        assert_eq!(
            spans(&range, "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z"),
            expected_spans(&[("2026-03-28T23:30:00Z", expected_end)]),
            "23:30-{end}"
        );
    }
    // Saturday 2026-10-24 23:30 BST = 22:30Z.
    let cases = [
        // 01:30 is ambiguous -> BST = 00:30Z: two hours.
        ("01:30", "2026-10-25T00:30:00Z"),
        // 02:00 GMT = 02:00Z: 3h30 instead of 2h30.
        ("02:00", "2026-10-25T02:00:00Z"),
    ];
    for (end, expected_end) in cases {
        let range = window(&["sat"], "23:30", end, London);
        assert_eq!(
            spans(&range, "2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z"),
            expected_spans(&[("2026-10-24T22:30:00Z", expected_end)]),
            "23:30-{end}"
        );
    }
}

#[test]
fn a_window_crossing_midnight_belongs_to_its_start_day_and_overlaps_a_later_query() {
    // Saturday-only 23:30-00:30 in London: the query [00:00Z, 01:00Z) on Sunday
    // 2026-03-29 still sees Saturday's occurrence 23:30Z-00:30Z.
    let range = window(&["sat"], "23:30", "00:30", London);
    let occurrences = range.occurrences(at("2026-03-29T00:00:00Z"), at("2026-03-29T01:00:00Z"));
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0].local_date, date("2026-03-28"));
    assert_eq!(
        (occurrences[0].start, occurrences[0].end),
        (at("2026-03-28T23:30:00Z"), at("2026-03-29T00:30:00Z"))
    );
    // Slots are those of that occurrence whose start is in the query.
    let mentor = schedule(London, 15, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"),
        instants(&["2026-03-29T00:00:00Z", "2026-03-29T00:15:00Z"]),
    );
    // Sunday is not a start day: nothing starts on Sunday night.
    assert!(
        range
            .occurrences(at("2026-03-29T12:00:00Z"), at("2026-03-30T12:00:00Z"))
            .is_empty()
    );
}

#[test]
fn london_and_dublin_calling_hours_move_by_an_hour_in_utc_with_the_clocks() {
    for zone in [London, Dublin] {
        let hours = seeker(zone, vec![]);
        assert_permits(
            &hours,
            &[
                // Friday 2026-03-27, +0: 08:00 = 08:00Z.
                ("2026-03-27T08:00:00Z", "2026-03-27T08:15:00Z", true),
                ("2026-03-27T07:45:00Z", "2026-03-27T08:00:00Z", false),
                // Monday 2026-03-30, +1: 08:00 = 07:00Z, 21:00 = 20:00Z.
                ("2026-03-30T07:00:00Z", "2026-03-30T07:15:00Z", true),
                ("2026-03-30T06:45:00Z", "2026-03-30T07:00:00Z", false),
                ("2026-03-30T19:45:00Z", "2026-03-30T20:00:00Z", true),
                ("2026-03-30T19:50:00Z", "2026-03-30T20:05:00Z", false),
                // Friday 2026-10-23, +1: 08:00 = 07:00Z. Monday 2026-10-26, +0: 08:00Z.
                ("2026-10-23T07:00:00Z", "2026-10-23T07:15:00Z", true),
                ("2026-10-26T07:00:00Z", "2026-10-26T07:15:00Z", false),
                ("2026-10-26T08:00:00Z", "2026-10-26T08:15:00Z", true),
                ("2026-10-26T20:45:00Z", "2026-10-26T21:00:00Z", true),
            ],
        );
    }
}

// ---------------------------------------------------------------------------
// Australia/Sydney (southern hemisphere)
// ---------------------------------------------------------------------------

#[test]
fn sydney_repeats_two_to_three_in_april_and_skips_it_in_october() {
    assert_resolves(
        Sydney,
        &[
            // 2026-04-05: 01:59 AEDT (+11).
            ("2026-04-05 01:59", "2026-04-04T14:59:00Z"),
            // 02:00-02:59 happen at +11 (15:00Z-15:59Z) and at +10 (16:00Z-16:59Z).
            ("2026-04-05 02:00", "2026-04-04T15:00:00Z"),
            ("2026-04-05 02:30", "2026-04-04T15:30:00Z"),
            ("2026-04-05 02:59", "2026-04-04T15:59:00Z"),
            // 03:00 exists only at +10.
            ("2026-04-05 03:00", "2026-04-04T17:00:00Z"),
            // 2026-10-04: 01:59 AEST (+10).
            ("2026-10-04 01:59", "2026-10-03T15:59:00Z"),
            // 02:00-02:59 do not exist; read at +10 they are 03:00-03:59 AEDT.
            ("2026-10-04 02:00", "2026-10-03T16:00:00Z"),
            ("2026-10-04 02:30", "2026-10-03T16:30:00Z"),
            ("2026-10-04 03:00", "2026-10-03T16:00:00Z"),
            ("2026-10-04 03:30", "2026-10-03T16:30:00Z"),
        ],
    );
}

#[test]
fn a_sydney_window_spanning_the_april_change_lasts_an_hour_longer() {
    // Sunday 01:30-03:30. 2026-03-29 (AEDT): 14:30Z-16:30Z (Saturday UTC).
    // 2026-04-05: 01:30 AEDT = 14:30Z, 03:30 AEST = 17:30Z: three hours.
    // 2026-04-12 (AEST): 15:30Z-17:30Z.
    let range = window(&["sun"], "01:30", "03:30", Sydney);
    assert_eq!(
        spans(&range, "2026-03-28T00:00:00Z", "2026-04-13T00:00:00Z"),
        expected_spans(&[
            ("2026-03-28T14:30:00Z", "2026-03-28T16:30:00Z"),
            ("2026-04-04T14:30:00Z", "2026-04-04T17:30:00Z"),
            ("2026-04-11T15:30:00Z", "2026-04-11T17:30:00Z"),
        ]),
    );
    let mentor = schedule(Sydney, 30, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-04-04T00:00:00Z", "2026-04-05T00:00:00Z"),
        instants(&[
            "2026-04-04T14:30:00Z",
            "2026-04-04T15:00:00Z",
            "2026-04-04T15:30:00Z",
            "2026-04-04T16:00:00Z",
            "2026-04-04T16:30:00Z",
            "2026-04-04T17:00:00Z",
        ]),
    );
}

#[test]
fn a_sydney_window_spanning_the_october_gap_lasts_an_hour_less() {
    // 2026-10-04: 01:30 AEST = 2026-10-03T15:30Z, 03:30 AEDT = 16:30Z: one hour.
    let range = window(&["sun"], "01:30", "03:30", Sydney);
    let mentor = schedule(Sydney, 30, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
        instants(&["2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z"]),
    );
    // A window starting in the gap starts an hour later in local terms:
    // 02:15 -> 03:15 AEDT = 16:15Z; 04:00 AEDT = 17:00Z.
    let in_gap = window(&["sun"], "02:15", "04:00", Sydney);
    assert_eq!(
        spans(&in_gap, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
        expected_spans(&[("2026-10-03T16:15:00Z", "2026-10-03T17:00:00Z")]),
    );
}

#[test]
fn a_sydney_window_crossing_midnight_on_transition_nights() {
    // Saturday 2026-10-03 23:30 AEST = 13:30Z.
    // 00:30 AEST = 14:30Z; 02:30 (gap) -> 03:30 AEDT = 16:30Z.
    for (end, expected_end) in [
        ("00:30", "2026-10-03T14:30:00Z"),
        ("02:30", "2026-10-03T16:30:00Z"),
    ] {
        let range = window(&["sat"], "23:30", end, Sydney);
        assert_eq!(
            spans(&range, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
            expected_spans(&[("2026-10-03T13:30:00Z", expected_end)]),
            "23:30-{end}"
        );
    }
    // Saturday 2026-04-04 23:30 AEDT = 12:30Z.
    // 02:30 (ambiguous) -> AEDT = 15:30Z (3h, as written); 03:00 AEST = 17:00Z (4h30).
    for (end, expected_end) in [
        ("02:30", "2026-04-04T15:30:00Z"),
        ("03:00", "2026-04-04T17:00:00Z"),
    ] {
        let range = window(&["sat"], "23:30", end, Sydney);
        assert_eq!(
            spans(&range, "2026-04-04T00:00:00Z", "2026-04-05T00:00:00Z"),
            expected_spans(&[("2026-04-04T12:30:00Z", expected_end)]),
            "23:30-{end}"
        );
    }
}

#[test]
fn sydney_calling_hours_follow_the_southern_hemisphere_changes() {
    let hours = seeker(Sydney, vec![]);
    assert_permits(
        &hours,
        &[
            // Monday 2026-03-30, AEDT: 08:00 = 2026-03-29T21:00Z.
            ("2026-03-29T21:00:00Z", "2026-03-29T21:15:00Z", true),
            ("2026-03-29T20:45:00Z", "2026-03-29T21:00:00Z", false),
            // Monday 2026-04-06, AEST: 08:00 = 2026-04-05T22:00Z.
            ("2026-04-05T21:00:00Z", "2026-04-05T21:15:00Z", false),
            ("2026-04-05T22:00:00Z", "2026-04-05T22:15:00Z", true),
            // Friday 2026-10-02, AEST: 21:00 = 11:00Z.
            ("2026-10-02T10:45:00Z", "2026-10-02T11:00:00Z", true),
            ("2026-10-02T10:50:00Z", "2026-10-02T11:05:00Z", false),
            // Monday 2026-10-05, AEDT: 08:00 = 2026-10-04T21:00Z.
            ("2026-10-04T21:00:00Z", "2026-10-04T21:15:00Z", true),
            ("2026-10-04T20:45:00Z", "2026-10-04T21:00:00Z", false),
        ],
    );
}

// ---------------------------------------------------------------------------
// Australia/Lord_Howe (30-minute DST)
// ---------------------------------------------------------------------------

#[test]
fn lord_howe_repeats_and_skips_half_an_hour() {
    assert_resolves(
        Lord_Howe,
        &[
            // 2026-04-05: 01:29 at +11.
            ("2026-04-05 01:29", "2026-04-04T14:29:00Z"),
            // 01:30-01:59 happen at +11 (14:30Z-14:59Z) and at +10:30 (15:00Z-15:29Z).
            ("2026-04-05 01:30", "2026-04-04T14:30:00Z"),
            ("2026-04-05 01:45", "2026-04-04T14:45:00Z"),
            ("2026-04-05 01:59", "2026-04-04T14:59:00Z"),
            // 02:00 exists only at +10:30.
            ("2026-04-05 02:00", "2026-04-04T15:30:00Z"),
            // 2026-10-04: 01:59 at +10:30.
            ("2026-10-04 01:59", "2026-10-03T15:29:00Z"),
            // 02:00-02:29 do not exist; read at +10:30 they are 02:30-02:59 at +11.
            ("2026-10-04 02:00", "2026-10-03T15:30:00Z"),
            ("2026-10-04 02:10", "2026-10-03T15:40:00Z"),
            ("2026-10-04 02:29", "2026-10-03T15:59:00Z"),
            ("2026-10-04 02:30", "2026-10-03T15:30:00Z"),
            ("2026-10-04 03:00", "2026-10-03T16:00:00Z"),
        ],
    );
}

#[test]
fn a_lord_howe_window_gains_and_loses_half_an_hour_on_transition_days() {
    // Sunday 01:00-02:30.
    // 2026-03-29 (+11): 01:00 = 2026-03-28T14:00Z, 02:30 = 15:30Z (1h30).
    // 2026-04-05: 01:00 (+11) = 14:00Z, 02:30 (+10:30) = 16:00Z (2h).
    // 2026-10-04: 01:00 (+10:30) = 2026-10-03T14:30Z, 02:30 (+11) = 15:30Z (1h).
    let range = window(&["sun"], "01:00", "02:30", Lord_Howe);
    let mentor = schedule(Lord_Howe, 30, None, vec![range], vec![]);
    assert_eq!(
        slot_starts(&mentor, "2026-03-28T00:00:00Z", "2026-04-05T00:00:00Z"),
        instants(&[
            "2026-03-28T14:00:00Z",
            "2026-03-28T14:30:00Z",
            "2026-03-28T15:00:00Z",
            // Local 01:00 (+11), 01:30 (+11), 01:30 (+10:30), 02:00 (+10:30).
            "2026-04-04T14:00:00Z",
            "2026-04-04T14:30:00Z",
            "2026-04-04T15:00:00Z",
            "2026-04-04T15:30:00Z",
        ]),
    );
    assert_eq!(
        slot_starts(&mentor, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
        instants(&["2026-10-03T14:30:00Z", "2026-10-03T15:00:00Z"]),
    );
}

#[test]
fn a_lord_howe_window_inside_the_half_hour_gap_shifts_or_vanishes() {
    // 02:15-02:25 lies wholly in the gap: both ends move by 30 minutes, 15:45Z-15:55Z.
    let inside = window(&["sun"], "02:15", "02:25", Lord_Howe);
    assert_eq!(
        spans(&inside, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
        expected_spans(&[("2026-10-03T15:45:00Z", "2026-10-03T15:55:00Z")]),
    );
    // 02:00-02:30: 02:00 -> 15:30Z and 02:30 (+11) = 15:30Z: empty, dropped.
    // 02:10-02:40: 02:10 -> 15:40Z and 02:40 (+11) = 15:40Z: empty, dropped.
    for (start, end) in [("02:00", "02:30"), ("02:10", "02:40")] {
        let range = window(&["sun"], start, end, Lord_Howe);
        assert_eq!(
            range.occurrence_on(date("2026-10-04")),
            None,
            "{start}-{end}"
        );
        // The Sunday before (+10:30) is an ordinary one.
        assert!(
            range.occurrence_on(date("2026-09-27")).is_some(),
            "{start}-{end}"
        );
    }
    // 02:10-03:00: 15:40Z-16:00Z, 20 minutes of a nominal 50.
    let shortened = window(&["sun"], "02:10", "03:00", Lord_Howe);
    assert_eq!(
        spans(&shortened, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
        expected_spans(&[("2026-10-03T15:40:00Z", "2026-10-03T16:00:00Z")]),
    );
}

#[test]
fn a_lord_howe_window_crossing_midnight_ends_on_a_transition() {
    // Saturday 2026-10-03 23:30 (+10:30) = 13:00Z; 02:00 Sunday (gap) = 15:30Z.
    let to_two = window(&["sat"], "23:30", "02:00", Lord_Howe);
    assert_eq!(
        spans(&to_two, "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"),
        expected_spans(&[("2026-10-03T13:00:00Z", "2026-10-03T15:30:00Z")]),
    );
    // Saturday 2026-04-04 23:30 (+11) = 12:30Z; 02:00 Sunday (+10:30 only) = 15:30Z:
    // three hours instead of 2h30.
    assert_eq!(
        spans(&to_two, "2026-04-04T00:00:00Z", "2026-04-05T00:00:00Z"),
        expected_spans(&[("2026-04-04T12:30:00Z", "2026-04-04T15:30:00Z")]),
    );
    // Ending 01:45 (ambiguous) -> +11 = 14:45Z: 2h15, as written.
    let to_quarter_to_two = window(&["sat"], "23:30", "01:45", Lord_Howe);
    assert_eq!(
        spans(
            &to_quarter_to_two,
            "2026-04-04T00:00:00Z",
            "2026-04-05T00:00:00Z"
        ),
        expected_spans(&[("2026-04-04T12:30:00Z", "2026-04-04T14:45:00Z")]),
    );
}

#[test]
fn lord_howe_calling_hours_move_by_half_an_hour_in_utc() {
    let hours = seeker(Lord_Howe, vec![]);
    assert_permits(
        &hours,
        &[
            // Monday 2026-09-28 (+10:30): 08:00 = 2026-09-27T21:30Z.
            ("2026-09-27T21:30:00Z", "2026-09-27T21:45:00Z", true),
            ("2026-09-27T21:15:00Z", "2026-09-27T21:30:00Z", false),
            // Monday 2026-10-05 (+11): 08:00 = 2026-10-04T21:00Z.
            ("2026-10-04T21:00:00Z", "2026-10-04T21:15:00Z", true),
            ("2026-10-04T20:45:00Z", "2026-10-04T21:00:00Z", false),
            // Monday 2026-04-06 (+10:30): 08:00 = 2026-04-05T21:30Z; 21:00 = 10:30Z.
            ("2026-04-05T21:00:00Z", "2026-04-05T21:15:00Z", false),
            ("2026-04-05T21:30:00Z", "2026-04-05T21:45:00Z", true),
            ("2026-04-06T10:15:00Z", "2026-04-06T10:30:00Z", true),
            ("2026-04-06T10:20:00Z", "2026-04-06T10:35:00Z", false),
        ],
    );
}

// ---------------------------------------------------------------------------
// America/Santiago (transitions at midnight)
// ---------------------------------------------------------------------------

#[test]
fn a_santiago_window_crossing_midnight_meets_transitions_at_both_ends() {
    let range = window(&["sat"], "23:30", "00:30", Santiago);
    // Saturday 2026-04-04: 23:00-23:59 happen twice (-3, then -4). 23:30 takes -3 =
    // 2026-04-05T02:30Z; Sunday 00:30 (-4) = 04:30Z: two hours of a nominal one.
    assert_eq!(
        spans(&range, "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z"),
        expected_spans(&[("2026-04-05T02:30:00Z", "2026-04-05T04:30:00Z")]),
    );
    // Saturday 2026-09-05 23:30 (-4) = 2026-09-06T03:30Z; Sunday 00:30 is in the gap
    // -> 01:30 (-3) = 04:30Z: one hour, as written.
    assert_eq!(
        spans(&range, "2026-09-05T00:00:00Z", "2026-09-07T00:00:00Z"),
        expected_spans(&[("2026-09-06T03:30:00Z", "2026-09-06T04:30:00Z")]),
    );
    // Sunday 00:00-01:00 on 2026-09-06: 00:00 (gap) -> 04:00Z = 01:00 (-3): empty.
    let sunday_first_hour = window(&["sun"], "00:00", "01:00", Santiago);
    assert_eq!(sunday_first_hour.occurrence_on(date("2026-09-06")), None);
    // Saturday 23:00-00:00 on 2026-04-04: 23:00 (-3) = 02:00Z; midnight exists only
    // at -4 = 04:00Z.
    let last_hour = window(&["sat"], "23:00", "00:00", Santiago);
    assert_eq!(
        spans(&last_hour, "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z"),
        expected_spans(&[("2026-04-05T02:00:00Z", "2026-04-05T04:00:00Z")]),
    );
}

// ---------------------------------------------------------------------------
// Asia/Kathmandu (+05:45, no DST)
// ---------------------------------------------------------------------------

#[test]
fn kathmandu_is_five_forty_five_ahead_all_year() {
    assert_resolves(
        Kathmandu,
        &[
            // Dates on which other zones change clocks change nothing here.
            ("2026-03-08 02:30", "2026-03-07T20:45:00Z"),
            ("2026-03-29 01:30", "2026-03-28T19:45:00Z"),
            ("2026-11-01 01:30", "2026-10-31T19:45:00Z"),
            ("2026-06-15 07:30", "2026-06-15T01:45:00Z"),
            ("2026-01-01 00:00", "2025-12-31T18:15:00Z"),
        ],
    );
    let offset = TimeDelta::minutes(5 * 60 + 45);
    let start = local("2026-01-01 00:00");
    for hour in 0..(365 * 24) {
        let wall = start + TimeDelta::hours(hour);
        assert_eq!(
            resolve_local(Kathmandu, wall),
            (wall - offset).and_utc(),
            "{wall}"
        );
    }
}

#[test]
fn a_kathmandu_commute_window_yields_quarter_past_slots_in_utc() {
    // Weekdays 07:30-08:15 = 01:45Z-02:30Z: three 15-minute slots a day.
    let range = window(
        &["mon", "tue", "wed", "thu", "fri"],
        "07:30",
        "08:15",
        Kathmandu,
    );
    let mentor = schedule(Kathmandu, 15, None, vec![range], vec![]);
    // Monday 2026-03-09 to Sunday 2026-03-15.
    let starts = slot_starts(&mentor, "2026-03-08T18:15:00Z", "2026-03-15T18:15:00Z");
    let expected: Vec<DateTime<Utc>> = (9..=13)
        .flat_map(|day| {
            ["01:45", "02:00", "02:15"].map(|clock| at(&format!("2026-03-{day:02}T{clock}:00Z")))
        })
        .collect();
    assert_eq!(starts, expected);
    // A cap of two keeps the first two of each morning.
    let capped = schedule(Kathmandu, 15, Some(2), vec![range], vec![]);
    let starts = slot_starts(&capped, "2026-03-08T18:15:00Z", "2026-03-15T18:15:00Z");
    assert_eq!(starts.len(), 10);
    assert!(
        starts
            .iter()
            .all(|start| start.format("%H:%M").to_string() != "02:15")
    );
}

#[test]
fn a_kathmandu_window_crossing_midnight_lasts_exactly_an_hour() {
    // Monday 2026-03-09 23:30 = 17:45Z; Tuesday 00:30 = 18:45Z.
    let range = window(&["mon"], "23:30", "00:30", Kathmandu);
    assert_eq!(
        spans(&range, "2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z"),
        expected_spans(&[("2026-03-09T17:45:00Z", "2026-03-09T18:45:00Z")]),
    );
}

#[test]
fn kathmandu_calling_hours_open_at_quarter_past_two_utc() {
    let hours = seeker(Kathmandu, vec![]);
    assert_permits(
        &hours,
        &[
            // Tuesday 2026-03-10: 08:00 = 02:15Z, 21:00 = 15:15Z.
            ("2026-03-10T02:15:00Z", "2026-03-10T02:30:00Z", true),
            ("2026-03-10T02:00:00Z", "2026-03-10T02:15:00Z", false),
            ("2026-03-10T15:00:00Z", "2026-03-10T15:15:00Z", true),
            ("2026-03-10T15:05:00Z", "2026-03-10T15:20:00Z", false),
        ],
    );
}

// ---------------------------------------------------------------------------
// Pauses
// ---------------------------------------------------------------------------

#[test]
fn a_pause_on_the_fall_back_sunday_removes_its_long_occurrence_only() {
    let range = window(&["sun"], "01:00", "02:00", New_York);
    let pause = Pause::parse("2026-11-01", "2026-11-01").expect("valid pause");
    let mentor = schedule(New_York, 30, None, vec![range], vec![pause]);
    assert_eq!(
        slot_starts(&mentor, "2026-10-25T00:00:00Z", "2026-11-09T00:00:00Z"),
        instants(&[
            "2026-10-25T05:00:00Z",
            "2026-10-25T05:30:00Z",
            "2026-11-08T06:00:00Z",
            "2026-11-08T06:30:00Z",
        ]),
    );
}

#[test]
fn pause_dates_are_inclusive_and_a_midnight_crossing_occurrence_belongs_to_its_start_date() {
    // Saturday 23:30-00:30 London; the 2026-03-28 occurrence runs 23:30Z-00:30Z.
    let range = window(&["sat"], "23:30", "00:30", London);
    let from = "2026-03-21T00:00:00Z";
    let to = "2026-04-06T00:00:00Z";
    let all = vec![
        "2026-03-21T23:30:00Z",
        // 2026-03-28 23:30 GMT; ends 00:30 GMT on the spring-forward day.
        "2026-03-28T23:30:00Z",
        // 2026-04-04 23:30 BST = 22:30Z.
        "2026-04-04T22:30:00Z",
    ];
    let with_pause = |first: &str, last: &str| {
        let pause = Pause::parse(first, last).expect("valid pause");
        schedule(London, 60, None, vec![range], vec![pause])
    };
    // Pausing the Sunday keeps the Saturday-night occurrence.
    assert_eq!(
        slot_starts(&with_pause("2026-03-29", "2026-03-29"), from, to),
        instants(&all)
    );
    // Pausing the Saturday removes it.
    assert_eq!(
        slot_starts(&with_pause("2026-03-28", "2026-03-28"), from, to),
        instants(&[all[0], all[2]])
    );
    // Both ends of a pause are included.
    assert_eq!(
        slot_starts(&with_pause("2026-03-21", "2026-03-28"), from, to),
        instants(&[all[2]])
    );
}

#[test]
fn pauses_are_read_in_the_mentors_zone_even_for_a_window_in_another_zone() {
    // A Sydney mentor with a London window, Sunday 22:00-23:00. On 2026-03-29 that is
    // 22:00 BST = 21:00Z = Monday 2026-03-30 08:00 AEDT for the mentor.
    let range = window(&["sun"], "22:00", "23:00", London);
    let with_pause = |day: &str| {
        let pause = Pause::parse(day, day).expect("valid pause");
        schedule(Sydney, 60, None, vec![range], vec![pause])
    };
    let from = "2026-03-29T00:00:00Z";
    let to = "2026-03-30T00:00:00Z";
    assert_eq!(
        slot_starts(&with_pause("2026-03-29"), from, to),
        instants(&["2026-03-29T21:00:00Z"])
    );
    assert!(slot_starts(&with_pause("2026-03-30"), from, to).is_empty());
}
