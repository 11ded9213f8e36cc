//! Reminders before a call (issue 15): the seeker is texted
//! `RIDEALONG_REMINDER_MINUTES` before the call, pulled back to the last
//! calling-hours minute, with the time in their zone, the mentor's first name,
//! the service number and, at a public URL, a manage link that works for a few
//! days. None for a call canceled or moved before then (the moved call gets its
//! own), none to an opted-out number, none with reminders off, and one per call
//! however many instances send and restart.
//!
//! The clock is the app's [`ManualClock`](ridealong::clock::ManualClock): "now"
//! starts at Monday 2026-11-30 12:00 UTC and each test moves it; Twilio is the
//! fake, so every text is counted where it arrives.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::{FakeMessage, FakeTwilio};
use crate::helpers::{
    ADMIN_TOKEN, SERVICE_NUMBER, TestApp, at, default_now, mentor_body, test_config, twilio_client,
};
use ridealong::app::{App, AppConfig};
use ridealong::clock::ManualClock;
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+442079460958";
const SMS_PATH: &str = "/telephony/twilio/sms";
/// How every reminder's text begins.
const REMINDER: &str = "ridealong reminder:";
/// The public URL of the tests that look at manage links.
const PUBLIC_URL: &str = "https://ridealong.example.org";

/// An app on the fake Twilio with reminders `minutes` ahead, otherwise as
/// `configure` says.
async fn app_reminding(
    minutes: i64,
    configure: impl FnOnce(&mut AppConfig),
) -> (TestApp, FakeTwilio) {
    TestApp::spawn_with_fake_twilio_and(|config| {
        config.reminder_lead = TimeDelta::minutes(minutes);
        configure(config);
    })
    .await
}

/// Grace Hopper in New York, calling on weekdays `start`-`end` her time.
async fn mentor(app: &TestApp, start: &str, end: &str) -> i64 {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": start, "end": end }),
    )
    .await;
    mentor_id
}

/// Ada Lovelace in `zone` asks for a call; the matcher books it and the call
/// starts at `expected`. Returns the created request.
async fn seeker_booked(app: &TestApp, zone: &str, expected: &str) -> Value {
    let created = app
        .create_request(&json!({
            "name": "Ada Lovelace",
            "phone": SEEKER_PHONE,
            "timezone": zone,
            "topic": "interviews",
            "message": "I keep getting stuck at the final round.",
            "consent": true,
        }))
        .await;
    app.settle().await;
    assert_eq!(
        app.request_as_seeker(&created).await["call"]["starts_at"],
        expected
    );
    created
}

/// The London seeker booked with the New York mentor's 10:00 slot: Monday
/// 2026-11-30 15:00 UTC (3 PM in London).
async fn booked(app: &TestApp) -> Value {
    mentor(app, "10:00", "10:30").await;
    seeker_booked(app, "Europe/London", "2026-11-30T15:00:00Z").await
}

fn reminders_in(messages: &[FakeMessage]) -> Vec<FakeMessage> {
    messages
        .iter()
        .filter(|message| message.body.starts_with(REMINDER))
        .cloned()
        .collect()
}

/// The reminders the fake has accepted so far, to anyone.
fn reminders(fake: &FakeTwilio) -> Vec<FakeMessage> {
    reminders_in(&fake.messages())
}

/// Moves the clock to `instant` and runs a notifier pass: every notice due by
/// then has gone (or been skipped) when it returns, whichever pass took it.
async fn notify_at(app: &TestApp, instant: DateTime<Utc>) {
    app.clock.set(instant);
    app.notify_due().await;
}

/// The `ridealong_reminders_total` sample for `result`, from `GET /metrics`.
async fn reminders_counted(app: &TestApp, result: &str) -> u64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics body");
    let prefix = format!("ridealong_reminders_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
        .parse()
        .expect("a count")
}

/// The path (`/r/…`) and token of the manage link in `text`.
fn manage_link_in(text: &str) -> (String, String) {
    let start = text
        .find(PUBLIC_URL)
        .unwrap_or_else(|| panic!("no link in {text}"));
    let link = text[start..].split_whitespace().next().expect("a link");
    let path = link.strip_prefix(PUBLIC_URL).expect("under the public URL");
    let token = path.strip_prefix("/r/").expect("a manage page path");
    (path.to_owned(), token.to_owned())
}

#[tokio::test]
async fn a_reminder_goes_its_lead_before_the_call_in_the_seekers_zone_from_the_service_number() {
    let (app, fake) = app_reminding(15, |_| {}).await;
    booked(&app).await;
    notify_at(&app, at("2026-11-30T14:44:00Z")).await;
    assert_eq!(fake.messages().len(), 2, "the two booking texts");
    assert!(
        reminders(&fake).is_empty(),
        "not yet: {:?}",
        fake.messages()
    );

    notify_at(&app, at("2026-11-30T14:45:00Z")).await;
    let sent = reminders(&fake);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let reminder = &sent[0];
    assert_eq!(reminder.to, SEEKER_PHONE);
    assert_eq!(reminder.from, SERVICE_NUMBER);
    let text = &reminder.body;
    assert!(text.contains("Mon Nov 30, 3:00 PM GMT"), "{text}");
    assert!(text.contains("Grace") && !text.contains("Hopper"), "{text}");
    assert!(
        text.contains(&format!("from {SERVICE_NUMBER}")),
        "the seeker learns which number calls: {text}"
    );
    assert!(
        !text.contains("5550123"),
        "never the mentor's number: {text}"
    );
    assert!(!text.contains("http"), "no public URL set, no link: {text}");

    notify_at(&app, at("2026-11-30T14:50:00Z")).await;
    assert_eq!(reminders(&fake).len(), 1, "one reminder per call");
    assert_eq!(reminders_counted(&app, "sent").await, 1);
    assert_eq!(reminders_counted(&app, "skipped").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_canceled_call_gets_no_reminder() {
    let (app, fake) = app_reminding(15, |_| {}).await;
    let created = booked(&app).await;
    let path = format!(
        "/api/v1/requests/{}?token={}",
        created["id"],
        created["manage_token"].as_str().expect("manage token")
    );
    let (status, _) = app.delete(&path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    notify_at(&app, at("2026-11-30T14:45:00Z")).await;
    notify_at(&app, at("2026-11-30T14:55:00Z")).await;
    let to_seeker = fake.texts_to(SEEKER_PHONE);
    assert_eq!(to_seeker.len(), 2, "booked, canceled: {to_seeker:?}");
    assert!(
        to_seeker[1].body.contains("canceled"),
        "{}",
        to_seeker[1].body
    );
    assert!(reminders(&fake).is_empty(), "{to_seeker:?}");
    assert_eq!(reminders_counted(&app, "skipped").await, 1);
    assert_eq!(reminders_counted(&app, "sent").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_moved_call_is_reminded_once_at_its_new_time_and_the_old_one_not_at_all() {
    let (app, fake) = app_reminding(15, |_| {}).await;
    // The seeker misses the Monday call before its reminder went (the notifier
    // was behind): it is rebooked to Tuesday.
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::NoAnswer,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    // A window of one call, so that no second try fits in the same commute.
    mentor(&app, "10:00", "10:15").await;
    let created = seeker_booked(&app, "Europe/London", "2026-11-30T15:00:00Z").await;
    app.clock.set(at("2026-11-30T15:00:00Z"));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.settle().await;
    assert_eq!(
        app.request_as_seeker(&created).await["call"]["starts_at"],
        "2026-12-01T15:00:00Z"
    );
    app.notify_due().await;
    assert!(
        reminders(&fake).is_empty(),
        "the Monday call's reminder did not go once its call had begun"
    );
    assert_eq!(reminders_counted(&app, "skipped").await, 1);

    notify_at(&app, at("2026-12-01T14:44:00Z")).await;
    assert!(reminders(&fake).is_empty());
    notify_at(&app, at("2026-12-01T14:45:00Z")).await;
    let sent = reminders(&fake);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].body.contains("Tue Dec 1, 3:00 PM GMT"),
        "{}",
        sent[0].body
    );
    assert_eq!(reminders_counted(&app, "sent").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_opted_out_number_gets_no_reminder() {
    let (app, fake) = app_reminding(15, |_| {}).await;
    booked(&app).await;
    let stop = [
        ("From", SEEKER_PHONE),
        ("To", SERVICE_NUMBER),
        ("Body", "STOP"),
        ("MessageSid", "SM1"),
    ];
    let (status, _) = app
        .post_webhook(fake.auth_token(), SMS_PATH, &stop, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    notify_at(&app, at("2026-11-30T14:45:00Z")).await;
    assert!(
        reminders(&fake).is_empty(),
        "{:?}",
        fake.texts_to(SEEKER_PHONE)
    );
    assert_eq!(
        fake.message_posts(),
        fake.messages().len(),
        "nothing was even tried at the provider"
    );
    assert_eq!(reminders_counted(&app, "opted_out").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_reminder_before_calling_hours_goes_at_the_last_calling_minute_the_evening_before() {
    let (app, fake) = app_reminding(15, |_| {}).await;
    // The New York seeker's call is at 08:00 on Tuesday (13:00Z): 07:45 is
    // outside calling hours, so the reminder goes at 20:59 on Monday (01:59Z).
    mentor(&app, "08:00", "08:30").await;
    seeker_booked(&app, "America/New_York", "2026-12-01T13:00:00Z").await;

    notify_at(&app, at("2026-12-01T01:58:59Z")).await;
    assert!(reminders(&fake).is_empty(), "{:?}", fake.messages());
    notify_at(&app, at("2026-12-01T01:59:00Z")).await;
    let sent = reminders(&fake);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].body.contains("Tue Dec 1, 8:00 AM EST"),
        "names the day, as it goes the evening before: {}",
        sent[0].body
    );
    notify_at(&app, at("2026-12-01T12:45:00Z")).await;
    assert_eq!(reminders(&fake).len(), 1, "not again at 07:45");
    app.stop().await;
}

#[tokio::test]
async fn a_call_booked_closer_than_the_lead_gets_no_reminder() {
    let (app, fake) = app_reminding(15, |config| {
        config.policy.min_notice = TimeDelta::zero();
    })
    .await;
    // Monday 12:00Z is noon in London: a window opening at 12:05 London time
    // is booked five minutes ahead, inside the 15-minute lead.
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon"], "start": "12:05", "end": "12:35", "timezone": "Europe/London" }),
    )
    .await;
    seeker_booked(&app, "Europe/London", "2026-11-30T12:05:00Z").await;

    notify_at(&app, at("2026-11-30T12:04:00Z")).await;
    assert_eq!(
        fake.texts_to(SEEKER_PHONE).len(),
        1,
        "the booking text only"
    );
    assert!(reminders(&fake).is_empty());
    assert_eq!(reminders_counted(&app, "skipped").await, 0, "none queued");
    app.stop().await;
}

#[tokio::test]
async fn reminders_off_send_nothing() {
    let (app, fake) = app_reminding(0, |_| {}).await;
    booked(&app).await;
    for instant in ["2026-11-30T14:45:00Z", "2026-11-30T14:59:00Z"] {
        notify_at(&app, at(instant)).await;
    }
    assert!(reminders(&fake).is_empty(), "{:?}", fake.messages());
    assert_eq!(
        fake.messages().len(),
        2,
        "the booking texts only: {:?}",
        fake.messages()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_reminders_manage_link_opens_the_request_for_a_few_days_only() {
    let (app, fake) = app_reminding(15, |config| {
        config.public_url = Some(PUBLIC_URL.to_owned());
    })
    .await;
    let created = booked(&app).await;
    // Another seeker's request, which the link must not open.
    let other = app
        .create_request(&crate::helpers::request_body("Alan Turing", "+12015550177"))
        .await;
    notify_at(&app, at("2026-11-30T14:45:00Z")).await;
    let sent = reminders(&fake);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (path, token) = manage_link_in(&sent[0].body);
    assert_ne!(
        token,
        created["manage_token"].as_str().expect("token"),
        "a token of its own: the request's is stored hashed only"
    );

    // The manage page, on the app's own address.
    let page = app.http.get(app.url(&path)).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("page body");
    assert!(html.contains("Grace") && !html.contains("Hopper"), "{html}");
    // The API takes it wherever a manage token goes.
    let id = created["id"].as_i64().expect("id");
    let (status, seen) = app
        .get(&format!("/api/v1/requests/{id}?token={token}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["call"]["starts_at"], "2026-11-30T15:00:00Z");
    let (status, _) = app
        .get(&format!("/api/v1/requests/{}", other["id"]), Some(&token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not another request");

    // Three days on it opens nothing; the request's own token still works.
    app.clock.set(at("2026-12-03T14:45:00Z"));
    let page = app.http.get(app.url(&path)).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(&format!("/api/v1/requests/{id}?token={token}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(
            &format!(
                "/api/v1/requests/{id}?token={}",
                created["manage_token"].as_str().expect("token")
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_manage_link_cancels_the_call_and_stops_working_once_the_data_is_erased() {
    let (app, fake) = app_reminding(15, |config| {
        config.public_url = Some(PUBLIC_URL.to_owned());
    })
    .await;
    let created = booked(&app).await;
    notify_at(&app, at("2026-11-30T14:45:00Z")).await;
    let (path, token) = manage_link_in(&reminders(&fake)[0].body);
    let id = created["id"].as_i64().expect("id");

    let (status, _) = app
        .delete(&format!("/api/v1/requests/{id}?token={token}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, seen) = app
        .get(&format!("/api/v1/requests/{id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(seen["status"], "canceled");
    let page = app.http.get(app.url(&path)).send().await.expect("page");
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the canceled request still shows"
    );

    let (status, _) = app
        .delete(
            &format!("/api/v1/requests/{id}?erase=true&token={token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let page = app.http.get(app.url(&path)).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::NOT_FOUND, "erased with the data");
    app.stop().await;
}

/// Mentors and seekers of the test across instances: four New York mentors
/// with six 15-minute slots each on Monday, 15:00Z to 16:15Z, and a seeker for
/// every slot.
const MENTORS: u32 = 4;
const CROWD: u32 = MENTORS * 6;

fn crowd_phone(n: u32) -> String {
    format!("+1201555{:04}", 100 + n)
}

/// A second instance of the service on `app`'s database, texting through `fake`
/// with reminders `lead` ahead, on a clock of its own at `now`.
async fn second_instance(
    app: &TestApp,
    fake: &FakeTwilio,
    lead: TimeDelta,
    now: DateTime<Utc>,
) -> (App, ManualClock) {
    let clock = ManualClock::new(now);
    let mut config = test_config();
    config.provider = Arc::new(twilio_client(fake, ridealong::telephony::REQUEST_TIMEOUT));
    config.reminder_lead = lead;
    let other = App::start(
        ridealong::store::Store::connect(app.database_url())
            .await
            .expect("connect"),
        config,
        Arc::new(clock.clone()),
    )
    .await
    .expect("second instance starts");
    (other, clock)
}

/// Sets both instances' clocks to `instant` and runs a few passes of both
/// notifiers at once (their own loops run beside them).
async fn both_send_at(app: &TestApp, other: &App, other_clock: &ManualClock, instant: &str) {
    app.clock.set(at(instant));
    other_clock.set(at(instant));
    for _ in 0..5 {
        let (_, theirs) = tokio::join!(app.notify_due(), other.notify_due());
        theirs.expect("the second instance's pass");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_and_a_restart_text_each_reminder_once() {
    // Two hours ahead, so every reminder (13:00Z to 14:15Z) is due before the
    // first call starts.
    let lead = TimeDelta::minutes(120);
    let (app, fake) = app_reminding(120, |_| {}).await;
    for m in 0..MENTORS {
        let phone = format!("+1201555{:04}", 9000 + m);
        let (mentor_id, _) = app
            .create_mentor(&mentor_body(&format!("Mentor {m}"), &phone))
            .await;
        app.add_window(
            mentor_id,
            &json!({ "weekdays": ["mon"], "start": "10:00", "end": "11:30" }),
        )
        .await;
    }
    for n in 0..CROWD {
        let mut body = crate::helpers::request_body(&format!("Seeker {n}"), &crowd_phone(n));
        body["timezone"] = json!("America/New_York");
        app.create_request(&body).await;
    }
    app.settle().await;
    let (_, calls) = app.get("/api/v1/calls?limit=100", Some(ADMIN_TOKEN)).await;
    assert_eq!(
        calls.as_array().map(Vec::len),
        Some(CROWD as usize),
        "{calls}"
    );
    let (other, other_clock) = second_instance(&app, &fake, lead, default_now()).await;

    // At 14:00 the reminders of the calls up to 16:00Z are due: 5 slots a mentor.
    both_send_at(&app, &other, &other_clock, "2026-11-30T14:00:00Z").await;
    assert_eq!(reminders(&fake).len(), (MENTORS * 5) as usize);

    // At 14:50 the first instance claims the last ones and dies before sending
    // them; it is started again. Nobody sends them while its claim holds. The
    // claim is made before the app's clock moves, so that the app's own
    // notifier loop cannot take them first.
    let held = app
        .store
        .claim_notices(at("2026-11-30T14:50:00Z"), at("2026-11-30T14:52:00Z"), 100)
        .await
        .expect("claim");
    assert_eq!(held.len(), MENTORS as usize, "{held:?}");
    app.clock.set(at("2026-11-30T14:50:00Z"));
    let app = app
        .restart_with(|config| {
            config.provider = Arc::new(twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT));
            config.reminder_lead = lead;
        })
        .await;
    both_send_at(&app, &other, &other_clock, "2026-11-30T14:51:59Z").await;
    assert_eq!(reminders(&fake).len(), (MENTORS * 5) as usize);
    // Once the dead claim runs out, the two instances send them, once.
    both_send_at(&app, &other, &other_clock, "2026-11-30T14:52:00Z").await;

    let sent = reminders(&fake);
    for n in 0..CROWD {
        let phone = crowd_phone(n);
        let to_them = sent.iter().filter(|message| message.to == phone).count();
        assert_eq!(to_them, 1, "{phone} got {to_them} reminders: {sent:?}");
    }
    assert_eq!(
        fake.message_posts(),
        fake.messages().len(),
        "no text was refused and sent again"
    );
    other.stop().await;
    app.stop().await;
}
