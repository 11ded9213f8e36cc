//! How much work is waiting, for the `/metrics` queue gauges.
//!
//! Counts only: nothing here claims or changes work.

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{Store, StoreResult, with_pool};
use crate::metrics::QueueDepths;

impl Store {
    /// Counts due and later scheduled calls, pending and unconfirmed requests,
    /// unsent notices and code texts at `now`, in one statement.
    #[instrument(skip_all)]
    pub async fn queue_depths(&self, now: DateTime<Utc>) -> StoreResult<QueueDepths> {
        let (
            calls_due,
            calls_scheduled,
            requests_pending,
            notices_pending,
            requests_unconfirmed,
            code_texts_pending,
        ): (i64, i64, i64, i64, i64, i64) = with_pool!(self, pool, {
            sqlx::query_as(
                "select
                    (select count(*) from calls where status = 'scheduled' and starts_at <= $1),
                    (select count(*) from calls where status = 'scheduled' and starts_at > $1),
                    (select count(*) from requests where status = 'pending'),
                    (select count(*) from notifications
                     where status = 'pending' and (kind <> 'reminder' or next_attempt_at <= $1)),
                    (select count(*) from requests where status = 'unconfirmed'),
                    (select count(*) from request_confirmations where send_at is not null)",
            )
            .bind(now)
            .fetch_one(pool)
            .await
        })?;
        Ok(QueueDepths {
            calls_due,
            calls_scheduled,
            requests_pending,
            notices_pending,
            requests_unconfirmed,
            code_texts_pending,
        })
    }
}
