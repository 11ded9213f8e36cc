//! Abuse limits over HTTP: posts that ask for calls are rate-limited per client IP
//! (429 in the error shape, with Retry-After, nothing stored), other routes are
//! not, and behind a trusted proxy the proxy's client-IP header is what counts.
//! One phone number may ask three times a day, so nobody's phone can be flooded
//! with texts through the form.
//!
//! The limiter runs on the real clock: the quota here is two posts a minute, so
//! only a test stalled for half a minute between posts could see a token refill.

use std::num::NonZeroU32;

use axum::http::HeaderName;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{self, ADMIN_TOKEN, TestApp, default_now, mentor_body, request_body};

async fn limited_app(client_ip_header: Option<&'static str>) -> TestApp {
    TestApp::spawn_with(default_now(), |config| {
        config.limits.per_ip_per_minute = NonZeroU32::new(2);
        config.limits.client_ip_header = client_ip_header.map(HeaderName::from_static);
    })
    .await
}

async fn post_request(
    app: &TestApp,
    phone: &str,
    forwarded_for: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = app
        .http
        .post(app.url("/api/v1/requests"))
        .json(&request_body("Ada Lovelace", phone));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().expect("ascii").to_owned());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn stored_requests(app: &TestApp) -> usize {
    let (status, list) = app.get("/api/v1/requests", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    list.as_array().expect("a list").len()
}

#[tokio::test]
async fn asking_for_calls_too_often_from_one_address_is_refused_and_stores_nothing() {
    let app = limited_app(None).await;
    for phone in ["+12015550101", "+12015550102"] {
        let (status, _, body) = post_request(&app, phone, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, retry_after, body) = post_request(&app, "+12015550103", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&seconds), "{seconds}");
    assert_eq!(
        stored_requests(&app).await,
        2,
        "the refused request is not stored"
    );

    // Reading and other routes are not limited.
    for _ in 0..3 {
        assert_eq!(app.get("/healthz", None).await.0, StatusCode::OK);
    }
    let (status, _) = app
        .post(
            "/api/v1/mentors",
            Some(ADMIN_TOKEN),
            &mentor_body("Grace Hopper", "+12015550199"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_allowance() {
    let app = limited_app(Some("x-forwarded-for")).await;
    let first = "198.51.100.7";
    let second = "10.0.0.1, 203.0.113.9";
    for (phone, address) in [("+12015550101", first), ("+12015550102", first)] {
        assert_eq!(
            post_request(&app, phone, Some(address)).await.0,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        post_request(&app, "+12015550103", Some(first)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The proxy appends the client it saw: the last entry is the client.
    assert_eq!(
        post_request(&app, "+12015550104", Some(second)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(stored_requests(&app).await, 3);
    app.stop().await;
}

#[tokio::test]
async fn api_routes_answer_a_rate_limit_in_json_even_to_browsers() {
    let app = limited_app(None).await;
    for phone in ["+12015550101", "+12015550102"] {
        assert_eq!(post_request(&app, phone, None).await.0, StatusCode::CREATED);
    }
    let response = app
        .http
        .post(app.url("/api/v1/requests"))
        .header("accept", "text/html")
        .json(&request_body("Ada Lovelace", "+12015550103"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response.text().await.expect("body").contains("\"error\""),
        "API routes answer JSON even to browsers"
    );
    app.stop().await;
}

#[tokio::test]
async fn one_phone_number_can_ask_three_times_a_day_whatever_the_address() {
    let app = helpers::TestApp::spawn().await;
    let phone = "+12015550101";
    for attempt in 0..3 {
        let (status, _, created) = post_request(&app, phone, None).await;
        assert_eq!(status, StatusCode::CREATED, "attempt {attempt}: {created}");
        let id = created["id"].as_i64().expect("id");
        let token = created["manage_token"].as_str().expect("token");
        let (status, _) = app
            .delete(&format!("/api/v1/requests/{id}?token={token}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        app.clock.advance(chrono::TimeDelta::hours(1));
    }
    let (status, retry_after, body) = post_request(&app, phone, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    // The first of the three ages out of the day 21 hours from now.
    assert_eq!(retry_after.as_deref(), Some("75600"));
    assert_eq!(stored_requests(&app).await, 3, "the fourth is not stored");

    // Other numbers are not affected, and a day after the first it may ask again.
    assert_eq!(
        post_request(&app, "+12015550102", None).await.0,
        StatusCode::CREATED
    );
    app.clock.advance(chrono::TimeDelta::hours(21));
    assert_eq!(post_request(&app, phone, None).await.0, StatusCode::CREATED);
    app.stop().await;
}
