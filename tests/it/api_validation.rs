//! Every bad input named by DESIGN.md's rules is answered with a 4xx in the JSON
//! error shape `{"error": {"code", "message"}}` and stores nothing: after each
//! rejection the admin's lists of requests and mentors (with their windows and
//! pauses) are exactly what they were before.

use crate::helpers::{self, ADMIN_TOKEN, TestApp, default_now, mentor_body, request_body};
use reqwest::{Method, StatusCode};
use ridealong::domain::hours::CallingHours;
use serde_json::{Value, json};

/// Asserts the `{"error": {"code", "message"}}` shape.
fn assert_error_shape(body: &Value) {
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty() && !message.is_empty(),
        "error shape: {body}"
    );
}

/// Everything the API can show of what is stored: all requests and all mentors with
/// their windows and pauses.
async fn stored(app: &TestApp) -> Value {
    let (status, requests) = app
        .get("/api/v1/requests?limit=1000", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{requests}");
    let (status, mentors) = app.get("/api/v1/mentors", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{mentors}");
    json!({ "requests": requests, "mentors": mentors })
}

/// Sends `body` and asserts it is refused with `expected`, in the error shape, and
/// that nothing stored changed.
async fn refused(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
    expected: StatusCode,
) {
    let before = stored(app).await;
    let (status, answer) = app.send(method, path, token, Some(body)).await;
    assert_eq!(status, expected, "{path} {body}: {answer}");
    assert_error_shape(&answer);
    assert_eq!(
        stored(app).await,
        before,
        "{path} {body} changed what is stored"
    );
}

/// A request body with `field` set to `value`.
fn request_with(field: &str, value: Value) -> Value {
    let mut body = request_body("Ada Lovelace", "+12015550123");
    body[field] = value;
    body
}

/// A mentor body with `field` set to `value`.
fn mentor_with(field: &str, value: Value) -> Value {
    let mut body = mentor_body("Grace Hopper", "+12015550001");
    body[field] = value;
    body
}

/// Sends raw bytes with the given content type (none when `None`).
async fn send_bytes(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = app.http.post(app.url(path)).body(bytes);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("request reaches the app");
    let status = response.status();
    let text = response.text().await.expect("body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, json)
}

/// Sends raw bytes and asserts the refusal, its shape, and that nothing changed.
async fn refused_bytes(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    bytes: Vec<u8>,
    expected: StatusCode,
) {
    let before = stored(app).await;
    let (status, answer) = send_bytes(app, path, token, content_type, bytes).await;
    assert_eq!(status, expected, "{path} {content_type:?}: {answer}");
    assert_error_shape(&answer);
    assert_eq!(stored(app).await, before);
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

// ---------------------------------------------------------------------------
// Phone numbers and zones
// ---------------------------------------------------------------------------

#[tokio::test]
async fn invalid_premium_rate_and_emergency_numbers_are_refused() {
    let app = TestApp::spawn().await;
    let bad_numbers = [
        // Not numbers, or too short / too long to be one.
        json!("12"),
        json!("not a number"),
        json!("+1 201 555 01"),
        json!("+1 201 555 0123 4567"),
        json!(""),
        json!("   "),
        // Premium rate (US 900).
        json!("+1 900 555 0123"),
        json!("(900) 555-0123"),
        // Emergency.
        json!("911"),
        json!("112"),
        json!("+1 911"),
        // Not a string at all.
        json!(12015550123_i64),
        json!(null),
    ];
    for phone in &bad_numbers {
        let body = request_with("phone", phone.clone());
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
        let body = mentor_with("phone", phone.clone());
        let path = "/api/v1/mentors";
        refused(
            &app,
            Method::POST,
            path,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    // Emergency and premium numbers of other countries, read in their zones.
    for (phone, zone) in [
        ("999", "Europe/London"),
        ("112", "Europe/Berlin"),
        ("09065 123456", "Europe/London"),
    ] {
        let mut body = request_with("phone", json!(phone));
        body["timezone"] = json!(zone);
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    // The message says what is wrong.
    let (_, answer) = app
        .post(
            "/api/v1/requests",
            None,
            &request_with("phone", json!("+1 900 555 0123")),
        )
        .await;
    let message = answer["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains("premium"), "{answer}");
    let (_, answer) = app
        .post(
            "/api/v1/requests",
            None,
            &request_with("phone", json!("911")),
        )
        .await;
    let message = answer["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains("emergency"), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_national_number_in_a_zone_without_a_country_is_refused() {
    let app = TestApp::spawn().await;
    for zone in ["UTC", "Etc/GMT+5"] {
        let mut body = request_with("phone", json!("(201) 555-0123"));
        body["timezone"] = json!(zone);
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
        let mut body = mentor_with("phone", json!("(201) 555-0123"));
        body["timezone"] = json!(zone);
        let path = "/api/v1/mentors";
        refused(
            &app,
            Method::POST,
            path,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    // With the country code the same zone is fine.
    let mut body = request_with("phone", json!("+1 (201) 555-0123"));
    body["timezone"] = json!("UTC");
    let created = app.create_request(&body).await;
    let (status, seen) = app
        .get(
            &format!("/api/v1/requests/{}", created["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["phone"], "+12015550123");
    app.stop().await;
}

#[tokio::test]
async fn a_deployment_default_region_reads_national_numbers_in_zones_without_a_country() {
    let app = TestApp::spawn_with(helpers::default_now(), |config| {
        config.default_region = Some("US".to_owned());
    })
    .await;
    let mut body = request_with("phone", json!("(201) 555-0123"));
    body["timezone"] = json!("UTC");
    let created = app.create_request(&body).await;
    let (_, seen) = app
        .get(
            &format!("/api/v1/requests/{}", created["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(seen["phone"], "+12015550123");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused() {
    let app = TestApp::spawn().await;
    let (mentor, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    for zone in [
        json!("Mars/Olympus_Mons"),
        json!("New York"),
        json!("+05:00"),
        json!(""),
        json!(5),
        json!(null),
    ] {
        let body = request_with("timezone", zone.clone());
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
        let body = mentor_with("timezone", zone.clone());
        let path = "/api/v1/mentors";
        refused(
            &app,
            Method::POST,
            path,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
        // A window's own zone, when given, must exist too (null means the mentor's).
        if !zone.is_null() {
            let body =
                json!({"weekdays": ["mon"], "start": "07:30", "end": "08:15", "timezone": zone});
            let path = format!("/api/v1/mentors/{mentor}/windows");
            refused(
                &app,
                Method::POST,
                &path,
                Some(ADMIN_TOKEN),
                &body,
                UNPROCESSABLE,
            )
            .await;
        }
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Text limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn name_and_topic_limits_count_characters_not_bytes() {
    let app = TestApp::spawn().await;
    // U+00E9 is two bytes in UTF-8 and U+1F600 four: 100 of them are 200 and 400
    // bytes, yet exactly at the 100-character limit.
    let e_acute = "\u{e9}";
    let grin = "\u{1F600}";
    for (n, (field, text)) in [
        ("name", e_acute),
        ("name", grin),
        ("topic", e_acute),
        ("topic", grin),
    ]
    .into_iter()
    .enumerate()
    {
        let phone = format!("+1201555{:04}", 200 + n);
        let mut body = request_body("Ada", &phone);
        body[field] = json!(text.repeat(101));
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
        body[field] = json!(text.repeat(100));
        let created = app.create_request(&body).await;
        let (_, seen) = app
            .get(
                &format!("/api/v1/requests/{}", created["id"]),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(seen[field], text.repeat(100));
    }

    // Mentors: the name, and each topic.
    let path = "/api/v1/mentors";
    let token = Some(ADMIN_TOKEN);
    let body = mentor_with("name", json!(e_acute.repeat(101)));
    refused(&app, Method::POST, path, token, &body, UNPROCESSABLE).await;
    let body = mentor_with("topics", json!(["Rust", grin.repeat(101)]));
    refused(&app, Method::POST, path, token, &body, UNPROCESSABLE).await;
    let mut body = mentor_with("name", json!(e_acute.repeat(100)));
    body["topics"] = json!([grin.repeat(100)]);
    let (status, created) = app.post(path, token, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], e_acute.repeat(100));
    app.stop().await;
}

#[tokio::test]
async fn a_message_over_four_thousand_characters_is_refused() {
    let app = TestApp::spawn().await;
    let body = request_with("message", json!("x".repeat(4001)));
    refused(
        &app,
        Method::POST,
        "/api/v1/requests",
        None,
        &body,
        UNPROCESSABLE,
    )
    .await;
    let body = request_with("message", json!("\u{e9}".repeat(4001)));
    refused(
        &app,
        Method::POST,
        "/api/v1/requests",
        None,
        &body,
        UNPROCESSABLE,
    )
    .await;
    // 4,000 two-byte characters (8,000 bytes) are fine, and so are line breaks.
    let created = app
        .create_request(&request_with("message", json!("\u{e9}".repeat(4000))))
        .await;
    let (_, seen) = app
        .get(
            &format!("/api/v1/requests/{}", created["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(seen["message"].as_str().unwrap().chars().count(), 4000);
    let mut body = request_body("Bea", "+12015550124");
    body["message"] = json!("First line.\nSecond line.\r\n\tIndented.");
    app.create_request(&body).await;
    app.stop().await;
}

#[tokio::test]
async fn empty_or_missing_text_is_refused() {
    let app = TestApp::spawn().await;
    for field in ["name", "topic", "message"] {
        for value in [
            json!(""),
            json!("   "),
            json!("\n\t"),
            json!(null),
            json!(42),
        ] {
            let body = request_with(field, value);
            refused(
                &app,
                Method::POST,
                "/api/v1/requests",
                None,
                &body,
                UNPROCESSABLE,
            )
            .await;
        }
        let mut body = request_body("Ada", "+12015550123");
        body.as_object_mut().unwrap().remove(field);
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    let path = "/api/v1/mentors";
    for value in [json!(""), json!("  "), json!(null)] {
        let body = mentor_with("name", value);
        refused(
            &app,
            Method::POST,
            path,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    let body = mentor_with("topics", json!(["Rust", ""]));
    refused(
        &app,
        Method::POST,
        path,
        Some(ADMIN_TOKEN),
        &body,
        UNPROCESSABLE,
    )
    .await;
    let topics: Vec<String> = (0..21).map(|n| format!("topic {n}")).collect();
    let body = mentor_with("topics", json!(topics));
    refused(
        &app,
        Method::POST,
        path,
        Some(ADMIN_TOKEN),
        &body,
        UNPROCESSABLE,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn nul_and_other_control_characters_in_text_are_refused() {
    let app = TestApp::spawn().await;
    let (mentor, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    for text in ["Ada\u{0}Lovelace", "\u{0}", "Ada\u{7}", "Ada\u{1b}[31m"] {
        for field in ["name", "topic", "message", "timezone"] {
            let body = request_with(field, json!(text));
            refused(
                &app,
                Method::POST,
                "/api/v1/requests",
                None,
                &body,
                UNPROCESSABLE,
            )
            .await;
        }
        let path = "/api/v1/mentors";
        let token = Some(ADMIN_TOKEN);
        let body = mentor_with("name", json!(text));
        refused(&app, Method::POST, path, token, &body, UNPROCESSABLE).await;
        let body = mentor_with("topics", json!([text]));
        refused(&app, Method::POST, path, token, &body, UNPROCESSABLE).await;
    }
    // NUL in the structured fields too.
    let windows = format!("/api/v1/mentors/{mentor}/windows");
    for body in [
        json!({"weekdays": ["mon\u{0}"], "start": "07:30", "end": "08:15"}),
        json!({"weekdays": ["mon"], "start": "07:30\u{0}", "end": "08:15"}),
        json!({"weekdays": ["mon"], "start": "07:30", "end": "08:15", "timezone": "America/New_York\u{0}"}),
    ] {
        refused(
            &app,
            Method::POST,
            &windows,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    let pauses = format!("/api/v1/mentors/{mentor}/pauses");
    let body = json!({"from": "2026-12-01\u{0}", "to": "2026-12-02"});
    refused(
        &app,
        Method::POST,
        &pauses,
        Some(ADMIN_TOKEN),
        &body,
        UNPROCESSABLE,
    )
    .await;
    let body = request_with("phone", json!("+1201555\u{0}0123"));
    refused(
        &app,
        Method::POST,
        "/api/v1/requests",
        None,
        &body,
        UNPROCESSABLE,
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Consent
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_consent_is_refused() {
    let app = TestApp::spawn().await;
    for consent in [json!(false), json!(null), json!("yes"), json!(1)] {
        let body = request_with("consent", consent);
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    let mut body = request_body("Ada", "+12015550123");
    body.as_object_mut().unwrap().remove("consent");
    refused(
        &app,
        Method::POST,
        "/api/v1/requests",
        None,
        &body,
        UNPROCESSABLE,
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Weekly ranges: windows and availability
// ---------------------------------------------------------------------------

/// Bad `{weekdays, start, end}` ranges, whether windows or availability.
fn bad_ranges() -> Vec<Value> {
    let range = |weekdays: Value, start: &str, end: &str| json!({"weekdays": weekdays, "start": start, "end": end});
    vec![
        range(json!([]), "12:00", "13:00"),
        range(json!(["funday"]), "12:00", "13:00"),
        range(json!(["mon", "xyz"]), "12:00", "13:00"),
        range(json!("mon"), "12:00", "13:00"),
        range(json!(["mon"]), "12:00", "12:00"),
        range(json!(["mon"]), "7:30", "13:00"),
        range(json!(["mon"]), "12:00", "24:00"),
        range(json!(["mon"]), "24:00", "01:00"),
        range(json!(["mon"]), "12:60", "13:00"),
        range(json!(["mon"]), "1200", "1300"),
        range(json!(["mon"]), "12:00:00", "13:00:00"),
        range(json!(["mon"]), "noon", "13:00"),
        range(json!(["mon"]), "", "13:00"),
        json!({"weekdays": ["mon"], "start": "12:00"}),
    ]
}

#[tokio::test]
async fn bad_windows_are_refused() {
    let app = TestApp::spawn().await;
    let (mentor, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    let path = format!("/api/v1/mentors/{mentor}/windows");
    let mut bodies = bad_ranges();
    // Shorter than one 15-minute call, also across midnight.
    bodies.push(json!({"weekdays": ["mon"], "start": "07:30", "end": "07:44"}));
    bodies.push(json!({"weekdays": ["mon"], "start": "23:55", "end": "00:05"}));
    for body in &bodies {
        refused(&app, Method::POST, &path, Some(&token), body, UNPROCESSABLE).await;
    }
    // Exactly one call long is fine.
    app.add_window(
        mentor,
        &json!({"weekdays": ["mon"], "start": "07:30", "end": "07:45"}),
    )
    .await;

    // A mentor with 30-minute calls cannot have a 20-minute window.
    let (long, _) = app
        .create_mentor(&json!({
            "name": "Long Caller", "phone": "+12015550002",
            "timezone": "America/New_York", "call_minutes": 30,
        }))
        .await;
    let path = format!("/api/v1/mentors/{long}/windows");
    for body in [
        json!({"weekdays": ["tue"], "start": "07:30", "end": "07:50"}),
        json!({"weekdays": ["tue"], "start": "23:50", "end": "00:10"}),
    ] {
        refused(
            &app,
            Method::POST,
            &path,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_availability_is_refused() {
    let app = TestApp::spawn().await;
    for range in bad_ranges() {
        let body = request_with("availability", json!([range]));
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
        // A bad range after a good one is still refused.
        let good = json!({"weekdays": ["tue"], "start": "09:00", "end": "17:00"});
        let body = request_with("availability", json!([good, range]));
        refused(
            &app,
            Method::POST,
            "/api/v1/requests",
            None,
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    let body = request_with("availability", json!("weekdays"));
    refused(
        &app,
        Method::POST,
        "/api/v1/requests",
        None,
        &body,
        UNPROCESSABLE,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn availability_wholly_outside_calling_hours_is_refused() {
    // A deployment that narrowed calling hours to 09:00-20:00.
    let app = TestApp::spawn_with(default_now(), |config| {
        config.policy.calling_hours = CallingHours::parse("09:00-20:00").expect("hours");
    })
    .await;
    let fits = json!({"weekdays": ["tue"], "start": "09:00", "end": "17:00"});
    for (start, end) in [("20:00", "23:00"), ("06:00", "09:00"), ("21:00", "08:30")] {
        let outside = json!({"weekdays": ["sat"], "start": start, "end": end});
        let body = request_with("availability", json!([fits, outside]));
        let before = stored(&app).await;
        let (status, answer) = app
            .send(Method::POST, "/api/v1/requests", None, Some(&body))
            .await;
        assert_eq!(status, UNPROCESSABLE, "{body}: {answer}");
        assert_error_shape(&answer);
        assert_eq!(answer["error"]["field"], "availability[1]", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("09:00-20:00"), "{message}");
        assert_eq!(stored(&app).await, before, "{body} changed what is stored");
    }
    // A range that reaches into calling hours, even across midnight, is taken.
    let evening = json!({"weekdays": ["fri"], "start": "19:30", "end": "01:00"});
    let (status, answer) = app
        .send(
            Method::POST,
            "/api/v1/requests",
            None,
            Some(&request_with("availability", json!([evening]))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn call_minutes_and_max_calls_per_window_out_of_range_are_refused() {
    let app = TestApp::spawn().await;
    let path = "/api/v1/mentors";
    for (field, value) in [
        ("call_minutes", json!(0)),
        ("call_minutes", json!(4)),
        ("call_minutes", json!(121)),
        ("call_minutes", json!(-15)),
        ("call_minutes", json!(15.5)),
        ("call_minutes", json!("15")),
        ("max_calls_per_window", json!(0)),
        ("max_calls_per_window", json!(97)),
        ("max_calls_per_window", json!(-1)),
    ] {
        let body = mentor_with(field, value);
        refused(
            &app,
            Method::POST,
            path,
            Some(ADMIN_TOKEN),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    // The ends of the ranges are fine.
    for (n, (call_minutes, cap)) in [(5, 1), (120, 96)].into_iter().enumerate() {
        let mut body = mentor_body("Grace", &format!("+1201555{:04}", 10 + n));
        body["call_minutes"] = json!(call_minutes);
        body["max_calls_per_window"] = json!(cap);
        let (status, created) = app.post(path, Some(ADMIN_TOKEN), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_pauses_are_refused() {
    let app = TestApp::spawn().await;
    let (mentor, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    let path = format!("/api/v1/mentors/{mentor}/pauses");
    for body in [
        json!({"from": "2026-12-21", "to": "2026-12-20"}),
        json!({"from": "2027-01-03", "to": "2026-12-21"}),
        json!({"from": "2026-02-30", "to": "2026-03-01"}),
        json!({"from": "21/12/2026", "to": "2027-01-03"}),
        json!({"from": "2026-12-21T00:00:00Z", "to": "2027-01-03"}),
        json!({"from": "", "to": "2027-01-03"}),
        json!({"from": "2026-12-21"}),
        json!({"to": "2026-12-21"}),
    ] {
        refused(
            &app,
            Method::POST,
            &path,
            Some(&token),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Bodies, content types and paths
// ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let json = Some("application/json");
    let routes = [
        (
            "/api/v1/requests",
            None,
            request_body("Ada", "+12015550123"),
        ),
        (
            "/api/v1/mentors",
            Some(ADMIN_TOKEN),
            mentor_body("Grace", "+12015550001"),
        ),
    ];
    for (path, token, valid) in routes {
        let valid = serde_json::to_vec(&valid).unwrap();
        let mut trailing = valid.clone();
        trailing.extend_from_slice(b" trailing");
        let mut two_objects = valid.clone();
        two_objects.extend_from_slice(&valid);
        for bytes in [
            valid[..valid.len() - 1].to_vec(),
            trailing,
            two_objects,
            b"{name: 'Ada'}".to_vec(),
            b"".to_vec(),
            b"not json at all".to_vec(),
            b"{\"name\": \"Ada\",}".to_vec(),
        ] {
            refused_bytes(&app, path, token, json, bytes, StatusCode::BAD_REQUEST).await;
        }
    }
    // Well-formed JSON of the wrong shape is refused too (4xx with the shape).
    for bytes in [&b"[]"[..], b"42", b"null", b"\"request\""] {
        let before = stored(&app).await;
        let (status, answer) =
            send_bytes(&app, "/api/v1/requests", None, json, bytes.to_vec()).await;
        assert!(status.is_client_error(), "{status}: {answer}");
        assert_error_shape(&answer);
        assert_eq!(stored(&app).await, before);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_as_json_is_unsupported() {
    let app = TestApp::spawn().await;
    let (mentor, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    let request = serde_json::to_vec(&request_body("Ada", "+12015550123")).unwrap();
    let window =
        serde_json::to_vec(&json!({"weekdays": ["mon"], "start": "07:30", "end": "08:15"}))
            .unwrap();
    let unsupported = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        refused_bytes(
            &app,
            "/api/v1/requests",
            None,
            content_type,
            request.clone(),
            unsupported,
        )
        .await;
        let path = format!("/api/v1/mentors/{mentor}/windows");
        let token = Some(ADMIN_TOKEN);
        refused_bytes(
            &app,
            &path,
            token,
            content_type,
            window.clone(),
            unsupported,
        )
        .await;
    }
    // The same bytes as JSON are accepted.
    let (status, answer) = send_bytes(
        &app,
        "/api/v1/requests",
        None,
        Some("application/json; charset=utf-8"),
        request,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_too_large() {
    let app = TestApp::spawn().await;
    let json = Some("application/json");
    // A message of 70,000 characters: over the 64 KiB body limit before any field
    // rule is looked at.
    let body = serde_json::to_vec(&request_with("message", json!("x".repeat(70_000)))).unwrap();
    assert!(body.len() > 64 * 1024);
    refused_bytes(
        &app,
        "/api/v1/requests",
        None,
        json,
        body,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let body = serde_json::to_vec(&mentor_with("name", json!("x".repeat(70_000)))).unwrap();
    let token = Some(ADMIN_TOKEN);
    refused_bytes(
        &app,
        "/api/v1/mentors",
        token,
        json,
        body,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    // Just under the limit the body is read, and the field rules answer.
    let mut body = request_with("message", json!(""));
    let overhead = serde_json::to_vec(&body).unwrap().len();
    body["message"] = json!("x".repeat(64 * 1024 - overhead));
    let bytes = serde_json::to_vec(&body).unwrap();
    assert_eq!(bytes.len(), 64 * 1024);
    refused_bytes(&app, "/api/v1/requests", None, json, bytes, UNPROCESSABLE).await;
    app.stop().await;
}

#[tokio::test]
async fn a_non_numeric_path_id_is_not_found() {
    let app = TestApp::spawn().await;
    let (mentor, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    let created = app
        .create_request(&request_body("Ada", "+12015550123"))
        .await;
    let token = created["manage_token"].as_str().unwrap().to_owned();
    let gets = [
        "/api/v1/mentors/abc".to_owned(),
        "/api/v1/mentors/1.5".to_owned(),
        "/api/v1/mentors/99999999999999999999999".to_owned(),
        "/api/v1/mentors/abc/slots".to_owned(),
        "/api/v1/calls/abc".to_owned(),
        "/api/v1/requests/abc".to_owned(),
        format!("/api/v1/requests/{}x", created["id"]),
    ];
    for path in &gets {
        let (status, body) = app.get(path, Some(ADMIN_TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_error_shape(&body);
    }
    let (status, body) = app
        .get(&format!("/api/v1/requests/abc?token={token}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_shape(&body);

    let before = stored(&app).await;
    for path in [
        format!("/api/v1/mentors/{mentor}/windows/abc"),
        format!("/api/v1/mentors/{mentor}/pauses/abc"),
        "/api/v1/mentors/abc/windows/1".to_owned(),
        "/api/v1/requests/abc".to_owned(),
    ] {
        let (status, body) = app.delete(&path, Some(ADMIN_TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_error_shape(&body);
    }
    let window = json!({"weekdays": ["mon"], "start": "07:30", "end": "08:15"});
    let (status, body) = app
        .post("/api/v1/mentors/abc/windows", Some(ADMIN_TOKEN), &window)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_shape(&body);
    assert_eq!(stored(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn pause_dates_in_impossible_years_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (mentor, token) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    let path = format!("/api/v1/mentors/{mentor}/pauses");
    for body in [
        // Before PostgreSQL's date range: 500 there, stored on SQLite.
        json!({"from": "-4800-01-01", "to": "-4800-01-02"}),
        // Signed years the API then writes back as "+12000-01-01".
        json!({"from": "+12000-01-01", "to": "+12000-01-02"}),
    ] {
        refused(
            &app,
            Method::POST,
            &path,
            Some(&token),
            &body,
            UNPROCESSABLE,
        )
        .await;
    }
    app.stop().await;
}
