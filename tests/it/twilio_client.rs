//! The Twilio REST client against a fake Twilio over real HTTP: the wire format,
//! error mapping and which failures are retried; the webhook signature vectors; and
//! the call player driving a small TwiML app the way Twilio would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::helpers::fake_twilio::{Failure, FakeTwilio};
use ridealong::secret::Secret;
use ridealong::telephony::player::{
    CallScript, MentorScript, Pace, PlayReport, PlayedCall, Player, SeekerScript, WebhookHit,
    new_call_sid,
};
use ridealong::telephony::twilio::signature::{sign, verify, verify_json};
use ridealong::telephony::twilio::{RetryPolicy, TwilioClient, TwilioConfig};
use ridealong::telephony::twiml::{Dial, Gather, Twiml};
use ridealong::telephony::{CallQuery, CallUpdate, NewCall, NewSms, Provider, ProviderError};

const SERVICE: &str = "+15550000000";
const MENTOR: &str = "+15551230001";
const SEEKER: &str = "+15551230002";

fn client_for(base_url: &str, account_sid: &str, auth_token: &str) -> TwilioClient {
    let config = TwilioConfig {
        api_base: base_url.to_owned(),
        account_sid: account_sid.to_owned(),
        auth_token: Secret::new(auth_token),
    };
    let retry = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(1),
    };
    TwilioClient::with_retry(config, retry).expect("client")
}

fn client(fake: &FakeTwilio) -> TwilioClient {
    client_for(fake.base_url(), fake.account_sid(), fake.auth_token())
}

fn new_call(to: &str) -> NewCall {
    NewCall {
        to: to.to_owned(),
        from: SERVICE.to_owned(),
        url: "https://ridealong.example/twilio/voice?call=17".to_owned(),
        status_callback: "https://ridealong.example/twilio/status?call=17".to_owned(),
        timeout_seconds: 25,
        time_limit_seconds: 1200,
    }
}

fn calls_path(fake: &FakeTwilio) -> String {
    format!("/2010-04-01/Accounts/{}/Calls.json", fake.account_sid())
}

/// Requests with this method and path.
fn count(fake: &FakeTwilio, method: &str, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|request| request.method == method && request.path == path)
        .count()
}

fn sorted(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

// ---------------------------------------------------------------- wire format

#[tokio::test]
async fn create_call_sends_twilios_form_with_basic_auth() {
    let fake = FakeTwilio::start().await;
    let created = client(&fake)
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");

    assert!(
        created.sid.starts_with("CA") && created.sid.len() == 34,
        "{}",
        created.sid
    );
    assert_eq!(created.status, "queued");
    assert_eq!(created.to.as_deref(), Some(MENTOR));
    assert_eq!(created.from.as_deref(), Some(SERVICE));
    assert_eq!(created.parent_call_sid, None);
    assert_eq!(created.duration, None);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, calls_path(&fake));
    assert_eq!(request.status, 201);
    assert_eq!(
        request.basic_auth,
        Some((fake.account_sid().to_owned(), fake.auth_token().to_owned()))
    );
    assert_eq!(
        sorted(request.form.clone()),
        sorted(pairs(&[
            ("To", MENTOR),
            ("From", SERVICE),
            ("Url", "https://ridealong.example/twilio/voice?call=17"),
            ("Method", "POST"),
            (
                "StatusCallback",
                "https://ridealong.example/twilio/status?call=17"
            ),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("Timeout", "25"),
            ("TimeLimit", "1200"),
        ]))
    );
    assert_eq!(
        request.form_values("StatusCallbackEvent"),
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(fake.created_calls().len(), 1);
    assert_eq!(fake.created_calls()[0].sid, created.sid);
}

#[tokio::test]
async fn fetch_returns_the_call_and_an_unknown_sid_is_rejected() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake);
    let created = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");

    let fetched = twilio.fetch_call(&created.sid).await.expect("fetched");
    assert_eq!(fetched, created);
    let last = fake.requests().pop().expect("a request");
    assert_eq!(last.method, "GET");
    assert_eq!(
        last.path,
        format!(
            "/2010-04-01/Accounts/{}/Calls/{}.json",
            fake.account_sid(),
            created.sid
        )
    );

    let missing = twilio
        .fetch_call("CA00000000000000000000000000000000")
        .await;
    assert!(
        matches!(
            missing,
            Err(ProviderError::Rejected {
                status: 404,
                code: 20404
            })
        ),
        "{missing:?}"
    );
}

#[tokio::test]
async fn list_calls_filters_by_number_and_follows_pages() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake);
    let mut to_mentor = Vec::new();
    for index in 0..120 {
        to_mentor.push(
            twilio
                .create_call(&new_call(MENTOR))
                .await
                .expect("created")
                .sid,
        );
        if index % 40 == 0 {
            twilio
                .create_call(&new_call(SEEKER))
                .await
                .expect("created");
        }
    }

    let listed = twilio
        .list_calls(&CallQuery {
            to: Some(MENTOR.to_owned()),
            ..CallQuery::default()
        })
        .await
        .expect("listed");
    let listed: Vec<String> = listed.into_iter().map(|call| call.sid).collect();
    to_mentor.reverse();
    assert_eq!(listed, to_mentor, "every call to the number, newest first");

    let pages: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|request| request.method == "GET")
        .collect();
    assert_eq!(pages.len(), 3, "50 + 50 + 20");
    assert_eq!(pages[0].query_value("To"), Some(MENTOR));
    assert_eq!(pages[0].query_value("PageSize"), Some("50"));
    assert_eq!(pages[0].query_value("Page"), None);
    for (index, page) in pages.iter().enumerate().skip(1) {
        assert_eq!(page.path, calls_path(&fake));
        assert_eq!(
            page.query_value("To"),
            Some(MENTOR),
            "filters kept on page {index}"
        );
        assert_eq!(page.query_value("Page"), Some(index.to_string().as_str()));
        assert!(
            page.query_value("PageToken")
                .is_some_and(|token| token.starts_with("PA"))
        );
        assert_eq!(
            page.basic_auth, pages[0].basic_auth,
            "next pages are authenticated too"
        );
    }

    let to_seeker = twilio
        .list_calls(&CallQuery {
            to: Some(SEEKER.to_owned()),
            ..CallQuery::default()
        })
        .await
        .expect("listed");
    assert_eq!(to_seeker.len(), 3);
}

#[tokio::test]
async fn list_calls_filters_by_start_date() {
    let fake = FakeTwilio::start().await;
    let created_at = chrono::DateTime::parse_from_rfc3339("2026-11-30T15:00:02Z")
        .expect("instant")
        .with_timezone(&chrono::Utc);
    fake.use_clock(ridealong::clock::ManualClock::new(created_at));
    let twilio = client(&fake);
    twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");

    let since_slot = CallQuery {
        started_after: Some(created_at - chrono::TimeDelta::seconds(2)),
        ..CallQuery::default()
    };
    assert_eq!(
        twilio.list_calls(&since_slot).await.expect("listed").len(),
        1
    );
    let sent = fake.requests().pop().expect("a request");
    assert_eq!(sent.query_value("StartTime>"), Some("2026-11-30T15:00:00Z"));

    let later = CallQuery {
        started_after: Some(created_at + chrono::TimeDelta::days(3)),
        ..CallQuery::default()
    };
    assert_eq!(twilio.list_calls(&later).await.expect("listed"), Vec::new());
}

#[tokio::test]
async fn cancel_and_hang_up_post_the_new_status() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake);
    let queued = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");
    let live = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");
    fake.set_status(&live.sid, "in-progress");

    let canceled = twilio
        .update_call(&queued.sid, CallUpdate::Cancel)
        .await
        .expect("canceled");
    assert_eq!(canceled.status, "canceled");
    let request = fake.requests().pop().expect("a request");
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!(
            "/2010-04-01/Accounts/{}/Calls/{}.json",
            fake.account_sid(),
            queued.sid
        )
    );
    assert_eq!(request.form, pairs(&[("Status", "canceled")]));

    let hung_up = twilio
        .update_call(&live.sid, CallUpdate::HangUp)
        .await
        .expect("hung up");
    assert_eq!(hung_up.status, "completed");
    assert_eq!(
        fake.requests().pop().expect("a request").form,
        pairs(&[("Status", "completed")])
    );

    let missing = twilio
        .update_call("CA00000000000000000000000000000000", CallUpdate::Cancel)
        .await;
    assert!(
        matches!(
            missing,
            Err(ProviderError::Rejected {
                status: 404,
                code: 20404
            })
        ),
        "{missing:?}"
    );
}

#[tokio::test]
async fn send_sms_posts_to_messages_and_returns_the_sid() {
    let fake = FakeTwilio::start().await;
    let sms = NewSms {
        to: SEEKER.to_owned(),
        from: SERVICE.to_owned(),
        body: "Your call: Tue 08:05 & ok?".to_owned(),
    };
    let sid = client(&fake).send_sms(&sms).await.expect("sent");

    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].sid, sid);
    assert_eq!(messages[0].body, "Your call: Tue 08:05 & ok?");
    let request = fake.requests().pop().expect("a request");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{}/Messages.json", fake.account_sid())
    );
    assert_eq!(
        sorted(request.form),
        sorted(pairs(&[
            ("To", SEEKER),
            ("From", SERVICE),
            ("Body", "Your call: Tue 08:05 & ok?")
        ]))
    );
}

// ---------------------------------------------------------------- error answers

#[tokio::test]
async fn wrong_credentials_are_an_auth_error_and_not_retried() {
    let fake = FakeTwilio::start().await;
    let wrong = client_for(fake.base_url(), fake.account_sid(), "not-the-token");
    let result = wrong.create_call(&new_call(MENTOR)).await;
    assert!(matches!(result, Err(ProviderError::Auth)), "{result:?}");
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.requests()[0].status, 401);
    assert!(fake.created_calls().is_empty());
}

#[tokio::test]
async fn the_fake_answers_401_with_twilios_error_body() {
    let fake = FakeTwilio::start().await;
    let response = reqwest::Client::new()
        .get(format!("{}{}", fake.base_url(), calls_path(&fake)))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401
        })
    );
}

#[tokio::test]
async fn an_invalid_number_is_typed() {
    let fake = FakeTwilio::start().await;
    fake.invalid_number(SEEKER);
    let twilio = client(&fake);
    let call = twilio.create_call(&new_call(SEEKER)).await;
    assert!(
        matches!(call, Err(ProviderError::InvalidNumber { code: 21211 })),
        "{call:?}"
    );
    let sms = NewSms {
        to: SEEKER.to_owned(),
        from: SERVICE.to_owned(),
        body: "hi".to_owned(),
    };
    let text = twilio.send_sms(&sms).await;
    assert!(
        matches!(text, Err(ProviderError::InvalidNumber { code: 21211 })),
        "{text:?}"
    );
    assert_eq!(fake.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn a_missing_parameter_is_rejected_with_its_code() {
    let fake = FakeTwilio::start().await;
    let result = client(&fake).create_call(&new_call("")).await;
    assert!(
        matches!(
            result,
            Err(ProviderError::Rejected {
                status: 400,
                code: 21201
            })
        ),
        "{result:?}"
    );
    let mut no_url = new_call(MENTOR);
    no_url.url = String::new();
    let result = client(&fake).create_call(&no_url).await;
    assert!(
        matches!(
            result,
            Err(ProviderError::Rejected {
                status: 400,
                code: 21205
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn rate_limiting_is_reported_after_the_retries() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(3, Failure::RateLimited);
    let result = client(&fake).create_call(&new_call(MENTOR)).await;
    assert!(
        matches!(result, Err(ProviderError::RateLimited)),
        "{result:?}"
    );
    assert_eq!(count(&fake, "POST", &calls_path(&fake)), 3);
    assert!(fake.requests().iter().all(|request| request.status == 429));
    assert!(fake.created_calls().is_empty());
}

#[tokio::test]
async fn a_server_error_on_a_read_is_typed_after_the_retries() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake);
    let created = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");
    fake.fail_next(3, Failure::Status(500));
    let result = twilio.fetch_call(&created.sid).await;
    assert!(
        matches!(result, Err(ProviderError::Server { status: 500 })),
        "{result:?}"
    );
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|request| request.method == "GET")
            .count(),
        3
    );
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn a_429_then_success_creates_one_call() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(1, Failure::RateLimited);
    let created = client(&fake)
        .create_call(&new_call(MENTOR))
        .await
        .expect("created on the retry");
    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [429, 201]);
    let calls = fake.created_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].sid, created.sid);
}

#[tokio::test]
async fn a_503_on_create_is_retried() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(1, Failure::Status(503));
    client(&fake)
        .create_call(&new_call(MENTOR))
        .await
        .expect("created on the retry");
    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [503, 201]);
    assert_eq!(fake.created_calls().len(), 1);
}

#[tokio::test]
async fn a_500_on_create_is_not_retried() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(1, Failure::Status(500));
    let result = client(&fake).create_call(&new_call(MENTOR)).await;
    assert!(
        matches!(result, Err(ProviderError::Server { status: 500 })),
        "{result:?}"
    );
    assert_eq!(
        count(&fake, "POST", &calls_path(&fake)),
        1,
        "a 500 may have created the call"
    );
}

#[tokio::test]
async fn a_timeout_after_sending_a_create_is_an_unknown_outcome_never_reposted() {
    let fake = FakeTwilio::start().await;
    // The fake creates the call, then answers only after the client gave up.
    fake.fail_next(1, Failure::Delay(Duration::from_secs(2)));
    let impatient = TwilioClient::with_timeout(
        TwilioConfig {
            api_base: fake.base_url().to_owned(),
            account_sid: fake.account_sid().to_owned(),
            auth_token: Secret::new(fake.auth_token()),
        },
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(1),
        },
        Duration::from_millis(300),
    )
    .expect("client");
    let result = impatient.create_call(&new_call(MENTOR)).await;
    assert!(
        matches!(result, Err(ProviderError::OutcomeUnknown)),
        "{result:?}"
    );
    assert_eq!(
        count(&fake, "POST", &calls_path(&fake)),
        1,
        "never re-posted"
    );
    assert_eq!(
        fake.created_calls().len(),
        1,
        "the call exists and must be reconciled"
    );
}

#[tokio::test]
async fn a_connection_closed_after_sending_a_create_is_an_unknown_outcome_never_reposted() {
    let fake = FakeTwilio::start().await;
    fake.fail_next(1, Failure::CloseConnection);
    let result = client(&fake).create_call(&new_call(MENTOR)).await;
    assert!(
        matches!(result, Err(ProviderError::OutcomeUnknown)),
        "{result:?}"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "never re-posted");
    assert_eq!(requests[0].status, 0, "no answer was sent");
    assert_eq!(fake.created_calls().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address")
    };
    let twilio = client_for(
        &format!("http://{closed}"),
        "AC0123456789abcdef0123456789abcdef",
        "token",
    );
    let result = twilio.create_call(&new_call(MENTOR)).await;
    assert!(
        matches!(result, Err(ProviderError::Unreachable)),
        "{result:?}"
    );
    assert!(result.expect_err("failed").nothing_happened());
}

#[tokio::test]
async fn a_read_is_retried_after_a_500() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake);
    let created = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");
    fake.fail_next(1, Failure::Status(500));
    let fetched = twilio
        .fetch_call(&created.sid)
        .await
        .expect("fetched on the retry");
    assert_eq!(fetched.sid, created.sid);
    let gets: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .map(|request| request.status)
        .collect();
    assert_eq!(gets, [500, 200]);
}

#[tokio::test]
async fn a_read_is_retried_after_a_dropped_connection() {
    let fake = FakeTwilio::start().await;
    let twilio = client(&fake);
    let created = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");
    fake.fail_next(1, Failure::CloseConnection);
    twilio
        .fetch_call(&created.sid)
        .await
        .expect("fetched on the retry");
    let gets: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .map(|request| request.status)
        .collect();
    assert_eq!(gets, [0, 200]);
}

// ---------------------------------------------------------------- signatures

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/twilio/signature_vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {path}: {error}"));
    serde_json::from_str(&text).expect("vectors are JSON")
}

/// A vector's params: a list value is a repeated form key.
fn vector_params(params: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in params.as_object().expect("params object") {
        match value {
            Value::Array(values) => out.extend(
                values
                    .iter()
                    .map(|value| (name.clone(), value.as_str().expect("string").to_owned())),
            ),
            value => out.push((name.clone(), value.as_str().expect("string").to_owned())),
        }
    }
    out
}

#[test]
fn every_form_vector_signs_and_verifies() {
    let vectors = vectors();
    let token = vectors["auth_token"].as_str().expect("token");
    let forms = vectors["form"].as_array().expect("form vectors");
    assert!(forms.len() >= 8, "all vectors present");
    for vector in forms {
        let case = vector["case"].as_str().expect("case");
        let url = vector["url"].as_str().expect("url");
        let expected = vector["signature"].as_str().expect("signature");
        let params = vector_params(&vector["params"]);
        assert_eq!(sign(token, url, &params), expected, "sign: {case}");
        assert!(verify(token, url, &params, expected), "verify: {case}");
        let mut reversed = params.clone();
        reversed.reverse();
        assert!(
            verify(token, url, &reversed, expected),
            "order of params does not matter: {case}"
        );
    }
}

#[test]
fn a_signature_is_accepted_with_or_without_the_default_port() {
    let vectors = vectors();
    let token = vectors["auth_token"].as_str().expect("token");
    let basic = &vectors["form"][0];
    let params = vector_params(&basic["params"]);
    let signature = basic["signature"].as_str().expect("signature");
    // The vector signs the URL without a port; Twilio may present it with :443.
    assert!(verify(
        token,
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        &params,
        signature
    ));
    // Only the port may vary: not the scheme, not the host.
    assert!(!verify(
        token,
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        &params,
        signature
    ));
    assert!(!verify(
        token,
        "https://mycompany.net/myapp.php?foo=1&bar=2",
        &params,
        signature
    ));
}

#[test]
fn the_json_body_vector_verifies() {
    let vectors = vectors();
    let token = vectors["auth_token"].as_str().expect("token");
    let json_vectors = vectors["json_body"].as_array().expect("json vectors");
    assert!(!json_vectors.is_empty());
    for vector in json_vectors {
        let url = vector["url"].as_str().expect("url");
        let body = vector["body"].as_str().expect("body").as_bytes();
        let signature = vector["signature"].as_str().expect("signature");
        assert!(
            verify_json(token, url, body, signature),
            "{}",
            vector["case"]
        );
        assert!(
            !verify_json(
                token,
                url,
                b"{\"property\": \"other\", \"boolean\": true}",
                signature
            ),
            "altered body"
        );
        assert!(!verify_json("54321", url, body, signature), "other token");
        let no_hash = url.split("&bodySHA256=").next().expect("url");
        assert!(
            !verify_json(token, no_hash, body, signature),
            "hash missing from the URL"
        );
    }
}

#[test]
fn forged_or_altered_requests_fail_verification() {
    let vectors = vectors();
    let token = vectors["auth_token"].as_str().expect("token");
    let basic = &vectors["form"][0];
    let url = basic["url"].as_str().expect("url");
    let params = vector_params(&basic["params"]);
    let signature = basic["signature"].as_str().expect("signature");

    let mut altered = params.clone();
    altered
        .iter_mut()
        .find(|(name, _)| name == "Digits")
        .expect("Digits")
        .1 = "1".to_owned();
    assert!(
        !verify(token, url, &altered, signature),
        "altered parameter"
    );
    let mut added = params.clone();
    added.push(("Extra".to_owned(), "1".to_owned()));
    assert!(!verify(token, url, &added, signature), "added parameter");
    let removed: Vec<_> = params
        .iter()
        .filter(|(name, _)| name != "Caller")
        .cloned()
        .collect();
    assert!(
        !verify(token, url, &removed, signature),
        "removed parameter"
    );
    assert!(
        !verify(
            token,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            signature
        ),
        "other URL"
    );
    assert!(!verify("54321", url, &params, signature), "other token");
    assert!(!verify(token, url, &params, ""), "no signature");
    let forged = sign("guessed-token", url, &params);
    assert!(
        !verify(token, url, &params, &forged),
        "signed with the wrong token"
    );
}

// ---------------------------------------------------------------- the player

/// One request the test app received.
#[derive(Clone, Debug)]
struct AppHit {
    path: String,
    params: Vec<(String, String)>,
    signed: bool,
}

struct AppState {
    base: String,
    auth_token: String,
    hits: Mutex<Vec<AppHit>>,
}

/// A tiny TwiML app: announce and gather; on 1 dial the seeker; thank after.
struct TwimlApp {
    state: Arc<AppState>,
    _server: tokio::task::JoinHandle<()>,
}

impl TwimlApp {
    async fn start(auth_token: &str) -> TwimlApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the app");
        let state = Arc::new(AppState {
            base: format!("http://{}", listener.local_addr().expect("address")),
            auth_token: auth_token.to_owned(),
            hits: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(app_webhook)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TwimlApp {
            state,
            _server: server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.state.base)
    }

    fn hits(&self) -> Vec<AppHit> {
        self.state.hits.lock().expect("hits").clone()
    }

    fn call_to(&self, to: &str, voice_path: &str) -> NewCall {
        NewCall {
            to: to.to_owned(),
            from: SERVICE.to_owned(),
            url: self.url(voice_path),
            status_callback: self.url("/status?leg=mentor"),
            timeout_seconds: 25,
            time_limit_seconds: 1200,
        }
    }
}

const ANNOUNCEMENT: &str = "Ada would like help with interview practice. Press 1 to connect.";

async fn app_webhook(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let url = format!("{}{uri}", state.base);
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let signed = verify(&state.auth_token, &url, &params, signature);
    let digits = params
        .iter()
        .find(|(name, _)| name == "Digits")
        .map(|(_, value)| value.clone());
    state.hits.lock().expect("hits").push(AppHit {
        path: uri.path().to_owned(),
        params,
        signed,
    });
    let twiml = match uri.path() {
        "/voice" => Twiml::new()
            .gather(
                &Gather {
                    action: &format!("{}/gather", state.base),
                    num_digits: 1,
                    timeout_seconds: 6,
                    any_key: false,
                },
                |t| t.say(ANNOUNCEMENT),
            )
            .say("No problem. Goodbye.")
            .build(),
        "/gather" if digits.as_deref() == Some("1") => Twiml::new()
            .dial(&Dial {
                caller_id: SERVICE,
                timeout_seconds: 20,
                time_limit_seconds: 900,
                action: &format!("{}/dial", state.base),
                number: SEEKER,
                number_status_callback: &format!("{}/status?leg=seeker", state.base),
                number_url: None,
            })
            .build(),
        "/gather" => Twiml::new().say("No problem. Goodbye.").hangup().build(),
        "/dial" => Twiml::new()
            .say("Thank you for mentoring.")
            .hangup()
            .build(),
        "/status" => return StatusCode::NO_CONTENT.into_response(),
        _ => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    ([("content-type", "text/xml")], twiml).into_response()
}

/// Plays one call to `to` by `script` through the client and the fake.
async fn play_one(
    script: CallScript,
    voice_path: &str,
) -> (FakeTwilio, TwimlApp, String, PlayReport) {
    let fake = FakeTwilio::start().await;
    let app = TwimlApp::start(fake.auth_token()).await;
    fake.script_for(MENTOR, script);
    let sid = client(&fake)
        .create_call(&app.call_to(MENTOR, voice_path))
        .await
        .expect("created")
        .sid;
    let mut reports = fake.wait_for_plays(1).await;
    (fake, app, sid, reports.remove(0))
}

fn path_of(hit: &WebhookHit) -> String {
    let url = reqwest::Url::parse(&hit.url).expect("a URL");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn param<'a>(hit: &'a WebhookHit, name: &str) -> &'a str {
    hit.param(name)
        .unwrap_or_else(|| panic!("{name} missing from {}", hit.url))
}

#[tokio::test]
async fn a_bridged_call_plays_like_twilio() {
    let script = CallScript {
        mentor: MentorScript::Answers { presses: Some('1') },
        seeker: SeekerScript::Answers { talk_seconds: 42 },
        mentor_hangs_up_during_announcement: false,
        mentor_after_call: None,
    };
    let (fake, app, sid, report) = play_one(script, "/voice").await;

    let paths: Vec<String> = report.requests.iter().map(path_of).collect();
    assert_eq!(
        paths,
        [
            "/status?leg=mentor",
            "/status?leg=mentor",
            "/status?leg=mentor",
            "/voice",
            "/gather",
            "/status?leg=seeker",
            "/status?leg=seeker",
            "/status?leg=seeker",
            "/status?leg=seeker",
            "/dial",
            "/status?leg=mentor",
        ]
    );
    assert!(
        report
            .requests
            .iter()
            .all(|hit| (200..300).contains(&hit.status)),
        "{:?}",
        report.requests
    );
    assert_eq!(report.mentor_status, "completed");
    assert_eq!(report.heard, [ANNOUNCEMENT, "Thank you for mentoring."]);
    assert_eq!(report.application_error, None);

    // The app saw the same requests, every one correctly signed.
    let hits = app.hits();
    assert_eq!(hits.len(), report.requests.len());
    assert!(hits.iter().all(|hit| hit.signed), "{hits:?}");
    for (hit, sent) in hits.iter().zip(&report.requests) {
        assert_eq!(Some(hit.path.as_str()), path_of(sent).split('?').next());
        assert_eq!(sorted(hit.params.clone()), sorted(sent.params.clone()));
    }

    // Parent leg: status callbacks in sequence, with Twilio's fields.
    let mentor: Vec<&WebhookHit> = report
        .requests
        .iter()
        .filter(|hit| path_of(hit) == "/status?leg=mentor")
        .collect();
    let statuses: Vec<&str> = mentor.iter().map(|hit| param(hit, "CallStatus")).collect();
    assert_eq!(
        statuses,
        ["initiated", "ringing", "in-progress", "completed"]
    );
    for (sequence, hit) in mentor.iter().enumerate() {
        assert_eq!(param(hit, "SequenceNumber"), sequence.to_string());
        assert_eq!(param(hit, "CallSid"), sid);
        assert_eq!(param(hit, "AccountSid"), fake.account_sid());
        assert_eq!(param(hit, "From"), SERVICE);
        assert_eq!(param(hit, "To"), MENTOR);
        assert_eq!(param(hit, "Direction"), "outbound-api");
        assert_eq!(param(hit, "ApiVersion"), "2010-04-01");
        assert_eq!(param(hit, "CallbackSource"), "call-progress-events");
        assert!(chrono::DateTime::parse_from_rfc2822(param(hit, "Timestamp")).is_ok());
        assert_eq!(
            hit.param("CallDuration").is_some(),
            sequence == 3,
            "only the final one has a duration"
        );
    }
    let mentor_seconds: u32 = param(mentor[3], "CallDuration").parse().expect("seconds");
    assert!(
        mentor_seconds > 42,
        "the mentor leg outlasts the bridge: {mentor_seconds}"
    );

    // The TwiML fetch and the gather carry the call; the gather has the digit.
    let voice = &report.requests[3];
    assert_eq!(param(voice, "CallStatus"), "in-progress");
    assert_eq!(param(voice, "CallSid"), sid);
    assert_eq!(voice.param("Digits"), None);
    assert_eq!(param(&report.requests[4], "Digits"), "1");

    // Child leg.
    let leg = report.dialed.clone().expect("a dialed leg");
    assert_eq!(leg.number, SEEKER);
    assert_eq!(leg.caller_id, SERVICE);
    assert_eq!(leg.status, "completed");
    assert_eq!(leg.duration_seconds, 42);
    assert_eq!(leg.time_limit, Some(900));
    assert_eq!(leg.timeout, Some(20));
    assert!(leg.answer_on_bridge);
    assert!(leg.sid.starts_with("CA") && leg.sid != sid);
    let seeker: Vec<&WebhookHit> = report
        .requests
        .iter()
        .filter(|hit| path_of(hit) == "/status?leg=seeker")
        .collect();
    let statuses: Vec<&str> = seeker.iter().map(|hit| param(hit, "CallStatus")).collect();
    assert_eq!(
        statuses,
        ["initiated", "ringing", "in-progress", "completed"]
    );
    for (sequence, hit) in seeker.iter().enumerate() {
        assert_eq!(param(hit, "SequenceNumber"), sequence.to_string());
        assert_eq!(param(hit, "CallSid"), leg.sid);
        assert_eq!(param(hit, "ParentCallSid"), sid);
        assert_eq!(param(hit, "Direction"), "outbound-dial");
        assert_eq!(param(hit, "From"), SERVICE);
        assert_eq!(param(hit, "To"), SEEKER);
    }
    assert_eq!(param(seeker[3], "CallDuration"), "42");

    // The Dial action.
    let dial = &report.requests[9];
    assert_eq!(param(dial, "DialCallStatus"), "completed");
    assert_eq!(param(dial, "DialCallSid"), leg.sid);
    assert_eq!(param(dial, "DialCallDuration"), "42");
    assert_eq!(param(dial, "DialBridged"), "true");
    assert_eq!(param(dial, "CallSid"), sid);
    assert_eq!(param(dial, "CallStatus"), "in-progress");

    // The fake's books follow the play: the parent's outcome and the child leg.
    let twilio = client(&fake);
    let parent = twilio.fetch_call(&sid).await.expect("fetched");
    assert_eq!(parent.status, "completed");
    assert_eq!(parent.duration, Some(mentor_seconds));
    let children = twilio
        .list_calls(&CallQuery {
            parent_call_sid: Some(sid.clone()),
            ..CallQuery::default()
        })
        .await
        .expect("listed");
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].sid, leg.sid);
    assert_eq!(children[0].parent_call_sid.as_deref(), Some(sid.as_str()));
    assert_eq!(children[0].duration, Some(42));
}

#[tokio::test]
async fn silence_at_the_gather_reports_an_empty_result() {
    let script = CallScript {
        mentor: MentorScript::Answers { presses: None },
        ..CallScript::default()
    };
    let (_fake, _app, _sid, report) = play_one(script, "/voice").await;
    let paths: Vec<String> = report.requests.iter().map(path_of).collect();
    assert_eq!(paths[3..], ["/voice", "/gather", "/status?leg=mentor"]);
    assert_eq!(
        report.requests[4].param("Digits"),
        None,
        "actionOnEmptyResult posts without Digits"
    );
    assert_eq!(report.heard, [ANNOUNCEMENT, "No problem. Goodbye."]);
    assert_eq!(report.dialed, None);
    assert_eq!(report.mentor_status, "completed");
}

#[tokio::test]
async fn an_unanswered_mentor_leg_never_fetches_twiml() {
    for (mentor, status) in [
        (MentorScript::NoAnswer, "no-answer"),
        (MentorScript::Busy, "busy"),
        (MentorScript::Fails, "failed"),
    ] {
        let script = CallScript {
            mentor,
            ..CallScript::default()
        };
        let (fake, _app, sid, report) = play_one(script, "/voice").await;
        assert_eq!(report.mentor_status, status);
        assert!(
            report
                .requests
                .iter()
                .all(|hit| path_of(hit) == "/status?leg=mentor")
        );
        let last = report.requests.last().expect("callbacks");
        assert_eq!(param(last, "CallStatus"), status);
        assert_eq!(param(last, "CallDuration"), "0");
        assert!(report.heard.is_empty());
        assert_eq!(fake.created_calls()[0].sid, sid);
        assert_eq!(fake.created_calls()[0].status, status);
    }
}

#[tokio::test]
async fn a_seeker_who_does_not_answer_is_reported_to_the_dial_action() {
    for (seeker, status) in [
        (SeekerScript::NoAnswer, "no-answer"),
        (SeekerScript::Busy, "busy"),
        (SeekerScript::Fails, "failed"),
    ] {
        let script = CallScript {
            seeker,
            ..CallScript::default()
        };
        let (_fake, _app, _sid, report) = play_one(script, "/voice").await;
        let dial = report
            .requests
            .iter()
            .find(|hit| path_of(hit) == "/dial")
            .expect("the dial action");
        assert_eq!(param(dial, "DialCallStatus"), status);
        assert_eq!(param(dial, "DialCallDuration"), "0");
        assert_eq!(param(dial, "DialBridged"), "false");
        let leg = report.dialed.expect("a dialed leg");
        assert_eq!(leg.status, status);
        assert_eq!(leg.duration_seconds, 0);
        assert_eq!(report.mentor_status, "completed");
    }
}

#[tokio::test]
async fn a_failing_twiml_webhook_ends_the_call() {
    let (_fake, _app, _sid, report) = play_one(CallScript::default(), "/broken").await;
    let paths: Vec<String> = report.requests.iter().map(path_of).collect();
    assert_eq!(paths[3..], ["/broken", "/status?leg=mentor"]);
    assert_eq!(report.requests[3].status, 500);
    assert!(report.application_error.is_some());
    assert_eq!(
        param(report.requests.last().expect("hits"), "CallStatus"),
        "completed"
    );
    assert!(report.heard.is_empty());
}

#[tokio::test]
async fn a_mentor_hanging_up_during_the_announcement_ends_the_call() {
    let script = CallScript {
        mentor_hangs_up_during_announcement: true,
        ..CallScript::default()
    };
    let (_fake, _app, _sid, report) = play_one(script, "/voice").await;
    let paths: Vec<String> = report.requests.iter().map(path_of).collect();
    assert_eq!(paths[3..], ["/voice", "/status?leg=mentor"]);
    assert_eq!(report.mentor_status, "completed");
    assert_eq!(report.dialed, None);
    assert_eq!(report.application_error, None);
}

#[tokio::test]
async fn a_failing_status_callback_does_not_end_the_call() {
    let fake = FakeTwilio::start().await;
    let app = TwimlApp::start(fake.auth_token()).await;
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address")
    };
    fake.script_for(MENTOR, CallScript::default());
    let mut call = app.call_to(MENTOR, "/voice");
    call.status_callback = format!("http://{closed}/status");
    client(&fake).create_call(&call).await.expect("created");
    let report = fake.wait_for_plays(1).await.remove(0);

    assert_eq!(report.mentor_status, "completed");
    assert_eq!(report.application_error, None);
    assert!(report.dialed.is_some(), "the bridge went ahead");
    let unanswered: Vec<&str> = report
        .requests
        .iter()
        .filter(|hit| hit.status == 0)
        .map(|hit| param(hit, "CallStatus"))
        .collect();
    assert_eq!(
        unanswered,
        ["initiated", "ringing", "in-progress", "completed"]
    );
}

#[tokio::test]
async fn the_realistic_pace_passes_scaled_time() {
    let token = "realistic-token";
    let app = TwimlApp::start(token).await;
    let player = Player::new(token, Pace::Realistic { speedup: 1000 });
    let call = PlayedCall {
        sid: new_call_sid(),
        account_sid: "AC0123456789abcdef0123456789abcdef".to_owned(),
        from: SERVICE.to_owned(),
        to: MENTOR.to_owned(),
        url: app.url("/voice"),
        status_callback: Some(app.url("/status?leg=mentor")),
    };
    let started = std::time::Instant::now();
    let report = player.play(call, CallScript::default()).await;
    // Two rings (6 s each), a minute of talk and the speech: over 72 simulated seconds.
    assert!(
        started.elapsed() >= Duration::from_millis(72),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.mentor_status, "completed");
    assert_eq!(report.dialed.expect("dialed").duration_seconds, 60);
    assert!(app.hits().iter().all(|hit| hit.signed));
}

#[tokio::test]
async fn the_fake_can_keep_the_apps_time() {
    let fake = FakeTwilio::start().await;
    let app_now = chrono::DateTime::parse_from_rfc3339("2031-03-04T05:06:07Z")
        .expect("instant")
        .with_timezone(&chrono::Utc);
    fake.use_clock(ridealong::clock::ManualClock::new(app_now));
    let twilio = client(&fake);
    let created = twilio
        .create_call(&new_call(MENTOR))
        .await
        .expect("created");
    assert_eq!(fake.created_calls()[0].created_at, app_now);

    let since = CallQuery {
        started_after: Some(app_now),
        ..CallQuery::default()
    };
    let listed = twilio.list_calls(&since).await.expect("listed");
    assert_eq!(
        listed
            .iter()
            .map(|call| call.sid.as_str())
            .collect::<Vec<_>>(),
        [created.sid.as_str()]
    );
    let later = CallQuery {
        started_after: Some(app_now + chrono::TimeDelta::days(2)),
        ..CallQuery::default()
    };
    assert!(twilio.list_calls(&later).await.expect("listed").is_empty());
}
