//! The call-back line, end to end: the real app places the missed call through
//! its Twilio client to the fake Twilio, and the fake then rings the service
//! number from the seeker's (or anyone's) phone: the voice webhook is requested
//! signed as Twilio signs, and its TwiML played, the mentor's leg screened.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{SERVICE_NUMBER, TestApp, at, request_body};
use crate::screen::{booked_call, call, calls_of, metrics, sample};
use ridealong::ids::{CallId, MentorId, RequestId};
use ridealong::store::NewCallBack;
use ridealong::telephony::player::{CallScript, MentorScript, Pace, PlayReport, SeekerScript};
use ridealong::telephony::simulated::SimulatedProvider;

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
const OTHER_SEEKER_PHONE: &str = "+12015550177";
const UNKNOWN_PHONE: &str = "+12015550142";
/// Monday 2026-11-30 10:00 in New York: the first slot the matcher books.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// Monday 10:15 in New York: the commute's second slot.
const SECOND_SLOT: &str = "2026-11-30T15:15:00Z";
/// Tuesday 10:00 in New York: where a requeued request lands.
const NEXT_DAY_SLOT: &str = "2026-12-01T15:00:00Z";

const PRESSES_ONE: MentorScript = MentorScript::Answers { presses: Some('1') };
const TALKS: SeekerScript = SeekerScript::Answers { talk_seconds: 300 };

/// The seeker calling back; the mentor (the dialed leg) does `mentor`.
fn call_back_where_mentor(mentor: MentorScript) -> CallScript {
    CallScript {
        mentor,
        seeker: TALKS,
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    }
}

/// The seeker's 10:00 call in a commute ending at `end`, missed: the seeker's
/// phone rang out. Returns (missed call id, request).
pub(crate) async fn missed_call(app: &TestApp, fake: &FakeTwilio, end: &str) -> (i64, Value) {
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: PRESSES_ONE,
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    let (call_id, created) = booked_call(app, end).await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.settle().await;
    assert_eq!(call(app, call_id).await["outcome"], "seeker_no_answer");
    (call_id, created)
}

/// `from` rings the service number at `now`; the played call's report.
pub(crate) async fn ring_the_service(
    app: &TestApp,
    fake: &FakeTwilio,
    now: &str,
    from: &str,
    script: CallScript,
) -> PlayReport {
    app.clock.set(at(now));
    let voice_url = format!("{}/telephony/twilio/voice", app.public_url());
    let report = fake
        .place_inbound_call(&voice_url, from, SERVICE_NUMBER, script)
        .await;
    assert_eq!(report.application_error, None, "{report:?}");
    app.settle().await;
    report
}

/// Everything anyone heard on a call: no phone number, and no surname.
fn assert_discreet(report: &PlayReport) {
    for text in report.heard.iter().chain(&report.seeker_heard) {
        assert!(
            text.chars().filter(char::is_ascii_digit).count() < 7,
            "a number was said: {text}"
        );
        for secret in ["Hopper", "Lovelace", "Turing", "555"] {
            assert!(!text.contains(secret), "{secret} was said: {text}");
        }
    }
}

#[tokio::test]
async fn a_seeker_who_calls_back_in_the_same_commute_is_put_through_and_the_call_completes() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // Two slots in the commute: the miss gets a second try at 10:15.
    let (missed_id, created) = missed_call(&app, &fake, "10:30").await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["call"]["starts_at"], SECOND_SLOT, "{request}");
    let second_try = request["call"]["id"].clone();

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:05:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;

    let leg = report.dialed.as_ref().expect("the mentor was dialed");
    assert_eq!(leg.number, MENTOR_PHONE);
    assert_eq!(leg.caller_id, SERVICE_NUMBER, "from the service number");
    assert!(leg.screened && leg.bridged, "{leg:?}");
    assert_eq!(
        report.seeker_heard,
        ["Ada is calling you back about interviews. Press 1 to connect."],
        "what the mentor heard"
    );
    assert!(
        report.heard[0].contains("calling Grace now"),
        "{:?}",
        report.heard
    );
    assert_discreet(&report);

    let calls = calls_of(&app, &created).await;
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0]["id"].as_i64(), Some(missed_id));
    assert_eq!(calls[0]["inbound"], false);
    assert_eq!(calls[1]["id"], second_try);
    assert_eq!(calls[1]["status"], "canceled", "the call-back replaces it");
    let call_back = call(&app, calls[2]["id"].as_i64().expect("id")).await;
    assert_eq!(call_back["inbound"], true, "{call_back}");
    assert_eq!(call_back["outcome"], "completed");
    assert_eq!(call_back["talk_seconds"], 300);
    assert_eq!(call_back["starts_at"], "2026-11-30T15:05:00Z");
    let kinds: Vec<&str> = call_back["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["kind"].as_str())
        .collect();
    for kind in [
        "call_back",
        "call_back_screen_started",
        "call_back_accepted",
    ] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "completed", "{request}");
    assert_eq!(request["attempts"], 1, "the miss still counts");

    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, "ridealong_callbacks_total{result=\"completed\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "ridealong_callbacks_total{result=\"missed\"}"),
        0.0
    );
    crate::metrics::promtool_accepts(&text);
    app.stop().await;
}

/// A seeker misses the 10:00 call of a half-hour commute and calls back at
/// 10:05; the mentor presses 1 and they talk. Returns the request.
pub(crate) async fn recovered_by_a_call_back(app: &TestApp, fake: &FakeTwilio) -> Value {
    let (_, created) = missed_call(app, fake, "10:30").await;
    let report = ring_the_service(
        app,
        fake,
        "2026-11-30T15:05:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;
    assert!(report.dialed.is_some_and(|leg| leg.bridged));
    created
}

#[tokio::test]
async fn a_call_back_just_inside_the_commute_is_put_through() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // One slot: the commute ends at 10:15, 15:15 UTC.
    let (_, created) = missed_call(&app, &fake, "10:15").await;
    assert_eq!(
        app.request_as_seeker(&created).await["call"]["starts_at"],
        NEXT_DAY_SLOT
    );

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:14:59Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;

    assert!(report.dialed.is_some_and(|leg| leg.bridged));
    let calls = calls_of(&app, &created).await;
    let call_back = calls.last().expect("the call-back");
    assert_eq!(call_back["inbound"], true);
    assert_eq!(call_back["outcome"], "completed");
    assert_eq!(calls[1]["starts_at"], NEXT_DAY_SLOT);
    assert_eq!(
        calls[1]["status"], "canceled",
        "the next day's booking is called off"
    );
    assert_eq!(app.request_as_seeker(&created).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn a_call_back_just_after_the_commute_hears_the_next_call_instead() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (_, created) = missed_call(&app, &fake, "10:15").await;

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:15:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;

    assert_eq!(report.dialed, None, "nobody was dialed");
    assert_eq!(
        report.heard,
        [
            "This is ridealong. Your next call is on Tuesday, December 1 at 10:00 AM, your time, \
          with Grace. They will call you from this number. Goodbye."
        ]
    );
    assert_discreet(&report);
    assert_eq!(calls_of(&app, &created).await.len(), 2, "no call-back");
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["call"]["starts_at"], NEXT_DAY_SLOT);
    assert_eq!(
        sample(
            &metrics(&app).await,
            "ridealong_callbacks_total{result=\"too_late\"}"
        ),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_who_presses_nothing_at_the_call_back_leaves_the_request_to_be_booked_again() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (_, created) = missed_call(&app, &fake, "10:15").await;

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:05:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(MentorScript::Answers { presses: None }),
    )
    .await;

    let leg = report.dialed.as_ref().expect("the mentor was dialed");
    assert!(leg.screened && !leg.bridged, "{leg:?}");
    let last = report.heard.last().expect("the seeker heard the end");
    assert!(
        last.starts_with("Sorry, Grace couldn't take your call just now."),
        "{last}"
    );
    assert!(last.contains("book another call"), "{last}");
    let calls = calls_of(&app, &created).await;
    let call_back = &calls[2];
    assert_eq!(call_back["inbound"], true);
    assert_eq!(call_back["outcome"], "mentor_declined");
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled", "booked again: {request}");
    assert_eq!(request["attempts"], 1, "the mentor's miss does not count");
    assert_eq!(request["call"]["starts_at"], NEXT_DAY_SLOT);
    assert_eq!(
        sample(
            &metrics(&app).await,
            "ridealong_callbacks_total{result=\"missed\"}"
        ),
        1.0
    );

    // One call-back per miss: calling again hears the status.
    let again = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:08:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;
    assert_eq!(again.dialed, None);
    assert!(
        again.heard[0].contains("Your next call is on Tuesday"),
        "{:?}",
        again.heard
    );
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_whose_mentor_is_on_another_call_hears_so_and_their_status() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: PRESSES_ONE,
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    // Two slots, both booked: Ada at 10:00, Alan at 10:15.
    let (_, created) = booked_call(&app, "10:30").await;
    let other = app
        .create_request(&request_body("Alan Turing", OTHER_SEEKER_PHONE))
        .await;
    app.settle().await;
    assert_eq!(
        app.request_as_seeker(&other).await["call"]["starts_at"],
        SECOND_SLOT
    );
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.settle().await;
    // Alan's call rings the mentor and is still going on.
    fake.unscript(MENTOR_PHONE);
    app.clock.set(at(SECOND_SLOT));
    app.dispatch_due().await;

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:16:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;

    assert_eq!(report.dialed, None, "the mentor was not dialed");
    assert_eq!(
        report.heard,
        [
            "This is ridealong. Grace can't take a call right now, so we can't put you through. \
          Your next call is on Tuesday, December 1 at 10:00 AM, your time, with Grace. They \
          will call you from this number. Goodbye."
        ]
    );
    assert_discreet(&report);
    assert!(
        calls_of(&app, &created)
            .await
            .iter()
            .all(|call| call["inbound"] == false)
    );
    assert_eq!(
        sample(
            &metrics(&app).await,
            "ridealong_callbacks_total{result=\"mentor_busy\"}"
        ),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_without_a_missed_call_hears_where_their_request_stands() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    booked_call(&app, "10:15").await;
    // Alan asks too, free only at weekends, when the mentor does not commute.
    let mut alan = request_body("Alan Turing", OTHER_SEEKER_PHONE);
    alan["availability"] =
        json!([{ "weekdays": ["sat", "sun"], "start": "10:00", "end": "12:00" }]);
    let alan = app.create_request(&alan).await;
    app.settle().await;

    let booked = ring_the_service(
        &app,
        &fake,
        "2026-11-30T13:00:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;
    assert_eq!(
        booked.heard,
        [
            "This is ridealong. Your next call is on Monday, November 30 at 10:00 AM, your time, \
          with Grace. They will call you from this number. Goodbye."
        ]
    );
    let waiting = ring_the_service(
        &app,
        &fake,
        "2026-11-30T13:00:00Z",
        OTHER_SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;
    assert_eq!(
        waiting.heard,
        [
            "This is ridealong. You're waiting for a match with a mentor. We'll text you when \
          your call is booked. Goodbye."
        ]
    );
    assert_eq!(app.request_as_seeker(&alan).await["status"], "pending");
    for report in [&booked, &waiting] {
        assert_eq!(report.dialed, None);
        assert_discreet(report);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_calling_the_service_hears_their_next_call() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    booked_call(&app, "10:15").await;

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T13:00:00Z",
        MENTOR_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;

    assert_eq!(
        report.heard,
        [
            "Hi Grace, this is ridealong. Your next call is on Monday, November 30 at 10:00 AM, \
          with Ada. Goodbye."
        ]
    );
    assert_eq!(report.dialed, None);
    assert_discreet(&report);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_or_hidden_caller_hears_what_ridealong_is() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    booked_call(&app, "10:15").await;
    let expected = "This is ridealong. Mentors call job seekers during their commute, to talk \
                    about finding work. To ask for a call, visit the ridealong website. Goodbye.";

    for from in [UNKNOWN_PHONE, "anonymous"] {
        let report = ring_the_service(
            &app,
            &fake,
            "2026-11-30T13:00:00Z",
            from,
            call_back_where_mentor(PRESSES_ONE),
        )
        .await;
        assert_eq!(report.heard, [expected], "{from}");
        assert_eq!(report.dialed, None);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_call_to_the_voice_line_with_a_bad_signature_is_refused_and_changes_nothing() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (_, created) = missed_call(&app, &fake, "10:15").await;
    app.clock.set(at("2026-11-30T15:05:00Z"));
    let params = [
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("From", SEEKER_PHONE),
        ("To", SERVICE_NUMBER),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ];

    let (status, body) = app
        .post_webhook(
            "not the auth token",
            "/telephony/twilio/voice",
            &params,
            None,
        )
        .await;

    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("invalid_signature"), "{body}");
    let calls = calls_of(&app, &created).await;
    assert_eq!(calls.len(), 2, "no call-back: {calls:?}");
    assert_eq!(calls[1]["status"], "scheduled", "the booking stands");

    // The same request signed with the account's token is put through.
    let (status, body) = app
        .post_webhook(fake.auth_token(), "/telephony/twilio/voice", &params, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<Dial callerId=\"+15005550006\""), "{body}");
    assert!(body.contains("/callback-screen\""), "{body}");
    assert!(!body.contains("<Say language=\"en-US\">+"), "{body}");
    assert_eq!(calls_of(&app, &created).await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_call_back_whose_webhooks_were_lost_is_settled_from_the_provider() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (_, created) = missed_call(&app, &fake, "10:15").await;
    let sid = "CA00000000000000000000000000c0ffee";
    app.clock.set(at("2026-11-30T15:05:00Z"));
    let (status, body) = app
        .post_webhook(
            fake.auth_token(),
            "/telephony/twilio/voice",
            &[
                ("CallSid", sid),
                ("From", SEEKER_PHONE),
                ("To", SERVICE_NUMBER),
                ("CallStatus", "ringing"),
                ("Direction", "inbound"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The mentor's phone rang out, and nothing of it reached the app.
    fake.add_inbound_call(sid, SEEKER_PHONE, SERVICE_NUMBER, "completed");
    fake.add_dialed_leg(sid, MENTOR_PHONE, "no-answer", 0);

    app.clock.set(at("2026-11-30T15:08:00Z"));
    let report = app.reconcile_now().await;

    assert_eq!(report.settled, 1, "{report:?}");
    // Found by what it is, not by place: the app's matcher may already have
    // booked the request's next call after it.
    let calls = calls_of(&app, &created).await;
    let call_back = calls
        .iter()
        .find(|call| call["inbound"] == true)
        .expect("the call-back");
    assert_eq!(call_back["outcome"], "mentor_no_answer", "{call_back}");
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled", "{request}");
    assert_eq!(request["attempts"], 1);
    app.stop().await;
}

#[tokio::test]
async fn the_simulation_plays_a_seeker_who_misses_the_call_and_calls_back() {
    let script = SimulatedProvider::script_for("seeker_calls_back").expect("a known outcome");
    let app = TestApp::spawn_with(crate::helpers::default_now(), |config| {
        config.provider = std::sync::Arc::new(SimulatedProvider::new(script, Pace::Instant));
    })
    .await;
    let (_, created) = booked_call(&app, "10:15").await;
    // The clock stands still while the simulation plays: half a minute into the
    // slot, as a miss and a call back take at least that.
    app.clock.set(at("2026-11-30T15:00:30Z"));
    app.dispatch_due().await;

    // The simulation plays in the background: wait (boundedly) for its end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let calls = loop {
        let calls = calls_of(&app, &created).await;
        if calls
            .iter()
            .any(|call| call["inbound"] == true && !call["outcome"].is_null())
        {
            break calls;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no call-back ended: {calls:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(calls[0]["outcome"], "seeker_no_answer");
    let call_back = calls.last().expect("the call-back");
    assert_eq!(call_back["outcome"], "completed", "{calls:?}");
    assert_eq!(call_back["talk_seconds"], 360);
    assert_eq!(app.request_as_seeker(&created).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn two_seekers_calling_back_one_mentor_at_once_are_put_through_one_at_a_time() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: PRESSES_ONE,
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    // Ada at 10:00 and Alan at 10:15 both miss their calls; the commute runs
    // to 10:30, so neither has a slot left for a second try.
    let (ada_call, ada) = booked_call(&app, "10:30").await;
    let alan = app
        .create_request(&request_body("Alan Turing", OTHER_SEEKER_PHONE))
        .await;
    app.settle().await;
    let alan_call = app.request_as_seeker(&alan).await["call"]["id"]
        .as_i64()
        .expect("Alan's call");
    for (slot, plays) in [(FIRST_SLOT, 1), (SECOND_SLOT, 2)] {
        app.clock.set(at(slot));
        app.dispatch_due().await;
        fake.wait_for_plays(plays).await;
    }
    let mentor_id = MentorId(
        call(&app, ada_call).await["mentor_id"]
            .as_i64()
            .expect("id"),
    );
    let now = at("2026-11-30T15:20:00Z");
    let call_back = |request: &Value, missed: i64, sid: &'static str| NewCallBack {
        request_id: RequestId(request["id"].as_i64().expect("request id")),
        missed: CallId(missed),
        mentor_id,
        provider_call_sid: sid,
        ends_at: now + chrono::TimeDelta::minutes(15),
    };
    let (first, second) = (
        call_back(&ada, ada_call, "CA000000000000000000000000000000a1"),
        call_back(&alan, alan_call, "CA000000000000000000000000000000a2"),
    );

    // On two connections at once.
    let (a, b) = tokio::join!(
        app.store.start_call_back(first, now),
        app.store
            .start_call_back(second, now + chrono::TimeDelta::milliseconds(1)),
    );

    let put_through: Vec<CallId> = [a.expect("Ada's"), b.expect("Alan's")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        put_through.len(),
        1,
        "one mentor, one call: {put_through:?}"
    );
    let (_, calls) = app
        .get(
            "/api/v1/calls?status=in_progress",
            Some(crate::helpers::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(calls.as_array().map(Vec::len), Some(1), "{calls}");
    app.stop().await;
}

#[tokio::test]
async fn no_call_back_goes_through_beyond_the_providers_concurrent_call_limit() {
    let (app, fake) = TestApp::spawn_with_fake_twilio_and(|config| {
        // A provider limit of two live calls: one bridged call at a time.
        config.policy.calls_at_once = Some(1);
    })
    .await;
    // Another mentor's call with Alan is booked for 10:15, inside the 15 minutes
    // a call-back at 10:05 would take; then Ada misses her 10:00 call.
    let (linus, _) = app
        .create_mentor(&crate::helpers::mentor_body(
            "Linus Pauling",
            "+12015550111",
        ))
        .await;
    app.add_window(
        linus,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:15", "end": "10:30" }),
    )
    .await;
    let alan = app
        .create_request(&request_body("Alan Turing", OTHER_SEEKER_PHONE))
        .await;
    app.settle().await;
    assert_eq!(
        app.request_as_seeker(&alan).await["call"]["starts_at"],
        SECOND_SLOT
    );
    let (_, ada) = missed_call(&app, &fake, "10:15").await;

    let report = ring_the_service(
        &app,
        &fake,
        "2026-11-30T15:05:00Z",
        SEEKER_PHONE,
        call_back_where_mentor(PRESSES_ONE),
    )
    .await;

    assert_eq!(report.dialed, None, "not put through");
    assert!(
        report.heard[0].contains("Grace can't take a call right now"),
        "{:?}",
        report.heard
    );
    assert!(
        calls_of(&app, &ada)
            .await
            .iter()
            .all(|call| call["inbound"] == false)
    );
    app.stop().await;
}
