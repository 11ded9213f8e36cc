//! `ridealong bench …`: load harnesses that print the figures BENCHMARKS.md
//! tracks. Each one builds its own throwaway SQLite database in a temporary
//! directory, so it runs from a clean checkout with nothing else set up.
//!
//! - `bench matching`: seeds pending requests and mentors, then times one matcher
//!   run in its phases: loading, planning, saving the bookings.
//! - `bench intake`: starts `ridealong serve` as a child process and drives
//!   `POST /api/v1/requests` with concurrent clients; then times a bare SQLite
//!   loop of single-row transactions (WAL) on the same disk, for the ratio.
//! - `bench dispatch`: books calls that all start at one instant, serves a fake
//!   Twilio over loopback that takes a set time per create-call, and measures when
//!   each call reached it against its paced due time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use chrono_tz::Tz;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use tokio::net::TcpListener;

use crate::app::{App, AppConfig};
use crate::bench::workload::{self, MentorSpec, RequestSpec};
use crate::cli::demo;
use crate::clock::SystemClock;
use crate::domain::hours::{CallingHours, SeekerHours};
use crate::domain::matching::{Booking, MatchPolicy, plan_bookings};
use crate::domain::mentor::NewMentor;
use crate::domain::phone::PhoneNumber;
use crate::domain::request::NewRequest;
use crate::domain::schedule::Slot;
use crate::domain::status::RequestStatus;
use crate::domain::weekly::{Weekdays, WeeklyRange};
use crate::scheduler::{notifier, reconciler};
use crate::secret::Secret;
use crate::store::Store;
use crate::telephony::twilio::{TwilioClient, TwilioConfig};
use crate::tokens;

/// `ridealong bench …`
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Time one matcher run over seeded requests and mentors on SQLite.
    Matching(MatchingArgs),
    /// Drive POST /api/v1/requests on a served instance with concurrent clients.
    Intake(IntakeArgs),
    /// Measure how punctually a burst of calls due at one instant reaches the provider.
    Dispatch(DispatchArgs),
}

/// `ridealong bench matching`
#[derive(Args, Debug)]
pub struct MatchingArgs {
    /// Pending requests to seed.
    #[arg(long, default_value_t = 100_000)]
    pub requests: usize,
    /// Mentors to seed, each with five 45-minute windows (one per weekday).
    #[arg(long, default_value_t = 10_000)]
    pub mentors: usize,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `ridealong bench intake`
#[derive(Args, Debug)]
pub struct IntakeArgs {
    /// Concurrent client connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    pub duration_secs: f64,
    /// Seconds of load before measuring (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup_secs: f64,
    /// The `ridealong` binary to serve with (default: this one).
    #[arg(long)]
    pub server: Option<PathBuf>,
}

/// `ridealong bench dispatch`
#[derive(Args, Debug)]
pub struct DispatchArgs {
    /// Calls due at the same instant.
    #[arg(long, default_value_t = 600)]
    pub calls: usize,
    /// Calls per second the provider account allows (RIDEALONG_CPS).
    #[arg(long, default_value_t = 50)]
    pub cps: u32,
    /// How long the fake provider takes to answer each create-call, in ms.
    #[arg(long, default_value_t = 200)]
    pub latency_ms: u64,
    /// Seconds from booking to the calls' start, for the service to settle.
    #[arg(long, default_value_t = 5.0)]
    pub lead_secs: f64,
    /// Dial an outside stand-in for Twilio at this base URL instead of the
    /// built-in fake, and read when each call reached it from its `GET
    /// /arrivals` (see benches/standin/twilio_calls.py); `--latency-ms` is then
    /// the stand-in's.
    #[arg(long)]
    pub provider_url: Option<String>,
}

/// Runs a bench command.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Matching(args) => matching(args).await,
        BenchCommand::Intake(args) => intake(args).await,
        BenchCommand::Dispatch(args) => dispatch(args).await,
    }
}

/// A fresh SQLite database in a temporary directory removed on drop.
struct ScratchDb {
    dir: tempfile::TempDir,
}

impl ScratchDb {
    fn new() -> anyhow::Result<ScratchDb> {
        Ok(ScratchDb {
            dir: tempfile::Builder::new()
                .prefix("ridealong-bench-")
                .tempdir()
                .context("creating a temporary directory")?,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self, name: &str) -> String {
        format!("sqlite://{}", self.path(name).display())
    }

    async fn store(&self) -> anyhow::Result<Store> {
        let store = Store::connect(&self.url("ridealong.db")).await?;
        store.migrate().await?;
        Ok(store)
    }
}

fn progress(length: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn seconds_bar(seconds: f64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new((seconds * 10.0).ceil() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Mentors `specs` with their windows; returns their ids. Phones come from
/// `phone_base` on.
async fn seed_mentors(
    store: &Store,
    specs: &[MentorSpec],
    phone_base: usize,
    with_windows: bool,
) -> anyhow::Result<Vec<i64>> {
    let bar = progress(specs.len() as u64, "mentors");
    let now = Utc::now();
    let mut ids = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let mentor = NewMentor {
            name: format!("Mentor {index}"),
            phone: PhoneNumber::from_stored(workload::phone_number(phone_base + index)),
            zone: spec.zone,
            topics: spec.topics.clone(),
            call_minutes: workload::CALL_MINUTES,
            max_calls_per_window: None,
        };
        let token_hash = tokens::hash(&format!("bench-mentor-{index}"));
        let id = store.insert_mentor(&mentor, &token_hash, now).await?.id;
        if with_windows {
            for window in &spec.windows {
                store.insert_window(id, window, now).await?;
            }
        }
        ids.push(id);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ids)
}

/// Pending requests `specs`; returns their ids.
async fn seed_requests(store: &Store, specs: &[RequestSpec]) -> anyhow::Result<Vec<i64>> {
    let bar = progress(specs.len() as u64, "requests");
    let mut ids = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let request = NewRequest {
            name: format!("Seeker {index}"),
            phone: PhoneNumber::from_stored(workload::phone_number(index)),
            zone: spec.zone,
            topic: spec.topic.clone(),
            message: "I am stuck after months of applications.".to_owned(),
            availability: spec.availability.clone(),
        };
        let hash = tokens::hash(&format!("bench-request-{index}"));
        let record = store
            .insert_request(&request, RequestStatus::Pending, &hash, spec.created_at)
            .await?;
        ids.push(record.id);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ids)
}

/// Resident and peak resident memory of process `pid`, in MiB, from /proc.
fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn print_memory(label: &str, pid: u32) {
    match memory_mib(pid) {
        Some((rss, peak)) => println!("{label:<26} {rss:.1} MiB (peak {peak:.1} MiB)"),
        None => println!("{label:<26} unknown (no /proc)"),
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The `p`-th percentile (0–100) of `sorted`, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_percentiles(label: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label:<26} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(values, 50.0),
        percentile(values, 90.0),
        percentile(values, 99.0),
        values.last().copied().unwrap_or(f64::NAN),
    );
}

async fn matching(args: MatchingArgs) -> anyhow::Result<()> {
    let db = ScratchDb::new()?;
    let store = db.store().await?;
    let now = Utc::now();
    let policy = MatchPolicy::default();
    println!(
        "bench matching: {} pending requests, {} mentors x {} windows, {}-day horizon, SQLite",
        args.requests,
        args.mentors,
        workload::WINDOWS_PER_MENTOR,
        policy.horizon.num_days()
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

    // Seeding commits one row at a time and leaves a write-ahead log of gigabytes
    // at 100k that this process does not checkpoint on its own (see
    // BENCHMARKS.md); fold it into the database first, untimed, so the phases
    // below read the database file rather than the log.
    let checkpointing = Instant::now();
    store.checkpoint().await?;
    println!(
        "{:<26} {:.1} s",
        "checkpointed in",
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
    let saved = store.book(&plan, now).await?;
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
        "persist (Store::book)",
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
async fn serve_with_booked_calls(db: &ScratchDb, requests: usize) -> anyhow::Result<()> {
    let binary = std::env::current_exe().context("finding this binary")?;
    let served = Served::start(
        &binary,
        &db.url("ridealong.db"),
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

/// What a client pool saw.
#[derive(Default)]
struct LoadTally {
    latencies_ms: Vec<f64>,
    errors: usize,
}

async fn drive_intake(
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

/// A served `ridealong` child process, killed on drop.
struct Served {
    child: tokio::process::Child,
    base: String,
}

impl Served {
    async fn start(
        binary: &Path,
        database_url: &str,
        log: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Served> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(log)?;
        let child = tokio::process::Command::new(binary)
            // The load comes from one address: the per-IP limit would refuse it.
            .args([
                "serve",
                "--telephony",
                "simulated",
                "--rate-limit-per-minute",
                "0",
            ])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(database_url)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let served = Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let healthz = format!("{}/healthz", served.base);
        let started = Instant::now();
        loop {
            if client
                .get(&healthz)
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                return Ok(served);
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the server did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// How far the server's notifier is behind on code texts when the load ends,
/// and how long it takes to text every one: each request's code text is due
/// when the request is stored (nothing when confirmation is off).
async fn report_code_texts(path: &Path) -> anyhow::Result<()> {
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

async fn bare_sqlite_loop(path: &Path, duration: Duration) -> anyhow::Result<usize> {
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

async fn intake(args: IntakeArgs) -> anyhow::Result<()> {
    let db = ScratchDb::new()?;
    let binary = match args.server {
        Some(path) => path,
        None => std::env::current_exe().context("finding this binary")?,
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

/// When each create-call reached the fake provider, and for which call.
#[derive(Default)]
struct Arrivals {
    calls: Vec<(Instant, String)>,
}

#[derive(Clone)]
struct FakeProvider {
    arrivals: Arc<Mutex<Arrivals>>,
    count: tokio::sync::watch::Sender<usize>,
    latency: Duration,
    next_sid: Arc<AtomicUsize>,
}

async fn fake_create_call(
    State(fake): State<FakeProvider>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    let arrived = Instant::now();
    let url = form.get("Url").cloned().unwrap_or_default();
    let count = {
        let mut arrivals = fake.arrivals.lock().expect("arrivals lock");
        arrivals.calls.push((arrived, url));
        arrivals.calls.len()
    };
    fake.count.send_replace(count);
    tokio::time::sleep(fake.latency).await;
    let sid = format!("CA{:032x}", fake.next_sid.fetch_add(1, Ordering::Relaxed));
    (
        StatusCode::CREATED,
        axum::Json(json!({ "sid": sid, "status": "queued" })),
    )
}

async fn fake_send_sms(
    State(fake): State<FakeProvider>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    let sid = format!("SM{:032x}", fake.next_sid.fetch_add(1, Ordering::Relaxed));
    (
        StatusCode::CREATED,
        axum::Json(json!({ "sid": sid, "status": "queued" })),
    )
}

async fn dispatch(args: DispatchArgs) -> anyhow::Result<()> {
    const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
    println!(
        "bench dispatch: {} calls due at one instant, CPS {}, provider takes {} ms per create-call",
        args.calls, args.cps, args.latency_ms
    );
    let (count, mut counted) = tokio::sync::watch::channel(0usize);
    let fake = FakeProvider {
        arrivals: Arc::default(),
        count,
        latency: Duration::from_millis(args.latency_ms),
        next_sid: Arc::default(),
    };
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"),
            post(fake_create_call),
        )
        .route(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"),
            post(fake_send_sms),
        )
        .with_state(fake.clone());
    let (api_base, fake_server) = match &args.provider_url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let fake_base = format!("http://{}", listener.local_addr()?);
            let server = tokio::spawn(async move { axum::serve(listener, router).await });
            (fake_base, Some(server))
        }
    };

    let db = ScratchDb::new()?;
    let store = db.store().await?;
    let now = Utc::now();
    let mentors = seed_mentors(&store, &workload::mentors(args.calls, 1), 1_000_000, false).await?;
    let lead = TimeDelta::milliseconds((args.lead_secs * 1000.0) as i64);
    let seekers = free_every_day(workload::requests(args.calls, now, 2), now, lead);
    let requests = seed_requests(&store, &seekers).await?;
    let starts_at = (Utc::now() + lead)
        .duration_round_up(TimeDelta::seconds(1))
        .unwrap_or(Utc::now() + lead);
    let slot = Slot {
        starts_at,
        ends_at: starts_at + TimeDelta::minutes(15),
    };
    let bookings: Vec<Booking> = mentors
        .iter()
        .zip(&requests)
        .map(|(&mentor_id, &request_id)| Booking {
            request_id,
            mentor_id,
            slot,
        })
        .collect();
    let booked_at = Utc::now();
    let booked = store.book(&bookings, booked_at).await?;
    let due = Instant::now() + (starts_at - Utc::now()).to_std().unwrap_or_default();

    let provider = TwilioClient::new(TwilioConfig {
        api_base: api_base.clone(),
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: Secret::new("bench-auth-token"),
    })?;
    let app = App::start(
        store,
        AppConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            admin_token: None,
            policy: MatchPolicy::default(),
            default_region: None,
            match_interval: Duration::from_secs(3600),
            reconcile_interval: reconciler::ROUND_INTERVAL,
            notify_interval: notifier::INTERVAL,
            provider: Arc::new(provider),
            public_url: None,
            from_number: crate::config::SIMULATED_FROM_NUMBER.to_owned(),
            cps: args.cps,
            limits: crate::web::limits::LimitSettings::default(),
            privacy: crate::config::PrivacySettings::default(),
        },
        Arc::new(SystemClock),
    )
    .await?;
    let expected = booked.len();
    let pacing = Duration::from_secs(1) / args.cps.max(1);
    let window = due.saturating_duration_since(Instant::now())
        + pacing * expected as u32
        + Duration::from_secs(30);
    let bar = progress(expected as u64, "dialed");
    let waiting = async {
        loop {
            let seen = *counted.borrow_and_update();
            bar.set_position(seen as u64);
            if seen >= expected {
                break;
            }
            if counted.changed().await.is_err() {
                break;
            }
        }
    };
    let finished = if fake_server.is_some() {
        tokio::time::timeout(window, waiting).await.is_ok()
    } else {
        // The stand-in is asked afterwards; wait out the burst's paced length.
        drop(waiting);
        tokio::time::sleep(window - Duration::from_secs(25)).await;
        true
    };
    bar.finish_and_clear();
    // Let in-flight placements answer, so a doubled dial would show up too.
    tokio::time::sleep(Duration::from_millis(args.latency_ms) + pacing * 5).await;
    print_memory("process memory", std::process::id());
    app.stop().await;

    let arrivals = match fake_server {
        Some(server) => {
            server.abort();
            std::mem::take(&mut fake.arrivals.lock().expect("arrivals lock").calls)
        }
        None => standin_arrivals(&api_base, booked_at, starts_at, due).await?,
    };
    report_dispatch(&arrivals, due, pacing, expected, finished);
    Ok(())
}

/// `specs` as seekers free every day, in a zone where the next half hour after
/// `now` and `lead` lies inside calling hours: the dispatch run books them a call
/// a moment from now, which must be one they may take on any day at any hour.
fn free_every_day(
    specs: Vec<RequestSpec>,
    now: DateTime<Utc>,
    lead: TimeDelta,
) -> Vec<RequestSpec> {
    let (from, to) = (now, now + lead + TimeDelta::minutes(30));
    let every_day = |zone| {
        WeeklyRange::new(
            Weekdays::ALL,
            CallingHours::WIDEST.start(),
            CallingHours::WIDEST.end(),
            zone,
        )
        .expect("calling hours never start and end at the same time")
    };
    let zone = demo::ZONES
        .iter()
        .filter_map(|name| name.parse::<Tz>().ok())
        .find(|zone| {
            SeekerHours::new(*zone, vec![every_day(*zone)], CallingHours::WIDEST).permits(from, to)
        })
        .unwrap_or(chrono_tz::America::New_York);
    specs
        .into_iter()
        .map(|spec| RequestSpec {
            zone,
            availability: vec![every_day(zone)],
            ..spec
        })
        .collect()
}

/// What an outside stand-in recorded since `booked_at`: its arrival times (Unix
/// seconds on this machine's clock) placed on this process's monotonic clock
/// by their distance from `starts_at`, which is `due`.
async fn standin_arrivals(
    base: &str,
    booked_at: chrono::DateTime<Utc>,
    starts_at: chrono::DateTime<Utc>,
    due: Instant,
) -> anyhow::Result<Vec<(Instant, String)>> {
    #[derive(serde::Deserialize)]
    struct Arrival {
        at: f64,
        url: String,
    }
    let recorded: Vec<Arrival> = reqwest::get(format!("{base}/arrivals"))
        .await?
        .error_for_status()?
        .json()
        .await
        .context("reading the stand-in's /arrivals")?;
    let seconds = |instant: chrono::DateTime<Utc>| instant.timestamp_micros() as f64 / 1e6;
    Ok(recorded
        .into_iter()
        .filter(|arrival| arrival.at >= seconds(booked_at))
        .map(|arrival| {
            let offset = arrival.at - seconds(starts_at);
            let at = if offset >= 0.0 {
                due + Duration::from_secs_f64(offset)
            } else {
                due - Duration::from_secs_f64(-offset)
            };
            (at, arrival.url)
        })
        .collect())
}

fn report_dispatch(
    arrivals: &[(Instant, String)],
    due: Instant,
    pacing: Duration,
    expected: usize,
    finished: bool,
) {
    let mut by_time: Vec<&(Instant, String)> = arrivals.iter().collect();
    by_time.sort_by_key(|(arrived, _)| *arrived);
    let mut lateness: Vec<f64> = by_time
        .iter()
        .enumerate()
        .map(|(index, (arrived, _))| {
            let due_at = due + pacing * index as u32;
            if *arrived >= due_at {
                millis(*arrived - due_at)
            } else {
                -millis(due_at - *arrived)
            }
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (_, url) in arrivals {
        *seen.entry(url.as_str()).or_default() += 1;
    }
    let doubled = seen.values().filter(|&&times| times > 1).count();
    let early = lateness.iter().filter(|&&late| late < 0.0).count();
    let on_time = lateness.iter().filter(|&&late| late <= 250.0).count();
    println!(
        "{:<26} {} of {expected}{}",
        "calls reached provider",
        arrivals.len(),
        if finished { "" } else { " (timed out waiting)" }
    );
    println!(
        "{:<26} T + i/CPS, i = order of arrival",
        "due time of the i-th call"
    );
    print_percentiles("lateness", &mut lateness);
    println!(
        "{:<26} {on_time} of {} ({:.1}%)",
        "within 250 ms",
        arrivals.len(),
        100.0 * on_time as f64 / arrivals.len().max(1) as f64
    );
    println!("{:<26} {early}", "early");
    println!("{:<26} {doubled}", "doubled");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }
}
