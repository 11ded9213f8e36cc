//! The seeker-side screen and the second try in the same commute, end to end:
//! the real app places calls through its Twilio client to the fake Twilio, which
//! plays the screen (`<Number url>` with a `<Gather>`) on the seeker's leg the way
//! Twilio does, with a scripted key, silence or a voicemail.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use ridealong::domain::call_flow::Leg;
use ridealong::domain::status::Outcome;
use ridealong::ids::CallId;
use ridealong::store::{EndCallRules, Store};
use ridealong::telephony::player::{CallScript, MentorScript, PlayReport, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
const OTHER_SEEKER_PHONE: &str = "+12015550177";
/// Monday 2026-11-30 10:00 in New York: the first slot the matcher books.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// Monday 10:15 and 10:30 in New York: the same commute's later slots.
const SECOND_SLOT: &str = "2026-11-30T15:15:00Z";
const THIRD_SLOT: &str = "2026-11-30T15:30:00Z";
/// Tuesday 10:00 in New York: where a requeued request lands.
const NEXT_DAY_SLOT: &str = "2026-12-01T15:00:00Z";

const PRESSES_ONE: MentorScript = MentorScript::Answers { presses: Some('1') };

fn seeker_does(seeker: SeekerScript) -> CallScript {
    CallScript {
        mentor: PRESSES_ONE,
        seeker,
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    }
}

const TALKS: SeekerScript = SeekerScript::Answers { talk_seconds: 420 };

/// A mentor whose weekday commute runs 10:00 to `end` in New York, and the
/// seeker's request booked into its 10:00 slot; returns (call id, request).
pub(crate) async fn booked_call(app: &TestApp, end: &str) -> (i64, Value) {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": end }),
    )
    .await;
    let created = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["call"]["starts_at"], FIRST_SLOT, "{request}");
    (request["call"]["id"].as_i64().expect("call id"), created)
}

/// Moves the clock to `now`, places what is due and waits until the fake has
/// played `plays` calls in all; the last one's report.
async fn ring(app: &TestApp, fake: &FakeTwilio, now: &str, plays: usize) -> PlayReport {
    app.clock.set(at(now));
    app.dispatch_due().await;
    let report = fake
        .wait_for_plays(plays)
        .await
        .pop()
        .expect("a played call");
    app.settle().await;
    report
}

pub(crate) async fn call(app: &TestApp, id: i64) -> Value {
    app.admin_get(&format!("/api/v1/calls/{id}")).await
}

fn event_kinds(call: &Value) -> Vec<String> {
    call["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().expect("kind").to_owned())
        .collect()
}

/// Every call of the request, in booking order, as the admin lists them.
pub(crate) async fn calls_of(app: &TestApp, request: &Value) -> Vec<Value> {
    let (status, calls) = app.get("/api/v1/calls", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{calls}");
    calls
        .as_array()
        .expect("a list")
        .iter()
        .filter(|call| call["request_id"] == request["id"])
        .cloned()
        .collect()
}

pub(crate) async fn metrics(app: &TestApp) -> String {
    app.http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text")
}

/// The value of the sample `line` starts with in the exposition, or 0.
pub(crate) fn sample(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_seeker_who_presses_a_key_at_the_screen_is_bridged_and_the_call_completes() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, seeker_does(TALKS));
    let (call_id, created) = booked_call(&app, "10:30").await;

    let report = ring(&app, &fake, FIRST_SLOT, 1).await;

    let leg = report.dialed.as_ref().expect("the seeker was dialed");
    assert!(leg.answer_on_bridge, "{leg:?}");
    assert!(leg.screened && leg.bridged, "{leg:?}");
    assert_eq!(
        report.seeker_heard,
        ["This is ridealong with your call from Grace about interviews. Press any key to join."]
    );
    let mentor_heard = report.heard.join(" ");
    assert!(
        mentor_heard.contains("Calling Ada now") && mentor_heard.contains("Please hold"),
        "the mentor hears a holding line: {mentor_heard}"
    );
    let screen = report
        .requests
        .iter()
        .find(|hit| hit.url.ends_with(&format!("/calls/{call_id}/screen")))
        .expect("the screen was fetched");
    assert_eq!(
        screen.param("CallSid"),
        Some(leg.sid.as_str()),
        "on the seeker's leg"
    );

    let call = call(&app, call_id).await;
    assert_eq!(call["outcome"], "completed", "{call}");
    assert_eq!(call["talk_seconds"], 420);
    assert_eq!(call["retry_of"], Value::Null);
    let kinds = event_kinds(&call);
    for kind in ["screen_started", "screen_passed", "dial_result"] {
        assert!(kinds.iter().any(|seen| seen == kind), "{kind}: {kinds:?}");
    }
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "completed");
    assert_eq!(
        sample(&metrics(&app).await, "ridealong_screens_failed_total"),
        0.0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_silent_at_the_screen_is_a_miss_and_the_mentor_hears_so() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, seeker_does(SeekerScript::SilentAtScreen));
    // One slot in the commute: no second try, today's rescheduling.
    let (call_id, created) = booked_call(&app, "10:15").await;

    let report = ring(&app, &fake, FIRST_SLOT, 1).await;

    let leg = report.dialed.as_ref().expect("the seeker was dialed");
    assert_eq!(leg.status, "completed", "the leg itself says completed");
    assert!(leg.screened && !leg.bridged, "{leg:?}");
    let last = report.heard.last().expect("the mentor heard the end");
    assert!(last.starts_with("Ada didn't pick up."), "{last}");
    assert!(last.contains("another call"), "{last}");

    let call = call(&app, call_id).await;
    assert_eq!(call["outcome"], "seeker_no_answer", "{call}");
    assert_eq!(call["talk_seconds"], Value::Null);
    let kinds = event_kinds(&call);
    assert!(kinds.contains(&"screen_timed_out".to_owned()), "{kinds:?}");
    assert!(!kinds.contains(&"screen_passed".to_owned()), "{kinds:?}");
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 1);
    assert_eq!(request["call"]["starts_at"], NEXT_DAY_SLOT, "{request}");
    let calls = calls_of(&app, &created).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["retry_of"], Value::Null, "the matcher booked it");
    assert_eq!(
        sample(&metrics(&app).await, "ridealong_screens_failed_total"),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_voicemail_that_picks_up_hears_the_screen_and_is_never_a_completed_call() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, seeker_does(SeekerScript::Voicemail));
    let (call_id, created) = booked_call(&app, "10:15").await;

    let report = ring(&app, &fake, FIRST_SLOT, 1).await;

    let leg = report.dialed.as_ref().expect("the seeker was dialed");
    assert!(leg.screened && !leg.bridged, "{leg:?}");
    assert_eq!(report.seeker_heard.len(), 1, "the machine heard the screen");
    let result = report
        .requests
        .iter()
        .find(|hit| hit.url.ends_with("/screen-result"))
        .expect("the gather reported");
    assert_eq!(result.param("Digits"), None, "no key");
    let call = call(&app, call_id).await;
    assert_eq!(call["outcome"], "seeker_no_answer", "{call}");
    assert_eq!(call["talk_seconds"], Value::Null);
    assert_eq!(app.request_as_seeker(&created).await["attempts"], 1);
    app.stop().await;
}

#[tokio::test]
async fn a_miss_with_a_slot_left_in_the_commute_is_tried_again_then_and_answered() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, seeker_does(SeekerScript::SilentAtScreen));
    let (missed_id, created) = booked_call(&app, "10:45").await;
    // Another seeker holds 10:15, so the second try is 10:30.
    let other = app
        .create_request(&request_body("Bob Other", OTHER_SEEKER_PHONE))
        .await;
    app.settle().await;
    let other = app.request_as_seeker(&other).await;
    assert_eq!(other["call"]["starts_at"], SECOND_SLOT, "{other}");
    app.notify_due().await;
    let texts_before = fake.texts_to(SEEKER_PHONE).len();

    let report = ring(&app, &fake, FIRST_SLOT, 1).await;

    let last = report.heard.last().expect("the mentor heard the end");
    assert_eq!(
        last, "Ada didn't pick up. We'll try Ada again at 10:30 AM. Drive safely.",
        "in the mentor's zone"
    );
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled");
    assert_eq!(request["attempts"], 1, "the miss still counts");
    assert_eq!(request["call"]["starts_at"], THIRD_SLOT, "{request}");
    let retry_id = request["call"]["id"].as_i64().expect("call id");
    let retry = call(&app, retry_id).await;
    assert_eq!(retry["retry_of"], missed_id, "{retry}");
    assert_eq!(retry["status"], "scheduled");
    let missed = call(&app, missed_id).await;
    assert_eq!(missed["retry_of"], Value::Null);
    assert!(event_kinds(&missed).contains(&"second_try_booked".to_owned()));
    // The list shows it too.
    let listed = calls_of(&app, &created).await;
    assert_eq!(listed.last().expect("the retry")["retry_of"], missed_id);

    // The seeker is texted the new time, in their zone.
    app.notify_due().await;
    let texts = fake.texts_to(SEEKER_PHONE);
    assert_eq!(texts.len(), texts_before + 1, "{texts:?}");
    let moved = &texts.last().expect("a text").body;
    assert!(moved.contains("Mon Nov 30, 10:30 AM EST"), "{moved}");
    assert!(moved.contains("Grace"), "{moved}");

    // Bob misses his 10:15 call too (10:30, the commute's last slot, is Ada's:
    // no second try for him); at 10:30 the
    // dispatcher places Ada's second try (no minimum notice), and Ada answers.
    ring(&app, &fake, SECOND_SLOT, 2).await;
    fake.script_for(MENTOR_PHONE, seeker_does(TALKS));
    let report = ring(&app, &fake, THIRD_SLOT, 3).await;
    assert!(report.dialed.as_ref().is_some_and(|leg| leg.bridged));
    let retry = call(&app, retry_id).await;
    assert_eq!(retry["outcome"], "completed", "{retry}");
    assert_eq!(app.request_as_seeker(&created).await["status"], "completed");

    let exposition = metrics(&app).await;
    assert_eq!(
        sample(
            &exposition,
            "ridealong_second_tries_total{stage=\"booked\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &exposition,
            "ridealong_second_tries_total{stage=\"completed\"}"
        ),
        1.0
    );
    assert_eq!(sample(&exposition, "ridealong_screens_failed_total"), 2.0);
    app.stop().await;
}

#[tokio::test]
async fn a_busy_seeker_gets_the_second_try_too_but_not_a_slot_under_three_minutes_away() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // Nobody plays the call: the test is the provider, and the mentor talks to
    // the announcement until 10:12:30, when the seeker's line is busy.
    let (missed_id, created) = booked_call(&app, "10:45").await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let mentor_sid = fake.created_calls()[0].sid.clone();
    let base = format!("/telephony/twilio/calls/{missed_id}");
    let token = fake.auth_token().to_owned();
    let pressed = [("CallSid", mentor_sid.as_str()), ("Digits", "1")];
    let (status, _) = app
        .post_webhook(&token, &format!("{base}/gather"), &pressed, None)
        .await;
    assert!(status.is_success());
    app.clock.set(at("2026-11-30T15:12:30Z"));
    let busy = [
        ("CallSid", mentor_sid.as_str()),
        ("DialCallStatus", "busy"),
        ("DialCallSid", "CA00000000000000000000000000000b5y"),
        ("DialCallDuration", "0"),
    ];
    let (status, twiml) = app
        .post_webhook(&token, &format!("{base}/dial"), &busy, None)
        .await;
    assert!(status.is_success());
    assert!(twiml.contains("try Ada again at 10:30 AM"), "{twiml}");

    assert_eq!(call(&app, missed_id).await["outcome"], "seeker_busy");
    let request = app.request_as_seeker(&created).await;
    assert_eq!(
        request["call"]["starts_at"], THIRD_SLOT,
        "10:15 was too soon: {request}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_third_miss_makes_the_request_unreachable_with_no_second_try() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, seeker_does(SeekerScript::SilentAtScreen));
    // Four slots: each miss leaves one for a second try.
    let (_, created) = booked_call(&app, "11:00").await;

    for (index, slot) in [FIRST_SLOT, SECOND_SLOT, THIRD_SLOT].iter().enumerate() {
        let request = app.request_as_seeker(&created).await;
        assert_eq!(request["call"]["starts_at"], *slot, "{request}");
        let report = ring(&app, &fake, slot, index + 1).await;
        let last = report.heard.last().expect("the mentor heard the end");
        if index < 2 {
            assert!(last.contains("We'll try Ada again"), "{last}");
        } else {
            assert!(!last.contains("try Ada again"), "{last}");
        }
    }

    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 3);
    assert_eq!(request["status"], "unreachable");
    assert_eq!(request["call"], Value::Null);
    let calls = calls_of(&app, &created).await;
    assert_eq!(calls.len(), 3, "no fourth call: {calls:?}");
    assert_eq!(calls[1]["retry_of"], calls[0]["id"]);
    assert_eq!(calls[2]["retry_of"], calls[1]["id"]);
    app.stop().await;
}

#[tokio::test]
async fn callbacks_delivered_again_or_late_book_no_second_second_try() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(MENTOR_PHONE, seeker_does(SeekerScript::SilentAtScreen));
    let (missed_id, created) = booked_call(&app, "10:45").await;
    let report = ring(&app, &fake, FIRST_SLOT, 1).await;
    let before = calls_of(&app, &created).await;
    assert_eq!(before.len(), 2);

    // Twilio delivers every webhook of the call again, last first, a minute on.
    app.clock.set(at("2026-11-30T15:01:00Z"));
    for hit in report.requests.iter().rev() {
        let path = hit.url.strip_prefix(&app.public_url()).expect("our URL");
        let params: Vec<(&str, &str)> = hit
            .params
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        let (status, _) = app
            .post_webhook(fake.auth_token(), path, &params, None)
            .await;
        assert!(status.is_success(), "{path}: {status}");
    }
    // A key press that comes after the end bridges nothing and changes nothing.
    let leg = report.dialed.as_ref().expect("the seeker was dialed");
    let late_key = [("CallSid", leg.sid.as_str()), ("Digits", "5")];
    let (status, twiml) = app
        .post_webhook(
            fake.auth_token(),
            &format!("/telephony/twilio/calls/{missed_id}/screen-result"),
            &late_key,
            None,
        )
        .await;
    assert!(status.is_success());
    assert!(twiml.contains("<Hangup/>"), "{twiml}");

    let after = calls_of(&app, &created).await;
    assert_eq!(after.len(), 2, "one second try: {after:?}");
    let missed = call(&app, missed_id).await;
    assert_eq!(missed["outcome"], "seeker_no_answer");
    assert!(!event_kinds(&missed).contains(&"screen_passed".to_owned()));
    assert_eq!(app.request_as_seeker(&created).await["attempts"], 1);
    app.stop().await;
}

#[tokio::test]
async fn a_forged_screen_result_is_refused_and_changes_nothing() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (call_id, _) = booked_call(&app, "10:30").await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let before = call(&app, call_id).await;
    for leaf in ["screen", "screen-result"] {
        let path = format!("/telephony/twilio/calls/{call_id}/{leaf}");
        let params = [("CallSid", "CAforged"), ("Digits", "5")];
        let (wrong_key, _) = app
            .post_webhook("not-the-auth-token", &path, &params, None)
            .await;
        assert_eq!(wrong_key, StatusCode::FORBIDDEN, "{leaf}");
        let (forged, _) = app
            .post_webhook(
                fake.auth_token(),
                &path,
                &params,
                Some("bm90IGEgc2lnbmF0dXJl"),
            )
            .await;
        assert_eq!(forged, StatusCode::FORBIDDEN, "{leaf}");
    }
    assert_eq!(call(&app, call_id).await, before);
    app.stop().await;
}

#[tokio::test]
async fn two_instances_ending_one_missed_call_at_once_book_one_second_try() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // Nobody plays the call: the two "instances" end it.
    let (call_id, created) = booked_call(&app, "10:45").await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    assert_eq!(fake.created_calls().len(), 1);
    let first = Store::connect(app.database_url()).await.expect("a pool");
    let second = Store::connect(app.database_url()).await.expect("a pool");
    let now = at("2026-11-30T15:01:00Z");
    let end = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .end_call(
                    CallId(call_id),
                    Outcome::SeekerNoAnswer,
                    Leg::Seeker,
                    None,
                    EndCallRules::default(),
                    now,
                )
                .await
                .expect("end_call")
        }
    };
    let (one, two) = tokio::join!(end(&first), end(&second));

    let winners: Vec<_> = [one, two].into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "one instance ends the call: {winners:?}");
    let retry = winners[0].second_try.expect("a second try");
    assert_eq!(retry.starts_at, at(SECOND_SLOT));
    let calls = calls_of(&app, &created).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1]["retry_of"], call_id);
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 1);
    assert_eq!(request["call"]["id"], retry.call_id.0);
    first.close().await;
    second.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_call_settled_from_the_provider_is_a_miss_when_nobody_passed_the_screen() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // Nobody plays the call; the instance hears the key press to the mentor's
    // announcement, then none of the seeker leg's callbacks (a voicemail took it).
    let (call_id, created) = booked_call(&app, "10:45").await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let sid = fake.created_calls()[0].sid.clone();
    let pressed = [("CallSid", sid.as_str()), ("Digits", "1")];
    let (status, _) = app
        .post_webhook(
            fake.auth_token(),
            &format!("/telephony/twilio/calls/{call_id}/gather"),
            &pressed,
            None,
        )
        .await;
    assert!(status.is_success());
    // The provider lists the seeker leg as "completed", as it does for a voicemail.
    fake.add_dialed_leg(&sid, SEEKER_PHONE, "completed", 40);
    fake.set_status(&sid, "completed");

    app.clock.set(at("2026-11-30T15:01:01Z"));
    assert_eq!(app.reconcile_now().await.settled, 1);

    let settled = call(&app, call_id).await;
    assert_eq!(settled["outcome"], "seeker_no_answer", "{settled}");
    assert_eq!(settled["talk_seconds"], Value::Null);
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 1);
    assert_eq!(
        request["call"]["starts_at"], SECOND_SLOT,
        "the reconciler books the second try too: {request}"
    );
    let exposition = metrics(&app).await;
    assert_eq!(sample(&exposition, "ridealong_screens_failed_total"), 1.0);
    assert_eq!(
        sample(
            &exposition,
            "ridealong_second_tries_total{stage=\"booked\"}"
        ),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_key_press_delivered_twice_is_recorded_once_and_answered_alike() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // Nobody plays the call: the test is the provider.
    let (call_id, _) = booked_call(&app, "10:30").await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let sid = fake.created_calls()[0].sid.clone();
    let base = format!("/telephony/twilio/calls/{call_id}");
    let token = fake.auth_token().to_owned();
    let pressed = [("CallSid", sid.as_str()), ("Digits", "1")];
    let (_, dial) = app
        .post_webhook(&token, &format!("{base}/gather"), &pressed, None)
        .await;
    assert!(
        dial.contains(&format!("url=\"{}{base}/screen\"", app.public_url())),
        "{dial}"
    );
    let leg = [
        ("CallSid", "CA0000000000000000000000000000face"),
        ("ParentCallSid", sid.as_str()),
    ];
    let (status, screen) = app
        .post_webhook(&token, &format!("{base}/screen"), &leg, None)
        .await;
    assert!(status.is_success());
    assert!(
        screen.contains("finishOnKey=\"\""),
        "any key counts: {screen}"
    );
    assert!(screen.contains("Press any key to join."), "{screen}");
    assert!(screen.ends_with("<Hangup/></Response>"), "{screen}");

    let key = [leg[0], leg[1], ("Digits", "#")];
    for _ in 0..2 {
        let (status, twiml) = app
            .post_webhook(&token, &format!("{base}/screen-result"), &key, None)
            .await;
        assert!(status.is_success());
        assert!(
            !twiml.contains("Hangup"),
            "an empty answer bridges: {twiml}"
        );
    }
    let kinds = event_kinds(&call(&app, call_id).await);
    assert_eq!(
        kinds.iter().filter(|kind| *kind == "screen_passed").count(),
        1,
        "{kinds:?}"
    );
    app.stop().await;
}
