//! A follow-up offered from the car (issue 16, point 5): when the seeker hangs
//! up first, the mentor hears "Press 1 to offer {seeker} another call with
//! you"; on 1 the seeker is texted "{mentor} would be glad to talk again. Reply
//! AGAIN to book."; an AGAIN within 7 days of that text makes a request that
//! prefers the mentor, booked into their next free slot (within 7 days, else
//! with anyone), and both calls record the link.
//!
//! The clock is the app's manual clock, starting Monday 2026-11-30 12:00 UTC;
//! Twilio is the fake, which plays each call against the app's webhooks.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use crate::pages_mentor::sign_in;
use crate::screen::metrics;
use ridealong::telephony::player::{CallScript, MentorScript, Pace, SeekerScript};
use ridealong::telephony::simulated::SimulatedProvider;

const GRACE_PHONE: &str = "+12015550123";
const ALAN_PHONE: &str = "+12015550124";
const SEEKER_PHONE: &str = "+12015550199";
/// Monday 2026-11-30 10:00 in New York: Grace's first slot, the first booked.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// Monday 11:30 in New York: Grace's commute is over for the day, and Alan's
/// (14:00) is still the minimum notice of two hours ahead.
const AFTER_COMMUTE: &str = "2026-11-30T16:30:00Z";
/// Tuesday 10:00 in New York: Grace's next free slot after [`AFTER_COMMUTE`].
const GRACE_TUESDAY: &str = "2026-12-01T15:00:00Z";
/// Monday 14:00 in New York: Alan's first slot, sooner than Grace's next.
const ALAN_MONDAY: &str = "2026-11-30T19:00:00Z";
const OFFER: &str = "ridealong: Grace would be glad to talk again. Reply AGAIN to book.";
const PROMPT: &str = "Thank you for the call. Press 1 to offer Ada another call with you.";

/// A completed call after which the mentor presses `after_call` (or nothing).
fn talks_then(after_call: Option<char>) -> CallScript {
    CallScript {
        mentor: MentorScript::Answers { presses: Some('1') },
        seeker: SeekerScript::Answers { talk_seconds: 540 },
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: after_call,
    }
}

/// A mentor in New York with weekday windows `start`-`end`; returns their id.
async fn mentor(app: &TestApp, name: &str, phone: &str, start: &str, end: &str) -> i64 {
    let (mentor_id, _) = app.create_mentor(&mentor_body(name, phone)).await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": start, "end": end }),
    )
    .await;
    mentor_id
}

/// Grace (10:00-11:00) and Alan (14:00-15:00), both in New York; the seeker
/// booked with Grace at [`FIRST_SLOT`] and the call played by `script`, its
/// texts sent at that instant. Returns the app, the fake, Grace's and Alan's
/// ids and the call's id.
async fn called_with(script: CallScript) -> (TestApp, FakeTwilio, i64, i64, i64) {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(GRACE_PHONE, script);
    let grace = mentor(&app, "Grace Hopper", GRACE_PHONE, "10:00", "11:00").await;
    let alan = mentor(&app, "Alan Turing", ALAN_PHONE, "14:00", "15:00").await;
    let created = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["call"]["starts_at"], FIRST_SLOT, "{request}");
    let call_id = request["call"]["id"].as_i64().expect("call id");
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.notify_due().await;
    (app, fake, grace, alan, call_id)
}

/// Texts `body` to the service number from the seeker; the TwiML answer.
async fn text(app: &TestApp, fake: &FakeTwilio, body: &str) -> String {
    app.text_service_number(fake.auth_token(), SEEKER_PHONE, body)
        .await
}

/// The offers texted to the seeker.
fn offers(fake: &FakeTwilio) -> Vec<String> {
    fake.texts_to(SEEKER_PHONE)
        .into_iter()
        .map(|message| message.body)
        .filter(|body| body.contains("glad to talk again"))
        .collect()
}

/// Every request, as the admin lists them.
async fn requests(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get("/api/v1/requests", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("a list").clone()
}

/// The requests made by an AGAIN to call `call_id`'s offer.
async fn follow_ups_of(app: &TestApp, call_id: i64) -> Vec<Value> {
    requests(app)
        .await
        .into_iter()
        .filter(|request| request["follow_up_of"] == call_id)
        .collect()
}

/// Call `id`, as the admin reads it.
async fn call(app: &TestApp, id: i64) -> Value {
    app.admin_get(&format!("/api/v1/calls/{id}")).await
}

#[tokio::test]
async fn a_mentor_who_presses_1_offers_another_call_and_again_books_that_mentor() {
    let (app, fake, grace, alan, call_id) = called_with(talks_then(Some('1'))).await;

    // The seeker hung up first: the mentor heard the offer, pressed 1, and
    // was told the seeker would be texted.
    let report = fake.play_reports().await.pop().expect("the call played");
    assert!(report.heard.iter().any(|said| said == PROMPT), "{report:?}");
    assert!(
        report
            .heard
            .iter()
            .any(|said| said.starts_with("We'll text Ada that you'd be glad to talk again")),
        "{report:?}"
    );
    assert_eq!(offers(&fake), [OFFER]);
    let offered = call(&app, call_id).await;
    assert_eq!(offered["outcome"], "completed");
    assert_eq!(offered["follow_up"]["offered_at"], FIRST_SLOT, "{offered}");
    assert_eq!(offered["follow_up"]["request_id"], Value::Null);

    // Later that morning, when Alan's slot is sooner than Grace's next one.
    app.clock.set(at(AFTER_COMMUTE));
    let answer = text(&app, &fake, "Again").await;
    assert!(
        answer.contains("We&apos;re booking your next call with Grace"),
        "{answer}"
    );
    app.settle().await;

    let made = follow_ups_of(&app, call_id).await;
    assert_eq!(made.len(), 1, "{made:?}");
    let again = &made[0];
    assert_eq!(again["preferred_mentor_id"], grace);
    assert_eq!(again["status"], "scheduled", "{again}");
    assert_eq!(again["call"]["starts_at"], GRACE_TUESDAY, "{again}");
    assert_eq!(again["consent"]["confirmed_via"], "sms", "{again}");
    assert_eq!(again["topic"], "interviews");
    let new_call = call(&app, again["call"]["id"].as_i64().expect("id")).await;
    assert_eq!(new_call["mentor_id"], grace);
    assert_ne!(new_call["mentor_id"], alan);
    assert_eq!(new_call["follow_up_of"], call_id, "{new_call}");
    assert_eq!(new_call["follow_up"], Value::Null);
    assert_eq!(
        call(&app, call_id).await["follow_up"]["request_id"],
        again["id"],
        "the offered call records the request it led to"
    );
    // Grace's dashboard says whose call this is.
    let grace_browser = sign_in(&app, &fake, GRACE_PHONE).await;
    let (status, dashboard) = grace_browser.page("/mentor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        dashboard.contains("Ada took you up on your offer to talk again."),
        "{dashboard}"
    );
    let scraped = metrics(&app).await;
    assert!(
        scraped.contains("ridealong_follow_ups_total{stage=\"offered\"} 1"),
        "{scraped}"
    );
    assert!(
        scraped.contains("ridealong_follow_ups_total{stage=\"requested\"} 1"),
        "{scraped}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_preferred_mentor_with_no_slot_within_seven_days_gives_way_to_anyone() {
    let (app, fake, grace, alan, call_id) = called_with(talks_then(Some('1'))).await;
    let (status, pause) = app
        .post(
            &format!("/api/v1/mentors/{grace}/pauses"),
            Some(ADMIN_TOKEN),
            &json!({ "from": "2026-11-30", "to": "2026-12-12" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pause}");
    app.clock.set(at(AFTER_COMMUTE));
    text(&app, &fake, "AGAIN").await;
    app.settle().await;

    let made = follow_ups_of(&app, call_id).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["preferred_mentor_id"], grace);
    assert_eq!(made[0]["call"]["starts_at"], ALAN_MONDAY, "{:?}", made[0]);
    let new_call = call(&app, made[0]["call"]["id"].as_i64().expect("id")).await;
    assert_eq!(new_call["mentor_id"], alan);
    assert_eq!(new_call["follow_up_of"], call_id);
    app.stop().await;
}

#[tokio::test]
async fn the_offer_holds_seven_days_to_the_second_and_is_taken_once() {
    let (app, fake, _, _, call_id) = called_with(talks_then(Some('1'))).await;
    let texted = at(FIRST_SLOT);

    // One second too late: the seeker is told, and nothing is made.
    app.clock
        .set(texted + chrono::TimeDelta::days(7) + chrono::TimeDelta::seconds(1));
    let answer = text(&app, &fake, "AGAIN").await;
    assert!(answer.contains("no call offer waiting"), "{answer}");
    assert!(follow_ups_of(&app, call_id).await.is_empty());

    // On the last second it still counts.
    app.clock.set(texted + chrono::TimeDelta::days(7));
    let answer = text(&app, &fake, "again").await;
    assert!(answer.contains("booking your next call"), "{answer}");
    assert_eq!(follow_ups_of(&app, call_id).await.len(), 1);

    // A second AGAIN while that request is open makes nothing more.
    let answer = text(&app, &fake, "AGAIN").await;
    assert!(
        answer.contains("already have a call request open"),
        "{answer}"
    );
    assert_eq!(follow_ups_of(&app, call_id).await.len(), 1);
    assert_eq!(requests(&app).await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn an_offer_taken_and_done_cannot_be_taken_again() {
    let (app, fake, _, _, call_id) = called_with(talks_then(Some('1'))).await;
    app.clock.set(at(AFTER_COMMUTE));
    text(&app, &fake, "AGAIN").await;
    let made = follow_ups_of(&app, call_id).await;
    let (status, canceled) = app
        .delete(
            &format!("/api/v1/requests/{}", made[0]["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{canceled}");

    // No request is open now, but the offer was taken.
    let answer = text(&app, &fake, "AGAIN").await;
    assert!(answer.contains("no call offer waiting"), "{answer}");
    assert_eq!(follow_ups_of(&app, call_id).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn two_agains_at_once_make_one_request() {
    let (app, fake, _, _, call_id) = called_with(talks_then(Some('1'))).await;
    app.clock.set(at(AFTER_COMMUTE));
    let (first, second) = tokio::join!(text(&app, &fake, "AGAIN"), text(&app, &fake, "AGAIN"));
    let answers = [&first, &second];
    let count = |words: &str| {
        answers
            .iter()
            .filter(|answer| answer.contains(words))
            .count()
    };
    assert_eq!(count("booking your next call"), 1, "{first} / {second}");
    assert_eq!(
        count("already have a call request open"),
        1,
        "{first} / {second}"
    );
    assert_eq!(follow_ups_of(&app, call_id).await.len(), 1);
    assert_eq!(requests(&app).await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_who_stays_silent_or_presses_another_key_offers_nothing() {
    for after_call in [None, Some('2')] {
        let (app, fake, _, _, call_id) = called_with(talks_then(after_call)).await;
        let report = fake.play_reports().await.pop().expect("the call played");
        assert!(report.heard.iter().any(|said| said == PROMPT), "{report:?}");
        assert_eq!(
            report.heard.last().map(String::as_str),
            Some("Drive safely.")
        );
        assert!(offers(&fake).is_empty(), "{after_call:?}");
        assert_eq!(call(&app, call_id).await["follow_up"], Value::Null);

        // An AGAIN then finds nothing to take.
        app.clock.set(at(AFTER_COMMUTE));
        let answer = text(&app, &fake, "AGAIN").await;
        assert!(answer.contains("no call offer waiting"), "{answer}");
        assert_eq!(requests(&app).await.len(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_retried_key_press_offers_once_and_a_missed_call_is_never_offered() {
    let (app, fake, _, _, call_id) = called_with(talks_then(Some('1'))).await;
    let path = format!("/telephony/twilio/calls/{call_id}/follow-up");
    let (status, twiml) = app
        .post_webhook(
            fake.auth_token(),
            &path,
            &[("CallSid", "CA0123"), ("Digits", "1")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    app.notify_due().await;
    assert_eq!(offers(&fake).len(), 1);
    app.stop().await;

    // A call the seeker missed: pressing 1 at its end (a forged or stray
    // request) offers nothing.
    let (app, fake, _, _, call_id) = called_with(CallScript {
        seeker: SeekerScript::NoAnswer,
        ..talks_then(Some('1'))
    })
    .await;
    let report = fake.play_reports().await.pop().expect("the call played");
    assert!(
        !report.heard.iter().any(|said| said == PROMPT),
        "{report:?}"
    );
    let path = format!("/telephony/twilio/calls/{call_id}/follow-up");
    app.post_webhook(fake.auth_token(), &path, &[("Digits", "1")], None)
        .await;
    app.notify_due().await;
    assert!(offers(&fake).is_empty());
    assert_eq!(call(&app, call_id).await["follow_up"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn the_simulation_plays_a_mentor_offering_another_call() {
    let script = SimulatedProvider::script_for("follow_up_offered").expect("a known outcome");
    let app = TestApp::spawn_with(crate::helpers::default_now(), |config| {
        config.provider = std::sync::Arc::new(SimulatedProvider::new(script, Pace::Instant));
    })
    .await;
    mentor(&app, "Grace Hopper", GRACE_PHONE, "10:00", "11:00").await;
    let created = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
    let call_id = app.request_as_seeker(&created).await["call"]["id"]
        .as_i64()
        .expect("call id");
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;

    // The simulation plays in the background: wait (boundedly) for the offer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let offered = loop {
        let offered = call(&app, call_id).await;
        if !offered["follow_up"].is_null() {
            break offered;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no offer made: {offered}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(offered["outcome"], "completed");
    assert_eq!(offered["follow_up"]["request_id"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_who_replied_stop_is_never_sent_the_offer() {
    let (app, fake, _, _, call_id) = called_with(talks_then(None)).await;
    text(&app, &fake, "STOP").await;
    // The mentor's 1 comes after the opt-out.
    let path = format!("/telephony/twilio/calls/{call_id}/follow-up");
    let (status, twiml) = app
        .post_webhook(fake.auth_token(), &path, &[("Digits", "1")], None)
        .await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    app.notify_due().await;
    assert!(offers(&fake).is_empty());
    const SQL: &str = "select status, last_error from notifications
                       where call_id = $1 and kind = 'follow_up'";
    let notices: Vec<(String, Option<String>)> = match &app.store {
        ridealong::store::Store::Sqlite(pool) => {
            sqlx::query_as(SQL).bind(call_id).fetch_all(pool).await
        }
        ridealong::store::Store::Postgres(pool) => {
            sqlx::query_as(SQL).bind(call_id).fetch_all(pool).await
        }
    }
    .expect("read the notices");
    assert_eq!(
        notices,
        [("skipped".to_owned(), Some("opted_out".to_owned()))]
    );
    let answer = text(&app, &fake, "AGAIN").await;
    assert!(answer.contains("no call offer waiting"), "{answer}");
    app.stop().await;
}
