//! Matching, seen only through HTTP: which pending request gets which mentor slot.
//!
//! Every expected booking is worked out by hand in the comments. Zones used:
//! America/New_York is EST (UTC-5) from 2026-11-01 to 2027-03-14 and EDT (UTC-4)
//! in June; Asia/Tokyo is UTC+9 all year; Europe/London is UTC+0 in winter. The
//! harness's default "now" is Monday 2026-11-30 12:00Z (07:00 EST), so with the
//! default two hours' notice the earliest bookable instant is 14:00Z that day and
//! the 14-day horizon ends Monday 2026-12-14 12:00Z.

use std::collections::{BTreeSet, HashMap};

use crate::helpers::{self, ADMIN_TOKEN, TestApp, at, default_now, mentor_body, request_body};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use ridealong::app::App;
use ridealong::clock::ManualClock;
use ridealong::domain::hours::CallingHours;
use serde_json::{Value, json};

const WEEKDAYS: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];

/// A window body in the mentor's own zone.
fn window(weekdays: &[&str], start: &str, end: &str) -> Value {
    json!({ "weekdays": weekdays, "start": start, "end": end })
}

/// A request from seeker number `n` in `zone`, topic "interviews", no availability.
fn seeker(n: u32, zone: &str) -> Value {
    let mut body = request_body(&format!("Seeker {n}"), &format!("+1201555{:04}", 100 + n));
    body["timezone"] = json!(zone);
    body
}

/// A request from seeker `n` in New York with `availability`.
fn available(n: u32, availability: Value) -> Value {
    let mut body = seeker(n, "America/New_York");
    body["availability"] = availability;
    body
}

/// A request from seeker `n` in New York about `topic`.
fn about(n: u32, topic: &str) -> Value {
    let mut body = seeker(n, "America/New_York");
    body["topic"] = json!(topic);
    body
}

/// A mentor in New York (topics "Data analysis", "Interviews") with `windows`.
async fn mentor_with_windows(app: &TestApp, name: &str, windows: &[Value]) -> i64 {
    mentor_with(app, mentor_body(name, &mentor_phone(name)), windows).await
}

/// A mentor from `body` with `windows`.
async fn mentor_with(app: &TestApp, body: Value, windows: &[Value]) -> i64 {
    let (id, _) = app.create_mentor(&body).await;
    for window in windows {
        app.add_window(id, window).await;
    }
    id
}

/// A phone number derived from a mentor's name, so each mentor has their own.
fn mentor_phone(name: &str) -> String {
    let n: u32 = name.bytes().map(u32::from).sum::<u32>() % 100;
    format!("+1201555{:04}", 9000 + n)
}

/// Where the request stands: its status and, when booked, the call's start and
/// mentor (read through the seeker's view and the admin's call detail).
async fn booking(app: &TestApp, created: &Value) -> (String, Option<(DateTime<Utc>, i64)>) {
    let seen = app.request_as_seeker(created).await;
    let status = seen["status"].as_str().unwrap().to_owned();
    if seen["call"].is_null() {
        return (status, None);
    }
    let (code, call) = app
        .get(
            &format!("/api/v1/calls/{}", seen["call"]["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{call}");
    let starts_at = at(call["starts_at"].as_str().unwrap());
    assert_eq!(at(seen["call"]["starts_at"].as_str().unwrap()), starts_at);
    (
        status,
        Some((starts_at, call["mentor_id"].as_i64().unwrap())),
    )
}

/// The start of the request's booked call; panics when it has none.
async fn booked_at(app: &TestApp, created: &Value) -> DateTime<Utc> {
    match booking(app, created).await {
        (status, Some((starts_at, _))) => {
            assert_eq!(status, "scheduled");
            starts_at
        }
        (status, None) => panic!("request {} is {status}, not booked", created["id"]),
    }
}

/// The mentor of the request's booked call; panics when it has none.
async fn booked_with(app: &TestApp, created: &Value) -> (DateTime<Utc>, i64) {
    booking(app, created)
        .await
        .1
        .unwrap_or_else(|| panic!("request {} is not booked", created["id"]))
}

async fn assert_pending(app: &TestApp, created: &Value) {
    assert_eq!(booking(app, created).await, ("pending".to_owned(), None));
}

/// Every call, as the admin lists them.
async fn all_calls(app: &TestApp) -> Vec<Value> {
    let (status, calls) = app.get("/api/v1/calls?limit=1000", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{calls}");
    calls.as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------
// Order, notice and horizon
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_oldest_pending_request_gets_the_earliest_slot() {
    let app = TestApp::spawn().await;
    // Submitted while no mentor has a window, so both wait. The first one submitted
    // (lower id) carries the later time; the second is older.
    app.clock.set(at("2026-11-30T12:01:00Z"));
    let newer = app.create_request(&seeker(1, "America/New_York")).await;
    app.clock.set(at("2026-11-30T12:00:00Z"));
    let older = app.create_request(&seeker(2, "America/New_York")).await;
    app.settle().await;
    assert_pending(&app, &newer).await;
    assert_pending(&app, &older).await;

    // Weekdays 12:00-12:30 EST = 17:00Z-17:30Z: two slots a day.
    app.clock.set(at("2026-11-30T12:05:00Z"));
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "12:00", "12:30")]).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &older).await, at("2026-11-30T17:00:00Z"));
    assert_eq!(booked_at(&app, &newer).await, at("2026-11-30T17:15:00Z"));

    // A later request takes what is left: Tuesday's first slot.
    let latest = app.create_request(&seeker(3, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &latest).await, at("2026-12-01T17:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn notice_counts_in_whole_minutes() {
    // Weekdays 12:00-12:30 EST: slots at 17:00Z and 17:15Z.
    let windows = [window(&WEEKDAYS, "12:00", "12:30")];

    // Now 15:00:59Z: 17:00Z is in the minute two hours ahead, so it is bookable.
    let app = TestApp::spawn_at(at("2026-11-30T15:00:59Z")).await;
    mentor_with_windows(&app, "Grace", &windows).await;
    let request = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &request).await, at("2026-11-30T17:00:00Z"));
    app.stop().await;

    // Now 15:01:00Z: 17:00Z is a minute short of the notice; 17:15Z is not.
    let app = TestApp::spawn_at(at("2026-11-30T15:01:00Z")).await;
    mentor_with_windows(&app, "Grace", &windows).await;
    let first = app.create_request(&seeker(1, "America/New_York")).await;
    let second = app.create_request(&seeker(2, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &first).await, at("2026-11-30T17:15:00Z"));
    assert_eq!(booked_at(&app, &second).await, at("2026-12-01T17:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn a_configured_minimum_notice_replaces_the_default() {
    // Now 16:50Z with ten minutes' notice: 17:00Z today is bookable, which the
    // default two hours would not allow.
    let app = TestApp::spawn_with(at("2026-11-30T16:50:00Z"), |config| {
        config.policy.min_notice = TimeDelta::minutes(10);
    })
    .await;
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "12:00", "12:30")]).await;
    let request = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &request).await, at("2026-11-30T17:00:00Z"));
    app.stop().await;

    // Three days' notice from Monday 12:00Z: nothing before Thursday 12:00Z.
    let app = TestApp::spawn_with(default_now(), |config| {
        config.policy.min_notice = TimeDelta::days(3);
    })
    .await;
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "12:00", "12:30")]).await;
    let request = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &request).await, at("2026-12-03T17:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn slots_beyond_a_configured_horizon_are_not_booked_until_it_reaches_them() {
    let app = TestApp::spawn_with(default_now(), |config| {
        config.policy.horizon = TimeDelta::days(3);
    })
    .await;
    // Fridays 12:00-12:15 EST: Friday 12-04 17:00Z is 4 days 5 hours ahead.
    mentor_with_windows(&app, "Grace", &[window(&["fri"], "12:00", "12:15")]).await;
    let request = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_pending(&app, &request).await;

    // Tuesday 12-01 18:00Z: the horizon now ends Friday 18:00Z.
    app.clock.set(at("2026-12-01T18:00:00Z"));
    app.settle().await;
    assert_eq!(booked_at(&app, &request).await, at("2026-12-04T17:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn the_default_horizon_is_fourteen_days() {
    // Now Monday 11-30 16:30Z: the horizon ends Monday 12-14 16:30Z.
    let app = TestApp::spawn_at(at("2026-11-30T16:30:00Z")).await;
    let (mentor, token) = app
        .create_mentor(&mentor_body("Grace", "+12015559001"))
        .await;
    // Mondays 12:00-12:15 EST = 17:00Z; Monday 12-07 is paused. Today's 17:00Z is
    // inside the notice, 12-07 is paused, and 12-14 17:00Z is half an hour past
    // the horizon.
    let (status, _) = app
        .post(
            &format!("/api/v1/mentors/{mentor}/pauses"),
            Some(&token),
            &json!({"from": "2026-12-07", "to": "2026-12-07"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.add_window(mentor, &window(&["mon"], "12:00", "12:15"))
        .await;
    let request = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_pending(&app, &request).await;

    // An hour later the horizon ends 12-14 17:30Z and takes in 12-14 17:00Z.
    app.clock.set(at("2026-11-30T17:30:00Z"));
    app.settle().await;
    assert_eq!(booked_at(&app, &request).await, at("2026-12-14T17:00:00Z"));
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Calling hours and availability
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_tokyo_seeker_gets_only_slots_that_end_by_nine_pm_in_tokyo() {
    // Monday 2026-06-01 12:00Z = 08:00 EDT = 21:00 JST.
    let app = TestApp::spawn_at(at("2026-06-01T12:00:00Z")).await;
    // A New York commute, weekdays 07:30-08:15 EDT = 11:30Z-12:15Z: slots at 11:30Z,
    // 11:45Z and 12:00Z, which in Tokyo are 20:30, 20:45 and 21:00 JST the same
    // weekday. The 21:00-21:15 JST slot ends after calling hours.
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "07:30", "08:15")]).await;
    let tokyo: Vec<Value> = (1..=3).map(|n| seeker(n, "Asia/Tokyo")).collect();
    let mut created = Vec::new();
    for body in &tokyo {
        created.push(app.create_request(body).await);
    }
    app.settle().await;
    // Monday's slots are inside the two hours' notice; Tuesday 06-02 is next.
    assert_eq!(
        booked_at(&app, &created[0]).await,
        at("2026-06-02T11:30:00Z")
    );
    assert_eq!(
        booked_at(&app, &created[1]).await,
        at("2026-06-02T11:45:00Z")
    );
    // Not Tuesday 12:00Z (21:00-21:15 JST), but Wednesday 11:30Z (20:30 JST).
    assert_eq!(
        booked_at(&app, &created[2]).await,
        at("2026-06-03T11:30:00Z")
    );

    // A New York seeker can take the 12:00Z slot (08:00-08:15 EDT) the Tokyo
    // seeker could not, and not the 07:30 or 07:45 EDT ones.
    let new_york = app.create_request(&seeker(4, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &new_york).await, at("2026-06-02T12:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn a_tokyo_seeker_cannot_take_a_winter_new_york_morning_slot() {
    let app = TestApp::spawn().await;
    // Weekdays 07:30-08:15 EST = 12:30Z-13:15Z = 21:30-22:15 JST: all past calling
    // hours in Tokyo; 12:30-13:15 in London, inside them.
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "07:30", "08:15")]).await;
    let tokyo = app.create_request(&seeker(1, "Asia/Tokyo")).await;
    app.settle().await;
    assert_pending(&app, &tokyo).await;

    let london = app.create_request(&seeker(2, "Europe/London")).await;
    app.settle().await;
    // Monday's 12:30Z is inside the notice; Tuesday 12-01 12:30Z is the first.
    assert_eq!(booked_at(&app, &london).await, at("2026-12-01T12:30:00Z"));
    assert_pending(&app, &tokyo).await;
    app.stop().await;
}

#[tokio::test]
async fn a_slot_that_starts_before_eight_am_seeker_time_is_skipped() {
    let app = TestApp::spawn().await;
    // Weekdays 07:45-08:30 EST = 12:45Z-13:30Z: slots at 12:45Z (07:45 EST, too
    // early for a New York seeker), 13:00Z and 13:15Z. Monday's are all inside
    // the notice (earliest 14:00Z).
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "07:45", "08:30")]).await;
    let mut created = Vec::new();
    for n in 1..=3 {
        created.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    assert_eq!(
        booked_at(&app, &created[0]).await,
        at("2026-12-01T13:00:00Z")
    );
    assert_eq!(
        booked_at(&app, &created[1]).await,
        at("2026-12-01T13:15:00Z")
    );
    assert_eq!(
        booked_at(&app, &created[2]).await,
        at("2026-12-02T13:00:00Z")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_slot_that_ends_after_nine_pm_seeker_time_is_skipped() {
    let app = TestApp::spawn().await;
    // Weekdays 20:30-21:15 EST = 01:30Z-02:15Z the next UTC day: slots at 01:30Z,
    // 01:45Z and 02:00Z (21:00-21:15 EST, ends after calling hours).
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "20:30", "21:15")]).await;
    let mut created = Vec::new();
    for n in 1..=3 {
        created.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    // Monday 11-30 20:30 EST = 12-01 01:30Z.
    assert_eq!(
        booked_at(&app, &created[0]).await,
        at("2026-12-01T01:30:00Z")
    );
    assert_eq!(
        booked_at(&app, &created[1]).await,
        at("2026-12-01T01:45:00Z")
    );
    // Not 12-01 02:00Z but Tuesday 20:30 EST = 12-02 01:30Z.
    assert_eq!(
        booked_at(&app, &created[2]).await,
        at("2026-12-02T01:30:00Z")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_deployment_may_narrow_calling_hours() {
    let app = TestApp::spawn_with(default_now(), |config| {
        config.policy.calling_hours = CallingHours::parse("09:00-20:00").expect("hours");
    })
    .await;
    // Weekdays 08:00-08:30 EST (13:00Z, 13:15Z) and 19:45-20:15 EST (00:45Z, 01:00Z
    // the next UTC day). With 09:00-20:00 only 19:45-20:00 EST fits; the default
    // hours would have given Tuesday 13:00Z first.
    mentor_with_windows(
        &app,
        "Grace",
        &[
            window(&WEEKDAYS, "08:00", "08:30"),
            window(&WEEKDAYS, "19:45", "20:15"),
        ],
    )
    .await;
    let first = app.create_request(&seeker(1, "America/New_York")).await;
    let second = app.create_request(&seeker(2, "America/New_York")).await;
    app.settle().await;
    // Monday 19:45 EST = 12-01 00:45Z; Tuesday 19:45 EST = 12-02 00:45Z.
    assert_eq!(booked_at(&app, &first).await, at("2026-12-01T00:45:00Z"));
    assert_eq!(booked_at(&app, &second).await, at("2026-12-02T00:45:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn a_seekers_stated_availability_is_honoured_for_the_whole_slot() {
    let app = TestApp::spawn().await;
    // Weekdays 12:00-12:30 EST: 17:00Z and 17:15Z.
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "12:00", "12:30")]).await;
    // Wednesdays 11:00-12:20 New York time: 12:00-12:15 fits, 12:15-12:30 does not.
    let wednesdays = json!([{"weekdays": ["wed"], "start": "11:00", "end": "12:20"}]);
    let first = app.create_request(&available(1, wednesdays.clone())).await;
    let second = app.create_request(&available(2, wednesdays)).await;
    // Thursdays and Fridays 12:10-13:00: only the 12:15 slot fits.
    let late = json!([{"weekdays": ["thu", "fri"], "start": "12:10", "end": "13:00"}]);
    let third = app.create_request(&available(3, late)).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &first).await, at("2026-12-02T17:00:00Z"));
    // Wednesday 12:15 does not fit; the next Wednesday's 12:00 does.
    assert_eq!(booked_at(&app, &second).await, at("2026-12-09T17:00:00Z"));
    assert_eq!(booked_at(&app, &third).await, at("2026-12-03T17:15:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn without_stated_availability_a_seeker_is_called_on_weekdays_only() {
    let app = TestApp::spawn().await;
    // Weekends 10:00-10:30 EST = 15:00Z-15:30Z.
    mentor_with_windows(&app, "Grace", &[window(&["sat", "sun"], "10:00", "10:30")]).await;
    let weekdays_only = app.create_request(&seeker(1, "America/New_York")).await;
    let saturdays = json!([{"weekdays": ["sat"], "start": "09:00", "end": "12:00"}]);
    let saturday = app.create_request(&available(2, saturdays)).await;
    app.settle().await;
    assert_pending(&app, &weekdays_only).await;
    // Saturday 12-05 10:00 EST = 15:00Z.
    assert_eq!(booked_at(&app, &saturday).await, at("2026-12-05T15:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn the_weekday_that_counts_is_the_seekers_not_the_mentors() {
    let app = TestApp::spawn().await;
    // A Tokyo mentor, Mondays and Saturdays 09:00-09:15 JST = 00:00Z-00:15Z, which
    // in New York is the evening before at 19:00 EST: Sunday and Friday.
    let mut body = mentor_body("Kenji", "+12015559001");
    body["timezone"] = json!("Asia/Tokyo");
    mentor_with(&app, body, &[window(&["mon", "sat"], "09:00", "09:15")]).await;
    let mut created = Vec::new();
    for n in 1..=3 {
        created.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    // Saturday 12-05 09:00 JST = 12-05 00:00Z = Friday 12-04 19:00 EST: a weekday.
    assert_eq!(
        booked_at(&app, &created[0]).await,
        at("2026-12-05T00:00:00Z")
    );
    // Monday 12-07 09:00 JST = Sunday 19:00 EST: skipped. Saturday 12-12 09:00 JST
    // = Friday 12-11 19:00 EST.
    assert_eq!(
        booked_at(&app, &created[1]).await,
        at("2026-12-12T00:00:00Z")
    );
    // Monday 12-14 00:00Z is a Sunday in New York (and the horizon ends 12:00Z
    // that day anyway): nothing left.
    assert_pending(&app, &created[2]).await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Ties between mentors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_mentor_whose_topics_match_wins_a_tie() {
    let app = TestApp::spawn().await;
    // Both have weekdays 12:00-12:15 EST, one slot a day at 17:00Z. Rusty has the
    // lower id; Ivy also commutes on Monday 10:00-10:15 EST (15:00Z).
    let lunch = window(&WEEKDAYS, "12:00", "12:15");
    let mut rust = mentor_body("Rusty", "+12015559001");
    rust["topics"] = json!(["Rust"]);
    let rust = mentor_with(&app, rust, std::slice::from_ref(&lunch)).await;
    let mut interviews = mentor_body("Ivy", "+12015559002");
    interviews["topics"] = json!(["Interviews", "CVs"]);
    let interviews = mentor_with(
        &app,
        interviews,
        &[lunch, window(&["mon"], "10:00", "10:15")],
    )
    .await;

    let created = [
        about(1, "gardening"),
        about(2, "INTERVIEWS"),
        about(3, "salary negotiation"),
        about(4, "cvs"),
        about(5, "Rust"),
    ];
    let mut requests = Vec::new();
    for body in &created {
        requests.push(app.create_request(body).await);
    }
    app.settle().await;
    // Monday 15:00Z is the earliest slot and Ivy's only: she now has a call this
    // week and Rusty none.
    assert_eq!(
        booked_with(&app, &requests[0]).await,
        (at("2026-11-30T15:00:00Z"), interviews)
    );
    // Monday 17:00Z, both free: Ivy's topics match (in any case), which beats
    // Rusty's lighter week and lower id.
    assert_eq!(
        booked_with(&app, &requests[1]).await,
        (at("2026-11-30T17:00:00Z"), interviews)
    );
    // No match: the earliest slot left, Rusty's at the same instant.
    assert_eq!(
        booked_with(&app, &requests[2]).await,
        (at("2026-11-30T17:00:00Z"), rust)
    );
    // Tuesday 17:00Z, both free: "cvs" matches Ivy's "CVs" although she has two
    // calls this week to Rusty's one.
    assert_eq!(
        booked_with(&app, &requests[3]).await,
        (at("2026-12-01T17:00:00Z"), interviews)
    );
    assert_eq!(
        booked_with(&app, &requests[4]).await,
        (at("2026-12-01T17:00:00Z"), rust)
    );
    app.stop().await;
}

#[tokio::test]
async fn with_equal_topics_the_mentor_with_fewer_calls_that_week_wins() {
    let app = TestApp::spawn().await;
    // Busy (lower id) also commutes on Monday 10:00-10:15 EST = 15:00Z; both share
    // Tuesday 12:00-12:15 EST = 17:00Z. Both list the same topics.
    let busy = mentor_with_windows(
        &app,
        "Busy",
        &[
            window(&["mon"], "10:00", "10:15"),
            window(&["tue"], "12:00", "12:15"),
        ],
    )
    .await;
    let quiet = mentor_with_windows(&app, "Quiet", &[window(&["tue"], "12:00", "12:15")]).await;
    let mut created = Vec::new();
    for n in 1..=3 {
        created.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    // Monday 15:00Z is the earliest slot: Busy's only.
    assert_eq!(
        booked_with(&app, &created[0]).await,
        (at("2026-11-30T15:00:00Z"), busy)
    );
    // Tuesday 17:00Z: Busy has one call in ISO week 49, Quiet none.
    assert_eq!(
        booked_with(&app, &created[1]).await,
        (at("2026-12-01T17:00:00Z"), quiet)
    );
    assert_eq!(
        booked_with(&app, &created[2]).await,
        (at("2026-12-01T17:00:00Z"), busy)
    );
    app.stop().await;
}

#[tokio::test]
async fn calls_in_another_iso_week_do_not_count_towards_the_balance() {
    // Friday 2026-12-04 12:00Z (07:00 EST), ISO week 49; Monday 12-07 is week 50.
    let app = TestApp::spawn_at(at("2026-12-04T12:00:00Z")).await;
    // First (lower id): Monday 10:00-10:15 and 12:00-12:15 EST.
    // Second: Friday 10:00-10:15 and Monday 12:00-12:15 EST.
    let first = mentor_with_windows(
        &app,
        "First",
        &[
            window(&["mon"], "10:00", "10:15"),
            window(&["mon"], "12:00", "12:15"),
        ],
    )
    .await;
    let second = mentor_with_windows(
        &app,
        "Second",
        &[
            window(&["fri"], "10:00", "10:15"),
            window(&["mon"], "12:00", "12:15"),
        ],
    )
    .await;
    let mut created = Vec::new();
    for n in 1..=4 {
        created.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    // Friday 12-04 15:00Z (week 49): Second's.
    assert_eq!(
        booked_with(&app, &created[0]).await,
        (at("2026-12-04T15:00:00Z"), second)
    );
    // Monday 12-07 15:00Z (week 50): First's.
    assert_eq!(
        booked_with(&app, &created[1]).await,
        (at("2026-12-07T15:00:00Z"), first)
    );
    // Monday 12-07 17:00Z: each has one call in all, but in week 50 First has one
    // and Second none, so Second wins despite the higher id.
    assert_eq!(
        booked_with(&app, &created[2]).await,
        (at("2026-12-07T17:00:00Z"), second)
    );
    assert_eq!(
        booked_with(&app, &created[3]).await,
        (at("2026-12-07T17:00:00Z"), first)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_week_that_counts_is_the_iso_week_in_the_mentors_zone() {
    // Friday 2026-12-04 12:00Z. Two Tokyo mentors (UTC+9); seekers in London (UTC+0
    // in winter) who may be called any day from 08:00 to 21:00.
    let app = TestApp::spawn_at(at("2026-12-04T12:00:00Z")).await;
    let tokyo = |name: &str| {
        let mut body = mentor_body(name, &mentor_phone(name));
        body["timezone"] = json!("Asia/Tokyo");
        body
    };
    // First (lower id): Mondays and Tuesdays 00:00-00:15 JST, which are Sundays
    // and Mondays 15:00Z. Second: Tuesdays 00:00-00:15 JST only.
    let first = mentor_with(
        &app,
        tokyo("First"),
        &[
            window(&["mon"], "00:00", "00:15"),
            window(&["tue"], "00:00", "00:15"),
        ],
    )
    .await;
    let second = mentor_with(&app, tokyo("Second"), &[window(&["tue"], "00:00", "00:15")]).await;
    let any_day = json!([{
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "08:00", "end": "21:00",
    }]);
    let mut created = Vec::new();
    for n in 1..=3 {
        let mut body = seeker(n, "Europe/London");
        body["availability"] = any_day.clone();
        created.push(app.create_request(&body).await);
    }
    app.settle().await;
    // Sunday 12-06 15:00Z = Monday 12-07 00:00 JST: ISO week 50 in Tokyo (in UTC
    // it is still week 49). First's.
    assert_eq!(
        booked_with(&app, &created[0]).await,
        (at("2026-12-06T15:00:00Z"), first)
    );
    // Monday 12-07 15:00Z = Tuesday 12-08 00:00 JST, week 50: First already has a
    // call in Tokyo's week 50, Second none, so Second wins despite the higher id.
    // (Counted in UTC weeks both would have none and First would win on id.)
    assert_eq!(
        booked_with(&app, &created[1]).await,
        (at("2026-12-07T15:00:00Z"), second)
    );
    assert_eq!(
        booked_with(&app, &created[2]).await,
        (at("2026-12-07T15:00:00Z"), first)
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Changes to supply
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_pause_added_later_keeps_new_requests_off_those_dates() {
    let app = TestApp::spawn().await;
    // Weekdays 12:00-12:15 EST: one slot a day at 17:00Z.
    let (mentor, token) = app
        .create_mentor(&mentor_body("Grace", "+12015559001"))
        .await;
    app.add_window(mentor, &window(&WEEKDAYS, "12:00", "12:15"))
        .await;
    let before = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &before).await, at("2026-11-30T17:00:00Z"));

    let (status, pause) = app
        .post(
            &format!("/api/v1/mentors/{mentor}/pauses"),
            Some(&token),
            &json!({"from": "2026-12-01", "to": "2026-12-02"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");
    let mut after = Vec::new();
    for n in 2..=4 {
        after.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    // Tuesday 12-01 and Wednesday 12-02 are paused.
    assert_eq!(booked_at(&app, &after[0]).await, at("2026-12-03T17:00:00Z"));
    assert_eq!(booked_at(&app, &after[1]).await, at("2026-12-04T17:00:00Z"));
    assert_eq!(booked_at(&app, &after[2]).await, at("2026-12-07T17:00:00Z"));
    // The booking made before the pause is untouched.
    assert_eq!(booked_at(&app, &before).await, at("2026-11-30T17:00:00Z"));
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_window_keeps_its_bookings_but_new_requests_avoid_it() {
    let app = TestApp::spawn().await;
    // Weekdays 12:00-12:15 EST (17:00Z) and 14:00-14:15 EST (19:00Z).
    let (mentor, token) = app
        .create_mentor(&mentor_body("Grace", "+12015559001"))
        .await;
    let noon = app
        .add_window(mentor, &window(&WEEKDAYS, "12:00", "12:15"))
        .await;
    app.add_window(mentor, &window(&WEEKDAYS, "14:00", "14:15"))
        .await;
    let kept = app.create_request(&seeker(1, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &kept).await, at("2026-11-30T17:00:00Z"));
    let call_id = app.request_as_seeker(&kept).await["call"]["id"].clone();

    let (status, _) = app
        .delete(
            &format!("/api/v1/mentors/{mentor}/windows/{}", noon["id"]),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let first = app.create_request(&seeker(2, "America/New_York")).await;
    let second = app.create_request(&seeker(3, "America/New_York")).await;
    app.settle().await;
    // Only the 14:00 window is left: Monday 19:00Z, then Tuesday 19:00Z.
    assert_eq!(booked_at(&app, &first).await, at("2026-11-30T19:00:00Z"));
    assert_eq!(booked_at(&app, &second).await, at("2026-12-01T19:00:00Z"));
    // The call booked in the deleted window stays booked.
    assert_eq!(booked_at(&app, &kept).await, at("2026-11-30T17:00:00Z"));
    let (status, call) = app
        .get(&format!("/api/v1/calls/{call_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn a_request_that_fits_nowhere_stays_pending() {
    let app = TestApp::spawn().await;
    // No mentors at all.
    let alone = app.create_request(&seeker(1, "America/New_York")).await;
    let report = app.settle().await;
    assert_eq!(report.booked, 0);
    assert_pending(&app, &alone).await;

    // A weekday mentor, and a seeker free only on Sundays.
    mentor_with_windows(&app, "Grace", &[window(&WEEKDAYS, "12:00", "12:30")]).await;
    let sundays = json!([{"weekdays": ["sun"], "start": "09:00", "end": "18:00"}]);
    let sunday = app.create_request(&available(2, sundays)).await;
    app.settle().await;
    app.settle().await;
    assert_pending(&app, &sunday).await;
    // The other one is booked now that there is a mentor.
    assert_eq!(booked_at(&app, &alone).await, at("2026-11-30T17:00:00Z"));
    assert_eq!(all_calls(&app).await.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_slot_is_never_booked_twice_even_by_two_instances_at_once() {
    let app = TestApp::spawn().await;
    // A second instance of the service on the same database, with its own matcher.
    let other_clock = ManualClock::new(default_now());
    let other = App::start(
        ridealong::store::Store::connect(app.database_url())
            .await
            .expect("connect"),
        helpers::test_config(),
        std::sync::Arc::new(other_clock),
    )
    .await
    .expect("second instance starts");
    let other_base = format!("http://{}", other.address());

    // Capacity, Tuesdays 12-01 and 12-08 inside the horizon, one call per window
    // occurrence: Ann has 12:00-12:30 and 12:10-12:40 EST (17:00Z and 17:10Z, which
    // overlap, so only one of them can be used); Ben has 12:00-12:30 EST (17:00Z).
    // That is 2 calls a Tuesday, 4 in all.
    let capped = |name: &str| {
        let mut body = mentor_body(name, &mentor_phone(name));
        body["max_calls_per_window"] = json!(1);
        body
    };
    let ann = mentor_with(
        &app,
        capped("Ann"),
        &[
            window(&["tue"], "12:00", "12:30"),
            window(&["tue"], "12:10", "12:40"),
        ],
    )
    .await;
    let ben = mentor_with(&app, capped("Ben"), &[window(&["tue"], "12:00", "12:30")]).await;

    // Twelve seekers ask at once, half through each instance, while both
    // matchers run.
    let mut posts = tokio::task::JoinSet::new();
    for n in 0..12u32 {
        let http = app.http.clone();
        let base = if n % 2 == 0 {
            app.base.clone()
        } else {
            other_base.clone()
        };
        let body = seeker(n, "America/New_York");
        posts.spawn(async move {
            let response = http
                .post(format!("{base}/api/v1/requests"))
                .json(&body)
                .send()
                .await
                .expect("request reaches the app");
            let status = response.status();
            let created: Value = response.json().await.expect("JSON");
            (status, created)
        });
    }
    let matching = async {
        for _ in 0..5 {
            tokio::join!(app.settle(), other.run_matcher());
        }
    };
    let collect = async {
        let mut created = Vec::new();
        while let Some(done) = posts.join_next().await {
            let (status, body) = done.expect("task");
            assert_eq!(status, StatusCode::CREATED, "{body}");
            created.push(body);
        }
        created
    };
    let (created, ()) = tokio::join!(collect, matching);
    tokio::join!(app.settle(), other.run_matcher());
    app.settle().await;

    let calls = all_calls(&app).await;
    let mut per_slot: HashMap<(i64, DateTime<Utc>), usize> = HashMap::new();
    for call in &calls {
        assert_eq!(call["status"], "scheduled", "{call}");
        let key = (
            call["mentor_id"].as_i64().unwrap(),
            at(call["starts_at"].as_str().unwrap()),
        );
        *per_slot.entry(key).or_default() += 1;
    }
    assert!(
        per_slot.values().all(|count| *count == 1),
        "a slot was booked twice: {per_slot:?}"
    );
    // No mentor has two calls that overlap.
    for first in &calls {
        for second in &calls {
            if first["id"] == second["id"] || first["mentor_id"] != second["mentor_id"] {
                continue;
            }
            let (a, b) = (
                at(first["starts_at"].as_str().unwrap()),
                at(second["starts_at"].as_str().unwrap()),
            );
            let (a_end, b_end) = (
                at(first["ends_at"].as_str().unwrap()),
                at(second["ends_at"].as_str().unwrap()),
            );
            assert!(a_end <= b || b_end <= a, "overlap: {first} {second}");
        }
    }
    let slots: BTreeSet<(i64, DateTime<Utc>)> = per_slot.keys().copied().collect();
    let expected: BTreeSet<_> = [
        (ann, at("2026-12-01T17:00:00Z")),
        (ben, at("2026-12-01T17:00:00Z")),
        (ann, at("2026-12-08T17:00:00Z")),
        (ben, at("2026-12-08T17:00:00Z")),
    ]
    .into_iter()
    .collect();
    assert_eq!(slots, expected);

    // Four requests are scheduled, each into its own call; eight wait.
    let mut scheduled = 0;
    let mut call_ids = BTreeSet::new();
    for request in &created {
        match booking(&app, request).await {
            (status, Some(_)) => {
                assert_eq!(status, "scheduled");
                scheduled += 1;
                call_ids.insert(app.request_as_seeker(request).await["call"]["id"].to_string());
            }
            (status, None) => assert_eq!(status, "pending"),
        }
    }
    assert_eq!(scheduled, 4);
    assert_eq!(call_ids.len(), 4);
    other.stop().await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The provider's concurrent-call limit
// ---------------------------------------------------------------------------

#[tokio::test]
async fn under_a_limit_of_one_call_at_once_no_two_booked_calls_overlap() {
    // RIDEALONG_MAX_CONCURRENT_CALLS=3 (a Twilio account with an Individual
    // profile): one bridged call at a time.
    let app = TestApp::spawn_with(default_now(), |config| {
        config.policy.calls_at_once = ridealong::domain::concurrency::calls_at_once(Some(3));
    })
    .await;
    // Weekdays 12:00-12:30 EST for both: slots at 17:00Z and 17:15Z.
    let windows = [window(&WEEKDAYS, "12:00", "12:30")];
    let grace = mentor_with_windows(&app, "Grace", &windows).await;
    let alan = mentor_with_windows(&app, "Alan", &windows).await;
    let mut created = Vec::new();
    for n in 1..=3 {
        created.push(app.create_request(&seeker(n, "America/New_York")).await);
    }
    app.settle().await;
    // Without the limit the first two would share 17:00Z. With it: 17:00Z,
    // 17:15Z, and the third waits for Tuesday.
    let (first, first_mentor) = booked_with(&app, &created[0]).await;
    let (second, _) = booked_with(&app, &created[1]).await;
    assert_eq!(first, at("2026-11-30T17:00:00Z"));
    assert_eq!(second, at("2026-11-30T17:15:00Z"));
    assert_eq!(
        booked_at(&app, &created[2]).await,
        at("2026-12-01T17:00:00Z")
    );

    // The other mentor's 17:00Z slot is free on their calendar but full.
    let other = if first_mentor == grace { alan } else { grace };
    let (status, slots) = app
        .get(
            &format!(
                "/api/v1/mentors/{other}/slots?from=2026-11-30T17:00:00Z&to=2026-11-30T17:30:00Z"
            ),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{slots}");
    let seen: Vec<(String, bool, bool)> = slots
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| {
            (
                slot["starts_at"].as_str().unwrap().to_owned(),
                slot["booked"].as_bool().unwrap(),
                slot["full"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 2, "{slots}");
    assert!(
        !seen[0].1 && seen[0].2,
        "17:00Z is the other mentor's: {slots}"
    );
    assert!(seen[1].2, "17:15Z is booked or full: {slots}");
    app.stop().await;
}

/// The most of `calls` under way at one instant (slots are half-open: a call
/// ending makes room for one starting at that instant).
fn most_at_once(calls: &[Value]) -> usize {
    let mut changes: Vec<(DateTime<Utc>, i32)> = Vec::new();
    for call in calls {
        changes.push((at(call["starts_at"].as_str().unwrap()), 1));
        changes.push((at(call["ends_at"].as_str().unwrap()), -1));
    }
    changes.sort();
    let (mut live, mut most) = (0, 0);
    for (_, change) in changes {
        live += change;
        most = most.max(live);
    }
    usize::try_from(most).unwrap()
}

#[tokio::test]
async fn at_provider_limits_of_two_three_and_five_calls_of_different_lengths_never_overlap_beyond_it()
 {
    // A limit of n provider calls holds n / 2 bridged calls.
    for (provider_limit, at_once) in [(2, 1), (3, 1), (5, 2)] {
        let app = TestApp::spawn_with(default_now(), |config| {
            config.policy.calls_at_once =
                ridealong::domain::concurrency::calls_at_once(Some(provider_limit));
        })
        .await;
        // Calls of 10, 15 and 20 minutes, all in weekday noon hours.
        for (name, minutes) in [("Ada", 10), ("Grace", 15), ("Alan", 20)] {
            let mut body = mentor_body(name, &mentor_phone(name));
            body["call_minutes"] = json!(minutes);
            mentor_with(&app, body, &[window(&WEEKDAYS, "12:00", "13:00")]).await;
        }
        for n in 1..=12 {
            app.create_request(&seeker(n, "America/New_York")).await;
        }
        app.settle().await;
        let calls = all_calls(&app).await;
        assert_eq!(
            calls.len(),
            12,
            "limit {provider_limit}: every request is booked"
        );
        assert_eq!(
            most_at_once(&calls),
            at_once,
            "limit {provider_limit}: as many calls at once as it holds, never more: {calls:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn without_a_limit_calls_share_an_instant_and_no_slot_is_full() {
    let app = TestApp::spawn().await;
    let windows = [window(&WEEKDAYS, "12:00", "12:30")];
    let grace = mentor_with_windows(&app, "Grace", &windows).await;
    mentor_with_windows(&app, "Alan", &windows).await;
    let first = app.create_request(&seeker(1, "America/New_York")).await;
    let second = app.create_request(&seeker(2, "America/New_York")).await;
    app.settle().await;
    assert_eq!(booked_at(&app, &first).await, at("2026-11-30T17:00:00Z"));
    assert_eq!(booked_at(&app, &second).await, at("2026-11-30T17:00:00Z"));
    let (_, slots) = app
        .get(
            &format!("/api/v1/mentors/{grace}/slots?from=2026-11-30&to=2026-12-01"),
            Some(ADMIN_TOKEN),
        )
        .await;
    for slot in slots.as_array().unwrap() {
        assert_eq!(slot["full"], slot["booked"], "{slot}");
    }
    app.stop().await;
}
