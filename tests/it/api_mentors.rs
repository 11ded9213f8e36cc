//! Mentors over HTTP: creation, who may touch which mentor, windows, pauses, and the
//! slots a mentor's windows expand to (daylight-saving changes worked out by hand).
//!
//! America/New_York in 2026: EST (UTC-5) until Sunday 2026-03-08 02:00, when clocks
//! jump to 03:00 EDT (UTC-4) at 07:00Z; EDT until Sunday 2026-11-01 02:00, when clocks
//! fall back to 01:00 EST at 06:00Z, so 01:00-02:00 local happens twice (05:00Z-06:00Z
//! EDT, then 06:00Z-07:00Z EST). The harness's default "now" is Monday 2026-11-30
//! 12:00Z, 07:00 EST.

use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A window body in the mentor's own zone.
fn window(weekdays: &[&str], start: &str, end: &str) -> Value {
    json!({ "weekdays": weekdays, "start": start, "end": end })
}

/// `count` instants `minutes` apart from `first`.
fn every(first: &str, minutes: i64, count: i64) -> Vec<DateTime<Utc>> {
    (0..count)
        .map(|index| at(first) + TimeDelta::minutes(minutes * index))
        .collect()
}

/// Asserts the `{"error": {"code", "message"}}` shape.
fn assert_error_shape(body: &Value) {
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty() && !message.is_empty(),
        "error shape: {body}"
    );
}

/// Reads an RFC 3339 UTC instant written by the API.
fn utc(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert!(
        text.ends_with('Z') || text.ends_with("+00:00"),
        "{text} is not written in UTC"
    );
    at(text)
}

/// The mentor's slots for `query` (e.g. `from=2026-03-07&to=2026-03-10`), as admin.
async fn slots(app: &TestApp, mentor_id: i64, query: &str) -> Vec<Value> {
    let path = format!("/api/v1/mentors/{mentor_id}/slots?{query}");
    let (status, body) = app.get(&path, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body.as_array().expect("slots are a JSON array").clone()
}

/// Start instants of the mentor's slots for `query`.
async fn slot_starts(app: &TestApp, mentor_id: i64, query: &str) -> Vec<DateTime<Utc>> {
    slots(app, mentor_id, query)
        .await
        .iter()
        .map(|slot| utc(&slot["starts_at"]))
        .collect()
}

/// A mentor in New York with `overrides` merged into the default body.
async fn new_york_mentor(app: &TestApp, phone: &str, overrides: Value) -> (i64, String) {
    let mut body = mentor_body("Grace Hopper", phone);
    for (key, value) in overrides.as_object().expect("object") {
        body[key] = value.clone();
    }
    app.create_mentor(&body).await
}

/// Sends `method path` with raw headers and body; returns status and JSON answer.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = app.http.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request reaches the app");
    let status = response.status();
    let text = response.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, json)
}

async fn admin_view(app: &TestApp, mentor_id: i64) -> Value {
    let (status, mentor) = app
        .get(&format!("/api/v1/mentors/{mentor_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{mentor}");
    mentor
}

async fn mentor_count(app: &TestApp) -> usize {
    let (status, mentors) = app.get("/api/v1/mentors", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{mentors}");
    mentors.as_array().expect("list").len()
}

// ---------------------------------------------------------------------------
// Creating and reading mentors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn admin_creates_a_mentor_and_the_token_is_shown_only_once() {
    let app = TestApp::spawn().await;
    let body = json!({
        "name": "Grace Hopper",
        "phone": "(201) 555-0123",
        "timezone": "America/New_York",
        "topics": ["Data analysis", "Interviews"],
        "call_minutes": 20,
        "max_calls_per_window": 3,
    });
    let (status, created) = app.post("/api/v1/mentors", Some(ADMIN_TOKEN), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("numeric id");
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(
        token.len() >= 20,
        "token looks too short to be a secret: {token}"
    );
    assert_eq!(created["name"], "Grace Hopper");
    // National format read in the zone's country, stored in E.164.
    assert_eq!(created["phone"], "+12015550123");
    assert_eq!(created["timezone"], "America/New_York");
    assert_eq!(created["topics"], json!(["Data analysis", "Interviews"]));
    assert_eq!(created["call_minutes"], 20);
    assert_eq!(created["max_calls_per_window"], 3);
    assert_eq!(created["windows"], json!([]));
    assert_eq!(created["pauses"], json!([]));

    // Reading the mentor back never shows the token again.
    let seen = admin_view(&app, id).await;
    assert_eq!(seen["id"], id);
    assert_eq!(seen["phone"], "+12015550123");
    assert_eq!(seen["call_minutes"], 20);
    assert!(seen.get("token").is_none(), "{seen}");
    assert!(!seen.to_string().contains(&token));

    // A token in the body is ignored: the service issues its own.
    let mut chosen = mentor_body("Chooser", "+12015550125");
    chosen["token"] = json!("ram_my-own-choice");
    chosen["id"] = json!(424242);
    let (status, answer) = app
        .post("/api/v1/mentors", Some(ADMIN_TOKEN), &chosen)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_ne!(answer["token"], "ram_my-own-choice");
    assert_ne!(answer["id"], 424242);
    let (status, _) = app
        .get(
            &format!("/api/v1/mentors/{}", answer["id"]),
            Some("ram_my-own-choice"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Defaults: 15-minute calls, no cap; every mentor gets their own token.
    let (status, other) = app
        .post(
            "/api/v1/mentors",
            Some(ADMIN_TOKEN),
            &json!({"name": "Ada", "phone": "+12015550124", "timezone": "Europe/London"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    assert_eq!(other["call_minutes"], 15);
    assert_eq!(other["max_calls_per_window"], Value::Null);
    assert_eq!(other["topics"], json!([]));
    assert_ne!(other["id"], created["id"]);
    assert_ne!(other["token"], created["token"]);
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_is_readable_by_the_admin_and_by_their_own_token() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    let path = format!("/api/v1/mentors/{id}");
    let (status, by_admin) = app.get(&path, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{by_admin}");
    let (status, by_self) = app.get(&path, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{by_self}");
    assert_eq!(by_admin, by_self);
    assert_eq!(by_self["name"], "Grace Hopper");

    let (status, missing) = app.get("/api/v1/mentors/999999", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert_error_shape(&missing);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Who may do what
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_mentor_token_on_another_mentors_routes_is_forbidden_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (alice, alice_token) = app
        .create_mentor(&mentor_body("Alice", "+12015550101"))
        .await;
    let (bob, _) = app.create_mentor(&mentor_body("Bob", "+12015550102")).await;
    let bob_window = app
        .add_window(bob, &window(&["mon", "tue"], "12:00", "12:30"))
        .await["id"]
        .as_i64()
        .expect("window id");
    let (status, pause) = app
        .post(
            &format!("/api/v1/mentors/{bob}/pauses"),
            Some(ADMIN_TOKEN),
            &json!({"from": "2026-12-21", "to": "2027-01-03"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");
    let bob_pause = pause["id"].as_i64().expect("pause id");
    let bob_before = admin_view(&app, bob).await;
    let alice_before = admin_view(&app, alice).await;

    let new_window = window(&["wed"], "08:00", "09:00");
    let new_pause = json!({"from": "2026-12-01", "to": "2026-12-02"});
    let attempts: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, format!("/api/v1/mentors/{bob}"), None),
        (
            Method::POST,
            format!("/api/v1/mentors/{bob}/windows"),
            Some(&new_window),
        ),
        (
            Method::DELETE,
            format!("/api/v1/mentors/{bob}/windows/{bob_window}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/mentors/{bob}/pauses"),
            Some(&new_pause),
        ),
        (
            Method::DELETE,
            format!("/api/v1/mentors/{bob}/pauses/{bob_pause}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/mentors/{bob}/slots?from=2026-12-01&to=2026-12-08"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = app
            .send(method.clone(), &path, Some(&alice_token), body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_error_shape(&answer);
    }

    // Bob's window and pause reached through Alice's own routes are not hers.
    for path in [
        format!("/api/v1/mentors/{alice}/windows/{bob_window}"),
        format!("/api/v1/mentors/{alice}/pauses/{bob_pause}"),
    ] {
        let (status, answer) = app.delete(&path, Some(&alice_token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert_error_shape(&answer);
    }

    assert_eq!(admin_view(&app, bob).await, bob_before);
    assert_eq!(admin_view(&app, alice).await, alice_before);
    assert_eq!(bob_before["windows"].as_array().unwrap().len(), 1);
    assert_eq!(bob_before["pauses"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_unknown_or_garbled_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    let request = app
        .create_request(&request_body("Ada", "+12015550199"))
        .await;
    let manage_token = request["manage_token"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/mentors/{id}");

    let (status, body) = app.get(&path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_error_shape(&body);

    let unknown_mentor_token = format!("{}x", token);
    for bearer in [
        "not-a-token",
        "ram_this-token-was-never-issued",
        unknown_mentor_token.as_str(),
        manage_token.as_str(),
        &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1],
    ] {
        let (status, body) = app.get(&path, Some(bearer)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "bearer {bearer}: {body}");
        assert_error_shape(&body);
    }

    let basic = format!("Basic {token}");
    let no_scheme = token.clone();
    for header in [
        "garbage",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNzd29yZA==",
        basic.as_str(),
        no_scheme.as_str(),
    ] {
        let (status, body) = send_raw(&app, Method::GET, &path, &[("authorization", header)]).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "Authorization: {header}: {body}"
        );
        assert_error_shape(&body);
    }

    // Writes are refused the same way, and store nothing.
    let (status, body) = app
        .post(
            "/api/v1/mentors",
            None,
            &mentor_body("Nobody", "+12015550125"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/mentors/{id}/windows"),
            Some("ram_forged"),
            &window(&["mon"], "07:30", "08:15"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(mentor_count(&app).await, 1);
    assert_eq!(admin_view(&app, id).await["windows"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_token_on_admin_only_routes_is_forbidden() {
    let app = TestApp::spawn().await;
    let (_, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    let (status, body) = app
        .post(
            "/api/v1/mentors",
            Some(&token),
            &mentor_body("Impostor", "+12015550126"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_shape(&body);
    for path in [
        "/api/v1/requests",
        "/api/v1/requests?status=pending",
        "/api/v1/mentors",
    ] {
        let (status, body) = app.get(path, Some(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_error_shape(&body);
    }
    assert_eq!(mentor_count(&app).await, 1);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Windows and pauses
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_window_is_created_then_deleted_once() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    let path = format!("/api/v1/mentors/{id}/windows");

    // The mentor adds a window with their own token; it defaults to their zone.
    let (status, created) = app
        .post(
            &path,
            Some(&token),
            &window(&["Mon", "wednesday", "fri", "mon"], "07:30", "08:15"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let window_id = created["id"].as_i64().expect("window id");
    assert_eq!(created["weekdays"], json!(["mon", "wed", "fri"]));
    assert_eq!(created["start"], "07:30");
    assert_eq!(created["end"], "08:15");
    assert_eq!(created["timezone"], "America/New_York");

    // A window may name its own zone.
    let (status, london) = app
        .post(
            &path,
            Some(ADMIN_TOKEN),
            &json!({"weekdays": ["tue"], "start": "09:00", "end": "09:30", "timezone": "Europe/London"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{london}");
    assert_eq!(london["timezone"], "Europe/London");

    let windows = admin_view(&app, id).await["windows"].clone();
    let ids: Vec<i64> = windows
        .as_array()
        .unwrap()
        .iter()
        .map(|window| window["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![window_id, london["id"].as_i64().unwrap()]);

    let one = format!("{path}/{window_id}");
    let (status, body) = app.delete(&one, Some(&token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    let (status, body) = app.delete(&one, Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_shape(&body);

    let left = admin_view(&app, id).await["windows"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], london["id"]);

    // The admin deletes the other one.
    let (status, _) = app
        .delete(&format!("{path}/{}", london["id"]), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(admin_view(&app, id).await["windows"], json!([]));

    // An unknown mentor has no windows to add to.
    let (status, body) = app
        .post(
            "/api/v1/mentors/999999/windows",
            Some(ADMIN_TOKEN),
            &window(&["mon"], "07:30", "08:15"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_pause_is_created_then_deleted_once() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    let path = format!("/api/v1/mentors/{id}/pauses");
    let (status, created) = app
        .post(
            &path,
            Some(&token),
            &json!({"from": "2026-12-21", "to": "2027-01-03"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pause_id = created["id"].as_i64().expect("pause id");
    assert_eq!(created["from"], "2026-12-21");
    assert_eq!(created["to"], "2027-01-03");

    // A one-day pause is fine too.
    let (status, single) = app
        .post(
            &path,
            Some(ADMIN_TOKEN),
            &json!({"from": "2026-12-08", "to": "2026-12-08"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    assert_eq!(
        admin_view(&app, id).await["pauses"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let one = format!("{path}/{pause_id}");
    let (status, body) = app.delete(&one, Some(&token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.delete(&one, Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_shape(&body);
    let pauses = admin_view(&app, id).await["pauses"].clone();
    assert_eq!(pauses.as_array().unwrap().len(), 1);
    assert_eq!(pauses[0]["id"], single["id"]);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Slots
// ---------------------------------------------------------------------------

#[tokio::test]
async fn slots_over_the_spring_forward_week_move_gap_times_forward_by_the_gap() {
    let app = TestApp::spawn_at(at("2026-03-01T12:00:00Z")).await;

    // Window Sat, Sun, Mon 01:45-03:15 local (90 minutes, six 15-minute slots).
    let (straddles, _) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(straddles, &window(&["sat", "sun", "mon"], "01:45", "03:15"))
        .await;
    // from 2026-03-07 = Sat 00:00 EST = 05:00Z; to 2026-03-10 = Tue 00:00 EDT = 04:00Z.
    let starts = slot_starts(&app, straddles, "from=2026-03-07&to=2026-03-10").await;
    let mut expected = Vec::new();
    // Sat 03-07, EST: 01:45 = 06:45Z to 03:15 = 08:15Z: six slots from 06:45Z.
    expected.extend(every("2026-03-07T06:45:00Z", 15, 6));
    // Sun 03-08: 01:45 EST = 06:45Z; 03:15 EDT = 07:15Z (02:00-03:00 never happens):
    // 30 minutes of absolute time, two slots (06:45Z = 01:45 EST, 07:00Z = 03:00 EDT).
    expected.extend(every("2026-03-08T06:45:00Z", 15, 2));
    // Mon 03-09, EDT: 01:45 = 05:45Z to 03:15 = 07:15Z: six slots from 05:45Z.
    expected.extend(every("2026-03-09T05:45:00Z", 15, 6));
    assert_eq!(starts, expected);

    // Window Sun 02:30-03:45 local: on 03-08 its start is inside the gap.
    let (gap_start, _) = new_york_mentor(&app, "+12015550102", json!({})).await;
    app.add_window(gap_start, &window(&["sun"], "02:30", "03:45"))
        .await;
    // from 2026-03-01 = 05:00Z; to 2026-03-16 = Mon 00:00 EDT = 04:00Z.
    let starts = slot_starts(&app, gap_start, "from=2026-03-01&to=2026-03-16").await;
    let mut expected = Vec::new();
    // Sun 03-01, EST: 02:30 = 07:30Z to 03:45 = 08:45Z: five slots.
    expected.extend(every("2026-03-01T07:30:00Z", 15, 5));
    // Sun 03-08: 02:30 does not exist; moved forward by the one-hour gap to 03:30 EDT
    // = 07:30Z; the end 03:45 EDT = 07:45Z: one slot.
    expected.extend(every("2026-03-08T07:30:00Z", 15, 1));
    // Sun 03-15, EDT: 02:30 = 06:30Z to 03:45 = 07:45Z: five slots.
    expected.extend(every("2026-03-15T06:30:00Z", 15, 5));
    assert_eq!(starts, expected);

    // Window Sun 01:00-02:30 local: on 03-08 its end is inside the gap and moves
    // forward to 03:30 EDT = 07:30Z; the start 01:00 EST = 06:00Z: six slots, the
    // usual ninety minutes of absolute time.
    let (gap_end, _) = new_york_mentor(&app, "+12015550103", json!({})).await;
    app.add_window(gap_end, &window(&["sun"], "01:00", "02:30"))
        .await;
    assert_eq!(
        slot_starts(&app, gap_end, "from=2026-03-08&to=2026-03-09").await,
        every("2026-03-08T06:00:00Z", 15, 6)
    );

    // Every slot lasts exactly one call in absolute time.
    for slot in slots(&app, gap_start, "from=2026-03-01&to=2026-03-16").await {
        assert_eq!(
            utc(&slot["ends_at"]) - utc(&slot["starts_at"]),
            TimeDelta::minutes(15)
        );
        assert_eq!(slot["booked"], false);
    }
    app.stop().await;
}

#[tokio::test]
async fn slots_over_the_fall_back_week_take_the_earlier_instant() {
    let app = TestApp::spawn_at(at("2026-10-25T12:00:00Z")).await;

    // Window Sat, Sun, Mon 00:45-02:15 local (nominally 90 minutes).
    let (straddles, _) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(straddles, &window(&["sat", "sun", "mon"], "00:45", "02:15"))
        .await;
    // from 2026-10-31 = Sat 00:00 EDT = 04:00Z; to 2026-11-03 = Tue 00:00 EST = 05:00Z.
    let starts = slot_starts(&app, straddles, "from=2026-10-31&to=2026-11-03").await;
    let mut expected = Vec::new();
    // Sat 10-31, EDT: 00:45 = 04:45Z to 02:15 = 06:15Z: six slots.
    expected.extend(every("2026-10-31T04:45:00Z", 15, 6));
    // Sun 11-01: 00:45 EDT = 04:45Z; 02:15 exists once, EST = 07:15Z: two and a half
    // hours of absolute time, ten slots (04:45Z ... 07:00Z).
    expected.extend(every("2026-11-01T04:45:00Z", 15, 10));
    // Mon 11-02, EST: 00:45 = 05:45Z to 02:15 = 07:15Z: six slots.
    expected.extend(every("2026-11-02T05:45:00Z", 15, 6));
    assert_eq!(starts, expected);

    // Sun 01:30-02:30: the start is ambiguous and takes the earlier instant.
    let (ambiguous_start, _) = new_york_mentor(&app, "+12015550102", json!({})).await;
    app.add_window(ambiguous_start, &window(&["sun"], "01:30", "02:30"))
        .await;
    // Sun 00:30-01:30: the end is ambiguous and takes the earlier instant.
    let (ambiguous_end, _) = new_york_mentor(&app, "+12015550103", json!({})).await;
    app.add_window(ambiguous_end, &window(&["sun"], "00:30", "01:30"))
        .await;
    // from 2026-11-01 = 04:00Z (EDT midnight); to 2026-11-09 = 05:00Z (EST midnight).
    let query = "from=2026-11-01&to=2026-11-09";

    let mut expected = Vec::new();
    // 11-01: 01:30 -> 01:30 EDT = 05:30Z (not 06:30Z); 02:30 EST = 07:30Z: eight slots.
    expected.extend(every("2026-11-01T05:30:00Z", 15, 8));
    // 11-08, EST: 01:30 = 06:30Z to 02:30 = 07:30Z: four slots.
    expected.extend(every("2026-11-08T06:30:00Z", 15, 4));
    assert_eq!(slot_starts(&app, ambiguous_start, query).await, expected);

    let mut expected = Vec::new();
    // 11-01: 00:30 EDT = 04:30Z; 01:30 -> 01:30 EDT = 05:30Z (not 06:30Z): four slots.
    expected.extend(every("2026-11-01T04:30:00Z", 15, 4));
    // 11-08, EST: 00:30 = 05:30Z to 01:30 = 06:30Z: four slots.
    expected.extend(every("2026-11-08T05:30:00Z", 15, 4));
    assert_eq!(slot_starts(&app, ambiguous_end, query).await, expected);
    app.stop().await;
}

#[tokio::test]
async fn max_calls_per_window_uses_only_the_first_slots_of_each_occurrence() {
    let app = TestApp::spawn().await;
    let (capped, _) =
        new_york_mentor(&app, "+12015550101", json!({"max_calls_per_window": 2})).await;
    let (uncapped, _) = new_york_mentor(&app, "+12015550102", json!({})).await;
    let (long_calls, _) = new_york_mentor(&app, "+12015550103", json!({"call_minutes": 20})).await;
    for mentor in [capped, uncapped, long_calls] {
        app.add_window(mentor, &window(&["mon", "tue"], "12:00", "13:00"))
            .await;
    }
    // Mon 11-30 and Tue 12-01, 12:00-13:00 EST = 17:00Z-18:00Z.
    let query = "from=2026-11-30&to=2026-12-02";
    let mut expected = every("2026-11-30T17:00:00Z", 15, 2);
    expected.extend(every("2026-12-01T17:00:00Z", 15, 2));
    assert_eq!(slot_starts(&app, capped, query).await, expected);

    let mut expected = every("2026-11-30T17:00:00Z", 15, 4);
    expected.extend(every("2026-12-01T17:00:00Z", 15, 4));
    assert_eq!(slot_starts(&app, uncapped, query).await, expected);

    // Twenty-minute calls: 17:00Z, 17:20Z, 17:40Z fit; nothing else does.
    let mut expected = every("2026-11-30T17:00:00Z", 20, 3);
    expected.extend(every("2026-12-01T17:00:00Z", 20, 3));
    let slots = slots(&app, long_calls, query).await;
    let starts: Vec<_> = slots.iter().map(|slot| utc(&slot["starts_at"])).collect();
    assert_eq!(starts, expected);
    for slot in &slots {
        assert_eq!(
            utc(&slot["ends_at"]) - utc(&slot["starts_at"]),
            TimeDelta::minutes(20)
        );
    }

    // The cap counts from the occurrence's start even when the query starts later:
    // from 17:10Z, the capped mentor's Monday has only 17:15Z left.
    let starts = slot_starts(
        &app,
        capped,
        "from=2026-11-30T17:10:00Z&to=2026-11-30T23:00:00Z",
    )
    .await;
    assert_eq!(starts, vec![at("2026-11-30T17:15:00Z")]);
    app.stop().await;
}

#[tokio::test]
async fn pauses_remove_whole_days_in_the_mentors_zone_both_ends_included() {
    let app = TestApp::spawn().await;
    let (id, token) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(
        id,
        &window(&["mon", "tue", "wed", "thu", "fri"], "12:00", "12:30"),
    )
    .await;
    let (status, pause) = app
        .post(
            &format!("/api/v1/mentors/{id}/pauses"),
            Some(&token),
            &json!({"from": "2026-12-01", "to": "2026-12-02"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");

    // Mon 11-30 .. Fri 12-04, 12:00 EST = 17:00Z; Tue and Wed are paused.
    let query = "from=2026-11-30&to=2026-12-05";
    let mut expected = every("2026-11-30T17:00:00Z", 15, 2);
    expected.extend(every("2026-12-03T17:00:00Z", 15, 2));
    expected.extend(every("2026-12-04T17:00:00Z", 15, 2));
    assert_eq!(slot_starts(&app, id, query).await, expected);

    // Lifting the pause brings them back.
    let (status, _) = app
        .delete(
            &format!("/api/v1/mentors/{id}/pauses/{}", pause["id"]),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let expected: Vec<_> = (0..5)
        .flat_map(|day| {
            every("2026-11-30T17:00:00Z", 15, 2)
                .into_iter()
                .map(move |t| t + TimeDelta::days(day))
        })
        .collect();
    assert_eq!(slot_starts(&app, id, query).await, expected);
    app.stop().await;
}

#[tokio::test]
async fn a_pause_is_read_in_the_mentors_zone_even_for_a_window_in_another_zone() {
    let app = TestApp::spawn().await;
    // A New York mentor whose window is written in Tokyo time (UTC+9, no DST).
    let (id, _) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(
        id,
        &json!({"weekdays": ["tue", "wed"], "start": "09:00", "end": "09:30", "timezone": "Asia/Tokyo"}),
    )
    .await;
    // Tue 12-01 09:00 JST = 12-01 00:00Z = Mon 11-30 19:00 EST.
    // Wed 12-02 09:00 JST = 12-02 00:00Z = Tue 12-01 19:00 EST.
    let query = "from=2026-11-30T00:00:00Z&to=2026-12-03T00:00:00Z";
    let mut both = every("2026-12-01T00:00:00Z", 15, 2);
    both.extend(every("2026-12-02T00:00:00Z", 15, 2));
    assert_eq!(slot_starts(&app, id, query).await, both);

    // Pausing New York's Monday 11-30 removes the Tuesday-in-Tokyo occurrence only.
    let (status, pause) = app
        .post(
            &format!("/api/v1/mentors/{id}/pauses"),
            Some(ADMIN_TOKEN),
            &json!({"from": "2026-11-30", "to": "2026-11-30"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");
    assert_eq!(
        slot_starts(&app, id, query).await,
        every("2026-12-02T00:00:00Z", 15, 2)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_window_crossing_midnight_belongs_to_the_day_it_starts() {
    let app = TestApp::spawn().await;
    let (id, _) = new_york_mentor(&app, "+12015550101", json!({"call_minutes": 25})).await;
    let created = app
        .add_window(id, &window(&["fri"], "23:30", "00:30"))
        .await;
    assert_eq!(created["start"], "23:30");
    assert_eq!(created["end"], "00:30");
    // Fri 12-04 23:30 EST = Sat 12-05 04:30Z until Sat 00:30 EST = 05:30Z. Two
    // 25-minute calls fit (04:30Z-04:55Z, 04:55Z-05:20Z); a third would end at 05:45Z.
    let slots = slots(&app, id, "from=2026-11-30&to=2026-12-07").await;
    let pairs: Vec<_> = slots
        .iter()
        .map(|slot| (utc(&slot["starts_at"]), utc(&slot["ends_at"])))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (at("2026-12-05T04:30:00Z"), at("2026-12-05T04:55:00Z")),
            (at("2026-12-05T04:55:00Z"), at("2026-12-05T05:20:00Z")),
        ]
    );
    // Nothing starts on Saturday evening: the weekday is the start's.
    assert!(
        slot_starts(
            &app,
            id,
            "from=2026-12-05T06:00:00Z&to=2026-12-07T00:00:00Z"
        )
        .await
        .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_slot_is_marked_booked_once_the_matcher_books_it() {
    let app = TestApp::spawn().await;
    let (id, token) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(id, &window(&["tue"], "12:00", "12:30"))
        .await;
    let query = "from=2026-12-01&to=2026-12-02";
    let before = slots(&app, id, query).await;
    assert!(
        before.iter().all(|slot| slot["booked"] == false),
        "{before:?}"
    );

    app.create_request(&request_body("Ada", "+12015550199"))
        .await;
    app.settle().await;
    // Tue 12-01 12:00 EST = 17:00Z is the earliest slot two hours after Mon 12:00Z.
    let (status, after) = app
        .get(&format!("/api/v1/mentors/{id}/slots?{query}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let after: Vec<_> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| (utc(&slot["starts_at"]), slot["booked"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        after,
        vec![
            (at("2026-12-01T17:00:00Z"), true),
            (at("2026-12-01T17:15:00Z"), false),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn date_only_from_and_to_mean_midnight_in_the_mentors_zone() {
    let app = TestApp::spawn().await;
    let (id, _) = new_york_mentor(&app, "+12015550101", json!({})).await;
    // 22:00-22:30 EST is 03:00Z-03:30Z the next UTC day, between UTC midnight and
    // New York midnight, so the two readings of a date give different answers.
    app.add_window(id, &window(&["mon", "tue", "wed"], "22:00", "22:30"))
        .await;
    // 2026-12-01 = Tue 00:00 EST = 05:00Z; 2026-12-02 = 05:00Z the day after. Only
    // Tuesday's occurrence (12-02 03:00Z) starts in between; Monday's (12-01 03:00Z)
    // does not.
    let expected = every("2026-12-02T03:00:00Z", 15, 2);
    assert_eq!(
        slot_starts(&app, id, "from=2026-12-01&to=2026-12-02").await,
        expected
    );
    assert_eq!(
        slot_starts(
            &app,
            id,
            "from=2026-12-01T05:00:00Z&to=2026-12-02T05:00:00Z"
        )
        .await,
        expected
    );
    // The same instants written with offsets ('+' percent-encoded, or raw, which a
    // query string turns into a space).
    for query in [
        "from=2026-12-01T00:00:00-05:00&to=2026-12-02T00:00:00-05:00",
        "from=2026-12-01T06:00:00%2B01:00&to=2026-12-02T06:00:00%2B01:00",
        "from=2026-12-01T06:00:00+01:00&to=2026-12-02T06:00:00+01:00",
    ] {
        assert_eq!(slot_starts(&app, id, query).await, expected, "{query}");
    }
    app.stop().await;
}

#[tokio::test]
async fn slots_default_to_now_and_the_booking_horizon() {
    let app = TestApp::spawn().await;
    let (id, _) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(
        id,
        &window(&["mon", "tue", "wed", "thu", "fri"], "12:00", "12:30"),
    )
    .await;
    // From now (Mon 11-30 12:00Z) to now + 14 days (Mon 12-14 12:00Z): ten weekdays,
    // two slots each at 17:00Z and 17:15Z; Monday 12-14's 17:00Z is past the end.
    // Notice is not applied, so today's 17:00Z is listed.
    let starts = slot_starts(&app, id, "").await;
    let expected: Vec<_> = [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-07",
        "2026-12-08",
        "2026-12-09",
        "2026-12-10",
        "2026-12-11",
    ]
    .iter()
    .flat_map(|day| every(&format!("{day}T17:00:00Z"), 15, 2))
    .collect();
    assert_eq!(starts, expected);
    app.stop().await;
}

#[tokio::test]
async fn slot_queries_that_are_empty_reversed_too_long_or_unreadable_are_rejected() {
    let app = TestApp::spawn().await;
    let (id, token) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(id, &window(&["mon"], "12:00", "12:30"))
        .await;
    for query in [
        // to == from, and to before from.
        "from=2026-12-01T00:00:00Z&to=2026-12-01T00:00:00Z",
        "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
        "from=2026-12-02&to=2026-12-01",
        "from=2026-12-01&to=2026-12-01",
        // 367 days.
        "from=2026-01-01T00:00:00Z&to=2027-01-03T00:00:00Z",
        // Unreadable instants.
        "from=yesterday&to=2026-12-01",
        "from=2026-13-01",
        "from=2026-12-01T25:00:00Z",
        "from=2026-12-01&to=soon",
        "from=1733011200",
    ] {
        let path = format!("/api/v1/mentors/{id}/slots?{query}");
        let (status, body) = app.get(&path, Some(&token)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_error_shape(&body);
    }
    // Exactly 366 days is allowed.
    let path =
        format!("/api/v1/mentors/{id}/slots?from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:00Z");
    let (status, body) = app.get(&path, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Mondays in 2026: 52 of them (the first is 01-05, the last 12-28).
    assert_eq!(body.as_array().unwrap().len(), 52 * 2);

    let (status, body) = app
        .get("/api/v1/mentors/999999/slots", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn slot_queries_in_impossible_years_are_refused_not_answered_with_a_server_error() {
    let app = TestApp::spawn().await;
    let (id, token) = new_york_mentor(&app, "+12015550101", json!({})).await;
    app.add_window(id, &window(&["mon"], "12:00", "12:30"))
        .await;
    for query in [
        // chrono's first representable year: expanding occurrences panics (500).
        "from=-262143-01-02&to=-262143-01-03",
        // Before PostgreSQL's timestamptz range: 500 there; on SQLite a 200 whose
        // instants ("-4800-01-03T16:56:02Z") are not RFC 3339.
        "from=-4800-01-01&to=-4800-01-05",
        // After 9999: slots such as "+12000-01-03T17:00:00Z", not RFC 3339.
        "from=%2B12000-01-01&to=%2B12000-01-05",
    ] {
        let path = format!("/api/v1/mentors/{id}/slots?{query}");
        let (status, body) = app.get(&path, Some(&token)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_error_shape(&body);
    }
    app.stop().await;
}
