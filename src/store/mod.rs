//! Persistence behind one boundary, with a SQLite side (the embedded default) and a
//! PostgreSQL side, picked from the database URL at start-up.
//!
//! Both backends run the same SQL text wherever the two dialects agree: queries use
//! `$n` placeholders, which SQLite reads as numbered parameters too (statements
//! with thousands of parameters, built at run time, use `Markers`). Each backend
//! has its own migrations folder. A method's body runs inside `with_pool!`, pasted
//! once per backend. Where the dialects differ (claiming due work, the matcher's
//! lock), the statement is a `…_SQLITE`/`…_POSTGRES` const pair at the end of its
//! file, picked by `Store::per_backend`; a method that differs as a whole (batched
//! intake, locks) says so in one `match` on the store.
//!
//! One file per area: `requests` (seekers' requests, cancelling and erasing them),
//! `consent` (confirming numbers, opt-outs), `feedback` (seekers' scores and a
//! mentor's figures), `follow_up` (a mentor's offer of another call and the
//! seeker's AGAIN), `intake` (SQLite's group commit of
//! new requests), `calls` (bookings and every call's event log), `telephony`
//! (dialing and the provider's callbacks), `notifications` (the SMS outbox),
//! `webhooks` (the outbound webhook outbox, filled by triggers),
//! `mentors` (mentors, windows, pauses), `mentor_account` (a mentor's own pages),
//! `sessions`, `locks` and `queues`.
//!
//! Not in the store: wording for people (it names what happened, a status, an
//! outcome or a [`Conflict`], and each door says it in its own words), HTTP and
//! the provider, and the clock: every instant comes in as an argument.
//!
//! Errors: storage functions return [`StoreError`]; a unique-constraint violation
//! becomes [`StoreError::Conflict`] here, so callers never look at SQL error codes.

mod call_backs;
mod calls;
mod consent;
mod feedback;
mod follow_up;
mod intake;
mod locks;
mod mentor_account;
mod mentors;
mod notifications;
mod queues;
mod releases;
mod requests;
mod sessions;
mod telephony;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{Pool, Postgres, Sqlite, Transaction};

pub use call_backs::{MentorNextCall, MentorNow, NewCallBack};
pub use calls::{
    CallDetail, CallEvent, CallFilter, CallListing, CallOutcome, CallRecord, CallSummary,
    CallTally, FollowUpOffer, NewCallEvent,
};
pub use consent::{CodeTextJob, ConfirmOutcome, NewCodeOutcome, OptOutSource};
pub use feedback::{CallFeedback, FeedbackStored};
pub use follow_up::AgainOutcome;
pub use intake::{RequestIntake, WriteTurns};
pub use locks::MatcherLock;
pub use mentor_account::{MentorCall, MentorCalls, NewSignInCode};
pub use mentors::{AnswerTally, MentorRecord, PauseRecord, WindowRecord};
pub use notifications::NoticeJob;
pub use releases::{RELEASE_NOTICE_DELAY, ReleaseOutcome};
pub use requests::{
    CancelOutcome, CanceledCall, Confirmation, ConsentRecord, EraseOutcome, Intake, RequestFilter,
    RequestRecord,
};
pub use sessions::{NewSession, SessionSubject};
pub use telephony::{
    CallContext, CallEnded, DialTarget, DueCall, DueClaim, EndCallRules, InDoubtDial, MentorRested,
    QuietCall, SCREEN_PASSED, SecondTry, SecondTryRules,
};
pub use webhooks::{WebhookCounts, WebhookDelivery, WebhookEventKind, WebhookJob};

/// Which uniqueness rule refused a write. The store names the rule; each door
/// says what it means to its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The phone number already has an open request (`unconfirmed`, `pending`
    /// or `scheduled`): `requests_one_open_per_phone`.
    #[error("the phone number already has an open request")]
    OpenRequestForPhone,
    /// Another call already holds this provider call id: `calls_by_provider_sid`.
    #[error("the provider call id is already recorded")]
    ProviderCallSid,
    /// A new mentor API token hashed to one in use: `mentors_token_hash`.
    #[error("the mentor token is already in use")]
    MentorToken,
    /// A new calendar token hashed to one in use.
    #[error("the calendar token is already in use")]
    CalendarToken,
}

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (e.g. a second open request for a phone).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A stored value could not be read back into a domain type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database URL is not one ridealong understands.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Any other database failure.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps a unique violation to [`StoreError::Conflict`] with `what`; other errors pass.
    fn conflict_as(what: Conflict) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(error),
        }
    }
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Store {
    /// Embedded SQLite file (WAL mode); serves one instance.
    Sqlite(SqlitePool),
    /// PostgreSQL; serves many instances.
    Postgres(PgPool),
}

/// `with_pool!(store, pool, { … })` evaluates the block with `pool` bound to the
/// store's pool, and is the block's value.
///
/// The block is pasted into a `match` once per backend, not wrapped in a closure:
/// it is compiled twice (so it must be valid for both pool types), and a `?` or
/// `return` in it leaves the enclosing function. Its arguments are plain
/// expressions, so rustfmt formats the block like any other.
macro_rules! with_pool {
    ($store:expr, $pool:ident, $body:block) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Opening a write transaction the way each backend wants it.
pub(crate) trait BeginWrite {
    /// The backend.
    type Db: sqlx::Database;
    /// Starts a transaction that will write. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`) so it waits for other writers instead of failing
    /// when it upgrades from reading.
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Self::Db>>;
}

impl BeginWrite for Pool<Sqlite> {
    type Db = Sqlite;
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.begin_with("begin immediate").await
    }
}

impl BeginWrite for Pool<Postgres> {
    type Db = Postgres;
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.begin().await
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). A SQLite file is
    /// created on first use and runs in WAL mode with foreign keys on.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // Statement journals (large set-based writes) stay in memory
                // instead of a temporary file written page by page.
                .pragma("temp_store", "memory")
                // Erased personal data is overwritten, not just unlinked.
                .pragma("secure_delete", "on")
                .busy_timeout(Duration::from_secs(10));
            let pool = PoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?.application_name("ridealong");
            let pool = PoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Applies the backend's pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Store::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query("select 1").execute(pool).await.map(drop)
        })?;
        Ok(())
    }

    /// Copies SQLite's write-ahead log into the database file and empties it
    /// (`wal_checkpoint(truncate)`); nothing on PostgreSQL. For the benchmarks,
    /// which write much and then measure reads, and after erasures.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if let Store::Sqlite(pool) = self {
            sqlx::query("pragma wal_checkpoint(truncate)")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// `sqlite` or `postgres`, whichever matches this store's backend: picks one
    /// of a pair of backend-specific statements, which each store file keeps as
    /// `…_SQLITE` and `…_POSTGRES` consts at its end.
    fn per_backend<T>(&self, sqlite: T, postgres: T) -> T {
        match self {
            Store::Sqlite(_) => sqlite,
            Store::Postgres(_) => postgres,
        }
    }

    /// The backend's name, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

/// Parameter markers for a statement whose length is known only at run time,
/// handed out in the order they appear in its text, so the values are bound in
/// that same order.
///
/// PostgreSQL gets `$1, $2, …`. SQLite gets anonymous `?`: sqlx looks up the name
/// of every numbered parameter, and SQLite finds a name by walking the list of
/// all of them, so a statement with 2,000 `$n` spent a fifth of the matcher's
/// persist time in those look-ups.
pub(crate) struct Markers {
    numbered: bool,
    issued: usize,
}

impl Markers {
    pub(crate) fn new(store: &Store) -> Markers {
        Markers {
            numbered: matches!(store, Store::Postgres(_)),
            issued: 0,
        }
    }

    /// SQLite's anonymous markers.
    pub(crate) fn anonymous() -> Markers {
        Markers {
            numbered: false,
            issued: 0,
        }
    }

    /// The next marker.
    pub(crate) fn next(&mut self) -> String {
        self.issued += 1;
        if self.numbered {
            format!("${}", self.issued)
        } else {
            "?".to_owned()
        }
    }

    /// `count` markers separated by commas.
    pub(crate) fn list(&mut self, count: usize) -> String {
        let markers: Vec<String> = (0..count).map(|_| self.next()).collect();
        markers.join(", ")
    }

    /// `count` parenthesised groups of `width` markers: `(?, ?), (?, ?)`.
    pub(crate) fn groups(&mut self, count: usize, width: usize) -> String {
        let groups: Vec<String> = (0..count)
            .map(|_| format!("({})", self.list(width)))
            .collect();
        groups.join(", ")
    }
}

/// A `select` of `columns` from `from_where` (a `from … where …` clause) that
/// returns all its rows as one JSON text: an array with one array per row, the
/// columns in the order given, built by the database (`json_group_array` on
/// SQLite, `json_agg` on PostgreSQL). Decode it with [`unpack`] into a tuple or a
/// `Deserialize` struct whose fields follow the same order.
///
/// For the matcher's bulk reads of every pending request and every window: sqlx
/// hands SQLite rows from its worker thread one message at a time, which cost
/// about 5 µs a row (allocation, a thread hop and a wake-up each); one packed text
/// costs one hop and a parse. Timestamps arrive as text and decode through
/// chrono's serde, which reads both backends' formats.
fn packed_select(store: &Store, columns: &str, from_where: &str) -> String {
    match store {
        Store::Sqlite(_) => {
            format!("select coalesce(json_group_array(json_array({columns})), '[]') {from_where}")
        }
        Store::Postgres(_) => format!(
            "select coalesce(json_agg(json_build_array({columns})), '[]')::text {from_where}"
        ),
    }
}

/// Decodes the text of a [`packed_select`].
fn unpack<T: serde::de::DeserializeOwned>(what: &str, packed: &str) -> StoreResult<Vec<T>> {
    serde_json::from_str(packed).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
}

/// Decodes a JSON text column.
fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

/// `url` (a PostgreSQL URL) with its database name replaced by `name`, the
/// query kept: another database on the same server, as the tests and the
/// benchmarks create one per run.
pub fn url_of_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_database_replaces_the_named_one_and_keeps_the_query() {
        assert_eq!(
            url_of_database("postgres://root@127.0.0.1:5432/test", "scratch"),
            "postgres://root@127.0.0.1:5432/scratch"
        );
        assert_eq!(
            url_of_database("postgres://h/test?sslmode=disable", "scratch"),
            "postgres://h/scratch?sslmode=disable"
        );
        assert_eq!(
            url_of_database("postgres://h", "scratch"),
            "postgres://h/scratch"
        );
    }
}
