//! One-key feedback (issue 16, point 4): after a completed call the seeker is
//! texted "How much did your call with {mentor} help?", once per call; a digit
//! from 1 to 5 from that number within 48 hours of the ask is stored on its
//! latest completed call, a later one replacing it; every other reply is
//! handled as before. The call JSON shows the answer to the admin; the mentor
//! sees only a count and an average of several, on the dashboard.
//!
//! The clock is the app's manual clock, starting Monday 2026-11-30 12:00 UTC;
//! Twilio is the fake, which plays each call against the app's webhooks.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{ADMIN_TOKEN, SERVICE_NUMBER, TestApp, at, mentor_body, request_body};
use ridealong::clock::Clock;
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
/// Monday 2026-11-30 10:00 in New York: the first slot the matcher books.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// What every ask says after its "ridealong: ".
const ASK: &str = "How much did your call with Grace help? Reply 1 (not at all) to 5 (a lot).";

fn talks() -> CallScript {
    CallScript {
        mentor: MentorScript::Answers { presses: Some('1') },
        seeker: SeekerScript::Answers { talk_seconds: 540 },
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    }
}

/// Grace Hopper in New York, weekdays 10:00-11:00 (four 15-minute slots);
/// returns (id, token).
async fn mentor(app: &TestApp) -> (i64, String) {
    let (mentor_id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "11:00" }),
    )
    .await;
    (mentor_id, token)
}

/// A seeker at `phone` booked with the mentor; returns the call's id and start.
async fn seeker_booked(app: &TestApp, name: &str, phone: &str) -> (i64, String) {
    let created = app.create_request(&request_body(name, phone)).await;
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled", "{request}");
    (
        request["call"]["id"].as_i64().expect("call id"),
        request["call"]["starts_at"]
            .as_str()
            .expect("start")
            .to_owned(),
    )
}

/// Moves the clock to `slot`, places the call and waits until the fake has
/// played `plays` calls in all; then sends the notices due (the ask among
/// them) at that instant.
async fn ring(app: &TestApp, fake: &FakeTwilio, slot: &str, plays: usize) {
    app.clock.set(at(slot));
    app.dispatch_due().await;
    fake.wait_for_plays(plays).await;
    app.notify_due().await;
}

/// The app and fake after a completed call at [`FIRST_SLOT`] with the ask
/// sent then; returns them, the mentor's token and the call's id.
async fn completed_and_asked() -> (TestApp, FakeTwilio, String, i64) {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, talks());
    let (_, token) = mentor(&app).await;
    let (call_id, _) = seeker_booked(&app, "Ada Lovelace", SEEKER_PHONE).await;
    ring(&app, &fake, FIRST_SLOT, 1).await;
    assert_eq!(asks(&fake, SEEKER_PHONE).len(), 1);
    (app, fake, token, call_id)
}

/// The asks texted to `phone`.
fn asks(fake: &FakeTwilio, phone: &str) -> Vec<String> {
    fake.texts_to(phone)
        .into_iter()
        .map(|message| message.body)
        .filter(|body| body.contains("How much did your call"))
        .collect()
}

/// Texts `body` to the service number from `phone`; the TwiML answer.
async fn reply_from(app: &TestApp, fake: &FakeTwilio, phone: &str, body: &str) -> String {
    app.text_service_number(fake.auth_token(), phone, body)
        .await
}

/// Texts `body` from the seeker.
async fn reply(app: &TestApp, fake: &FakeTwilio, body: &str) -> String {
    reply_from(app, fake, SEEKER_PHONE, body).await
}

/// Call `id` as `token` reads it.
async fn call_as(app: &TestApp, id: i64, token: &str) -> Value {
    let (status, call) = app.get(&format!("/api/v1/calls/{id}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{call}");
    call
}

/// The feedback on call `id`, as the admin reads it.
async fn feedback(app: &TestApp, id: i64) -> Value {
    call_as(app, id, ADMIN_TOKEN).await["feedback"].clone()
}

/// How many outbox rows of `kind` call `id` has.
async fn feedback_notices(app: &TestApp, id: i64) -> Vec<(String, Option<String>)> {
    const SQL: &str = "select status, last_error from notifications
                       where call_id = $1 and kind = 'feedback'";
    match &app.store {
        ridealong::store::Store::Sqlite(pool) => sqlx::query_as(SQL).bind(id).fetch_all(pool).await,
        ridealong::store::Store::Postgres(pool) => {
            sqlx::query_as(SQL).bind(id).fetch_all(pool).await
        }
    }
    .expect("read the notices")
}

#[tokio::test]
async fn a_completed_call_asks_the_seeker_once_how_much_it_helped() {
    let (app, fake, _, call_id) = completed_and_asked().await;
    let texts = fake.texts_to(SEEKER_PHONE);
    let ask = texts.last().expect("the ask");
    assert_eq!(ask.from, SERVICE_NUMBER);
    assert!(ask.body.contains(ASK), "{}", ask.body);
    assert!(
        !ask.body.contains("Hopper"),
        "first name only: {}",
        ask.body
    );
    assert!(
        asks(&fake, MENTOR_PHONE).is_empty(),
        "the mentor is never asked"
    );
    assert_eq!(app.notify_due().await.sent, 0, "the ask goes once");
    assert_eq!(feedback(&app, call_id).await, Value::Null, "no answer yet");
    app.stop().await;
}

#[tokio::test]
async fn the_ask_stays_one_per_call_across_a_restart() {
    let (app, fake, _, call_id) = completed_and_asked().await;
    let app = app
        .restart_with(|config| {
            config.provider = std::sync::Arc::new(crate::helpers::twilio_client(
                &fake,
                ridealong::telephony::REQUEST_TIMEOUT,
            ));
        })
        .await;
    app.wait_for_startup_reconciliation().await;
    app.reconcile_now().await;
    app.notify_due().await;
    assert_eq!(asks(&fake, SEEKER_PHONE).len(), 1);
    assert_eq!(feedback_notices(&app, call_id).await.len(), 1);

    // A second ask for the call is refused by the database itself.
    const SQL: &str = "insert into notifications
            (request_id, call_id, recipient, kind, status, next_attempt_at, created_at)
        select request_id, id, 'seeker', 'feedback', 'pending', $2, $2 from calls where id = $1";
    let now = app.clock.now();
    let second = match &app.store {
        ridealong::store::Store::Sqlite(pool) => sqlx::query(SQL)
            .bind(call_id)
            .bind(now)
            .execute(pool)
            .await
            .map(drop),
        ridealong::store::Store::Postgres(pool) => sqlx::query(SQL)
            .bind(call_id)
            .bind(now)
            .execute(pool)
            .await
            .map(drop),
    };
    let error = second.expect_err("one feedback question per call");
    assert!(
        error
            .as_database_error()
            .is_some_and(|db| db.is_unique_violation()),
        "{error}"
    );
    app.stop().await;
}

#[tokio::test]
async fn missed_calls_ask_nothing() {
    for (mentor, seeker) in [
        (
            MentorScript::NoAnswer,
            SeekerScript::Answers { talk_seconds: 60 },
        ),
        (
            MentorScript::Answers { presses: Some('2') },
            SeekerScript::Answers { talk_seconds: 60 },
        ),
        (
            MentorScript::Answers { presses: Some('1') },
            SeekerScript::NoAnswer,
        ),
    ] {
        let (app, fake) = TestApp::spawn_with_fake_twilio().await;
        fake.script_for(
            MENTOR_PHONE,
            CallScript {
                mentor,
                seeker,
                mentor_hangs_up_during_announcement: false,
                mentor_after_call: None,
            },
        );
        mentor_and_seeker(&app).await;
        ring(&app, &fake, FIRST_SLOT, 1).await;
        let (_, calls) = app.get("/api/v1/calls", Some(ADMIN_TOKEN)).await;
        let first = &calls[0];
        assert_eq!(first["status"], "ended", "{calls}");
        assert_ne!(first["outcome"], "completed", "{calls}");
        assert!(
            asks(&fake, SEEKER_PHONE).is_empty(),
            "{:?}",
            fake.texts_to(SEEKER_PHONE)
        );
        let id = first["id"].as_i64().expect("call id");
        assert!(feedback_notices(&app, id).await.is_empty());
        // A digit now answers nothing.
        let twiml = reply(&app, &fake, "5").await;
        assert!(!twiml.contains("<Message>"), "{twiml}");
        assert_eq!(feedback(&app, id).await, Value::Null);
        app.stop().await;
    }
}

async fn mentor_and_seeker(app: &TestApp) -> i64 {
    mentor(app).await;
    seeker_booked(app, "Ada Lovelace", SEEKER_PHONE).await.0
}

#[tokio::test]
async fn a_digit_is_stored_on_the_call_and_a_later_one_replaces_it() {
    let (app, fake, token, call_id) = completed_and_asked().await;
    app.clock.set(at("2026-11-30T18:00:00Z"));
    let twiml = reply(&app, &fake, "2").await;
    assert!(
        twiml.contains("<Message>") && twiml.contains("thank you"),
        "{twiml}"
    );
    assert_eq!(
        feedback(&app, call_id).await,
        json!({ "score": 2, "received_at": "2026-11-30T18:00:00Z" })
    );

    app.clock.set(at("2026-12-01T09:30:00Z"));
    reply(&app, &fake, " 5. ").await;
    assert_eq!(
        feedback(&app, call_id).await,
        json!({ "score": 5, "received_at": "2026-12-01T09:30:00Z" })
    );

    // The mentor's own token reads no single call's score, in one call or a list.
    assert_eq!(
        call_as(&app, call_id, &token).await["feedback"],
        Value::Null
    );
    let (_, calls) = app.get("/api/v1/calls", Some(&token)).await;
    assert!(
        calls
            .as_array()
            .expect("a list")
            .iter()
            .all(|call| call["feedback"].is_null()),
        "{calls}"
    );
    let (_, calls) = app.get("/api/v1/calls", Some(ADMIN_TOKEN)).await;
    assert_eq!(calls[0]["feedback"]["score"], 5, "{calls}");

    let (_, doc) = app.get("/api/v1/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["CallView"]["properties"]["feedback"].is_object(),
        "{}",
        schemas["CallView"]
    );
    assert_eq!(schemas["FeedbackView"]["properties"]["score"]["maximum"], 5);
    app.stop().await;
}

#[tokio::test]
async fn the_reply_window_closes_48_hours_after_the_ask() {
    let (app, fake, _, call_id) = completed_and_asked().await;
    // The ask went at 15:00:00 on Monday: 15:00:00 on Wednesday is the last
    // instant a digit answers it.
    app.clock.set(at("2026-12-02T15:00:00Z"));
    reply(&app, &fake, "4").await;
    assert_eq!(
        feedback(&app, call_id).await,
        json!({ "score": 4, "received_at": "2026-12-02T15:00:00Z" })
    );
    app.clock.set(at("2026-12-02T15:00:01Z"));
    let twiml = reply(&app, &fake, "1").await;
    assert!(!twiml.contains("<Message>"), "{twiml}");
    assert_eq!(
        feedback(&app, call_id).await["score"],
        4,
        "one second late changes nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn other_replies_are_handled_as_before() {
    let (app, fake, _, call_id) = completed_and_asked().await;
    app.clock.set(at("2026-11-30T16:00:00Z"));
    for body in ["0", "6", "12", "4 stars", "thanks!"] {
        let twiml = reply(&app, &fake, body).await;
        assert!(!twiml.contains("<Message>"), "{body}: {twiml}");
        assert_eq!(feedback(&app, call_id).await, Value::Null, "{body}");
    }
    assert!(!app.store.is_opted_out(SEEKER_PHONE).await.expect("read"));

    let twiml = reply(&app, &fake, "STOP").await;
    assert!(!twiml.contains("<Message>"), "{twiml}");
    assert!(app.store.is_opted_out(SEEKER_PHONE).await.expect("read"));
    assert_eq!(feedback(&app, call_id).await, Value::Null);
    let twiml = reply(&app, &fake, "START").await;
    assert!(!twiml.contains("<Message>"), "{twiml}");
    assert!(!app.store.is_opted_out(SEEKER_PHONE).await.expect("read"));
    let help = reply(&app, &fake, "help").await;
    assert!(help.contains("STOP") && help.contains("START"), "{help}");

    // A digit from another number answers nothing.
    reply_from(&app, &fake, "+12015550100", "5").await;
    assert_eq!(feedback(&app, call_id).await, Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn an_opted_out_seeker_is_not_asked() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, talks());
    let call_id = mentor_and_seeker(&app).await;
    app.notify_due().await;
    reply(&app, &fake, "STOP").await;
    ring(&app, &fake, FIRST_SLOT, 1).await;
    assert_eq!(
        call_as(&app, call_id, ADMIN_TOKEN).await["outcome"],
        "completed"
    );
    assert!(asks(&fake, SEEKER_PHONE).is_empty());
    assert_eq!(
        feedback_notices(&app, call_id).await,
        [("skipped".to_owned(), Some("opted_out".to_owned()))]
    );
    assert_eq!(
        fake.message_posts(),
        fake.messages().len(),
        "nothing was even tried at the provider"
    );
    // Not asked, so a digit is an ordinary text.
    reply(&app, &fake, "5").await;
    assert_eq!(feedback(&app, call_id).await, Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn the_mentor_sees_a_count_and_from_three_answers_an_average_and_the_operator_the_rates() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (mentor_id, _, mentor_visitor) = crate::pages_mentor::signed_in_mentor(&app, &fake).await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "11:00" }),
    )
    .await;
    // Four seekers in the four Monday slots, 15:00 to 15:45 UTC.
    let seekers = [
        "+12015550199",
        "+12015550188",
        "+12015550177",
        "+12015550166",
    ];
    let mut slots = Vec::new();
    for (n, phone) in seekers.iter().enumerate() {
        let (_, starts_at) = seeker_booked(&app, &format!("Seeker {n}"), phone).await;
        slots.push(starts_at);
    }
    assert_eq!(slots[3], "2026-11-30T15:45:00Z");
    // The third call rings a mentor who does not pick up; the others complete.
    for (n, slot) in slots.iter().enumerate() {
        let script = if n == 2 {
            CallScript {
                mentor: MentorScript::NoAnswer,
                ..talks()
            }
        } else {
            talks()
        };
        fake.script_for(MENTOR_PHONE, script);
        ring(&app, &fake, slot, n + 1).await;
    }
    app.clock.set(at("2026-11-30T16:00:00Z"));
    reply_from(&app, &fake, seekers[0], "5").await;
    reply_from(&app, &fake, seekers[1], "4").await;
    reply_from(&app, &fake, seekers[2], "1").await;

    let (status, html) = mentor_visitor.page("/mentor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-figure=\"feedback-count\""), "{html}");
    assert!(
        html.contains("<strong>2</strong> answers in the last 30 days"),
        "{html}"
    );
    assert!(
        !html.contains("data-figure=\"feedback-average\"") && !html.contains("4.5"),
        "two answers show no average: {html}"
    );
    assert!(html.contains("no seeker can be identified"), "{html}");

    reply_from(&app, &fake, seekers[3], "3").await;
    let (_, html) = mentor_visitor.page("/mentor").await;
    assert!(html.contains("<strong>3</strong> answers"), "{html}");
    assert!(
        html.contains("average <strong>4.0</strong> of 5"),
        "three answers show their average: {html}"
    );

    let mut operator = crate::pages_operator::signed_in(&app).await;
    let page = operator
        .get(&format!("/operator/mentors/{mentor_id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("<strong>75%</strong> answered (3 of 4)"),
        "{body}"
    );
    assert!(
        body.contains("<strong>75%</strong> completed (3 of 4)"),
        "{body}"
    );
    assert!(
        body.contains("<strong>4.0</strong> average feedback (3 answers)"),
        "{body}"
    );
    let call_page = operator.get(&format!("/operator/calls/{}", 1)).await;
    assert!(
        call_page
            .body
            .contains("data-figure=\"feedback\">5 of 5, received"),
        "the operator sees each call's answer: {}",
        call_page.body
    );
    let overview = operator.get("/operator").await;
    assert!(
        overview
            .body
            .contains("data-week=\"2026-W49\" data-outcome=\"feedback\">4.0"),
        "{}",
        overview.body
    );
    assert!(
        overview
            .body
            .contains("data-week=\"2026-W48\" data-outcome=\"feedback\">—"),
        "{}",
        overview.body
    );

    // Thirty days after the last call's start, the calls have left the figures.
    app.clock.set(at("2026-12-30T15:45:01Z"));
    let mut operator = crate::pages_operator::signed_in(&app).await;
    let page = operator
        .get(&format!("/operator/mentors/{mentor_id}"))
        .await;
    assert!(
        page.body.contains("<strong>—</strong> answered (0 of 0)"),
        "{}",
        page.body
    );
    app.stop().await;
}
