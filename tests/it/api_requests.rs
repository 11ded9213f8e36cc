//! Seekers' requests and the calls they are booked into, over HTTP: creating,
//! reading with the manage token, the admin's lists, one open request per phone,
//! cancelling, and who may see which call.
//!
//! The harness's default "now" is Monday 2026-11-30 12:00Z (07:00 EST); with the
//! default two hours' notice the earliest bookable instant is 14:00Z.

use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A window body in the mentor's own zone.
fn window(weekdays: &[&str], start: &str, end: &str) -> Value {
    json!({ "weekdays": weekdays, "start": start, "end": end })
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

/// A seeker's phone number, distinct per `n`.
fn phone(n: u32) -> String {
    format!("+1201555{:04}", 100 + n)
}

/// `GET path` as admin; asserts 200 and returns the JSON array.
async fn admin_list(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get(path, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body.as_array()
        .unwrap_or_else(|| panic!("{path} is not a JSON array: {body}"))
        .clone()
}

fn id(row: &Value) -> i64 {
    row["id"].as_i64().unwrap_or_else(|| panic!("no id: {row}"))
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(id).collect()
}

/// A New York mentor with a weekday lunchtime window, 12:00-12:30 EST = 17:00Z.
async fn lunchtime_mentor(app: &TestApp, name: &str, phone: &str) -> (i64, String) {
    let (id, token) = app.create_mentor(&mentor_body(name, phone)).await;
    app.add_window(
        id,
        &window(&["mon", "tue", "wed", "thu", "fri"], "12:00", "12:30"),
    )
    .await;
    (id, token)
}

async fn call_as_admin(app: &TestApp, call_id: &Value) -> Value {
    let (status, call) = app
        .get(&format!("/api/v1/calls/{call_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    call
}

// ---------------------------------------------------------------------------
// Creating and reading a request
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_new_request_is_pending_with_a_manage_token_and_no_call() {
    let app = TestApp::spawn().await;
    let (status, created) = app
        .post(
            "/api/v1/requests",
            None,
            &request_body("Ada Lovelace", &phone(1)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["id"].is_i64(), "{created}");
    assert_eq!(created["status"], "pending");
    let token = created["manage_token"].as_str().expect("manage token");
    assert!(token.len() >= 20, "{token}");
    assert_eq!(created["call"], Value::Null);

    // Nothing to book into: still pending, no call, no attempts.
    app.settle().await;
    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["id"], created["id"]);
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["attempts"], 0);
    assert_eq!(seen["call"], Value::Null);
    // The manage token is never shown again.
    assert!(!seen.to_string().contains(token));
    app.stop().await;
}

#[tokio::test]
async fn after_matching_the_seeker_sees_when_the_call_comes_and_from_whom() {
    let app = TestApp::spawn().await;
    lunchtime_mentor(&app, "Grace Hopper", "+12015550001").await;
    let created = app
        .create_request(&request_body("Ada Lovelace", &phone(1)))
        .await;
    app.settle().await;

    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["status"], "scheduled");
    assert_eq!(seen["attempts"], 0);
    let call = &seen["call"];
    assert!(call["id"].is_i64(), "{seen}");
    // Mon 11-30 12:00 EST = 17:00Z is at least two hours after 12:00Z.
    assert_eq!(
        at(call["starts_at"].as_str().unwrap()),
        at("2026-11-30T17:00:00Z")
    );
    assert_eq!(call["mentor_name"], "Grace Hopper");

    // The manage token also works as a bearer token; the admin token too.
    let path = format!("/api/v1/requests/{}", created["id"]);
    let token = created["manage_token"].as_str().unwrap();
    let (status, as_bearer) = app.get(&path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{as_bearer}");
    assert_eq!(as_bearer["call"], seen["call"]);
    let (status, as_admin) = app.get(&path, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{as_admin}");
    assert_eq!(as_admin["status"], "scheduled");
    assert_eq!(as_admin["call"], seen["call"]);

    // The call it names is the one the admin sees.
    let detail = call_as_admin(&app, &call["id"]).await;
    assert_eq!(detail["request_id"], created["id"]);
    assert_eq!(detail["status"], "scheduled");
    assert_eq!(detail["outcome"], Value::Null);
    assert_eq!(
        at(detail["starts_at"].as_str().unwrap()),
        at("2026-11-30T17:00:00Z")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_manage_token_is_not_found_and_a_missing_one_is_unauthorized() {
    let app = TestApp::spawn().await;
    let (_, mentor_token) = lunchtime_mentor(&app, "Grace Hopper", "+12015550001").await;
    let mine = app.create_request(&request_body("Ada", &phone(1))).await;
    let theirs = app.create_request(&request_body("Bea", &phone(2))).await;
    let path = format!("/api/v1/requests/{}", mine["id"]);

    let other_token = theirs["manage_token"].as_str().unwrap();
    let forged = format!("{}x", mine["manage_token"].as_str().unwrap());
    for token in [
        other_token,
        forged.as_str(),
        "rar_nope",
        mentor_token.as_str(),
    ] {
        let (status, body) = app.get(&format!("{path}?token={token}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "?token={token}: {body}");
        assert_error_shape(&body);
        let (status, body) = app.get(&path, Some(token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "bearer {token}: {body}");
        let (status, body) = app.delete(&path, Some(token)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "DELETE bearer {token}: {body}"
        );
    }
    // A request that does not exist looks the same as one the token does not open.
    let (status, body) = app
        .get(
            &format!("/api/v1/requests/999999?token={other_token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = app.get(&path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_error_shape(&body);
    let (status, body) = app.get(&format!("{path}?token="), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = app.delete(&path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // None of the refused cancellations took effect.
    app.settle().await;
    assert_eq!(app.request_as_seeker(&mine).await["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn fields_a_seeker_may_not_set_are_ignored() {
    let app = TestApp::spawn().await;
    let mut body = request_body("Ada", &phone(1));
    body["status"] = json!("scheduled");
    body["attempts"] = json!(3);
    body["id"] = json!(424242);
    body["manage_token"] = json!("rar_chosen-by-me");
    body["call"] = json!({"id": 1, "starts_at": "2026-12-01T17:00:00Z", "mentor_name": "X"});
    let created = app.create_request(&body).await;
    assert_eq!(created["status"], "pending");
    assert_ne!(created["id"], 424242);
    assert_ne!(created["manage_token"], "rar_chosen-by-me");
    assert_eq!(created["call"], Value::Null);
    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["attempts"], 0);
    let (status, _) = app
        .get(
            &format!("/api/v1/requests/{}?token=rar_chosen-by-me", created["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The admin's list
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_admin_lists_requests_filtered_by_status() {
    let app = TestApp::spawn().await;
    // One slot a day at 17:00Z: Monday's goes to the first request, and so on.
    let (mentor, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550001"))
        .await;
    app.add_window(mentor, &window(&["mon"], "12:00", "12:15"))
        .await;
    let first = app.create_request(&request_body("Ada", &phone(1))).await;
    let second = app.create_request(&request_body("Bea", &phone(2))).await;
    let third = app.create_request(&request_body("Cy", &phone(3))).await;
    app.settle().await;
    // Mondays at 17:00Z within 14 days: 11-30 and 12-07 (12-14 17:00Z is past the
    // horizon's end at 12-14 12:00Z). The first two are booked, the third waits until
    // the second is canceled and frees 12-07.
    assert_eq!(
        admin_list(&app, "/api/v1/requests?status=pending")
            .await
            .len(),
        1
    );
    let (status, _) = app
        .delete(
            &format!("/api/v1/requests/{}", second["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.settle().await;

    let all = admin_list(&app, "/api/v1/requests").await;
    assert_eq!(ids(&all), vec![id(&first), id(&second), id(&third)]);
    let scheduled = admin_list(&app, "/api/v1/requests?status=scheduled").await;
    assert_eq!(ids(&scheduled), vec![id(&first), id(&third)]);
    assert!(scheduled.iter().all(|row| row["status"] == "scheduled"));
    let canceled = admin_list(&app, "/api/v1/requests?status=canceled").await;
    assert_eq!(ids(&canceled), vec![id(&second)]);
    assert_eq!(canceled[0]["call"], Value::Null);
    assert!(
        admin_list(&app, "/api/v1/requests?status=pending")
            .await
            .is_empty()
    );
    assert!(
        admin_list(&app, "/api/v1/requests?status=completed")
            .await
            .is_empty()
    );

    // The admin sees who asked and what about.
    assert_eq!(all[0]["name"], "Ada");
    assert_eq!(all[0]["phone"], phone(1));
    assert_eq!(all[0]["topic"], "interviews");

    for bad in ["bogus", "Pending", "SCHEDULED", "pending,scheduled"] {
        let (status, body) = app
            .get(&format!("/api/v1/requests?status={bad}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_error_shape(&body);
    }
    let (status, body) = app.get("/api/v1/requests", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_admin_pages_through_requests_with_limit_and_after() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.create_request(&request_body("Seeker", &phone(n))).await);
    }
    let all = ids(&created);
    let first = admin_list(&app, "/api/v1/requests?limit=2").await;
    assert_eq!(ids(&first), all[0..2]);
    let second = admin_list(&app, &format!("/api/v1/requests?limit=2&after={}", all[1])).await;
    assert_eq!(ids(&second), all[2..4]);
    let third = admin_list(&app, &format!("/api/v1/requests?limit=2&after={}", all[3])).await;
    assert_eq!(ids(&third), all[4..5]);
    let past_the_end =
        admin_list(&app, &format!("/api/v1/requests?limit=2&after={}", all[4])).await;
    assert!(past_the_end.is_empty());
    // Filters and paging combine.
    let pending = admin_list(
        &app,
        &format!("/api/v1/requests?status=pending&limit=10&after={}", all[2]),
    )
    .await;
    assert_eq!(ids(&pending), all[3..5]);

    for bad in [
        "limit=0",
        "status=",
        "limit=1001",
        "limit=-1",
        "limit=ten",
        "after=first",
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/requests?{bad}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_error_shape(&body);
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// One open request per phone number
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_second_open_request_for_the_same_phone_is_a_conflict_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let first = app
        .create_request(&request_body("Ada", "+12015550123"))
        .await;
    let before = admin_list(&app, "/api/v1/requests").await;

    // The same number typed in E.164, in national formats, and with a different
    // name and zone of the same country.
    let mut chicago = request_body("Ada L.", "201-555-0123");
    chicago["timezone"] = json!("America/Chicago");
    for body in [
        request_body("Ada", "+12015550123"),
        request_body("Ada", "(201) 555-0123"),
        request_body("Someone else", "+1 201 555 0123"),
        chicago,
    ] {
        let (status, answer) = app.post("/api/v1/requests", None, &body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}: {answer}");
        assert_error_shape(&answer);
    }
    assert_eq!(admin_list(&app, "/api/v1/requests").await, before);

    // Still a conflict once the first one is scheduled.
    lunchtime_mentor(&app, "Grace Hopper", "+12015550001").await;
    app.settle().await;
    assert_eq!(app.request_as_seeker(&first).await["status"], "scheduled");
    let (status, answer) = app
        .post(
            "/api/v1/requests",
            None,
            &request_body("Ada", "(201) 555-0123"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(admin_list(&app, "/api/v1/requests").await.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_simultaneous_requests_for_one_phone_exactly_one_is_stored() {
    let app = TestApp::spawn().await;
    let mut posts = tokio::task::JoinSet::new();
    let spellings = [
        "+12015550123",
        "(201) 555-0123",
        "201-555-0123",
        "+1 201 555 0123",
    ];
    for n in 0..8 {
        let http = app.http.clone();
        let url = app.url("/api/v1/requests");
        let body = request_body(&format!("Ada {n}"), spellings[n % spellings.len()]);
        posts.spawn(async move {
            let response = http.post(url).json(&body).send().await.expect("reaches");
            let status = response.status();
            (status, response.json::<Value>().await.expect("JSON"))
        });
    }
    let mut created = 0;
    while let Some(done) = posts.join_next().await {
        let (status, body) = done.expect("task");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_error_shape(&body),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let stored = admin_list(&app, "/api/v1/requests").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["phone"], "+12015550123");
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Cancelling
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cancelling_a_scheduled_request_cancels_its_call_and_frees_the_phone() {
    let app = TestApp::spawn().await;
    let (mentor, mentor_token) = lunchtime_mentor(&app, "Grace Hopper", "+12015550001").await;
    let created = app
        .create_request(&request_body("Ada", "+12015550123"))
        .await;
    app.settle().await;
    let call_id = app.request_as_seeker(&created).await["call"]["id"].clone();
    assert!(call_id.is_i64());

    let path = format!(
        "/api/v1/requests/{}?token={}",
        created["id"],
        created["manage_token"].as_str().unwrap()
    );
    let (status, body) = app.delete(&path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);

    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["status"], "canceled");
    assert_eq!(seen["call"], Value::Null);

    let call = call_as_admin(&app, &call_id).await;
    assert_eq!(call["status"], "canceled");
    assert_eq!(call["outcome"], "canceled");
    assert_eq!(call["mentor_id"], mentor);
    assert_eq!(call["talk_seconds"], Value::Null);
    let kinds: Vec<&str> = call["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["booked", "canceled"]);
    // The mentor sees it canceled too.
    let (status, as_mentor) = app
        .get(&format!("/api/v1/calls/{call_id}"), Some(&mentor_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{as_mentor}");
    assert_eq!(as_mentor["status"], "canceled");

    // The slot is free again and the call is listed as canceled.
    let (status, slots) = app
        .get(
            &format!("/api/v1/mentors/{mentor}/slots?from=2026-11-30&to=2026-12-01"),
            Some(&mentor_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{slots}");
    assert!(
        slots
            .as_array()
            .unwrap()
            .iter()
            .all(|slot| slot["booked"] == false),
        "{slots}"
    );
    let canceled = admin_list(&app, "/api/v1/calls?status=canceled").await;
    assert_eq!(ids(&canceled), vec![call_id.as_i64().unwrap()]);

    // Cancelling again changes nothing and still answers 204.
    let (status, body) = app.delete(&path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(call_as_admin(&app, &call_id).await, call);

    // The same phone may ask again, typed differently, and gets the freed slot.
    let again = app
        .create_request(&request_body("Ada", "(201) 555-0123"))
        .await;
    assert_eq!(again["status"], "pending");
    app.settle().await;
    let rebooked = app.request_as_seeker(&again).await;
    assert_eq!(rebooked["status"], "scheduled");
    assert_ne!(rebooked["call"]["id"], call_id);
    assert_eq!(
        at(rebooked["call"]["starts_at"].as_str().unwrap()),
        at("2026-11-30T17:00:00Z")
    );
    assert_eq!(
        admin_list(&app, "/api/v1/calls?status=scheduled")
            .await
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_pending_request_is_cancelled_by_its_seeker_or_the_admin_and_twice_is_fine() {
    let app = TestApp::spawn().await;
    let by_seeker = app.create_request(&request_body("Ada", &phone(1))).await;
    let by_admin = app.create_request(&request_body("Bea", &phone(2))).await;

    let token = by_seeker["manage_token"].as_str().unwrap();
    let path = format!("/api/v1/requests/{}", by_seeker["id"]);
    for _ in 0..2 {
        let (status, body) = app.delete(&path, Some(token)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let path = format!("/api/v1/requests/{}", by_admin["id"]);
    for _ in 0..2 {
        let (status, body) = app.delete(&path, Some(ADMIN_TOKEN)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    assert_eq!(
        app.request_as_seeker(&by_seeker).await["status"],
        "canceled"
    );
    assert_eq!(app.request_as_seeker(&by_admin).await["status"], "canceled");
    assert!(admin_list(&app, "/api/v1/calls").await.is_empty());

    // A canceled request never gets booked.
    lunchtime_mentor(&app, "Grace Hopper", "+12015550001").await;
    app.settle().await;
    assert!(admin_list(&app, "/api/v1/calls").await.is_empty());
    assert_eq!(
        app.request_as_seeker(&by_seeker).await["status"],
        "canceled"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Calls: who sees which
// ---------------------------------------------------------------------------

/// Two mentors and two booked calls: Alice's on Tue 12-01 17:00Z, Bob's on Wed
/// 12-02 17:00Z. Returns `(alice, alice_token, bob, bob_token, alice_call, bob_call)`.
async fn two_mentors_with_one_call_each(app: &TestApp) -> (i64, String, i64, String, i64, i64) {
    let (alice, alice_token) = app
        .create_mentor(&mentor_body("Alice", "+12015550001"))
        .await;
    app.add_window(alice, &window(&["tue"], "12:00", "12:15"))
        .await;
    let (bob, bob_token) = app.create_mentor(&mentor_body("Bob", "+12015550002")).await;
    app.add_window(bob, &window(&["wed"], "12:00", "12:15"))
        .await;
    let first = app.create_request(&request_body("Ada", &phone(1))).await;
    let second = app.create_request(&request_body("Bea", &phone(2))).await;
    app.settle().await;
    let first = app.request_as_seeker(&first).await;
    let second = app.request_as_seeker(&second).await;
    assert_eq!(first["call"]["mentor_name"], "Alice");
    assert_eq!(second["call"]["mentor_name"], "Bob");
    (
        alice,
        alice_token,
        bob,
        bob_token,
        first["call"]["id"].as_i64().unwrap(),
        second["call"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn the_admin_lists_every_call_and_a_mentor_only_their_own() {
    let app = TestApp::spawn().await;
    let (alice, alice_token, bob, bob_token, alice_call, bob_call) =
        two_mentors_with_one_call_each(&app).await;

    let all = admin_list(&app, "/api/v1/calls").await;
    assert_eq!(ids(&all), vec![alice_call, bob_call]);
    assert_eq!(all[0]["mentor_id"], alice);
    assert_eq!(
        at(all[0]["starts_at"].as_str().unwrap()),
        at("2026-12-01T17:00:00Z")
    );
    assert_eq!(
        at(all[1]["starts_at"].as_str().unwrap()),
        at("2026-12-02T17:00:00Z")
    );
    assert!(all.iter().all(|call| call["status"] == "scheduled"));
    let only_bob = admin_list(&app, &format!("/api/v1/calls?mentor_id={bob}")).await;
    assert_eq!(ids(&only_bob), vec![bob_call]);
    assert!(
        admin_list(&app, "/api/v1/calls?status=canceled")
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&admin_list(&app, "/api/v1/calls?status=scheduled&limit=1").await),
        vec![alice_call]
    );

    // A mentor sees their own calls, with or without naming themself.
    for (token, own_id, own_call) in [
        (&alice_token, alice, alice_call),
        (&bob_token, bob, bob_call),
    ] {
        for path in [
            "/api/v1/calls".to_owned(),
            format!("/api/v1/calls?mentor_id={own_id}"),
        ] {
            let (status, list) = app.get(&path, Some(token)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {list}");
            assert_eq!(ids(list.as_array().unwrap()), vec![own_call], "{path}");
        }
    }
    // Naming another mentor is refused.
    let (status, body) = app
        .get(
            &format!("/api/v1/calls?mentor_id={bob}"),
            Some(&alice_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_shape(&body);

    let (status, body) = app.get("/api/v1/calls", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = app
        .get("/api/v1/calls?status=bogus", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_reads_their_own_call_but_another_mentors_call_is_not_found() {
    let app = TestApp::spawn().await;
    let (alice, alice_token, _, bob_token, alice_call, bob_call) =
        two_mentors_with_one_call_each(&app).await;

    let (status, call) = app
        .get(&format!("/api/v1/calls/{alice_call}"), Some(&alice_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["id"], alice_call);
    assert_eq!(call["mentor_id"], alice);
    assert!(call["request_id"].is_i64());
    assert_eq!(call["status"], "scheduled");
    assert_eq!(call["outcome"], Value::Null);
    assert_eq!(call["talk_seconds"], Value::Null);
    assert_eq!(call["provider_call_sid"], Value::Null);
    let kinds: Vec<&str> = call["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["booked"]);

    for (token, other) in [(&alice_token, bob_call), (&bob_token, alice_call)] {
        let (status, body) = app
            .get(&format!("/api/v1/calls/{other}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_error_shape(&body);
    }
    let (status, body) = app.get("/api/v1/calls/999999", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.get(&format!("/api/v1/calls/{alice_call}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.stop().await;
}
