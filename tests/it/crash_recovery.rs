//! Crash safety of dispatch, with the real binary: a burst of calls all due at
//! once is being placed through a fake Twilio when the service is SIGKILLed at a
//! random point, restarted on the same database, killed again, and so on. Then a
//! last instance finishes the burst and shuts down, and reconciliation runs.
//!
//! Whatever instant the kills hit, every booked call reaches the provider at
//! most once, and none is lost: each call ends up either placed (its provider id
//! stored), or — when a kill came between the claim and the provider's answer —
//! found at the provider and adopted, or else failed and its request requeued.
//!
//! With the calls played back against the webhooks while the kills go on, every
//! request ends with a completed call or is requeued.
//!
//! On PostgreSQL, two instances dispatching the same burst place each call
//! exactly once between them, and every call is played to completion.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::served::{Served, WindowOpeningNow, every_day, serve_with_fake_twilio};
use crate::helpers::{ADMIN_TOKEN, TestApp, TestDb, twilio_client};
use ridealong::domain::status::{CallStatus, Outcome, RequestStatus};
use ridealong::ids::MentorId;
use ridealong::store::{CallFilter, RequestFilter, Store};

/// Calls in the burst.
const CALLS: usize = 24;
/// Kills during the burst.
const KILLS: usize = 3;
/// How long an instance may take to start or to reach a number of dials.
const BOUND: Duration = Duration::from_secs(60);

fn mentor_phone(n: usize) -> String {
    format!("+1201555{:04}", 100 + n)
}

fn seeker_phone(n: usize) -> String {
    format!("+1202555{:04}", 100 + n)
}

/// Starts `ridealong serve` on the database at `url`, dialing through `fake` at
/// 8 calls a second; returns it and its base URL.
async fn serve(url: &str, fake: &FakeTwilio) -> (Served, String) {
    // Nothing is played back, so the webhooks are never reached.
    serve_on(url, fake, None, None).await
}

/// [`serve`] listening on `port` when given, with the webhooks at `public_port`.
async fn serve_on(
    url: &str,
    fake: &FakeTwilio,
    port: Option<u16>,
    public_port: Option<u16>,
) -> (Served, String) {
    let public_url = public_port.map_or_else(
        || "http://127.0.0.1:9".to_owned(),
        |port| format!("http://127.0.0.1:{port}"),
    );
    let mut command = serve_with_fake_twilio(url, fake, &public_url);
    command.env("RIDEALONG_CPS", "8");
    if let Some(port) = port {
        command.env("RIDEALONG_LISTEN", format!("127.0.0.1:{port}"));
    }
    let mut served = Served::start(command);
    let address = served.listening_address(BOUND).await;
    (served, format!("http://{address}"))
}

async fn post(http: &reqwest::Client, base: &str, path: &str, body: Value) -> Value {
    let response = http
        .post(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    response.json().await.expect("JSON")
}

/// Calls of the burst starting at `burst` still waiting to be dialed. A request
/// whose call ended early (settled from the provider when an instance started)
/// is booked again into a later slot: that call is not the burst's.
async fn scheduled_calls(store: &Store, burst: chrono::DateTime<Utc>) -> usize {
    store
        .calls(CallFilter {
            status: Some(CallStatus::Scheduled),
            limit: 10_000,
            ..CallFilter::default()
        })
        .await
        .expect("list calls")
        .iter()
        .filter(|call| call.starts_at == burst)
        .count()
}

/// Books a burst of [`CALLS`] calls through the instance at `base`: as many
/// mentors whose windows open now, and seekers. Returns the slot start and each
/// mentor's id by phone.
async fn book_burst(base: &str) -> (chrono::DateTime<chrono_tz::Tz>, HashMap<String, MentorId>) {
    // CALLS mentors whose windows open now, and as many seekers.
    let window = WindowOpeningNow::find();
    let zone = window.zone;
    let http = reqwest::Client::new();
    let mut mentor_of_phone = HashMap::new();
    for n in 0..CALLS {
        let mentor = json!({ "name": format!("Mentor {n}"), "phone": mentor_phone(n), "timezone": zone.name() });
        let mentor = post(&http, base, "/api/v1/mentors", mentor).await;
        post(
            &http,
            base,
            &format!("/api/v1/mentors/{}/windows", mentor["id"]),
            window.body(),
        )
        .await;
        mentor_of_phone.insert(
            mentor_phone(n),
            MentorId(mentor["id"].as_i64().expect("id")),
        );
    }
    for n in 0..CALLS {
        let request = json!({
            "name": format!("Seeker {n}"),
            "phone": seeker_phone(n),
            "timezone": zone.name(),
            "topic": "interviews",
            "message": "I could use a second opinion on my approach.",
            "availability": every_day(),
            "consent": true,
        });
        post(&http, base, "/api/v1/requests", request).await;
    }

    (window.opens, mentor_of_phone)
}

/// Calls created at `fake` to `phone` (mentor legs only).
fn creates_to(fake: &FakeTwilio, phone: &str) -> usize {
    fake.created_calls()
        .iter()
        .filter(|call| call.to == phone)
        .count()
}

/// SIGKILLs `served` a few dials into the burst starting at `burst`, [`KILLS`]
/// times, restarting it on `port` (any free one when `None`, webhooks there too)
/// each time; then lets the last instance place the rest and shut down
/// gracefully, and checks that no mentor was dialed twice. Returns a pool to the database.
async fn kill_during_burst(
    db: &TestDb,
    fake: &FakeTwilio,
    mut served: Served,
    port: Option<u16>,
    burst: chrono::DateTime<Utc>,
    mentor_of_phone: &HashMap<String, MentorId>,
) -> Store {
    let mut dialed = 0;
    for _ in 0..KILLS {
        dialed += rand::rng().random_range(2..=5);
        fake.wait_for_creates(dialed, BOUND).await;
        served.kill().await;
        (served, _) = serve_on(db.url(), fake, port, port).await;
    }

    // The last instance places the rest, then shuts down gracefully. (The database
    // is polled: nothing in a separate process can signal this test.)
    let store = db.connect().await;
    let deadline = tokio::time::Instant::now() + BOUND;
    while scheduled_calls(&store, burst).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the burst never finished:\n{}",
            served.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = served.terminate(Duration::from_secs(20)).await;
    assert!(exit.success(), "{exit:?}");
    for phone in mentor_of_phone.keys() {
        let dialed = creates_to(fake, phone);
        assert!(dialed <= 1, "{phone} was dialed {dialed} times");
    }
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_service_mid_burst_never_places_a_call_twice_or_loses_one() {
    let db = TestDb::create().await;
    let fake = FakeTwilio::start().await;
    let (served, base) = serve(db.url(), &fake).await;

    let (opened, mentor_of_phone) = book_burst(&base).await;

    // Kill it a few dials into the burst, again and again.
    let burst = opened.with_timezone(&Utc);
    let store = kill_during_burst(&db, &fake, served, None, burst, &mentor_of_phone).await;

    // Reconcile what the kills left in doubt, in-process with a clock past the
    // reconciliation delays, against the same fake.
    let now = Utc::now();
    let client = twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT);
    let app = TestApp::spawn_on(db, store, now + TimeDelta::minutes(1), |config| {
        config.provider = Arc::new(client);
        config.policy.min_notice = TimeDelta::zero();
    })
    .await;
    app.reconcile_now().await;
    app.clock.set(now + TimeDelta::minutes(4));
    app.reconcile_now().await;

    let calls = app
        .store
        .calls(CallFilter {
            limit: 10_000,
            ..CallFilter::default()
        })
        .await
        .expect("list calls");
    let burst: Vec<_> = calls
        .iter()
        .filter(|call| call.starts_at == opened.with_timezone(&Utc))
        .collect();
    assert_eq!(
        burst.len(),
        CALLS,
        "every request was booked into the burst"
    );
    let created = fake.created_calls();
    for call in &burst {
        let phone = mentor_of_phone
            .iter()
            .find_map(|(phone, id)| (*id == call.mentor_id).then_some(phone.as_str()))
            .expect("a known mentor");
        match (&call.provider_call_sid, call.status) {
            (Some(sid), CallStatus::Dialing) => {
                let at_provider = created.iter().find(|placed| &placed.sid == sid);
                assert_eq!(
                    at_provider.map(|placed| placed.to.as_str()),
                    Some(phone),
                    "call {} holds the provider's call to its mentor",
                    call.id
                );
            }
            (None, CallStatus::Ended) => {
                assert_eq!(call.outcome, Some(Outcome::Failed), "call {}", call.id);
                assert_eq!(
                    creates_to(&fake, phone),
                    0,
                    "call {} was placed yet failed",
                    call.id
                );
                let request = app
                    .store
                    .request(call.request_id)
                    .await
                    .expect("read")
                    .expect("exists");
                assert!(
                    matches!(
                        request.status,
                        RequestStatus::Pending | RequestStatus::Scheduled
                    ),
                    "the request of a lost dial is requeued: {:?}",
                    request.status
                );
            }
            other => panic!("call {} was left {other:?}", call.id),
        }
    }
    let placed = burst
        .iter()
        .filter(|call| call.provider_call_sid.is_some())
        .count();
    eprintln!(
        "{CALLS} calls, {KILLS} kills: {placed} placed, {} lost to a kill and requeued",
        burst.len() - placed
    );
    assert_eq!(
        placed,
        created.len(),
        "every call the provider has is known"
    );
    assert!(
        placed >= CALLS - KILLS * 2,
        "most calls went through: {placed}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_place_a_burst_exactly_once() {
    let db = TestDb::create().await;
    if !db.is_postgres() {
        eprintln!("several instances share PostgreSQL only: set RIDEALONG_TEST_POSTGRES_URL");
        return;
    }
    let fake = FakeTwilio::start().await;
    // Calls are played back against the first instance's webhooks; webhooks are
    // stateless, so it settles calls the second one placed as well.
    fake.auto_play(true);
    let port = free_port();
    let (mut first, base) = serve_on(db.url(), &fake, Some(port), Some(port)).await;
    let (mut second, _) = serve_on(db.url(), &fake, None, Some(port)).await;
    let (_, mentor_of_phone) = book_burst(&base).await;

    fake.wait_for_plays(CALLS).await;
    let store = db.connect().await;
    for served in [&mut first, &mut second] {
        let exit = served.terminate(Duration::from_secs(20)).await;
        assert!(exit.success(), "{exit:?}");
    }
    let created = fake.created_calls();
    for phone in mentor_of_phone.keys() {
        let dialed = created.iter().filter(|call| &call.to == phone).count();
        assert_eq!(dialed, 1, "{phone} was dialed {dialed} times");
    }
    let placed_by = |served: &Served| served.log().matches("\"call placed\"").count();
    assert_eq!(
        placed_by(&first) + placed_by(&second),
        CALLS,
        "each call was placed by exactly one instance"
    );
    let completed = store
        .requests(RequestFilter {
            status: Some(RequestStatus::Completed),
            limit: 10_000,
            ..RequestFilter::default()
        })
        .await
        .expect("list requests");
    assert_eq!(completed.len(), CALLS, "every seeker had their call");
    store.close().await;
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_service_while_calls_play_leaves_every_request_completed_or_requeued() {
    let db = TestDb::create().await;
    let fake = FakeTwilio::start().await;
    // Every call is played against the webhooks as it is created: the mentor
    // presses 1 and the seeker talks. While the service is down, a callback finds
    // nobody, as with real Twilio.
    fake.auto_play(true);
    let port = free_port();
    let (served, base) = serve_on(db.url(), &fake, Some(port), Some(port)).await;
    let (opened, mentor_of_phone) = book_burst(&base).await;

    let burst = opened.with_timezone(&Utc);
    let store = kill_during_burst(&db, &fake, served, Some(port), burst, &mentor_of_phone).await;

    // A new instance, a minute after the kills: it checks every call in flight
    // as it starts, so calls whose last callbacks hit a dead instance are settled
    // from the provider's record at once; dials in doubt are adopted or given up.
    let client = twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT);
    let now = Utc::now();
    let app = TestApp::spawn_on(db, store, now + TimeDelta::minutes(1), |config| {
        config.provider = Arc::new(client);
    })
    .await;
    app.wait_for_startup_reconciliation().await;
    // Dials in doubt the provider never had are given up two minutes after the dial.
    app.clock.set(now + TimeDelta::minutes(3));
    app.reconcile_now().await;

    let calls = app
        .store
        .calls(CallFilter {
            limit: 10_000,
            ..CallFilter::default()
        })
        .await
        .expect("list calls");
    let burst: Vec<_> = calls
        .iter()
        .filter(|call| call.starts_at == opened.with_timezone(&Utc))
        .collect();
    assert_eq!(burst.len(), CALLS);
    let mut completed = 0;
    for call in &burst {
        assert_eq!(
            call.status,
            CallStatus::Ended,
            "call {} was left {:?}",
            call.id,
            call.status
        );
        let request = app
            .store
            .request(call.request_id)
            .await
            .expect("read")
            .expect("exists");
        match (call.outcome, request.status) {
            (Some(Outcome::Completed), RequestStatus::Completed) => completed += 1,
            (Some(_), RequestStatus::Pending | RequestStatus::Scheduled) => {}
            other => panic!("call {} and its request ended as {other:?}", call.id),
        }
    }
    eprintln!("{CALLS} played calls, {KILLS} kills: {completed} completed, the rest requeued");
    // How many complete depends on how far each play got before a kill, which
    // the machine's load decides (half or more when idle, 9 of 24 at a load of
    // 7 on 2 cores): the checks above are the test. That some complete shows
    // the instances started after each kill serve calls to the end.
    assert!(completed >= 1, "no call went through");
    app.stop().await;
}
