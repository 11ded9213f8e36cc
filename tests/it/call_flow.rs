//! The bridged call end to end: the real app places a booked call through its
//! Twilio client to a fake Twilio over HTTP, which plays it against the app's
//! signed webhooks the way Twilio does. One test per outcome, plus duplicated,
//! reordered and forged callbacks, cancellation of a live call, and provider
//! refusals.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::fake_twilio::{Failure, FakeTwilio};
use crate::helpers::{ADMIN_TOKEN, SERVICE_NUMBER, TestApp, at, mentor_body, request_body};
use ridealong::telephony::player::{CallScript, MentorScript, PlayReport, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
/// Monday 2026-11-30 10:00 in New York: the first slot the matcher books.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// Monday 10:15 in New York: the same commute's next slot, where a seeker-side
/// miss at 10:00 gets its second try.
const SECOND_TRY_SLOT: &str = "2026-11-30T15:15:00Z";
/// Tuesday 10:00 in New York: where a requeued request lands.
const NEXT_DAY_SLOT: &str = "2026-12-01T15:00:00Z";

/// The app wired to a fake Twilio, at Monday 2026-11-30 12:00 UTC.
async fn app_with_twilio() -> (TestApp, FakeTwilio) {
    TestApp::spawn_with_fake_twilio().await
}

fn script(mentor: MentorScript, seeker: SeekerScript) -> CallScript {
    CallScript {
        mentor,
        seeker,
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    }
}

const PRESSES_ONE: MentorScript = MentorScript::Answers { presses: Some('1') };

/// A mentor with a weekday 10:00-10:30 New York window, and a seeker's request
/// booked into its first slot; returns (call id, request as created).
async fn booked_call(app: &TestApp) -> (i64, Value) {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &serde_json::json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let created = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled", "{request}");
    assert_eq!(request["call"]["starts_at"], "2026-11-30T15:00:00Z");
    (request["call"]["id"].as_i64().expect("call id"), created)
}

/// Moves the clock to the slot, places the call and waits until the fake has
/// played `plays` calls in all.
async fn ring(app: &TestApp, fake: &FakeTwilio, slot: &str, plays: usize) -> PlayReport {
    app.clock.set(at(slot));
    app.dispatch_due().await;
    fake.wait_for_plays(plays)
        .await
        .pop()
        .expect("a played call")
}

async fn call(app: &TestApp, id: i64) -> Value {
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

#[tokio::test]
async fn a_call_the_mentor_accepts_bridges_the_seeker_from_the_service_number() {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        script(PRESSES_ONE, SeekerScript::Answers { talk_seconds: 540 }),
    );
    let (call_id, created) = booked_call(&app).await;

    let report = ring(&app, &fake, FIRST_SLOT, 1).await;

    let placed = fake.created_calls();
    assert_eq!(
        placed.len(),
        1,
        "one call through the REST API; the seeker leg comes from <Dial>"
    );
    let mentor_leg = &placed[0];
    assert_eq!(mentor_leg.to, MENTOR_PHONE);
    assert_eq!(mentor_leg.from, SERVICE_NUMBER);
    let dialed = report.dialed.as_ref().expect("the seeker was dialed");
    assert_eq!(dialed.number, SEEKER_PHONE);
    assert_eq!(
        dialed.caller_id, SERVICE_NUMBER,
        "the seeker sees the service number"
    );
    assert!(dialed.answer_on_bridge);
    assert!(
        dialed.time_limit.is_some_and(|limit| limit >= 15 * 60),
        "{dialed:?}"
    );
    let announcement = report.heard.join(" ");
    assert!(
        announcement.contains("Ada") && announcement.contains("interviews"),
        "{announcement}"
    );
    assert!(
        !announcement.contains("Lovelace"),
        "only the first name is said: {announcement}"
    );
    assert!(
        !announcement.contains("555"),
        "no number is said: {announcement}"
    );

    let call = call(&app, call_id).await;
    assert_eq!(call["status"], "ended");
    assert_eq!(call["outcome"], "completed");
    assert_eq!(call["talk_seconds"], 540);
    assert_eq!(call["provider_call_sid"], mentor_leg.sid.as_str());
    let kinds = event_kinds(&call);
    for kind in [
        "booked",
        "dialing",
        "dialed",
        "answered",
        "mentor_pressed",
        "dial_result",
        "ended",
    ] {
        assert!(
            kinds.iter().any(|seen| seen == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    assert!(
        kinds.iter().filter(|kind| *kind == "mentor_status").count() >= 3,
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|kind| *kind == "seeker_status").count() >= 3,
        "{kinds:?}"
    );
    let log = call["events"].to_string();
    assert!(
        !log.contains("5550199") && !log.contains("5550123"),
        "numbers leak into the event log: {log}"
    );

    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "completed");
    assert_eq!(request["attempts"], 0);
    app.stop().await;
}

/// Plays one call with `script` and returns (call, request) afterwards.
async fn play_outcome(script: CallScript) -> (Value, Value, TestApp, FakeTwilio) {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(MENTOR_PHONE, script);
    let (call_id, created) = booked_call(&app).await;
    ring(&app, &fake, FIRST_SLOT, 1).await;
    app.settle().await;
    let call = call(&app, call_id).await;
    let request = app.request_as_seeker(&created).await;
    (call, request, app, fake)
}

#[tokio::test]
async fn a_mentor_who_does_not_pick_up_requeues_the_request_without_counting_it() {
    let (call, request, app, _fake) = play_outcome(script(
        MentorScript::NoAnswer,
        SeekerScript::Answers { talk_seconds: 60 },
    ))
    .await;
    assert_eq!(call["status"], "ended");
    assert_eq!(call["outcome"], "mentor_no_answer");
    assert_eq!(call["talk_seconds"], Value::Null);
    assert_eq!(request["attempts"], 0);
    assert_eq!(request["status"], "scheduled", "rebooked: {request}");
    assert_eq!(request["call"]["starts_at"], NEXT_DAY_SLOT);
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_who_presses_two_declines_and_the_request_is_requeued() {
    let (call, request, app, fake) = play_outcome(script(
        MentorScript::Answers { presses: Some('2') },
        SeekerScript::Answers { talk_seconds: 60 },
    ))
    .await;
    assert_eq!(call["outcome"], "mentor_declined");
    assert_eq!(request["attempts"], 0);
    assert_eq!(request["status"], "scheduled");
    assert_eq!(fake.created_calls().len(), 1, "the seeker was never dialed");
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_who_stays_silent_declines_too() {
    let (call, request, app, _fake) = play_outcome(script(
        MentorScript::Answers { presses: None },
        SeekerScript::Answers { talk_seconds: 60 },
    ))
    .await;
    assert_eq!(call["outcome"], "mentor_declined");
    assert_eq!(request["attempts"], 0);
    app.stop().await;
}

#[tokio::test]
async fn a_voicemail_pickup_on_the_mentor_side_does_not_count_as_a_call() {
    let (call, request, app, _fake) = play_outcome(CallScript {
        mentor: MentorScript::Answers { presses: None },
        seeker: SeekerScript::Answers { talk_seconds: 60 },
        mentor_hangs_up_during_announcement: true,
        mentor_after_call: None,
    })
    .await;
    assert_eq!(call["outcome"], "mentor_declined");
    assert_eq!(call["talk_seconds"], Value::Null);
    assert_eq!(request["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_who_does_not_answer_is_rescheduled_with_one_attempt_counted() {
    let (call, request, app, _fake) =
        play_outcome(script(PRESSES_ONE, SeekerScript::NoAnswer)).await;
    assert_eq!(call["outcome"], "seeker_no_answer");
    assert_eq!(call["talk_seconds"], Value::Null);
    assert_eq!(request["attempts"], 1);
    assert_eq!(request["status"], "scheduled");
    // Booked again at once: the same commute's next slot (tests/it/screen.rs).
    assert_eq!(request["call"]["starts_at"], SECOND_TRY_SLOT);
    app.stop().await;
}

#[tokio::test]
async fn a_busy_seeker_counts_as_a_seeker_side_miss() {
    let (call, request, app, _fake) = play_outcome(script(PRESSES_ONE, SeekerScript::Busy)).await;
    assert_eq!(call["outcome"], "seeker_busy");
    assert_eq!(request["attempts"], 1);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_seeker_leg_counts_but_a_failed_mentor_leg_does_not() {
    let (call, request, app, _fake) = play_outcome(script(PRESSES_ONE, SeekerScript::Fails)).await;
    assert_eq!(call["outcome"], "failed");
    assert_eq!(request["attempts"], 1);
    app.stop().await;

    let (call, request, app, _fake) = play_outcome(script(
        MentorScript::Fails,
        SeekerScript::Answers { talk_seconds: 60 },
    ))
    .await;
    assert_eq!(call["outcome"], "failed");
    assert_eq!(request["attempts"], 0);
    assert_eq!(request["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_who_misses_three_calls_becomes_unreachable() {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(MENTOR_PHONE, script(PRESSES_ONE, SeekerScript::NoAnswer));
    let (_, created) = booked_call(&app).await;
    // The first miss gets a second try in the same commute; the second miss
    // leaves none, so the third call is the next day's.
    let slots = [FIRST_SLOT, SECOND_TRY_SLOT, NEXT_DAY_SLOT];
    for (index, slot) in slots.iter().enumerate() {
        let request = app.request_as_seeker(&created).await;
        assert_eq!(request["call"]["starts_at"], *slot, "{request}");
        ring(&app, &fake, slot, index + 1).await;
        app.settle().await;
    }
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 3);
    assert_eq!(request["status"], "unreachable");
    assert_eq!(request["call"], Value::Null);
    app.stop().await;
}

/// Sends a form POST to the app's webhook `path`, signed like Twilio would (or
/// with `signature` when given).
async fn post_webhook(
    app: &TestApp,
    token: &str,
    path: &str,
    params: &[(&str, &str)],
    forged: Option<&str>,
) -> StatusCode {
    app.post_webhook(token, path, params, forged).await.0
}

#[tokio::test]
async fn duplicated_callbacks_are_logged_once_and_change_nothing() {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        script(PRESSES_ONE, SeekerScript::Answers { talk_seconds: 300 }),
    );
    let (call_id, _) = booked_call(&app).await;
    let report = ring(&app, &fake, FIRST_SLOT, 1).await;
    let before = call(&app, call_id).await;

    // Twilio delivers every status callback a second time, in reverse order.
    for hit in report
        .requests
        .iter()
        .rev()
        .filter(|hit| hit.url.contains("status"))
    {
        let path = hit.url.strip_prefix(&app.public_url()).expect("our URL");
        let params: Vec<(&str, &str)> = hit
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let status = post_webhook(&app, fake.auth_token(), path, &params, None).await;
        assert!(status.is_success(), "{status}");
    }

    let after = call(&app, call_id).await;
    assert_eq!(after["outcome"], "completed");
    assert_eq!(after["talk_seconds"], 300);
    assert_eq!(
        after["events"], before["events"],
        "duplicates are not logged again"
    );
    app.stop().await;
}

#[tokio::test]
async fn callbacks_out_of_order_still_end_in_the_right_outcome() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, created) = booked_call(&app).await;
    // Nobody plays this call: the test is the provider and sends the callbacks.
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let mentor_sid = fake.created_calls()[0].sid.clone();
    let token = fake.auth_token().to_owned();
    let base = format!("/telephony/twilio/calls/{call_id}");
    let parent = [
        ("CallSid", mentor_sid.as_str()),
        ("AccountSid", fake.account_sid()),
    ];
    let seeker_sid = "CA0000000000000000000000000000beef";

    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        parent
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect()
    };
    assert!(
        post_webhook(
            &app,
            &token,
            &format!("{base}/answer"),
            &with(&[("CallStatus", "in-progress")]),
            None
        )
        .await
        .is_success()
    );
    assert!(
        post_webhook(
            &app,
            &token,
            &format!("{base}/gather"),
            &with(&[("Digits", "1")]),
            None
        )
        .await
        .is_success()
    );
    // The seeker picks up and presses a key at the screen.
    let screened = [
        ("CallSid", seeker_sid),
        ("ParentCallSid", mentor_sid.as_str()),
        ("Digits", "5"),
    ];
    assert!(
        post_webhook(
            &app,
            &token,
            &format!("{base}/screen-result"),
            &screened,
            None
        )
        .await
        .is_success()
    );
    // The mentor leg's final callback overtakes everything about the seeker leg.
    let final_mentor = with(&[
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
        ("CallDuration", "700"),
    ]);
    assert!(
        post_webhook(&app, &token, &format!("{base}/status"), &final_mentor, None)
            .await
            .is_success()
    );
    assert_eq!(
        call(&app, call_id).await["status"],
        "in_progress",
        "not decided before the seeker leg"
    );
    let seeker_done = [
        ("CallSid", seeker_sid),
        ("ParentCallSid", mentor_sid.as_str()),
        ("CallStatus", "completed"),
        ("CallDuration", "610"),
        ("SequenceNumber", "3"),
    ];
    assert!(
        post_webhook(
            &app,
            &token,
            &format!("{base}/seeker-status"),
            &seeker_done,
            None
        )
        .await
        .is_success()
    );
    let dial = with(&[
        ("DialCallStatus", "completed"),
        ("DialCallDuration", "610"),
        ("DialCallSid", seeker_sid),
    ]);
    assert!(
        post_webhook(&app, &token, &format!("{base}/dial"), &dial, None)
            .await
            .is_success()
    );
    // A late "ringing" after the end moves nothing backwards.
    let late = with(&[("CallStatus", "ringing"), ("SequenceNumber", "1")]);
    assert!(
        post_webhook(&app, &token, &format!("{base}/status"), &late, None)
            .await
            .is_success()
    );

    let call = call(&app, call_id).await;
    assert_eq!(call["status"], "ended");
    assert_eq!(call["outcome"], "completed");
    assert_eq!(call["talk_seconds"], 610);
    assert_eq!(app.request_as_seeker(&created).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn a_forged_callback_is_refused_and_changes_nothing() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, _) = booked_call(&app).await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let before = call(&app, call_id).await;
    let path = format!("/telephony/twilio/calls/{call_id}/status");
    let params = [
        ("CallSid", "CAforged"),
        ("CallStatus", "no-answer"),
        ("SequenceNumber", "9"),
    ];

    let forged = post_webhook(
        &app,
        fake.auth_token(),
        &path,
        &params,
        Some("bm90IGEgc2lnbmF0dXJl"),
    )
    .await;
    assert_eq!(forged, StatusCode::FORBIDDEN);
    let wrong_key = post_webhook(&app, "not-the-auth-token", &path, &params, None).await;
    assert_eq!(wrong_key, StatusCode::FORBIDDEN);
    let unsigned = app
        .http
        .post(app.url(&path))
        .form(&params)
        .send()
        .await
        .expect("reaches the app");
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    let body: Value = unsigned.json().await.expect("error shape");
    assert_eq!(body["error"]["code"], "invalid_signature");

    assert_eq!(call(&app, call_id).await, before, "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn callbacks_about_a_call_that_does_not_exist_are_answered_without_harm() {
    let (app, fake) = app_with_twilio().await;
    let token = fake.auth_token().to_owned();
    let params = [
        ("CallSid", "CA00000000000000000000000000000042"),
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
    ];
    for leaf in ["answer", "gather", "dial", "status", "seeker-status"] {
        let status = post_webhook(
            &app,
            &token,
            &format!("/telephony/twilio/calls/4242/{leaf}"),
            &params,
            None,
        )
        .await;
        assert!(status.is_success(), "{leaf}: {status}");
    }
    let (status, _) = app.get("/api/v1/calls/4242", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn canceling_a_request_whose_call_is_ringing_cancels_it_at_the_provider() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, created) = booked_call(&app).await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    assert_eq!(call(&app, call_id).await["status"], "dialing");
    let sid = fake.created_calls()[0].sid.clone();

    let path = format!(
        "/api/v1/requests/{}?token={}",
        created["id"],
        created["manage_token"].as_str().unwrap()
    );
    let (status, _) = app.delete(&path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let update = fake
        .requests()
        .into_iter()
        .find(|request| {
            request.method == "POST" && request.path.ends_with(&format!("/Calls/{sid}.json"))
        })
        .expect("the call was updated at the provider");
    assert_eq!(update.form_value("Status"), Some("canceled"));
    let call = call(&app, call_id).await;
    assert_eq!(call["status"], "canceled");
    assert_eq!(call["outcome"], "canceled");
    assert!(event_kinds(&call).contains(&"stopped_at_provider".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn a_number_the_provider_refuses_ends_the_call_as_failed_and_requeues_without_counting() {
    let (app, fake) = app_with_twilio().await;
    fake.invalid_number(MENTOR_PHONE);
    let (call_id, created) = booked_call(&app).await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let call = call(&app, call_id).await;
    assert_eq!(call["outcome"], "failed");
    assert!(event_kinds(&call).contains(&"dial_failed".to_owned()));
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 0);
    assert_eq!(request["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn a_dial_whose_answer_never_came_is_adopted_from_the_provider_not_placed_twice() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, _) = booked_call(&app).await;
    // The create-call is processed, but the connection drops before the answer.
    fake.fail_next(1, Failure::CloseConnection);
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let in_doubt = call(&app, call_id).await;
    assert_eq!(in_doubt["provider_call_sid"], Value::Null);
    assert!(event_kinds(&in_doubt).contains(&"dial_outcome_unknown".to_owned()));

    app.clock.set(at("2026-11-30T15:01:00Z"));
    app.reconcile_now().await;
    let creates = fake
        .requests()
        .iter()
        .filter(|request| request.method == "POST" && request.path.ends_with("/Calls.json"))
        .count();
    assert_eq!(creates, 1, "the call was never posted twice");
    let call = call(&app, call_id).await;
    assert_eq!(
        call["provider_call_sid"],
        fake.created_calls()[0].sid.as_str()
    );
    assert_eq!(call["status"], "dialing");
    assert!(event_kinds(&call).contains(&"dial_adopted".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn a_call_whose_final_callbacks_never_came_is_settled_from_the_provider() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, created) = booked_call(&app).await;
    // Nobody plays this call and no callback ever arrives.
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    let sid = fake.created_calls()[0].sid.clone();
    fake.set_status(&sid, "no-answer");

    // Heard of last at the dial: not quiet for a minute yet.
    app.clock.set(at("2026-11-30T15:00:59Z"));
    app.reconcile_now().await;
    assert_eq!(call(&app, call_id).await["status"], "dialing");

    app.clock.set(at("2026-11-30T15:01:01Z"));
    app.reconcile_now().await;
    let settled = call(&app, call_id).await;
    assert_eq!(settled["status"], "ended");
    assert_eq!(settled["outcome"], "mentor_no_answer");
    assert!(event_kinds(&settled).contains(&"settled_from_provider".to_owned()));
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 0);
    assert_eq!(
        request["status"], "scheduled",
        "requeued and booked again: {request}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_slot_that_passed_while_nobody_could_dial_is_requeued_not_rung_late() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, created) = booked_call(&app).await;
    // The service was down from before the slot (15:00-15:15) until 15:11.
    app.clock.set(at("2026-11-30T15:11:00Z"));
    app.dispatch_due().await;

    assert!(fake.created_calls().is_empty(), "nobody was rung late");
    let missed = call(&app, call_id).await;
    assert_eq!(missed["outcome"], "failed");
    assert!(event_kinds(&missed).contains(&"slot_missed".to_owned()));
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["attempts"], 0, "not the seeker's miss");
    assert_eq!(request["call"]["starts_at"], NEXT_DAY_SLOT);
    app.stop().await;
}

#[tokio::test]
async fn a_call_a_few_minutes_late_is_still_placed() {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        script(PRESSES_ONE, SeekerScript::Answers { talk_seconds: 300 }),
    );
    let (call_id, _) = booked_call(&app).await;
    ring(&app, &fake, "2026-11-30T15:09:00Z", 1).await;
    assert_eq!(call(&app, call_id).await["outcome"], "completed");
    app.stop().await;
}

/// Posts of create-call the fake received so far.
fn create_posts(fake: &FakeTwilio) -> usize {
    fake.requests()
        .iter()
        .filter(|request| request.method == "POST" && request.path.ends_with("/Calls.json"))
        .count()
}

#[tokio::test]
async fn a_provider_that_is_unavailable_at_the_slot_gets_the_call_again_within_the_slot() {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(MENTOR_PHONE, CallScript::default());
    let (call_id, created) = booked_call(&app).await;
    // 503 to the client's first try and both of its quick retries.
    fake.fail_next(3, Failure::Status(503));
    app.clock.set(at(FIRST_SLOT));
    let report = app.dispatch_due().await;
    assert_eq!((report.placed, report.retrying, report.failed), (0, 1, 0));
    let waiting = call(&app, call_id).await;
    assert_eq!(waiting["status"], "scheduled", "{waiting}");
    let retry = waiting["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|event| event["kind"] == "dial_retry")
        .expect("a dial_retry event");
    assert_eq!(
        retry["detail"]["retry_at"], "2026-11-30T15:00:15Z",
        "{retry}"
    );
    assert!(fake.created_calls().is_empty());

    // Not before the retry time...
    app.clock.set(at("2026-11-30T15:00:14Z"));
    assert_eq!(app.dispatch_due().await.placed, 0);
    // ...then it goes through, once.
    app.clock.set(at("2026-11-30T15:00:15Z"));
    assert_eq!(app.dispatch_due().await.placed, 1);
    fake.wait_for_plays(1).await;
    assert_eq!(fake.created_calls().len(), 1);
    let call = call(&app, call_id).await;
    assert_eq!(call["outcome"], "completed", "{call}");
    assert_eq!(app.request_as_seeker(&created).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn a_provider_still_unavailable_late_in_the_slot_fails_the_call_and_requeues_the_request() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, created) = booked_call(&app).await;
    fake.fail_next(3, Failure::Status(503));
    // The slot ends 10:15; a dial after 10:10 would leave too little of it, and a
    // retry 15 s after 10:09:50 is past that.
    app.clock.set(at("2026-11-30T15:09:50Z"));
    let report = app.dispatch_due().await;
    assert_eq!((report.placed, report.retrying, report.failed), (0, 0, 1));
    let call = call(&app, call_id).await;
    assert_eq!(
        (call["status"].as_str(), call["outcome"].as_str()),
        (Some("ended"), Some("failed"))
    );
    assert!(event_kinds(&call).contains(&"dial_failed".to_owned()));
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(
        request["status"], "scheduled",
        "requeued and booked again: {request}"
    );
    assert_eq!(request["call"]["starts_at"], NEXT_DAY_SLOT);
    assert_eq!(
        request["attempts"], 0,
        "the provider's failure is not the seeker's"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_server_error_that_may_have_created_the_call_is_reconciled_never_posted_again() {
    let (app, fake) = app_with_twilio().await;
    let (call_id, _) = booked_call(&app).await;
    fake.fail_next(1, Failure::Status(500));
    app.clock.set(at(FIRST_SLOT));
    let report = app.dispatch_due().await;
    assert_eq!((report.placed, report.retrying, report.in_doubt), (0, 0, 1));
    let in_doubt = call(&app, call_id).await;
    assert_eq!(in_doubt["status"], "dialing");
    assert!(event_kinds(&in_doubt).contains(&"dial_outcome_unknown".to_owned()));

    // The provider's list shows no such call: after a while it is given up on.
    app.clock.set(at("2026-11-30T15:10:00Z"));
    app.reconcile_now().await;
    let call = call(&app, call_id).await;
    assert_eq!(call["outcome"], "failed", "{call}");
    assert_eq!(create_posts(&fake), 1, "the create was never posted twice");
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The provider's concurrent-call limit
// ---------------------------------------------------------------------------

#[tokio::test]
async fn under_the_concurrent_call_limit_a_call_that_overran_its_slot_holds_the_next_until_it_ends()
{
    // RIDEALONG_MAX_CONCURRENT_CALLS=2: one bridged call at a time.
    let (app, fake) = TestApp::spawn_with_fake_twilio_and(|config| {
        config.policy.calls_at_once = ridealong::domain::concurrency::calls_at_once(Some(2));
    })
    .await;
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &serde_json::json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let first = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    let second = app
        .create_request(&request_body("Alan Turing", "+12015550198"))
        .await;
    app.settle().await;
    let call_of = |request: Value| request["call"]["id"].as_i64().expect("booked");
    let first_call = call_of(app.request_as_seeker(&first).await);
    let second_call = call_of(app.request_as_seeker(&second).await);
    assert_eq!(call(&app, second_call).await["starts_at"], SECOND_TRY_SLOT);

    // Nobody plays the first call: it is still dialing when the next slot comes.
    app.clock.set(at(FIRST_SLOT));
    assert_eq!(app.dispatch_due().await.placed, 1);
    app.clock.set(at(SECOND_TRY_SLOT));
    let held = app.dispatch_due().await;
    assert_eq!((held.placed, held.at_call_limit), (0, true), "{held:?}");
    assert_eq!(fake.created_calls().len(), 1, "the limit holds one call");
    assert_eq!(call(&app, second_call).await["status"], "scheduled");

    // The first call ends (settled from the provider, its callbacks lost): the
    // waiting call is placed within its slot.
    let sid = fake.created_calls()[0].sid.clone();
    fake.set_status(&sid, "no-answer");
    app.clock.set(at("2026-11-30T15:16:00Z"));
    app.reconcile_now().await;
    assert_eq!(call(&app, first_call).await["status"], "ended");
    app.dispatch_due().await;
    fake.wait_for_creates(2, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(fake.created_calls().len(), 2, "placed once");
    assert_ne!(call(&app, second_call).await["status"], "scheduled");
    app.stop().await;
}
