//! Mentors in control (issue 16, points 1–3): a mentor gives one booked call
//! back, a pause over booked calls rebooks them, and a mentor who keeps missing
//! calls rests until they are back. The seeker is told that the call moved,
//! never why.
//!
//! "Now" is Monday 2026-11-30 12:00 UTC, with the default two hours' notice.
//! Mentor Grace calls weekdays 10:00–10:30 New York time (15:00 and 15:15 UTC),
//! mentor Alan 11:00–11:30 (16:00 and 16:15 UTC) unless a test says otherwise.

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::{FakeMessage, FakeTwilio};
use crate::helpers::{ADMIN_TOKEN, TestApp, at, default_now, mentor_body, request_body};
use crate::webhooks::Receiver;
use ridealong::domain::rest::RestPolicy;
use ridealong::store::Store;
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const GRACE_PHONE: &str = "+12015550123";
const ALAN_PHONE: &str = "+12015550124";
/// Monday 10:00 in New York: Grace's first slot.
const GRACE_MONDAY: &str = "2026-11-30T15:00:00Z";
/// Monday 10:15 in New York: Grace's second slot.
const GRACE_MONDAY_LATER: &str = "2026-11-30T15:15:00Z";
/// Monday 11:00 in New York: Alan's first slot.
const ALAN_MONDAY: &str = "2026-11-30T16:00:00Z";

/// A mentor: id and API token.
struct Mentor {
    id: i64,
    token: String,
}

/// Adds a mentor at `phone` who calls on `weekdays` from `start` to `end` New
/// York time.
async fn mentor(
    app: &TestApp,
    name: &str,
    phone: &str,
    weekdays: &[&str],
    (start, end): (&str, &str),
) -> Mentor {
    let (id, token) = app.create_mentor(&mentor_body(name, phone)).await;
    app.add_window(
        id,
        &json!({ "weekdays": weekdays, "start": start, "end": end }),
    )
    .await;
    Mentor { id, token }
}

const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];

/// Grace, who calls weekdays at 10:00.
async fn grace(app: &TestApp) -> Mentor {
    mentor(
        app,
        "Grace Hopper",
        GRACE_PHONE,
        WEEKDAYS,
        ("10:00", "10:30"),
    )
    .await
}

/// Grace (10:00) and Alan (11:00) on weekdays.
async fn grace_and_alan(app: &TestApp) -> (Mentor, Mentor) {
    let grace = grace(app).await;
    let alan = mentor(app, "Alan Turing", ALAN_PHONE, WEEKDAYS, ("11:00", "11:30")).await;
    (grace, alan)
}

/// A request from `phone`, matched; returns it as created.
async fn booked_request(app: &TestApp, phone: &str) -> Value {
    let created = app
        .create_request(&request_body("Ada Lovelace", phone))
        .await;
    app.settle().await;
    created
}

/// The request as its seeker sees it.
async fn seen(app: &TestApp, created: &Value) -> Value {
    app.request_as_seeker(created).await
}

fn call_id(request: &Value) -> i64 {
    request["call"]["id"].as_i64().expect("a call")
}

fn texts_to(fake: &FakeTwilio, number: &str) -> Vec<FakeMessage> {
    fake.messages()
        .into_iter()
        .filter(|message| message.to == number)
        .collect()
}

async fn cancel(app: &TestApp, call: i64, token: Option<&str>) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/calls/{call}/cancel"), token, &json!({}))
        .await
}

async fn call(app: &TestApp, id: i64) -> Value {
    app.admin_get(&format!("/api/v1/calls/{id}")).await
}

async fn mentor_json(app: &TestApp, id: i64) -> Value {
    app.admin_get(&format!("/api/v1/mentors/{id}")).await
}

const SEEKER: &str = "+12015550199";

#[tokio::test]
async fn a_mentor_who_cancels_a_call_has_it_rebooked_with_another_mentor_and_the_seeker_told_it_moved()
 {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (grace, _alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let before = seen(&app, &created).await;
    assert_eq!(before["call"]["starts_at"], GRACE_MONDAY, "{before}");
    app.notify_due().await;
    let texts_before = fake.messages().len();

    let given_back = call_id(&before);
    let (status, body) = cancel(&app, given_back, Some(&grace.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "id": given_back, "status": "canceled" }));
    let canceled = call(&app, given_back).await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["outcome"], "canceled");

    app.settle().await;
    let after = seen(&app, &created).await;
    assert_eq!(after["status"], "scheduled", "{after}");
    assert_eq!(after["attempts"], 0, "no attempt counted: {after}");
    assert_eq!(after["call"]["mentor_name"], "Alan Turing", "{after}");
    assert_eq!(after["call"]["starts_at"], ALAN_MONDAY, "{after}");

    app.notify_due().await;
    let new_texts = &fake.messages()[texts_before..];
    let seeker: Vec<&FakeMessage> = new_texts.iter().filter(|m| m.to == SEEKER).collect();
    assert_eq!(seeker.len(), 1, "one text for the move: {new_texts:?}");
    let text = &seeker[0].body;
    assert!(text.contains("moved") && text.contains("Alan"), "{text}");
    assert!(text.contains("11:00 AM EST"), "{text}");
    for why in ["cancel", "can't", "Grace", "missed", "pause"] {
        assert!(!text.contains(why), "the text says why ({why}): {text}");
    }
    assert!(
        new_texts.iter().all(|m| m.to != GRACE_PHONE),
        "the mentor who gave it back is not texted: {new_texts:?}"
    );
    assert_eq!(
        new_texts.iter().filter(|m| m.to == ALAN_PHONE).count(),
        1,
        "{new_texts:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_call_given_back_is_not_booked_into_the_same_time_of_the_same_mentor_again() {
    let app = TestApp::spawn().await;
    let grace = grace(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let before = seen(&app, &created).await;
    let (status, _) = cancel(&app, call_id(&before), Some(&grace.token)).await;
    assert_eq!(status, StatusCode::OK);
    app.settle().await;
    let after = seen(&app, &created).await;
    // Nobody else calls: Grace again, but not at the time she cannot make.
    assert_eq!(after["call"]["mentor_name"], "Grace Hopper", "{after}");
    assert_eq!(after["call"]["starts_at"], GRACE_MONDAY_LATER, "{after}");
    // A new request does not get that time either.
    let other = booked_request(&app, "+12015550198").await;
    let other = seen(&app, &other).await;
    assert_eq!(
        other["call"]["starts_at"], "2026-12-01T15:00:00Z",
        "{other}"
    );
    app.stop().await;
}

#[tokio::test]
async fn only_the_calls_mentor_or_the_admin_may_cancel_it_and_twice_answers_the_same() {
    let app = TestApp::spawn().await;
    let (grace, alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let first = call_id(&seen(&app, &created).await);

    let (status, body) = cancel(&app, first, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = cancel(&app, first, Some(&alan.token)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another mentor's call: {body}"
    );
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    let (status, body) = cancel(&app, 999_999, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(call(&app, first).await["status"], "scheduled");

    let (status, body) = cancel(&app, first, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    let rebooked = seen(&app, &created).await;
    let second = call_id(&rebooked);
    assert_ne!(second, first);

    // Again, by its mentor: the same answer, and nothing else changes.
    let (status, body) = cancel(&app, first, Some(&grace.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "id": first, "status": "canceled" }));
    app.settle().await;
    let still = seen(&app, &created).await;
    assert_eq!(still["call"]["id"], second, "{still}");
    assert_eq!(still["status"], "scheduled");
    assert_eq!(call(&app, second).await["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn a_call_that_is_dialing_or_over_cannot_be_canceled() {
    let app = TestApp::spawn().await;
    let (grace, _alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let id = call_id(&seen(&app, &created).await);

    // Another instance's dispatcher claims it: it is dialing.
    app.clock.set(at(GRACE_MONDAY));
    let claimed = app
        .store
        .claim_next_due(at(GRACE_MONDAY), TimeDelta::zero(), None)
        .await
        .expect("claim")
        .target()
        .expect("the call is due");
    assert_eq!(claimed.call_id.0, id);
    let (status, body) = cancel(&app, id, Some(&grace.token)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("dialing")),
        "{body}"
    );
    let after = call(&app, id).await;
    assert_eq!(after["status"], "dialing", "{after}");
    assert_eq!(seen(&app, &created).await["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn a_pause_over_a_booked_call_rebooks_it_and_tells_the_seeker_it_moved() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (grace, _alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let before = seen(&app, &created).await;
    assert_eq!(before["call"]["starts_at"], GRACE_MONDAY);
    app.notify_due().await;
    let texts_before = fake.messages().len();

    let (status, body) = app
        .post(
            &format!("/api/v1/mentors/{}/pauses", grace.id),
            Some(&grace.token),
            &json!({ "from": "2026-11-30", "to": "2026-11-30" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(call(&app, call_id(&before)).await["status"], "canceled");
    app.settle().await;
    let after = seen(&app, &created).await;
    assert_eq!(after["status"], "scheduled", "{after}");
    assert_eq!(after["attempts"], 0);
    assert_eq!(after["call"]["starts_at"], ALAN_MONDAY, "{after}");

    app.notify_due().await;
    let new_texts = &fake.messages()[texts_before..];
    let seeker: Vec<&FakeMessage> = new_texts.iter().filter(|m| m.to == SEEKER).collect();
    assert_eq!(seeker.len(), 1, "{new_texts:?}");
    assert!(seeker[0].body.contains("moved"), "{}", seeker[0].body);
    assert!(!seeker[0].body.contains("pause"), "{}", seeker[0].body);
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_whose_call_finds_no_new_time_at_once_is_told_one_is_being_found() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let grace = grace(&app).await;
    let created = booked_request(&app, SEEKER).await;
    app.notify_due().await;
    let texts_before = texts_to(&fake, SEEKER).len();

    // Grace pauses over the whole horizon: nobody has a slot.
    let (status, pause) = app
        .post(
            &format!("/api/v1/mentors/{}/pauses", grace.id),
            Some(&grace.token),
            &json!({ "from": "2026-11-30", "to": "2026-12-20" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");
    app.settle().await;
    assert_eq!(seen(&app, &created).await["status"], "pending");
    app.notify_due().await;
    assert_eq!(
        texts_to(&fake, SEEKER).len(),
        texts_before,
        "a minute is left for a new time"
    );

    app.clock.advance(TimeDelta::minutes(1));
    app.notify_due().await;
    let texts = texts_to(&fake, SEEKER);
    assert_eq!(texts.len(), texts_before + 1, "{texts:?}");
    let text = &texts[texts_before].body;
    assert!(text.contains("new time"), "{text}");
    for why in ["cancel", "pause", "Grace"] {
        assert!(!text.contains(why), "the text says why ({why}): {text}");
    }

    // The pause goes: booked again, and told the new time.
    let (status, _) = app
        .delete(
            &format!("/api/v1/mentors/{}/pauses/{}", grace.id, pause["id"]),
            Some(&grace.token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.settle().await;
    assert_eq!(seen(&app, &created).await["status"], "scheduled");
    app.notify_due().await;
    let texts = texts_to(&fake, SEEKER);
    assert_eq!(texts.len(), texts_before + 2, "{texts:?}");
    assert!(texts[texts_before + 1].body.contains("moved"));
    app.stop().await;
}

#[tokio::test]
async fn a_pause_leaves_booked_calls_on_other_dates_alone() {
    let app = TestApp::spawn().await;
    let (grace, _alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let id = call_id(&seen(&app, &created).await);
    let (status, _) = app
        .post(
            &format!("/api/v1/mentors/{}/pauses", grace.id),
            Some(&grace.token),
            &json!({ "from": "2026-12-01", "to": "2026-12-03" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(call(&app, id).await["status"], "scheduled");
    app.stop().await;
}

fn no_answer() -> CallScript {
    CallScript {
        mentor: MentorScript::NoAnswer,
        seeker: SeekerScript::Answers { talk_seconds: 60 },
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    }
}

fn completed() -> CallScript {
    CallScript {
        mentor: MentorScript::Answers { presses: Some('1') },
        seeker: SeekerScript::Answers { talk_seconds: 300 },
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    }
}

/// Moves the clock to `slot`, places the call due then and waits until the fake
/// has played `plays` calls in all.
async fn ring(app: &TestApp, fake: &FakeTwilio, slot: &str, plays: usize) {
    app.clock.set(at(slot));
    app.dispatch_due().await;
    fake.wait_for_plays(plays).await;
}

async fn consecutive_misses(store: &Store, mentor: i64) -> i64 {
    const SQL: &str = "select cast(consecutive_misses as bigint) from mentors where id = $1";
    match store {
        Store::Sqlite(pool) => sqlx::query_scalar(SQL).bind(mentor).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_scalar(SQL).bind(mentor).fetch_one(pool).await,
    }
    .expect("read the count")
}

async fn app_resting_after_two() -> (TestApp, FakeTwilio) {
    TestApp::spawn_with_fake_twilio_and(|config| {
        config.rest = RestPolicy {
            misses_before_rest: 2,
        }
    })
    .await
}

#[tokio::test]
async fn a_mentor_who_misses_calls_in_a_row_rests_and_their_calls_go_to_others() {
    let (app, fake) = app_resting_after_two().await;
    fake.script_for(GRACE_PHONE, no_answer());
    let grace = grace(&app).await;
    // Alan calls on Fridays only, later than any of Grace's slots.
    let _alan = mentor(
        &app,
        "Alan Turing",
        ALAN_PHONE,
        &["fri"],
        ("10:00", "11:00"),
    )
    .await;
    let first = booked_request(&app, "+12015550191").await;
    let second = booked_request(&app, "+12015550192").await;
    let third = booked_request(&app, "+12015550193").await;
    assert_eq!(seen(&app, &first).await["call"]["starts_at"], GRACE_MONDAY);
    assert_eq!(
        seen(&app, &second).await["call"]["starts_at"],
        GRACE_MONDAY_LATER
    );
    assert_eq!(
        seen(&app, &third).await["call"]["starts_at"],
        "2026-12-01T15:00:00Z"
    );

    ring(&app, &fake, GRACE_MONDAY, 1).await;
    app.settle().await;
    assert_eq!(consecutive_misses(&app.store, grace.id).await, 1);
    assert_eq!(mentor_json(&app, grace.id).await["resting"], false);
    // The first seeker is booked with Grace again, on Tuesday.
    let again = seen(&app, &first).await;
    assert_eq!(again["call"]["mentor_name"], "Grace Hopper", "{again}");
    assert_eq!(again["call"]["starts_at"], "2026-12-01T15:15:00Z");
    app.notify_due().await;
    let grace_texts = texts_to(&fake, GRACE_PHONE).len();

    ring(&app, &fake, GRACE_MONDAY_LATER, 2).await;
    let rested = mentor_json(&app, grace.id).await;
    assert_eq!(rested["resting"], true, "{rested}");
    assert_eq!(rested["answer_rate"], 0.0, "{rested}");
    app.settle().await;
    for (created, starts_at) in [
        (&first, "2026-12-04T15:00:00Z"),
        (&second, "2026-12-04T15:15:00Z"),
        (&third, "2026-12-04T15:30:00Z"),
    ] {
        let request = seen(&app, created).await;
        assert_eq!(request["status"], "scheduled", "{request}");
        assert_eq!(request["attempts"], 0, "{request}");
        assert_eq!(request["call"]["mentor_name"], "Alan Turing", "{request}");
        assert_eq!(request["call"]["starts_at"], starts_at, "{request}");
    }
    // A new request goes to Alan too, though Grace has Tuesday free.
    let fourth = booked_request(&app, "+12015550194").await;
    assert_eq!(
        seen(&app, &fourth).await["call"]["mentor_name"],
        "Alan Turing"
    );

    app.notify_due().await;
    let texts = texts_to(&fake, GRACE_PHONE);
    let told: Vec<&FakeMessage> = texts[grace_texts..].iter().collect();
    assert_eq!(told.len(), 1, "one text tells her: {told:?}");
    assert!(
        told[0].body.contains("I'm back") && !told[0].body.contains("Ada"),
        "{}",
        told[0].body
    );

    // The operator's list shows it.
    let (status, list) = app.get("/api/v1/mentors", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let listed = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|mentor| mentor["id"] == grace.id)
        .expect("Grace listed")
        .clone();
    assert_eq!(listed["resting"], true);
    assert_eq!(listed["answer_rate"], 0.0);

    // She is back: booked again, her count starts over.
    let (status, body) = app
        .post(
            &format!("/api/v1/mentors/{}/resume", grace.id),
            Some(&grace.token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resting"], false, "{body}");
    assert_eq!(consecutive_misses(&app.store, grace.id).await, 0);
    let fifth = booked_request(&app, "+12015550195").await;
    let fifth = seen(&app, &fifth).await;
    assert_eq!(fifth["call"]["mentor_name"], "Grace Hopper", "{fifth}");
    assert_eq!(fifth["call"]["starts_at"], "2026-12-01T15:00:00Z");
    app.stop().await;
}

#[tokio::test]
async fn only_the_mentor_or_the_admin_may_resume_them() {
    let app = TestApp::spawn().await;
    let (grace, alan) = grace_and_alan(&app).await;
    let path = format!("/api/v1/mentors/{}/resume", grace.id);
    let (status, _) = app.post(&path, None, &json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post(&path, Some(&alan.token), &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Resuming a mentor who is not resting changes nothing.
    let (status, body) = app.post(&path, Some(ADMIN_TOKEN), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resting"], false);
    assert_eq!(body["answer_rate"], Value::Null, "no call rang her yet");
    let (status, _) = app
        .post(
            "/api/v1/mentors/999999/resume",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_completed_call_starts_the_count_of_misses_over() {
    let (app, fake) = app_resting_after_two().await;
    let grace = grace(&app).await;
    let first = booked_request(&app, "+12015550191").await;
    let second = booked_request(&app, "+12015550192").await;
    let third = booked_request(&app, "+12015550193").await;
    assert_eq!(
        seen(&app, &third).await["call"]["starts_at"],
        "2026-12-01T15:00:00Z"
    );

    fake.script_for(GRACE_PHONE, no_answer());
    ring(&app, &fake, GRACE_MONDAY, 1).await;
    assert_eq!(consecutive_misses(&app.store, grace.id).await, 1);
    // The miss sent the first request back to the matcher, which runs on its
    // own time: wait for it, so the request is booked before the clock moves.
    app.settle().await;
    fake.script_for(GRACE_PHONE, completed());
    ring(&app, &fake, GRACE_MONDAY_LATER, 2).await;
    assert_eq!(seen(&app, &second).await["status"], "completed");
    assert_eq!(consecutive_misses(&app.store, grace.id).await, 0);
    fake.script_for(GRACE_PHONE, no_answer());
    ring(&app, &fake, "2026-12-01T15:00:00Z", 3).await;
    assert_eq!(consecutive_misses(&app.store, grace.id).await, 1);

    let after = mentor_json(&app, grace.id).await;
    assert_eq!(after["resting"], false, "one miss since the completed call");
    let rate = after["answer_rate"].as_f64().expect("a rate");
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{after}");
    let first = seen(&app, &first).await;
    assert_eq!(first["status"], "scheduled", "{first}");
    assert_eq!(
        first["call"]["starts_at"], "2026-12-01T15:15:00Z",
        "{first}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_call_given_back_still_posts_its_requests_status_changes() {
    let receiver = Receiver::start().await;
    let config = receiver.config(Duration::from_secs(10));
    let app = TestApp::spawn_with(default_now(), move |app| app.webhooks = Some(config)).await;
    let (grace, _alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    let first = call_id(&seen(&app, &created).await);
    app.deliver_webhooks_now().await;
    let before = receiver.posts().len();

    let (status, _) = cancel(&app, first, Some(&grace.token)).await;
    assert_eq!(status, StatusCode::OK);
    app.settle().await;
    let second = call_id(&seen(&app, &created).await);
    app.deliver_webhooks_now().await;
    let posts = receiver.posts();
    let seen: Vec<(String, Value, Value, Value)> = posts[before..]
        .iter()
        .map(|post| {
            (
                post.kind().to_owned(),
                post.json["data"]["previous_status"].clone(),
                post.json["data"]["status"].clone(),
                post.json["data"]["call"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "request.updated".to_owned(),
                json!("scheduled"),
                json!("pending"),
                Value::Null
            ),
            (
                "request.updated".to_owned(),
                json!("pending"),
                json!("scheduled"),
                json!(second)
            ),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_who_began_resting_during_a_call_gets_no_second_try_of_it() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(
        GRACE_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    let (grace, _alan) = grace_and_alan(&app).await;
    let created = booked_request(&app, SEEKER).await;
    assert_eq!(
        seen(&app, &created).await["call"]["starts_at"],
        GRACE_MONDAY
    );
    // Another of her calls, ended elsewhere, made her rest meanwhile.
    crate::helpers::set_resting(&app.store, grace.id, default_now()).await;

    ring(&app, &fake, GRACE_MONDAY, 1).await;
    let after = seen(&app, &created).await;
    assert_eq!(after["attempts"], 1, "{after}");
    assert_ne!(
        after["call"]["starts_at"], GRACE_MONDAY_LATER,
        "no second try with her: {after}"
    );
    app.settle().await;
    let after = seen(&app, &created).await;
    assert_eq!(after["call"]["mentor_name"], "Alan Turing", "{after}");
    app.stop().await;
}
