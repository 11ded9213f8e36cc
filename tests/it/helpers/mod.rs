//! Test harness: starts the real app on port 0 against a fresh database and talks
//! to it over HTTP.
//!
//! The database is a new SQLite file per test, or, when `RIDEALONG_TEST_POSTGRES_URL`
//! is set, a new PostgreSQL database per test (created from that URL and dropped
//! afterwards). The clock is a [`ManualClock`], so tests choose "now" and never
//! sleep; `settle()` runs the matcher and waits for it. Logs only with `TEST_LOG`.

pub mod audit;
pub mod browser;
pub mod fake_twilio;
pub mod privacy;
pub mod proxy;
pub mod served;

use std::sync::{Arc, Once};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use ridealong::app::{App, AppConfig};
use ridealong::clock::{Clock, ManualClock};
use ridealong::config::PrivacySettings;
use ridealong::domain::hours::CallingHours;
use ridealong::domain::matching::MatchPolicy;
use ridealong::domain::request::{NewRequest, RequestInput};
use ridealong::scheduler::matcher::MatchReport;
use ridealong::secret::Secret;
use ridealong::store::Store;
use ridealong::telephony::player::Pace;
use ridealong::telephony::simulated::SimulatedProvider;
use ridealong::telephony::twilio::{RetryPolicy, TwilioClient, TwilioConfig};
use ridealong::web::limits::LimitSettings;

/// The admin token every test app accepts.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Environment variable naming a PostgreSQL server to run the tests against.
pub const POSTGRES_ENV: &str = "RIDEALONG_TEST_POSTGRES_URL";

/// Parses an RFC 3339 instant.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid RFC 3339")
        .with_timezone(&Utc)
}

/// Monday 2026-11-30 12:00 UTC: the default "now" of test apps.
pub fn default_now() -> DateTime<Utc> {
    at("2026-11-30T12:00:00Z")
}

fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info,sqlx=warn,ridealong=debug")
                .with_test_writer()
                .try_init();
        }
    });
}

/// A database that exists for one test.
pub enum TestDb {
    /// A SQLite file in a temporary directory, deleted with it.
    Sqlite { url: String, dir: tempfile::TempDir },
    /// A PostgreSQL database, dropped when this is dropped.
    Postgres {
        url: String,
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    /// A fresh, empty database on the backend this test run uses.
    pub async fn create() -> TestDb {
        match std::env::var(POSTGRES_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("ridealong_test_{:016x}", rand::random::<u64>());
                let admin = Store::connect(&admin_url)
                    .await
                    .expect("connect to test PostgreSQL");
                let Store::Postgres(pool) = &admin else {
                    panic!("{POSTGRES_ENV} is not a postgres URL")
                };
                sqlx::query(&format!("create database {name}"))
                    .execute(pool)
                    .await
                    .expect("create test database");
                admin.close().await;
                TestDb::Postgres {
                    url: ridealong::store::url_of_database(&admin_url, &name),
                    admin_url,
                    name,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("ridealong.db").display());
                TestDb::Sqlite { url, dir }
            }
        }
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }

    /// The SQLite file; panics on PostgreSQL.
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        match self {
            TestDb::Sqlite { dir, .. } => dir.path().join("ridealong.db"),
            TestDb::Postgres { .. } => panic!("a PostgreSQL database has no file"),
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// A new connection pool to this database.
    pub async fn connect(&self) -> Store {
        Store::connect(self.url())
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let TestDb::Postgres {
            admin_url, name, ..
        } = self
        else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs outside any runtime guarantee; use a private one on a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Store::connect(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                if let Store::Postgres(pool) = &admin {
                    sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(pool)
                        .await
                        .map_err(std::io::Error::other)?;
                }
                admin.close().await;
                Ok::<(), std::io::Error>(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.url());
        }
    }
}

/// The service number of test apps.
pub const SERVICE_NUMBER: &str = "+15005550006";

/// The app's default test configuration: admin token set, port 0, default policy,
/// a matcher interval long enough that only nudges and `settle` run it, and a
/// simulated provider that plays every call instantly as a completed call, and no
/// rate limit (tests post many requests from one address; the `limits` tests turn
/// it on).
pub fn test_config() -> AppConfig {
    let script = SimulatedProvider::script_for("completed").expect("known outcome");
    AppConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        policy: MatchPolicy::default(),
        // Off, so tests that count texts while moving the clock past calls see
        // only the texts they are about; the reminders tests turn them on.
        reminder_lead: chrono::TimeDelta::zero(),
        rest: Default::default(),
        default_region: None,
        match_interval: Duration::from_secs(3600),
        // Only the startup round and `reconcile_now` run, as with the matcher.
        reconcile_interval: Duration::from_secs(3600),
        // Texts go out in the background within a second, as in service; tests
        // that must be the only pass set this longer.
        notify_interval: ridealong::scheduler::notifier::INTERVAL,
        provider: Arc::new(SimulatedProvider::new(script, Pace::Instant)),
        public_url: None,
        from_number: SERVICE_NUMBER.to_owned(),
        cps: 100,
        limits: LimitSettings {
            per_ip_per_minute: None,
            ..LimitSettings::default()
        },
        // Most tests are about what happens after a number is confirmed;
        // The consent and pages_consent tests turn confirmation on.
        privacy: PrivacySettings {
            confirm_phone: false,
            ..PrivacySettings::default()
        },
        // Webhooks are off unless a test turns them on.
        webhooks: None,
    }
}

/// A Twilio client for `fake` with instant retries and `timeout` per request.
pub fn twilio_client(fake: &fake_twilio::FakeTwilio, timeout: Duration) -> TwilioClient {
    let config = TwilioConfig {
        api_base: fake.base_url().to_owned(),
        account_sid: fake.account_sid().to_owned(),
        auth_token: Secret::new(fake.auth_token()),
    };
    let retry = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(1),
    };
    TwilioClient::with_timeout(config, retry, timeout).expect("client")
}

/// A running app, its database and an HTTP client.
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The app's clock; move it to move "now".
    pub clock: ManualClock,
    /// A second connection pool to the app's database, for checks from outside.
    pub store: Store,
    app: Option<App>,
    db: TestDb,
}

impl TestApp {
    /// Starts the app at [`default_now`] with [`test_config`].
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(default_now(), |_| {}).await
    }

    /// Starts the app at `now` with [`test_config`].
    pub async fn spawn_at(now: DateTime<Utc>) -> TestApp {
        TestApp::spawn_with(now, |_| {}).await
    }

    /// Starts the app at [`default_now`] with its Twilio client pointed at a fake
    /// Twilio that follows the app's clock.
    pub async fn spawn_with_fake_twilio() -> (TestApp, fake_twilio::FakeTwilio) {
        TestApp::spawn_with_fake_twilio_and(|_| {}).await
    }

    /// Like [`TestApp::spawn_with_fake_twilio`], with [`test_config`] also changed
    /// by `configure` (e.g. to turn phone confirmation on).
    pub async fn spawn_with_fake_twilio_and(
        configure: impl FnOnce(&mut AppConfig),
    ) -> (TestApp, fake_twilio::FakeTwilio) {
        let fake = fake_twilio::FakeTwilio::start().await;
        let client = twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT);
        let app = TestApp::spawn_with(default_now(), |config| {
            config.provider = Arc::new(client);
            configure(config);
        })
        .await;
        fake.use_clock(app.clock.clone());
        (app, fake)
    }

    /// Starts the app at `now` with [`test_config`] changed by `configure`.
    pub async fn spawn_with(now: DateTime<Utc>, configure: impl FnOnce(&mut AppConfig)) -> TestApp {
        let db = TestDb::create().await;
        let store = db.connect().await;
        TestApp::spawn_on(db, store, now, configure).await
    }

    /// Starts the app on `db`, reaching it through `store` (e.g. via a proxy), at
    /// `now` with [`test_config`] changed by `configure`.
    pub async fn spawn_on(
        db: TestDb,
        store: Store,
        now: DateTime<Utc>,
        configure: impl FnOnce(&mut AppConfig),
    ) -> TestApp {
        init_logging();
        let clock = ManualClock::new(now);
        let mut config = test_config();
        configure(&mut config);
        let app = App::start(store, config, Arc::new(clock.clone()))
            .await
            .expect("app starts");
        // The webhook deliverer's first pass, at start-up, is over before the
        // test begins, so only the test's own passes post what it does.
        app.webhook_passes_done(1).await;
        TestApp {
            base: format!("http://{}", app.address()),
            http: reqwest::Client::new(),
            clock,
            store: db.connect().await,
            app: Some(app),
            db,
        }
    }

    /// The database URL, for running the CLI against the same data.
    pub fn database_url(&self) -> &str {
        self.db.url()
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs the matcher now and waits for it.
    pub async fn settle(&self) -> MatchReport {
        self.app
            .as_ref()
            .expect("running")
            .run_matcher()
            .await
            .expect("matcher is running")
    }

    /// Runs one dispatcher pass now: places every due call.
    pub async fn dispatch_due(&self) -> ridealong::scheduler::dispatcher::DispatchReport {
        self.app
            .as_ref()
            .expect("running")
            .dispatch_due()
            .await
            .expect("dispatcher pass")
    }

    /// Runs one reconciler round now: dials in doubt, and calls the provider has
    /// been quiet about for a minute.
    pub async fn reconcile_now(&self) -> ridealong::scheduler::reconciler::ReconcileReport {
        self.app
            .as_ref()
            .expect("running")
            .reconcile_now()
            .await
            .expect("reconciler round")
    }

    /// Waits until the reconciler has finished its first round, the one that
    /// checks every call in flight when the app starts.
    pub async fn wait_for_startup_reconciliation(&self) {
        self.app
            .as_ref()
            .expect("running")
            .reconciler_rounds_done(1)
            .await;
    }

    /// Sends every due SMS notice now.
    pub async fn notify_due(&self) -> ridealong::scheduler::notifier::NotifyReport {
        self.app
            .as_ref()
            .expect("running")
            .notify_due()
            .await
            .expect("notifier pass")
    }

    /// Posts every due outbound webhook event now (the app must have webhooks on).
    pub async fn deliver_webhooks_now(&self) -> ridealong::scheduler::webhooks::DeliveryReport {
        self.app
            .as_ref()
            .expect("running")
            .deliver_webhooks_now()
            .await
            .expect("webhooks are on")
            .expect("webhook pass")
    }

    /// Runs one housekeeping pass now (expiry of unconfirmed requests, retention).
    pub async fn housekeep_now(&self) -> ridealong::scheduler::housekeeping::HousekeepingReport {
        self.app
            .as_ref()
            .expect("running")
            .housekeep_now()
            .await
            .expect("housekeeping pass")
    }

    /// Sends a form POST to the app's webhook `path`, signed with `auth_token`
    /// the way Twilio signs (or carrying `forged` as the signature); the answer's
    /// status and body.
    pub async fn post_webhook(
        &self,
        auth_token: &str,
        path: &str,
        params: &[(&str, &str)],
        forged: Option<&str>,
    ) -> (StatusCode, String) {
        let url = format!("{}{path}", self.public_url());
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        let signature = forged.map_or_else(
            || ridealong::telephony::twilio::signature::sign(auth_token, &url, &owned),
            str::to_owned,
        );
        let response = self
            .http
            .post(&url)
            .header("X-Twilio-Signature", signature)
            .form(&owned)
            .send()
            .await
            .expect("webhook reaches the app");
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// Texts `body` from `phone` to the service number, as Twilio forwards an
    /// inbound message (signed with `auth_token`); asserts a 200 and returns
    /// the TwiML answer.
    pub async fn text_service_number(&self, auth_token: &str, phone: &str, body: &str) -> String {
        let params = [
            ("From", phone),
            ("To", SERVICE_NUMBER),
            ("Body", body),
            ("MessageSid", "SM0123"),
        ];
        let (status, twiml) = self
            .post_webhook(auth_token, "/telephony/twilio/sms", &params, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{twiml}");
        twiml
    }

    /// The URL the provider reaches the app's webhooks at.
    pub fn public_url(&self) -> String {
        self.app.as_ref().expect("running").public_url().to_owned()
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns the
    /// status and the JSON answer (`Value::Null` for an empty body).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request reaches the app");
        let status = response.status();
        let text = response.text().await.expect("response body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, json)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, token, None).await
    }

    /// Creates a mentor as admin; returns `(id, token)`.
    pub async fn create_mentor(&self, body: &Value) -> (i64, String) {
        let (status, mentor) = self.post("/api/v1/mentors", Some(ADMIN_TOKEN), body).await;
        assert_eq!(status, StatusCode::CREATED, "{mentor}");
        let id = mentor["id"].as_i64().expect("mentor id");
        let token = mentor["token"].as_str().expect("mentor token").to_owned();
        (id, token)
    }

    /// Adds a window to mentor `id` as admin; returns the window.
    pub async fn add_window(&self, mentor_id: i64, body: &Value) -> Value {
        let path = format!("/api/v1/mentors/{mentor_id}/windows");
        let (status, window) = self.post(&path, Some(ADMIN_TOKEN), body).await;
        assert_eq!(status, StatusCode::CREATED, "{window}");
        window
    }

    /// Submits a request; returns the answer (with `id` and `manage_token`).
    pub async fn create_request(&self, body: &Value) -> Value {
        let (status, request) = self.post("/api/v1/requests", None, body).await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        request
    }

    /// The request as its seeker sees it.
    pub async fn request_as_seeker(&self, created: &Value) -> Value {
        let path = format!(
            "/api/v1/requests/{}?token={}",
            created["id"],
            created["manage_token"].as_str().expect("manage token")
        );
        let (status, request) = self.get(&path, None).await;
        assert_eq!(status, StatusCode::OK, "{request}");
        request
    }

    /// `GET path` as the admin, which must answer 200: the JSON.
    pub async fn admin_get(&self, path: &str) -> Value {
        let (status, body) = self.get(path, Some(ADMIN_TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// Stops the app and starts it again on the same database at the same time,
    /// with [`test_config`] changed by `configure`: a redeploy with a new
    /// configuration. The app listens on a new port.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut AppConfig)) -> TestApp {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        self.store.close().await;
        let store = self.db.connect().await;
        TestApp::spawn_on(self.db, store, self.clock.now(), configure).await
    }

    /// Stops the app and closes the pools.
    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        self.store.close().await;
    }
}

/// Marks mentor `mentor_id` resting since `since` straight in the database, as
/// another instance's miss would have.
pub async fn set_resting(store: &Store, mentor_id: i64, since: DateTime<Utc>) {
    const REST: &str = "update mentors set resting_since = $1 where id = $2";
    match store {
        Store::Sqlite(pool) => sqlx::query(REST)
            .bind(since)
            .bind(mentor_id)
            .execute(pool)
            .await
            .map(drop),
        Store::Postgres(pool) => sqlx::query(REST)
            .bind(since)
            .bind(mentor_id)
            .execute(pool)
            .await
            .map(drop),
    }
    .expect("rest the mentor");
}

/// A valid mentor body with `phone`, in New York, 15-minute calls.
pub fn mentor_body(name: &str, phone: &str) -> Value {
    json!({
        "name": name,
        "phone": phone,
        "timezone": "America/New_York",
        "topics": ["Data analysis", "Interviews"],
    })
}

/// A parsed request from `name` at `phone`, in New York, about interviews, no
/// stated availability: for tests that store requests without the API.
pub fn new_request(name: &str, phone: &str) -> NewRequest {
    NewRequest::parse(
        RequestInput {
            name,
            phone,
            timezone: "America/New_York",
            topic: "interviews",
            message: "I have applied for months and I am stuck.",
            availability: Vec::new(),
            consent: true,
            calling_hours: CallingHours::WIDEST,
        },
        None,
    )
    .expect("valid request")
}

/// A valid request body with `phone`, in New York, no stated availability.
pub fn request_body(name: &str, phone: &str) -> Value {
    json!({
        "name": name,
        "phone": phone,
        "timezone": "America/New_York",
        "topic": "interviews",
        "message": "I have applied for months and I am stuck. Could someone look at my approach?",
        "consent": true,
    })
}
