//! SMS notices through the provider's Messages API: sent from the service number
//! when a call is booked, moved or canceled, each in the reader's own zone, never
//! with the other person's number.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::{FakeMessage, FakeTwilio};
use crate::helpers::{SERVICE_NUMBER, TestApp, at, mentor_body};
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+442079460958";

async fn app_with_twilio() -> (TestApp, FakeTwilio) {
    TestApp::spawn_with_fake_twilio().await
}

/// A New York mentor (weekdays 10:00-10:30) and a London seeker, booked into
/// Monday 2026-11-30 15:00 UTC; returns the created request.
async fn booked(app: &TestApp) -> Value {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(mentor_id, &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }))
        .await;
    let created = app
        .create_request(&json!({
            "name": "Ada Lovelace",
            "phone": "020 7946 0958",
            "timezone": "Europe/London",
            "topic": "interviews",
            "message": "I keep getting stuck at the final round.",
            "consent": true,
        }))
        .await;
    app.settle().await;
    assert_eq!(
        app.request_as_seeker(&created).await["call"]["starts_at"],
        "2026-11-30T15:00:00Z"
    );
    created
}

fn to(messages: &[FakeMessage], number: &str) -> Vec<FakeMessage> {
    messages
        .iter()
        .filter(|message| message.to == number)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_booking_texts_both_people_in_their_own_zone_from_the_service_number() {
    let (app, fake) = app_with_twilio().await;
    booked(&app).await;
    // The notifier's own loop may get there first: count what Twilio received.
    app.notify_due().await;
    assert_eq!(fake.messages().len(), 2);

    let messages = fake.messages();
    assert!(
        messages
            .iter()
            .all(|message| message.from == SERVICE_NUMBER),
        "{messages:?}"
    );
    let seeker = to(&messages, SEEKER_PHONE);
    assert_eq!(seeker.len(), 1, "{messages:?}");
    let text = &seeker[0].body;
    assert!(
        text.contains("Grace") && text.contains("Mon Nov 30, 3:00 PM GMT"),
        "{text}"
    );
    assert!(
        text.contains(SERVICE_NUMBER),
        "the seeker learns which number will call: {text}"
    );
    assert!(
        !text.contains("5550123") && !text.contains("Hopper"),
        "{text}"
    );

    let mentor = to(&messages, MENTOR_PHONE);
    assert_eq!(mentor.len(), 1, "{messages:?}");
    let text = &mentor[0].body;
    assert!(
        text.contains("Ada") && text.contains("interviews"),
        "{text}"
    );
    assert!(text.contains("Mon Nov 30, 10:00 AM EST"), "{text}");
    assert!(
        !text.contains("7946") && !text.contains("Lovelace"),
        "{text}"
    );

    assert_eq!(app.notify_due().await.sent, 0, "each notice goes out once");
    app.stop().await;
}

#[tokio::test]
async fn a_missed_call_rebooked_tells_the_seeker_it_moved() {
    let (app, fake) = app_with_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    let created = booked(&app).await;
    app.notify_due().await;
    app.clock.set(at("2026-11-30T15:00:00Z"));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.settle().await;
    // The second try, in the same commute.
    assert_eq!(
        app.request_as_seeker(&created).await["call"]["starts_at"],
        "2026-11-30T15:15:00Z"
    );
    app.notify_due().await;

    let seeker = to(&fake.messages(), SEEKER_PHONE);
    assert_eq!(seeker.len(), 2, "{seeker:?}");
    assert!(
        seeker[1].body.contains("Mon Nov 30, 3:15 PM GMT"),
        "{}",
        seeker[1].body
    );
    assert!(seeker[1].body.contains("moved"), "{}", seeker[1].body);
    app.stop().await;
}

#[tokio::test]
async fn canceling_a_booked_call_tells_both_people() {
    let (app, fake) = app_with_twilio().await;
    let created = booked(&app).await;
    app.notify_due().await;
    let path = format!(
        "/api/v1/requests/{}?token={}",
        created["id"],
        created["manage_token"].as_str().unwrap()
    );
    let (status, _) = app.delete(&path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.notify_due().await;

    let messages = fake.messages();
    let seeker = to(&messages, SEEKER_PHONE);
    assert!(
        seeker.last().unwrap().body.contains("canceled"),
        "{seeker:?}"
    );
    let mentor = to(&messages, MENTOR_PHONE);
    assert!(
        mentor.last().unwrap().body.contains("canceled"),
        "{mentor:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_number_the_provider_refuses_is_not_texted_again() {
    let (app, fake) = app_with_twilio().await;
    fake.invalid_number(SEEKER_PHONE);
    booked(&app).await;
    // The notifier's own loop may get there first: count what Twilio received.
    app.notify_due().await;
    assert_eq!(fake.message_posts(), 2, "one sent, one refused");
    assert_eq!(fake.messages().len(), 1);
    app.clock.set(at("2026-11-30T13:00:00Z"));
    app.notify_due().await;
    assert_eq!(fake.message_posts(), 2, "given up, not retried");
    app.stop().await;
}
