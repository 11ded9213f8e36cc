//! Cluster-wide locks. One matcher at a time across every instance sharing a
//! PostgreSQL database: a run holds a transaction-scoped advisory lock, released
//! when the run's lock transaction ends (or its connection dies with the process).
//! SQLite serves a single instance, whose runs never overlap anyway.
//!
//! Not here: claims of due work, which need no lock: each claims its rows in one
//! statement (`telephony`, `notifications`).

use sqlx::{Postgres, Transaction};

use super::{Store, StoreResult};

/// The advisory lock key of the matcher ("ridealon" in ASCII).
const MATCHER_LOCK_KEY: i64 = 0x7269_6465_616c_6f6e;

/// Held while a matcher runs. [`MatcherLock::release`] frees it at once; dropping
/// it frees it as soon as the pool rolls the lock's transaction back.
#[must_use = "the lock is released when this is dropped"]
pub struct MatcherLock {
    held: Option<Transaction<'static, Postgres>>,
}

impl MatcherLock {
    /// Frees the lock now.
    pub async fn release(self) -> StoreResult<()> {
        if let Some(tx) = self.held {
            tx.rollback().await?;
        }
        Ok(())
    }
}

impl Store {
    /// Waits until no other instance's matcher runs, and holds the lock.
    pub async fn lock_matcher(&self) -> StoreResult<MatcherLock> {
        match self {
            Store::Sqlite(_) => Ok(MatcherLock { held: None }),
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(LOCK_MATCHER_POSTGRES)
                    .bind(MATCHER_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                Ok(MatcherLock { held: Some(tx) })
            }
        }
    }

    /// The matcher lock if nobody holds it now, else `None`.
    pub async fn try_lock_matcher(&self) -> StoreResult<Option<MatcherLock>> {
        match self {
            Store::Sqlite(_) => Ok(Some(MatcherLock { held: None })),
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let locked: bool = sqlx::query_scalar(TRY_LOCK_MATCHER_POSTGRES)
                    .bind(MATCHER_LOCK_KEY)
                    .fetch_one(&mut *tx)
                    .await?;
                Ok(locked.then_some(MatcherLock { held: Some(tx) }))
            }
        }
    }
}

/// Waits for the matcher's advisory lock, held until the transaction ends.
/// SQLite has no counterpart: one instance, whose matcher runs never overlap.
const LOCK_MATCHER_POSTGRES: &str = "select pg_advisory_xact_lock($1)";

/// Takes the matcher's advisory lock if it is free; whether it was.
const TRY_LOCK_MATCHER_POSTGRES: &str = "select pg_try_advisory_xact_lock($1)";
