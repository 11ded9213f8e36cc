//! Calls whose callbacks never arrive: the reconciler looks up a call the provider
//! has been quiet about for a minute and settles it from the provider's record;
//! an instance that starts checks every call in flight at once; calls still
//! talking cost one listing, not one request each; a provider that rate limits
//! the checks is left alone for a while; and two instances never check one call
//! together.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::fake_twilio::{Failure, FakeTwilio};
use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body, twilio_client};
use ridealong::ids::CallId;
use ridealong::store::Store;

/// Monday 2026-11-30 10:00 in New York: the slot every call here is booked into.
const SLOT: &str = "2026-11-30T15:00:00Z";

/// `n` mentors with a weekday 10:00-10:30 New York window and `n` seekers, each
/// booked into a mentor's 10:00 slot, then dialed at the slot through `fake`;
/// returns the call ids, in order.
async fn dialed_calls(app: &TestApp, fake: &FakeTwilio, n: usize) -> Vec<i64> {
    let mut created = Vec::new();
    for i in 0..n {
        let (mentor_id, _) = app
            .create_mentor(&mentor_body(
                "Grace Hopper",
                &format!("+1201555{:04}", 100 + i),
            ))
            .await;
        app.add_window(
            mentor_id,
            &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
        )
        .await;
        created.push(
            app.create_request(&request_body(
                "Ada Lovelace",
                &format!("+1202555{:04}", 100 + i),
            ))
            .await,
        );
    }
    app.settle().await;
    let mut calls = Vec::new();
    for request in &created {
        let request = app.request_as_seeker(request).await;
        assert_eq!(request["call"]["starts_at"], SLOT, "{request}");
        calls.push(request["call"]["id"].as_i64().expect("call id"));
    }
    app.clock.set(at(SLOT));
    app.dispatch_due().await;
    assert_eq!(fake.created_calls().len(), n, "every call was placed");
    calls.sort_unstable();
    calls
}

async fn call(app: &TestApp, id: i64) -> Value {
    app.admin_get(&format!("/api/v1/calls/{id}")).await
}

fn sid_of(call: &Value) -> String {
    call["provider_call_sid"]
        .as_str()
        .expect("a placed call")
        .to_owned()
}

/// GET requests the fake received for single calls (`…/Calls/CA….json`).
fn single_call_fetches(fake: &FakeTwilio) -> usize {
    fake.requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path.contains("/Calls/CA"))
        .count()
}

#[tokio::test]
async fn a_call_still_talking_is_found_in_one_listing_and_settled_once_it_ends() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let ids = dialed_calls(&app, &fake, 3).await;
    for id in &ids {
        fake.set_status(&sid_of(&call(&app, *id).await), "in-progress");
    }

    // Quiet for over a minute: looked up, and all three are found in one listing
    // of the calls in progress, without a request each.
    app.clock.set(at("2026-11-30T15:01:01Z"));
    let report = app.reconcile_now().await;
    assert_eq!((report.checked, report.settled), (3, 0), "{report:?}");
    let listings: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|request| request.query_value("Status") == Some("in-progress"))
        .collect();
    assert_eq!(listings.len(), 1);
    assert_eq!(listings[0].query_value("PageSize"), Some("1000"));
    assert_eq!(single_call_fetches(&fake), 0);
    for id in &ids {
        assert_eq!(call(&app, *id).await["status"], "dialing");
    }

    // The first call ends at the provider; its callbacks are lost. A check is a
    // lease of a minute: not looked up again before then.
    let ended = sid_of(&call(&app, ids[0]).await);
    fake.set_status(&ended, "completed");
    app.clock.set(at("2026-11-30T15:01:59Z"));
    assert_eq!(app.reconcile_now().await.checked, 0);

    app.clock.set(at("2026-11-30T15:02:02Z"));
    let report = app.reconcile_now().await;
    assert_eq!((report.checked, report.settled), (3, 1), "{report:?}");
    assert_eq!(single_call_fetches(&fake), 1, "only the call that ended");
    let settled = call(&app, ids[0]).await;
    assert_eq!(settled["status"], "ended");
    assert_eq!(
        settled["outcome"], "mentor_declined",
        "answered, never pressed 1"
    );
    for id in &ids[1..] {
        assert_eq!(call(&app, *id).await["status"], "dialing");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_accepted_call_whose_last_callbacks_were_lost_is_settled_with_the_seeker_legs_talk_time()
{
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let ids = dialed_calls(&app, &fake, 1).await;
    let sid = sid_of(&call(&app, ids[0]).await);
    // The mentor answers and presses 1; then the instance goes away, and the
    // bridged call's callbacks never reach anyone.
    let answer = format!("/telephony/twilio/calls/{}/answer", ids[0]);
    let gather = format!("/telephony/twilio/calls/{}/gather", ids[0]);
    app.clock.set(at("2026-11-30T15:00:10Z"));
    let params = [("CallSid", sid.as_str()), ("CallStatus", "in-progress")];
    let (status, _) = app
        .post_webhook(fake.auth_token(), &answer, &params, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.clock.set(at("2026-11-30T15:00:30Z"));
    let params = [("CallSid", sid.as_str()), ("Digits", "1")];
    let (status, twiml) = app
        .post_webhook(fake.auth_token(), &gather, &params, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(twiml.contains("<Dial"), "{twiml}");
    // The seeker picks up and presses a key at the screen.
    let screen_result = format!("/telephony/twilio/calls/{}/screen-result", ids[0]);
    let params = [
        ("CallSid", "CA000000000000000000000000000000a1"),
        ("ParentCallSid", sid.as_str()),
        ("Digits", "5"),
    ];
    let (status, _) = app
        .post_webhook(fake.auth_token(), &screen_result, &params, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    fake.add_dialed_leg(&sid, "+12025550100", "completed", 431);
    fake.set_status(&sid, "completed");

    // A minute after the last callback (the key press), not before.
    app.clock.set(at("2026-11-30T15:01:29Z"));
    assert_eq!(app.reconcile_now().await.checked, 0);
    app.clock.set(at("2026-11-30T15:01:31Z"));
    assert_eq!(app.reconcile_now().await.settled, 1);

    let settled = call(&app, ids[0]).await;
    assert_eq!(settled["status"], "ended");
    assert_eq!(settled["outcome"], "completed");
    assert_eq!(settled["talk_seconds"], 431);
    let (_, requests) = app
        .get("/api/v1/requests?status=completed", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(requests.as_array().map(Vec::len), Some(1), "{requests}");
    app.stop().await;
}

#[tokio::test]
async fn an_instance_that_starts_checks_every_call_in_flight_at_once() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let ids = dialed_calls(&app, &fake, 2).await;
    // Both mentors answered a few seconds ago; the first call is over at the
    // provider, its last callback lost with the instance that is replaced now.
    app.clock.set(at("2026-11-30T15:00:05Z"));
    for id in &ids {
        let path = format!("/telephony/twilio/calls/{id}/status");
        let sid = sid_of(&call(&app, *id).await);
        let params = [
            ("CallSid", sid.as_str()),
            ("CallStatus", "in-progress"),
            ("SequenceNumber", "1"),
        ];
        let (status, _) = app
            .post_webhook(fake.auth_token(), &path, &params, None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    fake.set_status(&sid_of(&call(&app, ids[0]).await), "no-answer");
    fake.set_status(&sid_of(&call(&app, ids[1]).await), "in-progress");

    // Restarted at 15:00:10: heard of five seconds ago, yet checked at once.
    app.clock.set(at("2026-11-30T15:00:10Z"));
    let client = twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT);
    let app = app
        .restart_with(|config| config.provider = Arc::new(client))
        .await;
    fake.use_clock(app.clock.clone());
    app.wait_for_startup_reconciliation().await;
    let settled = call(&app, ids[0]).await;
    assert_eq!(settled["status"], "ended");
    assert_eq!(settled["outcome"], "mentor_no_answer");
    assert_eq!(call(&app, ids[1]).await["status"], "in_progress");
    app.stop().await;
}

#[tokio::test]
async fn a_provider_that_rate_limits_the_checks_ends_the_round_and_is_asked_again_later() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let ids = dialed_calls(&app, &fake, 1).await;
    fake.set_status(&sid_of(&call(&app, ids[0]).await), "busy");
    // Every try of the listing (the client retries a 429 twice) is refused.
    fake.fail_next(3, Failure::RateLimited);
    app.clock.set(at("2026-11-30T15:01:01Z"));
    let report = app.reconcile_now().await;
    assert!(report.throttled, "{report:?}");
    assert_eq!(report.settled, 0);
    assert_eq!(single_call_fetches(&fake), 0, "nothing more was asked");
    assert_eq!(call(&app, ids[0]).await["status"], "dialing");

    // The claim holds the call for a minute; then it is checked and settled.
    app.clock.set(at("2026-11-30T15:01:30Z"));
    assert_eq!(app.reconcile_now().await.checked, 0);
    app.clock.set(at("2026-11-30T15:02:02Z"));
    assert_eq!(app.reconcile_now().await.settled, 1);
    assert_eq!(call(&app, ids[0]).await["outcome"], "mentor_no_answer");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claimers_never_claim_the_same_quiet_call() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let ids = dialed_calls(&app, &fake, 6).await;
    let now = at("2026-11-30T15:02:00Z");
    let quiet_since = now - chrono::TimeDelta::minutes(1);
    let Store::Postgres(pool) = &app.store else {
        // SQLite has one writer: a claim statement runs alone.
        let first = app.store.claim_quiet_calls(quiet_since, now, 4).await;
        let second = app.store.claim_quiet_calls(quiet_since, now, 4).await;
        let first: HashSet<CallId> = first.expect("claim").iter().map(|c| c.call_id).collect();
        let second: HashSet<CallId> = second.expect("claim").iter().map(|c| c.call_id).collect();
        assert_eq!(first.len(), 4);
        assert_eq!(second.len(), 2);
        assert!(first.is_disjoint(&second));
        app.stop().await;
        return;
    };
    // The first claimer takes the first four calls in a transaction it keeps
    // open, as an instance does in the middle of its claim.
    let mut first = pool.begin().await.expect("begin");
    let held: Vec<CallId> = sqlx::query_scalar(
        "update calls set heard_at = $1 where id in
             (select id from calls where status = 'dialing' order by id limit 4 for update)
         returning id",
    )
    .bind(now)
    .fetch_all(&mut *first)
    .await
    .expect("first claim");
    assert_eq!(held.len(), 4);

    // The second claimer runs meanwhile, on another connection.
    let store = app.store.clone();
    let second = tokio::spawn(async move { store.claim_quiet_calls(quiet_since, now, 100).await });
    // Until it has returned or is waiting for the first claimer's locks.
    let watcher = app.store.clone();
    let Store::Postgres(watch_pool) = &watcher else {
        unreachable!()
    };
    loop {
        if second.is_finished() {
            break;
        }
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(watch_pool)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.commit().await.expect("commit");
    let second: HashSet<CallId> = second
        .await
        .expect("joined")
        .expect("second claim")
        .iter()
        .map(|call| call.call_id)
        .collect();
    let held: HashSet<CallId> = held.into_iter().collect();
    assert!(
        held.is_disjoint(&second),
        "both claimed {:?}",
        held.intersection(&second)
    );
    let all: HashSet<CallId> = ids.into_iter().map(CallId).collect();
    assert_eq!(&held | &second, all, "every quiet call was claimed once");
    app.stop().await;
}
