//! `ridealong-bench intake`: starts `ridealong serve` as one child process or
//! several on one database and drives `POST /api/v1/requests` with concurrent
//! clients spread over them; then times a bare loop of single-row transactions
//! on the same backend (SQLite in WAL mode on the same disk, or the same
//! PostgreSQL server), for the ratio.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::StatusCode;
use chrono::Utc;
use indicatif::ProgressBar;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use ridealong::bench::workload;
use ridealong::store::Store;

use crate::IntakeArgs;
use crate::support::*;

/// What a client pool saw.
#[derive(Default)]
pub(crate) struct LoadTally {
    latencies_ms: Vec<f64>,
    errors: usize,
}

pub(crate) async fn drive_intake(
    bases: &[String],
    connections: usize,
    duration: Duration,
    next_phone: &Arc<AtomicUsize>,
    bar: Option<ProgressBar>,
) -> anyhow::Result<LoadTally> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let deadline = tokio::time::Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..connections {
        // Connections go to the instances in turn.
        let url = format!("{}/api/v1/requests", bases[connection % bases.len()]);
        let (client, next_phone) = (client.clone(), Arc::clone(next_phone));
        tasks.spawn(async move {
            let mut tally = LoadTally::default();
            while tokio::time::Instant::now() < deadline {
                let index = next_phone.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "name": "Ada Lovelace",
                    "phone": workload::phone_number(index),
                    "timezone": "America/New_York",
                    "topic": "interviews",
                    "message": "I have applied for months and I am stuck. Could someone look at my approach?",
                    "consent": true,
                });
                let sent = Instant::now();
                let response = client.post(&url).json(&body).send().await;
                let ok = match response {
                    Ok(response) => {
                        let created = response.status() == StatusCode::CREATED;
                        created && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                if ok {
                    tally.latencies_ms.push(millis(sent.elapsed()));
                } else {
                    tally.errors += 1;
                }
            }
            tally
        });
    }
    let ticker = bar.map(|bar| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while tokio::time::Instant::now() < deadline {
                tick.tick().await;
                bar.inc(1);
            }
            bar.finish_and_clear();
        })
    });
    let mut tally = LoadTally::default();
    while let Some(done) = tasks.join_next().await {
        let done = done.context("a client task panicked")?;
        tally.latencies_ms.extend(done.latencies_ms);
        tally.errors += done.errors;
    }
    if let Some(ticker) = ticker {
        let _ = ticker.await;
    }
    Ok(tally)
}

/// How far the servers' notifiers are behind on code texts when the load ends,
/// and how long they take to text every one: each request's code text is due
/// when the request is stored (nothing when confirmation is off).
pub(crate) async fn report_code_texts(store: &Store) -> anyhow::Result<()> {
    const GIVE_UP: Duration = Duration::from_secs(300);
    // Only an unconfirmed request has a code text queued.
    const WAITING: &str = "select count(*) from request_confirmations where send_at is not null";
    let ended = Instant::now();
    let backlog = count(store, WAITING).await?;
    let mut left = backlog;
    while left > 0 && ended.elapsed() < GIVE_UP {
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = count(store, WAITING).await?;
    }
    if left > 0 {
        bail!("{left} code texts were still waiting {GIVE_UP:?} after the load");
    }
    println!(
        "{:<26} {backlog} waiting when the load ended; all texted {:.1} s later",
        "code texts",
        ended.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Single-row transactions on the scratch PostgreSQL database, one insert each
/// (autocommit), for `duration`: what the server's round trips and commits cost
/// without the service.
pub(crate) async fn bare_postgres_loop(
    db: &ScratchDb,
    duration: Duration,
) -> anyhow::Result<usize> {
    let mut connection = sqlx::PgConnection::connect(&db.url()).await?;
    sqlx::query(
        "create table bare_requests (id bigserial primary key, phone text not null,
            body text not null, created_at timestamptz not null)",
    )
    .execute(&mut connection)
    .await?;
    let deadline = Instant::now() + duration;
    let mut rows = 0;
    while Instant::now() < deadline {
        sqlx::query("insert into bare_requests (phone, body, created_at) values ($1, $2, $3)")
            .bind(workload::phone_number(rows))
            .bind("I have applied for months and I am stuck.")
            .bind(Utc::now())
            .execute(&mut connection)
            .await?;
        rows += 1;
    }
    connection.close().await?;
    Ok(rows)
}

pub(crate) async fn bare_sqlite_loop(path: &Path, duration: Duration) -> anyhow::Result<usize> {
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .connect()
        .await?;
    sqlx::query(
        "create table requests (id integer primary key, phone text not null,
            body text not null, created_at text not null)",
    )
    .execute(&mut connection)
    .await?;
    let deadline = Instant::now() + duration;
    let mut rows = 0;
    while Instant::now() < deadline {
        let mut tx = connection.begin_with("begin immediate").await?;
        sqlx::query("insert into requests (phone, body, created_at) values ($1, $2, $3)")
            .bind(workload::phone_number(rows))
            .bind("I have applied for months and I am stuck.")
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        rows += 1;
    }
    connection.close().await?;
    Ok(rows)
}

pub(crate) async fn intake(args: IntakeArgs) -> anyhow::Result<()> {
    let database_url = args.database_url.clone();
    on_scratch_db(database_url.as_deref(), |db| run(args, db)).await
}

async fn run(args: IntakeArgs, db: Arc<ScratchDb>) -> anyhow::Result<()> {
    let binary = match args.server {
        Some(path) => path,
        None => ridealong_binary()?,
    };
    let instances = usize::from(args.instances);
    println!(
        "bench intake: POST /api/v1/requests, {} connections, {:.1} s (after {:.1} s warm-up), {}{}",
        args.connections,
        args.duration_secs,
        args.warmup_secs,
        db.backend(),
        if instances > 1 {
            format!(", {instances} instances")
        } else {
            String::new()
        }
    );
    // Migrated once, before the servers start, so they do not race to do it.
    let store = db.store().await?;
    let mut servers = Vec::with_capacity(instances);
    for instance in 0..instances {
        let log = db.path(&format!("serve-{instance}.log"));
        servers.push(Served::start(&binary, &db.url(), &log, &[]).await?);
    }
    let bases: Vec<String> = servers.iter().map(|served| served.base.clone()).collect();
    let pids = servers
        .iter()
        .map(|served| served.pid().context("a server exited"))
        .collect::<anyhow::Result<Vec<u32>>>()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    print_memories("server memory, idle", &pids);
    let next_phone = Arc::new(AtomicUsize::new(0));
    if args.warmup_secs > 0.0 {
        drive_intake(
            &bases,
            args.connections,
            Duration::from_secs_f64(args.warmup_secs),
            &next_phone,
            Some(seconds_bar(args.warmup_secs, "warm-up")),
        )
        .await?;
    }
    let duration = Duration::from_secs_f64(args.duration_secs);
    let started = Instant::now();
    let mut tally = drive_intake(
        &bases,
        args.connections,
        duration,
        &next_phone,
        Some(seconds_bar(args.duration_secs, "load")),
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let rate = tally.latencies_ms.len() as f64 / elapsed;
    println!(
        "{:<26} {} created, {} errors",
        "requests",
        tally.latencies_ms.len(),
        tally.errors
    );
    println!("{:<26} {rate:.0} req/s", "throughput");
    print_percentiles("latency", &mut tally.latencies_ms);
    print_memories("server memory, after load", &pids);
    report_code_texts(&store).await?;
    store.close().await;
    drop(servers);

    let label = if db.is_postgres() {
        "bare PostgreSQL loop"
    } else {
        "bare SQLite loop"
    };
    let bar = seconds_bar(args.duration_secs, label);
    let ticking = bar.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            ticking.inc(1);
        }
    });
    let bare_started = Instant::now();
    let rows = if db.is_postgres() {
        bare_postgres_loop(&db, duration).await?
    } else {
        bare_sqlite_loop(&db.path("bare.db"), duration).await?
    };
    let bare_rate = rows as f64 / bare_started.elapsed().as_secs_f64();
    ticker.abort();
    bar.finish_and_clear();
    let how = if db.is_postgres() {
        "one insert per transaction, one connection"
    } else {
        "one insert per transaction, WAL, synchronous=normal"
    };
    println!("{label:<26} {bare_rate:.0} tx/s ({how})");
    println!(
        "{:<26} {:.2} (intake req/s / bare tx/s)",
        "ratio",
        rate / bare_rate
    );
    Ok(())
}
