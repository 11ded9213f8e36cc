//! `GET /metrics`: a call played end to end through a fake Twilio moves the
//! counters, and the exposition is well-formed Prometheus text (checked by
//! `promtool check metrics` too when `RIDEALONG_PROMTOOL` names it), or
//! OpenMetrics text for a scraper that asks for it.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
/// Monday 2026-11-30 10:00 in New York: the first slot the matcher books.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";

/// The samples of an exposition, keyed by `name{labels}` as written; panics on a
/// line that is neither a known comment nor a sample with a numeric value.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let keyword = comment.split(' ').next().unwrap_or_default();
            assert!(
                ["HELP", "TYPE", "UNIT", "EOF"].contains(&keyword),
                "unknown comment: {line}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        assert!(
            name_end == series.len() || series.ends_with('}'),
            "unclosed labels: {line}"
        );
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        samples.insert(series.to_owned(), value);
    }
    samples
}

/// Runs `promtool check metrics` over `text` when `RIDEALONG_PROMTOOL` is set.
pub(crate) fn promtool_accepts(text: &str) {
    let Some(promtool) = std::env::var_os("RIDEALONG_PROMTOOL").filter(|path| !path.is_empty())
    else {
        return;
    };
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("metrics written to promtool");
    let output = child.wait_with_output().expect("promtool finishes");
    assert!(
        output.status.success(),
        "promtool check metrics refused the exposition:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `GET /metrics` with `accept`; returns the content type and the body.
async fn fetch(app: &TestApp, accept: &str) -> (String, String) {
    let response = app
        .http
        .get(app.url("/metrics"))
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .expect("content type")
        .to_owned();
    (content_type, response.text().await.expect("body"))
}

/// Scrapes the classic Prometheus text and parses it.
async fn scrape(app: &TestApp) -> (String, HashMap<String, f64>) {
    let (content_type, text) = fetch(app, "*/*").await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let samples = parse_exposition(&text);
    (text, samples)
}

/// A mentor with a weekday 10:00-10:30 New York window and a request booked
/// into its first slot, [`FIRST_SLOT`].
async fn book_one_call(app: &TestApp) {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    app.create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
}

#[tokio::test]
async fn a_fresh_app_exposes_every_family_without_auth() {
    let app = TestApp::spawn().await;
    let (text, samples) = scrape(&app).await;
    for family in [
        "ridealong_calls_placed_total",
        "ridealong_dial_lag_seconds_count",
        "ridealong_matcher_run_duration_seconds_count",
        "ridealong_matcher_booked_total",
        r#"ridealong_queue_depth{queue="calls_due"}"#,
        r#"ridealong_queue_depth{queue="requests_pending"}"#,
        r#"ridealong_queue_depth{queue="notices_pending"}"#,
        r#"ridealong_callbacks_total{result="completed"}"#,
        r#"ridealong_callbacks_total{result="mentor_busy"}"#,
    ] {
        assert!(samples.contains_key(family), "{family} missing:\n{text}");
    }
    promtool_accepts(&text);
    app.stop().await;
}

#[tokio::test]
async fn a_scraper_asking_for_openmetrics_gets_it() {
    let app = TestApp::spawn().await;
    let (content_type, text) = fetch(
        &app,
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    )
    .await;
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE ridealong_calls_placed counter\n"),
        "{text}"
    );
    parse_exposition(&text);
    app.stop().await;
}

#[tokio::test]
async fn a_completed_call_moves_the_counters_and_the_exposition_stays_valid() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::Answers { talk_seconds: 540 },
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    book_one_call(&app).await;
    let (_, before) = scrape(&app).await;
    assert_eq!(
        before[r#"ridealong_queue_depth{queue="calls_scheduled"}"#],
        1.0
    );
    assert!(before["ridealong_matcher_booked_total"] >= 1.0);

    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    let (status, call) = app.get("/api/v1/calls/1", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(call["outcome"], "completed", "{call}");

    let (text, after) = scrape(&app).await;
    assert_eq!(after["ridealong_calls_placed_total"], 1.0, "{text}");
    assert_eq!(after["ridealong_dial_lag_seconds_count"], 1.0, "{text}");
    assert_eq!(
        after[r#"ridealong_call_outcomes_total{outcome="completed"}"#], 1.0,
        "{text}"
    );
    let answer_route =
        r#"ridealong_webhook_duration_seconds_count{route="/telephony/twilio/calls/{id}/answer"}"#;
    assert!(after[answer_route] >= 1.0, "{text}");
    assert_eq!(
        after[r#"ridealong_queue_depth{queue="calls_scheduled"}"#],
        0.0
    );
    assert!(
        !text.contains(MENTOR_PHONE) && !text.contains(SEEKER_PHONE),
        "{text}"
    );
    promtool_accepts(&text);
    app.stop().await;
}

#[tokio::test]
async fn a_refused_number_counts_as_a_provider_error_with_its_code() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.invalid_number(MENTOR_PHONE);
    book_one_call(&app).await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;

    let (text, samples) = scrape(&app).await;
    assert_eq!(
        samples[r#"ridealong_provider_errors_total{operation="create_call",code="21211"}"#], 1.0,
        "{text}"
    );
    assert_eq!(
        samples[r#"ridealong_call_outcomes_total{outcome="failed"}"#], 1.0,
        "{text}"
    );
    promtool_accepts(&text);
    app.stop().await;
}
