//! Claims of due work by several instances sharing one database.
//!
//! Most tests open their own transaction that claims (or erases, expires, books)
//! some rows the way another instance does, and keep it open while the real store
//! or scheduler code runs beside it as a second instance. Each waits until that
//! second instance has finished or is seen waiting for the held row locks
//! (`pg_blocking_pids`, a condition, never a fixed sleep), commits, and checks that
//! every row was worked on by one instance only: a notice or code texted once, a
//! call claimed once, a request erased or expired once, booked once. They run on
//! PostgreSQL only (`RIDEALONG_TEST_POSTGRES_URL`): SQLite serves one instance,
//! and its single writer keeps a second claim out until the first one commits.
//!
//! The last test, on both backends, checks that the outcome of a claim whose
//! lease ran out no longer counts once the work was claimed again.
//!
//! "Now" is Monday 2026-11-30 12:00 UTC, never the wall clock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::task::JoinHandle;

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{SERVICE_NUMBER, TestDb, at, default_now, twilio_client};
use ridealong::clock::ManualClock;
use ridealong::domain::call_flow::Leg;
use ridealong::domain::consent::ConsentSource;
use ridealong::domain::matching::Booking;
use ridealong::domain::mentor::{MentorInput, NewMentor};
use ridealong::domain::rest::RestPolicy;
use ridealong::domain::schedule::Slot;
use ridealong::domain::status::Outcome;
use ridealong::domain::status::RequestStatus;
use ridealong::ids::{CallId, MentorId, NoticeId, RequestId};
use ridealong::scheduler::housekeeping::{Housekeeper, HousekeepingReport};
use ridealong::scheduler::notifier::Notifier;
use ridealong::store::{DueClaim, EndCallRules, Intake, Store};
use ridealong::tokens;

/// The lease a claim takes, as the notifier's.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// How long a test waits for something that should take milliseconds before it
/// fails: a bound on a hang, not a pace.
const BOUND: Duration = Duration::from_secs(30);

/// A migrated fresh PostgreSQL database and a pool to it, or `None` (with a
/// note) on SQLite.
async fn postgres_store() -> Option<(TestDb, Store)> {
    let db = TestDb::create().await;
    if !db.is_postgres() {
        eprintln!(
            "claims by several instances at once need PostgreSQL: set RIDEALONG_TEST_POSTGRES_URL"
        );
        return None;
    }
    let store = db.connect().await;
    store.migrate().await.expect("migrations apply");
    Some((db, store))
}

/// The PostgreSQL pool behind `store`.
fn pool(store: &Store) -> &PgPool {
    match store {
        Store::Postgres(pool) => pool,
        Store::Sqlite(_) => panic!("a PostgreSQL store"),
    }
}

/// Another instance's transaction, on its own connection, that has locked rows
/// and not committed yet.
struct Held {
    tx: Transaction<'static, Postgres>,
    /// Its server process, which the second instance waits for.
    pid: i32,
    /// Another connection, to watch the second instance from.
    observer: Store,
    _connection: Store,
}

impl Held {
    /// Opens the transaction.
    async fn begin(db: &TestDb) -> Held {
        let connection = db.connect().await;
        let mut tx = pool(&connection).begin().await.expect("begin");
        let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await
            .expect("backend pid");
        Held {
            tx,
            pid,
            observer: db.connect().await,
            _connection: connection,
        }
    }

    /// Waits until `task` has finished or waits for a lock this transaction
    /// holds, and says which.
    async fn until_finished_or_blocked<T>(&self, task: &JoinHandle<T>) -> Seen {
        let watch = async {
            loop {
                if task.is_finished() {
                    return Seen::Finished;
                }
                let blocked: bool = sqlx::query_scalar(
                    "select exists (select 1 from pg_stat_activity
                                    where $1 = any(pg_blocking_pids(pid)))",
                )
                .bind(self.pid)
                .fetch_one(pool(&self.observer))
                .await
                .expect("read pg_stat_activity");
                if blocked {
                    return Seen::Blocked;
                }
            }
        };
        tokio::time::timeout(BOUND, watch)
            .await
            .expect("the second instance neither finished nor waited for the held locks")
    }

    /// Commits the transaction: the other instance's claim takes effect.
    async fn commit(self) {
        self.tx.commit().await.expect("commit");
        self.observer.close().await;
    }
}

/// What the second instance was seen doing while the other one held its locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// It was done.
    Finished,
    /// It waited for the held locks.
    Blocked,
}

/// Awaits `task`, which must finish soon once the held transaction is over.
async fn finish<T>(task: JoinHandle<T>) -> T {
    tokio::time::timeout(BOUND, task)
        .await
        .expect("the second instance finished")
        .expect("the second instance did not panic")
}

/// A distinct valid US number for every `n` below 2,000 (fictional 555-01xx lines
/// in twenty area codes).
fn phone(n: usize) -> String {
    const AREA_CODES: [u16; 20] = [
        201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224,
        225, 228,
    ];
    assert!(n < 2000, "phone numbers run out at 2000");
    format!("+1{}5550{}", AREA_CODES[n / 100], 100 + n % 100)
}

/// Registers a New York mentor at `phone`; returns the id.
async fn add_mentor(store: &Store, phone: &str) -> MentorId {
    let topics = ["Interviews".to_owned()];
    let mentor = NewMentor::parse(
        MentorInput {
            name: "Grace Hopper",
            phone,
            timezone: "America/New_York",
            topics: &topics,
            call_minutes: None,
            max_calls_per_window: None,
        },
        None,
    )
    .expect("valid mentor");
    let token = tokens::generate(tokens::MENTOR_PREFIX);
    store
        .insert_mentor(&mentor, &tokens::hash(&token), default_now())
        .await
        .expect("mentor stored")
        .id
}

/// Stores a `status` request from `phone` made at `made_at`; returns the id.
async fn add_request(
    store: &Store,
    phone: &str,
    status: RequestStatus,
    made_at: DateTime<Utc>,
) -> RequestId {
    let token = tokens::generate(tokens::MANAGE_PREFIX);
    store
        .insert_request(
            &crate::helpers::new_request("Ada Lovelace", phone),
            status,
            &tokens::hash(&token),
            made_at,
        )
        .await
        .expect("request stored")
        .id
}

/// The 15-minute slot starting at `starts_at`.
fn slot(starts_at: DateTime<Utc>) -> Slot {
    Slot {
        starts_at,
        ends_at: starts_at + TimeDelta::minutes(15),
    }
}

/// Books `count` calls at `starts_at`, each with its own mentor and seeker, so
/// every notice goes to a number of its own. Returns the call ids.
async fn book_calls(store: &Store, count: usize, starts_at: DateTime<Utc>) -> Vec<CallId> {
    let mut bookings = Vec::new();
    for n in 0..count {
        let mentor_id = add_mentor(store, &phone(1000 + n)).await;
        let request_id = add_request(store, &phone(n), RequestStatus::Pending, default_now()).await;
        bookings.push(Booking {
            request_id,
            mentor_id,
            slot: slot(starts_at),
        });
    }
    let calls = store.book(&bookings, default_now()).await.expect("booked");
    assert_eq!(calls.len(), count);
    calls
}

/// Each notice's number: the seeker's or the mentor's, by id.
async fn notice_phones(store: &Store) -> HashMap<NoticeId, String> {
    let rows: Vec<(NoticeId, String)> = sqlx::query_as(
        "select n.id, case n.recipient when 'seeker' then r.phone else m.phone end
         from notifications n
         join requests r on r.id = n.request_id
         join calls c on c.id = n.call_id
         join mentors m on m.id = c.mentor_id",
    )
    .fetch_all(pool(store))
    .await
    .expect("read notices");
    rows.into_iter().collect()
}

/// Each notice's attempts, by id.
async fn notice_attempts(store: &Store) -> HashMap<NoticeId, i32> {
    let rows: Vec<(NoticeId, i32)> = sqlx::query_as("select id, attempts from notifications")
        .fetch_all(pool(store))
        .await
        .expect("read notices");
    rows.into_iter().collect()
}

/// Claims the first `count` due notices in `held`, as a notifier does.
async fn hold_notice_claim(held: &mut Held, now: DateTime<Utc>, count: i64) -> HashSet<NoticeId> {
    let ids: Vec<NoticeId> = sqlx::query_scalar(
        "update notifications set attempts = attempts + 1, next_attempt_at = $1
         where id in (select id from notifications
                      where status = 'pending' and next_attempt_at <= $2
                      order by id limit $3
                      for update)
         returning id",
    )
    .bind(now + LEASE)
    .bind(now)
    .bind(count)
    .fetch_all(&mut *held.tx)
    .await
    .expect("held claim");
    assert_eq!(ids.len() as i64, count);
    ids.into_iter().collect()
}

/// Texts to each number the fake received.
fn texts_by_number(fake: &FakeTwilio) -> HashMap<String, usize> {
    let mut texts = HashMap::new();
    for message in fake.messages() {
        *texts.entry(message.to).or_default() += 1;
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_notice_claims_at_once_take_disjoint_sets_and_count_one_attempt_each() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let now = default_now();
    book_calls(&store, 6, at("2026-12-01T15:00:00Z")).await;
    let all: HashSet<NoticeId> = notice_phones(&store).await.into_keys().collect();
    assert_eq!(all.len(), 12);

    let mut held = Held::begin(&db).await;
    let first = hold_notice_claim(&mut held, now, 5).await;
    let second = tokio::spawn({
        let store = store.clone();
        async move { store.claim_notices(now, now + LEASE, 100).await }
    });
    let seen = held.until_finished_or_blocked(&second).await;
    held.commit().await;
    let second: HashSet<NoticeId> = finish(second)
        .await
        .expect("claim")
        .into_iter()
        .map(|job| job.id)
        .collect();

    assert!(
        first.is_disjoint(&second),
        "claimed by both: {:?}",
        first.intersection(&second).collect::<Vec<_>>()
    );
    let claimed: HashSet<NoticeId> = first.union(&second).copied().collect();
    assert_eq!(claimed, all, "every due notice is claimed");
    let attempts = notice_attempts(&store).await;
    assert!(
        attempts.values().all(|attempts| *attempts == 1),
        "each notice is claimed once: {attempts:?}"
    );
    assert_eq!(
        seen,
        Seen::Finished,
        "a claim skips the notices another one holds rather than waiting"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_beside_another_instances_claim_texts_each_notice_once() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let now = default_now();
    book_calls(&store, 6, at("2026-12-01T15:00:00Z")).await;
    let phones = notice_phones(&store).await;
    let fake = FakeTwilio::start().await;
    let clock = ManualClock::new(now);
    fake.use_clock(clock.clone());
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT)),
        Arc::new(clock.clone()),
        SERVICE_NUMBER.to_owned(),
    );

    // Another instance has claimed five notices and not committed yet.
    let mut held = Held::begin(&db).await;
    let theirs = hold_notice_claim(&mut held, now, 5).await;
    let pass = tokio::spawn({
        let notifier = notifier.clone();
        async move { notifier.run_once().await }
    });
    held.until_finished_or_blocked(&pass).await;
    held.commit().await;
    let report = finish(pass).await.expect("notifier pass");

    assert_eq!(report.sent, 7, "this instance sent the notices it claimed");
    let texts = texts_by_number(&fake);
    for (id, phone) in &phones {
        let expected = usize::from(!theirs.contains(id));
        assert_eq!(
            texts.get(phone).copied().unwrap_or(0),
            expected,
            "notice {id}: texted by this instance {expected} times"
        );
    }

    // The other instance died before texting: its five go out once its lease
    // has run out, and every notice has reached its number exactly once.
    clock.set(now + LEASE + TimeDelta::seconds(1));
    assert_eq!(notifier.run_once().await.expect("pass").sent, 5);
    let texts = texts_by_number(&fake);
    assert_eq!(texts.len(), 12);
    assert!(
        texts.values().all(|count| *count == 1),
        "each notice texted once: {texts:?}"
    );
    let attempts = notice_attempts(&store).await;
    for (id, attempts) in attempts {
        let expected = if theirs.contains(&id) { 2 } else { 1 };
        assert_eq!(attempts, expected, "notice {id}");
    }
    assert_eq!(notifier.run_once().await.expect("pass").sent, 0);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_claim_beside_another_instances_claim_takes_the_next_due_call() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let due = at("2026-12-01T15:00:00Z");
    let calls = book_calls(&store, 2, due).await;

    // Another instance has claimed the first due call and not committed yet.
    let mut held = Held::begin(&db).await;
    let theirs: CallId = sqlx::query_scalar(
        "update calls set status = 'dialing', dial_attempts = dial_attempts + 1,
             dialed_at = $1, updated_at = $1
         where id = (select id from calls
                     where status = 'scheduled' and starts_at <= $1
                       and (retry_at is null or retry_at <= $1)
                     order by starts_at, id limit 1
                     for update)
         returning id",
    )
    .bind(due)
    .fetch_one(&mut *held.tx)
    .await
    .expect("held claim");
    let claim = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .claim_next_due(due, TimeDelta::milliseconds(100), None)
                .await
        }
    });
    let seen = held.until_finished_or_blocked(&claim).await;
    held.commit().await;
    let ours = finish(claim)
        .await
        .expect("claim")
        .target()
        .expect("the other due call is claimed");

    assert_ne!(ours.call_id, theirs, "a call claimed by both");
    let claimed: HashSet<CallId> = [ours.call_id, theirs].into();
    assert_eq!(claimed, calls.iter().copied().collect());
    let attempts: Vec<(i64, String, i32)> =
        sqlx::query_as("select id, status, dial_attempts from calls order by id")
            .fetch_all(pool(&store))
            .await
            .expect("read calls");
    for (id, status, attempts) in attempts {
        assert_eq!((status.as_str(), attempts), ("dialing", 1), "call {id}");
    }
    assert_eq!(
        seen,
        Seen::Finished,
        "a claim skips the call another one holds rather than waiting"
    );
    assert!(
        store
            .claim_next_due(due, TimeDelta::milliseconds(100), None)
            .await
            .expect("claim")
            .target()
            .is_none(),
        "nothing is left to claim"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_concurrent_call_limit_a_claim_beside_another_instances_waits_for_it_and_counts_it()
 {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let due = at("2026-12-01T15:00:00Z");
    let calls = book_calls(&store, 2, due).await;

    // Another instance is in the middle of a claim under a limit of one call at
    // once: it holds its call and the pacing row, and has not committed yet.
    let mut held = Held::begin(&db).await;
    let theirs: CallId = sqlx::query_scalar(
        "update calls set status = 'dialing', dial_attempts = dial_attempts + 1,
             dialed_at = $1, updated_at = $1
         where id = (select id from calls where status = 'scheduled'
                     order by starts_at, id limit 1 for update)
         returning id",
    )
    .bind(due)
    .fetch_one(&mut *held.tx)
    .await
    .expect("held claim");
    sqlx::query(
        "insert into dial_pacing (id, next_at, created_at) values (1, $1, $1)
         on conflict (id) do update set next_at = excluded.next_at",
    )
    .bind(due)
    .execute(&mut *held.tx)
    .await
    .expect("held pacing row");
    let claim = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .claim_next_due(due, TimeDelta::milliseconds(100), Some(1))
                .await
        }
    });
    let seen = held.until_finished_or_blocked(&claim).await;
    held.commit().await;
    let ours = finish(claim).await.expect("claim");

    assert_eq!(
        seen,
        Seen::Blocked,
        "the count waits for the claim in progress"
    );
    assert!(
        matches!(ours, DueClaim::AtCallLimit),
        "the other instance's call fills the limit: {ours:?}"
    );
    let waiting = calls
        .iter()
        .find(|&&call| call != theirs)
        .expect("the other call");
    let (status, attempts): (String, i32) =
        sqlx::query_as("select status, dial_attempts from calls where id = $1")
            .bind(waiting)
            .fetch_one(pool(&store))
            .await
            .expect("read the waiting call");
    assert_eq!(
        (status.as_str(), attempts),
        ("scheduled", 0),
        "nothing claimed"
    );
    store.close().await;
}

/// Keeps finished requests' personal data for 30 days.
fn housekeeper(store: &Store, now: DateTime<Utc>) -> Housekeeper {
    Housekeeper::new(
        store.clone(),
        Arc::new(ManualClock::new(now)),
        TimeDelta::days(30),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_housekeepers_at_once_erase_each_request_once() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let now = default_now();
    let finished_at = now - TimeDelta::days(31);
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(add_request(&store, &phone(n), RequestStatus::Canceled, finished_at).await);
    }

    // Another instance's housekeeping is erasing the first request and has not
    // committed yet.
    let mut held = Held::begin(&db).await;
    let theirs_at = now - TimeDelta::seconds(30);
    sqlx::query(
        "update requests set name = '', phone = '', topic = '', message = '',
             availability = '[]', erased_at = $1, updated_at = $1
         where id = $2 and erased_at is null",
    )
    .bind(theirs_at)
    .bind(ids[0])
    .execute(&mut *held.tx)
    .await
    .expect("held erasure");
    let pass = tokio::spawn({
        let housekeeper = housekeeper(&store, now);
        async move { housekeeper.run_once().await }
    });
    held.until_finished_or_blocked(&pass).await;
    held.commit().await;
    let report = finish(pass).await.expect("housekeeping pass");

    assert_eq!(
        report,
        HousekeepingReport {
            expired: 0,
            erased: 3
        },
        "this instance erased the requests the other one did not"
    );
    let erased: Vec<(RequestId, Option<DateTime<Utc>>, String)> =
        sqlx::query_as("select id, erased_at, phone from requests order by id")
            .fetch_all(pool(&store))
            .await
            .expect("read requests");
    for (id, erased_at, phone) in erased {
        let expected = if id == ids[0] { theirs_at } else { now };
        assert_eq!(
            (erased_at, phone.as_str()),
            (Some(expected), ""),
            "request {id}: erased once, by one instance"
        );
    }
    assert_eq!(
        housekeeper(&store, now).run_once().await.expect("pass"),
        HousekeepingReport::default()
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_housekeepers_at_once_expire_each_request_once() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let now = default_now();
    let made_at = now - TimeDelta::days(2);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(add_request(&store, &phone(n), RequestStatus::Unconfirmed, made_at).await);
    }

    // Another instance's housekeeping is expiring the first request and has not
    // committed yet.
    let mut held = Held::begin(&db).await;
    let theirs_at = now - TimeDelta::seconds(30);
    sqlx::query(
        "update requests set status = 'expired', updated_at = $1
         where id = $2 and status = 'unconfirmed'",
    )
    .bind(theirs_at)
    .bind(ids[0])
    .execute(&mut *held.tx)
    .await
    .expect("held expiry");
    let pass = tokio::spawn({
        let housekeeper = housekeeper(&store, now);
        async move { housekeeper.run_once().await }
    });
    held.until_finished_or_blocked(&pass).await;
    held.commit().await;
    let report = finish(pass).await.expect("housekeeping pass");

    assert_eq!(
        report,
        HousekeepingReport {
            expired: 2,
            erased: 0
        },
        "this instance expired the requests the other one did not"
    );
    let expired: Vec<(RequestId, String, DateTime<Utc>)> =
        sqlx::query_as("select id, status, updated_at from requests order by id")
            .fetch_all(pool(&store))
            .await
            .expect("read requests");
    for (id, status, updated_at) in expired {
        let expected = if id == ids[0] { theirs_at } else { now };
        assert_eq!(
            (status.as_str(), updated_at),
            ("expired", expected),
            "request {id}: expired once, by one instance"
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_beside_another_instances_claim_texts_each_code_once() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let now = default_now();
    let mut phone_of = HashMap::new();
    for n in 0..6 {
        let intake = Intake {
            request: crate::helpers::new_request("Ada Lovelace", &phone(n)),
            manage_token_hash: tokens::hash(&tokens::generate(tokens::MANAGE_PREFIX)),
            consent_source: ConsentSource::Api,
            confirm_phone: true,
            now,
            cap: 3,
            since: now - TimeDelta::days(1),
        };
        let stored = store
            .insert_request_within_cap(&intake)
            .await
            .expect("stored")
            .expect("under the cap");
        phone_of.insert(stored.id, phone(n));
    }
    let fake = FakeTwilio::start().await;
    let clock = ManualClock::new(now);
    fake.use_clock(clock.clone());
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(twilio_client(&fake, ridealong::telephony::REQUEST_TIMEOUT)),
        Arc::new(clock.clone()),
        SERVICE_NUMBER.to_owned(),
    );

    // Another instance has claimed two code texts, with its own codes, and not
    // committed yet.
    let mut held = Held::begin(&db).await;
    let theirs: HashSet<RequestId> = sqlx::query_scalar(
        "update request_confirmations set send_attempts = send_attempts + 1,
             send_at = $1, code_hash = 'theirs', expires_at = $2, tries = 0
         where request_id in (select request_id from request_confirmations
                              where send_at <= $3
                              order by request_id limit 2
                              for update)
         returning request_id",
    )
    .bind(now + LEASE)
    .bind(now + TimeDelta::minutes(30))
    .bind(now)
    .fetch_all(&mut *held.tx)
    .await
    .expect("held claim")
    .into_iter()
    .collect();
    assert_eq!(theirs.len(), 2);
    let pass = tokio::spawn({
        let notifier = notifier.clone();
        async move { notifier.run_once().await }
    });
    held.until_finished_or_blocked(&pass).await;
    held.commit().await;
    let report = finish(pass).await.expect("notifier pass");

    assert_eq!(report.sent, 4, "this instance sent the codes it claimed");
    let texts = texts_by_number(&fake);
    for (id, phone) in &phone_of {
        let expected = usize::from(!theirs.contains(id));
        assert_eq!(
            texts.get(phone).copied().unwrap_or(0),
            expected,
            "request {id}: code texted by this instance {expected} times"
        );
    }
    let kept: Vec<(RequestId, Option<String>, i32)> = sqlx::query_as(
        "select request_id, code_hash, send_attempts from request_confirmations
         where send_at is not null",
    )
    .fetch_all(pool(&store))
    .await
    .expect("read requests");
    assert_eq!(kept.len(), 2);
    for (id, hash, attempts) in kept {
        assert!(theirs.contains(&id));
        assert_eq!(
            (hash.as_deref(), attempts),
            (Some("theirs"), 1),
            "request {id}: the other instance's code and claim stand"
        );
    }

    // The other instance died before texting: its two go out once its lease has
    // run out, and every number has had exactly one code text.
    clock.set(now + LEASE + TimeDelta::seconds(1));
    assert_eq!(notifier.run_once().await.expect("pass").sent, 2);
    let texts = texts_by_number(&fake);
    assert_eq!(texts.len(), 6);
    assert!(
        texts.values().all(|count| *count == 1),
        "each code texted once: {texts:?}"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_beside_another_instances_booking_of_the_request_is_skipped() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let now = default_now();
    let mentor_id = add_mentor(&store, &phone(1000)).await;
    let request_id = add_request(&store, &phone(0), RequestStatus::Pending, now).await;
    let theirs = slot(at("2026-12-01T15:00:00Z"));
    let ours = slot(at("2026-12-01T15:15:00Z"));

    // Another instance is booking the request into a slot and has not committed
    // yet (the matcher lock aside: this is what stops a double booking without it).
    let mut held = Held::begin(&db).await;
    sqlx::query(
        "insert into calls (request_id, mentor_id, starts_at, ends_at, status, created_at, updated_at)
         values ($1, $2, $3, $4, 'scheduled', $5, $5)",
    )
    .bind(request_id)
    .bind(mentor_id)
    .bind(theirs.starts_at)
    .bind(theirs.ends_at)
    .bind(now)
    .execute(&mut *held.tx)
    .await
    .expect("held booking");
    sqlx::query("update requests set status = 'scheduled', updated_at = $1 where id = $2")
        .bind(now)
        .bind(request_id)
        .execute(&mut *held.tx)
        .await
        .expect("held booking");
    let book = tokio::spawn({
        let store = store.clone();
        let booking = Booking {
            request_id,
            mentor_id,
            slot: ours,
        };
        async move { store.book(&[booking], now).await }
    });
    held.until_finished_or_blocked(&book).await;
    held.commit().await;
    let booked = finish(book).await.expect("book");

    assert!(booked.is_empty(), "booked twice: {booked:?}");
    let calls: Vec<DateTime<Utc>> =
        sqlx::query_scalar("select starts_at from calls where request_id = $1")
            .bind(request_id)
            .fetch_all(pool(&store))
            .await
            .expect("read calls");
    assert_eq!(calls, [theirs.starts_at], "one call, the other instance's");
    let notices: i64 = sqlx::query_scalar("select count(*) from notifications")
        .fetch_one(pool(&store))
        .await
        .expect("count notices");
    assert_eq!(notices, 0, "the skipped booking texts nobody");
    store.close().await;
}

#[tokio::test]
async fn the_late_outcome_of_a_notice_claim_that_ran_out_changes_nothing() {
    let db = TestDb::create().await;
    let store = db.connect().await;
    store.migrate().await.expect("migrations apply");
    let now = default_now();
    book_calls(&store, 1, at("2026-12-01T15:00:00Z")).await;
    let stalled = store
        .claim_notices(now, now + LEASE, 1)
        .await
        .expect("claim");
    assert_eq!(stalled.len(), 1);
    let stalled = &stalled[0];

    // This instance stalls past its lease; another one claims the notice again
    // and texts it.
    let later = now + LEASE + TimeDelta::seconds(1);
    let again = store
        .claim_notices(later, later + LEASE, 1)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (stalled.id, 2));
    store
        .notice_sent(
            again[0].id,
            again[0].attempts,
            "SM0000000000000000000000000000again",
            later,
        )
        .await
        .expect("recorded");

    // The stalled send fails at last: the notice stays sent, and is not queued
    // to go out a third time.
    store
        .notice_failed(
            stalled.id,
            stalled.attempts,
            "timed out",
            Some(later + TimeDelta::seconds(30)),
        )
        .await
        .expect("recorded");
    let afterwards = later + TimeDelta::hours(1);
    let due: Vec<NoticeId> = store
        .claim_notices(afterwards, afterwards + LEASE, 10)
        .await
        .expect("claim")
        .into_iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(due.len(), 1, "only the other notice of the booking is due");
    assert!(!due.contains(&stalled.id), "the sent notice went out again");
    store.close().await;
}

/// Two instances end two missed calls of one mentor at the same time: the
/// second waits for the first's count of misses in a row and adds its own, so
/// both count and the mentor rests after the second.
#[tokio::test]
async fn two_instances_ending_missed_calls_of_one_mentor_at_once_count_both() {
    let Some((db, store)) = postgres_store().await else {
        return;
    };
    let mentor_id = add_mentor(&store, &phone(1500)).await;
    let mut bookings = Vec::new();
    for n in 0..3 {
        let request_id =
            add_request(&store, &phone(n), RequestStatus::Pending, default_now()).await;
        bookings.push(Booking {
            request_id,
            mentor_id,
            slot: slot(at("2026-11-30T15:00:00Z") + TimeDelta::minutes(15 * n as i64)),
        });
    }
    let calls = store.book(&bookings, default_now()).await.expect("booked");
    let now = at("2026-11-30T15:15:00Z");
    for _ in 0..2 {
        store
            .claim_next_due(now, TimeDelta::zero(), None)
            .await
            .expect("claim")
            .target()
            .expect("a due call");
    }
    let rules = EndCallRules {
        rest: RestPolicy {
            misses_before_rest: 2,
        },
        ..EndCallRules::default()
    };

    // The first instance has ended its call and counted its miss, and not
    // committed yet.
    let mut held = Held::begin(&db).await;
    sqlx::query("update calls set status = 'ended', outcome = 'mentor_no_answer' where id = $1")
        .bind(calls[0])
        .execute(&mut *held.tx)
        .await
        .expect("end the first call");
    sqlx::query("update mentors set consecutive_misses = consecutive_misses + 1 where id = $1")
        .bind(mentor_id)
        .execute(&mut *held.tx)
        .await
        .expect("count the first miss");

    let second = store.clone();
    let second_call = calls[1];
    let task = tokio::spawn(async move {
        second
            .end_call(
                second_call,
                Outcome::MentorNoAnswer,
                Leg::Mentor,
                None,
                rules,
                now,
            )
            .await
    });
    assert_eq!(held.until_finished_or_blocked(&task).await, Seen::Blocked);
    held.commit().await;
    let ended = finish(task)
        .await
        .expect("ended")
        .expect("it ended the call");
    let rested = ended
        .mentor_rested
        .expect("the second miss in a row rests her");
    assert_eq!(rested.misses, 2);
    assert_eq!(rested.calls_released, 1, "her third call goes to others");

    let (misses, resting): (i32, bool) = sqlx::query_as(
        "select consecutive_misses, resting_since is not null from mentors where id = $1",
    )
    .bind(mentor_id)
    .fetch_one(pool(&store))
    .await
    .expect("the mentor");
    assert_eq!((misses, resting), (2, true));
    let third: (String, Option<String>) =
        sqlx::query_as("select status, released_by from calls where id = $1")
            .bind(calls[2])
            .fetch_one(pool(&store))
            .await
            .expect("the third call");
    assert_eq!(third, ("canceled".to_owned(), Some("rest".to_owned())));
    let told: i64 = sqlx::query_scalar(
        "select count(*) from notifications where kind = 'resting' and recipient = 'mentor'",
    )
    .fetch_one(pool(&store))
    .await
    .expect("notices");
    assert_eq!(told, 1);
}
