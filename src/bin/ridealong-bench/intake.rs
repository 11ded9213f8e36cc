//! `ridealong-bench intake`: starts `ridealong serve` as a child process and
//! drives `POST /api/v1/requests` with concurrent clients; then times a bare
//! SQLite loop of single-row transactions (WAL) on the same disk, for the ratio.

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

use crate::IntakeArgs;
use crate::support::*;

/// What a client pool saw.
#[derive(Default)]
pub(crate) struct LoadTally {
    latencies_ms: Vec<f64>,
    errors: usize,
}

pub(crate) async fn drive_intake(
    base: &str,
    connections: usize,
    duration: Duration,
    next_phone: &Arc<AtomicUsize>,
    bar: Option<ProgressBar>,
) -> anyhow::Result<LoadTally> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let deadline = tokio::time::Instant::now() + duration;
    let url = format!("{base}/api/v1/requests");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, url, next_phone) = (client.clone(), url.clone(), Arc::clone(next_phone));
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

/// How far the server's notifier is behind on code texts when the load ends,
/// and how long it takes to text every one: each request's code text is due
/// when the request is stored (nothing when confirmation is off).
pub(crate) async fn report_code_texts(path: &Path) -> anyhow::Result<()> {
    const GIVE_UP: Duration = Duration::from_secs(300);
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let ended = Instant::now();
    const WAITING: &str = "select count(*) from requests
        where status = 'unconfirmed' and confirm_send_at is not null";
    let backlog: i64 = sqlx::query_scalar(WAITING)
        .fetch_one(&mut connection)
        .await?;
    let mut left = backlog;
    while left > 0 && ended.elapsed() < GIVE_UP {
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = sqlx::query_scalar(WAITING)
            .fetch_one(&mut connection)
            .await?;
    }
    connection.close().await?;
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
    let db = ScratchDb::new()?;
    let binary = match args.server {
        Some(path) => path,
        None => ridealong_binary()?,
    };
    println!(
        "bench intake: POST /api/v1/requests, {} connections, {:.1} s (after {:.1} s warm-up), SQLite",
        args.connections, args.duration_secs, args.warmup_secs
    );
    let served =
        Served::start(&binary, &db.url("ridealong.db"), &db.path("serve.log"), &[]).await?;
    let pid = served.pid().context("the server exited")?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    print_memory("server memory, idle", pid);
    let next_phone = Arc::new(AtomicUsize::new(0));
    if args.warmup_secs > 0.0 {
        drive_intake(
            &served.base,
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
        &served.base,
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
    print_memory("server memory, after load", pid);
    report_code_texts(&db.path("ridealong.db")).await?;
    drop(served);

    let bar = seconds_bar(args.duration_secs, "bare SQLite");
    let ticking = bar.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            ticking.inc(1);
        }
    });
    let bare_started = Instant::now();
    let rows = bare_sqlite_loop(&db.path("bare.db"), duration).await?;
    let bare_rate = rows as f64 / bare_started.elapsed().as_secs_f64();
    ticker.abort();
    bar.finish_and_clear();
    println!(
        "{:<26} {bare_rate:.0} tx/s (one insert per transaction, WAL, synchronous=normal)",
        "bare SQLite loop"
    );
    println!(
        "{:<26} {:.2} (intake req/s / bare SQLite tx/s)",
        "ratio",
        rate / bare_rate
    );
    Ok(())
}
