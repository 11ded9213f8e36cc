//! `ridealong serve` as deployed against Twilio, configured only through its
//! environment: a call booked into a window that is open now is placed in real
//! time through `TWILIO_API_BASE` (a fake Twilio), which plays it back against the
//! webhooks at `RIDEALONG_PUBLIC_URL`, signed with `TWILIO_AUTH_TOKEN`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::served::{Served, WindowOpeningNow, every_day, serve_with_fake_twilio};
use crate::helpers::{ADMIN_TOKEN, SERVICE_NUMBER, TestDb};
use ridealong::telephony::player::CallScript;

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";

/// A port that was free a moment ago, for a public URL known before start.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = match body {
        Some(body) => client.post(format!("{base}{path}")).json(&body),
        None => client.get(format!("{base}{path}")),
    };
    let response = request
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("the app answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_twilio_places_a_booked_call_through_the_configured_api() {
    let db = TestDb::create().await;
    let fake = FakeTwilio::start().await;
    fake.script_for(MENTOR_PHONE, CallScript::default());
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");

    let mut command = serve_with_fake_twilio(db.url(), &fake, &public_url);
    command
        .env("RIDEALONG_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info");
    let mut served = Served::start(command);
    served.listening_address(Duration::from_secs(30)).await;

    // A window that opens now, in a zone where that is calling hours.
    let opening = WindowOpeningNow::find();
    let zone = opening.zone;
    let http = reqwest::Client::new();
    let mentor = json!({ "name": "Grace Hopper", "phone": MENTOR_PHONE, "timezone": zone.name() });
    let (status, mentor) = send(&http, &public_url, "/api/v1/mentors", Some(mentor)).await;
    assert_eq!(status, StatusCode::CREATED, "{mentor}");
    let path = format!("/api/v1/mentors/{}/windows", mentor["id"]);
    let (status, window) = send(&http, &public_url, &path, Some(opening.body())).await;
    assert_eq!(status, StatusCode::CREATED, "{window}");
    let request = json!({
        "name": "Ada Lovelace",
        "phone": SEEKER_PHONE,
        "timezone": zone.name(),
        "topic": "interviews",
        "message": "I could use a second opinion on my approach.",
        "availability": every_day(),
        "consent": true,
    });
    let (status, created) = send(&http, &public_url, "/api/v1/requests", Some(request)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // The matcher books it and the dispatcher places it, on their own.
    let reports = fake.wait_for_plays(1).await;
    let mentor_leg = &fake.created_calls()[0];
    assert_eq!(
        (mentor_leg.to.as_str(), mentor_leg.from.as_str()),
        (MENTOR_PHONE, SERVICE_NUMBER)
    );
    let seeker_leg = reports[0].dialed.as_ref().expect("the seeker was dialed");
    assert_eq!(
        (seeker_leg.number.as_str(), seeker_leg.caller_id.as_str()),
        (SEEKER_PHONE, SERVICE_NUMBER)
    );
    assert!(
        reports[0]
            .requests
            .iter()
            .all(|hit| (200..300).contains(&hit.status)),
        "every signed webhook was accepted: {:?}",
        reports[0].requests
    );

    let (status, call) = send(&http, &public_url, "/api/v1/calls/1", None).await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["outcome"], "completed", "{call}");
    assert_eq!(call["talk_seconds"], 60);
    assert_eq!(call["provider_call_sid"], mentor_leg.sid.as_str());
    let log = served.log();
    assert!(
        !log.contains("5550123") && !log.contains("5550199"),
        "a number reached the log:\n{log}"
    );

    let exit = served.terminate(Duration::from_secs(20)).await;
    assert!(
        exit.success(),
        "serve exited with {exit}:\n{}",
        served.log()
    );
}
