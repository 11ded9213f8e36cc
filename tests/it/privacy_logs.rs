//! No personal data reaches a log or the metrics: the real binary (`ridealong
//! serve` against a fake Twilio, on a fresh database) runs one whole flow with
//! known, distinctive values at a verbose log level (`debug` everywhere, `trace`
//! for ridealong's own code and the HTTP layer, JSON lines), and then nothing it
//! printed, nor `/metrics`, holds either phone number in any format, a token
//! (admin, mentor API, manage, calendar, session, CSRF, Twilio auth), the sign-in
//! code, the confirmation codes, or the seeker's name, topic or message.
//!
//! The flow: the operator adds a mentor over the API and signs in on the pages;
//! the mentor signs in on the web with a texted code, opens the dashboard and
//! makes a calendar link; a seeker asks for a call and confirms the number with
//! the texted code (mistyped once);
//! the call is booked into a window open now, placed, and played by the fake
//! Twilio to the end (the mentor presses 1, the seeker talks); both are texted;
//! the seeker reads the manage page and the API; the mentor reads the API.
//!
//! The scanner ([`Secrets`]) is itself checked first on text
//! holding a number in each format, so this test can fail.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::privacy::{Browser, Secrets, code_in};
use crate::helpers::served::{Served, WindowOpeningNow, every_day, serve_with_fake_twilio};
use crate::helpers::{ADMIN_TOKEN, TestDb};
use ridealong::telephony::player::CallScript;

/// What `RUST_LOG` is while the flow runs: everything at debug, our own code and
/// the HTTP layer at trace.
const LOG_FILTER: &str = "debug,ridealong=trace,tower_http=trace";

/// How long any one step may take before the test gives up.
const BOUND: Duration = Duration::from_secs(30);

const MENTOR_NAME: &str = "Wilhelmina Quarrington";
const MENTOR_PHONE: &str = "+14155550123";
/// The mentor's number as typed on the sign-in page.
const MENTOR_PHONE_TYPED: &str = "+1 (415) 555-0123";

const SEEKER_NAME: &str = "Philippa Zabriskie-Ostrowski";
const SEEKER_PHONE: &str = "+13125550177";
/// The seeker's number as typed, with spaces and dashes.
const SEEKER_PHONE_TYPED: &str = "+1 312-555-0177";
const SEEKER_TOPIC: &str = "Glassblowing apprenticeships";
const SEEKER_MESSAGE: &str =
    "Marmalade lighthouse: I have sent ninety applications and heard nothing back.";

#[test]
fn the_scanner_finds_a_number_in_every_format_and_each_secret() {
    let mut secrets = Secrets::new();
    secrets
        .phone("the number", "+14155550123")
        .code("the code", "493817")
        .text("the token", "rar_SeCrEtToKeN");
    for written in [
        "+14155550123",
        "14155550123",
        "4155550123",
        "+1 415 555 0123",
        "+1 (415) 555-0123",
        "(415) 555-0123",
        "415-555-0123",
        "415.555.0123",
        "555-0123",
        "5550123",
        "to=%2B14155550123",
        "To=%2B1+415+555+0123",
        "phone=%2B1%20%28415%29%20555-0123",
    ] {
        let line = format!(r#"{{"level":"INFO","message":"x","to":"{written}"}}"#);
        let found = secrets.find_in(&line);
        assert_eq!(found.len(), 1, "{written}: {found:?}");
        assert_eq!(found[0].label, "the number");
    }
    for written in ["code=493817", "\"code\":\"493817\"", "your code is 493817."] {
        let found = secrets.find_in(written);
        assert_eq!(found.len(), 1, "{written}: {found:?}");
        assert_eq!(found[0].label, "the code");
    }
    let found = secrets.find_in("token: RAR_secrettoken");
    assert_eq!(found.len(), 1, "any letter case: {found:?}");

    // What a clean log line looks like: ids, durations, the service number, a
    // six-digit fraction that happens to equal the code.
    let clean = r#"{"level":"DEBUG","fields":{"call.id":12,"elapsed":"0.493817ms","from":"+15005550006","at":"2026-11-30T15:00:00Z"},"target":"ridealong::web","span":{"route":"/r/{token}"}}"#;
    assert!(secrets.find_in(clean).is_empty(), "{clean}");
}

/// A port that was free a moment ago, for a public URL known before start.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// The running binary and what the test needs to talk to it.
struct Service {
    served: Served,
    base: String,
    http: reqwest::Client,
}

impl Service {
    /// `method path` with `token` as bearer and an optional JSON body.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the app answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// `GET path` as text, with `accept` if given.
    async fn text(&self, path: &str, accept: Option<&str>) -> String {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        let response = request.send().await.expect("the app answers");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("body")
    }
}

/// A request, submitted and pending.
struct Submitted {
    id: i64,
    manage_token: String,
}

/// Submits `body` as a seeker and confirms the number the way a seeker does:
/// the code texted to the number, mistyped once, then right. Every secret it
/// involves (the manage token, both codes) is added to `secrets`.
async fn submit_pending_request(
    service: &Service,
    fake: &FakeTwilio,
    body: &Value,
    secrets: &mut Secrets,
) -> Submitted {
    let (status, created) = service.post("/api/v1/requests", None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "unconfirmed", "{created}");
    let id = created["id"].as_i64().expect("request id");
    let manage_token = created["manage_token"]
        .as_str()
        .expect("a manage token")
        .to_owned();
    secrets.text("the manage token", &manage_token);
    let mut text = None;
    until("the confirmation code's text", || {
        let found = fake
            .messages()
            .into_iter()
            .find(|message| message.to == SEEKER_PHONE && message.body.contains("code"));
        let done = found.is_some();
        text = found;
        async move { done }
    })
    .await;
    let code = code_in(&text.expect("the code text").body);
    secrets.code("the confirmation code", &code);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    secrets.code("the mistyped confirmation code", wrong);
    let confirm = format!("/api/v1/requests/{id}/confirm?token={manage_token}");
    let (status, refused) = service.post(&confirm, None, &json!({"code": wrong})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, confirmed) = service.post(&confirm, None, &json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed["status"], "pending", "{confirmed}");
    Submitted { id, manage_token }
}

/// Waits, at most [`BOUND`], until `done` holds; polls every 50 ms.
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + BOUND;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A log line without its timestamp and sqlx's statement timings: the fields
/// whose digits are arbitrary (a fraction of a second could be anything, seven
/// digits of a number or a code included), so they cannot match by chance.
fn without_measurements(line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(mut event)) => {
            for measurement in ["timestamp", "elapsed", "elapsed_secs"] {
                event.remove(measurement);
            }
            Value::Object(event).to_string()
        }
        _ => line.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_flow_logged_at_debug_and_trace_leaves_no_personal_data_in_logs_or_metrics() {
    let db = TestDb::create().await;
    let fake = FakeTwilio::start().await;
    fake.script_for(MENTOR_PHONE, CallScript::default());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = serve_with_fake_twilio(db.url(), &fake, &base);
    // The default: the seeker confirms the number with a texted code.
    command.env("RIDEALONG_CONFIRM_PHONE", "true");
    command.env("RIDEALONG_LISTEN", format!("127.0.0.1:{port}"));
    let mut served = Served::start_logging(command, LOG_FILTER);
    served.listening_address(BOUND).await;
    let service = Service {
        served,
        base: base.clone(),
        http: reqwest::Client::new(),
    };

    let mut secrets = Secrets::new();
    secrets
        .phone("the mentor's number", MENTOR_PHONE)
        .phone("the seeker's number", SEEKER_PHONE)
        .text("the admin token", ADMIN_TOKEN)
        .text("the Twilio auth token", fake.auth_token())
        .text("the mentor's name", MENTOR_NAME)
        .text("the mentor's last name", "Quarrington")
        .text("the seeker's name", SEEKER_NAME)
        .text("the seeker's first name", "Philippa")
        .text("the seeker's last name", "Zabriskie")
        .text("the seeker's topic", SEEKER_TOPIC)
        .text("the seeker's message", SEEKER_MESSAGE)
        .text("the start of the seeker's message", "Marmalade lighthouse")
        .text("a phrase of the seeker's message", "ninety applications");

    // The operator adds a mentor with a window open now, in calling hours.
    let opening = WindowOpeningNow::find();
    let zone = opening.zone;
    let mentor = json!({
        "name": MENTOR_NAME,
        "phone": MENTOR_PHONE,
        "timezone": zone.name(),
        "topics": ["glassblowing"],
    });
    let (status, mentor) = service
        .post("/api/v1/mentors", Some(ADMIN_TOKEN), &mentor)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mentor}");
    let mentor_id = mentor["id"].as_i64().expect("mentor id");
    let mentor_token = mentor["token"].as_str().expect("mentor token").to_owned();
    secrets.text("the mentor's API token", &mentor_token);
    let (status, window) = service
        .post(
            &format!("/api/v1/mentors/{mentor_id}/windows"),
            Some(&mentor_token),
            &opening.body(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{window}");

    // The operator signs in on the pages with the admin token.
    let operator = Browser::new(&base);
    operator.get("/operator/sign-in").await;
    let (status, _, _) = operator
        .submit("/operator/sign-in", &[("token", ADMIN_TOKEN)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The mentor signs in on the web with the code texted to their phone.
    let browser = Browser::new(&base);
    let (status, _) = browser.get("/mentor/sign-in").await;
    assert_eq!(status, StatusCode::OK);
    let texts_before = fake.texts_to(MENTOR_PHONE).len();
    let (status, _, _) = browser
        .submit("/mentor/sign-in", &[("phone", MENTOR_PHONE_TYPED)])
        .await;
    assert_eq!(status, StatusCode::OK);
    let texts = fake.wait_for_texts_to(MENTOR_PHONE, texts_before + 1).await;
    let code = code_in(&texts.last().expect("the code was texted").body);
    secrets.code("the sign-in code", &code);
    // A slip of the finger first: refused, and not logged either.
    let mistyped: String = code
        .chars()
        .map(|digit| {
            if digit == '9' {
                '0'
            } else {
                (digit as u8 + 1) as char
            }
        })
        .collect();
    secrets.code("a mistyped code", &mistyped);
    let (status, _, _) = browser
        .submit(
            "/mentor/sign-in/code",
            &[("phone", MENTOR_PHONE), ("code", &mistyped)],
        )
        .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    let (status, location, _) = browser
        .submit(
            "/mentor/sign-in/code",
            &[("phone", MENTOR_PHONE), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/mentor"));
    for (cookie, label) in [
        ("ridealong_session", "the mentor's session cookie"),
        ("ridealong_csrf", "the mentor's CSRF token"),
    ] {
        let value = browser.cookie(cookie).expect("the cookie is set");
        secrets.text(label, &value);
    }
    let (status, _) = browser.get("/mentor").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, html) = browser.submit("/mentor/calendar", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find("/calendar/rac_").expect("the calendar link") + "/calendar/".len();
    let end = start + html[start..].find(".ics").expect("the link's end");
    let calendar_token = html[start..end].to_owned();
    secrets.text("the calendar token", &calendar_token);

    // A seeker asks for a call any time in calling hours.
    let request = json!({
        "name": SEEKER_NAME,
        "phone": SEEKER_PHONE_TYPED,
        "timezone": zone.name(),
        "topic": SEEKER_TOPIC,
        "message": SEEKER_MESSAGE,
        "availability": every_day(),
        "consent": true,
    });
    let submitted = submit_pending_request(&service, &fake, &request, &mut secrets).await;

    // Refusals on the way: a second request for the same phone, a number with
    // digits to spare, and a callback with a forged signature carrying both
    // numbers. Each is refused without its input reaching the log.
    let (status, refused) = service.post("/api/v1/requests", None, &request).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let mut too_long = request.clone();
    too_long["phone"] = json!(format!("{SEEKER_PHONE_TYPED} 99"));
    let (status, refused) = service.post("/api/v1/requests", None, &too_long).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let forged = service
        .http
        .post(format!("{base}/telephony/twilio/calls/1/status"))
        .header("X-Twilio-Signature", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
        .form(&[
            ("CallSid", "CA00000000000000000000000000000000"),
            ("CallStatus", "completed"),
            ("From", SEEKER_PHONE),
            ("To", MENTOR_PHONE),
        ])
        .send()
        .await
        .expect("the app answers");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let seeker_view = format!(
        "/api/v1/requests/{}?token={}",
        submitted.id, submitted.manage_token
    );

    // Booked, placed and played to the end, on the service's own schedule.
    let reports = fake.wait_for_plays(1).await;
    assert!(
        reports[0].dialed.is_some(),
        "the seeker was dialed: {:?}",
        reports[0]
    );
    until("the request is completed", || async {
        service.get(&seeker_view, None).await.1["status"] == "completed"
    })
    .await;
    until("both were texted about the booking", || async {
        let texts = fake.messages();
        [MENTOR_PHONE, SEEKER_PHONE].iter().all(|number| {
            texts
                .iter()
                .any(|text| text.to == *number && code_in_none(&text.body))
        })
    })
    .await;

    // Both read what they may.
    let (status, request) = service.get(&seeker_view, None).await;
    assert_eq!(status, StatusCode::OK, "{request}");
    let (status, _) = Browser::new(&base)
        .get(&format!("/r/{}", submitted.manage_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, calls) = service
        .get(
            &format!("/api/v1/calls?mentor_id={mentor_id}"),
            Some(&mentor_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{calls}");
    let call_id = calls[0]["id"].as_i64().expect("the call");
    let (status, call) = service
        .get(&format!("/api/v1/calls/{call_id}"), Some(&mentor_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["outcome"], "completed", "{call}");
    let (status, _) = browser.get("/mentor").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = browser
        .get(&format!("/calendar/{calendar_token}.ics"))
        .await;
    assert_eq!(status, StatusCode::OK);
    for page in [
        "/operator".to_owned(),
        "/operator/requests".to_owned(),
        format!("/operator/calls/{call_id}"),
        format!("/operator/mentors/{mentor_id}"),
    ] {
        let (status, _) = operator.get(&page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }
    let operator_session = operator
        .cookie("ridealong_session")
        .expect("the operator's session");
    secrets.text("the operator's session cookie", &operator_session);

    // The metrics, as a plain scraper and as Prometheus read them.
    let metrics = service.text("/metrics", None).await;
    assert!(
        metrics.contains("ridealong_call_outcomes_total"),
        "{metrics}"
    );
    let open_metrics = service
        .text(
            "/metrics",
            Some("application/openmetrics-text;version=1.0.0"),
        )
        .await;

    let Service { mut served, .. } = service;
    let exit = served.terminate(BOUND).await;
    assert!(exit.success(), "serve exited with {exit}");
    let log = served.whole_log();
    assert!(
        log.contains("\"call ended\""),
        "the log covers the call:\n{log}"
    );
    assert!(
        log.lines().any(|line| line.contains(r#""level":"DEBUG""#)),
        "the log is verbose:\n{log}"
    );

    // The scan can fail: what the fake Twilio was sent holds the numbers, the
    // code and the seeker's first name, and is found out.
    let sent: String = fake
        .messages()
        .iter()
        .map(|text| format!("{} {}", text.to, text.body))
        .collect::<Vec<_>>()
        .join("\n");
    let found: Vec<String> = secrets
        .find_in(&sent)
        .into_iter()
        .map(|finding| finding.label)
        .collect();
    for label in [
        "the mentor's number",
        "the seeker's number",
        "the sign-in code",
        "the seeker's first name",
    ] {
        assert!(
            found.iter().any(|found| found == label),
            "{label} in {sent}"
        );
    }

    let scanned: String = log
        .lines()
        .map(without_measurements)
        .collect::<Vec<_>>()
        .join("\n");
    secrets.assert_absent("the log", &scanned);
    secrets.assert_absent("/metrics", &metrics);
    secrets.assert_absent("/metrics (OpenMetrics)", &open_metrics);
}

/// Whether `body` holds no code: a notice, not a sign-in text.
fn code_in_none(body: &str) -> bool {
    !body
        .split(|c: char| !c.is_ascii_digit())
        .any(|group| group.len() == 6)
}
