//! The `ridealong` binary as an operator runs it: `migrate`, `mentor`, `window`,
//! `request` and `calls` against a fresh database (SQLite, or PostgreSQL when
//! `RIDEALONG_TEST_POSTGRES_URL` is set), its error messages and exit codes, and
//! `serve` starting, answering `/healthz` and stopping on SIGTERM.
//!
//! Requests and bookings the CLI cannot make are written through the store and the
//! matcher with a fixed clock (Monday 2026-11-30 12:00 UTC), never the wall clock.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::helpers::served::Served;
use crate::helpers::{self, TestDb, default_now};
use ridealong::clock::ManualClock;
use ridealong::domain::matching::MatchPolicy;
use ridealong::domain::status::RequestStatus;
use ridealong::ids::{MentorId, RequestId};
use ridealong::scheduler::matcher::Matcher;
use ridealong::store::{CancelOutcome, Store};
use ridealong::tokens;

/// What one run of the binary did.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts the run succeeded; returns it for more checks.
    fn ok(self) -> Run {
        assert!(
            self.status.success(),
            "ridealong failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the run failed with nothing on stdout; returns stderr.
    fn failed(self) -> String {
        assert!(
            !self.status.success(),
            "ridealong should have failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stdout.trim().is_empty(),
            "a failed command printed: {}",
            self.stdout
        );
        self.stderr
    }

    /// Stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", self.stdout))
    }
}

/// The binary with `DATABASE_URL` set and no ridealong or Twilio settings inherited
/// from the environment running the tests.
fn command(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridealong"));
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.starts_with("RIDEALONG_")
            || name_text.starts_with("TWILIO_")
            || name_text == "RUST_LOG"
        {
            command.env_remove(&name);
        }
    }
    command
        .env("DATABASE_URL", database_url)
        .env("NO_COLOR", "1");
    command
}

/// Runs `ridealong args…` against `database_url` and waits for it to finish.
async fn ridealong(database_url: &str, args: &[&str]) -> Run {
    let mut command = command(database_url);
    command.args(args).stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the blocking task runs")
        .expect("the binary starts");
    Run {
        status: output.status,
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Adds Grace, a Los Angeles mentor, with `--json`; returns `(id, token)`.
async fn add_mentor(database_url: &str, name: &str, phone: &str) -> (i64, String) {
    let created = ridealong(
        database_url,
        &[
            "mentor",
            "add",
            "--name",
            name,
            "--phone",
            phone,
            "--timezone",
            "America/Los_Angeles",
            "--topic",
            "Interviews",
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    let id = created["id"].as_i64().expect("mentor id");
    let token = created["token"].as_str().expect("mentor token").to_owned();
    (id, token)
}

/// Adds the window Mon and Tue 07:30-08:15 (mentor's zone) with `--json`.
async fn add_window(database_url: &str, mentor_id: i64) -> Value {
    ridealong(
        database_url,
        &[
            "window",
            "add",
            "--mentor",
            &mentor_id.to_string(),
            "--weekdays",
            "mon,tue",
            "--start",
            "07:30",
            "--end",
            "08:15",
            "--json",
        ],
    )
    .await
    .ok()
    .json()
}

/// Stores a pending New York request with `phone`, made at `created_at`; returns
/// its id.
async fn add_request(
    store: &Store,
    name: &str,
    phone: &str,
    created_at: DateTime<Utc>,
) -> RequestId {
    let request = helpers::new_request(name, phone);
    let manage_token = tokens::generate(tokens::MANAGE_PREFIX);
    store
        .insert_request(
            &request,
            RequestStatus::Pending,
            &tokens::hash(&manage_token),
            created_at,
        )
        .await
        .expect("request stored")
        .id
}

/// The mentor whose API token is `token`, looked up as the API does.
async fn mentor_with_token(store: &Store, token: &str) -> Option<MentorId> {
    store
        .mentor_id_by_token_hash(&tokens::hash(token))
        .await
        .expect("token look-up")
}

#[tokio::test]
async fn migrate_succeeds_twice_on_the_same_database() {
    let db = TestDb::create().await;
    let first = ridealong(db.url(), &["migrate"]).await.ok();
    assert!(first.stderr.contains("up to date"), "{}", first.stderr);
    let second = ridealong(db.url(), &["migrate"]).await.ok();
    assert!(second.stderr.contains("up to date"), "{}", second.stderr);
    let store = db.connect().await;
    assert!(store.mentors().await.expect("schema exists").is_empty());
    store.close().await;
}

#[tokio::test]
async fn mentor_add_with_json_prints_the_id_and_a_token_that_authenticates_the_mentor() {
    let db = TestDb::create().await;
    let created = ridealong(
        db.url(),
        &[
            "mentor",
            "add",
            "--name",
            "Grace Hopper",
            "--phone",
            "+12065550123",
            "--timezone",
            "America/Los_Angeles",
            "--topic",
            "Interviews",
            "--topic",
            "Data analysis",
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    let id = MentorId(created["id"].as_i64().expect("numeric id"));
    let token = created["token"].as_str().expect("token");
    assert!(token.starts_with("ram_"), "{token}");
    assert!(token.len() > 40, "a token carries 256 random bits: {token}");
    assert_eq!(created["name"], "Grace Hopper");
    assert_eq!(created["timezone"], "America/Los_Angeles");
    assert_eq!(created["call_minutes"], 15);
    assert_eq!(
        created["topics"],
        serde_json::json!(["Interviews", "Data analysis"])
    );
    assert_eq!(created["windows"], serde_json::json!([]));

    let store = db.connect().await;
    assert_eq!(mentor_with_token(&store, token).await, Some(id));
    store.close().await;
}

#[tokio::test]
async fn mentor_add_prints_id_name_and_token_but_never_the_phone_number() {
    let db = TestDb::create().await;
    let run = ridealong(
        db.url(),
        &[
            "mentor",
            "add",
            "--name",
            "Grace Hopper",
            "--phone",
            "(206) 555-0123",
            "--timezone",
            "America/Los_Angeles",
        ],
    )
    .await
    .ok();

    let first_line = run.stdout.lines().next().expect("a first line");
    let id: MentorId = first_line
        .strip_prefix("mentor ")
        .and_then(|rest| rest.split_once(" added: "))
        .map(|(id, name)| {
            assert_eq!(name, "Grace Hopper");
            id.parse().expect("numeric id")
        })
        .unwrap_or_else(|| panic!("unexpected first line: {first_line}"));
    let token = run
        .stdout
        .lines()
        .find(|line| line.contains("token"))
        .and_then(|line| line.split_whitespace().last())
        .unwrap_or_else(|| panic!("no token line in: {}", run.stdout));
    assert!(token.starts_with("ram_"), "{token}");

    for form in ["(206) 555-0123", "555-0123", "5550123", "+12065550123"] {
        assert!(
            !run.stdout.contains(form),
            "stdout shows the phone number: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(form),
            "stderr shows the phone number: {}",
            run.stderr
        );
    }

    let store = db.connect().await;
    assert_eq!(mentor_with_token(&store, token).await, Some(id));
    let mentor = store.mentor(id).await.expect("read").expect("stored");
    assert_eq!(mentor.phone, "+12065550123", "stored in E.164");
    store.close().await;
}

#[tokio::test]
async fn window_add_with_json_prints_the_window_in_the_mentors_zone() {
    let db = TestDb::create().await;
    let (mentor_id, _) = add_mentor(db.url(), "Grace Hopper", "+12065550123").await;
    let window = add_window(db.url(), mentor_id).await;
    assert!(window["id"].as_i64().is_some(), "{window}");
    assert_eq!(window["mentor_id"], mentor_id);
    assert_eq!(window["weekdays"], serde_json::json!(["mon", "tue"]));
    assert_eq!(window["start"], "07:30");
    assert_eq!(window["end"], "08:15");
    assert_eq!(window["timezone"], "America/Los_Angeles");

    let table = ridealong(
        db.url(),
        &[
            "window",
            "add",
            "--mentor",
            &mentor_id.to_string(),
            "--weekdays",
            "fri",
            "--start",
            "17:00",
            "--end",
            "17:45",
            "--timezone",
            "America/Denver",
        ],
    )
    .await
    .ok();
    assert!(
        table.stdout.contains(&format!(
            "to mentor {mentor_id}: fri 17:00-17:45 America/Denver"
        )),
        "{}",
        table.stdout
    );
}

#[tokio::test]
async fn mentor_list_shows_each_mentor_with_their_windows_as_a_table_and_as_json() {
    let db = TestDb::create().await;
    let (grace, _) = add_mentor(db.url(), "Grace Hopper", "+12065550123").await;
    let (alan, _) = add_mentor(db.url(), "Alan Turing", "+12065550142").await;
    let window = add_window(db.url(), grace).await;

    let table = ridealong(db.url(), &["mentor", "list"]).await.ok();
    assert!(table.stdout.contains("Grace Hopper"), "{}", table.stdout);
    assert!(table.stdout.contains("Alan Turing"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("mon,tue 07:30-08:15 America/Los_Angeles"),
        "{}",
        table.stdout
    );

    let list = ridealong(db.url(), &["mentor", "list", "--json"])
        .await
        .ok()
        .json();
    let mentors = list.as_array().expect("a JSON array");
    assert_eq!(mentors.len(), 2, "{list}");
    assert_eq!(mentors[0]["id"], grace);
    assert_eq!(mentors[0]["windows"], serde_json::json!([window]));
    assert_eq!(mentors[1]["id"], alan);
    assert_eq!(mentors[1]["windows"], serde_json::json!([]));
    assert!(
        mentors.iter().all(|mentor| mentor.get("token").is_none()),
        "a listing never shows tokens: {list}"
    );
}

#[tokio::test]
async fn request_list_shows_every_request_and_filters_by_status() {
    let db = TestDb::create().await;
    ridealong(db.url(), &["migrate"]).await.ok();
    let store = db.connect().await;
    let now = default_now();
    let waiting = add_request(&store, "Ada", "+12015550123", now - TimeDelta::hours(2)).await;
    let withdrawn = add_request(&store, "Bob", "+12015550124", now - TimeDelta::hours(1)).await;
    assert_eq!(
        store.cancel_request(withdrawn, now).await.expect("cancel"),
        CancelOutcome::Canceled { call: None }
    );
    store.close().await;

    let all = ridealong(db.url(), &["request", "list", "--json"])
        .await
        .ok()
        .json();
    let ids: Vec<RequestId> = all
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|request| RequestId(request["id"].as_i64().expect("id")))
        .collect();
    assert_eq!(ids, vec![waiting, withdrawn], "oldest first: {all}");

    let pending = ridealong(
        db.url(),
        &["request", "list", "--status", "pending", "--json"],
    )
    .await
    .ok()
    .json();
    let pending = pending.as_array().expect("a JSON array");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["id"], waiting.0);
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["call"], Value::Null);

    let canceled = ridealong(
        db.url(),
        &["request", "list", "--status", "canceled", "--json"],
    )
    .await
    .ok()
    .json();
    assert_eq!(canceled.as_array().map(Vec::len), Some(1), "{canceled}");
    assert_eq!(canceled[0]["id"], withdrawn.0);

    let table = ridealong(db.url(), &["request", "list", "--status", "pending"])
        .await
        .ok();
    assert!(table.stdout.contains("Ada"), "{}", table.stdout);
    assert!(!table.stdout.contains("Bob"), "{}", table.stdout);
    assert!(
        !table.stdout.contains("555"),
        "the table never shows phone numbers: {}",
        table.stdout
    );

    let none = ridealong(db.url(), &["request", "list", "--status", "completed"])
        .await
        .ok();
    assert_eq!(none.stdout.trim(), "(none)");
}

#[tokio::test]
async fn calls_list_shows_a_booked_call_and_filters_by_status_and_mentor() {
    let db = TestDb::create().await;
    let (grace, _) = add_mentor(db.url(), "Grace Hopper", "+12065550123").await;
    let (alan, _) = add_mentor(db.url(), "Alan Turing", "+12065550142").await;
    add_window(db.url(), grace).await;

    // Monday 2026-11-30 12:00 UTC: Grace's first slot with two hours' notice is
    // today 07:30 in Los Angeles, 15:30 UTC (10:30 for the New York seeker).
    let now = default_now();
    let store = db.connect().await;
    let request = add_request(&store, "Ada", "+12015550123", now - TimeDelta::hours(1)).await;
    let matcher = Matcher::new(
        store.clone(),
        Arc::new(ManualClock::new(now)),
        MatchPolicy::default(),
    );
    let report = matcher.run_once().await.expect("matcher runs");
    assert_eq!(report.booked, 1, "{report:?}");
    store.close().await;

    let all = ridealong(db.url(), &["calls", "list", "--json"])
        .await
        .ok()
        .json();
    let calls = all.as_array().expect("a JSON array");
    assert_eq!(calls.len(), 1, "{all}");
    let call = &calls[0];
    assert_eq!(call["request_id"], request.0);
    assert_eq!(call["mentor_id"], grace);
    assert_eq!(call["status"], "scheduled");
    assert_eq!(call["outcome"], Value::Null);
    assert_eq!(call["talk_seconds"], Value::Null);
    assert_eq!(
        call["starts_at"].as_str().map(helpers::at),
        Some(helpers::at("2026-11-30T15:30:00Z")),
        "{call}"
    );
    assert_eq!(
        call["ends_at"].as_str().map(helpers::at),
        Some(helpers::at("2026-11-30T15:45:00Z")),
        "{call}"
    );

    let grace_id = grace.to_string();
    let filtered = ridealong(
        db.url(),
        &[
            "calls",
            "list",
            "--status",
            "scheduled",
            "--mentor",
            &grace_id,
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(filtered, all);

    let alan_id = alan.to_string();
    let others = ridealong(db.url(), &["calls", "list", "--mentor", &alan_id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(others, serde_json::json!([]));
    let canceled = ridealong(
        db.url(),
        &["calls", "list", "--status", "canceled", "--json"],
    )
    .await
    .ok()
    .json();
    assert_eq!(canceled, serde_json::json!([]));

    let table = ridealong(
        db.url(),
        &[
            "calls",
            "list",
            "--status",
            "scheduled",
            "--mentor",
            &grace_id,
        ],
    )
    .await
    .ok();
    assert!(
        table.stdout.contains("2026-11-30 15:30"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("scheduled"), "{}", table.stdout);

    let requests = ridealong(db.url(), &["request", "list", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(requests[0]["status"], "scheduled", "{requests}");
    assert_eq!(requests[0]["call"]["id"], call["id"]);
    assert_eq!(requests[0]["call"]["mentor_name"], "Grace Hopper");
}

#[tokio::test]
async fn mentor_add_rejects_an_invalid_phone_naming_the_field_and_stores_nothing() {
    let db = TestDb::create().await;
    let stderr = ridealong(
        db.url(),
        &[
            "mentor",
            "add",
            "--name",
            "Grace Hopper",
            "--phone",
            "12345",
            "--timezone",
            "America/Los_Angeles",
        ],
    )
    .await
    .failed();
    assert!(stderr.contains("phone"), "{stderr}");
    assert!(
        !stderr.contains("panicked"),
        "a bad input is an error, not a crash: {stderr}"
    );
    let list = ridealong(db.url(), &["mentor", "list", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(list, serde_json::json!([]));
}

#[tokio::test]
async fn window_add_for_an_unknown_mentor_fails_and_names_the_mentor() {
    let db = TestDb::create().await;
    let stderr = ridealong(
        db.url(),
        &[
            "window",
            "add",
            "--mentor",
            "4242",
            "--weekdays",
            "mon,tue",
            "--start",
            "07:30",
            "--end",
            "08:15",
        ],
    )
    .await
    .failed();
    assert!(stderr.contains("no mentor 4242"), "{stderr}");
}

#[tokio::test]
async fn an_unknown_status_filter_is_refused_with_the_valid_choices() {
    let db = TestDb::create().await;
    let stderr = ridealong(db.url(), &["request", "list", "--status", "waiting"])
        .await
        .failed();
    assert!(stderr.contains("waiting"), "{stderr}");
    assert!(stderr.contains("pending"), "lists the choices: {stderr}");

    let stderr = ridealong(db.url(), &["calls", "list", "--status", "booked"])
        .await
        .failed();
    assert!(stderr.contains("booked"), "{stderr}");
    assert!(
        stderr.contains("in_progress"),
        "lists the choices: {stderr}"
    );
}

#[tokio::test]
async fn an_unsupported_database_url_scheme_is_refused_without_showing_the_password() {
    let stderr = ridealong(
        "mysql://operator:hunter2-secret@db.example/ridealong",
        &["migrate"],
    )
    .await
    .failed();
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(
        !stderr.contains("hunter2-secret"),
        "the password leaks: {stderr}"
    );
}

/// The SQLite file behind a `sqlite://path` URL.
fn sqlite_path(db: &TestDb) -> Option<PathBuf> {
    match db {
        TestDb::Sqlite { url, .. } => Some(PathBuf::from(
            url.strip_prefix("sqlite://").expect("sqlite:// URL"),
        )),
        TestDb::Postgres { .. } => None,
    }
}

/// `PRAGMA journal_mode` of the file, read on a connection that does not set it.
async fn journal_mode(path: &Path) -> String {
    use sqlx::ConnectOptions;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false);
    let mut connection = options.connect().await.expect("open the SQLite file");
    let mode: String = sqlx::query_scalar("pragma journal_mode")
        .fetch_one(&mut connection)
        .await
        .expect("journal mode");
    sqlx::Connection::close(connection).await.expect("close");
    mode
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_creates_the_database_answers_health_checks_and_exits_cleanly_on_sigterm() {
    let db = TestDb::create().await;
    let sqlite = sqlite_path(&db);
    if let Some(path) = &sqlite {
        assert!(!path.exists(), "the database file exists before serve");
    }
    let mut served = Served::start(command(db.url()));

    let address = served.listening_address(Duration::from_secs(30)).await;
    let health: Value = reqwest::get(format!("http://{address}/healthz"))
        .await
        .expect("serve answers")
        .json()
        .await
        .expect("health body is JSON");
    assert_eq!(health["status"], "ok", "{health}");
    if let Some(path) = &sqlite {
        assert!(path.exists(), "serve did not create {}", path.display());
    }

    let terminated = Command::new("kill")
        .arg("-TERM")
        .arg(served.pid().to_string())
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let status = served.wait_for_exit(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "serve exited with {status}:\n{}",
        served.log()
    );

    if let Some(path) = &sqlite {
        assert_eq!(journal_mode(path).await, "wal");
        // Bytes 18 and 19 of the header are 2 in a WAL-mode database file.
        let header = std::fs::read(path).expect("read the database file");
        assert_eq!(&header[18..20], &[2, 2], "file header is not in WAL mode");
    }
}
