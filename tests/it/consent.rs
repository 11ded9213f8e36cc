//! Consent over HTTP, with phone confirmation on (the default): a new request is
//! `unconfirmed` and texted a code; only the right code (or a YES reply) makes it
//! `pending`, and only then is it booked; five wrong codes void a code, a code
//! lasts 30 minutes, a request never confirmed expires after a day; STOP silences
//! every text to a number until START, and Twilio's 21610 refusal counts as STOP;
//! the consent record (wording version, source, confirmation) is kept; erasure
//! and retention leave nothing of the seeker in the database.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::privacy::code_in;
use crate::helpers::{
    self, ADMIN_TOKEN, SERVICE_NUMBER, TestApp, default_now, mentor_body, twilio_client,
};
use ridealong::domain::consent::current_wording;
use ridealong::ids::RequestId;
use ridealong::store::Store;
use ridealong::telephony::player::CallScript;

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+442079460958";
const SEEKER_NAME: &str = "Ada Quillfeather";
const SEEKER_MESSAGE: &str = "Tangerine observatory: ninety applications and no answer.";
const SMS_PATH: &str = "/telephony/twilio/sms";

/// The app with confirmation on and Twilio replaced by the fake, plus a New York
/// mentor (weekdays 10:00–10:30) who can take a London seeker's call on Monday
/// 2026-11-30 at 15:00 UTC.
async fn app_confirming(
    configure: impl FnOnce(&mut ridealong::app::AppConfig),
) -> (TestApp, FakeTwilio) {
    let fake = FakeTwilio::start().await;
    let client = twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT);
    let app = TestApp::spawn_with(default_now(), |config| {
        config.provider = Arc::new(client);
        config.privacy.confirm_phone = true;
        configure(config);
    })
    .await;
    fake.use_clock(app.clock.clone());
    fake.script_for(MENTOR_PHONE, CallScript::default());
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    (app, fake)
}

fn seeker_request() -> Value {
    json!({
        "name": SEEKER_NAME,
        "phone": "020 7946 0958",
        "timezone": "Europe/London",
        "topic": "interviews",
        "message": SEEKER_MESSAGE,
        "availability": [{"weekdays": ["mon"], "start": "14:00", "end": "17:00"}],
        "consent": true,
    })
}

/// Sends due texts and returns the code of the latest code text to the seeker.
async fn texted_code(app: &TestApp, fake: &FakeTwilio) -> String {
    app.notify_due().await;
    let texts = fake.texts_to(SEEKER_PHONE);
    let text = texts
        .iter()
        .rev()
        .find(|text| text.body.contains("code"))
        .unwrap_or_else(|| panic!("a code text to the seeker in {texts:?}"));
    assert_eq!(text.from, SERVICE_NUMBER);
    code_in(&text.body)
}

fn confirm_path(created: &Value) -> String {
    format!(
        "/api/v1/requests/{}/confirm?token={}",
        created["id"],
        created["manage_token"].as_str().expect("manage token")
    )
}

fn other_than(code: &str) -> String {
    let last = code.as_bytes()[5] - b'0';
    format!("{}{}", &code[..5], (last + 1) % 10)
}

#[tokio::test]
async fn a_new_request_waits_unconfirmed_until_the_texted_code_confirms_it_and_then_is_booked() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    assert_eq!(created["status"], "unconfirmed", "{created}");
    assert_eq!(created["call"], Value::Null);

    assert_eq!(
        app.settle().await.booked,
        0,
        "an unconfirmed request is not matched"
    );
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "unconfirmed");
    assert_eq!(request["consent"]["version"], current_wording().version);
    assert_eq!(request["consent"]["source"], "api");
    assert_eq!(request["consent"]["confirmed_at"], Value::Null);

    let code = texted_code(&app, &fake).await;
    let text = &fake.texts_to(SEEKER_PHONE)[0].body;
    assert!(text.contains("reply YES"), "{text}");
    assert!(!text.contains(MENTOR_PHONE), "{text}");

    let path = confirm_path(&created);
    let (status, refused) = app
        .post(&path, None, &json!({"code": other_than(&code)}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "wrong_code");
    assert!(
        refused["error"]["message"].as_str().unwrap().contains('4'),
        "{refused}"
    );
    let (status, malformed) = app.post(&path, None, &json!({"code": "12345"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{malformed}");
    assert_eq!(malformed["error"]["field"], "code");

    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let (status, confirmed) = app.post(&path, None, &json!({"code": spaced})).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed, json!({"id": created["id"], "status": "pending"}));
    let (status, again) = app.post(&path, None, &json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "confirming twice is fine: {again}");

    // Confirming asked the matcher to run; settle waits for a run after it.
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled");
    assert_eq!(request["consent"]["confirmed_via"], "api");
    assert_eq!(request["consent"]["confirmed_at"], "2026-11-30T12:00:00Z");

    // A wrong manage token opens nothing; the admin may confirm too, with the code.
    let forged = format!("/api/v1/requests/{}/confirm?token=rar_nope", created["id"]);
    let (status, _) = app.post(&forged, None, &json!({"code": code})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_codes_void_the_code_until_a_new_one_is_texted() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    let code = texted_code(&app, &fake).await;
    let path = confirm_path(&created);
    let wrong = other_than(&code);
    for left in (1..=4).rev() {
        let (status, refused) = app.post(&path, None, &json!({"code": wrong})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&left.to_string()),
            "{left} tries left: {refused}"
        );
    }
    let (status, locked) = app.post(&path, None, &json!({"code": wrong})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{locked}");
    assert_eq!(locked["error"]["code"], "code_locked");
    let (status, still) = app.post(&path, None, &json!({"code": code})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the right code no longer works: {still}"
    );
    assert_eq!(
        app.request_as_seeker(&created).await["status"],
        "unconfirmed"
    );

    let new_code_path = path.replace("/confirm", "/code");
    let (status, _) = app.post(&new_code_path, None, &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let fresh = texted_code(&app, &fake).await;
    assert_eq!(fake.texts_to(SEEKER_PHONE).len(), 2);
    if fresh != code {
        let (status, _) = app.post(&path, None, &json!({"code": code})).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the old code is void"
        );
    }
    let (status, confirmed) = app.post(&path, None, &json!({"code": fresh})).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");

    let (status, needless) = app.post(&new_code_path, None, &json!({})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a confirmed request needs no code: {needless}"
    );
    app.stop().await;
}

#[tokio::test]
async fn at_most_five_codes_are_texted_for_one_request() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    texted_code(&app, &fake).await;
    let new_code_path = confirm_path(&created).replace("/confirm", "/code");
    for _ in 0..4 {
        let (status, _) = app.post(&new_code_path, None, &json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        texted_code(&app, &fake).await;
    }
    let (status, refused) = app.post(&new_code_path, None, &json!({})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"]["code"], "too_many_codes");
    app.notify_due().await;
    assert_eq!(fake.texts_to(SEEKER_PHONE).len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn code_texts_go_out_several_at_a_time() {
    // The fake answers no text until this many wait at once: a notifier texting
    // one at a time would see each of its requests time out.
    const AT_ONCE: usize = 8;
    // Only this test's pass sends: a background pass claiming some of the texts
    // while they are being asked for would hold fewer than AT_ONCE at once.
    let (app, fake) =
        app_confirming(|config| config.notify_interval = Duration::from_secs(3600)).await;
    fake.hold_texts_until(AT_ONCE);
    for i in 0..AT_ONCE {
        let mut request = seeker_request();
        request["phone"] = json!(format!("020 7946 09{i:02}"));
        app.create_request(&request).await;
    }
    let report = app.notify_due().await;
    assert_eq!((report.sent, report.failed), (AT_ONCE, 0), "{report:?}");
    assert_eq!(fake.messages().len(), AT_ONCE);
    app.stop().await;
}

#[tokio::test]
async fn a_code_lasts_thirty_minutes_and_an_unconfirmed_request_expires_after_a_day() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    let code = texted_code(&app, &fake).await;
    app.clock.advance(TimeDelta::minutes(31));
    let (status, expired) = app
        .post(&confirm_path(&created), None, &json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{expired}");
    assert_eq!(expired["error"]["code"], "code_expired");

    app.clock.advance(TimeDelta::hours(23));
    assert_eq!(app.housekeep_now().await.expired, 0, "not a day old yet");
    app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(app.housekeep_now().await.expired, 1);
    assert_eq!(app.request_as_seeker(&created).await["status"], "expired");
    let (status, closed) = app
        .post(&confirm_path(&created), None, &json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{closed}");
    // The number is free for a new request.
    let again = app.create_request(&seeker_request()).await;
    assert_eq!(again["status"], "unconfirmed");
    app.stop().await;
}

#[tokio::test]
async fn replying_yes_confirms_and_a_forged_reply_changes_nothing() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    texted_code(&app, &fake).await;
    let yes = [
        ("From", SEEKER_PHONE),
        ("To", SERVICE_NUMBER),
        ("Body", " Yes! "),
        ("MessageSid", "SM1"),
    ];

    let (status, _) = app
        .post_webhook(fake.auth_token(), SMS_PATH, &yes, Some("forged"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.request_as_seeker(&created).await["status"],
        "unconfirmed"
    );

    let stranger = [
        ("From", "+13125550100"),
        ("To", SERVICE_NUMBER),
        ("Body", "YES"),
    ];
    let (status, twiml) = app
        .post_webhook(fake.auth_token(), SMS_PATH, &stranger, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !twiml.contains("<Message>"),
        "no reply to a number with no request: {twiml}"
    );

    let (status, twiml) = app
        .post_webhook(fake.auth_token(), SMS_PATH, &yes, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert!(
        twiml.contains("<Message>") && twiml.contains("confirmed"),
        "{twiml}"
    );
    let request = app.request_as_seeker(&created).await;
    // Confirming nudged the matcher, which may have booked it already.
    assert!(
        ["pending", "scheduled"].contains(&request["status"].as_str().unwrap_or_default()),
        "{request}"
    );
    assert_eq!(request["consent"]["confirmed_via"], "sms");
    app.settle().await;
    assert_eq!(app.request_as_seeker(&created).await["status"], "scheduled");
    app.stop().await;
}

#[tokio::test]
async fn stop_silences_every_text_to_the_number_until_start() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    let code = texted_code(&app, &fake).await;
    let reply = |body: &'static str| {
        [
            ("From", SEEKER_PHONE),
            ("To", SERVICE_NUMBER),
            ("Body", body),
        ]
    };

    let (status, twiml) = app
        .post_webhook(fake.auth_token(), SMS_PATH, &reply("STOP"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !twiml.contains("<Message>"),
        "Twilio answers STOP itself: {twiml}"
    );
    let (status, _) = app
        .post(&confirm_path(&created), None, &json!({"code": code}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "STOP is about texts; the seeker still wants the call"
    );
    app.settle().await;
    app.notify_due().await;
    assert_eq!(
        fake.texts_to(SEEKER_PHONE).len(),
        1,
        "only the code, before STOP"
    );
    assert_eq!(
        fake.texts_to(MENTOR_PHONE).len(),
        1,
        "the mentor is still told"
    );

    let (status, help) = app
        .post_webhook(fake.auth_token(), SMS_PATH, &reply("help"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(help.contains("STOP") && help.contains("START"), "{help}");

    app.post_webhook(fake.auth_token(), SMS_PATH, &reply("start"), None)
        .await;
    let (status, _) = app
        .delete(
            &format!("/api/v1/requests/{}", created["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.notify_due().await;
    let texts = fake.texts_to(SEEKER_PHONE);
    assert_eq!(texts.len(), 2, "texts flow again after START: {texts:?}");
    assert!(texts[1].body.contains("canceled"), "{texts:?}");
    app.stop().await;
}

#[tokio::test]
async fn twilio_refusing_an_opted_out_number_is_recorded_and_not_retried() {
    let (app, fake) = app_confirming(|_| {}).await;
    fake.unsubscribe(SEEKER_PHONE);
    let created = app.create_request(&seeker_request()).await;
    app.notify_due().await;
    let id = RequestId(created["id"].as_i64().unwrap());
    let stored = app.store.request(id).await.unwrap().unwrap();
    assert_eq!(stored.confirmation.send_error.as_deref(), Some("opted_out"));
    assert!(!stored.confirmation.text_queued, "given up, not retried");
    assert!(app.store.is_opted_out(SEEKER_PHONE).await.unwrap());

    let before = fake.message_posts();
    app.clock.advance(TimeDelta::minutes(10));
    app.notify_due().await;
    assert_eq!(fake.message_posts(), before, "no second try");
    // Asking for a new code does not text an opted-out number either.
    let new_code_path = confirm_path(&created).replace("/confirm", "/code");
    app.post(&new_code_path, None, &json!({})).await;
    app.notify_due().await;
    assert_eq!(fake.message_posts(), before);
    app.stop().await;
}

#[tokio::test]
async fn with_confirmation_off_a_request_is_pending_at_once_and_says_so() {
    let (app, fake) = app_confirming(|config| config.privacy.confirm_phone = false).await;
    let created = app.create_request(&seeker_request()).await;
    assert_eq!(created["status"], "pending");
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["consent"]["confirmed_via"], "not_required");
    app.notify_due().await;
    let texts = fake.texts_to(SEEKER_PHONE);
    assert!(
        texts.iter().all(|text| !text.body.contains("code")),
        "no code is texted: {texts:?}"
    );
    app.stop().await;
}

/// Every value in every table of the database, as text.
async fn everything_stored(store: &Store) -> String {
    match store {
        Store::Sqlite(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let mut all = String::new();
            for table in tables {
                let columns: Vec<String> =
                    sqlx::query_scalar(&format!("select name from pragma_table_info('{table}')"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let row = columns
                    .iter()
                    .map(|column| format!("quote(\"{column}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("select {row} from \"{table}\""))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                all.push_str(&rows.join("\n"));
            }
            all
        }
        Store::Postgres(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "select table_name::text from information_schema.tables where table_schema = 'public'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let mut all = String::new();
            for table in tables {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("select to_jsonb(t)::text from \"{table}\" t"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                all.push_str(&rows.join("\n"));
            }
            all
        }
    }
}

/// What of the seeker is found in `text`.
fn traces_of_the_seeker(text: &str) -> Vec<&'static str> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let mut found = Vec::new();
    if digits.contains("2079460958") {
        found.push("the phone number");
    }
    for (what, value) in [
        ("the name", "Quillfeather"),
        ("the message", "Tangerine observatory"),
    ] {
        if text.contains(value) {
            found.push(what);
        }
    }
    found
}

#[tokio::test]
async fn erasure_leaves_nothing_of_the_seeker_and_keeps_the_anonymous_outcome() {
    let (app, fake) = app_confirming(|_| {}).await;
    let created = app.create_request(&seeker_request()).await;
    let code = texted_code(&app, &fake).await;
    app.post(&confirm_path(&created), None, &json!({"code": code}))
        .await;
    app.settle().await;
    let call_id = app.request_as_seeker(&created).await["call"]["id"]
        .as_i64()
        .unwrap();
    app.clock.set(helpers::at("2026-11-30T15:00:00Z"));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.notify_due().await;
    assert_eq!(
        traces_of_the_seeker(&everything_stored(&app.store).await),
        ["the phone number", "the name", "the message"],
        "the scan finds the seeker before erasure"
    );

    let erase = format!(
        "/api/v1/requests/{}?erase=true&token={}",
        created["id"],
        created["manage_token"].as_str().unwrap()
    );
    let (status, _) = app.delete(&erase, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.delete(&erase, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "erasing twice is fine");

    assert!(traces_of_the_seeker(&everything_stored(&app.store).await).is_empty());
    let (_, request) = app
        .get(
            &format!("/api/v1/requests/{}", created["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(
        request["status"], "completed",
        "the outcome stays: {request}"
    );
    assert_eq!(
        (request["name"].as_str(), request["phone"].as_str()),
        (Some(""), Some(""))
    );
    assert!(request["erased_at"].is_string(), "{request}");
    let (_, call) = app
        .get(&format!("/api/v1/calls/{call_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(call["outcome"], "completed");
    assert!(call["talk_seconds"].as_u64().unwrap() > 0);
    for listing in ["/api/v1/requests", "/api/v1/calls"] {
        let (_, body) = app.get(listing, Some(ADMIN_TOKEN)).await;
        assert!(
            traces_of_the_seeker(&body.to_string()).is_empty(),
            "{listing}: {body}"
        );
    }
    if let Store::Sqlite(_) = app.store {
        // secure_delete and the checkpoint after erasure: not even the file's
        // free pages or the write-ahead log hold the old row.
        let path = app
            .database_url()
            .trim_start_matches("sqlite://")
            .to_owned();
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("Tangerine observatory"),
                "{file} keeps the message"
            );
            assert!(!text.contains("+442079460958"), "{file} keeps the number");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn erasing_a_booked_request_cancels_the_call_and_tells_only_the_mentor() {
    let (app, fake) = app_confirming(|config| config.privacy.confirm_phone = false).await;
    let created = app.create_request(&seeker_request()).await;
    app.settle().await;
    app.notify_due().await;
    let erase = format!("/api/v1/requests/{}?erase=true", created["id"]);
    let (status, _) = app.delete(&erase, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "canceled");
    assert_eq!(request["call"], Value::Null);
    app.notify_due().await;
    assert_eq!(
        fake.texts_to(SEEKER_PHONE).len(),
        1,
        "only the booking text"
    );
    let mentor = fake.texts_to(MENTOR_PHONE);
    assert_eq!(mentor.len(), 2, "{mentor:?}");
    assert!(
        mentor[1].body.contains("with the seeker is canceled"),
        "{mentor:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn retention_erases_finished_requests_after_the_configured_days_and_the_cli_on_demand() {
    let (app, _fake) = app_confirming(|config| {
        config.privacy.confirm_phone = false;
        config.privacy.retention = TimeDelta::days(2);
    })
    .await;
    let finished = app.create_request(&seeker_request()).await;
    let (status, _) = app
        .delete(
            &format!("/api/v1/requests/{}", finished["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut open = seeker_request();
    open["phone"] = json!("+13125550111");
    let open = app.create_request(&open).await;

    app.clock
        .advance(TimeDelta::days(2) - TimeDelta::seconds(1));
    assert_eq!(
        app.housekeep_now().await.erased,
        0,
        "kept for the whole period"
    );
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(app.housekeep_now().await.erased, 1);
    let erased = app.request_as_seeker(&finished).await;
    assert!(
        erased["erased_at"].is_string() && erased["name"] == "",
        "{erased}"
    );
    let kept = app.request_as_seeker(&open).await;
    assert_eq!(
        kept["name"], SEEKER_NAME,
        "open requests are never erased by age"
    );

    // Off the test's thread: the app's tasks share it and must keep running.
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_ridealong"));
    cli.args(["request", "erase", &open["id"].to_string()])
        .env("DATABASE_URL", app.database_url())
        .env_remove("RUST_LOG");
    let output = tokio::task::spawn_blocking(move || cli.output())
        .await
        .expect("the CLI's thread")
        .expect("the CLI runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("canceled") && stdout.contains("erased"),
        "{stdout}"
    );
    let gone = app.request_as_seeker(&open).await;
    assert_eq!(
        (gone["status"].as_str(), gone["name"].as_str()),
        (Some("canceled"), Some(""))
    );
    app.stop().await;
}
