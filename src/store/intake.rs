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
//! On PostgreSQL every commit waits for its log flush, and a request per
//! commit held intake to the pool's connections times the flush rate. There a
//! few writers ([`POSTGRES_WRITERS`]) take turns at the queue: each stores what
//! is waiting in one statement and one commit, while the others gather and
//! write the next batches, so flushes overlap as they did for single requests.
//!
//! Not here: the insert itself (`requests`); this module only decides who writes
//! when.

use std::sync::Arc;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};
use tracing::warn;

use super::requests::insert_batch_on;
use super::{Intake, RequestRecord, Store, StoreError, StoreResult};

/// Most requests one transaction stores.
const MAX_BATCH: usize = 128;
/// Requests that may wait for the writer before callers wait to queue.
const QUEUE: usize = 1024;
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
}

impl RequestIntake {
    /// Intake over `store`. This spawns the writer tasks (one on SQLite, which
    /// writes in `turns`; [`POSTGRES_WRITERS`] on PostgreSQL), which end when
    /// the last handle is dropped.
    pub fn start(store: Store, turns: WriteTurns) -> RequestIntake {
        let (sender, receiver) = mpsc::channel(QUEUE);
        match &store {
            Store::Sqlite(pool) => {
                tokio::spawn(write_batches(store.clone(), pool.clone(), turns, receiver));
            }
            Store::Postgres(_) => {
                let receiver = Arc::new(Mutex::new(receiver));
                for _ in 0..POSTGRES_WRITERS {
                    tokio::spawn(write_postgres_batches(store.clone(), Arc::clone(&receiver)));
                }
            }
        }
        RequestIntake {
            store,
            queue: sender,
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

async fn write_batches(
    store: Store,
    pool: SqlitePool,
    turns: WriteTurns,
    mut queue: mpsc::Receiver<(Intake, Reply)>,
) {
    let mut connection = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (intakes, replies): (Vec<Intake>, Vec<Reply>) = batch.drain(..).unzip();
        let turn = turns.take().await;
        let stored = match own_connection(&mut connection, &pool).await {
            Some(connection) => insert_batch_on(connection, &intakes).await,
            None => store.insert_requests_together(&intakes).await,
        };
        drop(turn);
        if stored.is_err() {
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

/// The writer's own connection, opened with the pool's settings on first use
/// (and again after a failed batch); `None`, with a warning, when it cannot be
/// opened, and the batch goes through the pool.
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
    pool: &SqlitePool,
) -> Option<&'c mut SqliteConnection> {
    if connection.is_none() {
        match pool.connect_options().connect().await {
            Ok(opened) => *connection = Some(opened),
            Err(error) => warn!(error = %error, "the intake writer could not open its connection"),
        }
    }
    connection.as_mut()
}
