//! Outbound webhooks (Standard Webhooks): the real app posts `call.ended`,
//! `request.updated` and `feedback.received` events to a receiver in the test, a small axum server that
//! records every post and answers as the test says.
//!
//! Every post is checked with an implementation of the specification written
//! here (hmac, sha2 and base64 directly) and, when
//! `RIDEALONG_STANDARDWEBHOOKS_PYTHON` names a python with the PyPI package
//! `standardwebhooks` installed, with that reference library too. The reference
//! checks the timestamp against the app's clock (which the tests set), not the
//! machine's.
//!
//! Time moves with the app's clock and passes run with `deliver_webhooks_now`;
//! nothing sleeps. The two-instance tests run on PostgreSQL only.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::{PgPool, Postgres, Transaction};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{
    ADMIN_TOKEN, TestApp, at, default_now, mentor_body, request_body, test_config,
};
use ridealong::app::App;
use ridealong::clock::{Clock, ManualClock};
use ridealong::scheduler::webhooks::WebhookConfig;
use ridealong::store::Store;
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
/// Monday 2026-11-30 10:00 in New York: the first slot the matcher books.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// The environment variable naming a python with `standardwebhooks` installed.
const REFERENCE_PYTHON: &str = "RIDEALONG_STANDARDWEBHOOKS_PYTHON";
/// How long a test waits for something that should take milliseconds before it
/// fails: a bound on a hang, not a pace.
const BOUND: Duration = Duration::from_secs(30);

/// One post the receiver got.
#[derive(Clone, Debug)]
pub struct Post {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// `content-type`.
    pub content_type: String,
    /// The body as received.
    pub body: String,
    /// The body as JSON.
    pub json: Value,
}

impl Post {
    /// The event's request.
    pub fn request_id(&self) -> i64 {
        self.json["data"]["request_id"]
            .as_i64()
            .expect("a request id")
    }

    /// The event's type.
    pub fn kind(&self) -> &str {
        self.json["type"].as_str().expect("a type")
    }
}

/// How the receiver answers a post.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// This status, at once.
    Status(u16),
    /// Never: the sender's timeout ends it.
    Hang,
}

type Answering = Box<dyn FnMut(&Post) -> Answer + Send>;

struct ReceiverState {
    posts: Mutex<Vec<Post>>,
    answering: Mutex<Answering>,
}

/// A webhook receiver on a port of its own, with a fresh `whsec_` secret.
pub struct Receiver {
    /// Where it listens.
    pub url: String,
    /// The secret the app signs with.
    pub secret: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    /// Starts a receiver that answers 204 to every post.
    pub async fn start() -> Receiver {
        let state = Arc::new(ReceiverState {
            posts: Mutex::new(Vec::new()),
            answering: Mutex::new(Box::new(|_| Answer::Status(204))),
        });
        let router = Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            url: format!("http://{address}/hooks"),
            secret: format!("whsec_{}", STANDARD.encode(rand::random::<[u8; 32]>())),
            state,
        }
    }

    /// Answers each post from now on with what `answering` says.
    pub fn answer_with(&self, answering: impl FnMut(&Post) -> Answer + Send + 'static) {
        *self.state.answering.lock().expect("lock") = Box::new(answering);
    }

    /// Every post so far, in the order they arrived.
    pub fn posts(&self) -> Vec<Post> {
        self.state.posts.lock().expect("lock").clone()
    }

    /// The app's webhook settings for this receiver: posts time out after
    /// `timeout`, and only the pass at start-up and `deliver_webhooks_now` run.
    pub fn config(&self, timeout: Duration) -> WebhookConfig {
        let mut config = WebhookConfig::parse(&self.url, Some(&self.secret)).expect("valid");
        config.timeout = timeout;
        config.interval = Duration::from_secs(3600);
        config
    }

    /// Checks that every post so far is signed with the secret, with the
    /// independent implementation below and, when configured, the reference
    /// library, both as of the instant `sent_at` says each post was sent on the
    /// app's clock.
    pub fn assert_all_signed(&self, sent_at: impl Fn(&Post) -> DateTime<Utc>) {
        let posts = self.posts();
        assert!(!posts.is_empty(), "nothing was posted");
        for post in &posts {
            assert_eq!(post.content_type, "application/json", "{post:?}");
            verify(&self.secret, post, sent_at(post))
                .unwrap_or_else(|error| panic!("{error}: {post:?}"));
            reference_verify(&self.secret, std::slice::from_ref(post), sent_at(post));
        }
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let body = String::from_utf8(body.to_vec()).expect("a UTF-8 body");
    let post = Post {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        json: serde_json::from_str(&body).expect("a JSON body"),
        body,
    };
    let answer = (state.answering.lock().expect("lock"))(&post);
    state.posts.lock().expect("lock").push(post);
    match answer {
        Answer::Status(status) => StatusCode::from_u16(status).expect("a status"),
        Answer::Hang => std::future::pending().await,
    }
}

/// The specification's check, written from its text: the id is present, the
/// timestamp is unix seconds within five minutes of `now`, and one of the
/// space-separated `v1,` signatures is the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the base64-decoded part of the secret after
/// `whsec_` (compared in constant time by `verify_slice`).
fn verify(secret: &str, post: &Post, now: DateTime<Utc>) -> Result<(), String> {
    if !post.id.starts_with("msg_") || post.id.contains('.') {
        return Err(format!("webhook-id {:?}", post.id));
    }
    let sent: i64 = post
        .timestamp
        .parse()
        .map_err(|_| format!("webhook-timestamp {:?}", post.timestamp))?;
    if (sent - now.timestamp()).abs() > 300 {
        return Err(format!("webhook-timestamp {sent} is not near {now}"));
    }
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64");
    let signed = format!("{}.{}.{}", post.id, post.timestamp, post.body);
    for signature in post.signature.split(' ') {
        let Some(("v1", value)) = signature.split_once(',') else {
            continue;
        };
        let Ok(bytes) = STANDARD.decode(value) else {
            continue;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("a key");
        mac.update(signed.as_bytes());
        if mac.verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err("no v1 signature matches".to_owned())
}

/// Verifies `posts` with the reference library (`standardwebhooks` from PyPI),
/// its clock set to `now`, and checks that it refuses each one with its body
/// changed; skipped with a note when no such python is configured.
fn reference_verify(secret: &str, posts: &[Post], now: DateTime<Utc>) {
    let Some(python) = std::env::var(REFERENCE_PYTHON)
        .ok()
        .filter(|python| !python.is_empty())
    else {
        eprintln!("{REFERENCE_PYTHON} is not set: the reference library is not consulted");
        return;
    };
    const SCRIPT: &str = r#"
import json, sys
from datetime import datetime
import standardwebhooks.webhooks as reference

given = json.load(sys.stdin)

class AppClock(datetime):
    """The app's clock, which the tests set, for the timestamp's tolerance."""
    @classmethod
    def now(cls, tz=None):
        return datetime.fromtimestamp(given["now"], tz=tz)

reference.datetime = AppClock
webhook = reference.Webhook(given["secret"])
for post in given["posts"]:
    webhook.verify(post["body"], post["headers"])
    try:
        webhook.verify(post["body"] + " ", post["headers"])
    except reference.WebhookVerificationError:
        pass
    else:
        sys.exit("a changed body verified")
print(len(given["posts"]), "verified")
"#;
    let input = json!({
        "secret": secret,
        "now": now.timestamp(),
        "posts": posts.iter().map(|post| json!({
            "body": post.body,
            "headers": {
                "webhook-id": post.id,
                "webhook-timestamp": post.timestamp,
                "webhook-signature": post.signature,
            },
        })).collect::<Vec<_>>(),
    });
    let mut child = std::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{REFERENCE_PYTHON}={python} does not run: {error}"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("write to python");
    }
    let output = child.wait_with_output().expect("python finishes");
    assert!(
        output.status.success(),
        "the reference library refused a post:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said.trim(), format!("{} verified", posts.len()));
}

/// A test app with webhooks posting to `receiver`, at Monday 2026-11-30 12:00 UTC.
async fn app_posting_to(receiver: &Receiver) -> TestApp {
    let config = receiver.config(Duration::from_secs(10));
    TestApp::spawn_with(default_now(), move |app| app.webhooks = Some(config)).await
}

/// The app's outbox rows as (id, webhook id, request id, status, attempts,
/// last error, last status code), in outbox order.
async fn outbox(store: &Store) -> Vec<OutboxRow> {
    const SQL: &str = "select id, webhook_id, request_id, status, attempts, last_error,
                              last_status_code
                       from webhook_events order by id";
    match store {
        Store::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
        Store::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
    }
    .expect("read the outbox")
}

/// An outbox row: (id, webhook id, request id, status, attempts, last error,
/// last status code).
type OutboxRow = (i64, String, i64, String, i32, Option<String>, Option<i32>);

/// The `/metrics` count of `ridealong_webhook_deliveries_total{result}`, or 0;
/// the exposition passes `promtool check metrics` when `RIDEALONG_PROMTOOL` is set.
async fn deliveries_counted(app: &TestApp, result: &str) -> u64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    crate::metrics::promtool_accepts(&text);
    let prefix = format!("ridealong_webhook_deliveries_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |count| count.parse().expect("a count"))
}

/// A mentor with a weekday 10:00-10:30 New York window and a seeker's request
/// booked into its first slot; returns the request's id.
async fn booked(app: &TestApp) -> i64 {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let created = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["call"]["starts_at"], FIRST_SLOT, "{request}");
    created["id"].as_i64().expect("request id")
}

/// A call that is booked, placed through a fake Twilio, answered, bridged and
/// talked through for nine minutes; the events of it are delivered. Returns
/// the app, the fake, the receiver and the request's id.
async fn a_completed_call() -> (TestApp, FakeTwilio, Receiver, i64) {
    let receiver = Receiver::start().await;
    let config = receiver.config(Duration::from_secs(10));
    let (app, fake) =
        TestApp::spawn_with_fake_twilio_and(move |app| app.webhooks = Some(config)).await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::Answers { talk_seconds: 540 },
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    let request_id = booked(&app).await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    let report = app.deliver_webhooks_now().await;
    assert_eq!(report.delivered, 4, "{report:?}");
    (app, fake, receiver, request_id)
}

#[tokio::test]
async fn a_call_that_ends_and_each_status_change_of_its_request_are_posted_in_order_and_signed() {
    let (app, _fake, receiver, request_id) = a_completed_call().await;
    receiver.assert_all_signed(|_| app.clock.now());
    let posts = receiver.posts();
    let seen: Vec<(String, Value, Value)> = posts
        .iter()
        .map(|post| {
            (
                post.kind().to_owned(),
                post.json["data"]["previous_status"].clone(),
                post.json["data"]["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("request.updated".to_owned(), Value::Null, json!("pending")),
            (
                "request.updated".to_owned(),
                json!("pending"),
                json!("scheduled")
            ),
            ("call.ended".to_owned(), Value::Null, Value::Null),
            (
                "request.updated".to_owned(),
                json!("scheduled"),
                json!("completed")
            ),
        ]
    );
    assert!(posts.iter().all(|post| post.request_id() == request_id));
    let booked = &posts[1].json["data"]["call"];
    assert_eq!(booked["starts_at"], FIRST_SLOT, "{booked}");
    let ended = &posts[2].json;
    assert_eq!(ended["data"]["outcome"], "completed", "{ended}");
    assert_eq!(ended["data"]["talk_seconds"], 540, "{ended}");
    assert_eq!(ended["data"]["starts_at"], FIRST_SLOT, "{ended}");
    assert_eq!(ended["data"]["call_id"], booked["id"], "{ended}");
    assert!(
        ended["timestamp"].as_str().expect("timestamp") >= FIRST_SLOT,
        "{ended}"
    );
    assert_eq!(
        posts[0].json["timestamp"], "2026-11-30T12:00:00Z",
        "an event's timestamp is when it happened"
    );
    let ids: HashSet<&str> = posts.iter().map(|post| post.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "each event has its own webhook-id");
    assert!(
        posts
            .iter()
            .all(|post| post.timestamp == app.clock.now().timestamp().to_string()),
        "webhook-timestamp is the attempt's time on the app's clock"
    );
    assert_eq!(app.deliver_webhooks_now().await.delivered, 0, "once each");
    assert_eq!(deliveries_counted(&app, "delivered").await, 4);
    app.stop().await;
}

/// The seeker of the completed call answers the feedback question with `body`
/// at `instant`; the ask went out when the call ended.
async fn seeker_replies(app: &TestApp, fake: &FakeTwilio, body: &str, instant: &str) {
    app.notify_due().await;
    app.clock.set(at(instant));
    app.text_service_number(fake.auth_token(), SEEKER_PHONE, body)
        .await;
}

#[tokio::test]
async fn each_feedback_answer_is_posted_as_feedback_received_with_ids_score_and_times() {
    let (app, fake, receiver, request_id) = a_completed_call().await;
    seeker_replies(&app, &fake, "4", "2026-11-30T18:00:00Z").await;
    assert_eq!(app.deliver_webhooks_now().await.delivered, 1);
    seeker_replies(&app, &fake, "2", "2026-11-30T19:00:00Z").await;
    assert_eq!(app.deliver_webhooks_now().await.delivered, 1);
    // A digit that answers nothing (a 6) posts nothing.
    seeker_replies(&app, &fake, "6", "2026-11-30T19:30:00Z").await;
    assert_eq!(app.deliver_webhooks_now().await.delivered, 0);

    let posts = receiver.posts();
    let call_id = posts[2].json["data"]["call_id"].clone();
    let feedback: Vec<&Post> = posts
        .iter()
        .filter(|post| post.kind() == "feedback.received")
        .collect();
    assert_eq!(feedback.len(), 2, "{posts:?}");
    assert_eq!(
        feedback[0].json,
        json!({
            "type": "feedback.received",
            "timestamp": "2026-11-30T18:00:00Z",
            "data": {
                "call_id": call_id,
                "request_id": request_id,
                "mentor_id": posts[2].json["data"]["mentor_id"],
                "score": 4,
                "starts_at": FIRST_SLOT,
                "received_at": "2026-11-30T18:00:00Z",
            },
        })
    );
    assert_eq!(feedback[1].json["data"]["score"], 2, "the later answer too");
    assert_eq!(
        feedback[1].json["data"]["received_at"],
        "2026-11-30T19:00:00Z"
    );
    assert_ne!(feedback[0].id, feedback[1].id);
    receiver.assert_all_signed(|post| {
        at(post.json["timestamp"].as_str().expect("timestamp")).max(at("2026-11-30T15:00:00Z"))
    });
    app.stop().await;
}

#[tokio::test]
async fn payloads_and_the_outbox_carry_no_phone_name_topic_or_message() {
    let (app, fake, receiver, request_id) = a_completed_call().await;
    seeker_replies(&app, &fake, "5", "2026-11-30T18:00:00Z").await;
    // The seeker erases their data: nothing of it was ever in an event.
    let (status, _) = app
        .delete(
            &format!("/api/v1/requests/{request_id}?erase=true"),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.deliver_webhooks_now().await;
    let allowed: HashSet<&str> = [
        "call_id",
        "request_id",
        "mentor_id",
        "outcome",
        "talk_seconds",
        "starts_at",
        "ended_at",
        "status",
        "previous_status",
        "attempts",
        "call",
        "score",
        "received_at",
    ]
    .into_iter()
    .collect();
    let forbidden = [
        "5550199",
        "5550123",
        "Ada",
        "Lovelace",
        "Grace",
        "Hopper",
        "nterview",
        "Data analysis",
        "applied for months",
        "stuck",
    ];
    for post in receiver.posts() {
        let envelope: HashSet<&str> = post
            .json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(envelope, HashSet::from(["type", "timestamp", "data"]));
        for key in post.json["data"].as_object().expect("data").keys() {
            assert!(allowed.contains(key.as_str()), "{key} in {}", post.body);
        }
        if let Some(call) = post.json["data"]["call"].as_object() {
            let keys: HashSet<&str> = call.keys().map(String::as_str).collect();
            assert_eq!(keys, HashSet::from(["id", "mentor_id", "starts_at"]));
        }
        for text in forbidden {
            assert!(!post.body.contains(text), "{text} in {}", post.body);
        }
    }
    let rows = outbox_text(&app.store).await;
    assert!(!rows.is_empty());
    for text in forbidden {
        assert!(!rows.contains(text), "{text} in the outbox: {rows}");
    }
    app.stop().await;
}

/// Every outbox row, as one text, to search.
async fn outbox_text(store: &Store) -> String {
    let rows: Vec<String> = match store {
        Store::Sqlite(pool) => sqlx::query_scalar(
            "select json_group_array(json_array(id, webhook_id, type, request_id, call_id,
                 mentor_id, request_status, previous_status, request_attempts, outcome,
                 talk_seconds, starts_at, ended_at, feedback_score, occurred_at, status,
                 attempts, last_error, last_status_code))
             from webhook_events",
        )
        .fetch_all(pool)
        .await
        .expect("outbox"),
        Store::Postgres(pool) => {
            sqlx::query_scalar("select coalesce(json_agg(w)::text, '[]') from webhook_events w")
                .fetch_all(pool)
                .await
                .expect("outbox")
        }
    };
    rows.join("\n")
}

#[tokio::test]
async fn a_receiver_that_fails_twice_then_accepts_gets_the_same_webhook_id_and_body_each_time() {
    let receiver = Receiver::start().await;
    let mut answers = vec![500, 503].into_iter();
    receiver.answer_with(move |_| Answer::Status(answers.next().unwrap_or(200)));
    let app = app_posting_to(&receiver).await;
    app.create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;

    let report = app.deliver_webhooks_now().await;
    assert_eq!((report.delivered, report.retrying), (0, 1), "{report:?}");
    assert_eq!(
        app.deliver_webhooks_now().await.retrying,
        0,
        "the retry waits for its backoff"
    );
    app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(app.deliver_webhooks_now().await.retrying, 1);
    app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(app.deliver_webhooks_now().await.delivered, 1);
    app.clock.advance(TimeDelta::hours(1));
    let report = app.deliver_webhooks_now().await;
    assert_eq!(report.delivered + report.retrying, 0, "delivered once");

    let posts = receiver.posts();
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|post| post.id == posts[0].id), "{posts:?}");
    assert!(posts.iter().all(|post| post.body == posts[0].body));
    let sent: Vec<i64> = posts
        .iter()
        .map(|post| post.timestamp.parse().expect("seconds"))
        .collect();
    assert_eq!(
        sent,
        [0, 60, 120].map(|seconds| default_now().timestamp() + seconds),
        "each attempt has its own timestamp"
    );
    for post in &posts {
        let sent = DateTime::from_timestamp(post.timestamp.parse().unwrap(), 0).unwrap();
        verify(&receiver.secret, post, sent).expect("signed");
        reference_verify(&receiver.secret, std::slice::from_ref(post), sent);
    }
    let rows = outbox(&app.store).await;
    assert_eq!(rows.len(), 1);
    let (_, webhook_id, _, status, attempts, last_error, last_status_code) = &rows[0];
    assert_eq!(webhook_id, &posts[0].id);
    assert_eq!(
        (status.as_str(), *attempts, last_error, *last_status_code),
        ("delivered", 3, &None, Some(200))
    );
    assert_eq!(deliveries_counted(&app, "retrying").await, 2);
    assert_eq!(deliveries_counted(&app, "delivered").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_gets_the_event_again() {
    let receiver = Receiver::start().await;
    let mut first = true;
    receiver.answer_with(move |_| {
        if std::mem::take(&mut first) {
            Answer::Hang
        } else {
            Answer::Status(204)
        }
    });
    let config = receiver.config(Duration::from_millis(300));
    let app = TestApp::spawn_with(default_now(), move |app| app.webhooks = Some(config)).await;
    app.create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;

    assert_eq!(app.deliver_webhooks_now().await.retrying, 1);
    let rows = outbox(&app.store).await;
    assert_eq!(rows[0].3, "pending");
    assert_eq!(rows[0].5.as_deref(), Some("timeout"));
    assert_eq!(rows[0].6, None, "no answer came");
    app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(app.deliver_webhooks_now().await.delivered, 1);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].id, posts[1].id);
    app.stop().await;
}

#[tokio::test]
async fn a_requests_later_events_wait_while_an_earlier_one_fails_until_it_is_given_up_after_a_day()
{
    let receiver = Receiver::start().await;
    let app = app_posting_to(&receiver).await;
    let first = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    let first_id = first["id"].as_i64().expect("id");
    receiver.answer_with(move |post| {
        if post.request_id() == first_id && post.json["data"]["status"] == "pending" {
            Answer::Status(500)
        } else {
            Answer::Status(204)
        }
    });
    let (status, _) = app
        .delete(&format!("/api/v1/requests/{first_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let second = app
        .create_request(&request_body("Alan Turing", "+12015550142"))
        .await;
    let second_id = second["id"].as_i64().expect("id");

    let report = app.deliver_webhooks_now().await;
    assert_eq!((report.delivered, report.retrying), (1, 1), "{report:?}");
    app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(app.deliver_webhooks_now().await.retrying, 1);
    let statuses = |request_id: i64| -> Vec<String> {
        receiver
            .posts()
            .iter()
            .filter(|post| post.request_id() == request_id)
            .map(|post| post.json["data"]["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses(first_id), ["pending", "pending"]);
    assert_eq!(
        statuses(second_id),
        ["pending"],
        "another request's events do not wait"
    );

    // A day after the event, the last try fails and the event is given up;
    // the request's next event goes out in the same pass.
    app.clock.advance(TimeDelta::hours(24));
    let report = app.deliver_webhooks_now().await;
    assert_eq!((report.given_up, report.delivered), (1, 1), "{report:?}");
    assert_eq!(
        statuses(first_id),
        ["pending", "pending", "pending", "canceled"]
    );
    let rows = outbox(&app.store).await;
    let first_rows: Vec<_> = rows.iter().filter(|row| row.2 == first_id).collect();
    assert_eq!(first_rows[0].3, "failed");
    assert_eq!(first_rows[0].4, 3);
    assert_eq!(first_rows[0].5.as_deref(), Some("http_500"));
    assert_eq!(first_rows[0].6, Some(500));
    assert_eq!(first_rows[1].3, "delivered");
    assert_eq!(deliveries_counted(&app, "given_up").await, 1);
    receiver.assert_all_signed(|post| {
        DateTime::from_timestamp(post.timestamp.parse().expect("seconds"), 0).expect("instant")
    });
    app.stop().await;
}

#[tokio::test]
async fn with_webhooks_off_the_outbox_stays_empty() {
    let app = TestApp::spawn().await;
    booked(&app).await;
    let second = app
        .create_request(&request_body("Alan Turing", "+12015550142"))
        .await;
    let (status, _) = app
        .delete(
            &format!("/api/v1/requests/{}?erase=true", second["id"]),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(outbox(&app.store).await.is_empty());
    assert!(!app.store.webhooks_enabled().await.expect("setting"));

    // Turned on, the same changes are recorded; turned off again, they are not.
    let receiver = Receiver::start().await;
    let config = receiver.config(Duration::from_secs(10));
    let app = app
        .restart_with(move |app| app.webhooks = Some(config))
        .await;
    let third = app
        .create_request(&request_body("Grace Brewster", "+12015550143"))
        .await;
    app.settle().await;
    let recorded = outbox(&app.store).await;
    assert!(!recorded.is_empty());
    assert!(recorded.iter().all(|row| json!(row.2) == third["id"]));
    let app = app.restart_with(|_| {}).await;
    app.create_request(&request_body("Katherine Johnson", "+12015550144"))
        .await;
    app.settle().await;
    assert_eq!(outbox(&app.store).await.len(), recorded.len());
    app.stop().await;
}

#[tokio::test]
async fn serve_refuses_to_start_with_a_webhook_url_and_no_valid_secret() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (secret, says) in [
        (None, "RIDEALONG_WEBHOOK_SECRET must be"),
        (
            Some("not-a-standard-secret"),
            "RIDEALONG_WEBHOOK_SECRET must start with whsec_",
        ),
        (Some("whsec_c2hvcnQ="), "24-64 bytes"),
    ] {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ridealong"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("RIDEALONG_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("refused.db").display()),
            )
            .env("RIDEALONG_LISTEN", "127.0.0.1:0")
            .env("RIDEALONG_WEBHOOK_URL", "https://crm.example.org/hooks")
            .kill_on_drop(true);
        if let Some(secret) = secret {
            command.env("RIDEALONG_WEBHOOK_SECRET", secret);
        }
        let output = tokio::time::timeout(BOUND, command.output())
            .await
            .expect("serve exits at once")
            .expect("serve runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        if let Some(secret) = secret {
            assert!(
                !stderr.contains(secret),
                "the secret is never printed: {stderr}"
            );
        }
    }
}

/// Creates `count` requests from distinct numbers; each has one event.
async fn requests(app: &TestApp, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..count {
        let created = app
            .create_request(&request_body(
                "Ada Lovelace",
                &format!("+1201555{:04}", 200 + n),
            ))
            .await;
        ids.push(created["id"].as_i64().expect("id"));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_deliver_each_event_once() {
    let receiver = Receiver::start().await;
    let app = app_posting_to(&receiver).await;
    if !matches!(app.store, Store::Postgres(_)) {
        eprintln!("two instances at once need PostgreSQL: set RIDEALONG_TEST_POSTGRES_URL");
        app.stop().await;
        return;
    }
    let ids = requests(&app, 40).await;
    // Each request moves on: a second event waits for its first.
    for id in ids.iter().step_by(2) {
        let (status, _) = app
            .delete(&format!("/api/v1/requests/{id}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let second_store = Store::connect(app.database_url()).await.expect("connect");
    let mut config = test_config();
    config.webhooks = Some(receiver.config(Duration::from_secs(10)));
    let second = App::start(
        second_store,
        config,
        Arc::new(ManualClock::new(app.clock.now())),
    )
    .await
    .expect("a second instance starts");
    let (first_pass, second_pass) =
        tokio::join!(app.deliver_webhooks_now(), second.deliver_webhooks_now());
    let second_pass = second_pass.expect("on").expect("pass");
    assert_eq!(first_pass.retrying + second_pass.retrying, 0);

    let posts = receiver.posts();
    assert_eq!(posts.len(), 60, "40 created, 20 canceled");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for post in &posts {
        *seen.entry(post.id.as_str()).or_default() += 1;
    }
    assert!(
        seen.values().all(|count| *count == 1),
        "posted twice: {seen:?}"
    );
    for id in ids.iter().step_by(2) {
        let order: Vec<&Value> = posts
            .iter()
            .filter(|post| post.request_id() == *id)
            .map(|post| &post.json["data"]["status"])
            .collect();
        assert_eq!(
            order,
            [&json!("pending"), &json!("canceled")],
            "request {id}"
        );
    }
    let rows = outbox(&app.store).await;
    assert!(
        rows.iter().all(|row| row.3 == "delivered" && row.4 == 1),
        "{rows:?}"
    );
    receiver.assert_all_signed(|_| app.clock.now());
    second.stop().await;
    app.stop().await;
}

/// The PostgreSQL pool behind `store`.
fn pool(store: &Store) -> &PgPool {
    match store {
        Store::Postgres(pool) => pool,
        Store::Sqlite(_) => panic!("a PostgreSQL store"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_beside_another_instances_claim_skips_its_events_and_what_waits_behind_them() {
    let receiver = Receiver::start().await;
    let app = app_posting_to(&receiver).await;
    if !matches!(app.store, Store::Postgres(_)) {
        eprintln!(
            "claims by two instances at once need PostgreSQL: set RIDEALONG_TEST_POSTGRES_URL"
        );
        app.stop().await;
        return;
    }
    let ids = requests(&app, 8).await;
    // The first request's second event waits behind its first.
    let (status, _) = app
        .delete(&format!("/api/v1/requests/{}", ids[0]), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let now = app.clock.now();
    let lease = now + TimeDelta::minutes(2);

    // Another instance claims the first three events and has not committed.
    let other = Store::connect(app.database_url()).await.expect("connect");
    let mut tx: Transaction<'static, Postgres> = pool(&other).begin().await.expect("begin");
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .expect("pid");
    let held: HashSet<i64> = sqlx::query_scalar(
        "update webhook_events set attempts = attempts + 1, next_attempt_at = $1
         where id in (select id from webhook_events where status = 'pending'
                      and next_attempt_at <= $2 order by id limit 3 for update)
         returning id",
    )
    .bind(lease)
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .expect("held claim")
    .into_iter()
    .collect();
    assert_eq!(held.len(), 3);

    let claim = tokio::spawn({
        let store = app.store.clone();
        async move { store.claim_webhook_events(now, lease, 100).await }
    });
    let watch = async {
        loop {
            if claim.is_finished() {
                return false;
            }
            let blocked: bool = sqlx::query_scalar(
                "select exists (select 1 from pg_stat_activity
                                where $1 = any(pg_blocking_pids(pid)))",
            )
            .bind(pid)
            .fetch_one(pool(&app.store))
            .await
            .expect("pg_stat_activity");
            if blocked {
                return true;
            }
        }
    };
    let blocked = tokio::time::timeout(BOUND, watch)
        .await
        .expect("the claim neither finished nor waited");
    tx.commit().await.expect("commit");
    let claimed: Vec<_> = tokio::time::timeout(BOUND, claim)
        .await
        .expect("the claim finishes")
        .expect("no panic")
        .expect("claim");
    let claimed_ids: HashSet<i64> = claimed.iter().map(|job| job.id).collect();

    assert!(
        !blocked,
        "a claim skips the events another one holds rather than waiting"
    );
    assert!(held.is_disjoint(&claimed_ids), "claimed by both");
    let claimed_requests: HashSet<i64> = claimed.iter().map(|job| job.request_id.0).collect();
    assert!(
        !claimed_requests.contains(&ids[0]),
        "the first request's later event waits behind the held one: {claimed:?}"
    );
    assert_eq!(claimed.len(), ids.len() - 3, "every other request's event");
    let attempts: Vec<i32> =
        sqlx::query_scalar("select attempts from webhook_events where attempts > 0")
            .fetch_all(pool(&app.store))
            .await
            .expect("attempts");
    assert!(
        attempts.iter().all(|attempts| *attempts == 1),
        "{attempts:?}"
    );
    other.close().await;
    app.stop().await;
}
