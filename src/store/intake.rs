//! Group commit for new requests.
//!
//! SQLite has one write lock. Intake's concurrent inserts, each its own
//! transaction on its own pooled connection, queued for it in SQLite's busy
//! handler, which sleeps (1, 2, 5, 10 ms … 100 ms) between tries: that was the
//! intake route's tail latency, and each commit wrote the request's table and
//! index pages to the log again. [`RequestIntake`] instead hands new requests to
//! one writer task, which stores every request waiting at that moment in one
//! transaction and answers each caller. Nothing waits on a timer: a lone
//! request is written at once, and the ones arriving while a batch commits form
//! the next batch.
//!
//! The SQLite writer runs on a thread of its own, and leaves checkpoints (copying
//! the write-ahead log back into the database file) to a task beside it. SQLite
//! checkpoints inside the commit that takes the log past 1,000 pages, and the
//! writer, committing most, was the one that paid: about 10 ms every few hundred
//! batches, with every request of those batches waiting. Now its connection has
//! automatic checkpoints off and, after its commits, `checkpoint_log` runs a
//! passive checkpoint (which neither waits for writers nor makes them wait) on a
//! connection of its own. The pool's connections keep automatic checkpoints, for
//! a log the checkpointer could not keep short.
//!
//! On PostgreSQL every commit waits for its log flush, and a request per
//! commit held intake to the pool's connections times the flush rate. There a
//! few writers ([`POSTGRES_WRITERS`]) take turns at the queue: each stores what
//! is waiting in one statement and one commit, while the others gather and
//! write the next batches, so flushes overlap as they did for single requests.
//!
//! Not here: the insert itself (`requests`); this module only decides who writes
//! when.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot, watch};
use tracing::warn;

use super::requests::insert_batch_on;
use super::{Intake, RequestRecord, Store, StoreError, StoreResult};

/// Most requests one transaction stores.
const MAX_BATCH: usize = 128;
/// Requests that may wait for the writer before callers wait to queue.
const QUEUE: usize = 1024;
/// Least time between two checkpoints of SQLite's write-ahead log.
const CHECKPOINT_GAP: Duration = Duration::from_millis(50);
/// Intake writers on PostgreSQL, each with a batch in flight at a time; fewer
/// than the pool's connections, which everyone else needs too.
pub const POSTGRES_WRITERS: usize = 4;

type Reply = oneshot::Sender<StoreResult<Option<RequestRecord>>>;

/// Turns at SQLite's write lock for the process's busiest writers: the intake
/// writer and the notifier, whose code texts follow every new request. Taking
/// turns here, in an async FIFO, keeps them out of SQLite's busy handler, whose
/// sleeps (up to 100 ms each) made intake's worst latencies. Other writers are
/// rare and still meet them in the busy handler. On PostgreSQL there are no
/// turns to take.
#[derive(Clone, Debug, Default)]
pub struct WriteTurns(Option<Arc<Mutex<()>>>);

impl WriteTurns {
    /// Turns for writers of `store`.
    pub fn for_store(store: &Store) -> WriteTurns {
        WriteTurns(matches!(store, Store::Sqlite(_)).then(Arc::default))
    }

    /// Waits for this writer's turn; it lasts until the guard is dropped, so
    /// hold it around one statement or transaction, never around a network call.
    pub async fn take(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.0 {
            Some(turns) => Some(Arc::clone(turns).lock_owned().await),
            None => None,
        }
    }
}

/// Stores new requests, batching concurrent ones into one commit.
#[derive(Clone, Debug)]
pub struct RequestIntake {
    store: Store,
    queue: mpsc::Sender<(Intake, Reply)>,
    /// SQLite's: how far the writer's commits are checkpointed.
    log: Option<Arc<LogProgress>>,
}

/// The SQLite writer's commits, and how many of them the checkpointer has
/// copied from the write-ahead log into the database file.
#[derive(Debug, Default)]
struct LogProgress {
    commits: AtomicU64,
    checkpointed: watch::Sender<u64>,
}

impl RequestIntake {
    /// Intake over `store`. This spawns the writer tasks (one on SQLite, which
    /// writes in `turns`; [`POSTGRES_WRITERS`] on PostgreSQL), which end when
    /// the last handle is dropped.
    pub fn start(store: Store, turns: WriteTurns) -> RequestIntake {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let log = match &store {
            Store::Sqlite(pool) => {
                let log = Arc::new(LogProgress::default());
                let (nudge, nudged) = mpsc::channel(1);
                let writer = write_batches(
                    store.clone(),
                    pool.clone(),
                    turns,
                    receiver,
                    (Arc::clone(&log), nudge),
                );
                let checkpointer = checkpoint_log(pool.clone(), Arc::clone(&log), nudged);
                spawn_on_own_thread(async {
                    tokio::join!(writer, checkpointer);
                });
                Some(log)
            }
            Store::Postgres(_) => {
                let receiver = Arc::new(Mutex::new(receiver));
                for _ in 0..POSTGRES_WRITERS {
                    tokio::spawn(write_postgres_batches(store.clone(), Arc::clone(&receiver)));
                }
                None
            }
        };
        RequestIntake {
            store,
            queue: sender,
            log,
        }
    }

    /// Waits until every batch committed so far is checkpointed: in SQLite's
    /// database file, not only in its write-ahead log. At once on PostgreSQL.
    pub async fn log_checkpointed(&self) {
        if let Some(log) = &self.log {
            let committed = log.commits.load(Ordering::Acquire);
            let mut checkpointed = log.checkpointed.subscribe();
            // The sender lives in `log`, as long as this handle.
            let _ = checkpointed.wait_for(|done| *done >= committed).await;
        }
    }

    /// Stores `intake` as [`Store::insert_request_within_cap`] does (`None` when
    /// the number's cap is reached), possibly in one transaction with others.
    pub async fn insert(&self, intake: Intake) -> StoreResult<Option<RequestRecord>> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((intake, _))) = self.queue.send((intake, reply)).await {
            // The writer is gone (shutting down): write this one directly.
            return self.store.insert_request_within_cap(&intake).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Corrupt(
                "the intake writer stopped before answering".to_owned(),
            ))
        })
    }
}

/// Runs `work` on a thread of its own, in a runtime of its own, or as a task of
/// the caller's runtime should the thread or its runtime fail to start.
///
/// Why: the SQLite writer awaits its connection's thread for every batch, and
/// on the shared runtime each of those wake-ups queued behind the HTTP tasks it
/// was answering; on a thread of its own, each is taken up at once.
fn spawn_on_own_thread<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    // Handed over once the thread is there, so it is still in hand if not.
    let (hand_over, handed) = std::sync::mpsc::sync_channel::<F>(1);
    let started = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|runtime| {
            std::thread::Builder::new()
                .name("sqlite-intake".to_owned())
                .spawn(move || {
                    if let Ok(work) = handed.recv() {
                        runtime.block_on(work);
                    }
                })
        });
    match started {
        Ok(_) => {
            let _ = hand_over.send(work);
        }
        Err(error) => {
            warn!(error = %error, "the SQLite intake writer runs on the shared runtime");
            tokio::spawn(work);
        }
    }
}

async fn write_batches(
    store: Store,
    pool: SqlitePool,
    turns: WriteTurns,
    mut queue: mpsc::Receiver<(Intake, Reply)>,
    (log, nudge): (Arc<LogProgress>, mpsc::Sender<()>),
) {
    // The writer leaves checkpoints to `checkpoint_log`.
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .pragma("wal_autocheckpoint", "0");
    let mut connection = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (intakes, replies): (Vec<Intake>, Vec<Reply>) = batch.drain(..).unzip();
        let turn = turns.take().await;
        let stored = match own_connection(&mut connection, &options).await {
            Some(connection) => insert_batch_on(connection, &intakes).await,
            None => store.insert_requests_together(&intakes).await,
        };
        drop(turn);
        if stored.is_ok() {
            log.commits.fetch_add(1, Ordering::Release);
            // Full means the checkpointer has a nudge waiting already.
            let _ = nudge.try_send(());
        } else {
            // The connection may be what failed: the next batch opens a new one.
            connection = None;
        }
        answer(&store, intakes, replies, stored).await;
    }
}

/// One PostgreSQL writer: takes its turn at the queue for whatever is waiting,
/// and stores it in one statement while the other writers gather the next.
async fn write_postgres_batches(store: Store, queue: Arc<Mutex<mpsc::Receiver<(Intake, Reply)>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = queue.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if received == 0 {
            break;
        }
        let (intakes, replies): (Vec<Intake>, Vec<Reply>) = batch.drain(..).unzip();
        let stored = store.insert_requests_together(&intakes).await;
        answer(&store, intakes, replies, stored).await;
    }
}

/// Answers each caller of a batch with its request's result. When the batch
/// failed as a whole, nothing of it is stored; each is tried on its own, so
/// each caller gets its own answer (and one bad request cannot sink the rest).
async fn answer(
    store: &Store,
    intakes: Vec<Intake>,
    replies: Vec<Reply>,
    stored: StoreResult<Vec<StoreResult<Option<RequestRecord>>>>,
) {
    match stored {
        Ok(stored) => {
            for (reply, result) in replies.into_iter().zip(stored) {
                // A caller that gave up (its request timed out) is not waiting.
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            warn!(error = %error, requests = intakes.len(),
                "batched intake failed; storing the requests one by one");
            for (reply, intake) in replies.into_iter().zip(intakes) {
                let _ = reply.send(store.insert_request_within_cap(&intake).await);
            }
        }
    }
}

/// Copies the write-ahead log into the database file when the writer has
/// committed (`nudged`), at most every [`CHECKPOINT_GAP`], on a connection of
/// its own, and records in `log` the commits copied; ends with the writer.
async fn checkpoint_log(pool: SqlitePool, log: Arc<LogProgress>, mut nudged: mpsc::Receiver<()>) {
    let options = pool.connect_options();
    let mut connection = None;
    while nudged.recv().await.is_some() {
        let Some(open) = own_connection(&mut connection, &options).await else {
            continue;
        };
        let through = log.commits.load(Ordering::Acquire);
        // (busy, frames in the log, frames copied); a reader still using older
        // frames keeps them, and the next commit's checkpoint tries again.
        let checkpoint = sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(passive)")
            .fetch_one(&mut *open)
            .await;
        match checkpoint {
            Ok((_, frames, copied)) if copied == frames => {
                log.checkpointed.send_replace(through);
            }
            Ok(_) => {}
            Err(error) => {
                warn!(error = %error, "checkpointing the write-ahead log failed");
                connection = None;
            }
        }
        tokio::time::sleep(CHECKPOINT_GAP).await;
    }
}

/// A connection of its own (the writer's, or the checkpointer's), opened with
/// `options` on first use (and again after a failure); `None`, with a warning,
/// when it cannot be opened: the writer's batch then goes through the pool, and
/// the checkpointer waits for the next commit.
///
/// Why its own: SQLite drops a connection's page cache whenever another
/// connection committed since its last transaction, and the pool hands out its
/// idle connections in turn, so each batch landed on a connection whose cache
/// the batches before had voided and read the tables' and indexes' pages again
/// from the file (a quarter of the writer's time went to the kernel copying
/// them). On a connection of its own the writer keeps its cache: only the
/// notifier's commits between batches void it. Being outside the pool, it also
/// leaves the pool's connections to everyone else and does not hold up closing
/// the pool at shutdown; it closes when the writer ends.
async fn own_connection<'c>(
    connection: &'c mut Option<SqliteConnection>,
    options: &SqliteConnectOptions,
) -> Option<&'c mut SqliteConnection> {
    if connection.is_none() {
        match options.connect().await {
            Ok(opened) => *connection = Some(opened),
            Err(error) => warn!(error = %error, "intake could not open a connection of its own"),
        }
    }
    connection.as_mut()
}
