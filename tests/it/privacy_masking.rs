//! Masking holds everywhere: over one mentor's life with two seekers (a call
//! booked, missed and moved, then completed; a second call booked and canceled),
//! nothing a seeker receives holds the mentor's number in any format or their
//! last name, and nothing the mentor receives holds a seeker's number or last
//! name. Both hear the phone ring from the service number.
//!
//! What each side receives, gathered in one place and scanned with
//! [`Secrets`] (a number is found in any format down to its last
//! seven digits):
//! - seeker: every SMS, the manage page (`/r/{token}`) while booked, after the
//!   call and after cancelling, `GET /api/v1/requests/{id}?token=`, and the caller
//!   ID of the bridged leg, also read straight from the `<Dial callerId>` TwiML;
//! - mentor: every SMS (the sign-in code too), the caller ID of the call placed to
//!   them, what they hear when they answer, the dashboard (`/mentor`) with an
//!   upcoming and a past call, the calendar feed, `GET /api/v1/calls?mentor_id=`,
//!   `GET /api/v1/calls/{id}` with its event log and `GET /api/v1/mentors/{id}`.
//!
//! Detail checks of single surfaces live beside them: `notices` (notice wording
//! per zone), `pages_seeker` and `pages_mentor` (page content, first names),
//! `call_flow` (the announcement, the event log).
//! The seeker's API view names the mentor in full (`call.mentor_name`, as
//! documented), so only numbers are looked for there.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::{FakeMessage, FakeTwilio};
use crate::helpers::privacy::{Browser, Secrets, code_in};
use crate::helpers::{SERVICE_NUMBER, TestApp, at};
use ridealong::telephony::player::{CallScript, MentorScript, PlayReport, SeekerScript};
use ridealong::telephony::twilio::signature;

const MENTOR_PHONE: &str = "+14155550123";
/// As the operator typed it: national format, read in the mentor's zone's country.
const MENTOR_PHONE_TYPED: &str = "(415) 555-0123";

/// The seeker whose call is missed once, then takes place.
const ADA_PHONE: &str = "+13125550177";
const ADA_PHONE_TYPED: &str = "(312) 555-0177";
/// The seeker who cancels.
const ALAN_PHONE: &str = "+13125550188";
const ALAN_PHONE_TYPED: &str = "312.555.0188";

/// Monday 2026-11-30 10:00 in New York (09:00 in Chicago): the first slot.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// Monday 10:15 in New York: the same commute's next slot, where the missed call
/// gets its second try.
const SECOND_TRY_SLOT: &str = "2026-11-30T15:15:00Z";

const PRESSES_ONE: MentorScript = MentorScript::Answers { presses: Some('1') };

/// What a seeker must never receive.
fn seeker_must_not_see() -> Secrets {
    let mut secrets = Secrets::new();
    secrets
        .phone("the mentor's number", MENTOR_PHONE)
        .text("the mentor's last name", "Hopper");
    secrets
}

/// What the mentor must never receive.
fn mentor_must_not_see() -> Secrets {
    let mut secrets = Secrets::new();
    secrets
        .phone("Ada's number", ADA_PHONE)
        .phone("Alan's number", ALAN_PHONE)
        .text("Ada's last name", "Lovelace")
        .text("Alan's last name", "Turing");
    secrets
}

fn request(name: &str, phone: &str) -> Value {
    json!({
        "name": name,
        "phone": phone,
        "timezone": "America/Chicago",
        "topic": "interviews",
        "message": "I have applied for months and I am stuck.",
        "consent": true,
    })
}

/// A request, submitted and pending.
struct Submitted {
    id: i64,
    manage_token: String,
}

impl Submitted {
    /// The seeker's API view of it.
    fn api_path(&self) -> String {
        format!("/api/v1/requests/{}?token={}", self.id, self.manage_token)
    }

    /// The seeker's manage page.
    fn page_path(&self) -> String {
        format!("/r/{}", self.manage_token)
    }
}

/// Submits `body` as a seeker and makes the request pending. Today a new request
/// is pending at once; once phone confirmation is on (`RIDEALONG_CONFIRM_PHONE`,
/// the default to be) this is where the code texted to `_fake` is posted to
/// `/api/v1/requests/{id}/confirm`.
async fn submit_pending_request(app: &TestApp, _fake: &FakeTwilio, body: &Value) -> Submitted {
    let created = app.create_request(body).await;
    assert_eq!(
        created["status"], "pending",
        "a new request is pending at once; if it is unconfirmed now, confirm it \
         here with the texted code: {created}"
    );
    Submitted {
        id: created["id"].as_i64().expect("request id"),
        manage_token: created["manage_token"]
            .as_str()
            .expect("manage token")
            .to_owned(),
    }
}

/// A New York mentor, Grace Hopper, with a weekday 10:00–10:30 window, signed in
/// on the web with the code texted to her; returns (id, API token, browser).
async fn signed_in_mentor(app: &TestApp, fake: &FakeTwilio) -> (i64, String, Browser) {
    let (id, token) = app
        .create_mentor(&json!({
            "name": "Grace Hopper",
            "phone": MENTOR_PHONE_TYPED,
            "timezone": "America/New_York",
            "topics": ["interviews"],
        }))
        .await;
    app.add_window(
        id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let browser = Browser::new(&app.base);
    browser.get("/mentor/sign-in").await;
    let texts_before = fake.texts_to(MENTOR_PHONE).len();
    let (status, _, _) = browser
        .submit("/mentor/sign-in", &[("phone", "+1 415 555 0123")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let texts = fake.wait_for_texts_to(MENTOR_PHONE, texts_before + 1).await;
    let code = code_in(&texts.last().expect("the code was texted").body);
    let (status, _, _) = browser
        .submit(
            "/mentor/sign-in/code",
            &[("phone", MENTOR_PHONE), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    (id, token, browser)
}

/// Moves the clock to `slot`, places the due call and waits until the fake has
/// played `plays` calls in all; then lets the matcher and the notifier catch up.
async fn ring(app: &TestApp, fake: &FakeTwilio, slot: &str, plays: usize) -> PlayReport {
    app.clock.set(at(slot));
    let placed = app.dispatch_due().await;
    assert_eq!(placed.placed, 1, "{placed:?}");
    let report = fake
        .wait_for_plays(plays)
        .await
        .pop()
        .expect("a played call");
    app.settle().await;
    app.notify_due().await;
    report
}

/// What one side received, each piece named for the failure message.
#[derive(Default)]
struct Received(Vec<(String, String)>);

impl Received {
    fn add(&mut self, what: impl Into<String>, content: impl Into<String>) {
        self.0.push((what.into(), content.into()));
    }

    fn texts(&mut self, messages: &[FakeMessage], number: &str) {
        for (index, message) in messages.iter().filter(|m| m.to == number).enumerate() {
            assert_eq!(message.from, SERVICE_NUMBER, "{message:?}");
            self.add(format!("SMS #{index} to {number}"), message.body.clone());
        }
    }

    fn assert_clean(&self, secrets: &Secrets) {
        assert!(!self.0.is_empty());
        for (what, content) in &self.0 {
            secrets.assert_absent(what, content);
        }
    }
}

/// `GET path` with `token`, as JSON text; fails unless 200.
async fn api_text(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let (status, body) = app.get(path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body.to_string()
}

/// `GET path` in `browser`, as HTML; fails unless 200.
async fn page(browser: &Browser, path: &str) -> String {
    let (status, html) = browser.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    html
}

#[tokio::test]
async fn neither_side_ever_receives_the_others_number_or_last_name() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (mentor_id, mentor_token, mentor_web) = signed_in_mentor(&app, &fake).await;
    let mut seeker_got = Received::default();
    let mut mentor_got = Received::default();
    let seeker_web = Browser::new(&app.base);

    // Ada is booked into Monday's slot and misses the call; it moves to Tuesday.
    let ada = submit_pending_request(&app, &fake, &request("Ada Lovelace", ADA_PHONE_TYPED)).await;
    app.settle().await;
    app.notify_due().await;
    let booked = app.get(&ada.api_path(), None).await.1;
    assert_eq!(booked["call"]["starts_at"], FIRST_SLOT, "{booked}");
    let first_call = booked["call"]["id"].as_i64().expect("call id");
    seeker_got.add(
        "Ada's manage page, booked",
        page(&seeker_web, &ada.page_path()).await,
    );
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: PRESSES_ONE,
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    let missed = ring(&app, &fake, FIRST_SLOT, 1).await;
    let moved = app.get(&ada.api_path(), None).await.1;
    assert_eq!(moved["call"]["starts_at"], SECOND_TRY_SLOT, "{moved}");
    let second_call = moved["call"]["id"].as_i64().expect("call id");
    seeker_got.add(
        "Ada's manage page, moved",
        page(&seeker_web, &ada.page_path()).await,
    );

    // At 10:15 she answers.
    fake.script_for(MENTOR_PHONE, CallScript::default());
    let completed = ring(&app, &fake, SECOND_TRY_SLOT, 2).await;
    assert_eq!(
        app.get(&ada.api_path(), None).await.1["status"],
        "completed"
    );

    // Alan is booked, the mentor sees the upcoming call, then Alan cancels.
    let alan = submit_pending_request(&app, &fake, &request("Alan Turing", ALAN_PHONE_TYPED)).await;
    app.settle().await;
    app.notify_due().await;
    let booked = app.get(&alan.api_path(), None).await.1;
    assert_eq!(booked["status"], "scheduled", "{booked}");
    let third_call = booked["call"]["id"].as_i64().expect("call id");
    seeker_got.add("Alan's API view, booked", booked.to_string());
    seeker_got.add(
        "Alan's manage page, booked",
        page(&seeker_web, &alan.page_path()).await,
    );
    let dashboard = page(&mentor_web, "/mentor").await;
    assert!(
        dashboard.contains("Alan") && dashboard.contains("Ada"),
        "an upcoming and a past call: {dashboard}"
    );
    mentor_got.add("the dashboard with Alan's call upcoming", dashboard);
    let (status, _, html) = mentor_web.submit("/mentor/calendar", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find("/calendar/rac_").expect("the calendar link");
    let end = start + html[start..].find(".ics").expect("the link's end") + ".ics".len();
    let calendar = page(&mentor_web, &html[start..end]).await;
    assert!(calendar.contains("Alan"), "{calendar}");
    mentor_got.add("the calendar feed with Alan's call", calendar);
    let (status, _) = app.delete(&alan.api_path(), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.notify_due().await;

    // The seeker side: texts, pages, API views and the caller ID of the bridge.
    let messages = fake.messages();
    for (seeker, number) in [("Ada", ADA_PHONE), ("Alan", ALAN_PHONE)] {
        let before = seeker_got.0.len();
        seeker_got.texts(&messages, number);
        assert!(seeker_got.0.len() > before, "{seeker} was texted");
    }
    seeker_got.add(
        "Ada's API view",
        api_text(&app, &ada.api_path(), None).await,
    );
    seeker_got.add(
        "Ada's manage page",
        page(&seeker_web, &ada.page_path()).await,
    );
    seeker_got.add(
        "Alan's API view",
        api_text(&app, &alan.api_path(), None).await,
    );
    seeker_got.add(
        "Alan's manage page",
        page(&seeker_web, &alan.page_path()).await,
    );
    for report in [&missed, &completed] {
        let leg = report.dialed.as_ref().expect("the seeker was dialed");
        assert_eq!(leg.number, ADA_PHONE);
        assert_eq!(leg.caller_id, SERVICE_NUMBER, "the seeker's caller ID");
    }
    let (api_views, received): (Vec<_>, Vec<_>) = seeker_got
        .0
        .into_iter()
        .partition(|(what, _)| what.contains("API view"));
    Received(received).assert_clean(&seeker_must_not_see());
    // The API view names the mentor in full, as documented: numbers only there.
    let mut numbers_only = Secrets::new();
    numbers_only.phone("the mentor's number", MENTOR_PHONE);
    Received(api_views).assert_clean(&numbers_only);

    // The mentor side: texts (the sign-in code too), caller ID, what was said,
    // pages and API views.
    mentor_got.texts(&messages, MENTOR_PHONE);
    let placed = fake.created_calls();
    assert_eq!(placed.len(), 2, "{placed:?}");
    for call in &placed {
        assert_eq!(call.to, MENTOR_PHONE);
        assert_eq!(call.from, SERVICE_NUMBER, "the mentor's caller ID");
    }
    for (index, report) in [&missed, &completed].iter().enumerate() {
        mentor_got.add(
            format!("what the mentor heard on call #{index}"),
            report.heard.join("\n"),
        );
    }
    mentor_got.add("the dashboard", page(&mentor_web, "/mentor").await);
    let token = Some(mentor_token.as_str());
    mentor_got.add(
        "the mentor's call list",
        api_text(&app, &format!("/api/v1/calls?mentor_id={mentor_id}"), token).await,
    );
    for id in [first_call, second_call, third_call] {
        mentor_got.add(
            format!("call {id} with its event log"),
            api_text(&app, &format!("/api/v1/calls/{id}"), token).await,
        );
    }
    mentor_got.add(
        "the mentor's own record",
        api_text(&app, &format!("/api/v1/mentors/{mentor_id}"), token).await,
    );
    mentor_got.assert_clean(&mentor_must_not_see());
    app.stop().await;
}

/// Posts a webhook to `url` signed as the fake Twilio signs it; returns the TwiML.
async fn signed_webhook(
    app: &TestApp,
    fake: &FakeTwilio,
    url: &str,
    params: &[(&str, &str)],
) -> String {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let response = app
        .http
        .post(url)
        .header(
            "X-Twilio-Signature",
            signature::sign(fake.auth_token(), url, &owned),
        )
        .form(&owned)
        .send()
        .await
        .expect("the webhook reaches the app");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.text().await.expect("TwiML")
}

/// The value of `attribute` on the first `<element …>` in `xml`.
fn attribute<'a>(xml: &'a str, element: &str, attribute: &str) -> &'a str {
    let open = xml
        .find(&format!("<{element} "))
        .unwrap_or_else(|| panic!("<{element}> in {xml}"));
    let tag = &xml[open..open + xml[open..].find('>').expect("the tag's end")];
    let start = tag
        .find(&format!(" {attribute}=\""))
        .unwrap_or_else(|| panic!("{attribute} on {tag}"))
        + attribute.len()
        + 3;
    &tag[start..start + tag[start..].find('"').expect("the value's end")]
}

#[tokio::test]
async fn the_bridge_dials_the_seeker_with_the_service_number_as_caller_id_in_its_twiml() {
    // No script: the fake accepts the call and leaves it to this test to answer.
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (id, _) = app
        .create_mentor(&json!({
            "name": "Grace Hopper",
            "phone": MENTOR_PHONE,
            "timezone": "America/New_York",
        }))
        .await;
    app.add_window(
        id,
        &json!({ "weekdays": ["mon"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    submit_pending_request(&app, &fake, &request("Ada Lovelace", ADA_PHONE)).await;
    app.settle().await;
    app.clock.set(at(FIRST_SLOT));
    assert_eq!(app.dispatch_due().await.placed, 1);
    let placed = fake.created_calls();
    let call = &placed[0];
    assert_eq!(
        (call.to.as_str(), call.from.as_str()),
        (MENTOR_PHONE, SERVICE_NUMBER)
    );

    let answer_url = call
        .form
        .iter()
        .find(|(name, _)| name == "Url")
        .map(|(_, url)| url.clone())
        .expect("the call's TwiML URL");
    let leg = [
        ("AccountSid", fake.account_sid()),
        ("CallSid", call.sid.as_str()),
        ("From", SERVICE_NUMBER),
        ("To", MENTOR_PHONE),
        ("Direction", "outbound-api"),
        ("CallStatus", "in-progress"),
    ];
    let announcement = signed_webhook(&app, &fake, &answer_url, &leg).await;
    mentor_must_not_see().assert_absent("the announcement's TwiML", &announcement);
    let gather_url = attribute(&announcement, "Gather", "action").replace("&amp;", "&");
    let mut pressed = leg.to_vec();
    pressed.push(("Digits", "1"));
    let bridge = signed_webhook(&app, &fake, &gather_url, &pressed).await;

    assert_eq!(
        attribute(&bridge, "Dial", "callerId"),
        SERVICE_NUMBER,
        "{bridge}"
    );
    assert!(
        bridge.contains(&format!(">{ADA_PHONE}</Number>")),
        "{bridge}"
    );
    let said: String = bridge
        .split("<Say")
        .skip(1)
        .map(|say| say.split("</Say>").next().unwrap_or_default())
        .collect();
    mentor_must_not_see().assert_absent("what the mentor hears before the bridge", &said);
    app.stop().await;
}
