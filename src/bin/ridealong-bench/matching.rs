//! `ridealong-bench matching`: seeds pending requests and mentors, then times one
//! matcher run in its phases (loading, planning, saving the bookings), and the
//! memory of a served instance holding every booked call.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use ridealong::bench::workload;
use ridealong::config::PolicyArgs;
use ridealong::domain::matching::{MatchPolicy, plan_bookings};
use ridealong::domain::reminder::ReminderPolicy;

use crate::MatchingArgs;
use crate::support::*;

pub(crate) async fn matching(args: MatchingArgs) -> anyhow::Result<()> {
    let database_url = args.database_url.clone();
    on_scratch_db(database_url.as_deref(), |db| run(args, db)).await
}

async fn run(args: MatchingArgs, db: std::sync::Arc<ScratchDb>) -> anyhow::Result<()> {
    let store = db.seeding_store().await?;
    let now = Utc::now();
    let policy = MatchPolicy::default();
    println!(
        "bench matching: {} pending requests, {} mentors x {} windows, {}-day horizon, {}",
        args.requests,
        args.mentors,
        workload::WINDOWS_PER_MENTOR,
        policy.horizon.num_days(),
        db.backend()
    );
    let seeding = Instant::now();
    seed_mentors(
        &store,
        &workload::mentors(args.mentors, args.seed),
        1_000_000,
        true,
    )
    .await?;
    seed_requests(
        &store,
        &workload::requests(args.requests, now, args.seed + 1),
    )
    .await?;
    println!(
        "{:<26} {:.1} s",
        "seeded in",
        seeding.elapsed().as_secs_f64()
    );

    // Seeding commits one row at a time. On SQLite it leaves a write-ahead log
    // of gigabytes at 100k that this process does not checkpoint on its own
    // (see BENCHMARKS.md); on PostgreSQL, tables autovacuum has not analysed
    // yet. Either way, set the database as a running service would find it
    // first, untimed: the log folded into the file, or the tables analysed.
    let checkpointing = Instant::now();
    store.checkpoint().await?;
    store.close().await;
    let store = db.store().await?;
    if let ridealong::store::Store::Postgres(pool) = &store {
        sqlx::query("vacuum analyze").execute(pool).await?;
    }
    println!(
        "{:<26} {:.1} s",
        if db.is_postgres() {
            "vacuum analyze in"
        } else {
            "checkpointed in"
        },
        checkpointing.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let requests = store.open_requests(policy.calling_hours).await?;
    let requests_loaded = started.elapsed();
    let mentors = store.mentor_supply().await?;
    let mentors_loaded = started.elapsed() - requests_loaded;
    let week = TimeDelta::days(8);
    let booked = store
        .booked_calls(now - week, now + policy.horizon + week)
        .await?;
    let loaded = started.elapsed();
    let planning = Instant::now();
    let plan = plan_bookings(now, &policy, &requests, &mentors, &booked);
    let planned = planning.elapsed();
    let saving = Instant::now();
    // As the matcher in `serve` persists on its defaults: with each call's reminder.
    let reminders = ReminderPolicy {
        lead: PolicyArgs::default().reminder_lead(),
        hours: policy.calling_hours,
    };
    let saved = store.book_reminding(&plan, reminders, now).await?;
    let persisted = saving.elapsed();
    println!(
        "{:<26} {:.1} ms (requests {:.1} ms, mentors {:.1} ms, booked calls {:.1} ms)",
        "load (requests, mentors)",
        millis(loaded),
        millis(requests_loaded),
        millis(mentors_loaded),
        millis(loaded - requests_loaded - mentors_loaded)
    );
    println!("{:<26} {:.1} ms", "plan (plan_bookings)", millis(planned));
    println!(
        "{:<26} {:.1} ms",
        "matcher time (load+plan)",
        millis(loaded + planned)
    );
    println!(
        "{:<26} {:.1} ms",
        "persist (book_reminding)",
        millis(persisted)
    );
    println!(
        "{:<26} {} of {} requests",
        "booked",
        saved.len(),
        requests.len()
    );
    print_memory("process memory", std::process::id());

    // Every later run reads all of them again.
    let reloading = Instant::now();
    let booked = store
        .booked_calls(now - week, now + policy.horizon + week)
        .await?;
    println!(
        "{:<26} {:.1} ms ({} calls)",
        "reload (booked calls)",
        millis(reloading.elapsed()),
        booked.len()
    );
    store.close().await;
    serve_with_booked_calls(&db, args.requests).await
}

/// Serves the database the matching bench just filled and reports the server's
/// memory: idle, then after one request makes its matcher load every booked
/// call, mentor and window.
pub(crate) async fn serve_with_booked_calls(db: &ScratchDb, requests: usize) -> anyhow::Result<()> {
    let binary = ridealong_binary()?;
    let served = Served::start(
        &binary,
        &db.url(),
        &db.path("serve.log"),
        &[("RIDEALONG_CONFIRM_PHONE", "false")],
    )
    .await?;
    let pid = served.pid().context("the server exited")?;
    print_memory("serve memory, idle", pid);
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{}/api/v1/requests", served.base))
        .json(&json!({
            "name": "Grace Hopper",
            // Beyond the numbers the seeded people use.
            "phone": workload::phone_number(requests + 7_000_000),
            "timezone": "America/Chicago",
            "topic": "interviews",
            "message": "One more request, to make the matcher read every booked call.",
            "consent": true,
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created["id"].as_i64().context("request id")?;
    let token = created["manage_token"]
        .as_str()
        .context("manage token")?
        .to_owned();
    let url = format!("{}/api/v1/requests/{id}?token={token}", served.base);
    let started = Instant::now();
    loop {
        let request: serde_json::Value = client.get(&url).send().await?.json().await?;
        if request["status"] != "pending" {
            println!(
                "{:<26} {} after {:.0} ms",
                "serve matched one more",
                request["status"].as_str().unwrap_or("?"),
                millis(started.elapsed())
            );
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the served matcher did not take the request within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    print_memory("serve memory, after", pid);
    Ok(())
}
