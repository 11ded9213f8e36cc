//! The webhook outbox: events written by database triggers (see the migration
//! `webhook_outbox`) in the same transaction as the change they tell of, claimed
//! by the webhook deliverer in order per request, and the outcome of each post,
//! fenced by the claim's attempt.
//!
//! Not here: the payload's JSON, the signature and the posting
//! (`scheduler::webhooks`). Events hold ids, statuses, outcomes and times only.

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{Store, StoreError, StoreResult, with_pool};
use crate::domain::status::{Outcome, RequestStatus};
use crate::ids::{CallId, MentorId, RequestId};

/// What an event tells of, with the facts captured when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookEventKind {
    /// `call.ended`: a call is over, with its outcome.
    CallEnded {
        /// The call.
        call_id: CallId,
        /// Its mentor.
        mentor_id: MentorId,
        /// How it ended.
        outcome: Outcome,
        /// Seconds the bridged seeker leg lasted, when it was bridged.
        talk_seconds: Option<u32>,
        /// The slot's start.
        starts_at: DateTime<Utc>,
        /// When it ended.
        ended_at: DateTime<Utc>,
    },
    /// `request.updated`: a request was made or its status changed.
    RequestUpdated {
        /// The status after the change.
        status: RequestStatus,
        /// The status before; `None` for a new request.
        previous_status: Option<RequestStatus>,
        /// Seeker-side misses counted so far.
        attempts: u32,
        /// The call it is booked into, if any: (call id, mentor id, start).
        call: Option<(CallId, MentorId, DateTime<Utc>)>,
    },
}

impl WebhookEventKind {
    /// The event type as sent: `call.ended` or `request.updated`.
    pub fn type_name(&self) -> &'static str {
        match self {
            WebhookEventKind::CallEnded { .. } => "call.ended",
            WebhookEventKind::RequestUpdated { .. } => "request.updated",
        }
    }
}

/// An event the deliverer claimed.
#[derive(Clone, Debug)]
pub struct WebhookJob {
    /// Outbox id.
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt.
    pub webhook_id: String,
    /// The request it is about.
    pub request_id: RequestId,
    /// What happened.
    pub kind: WebhookEventKind,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it entered the outbox: retries stop 24 hours after.
    pub created_at: DateTime<Utc>,
    /// Posts tried, this one included.
    pub attempts: u32,
}

/// Where an outbox event stands, as the operator sees it.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// The event.
    pub job: WebhookJob,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    /// When the next post is due (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// When a post was last tried.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last failure's kind (`timeout`, `connect`, `http_500`, …).
    pub last_error: Option<String>,
    /// The receiver's last status code, when it answered.
    pub last_status_code: Option<u16>,
    /// When a 2xx answer came.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Outbox events by delivery status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookCounts {
    /// Not delivered yet, still being tried.
    pub pending: i64,
    /// Answered with a 2xx.
    pub delivered: i64,
    /// Given up after 24 hours of retries.
    pub failed: i64,
}

/// The outbox columns every read takes, in [`EventRow`]'s order.
const EVENT_COLUMNS: &str = "id, webhook_id, type, request_id, call_id, mentor_id,
    request_status, previous_status, request_attempts, outcome, talk_seconds, starts_at,
    ended_at, occurred_at, created_at, attempts, status, next_attempt_at, last_attempt_at,
    last_error, last_status_code, delivered_at";

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    webhook_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    request_id: RequestId,
    call_id: Option<CallId>,
    mentor_id: Option<MentorId>,
    request_status: Option<String>,
    previous_status: Option<String>,
    request_attempts: Option<i32>,
    outcome: Option<String>,
    talk_seconds: Option<i32>,
    starts_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    occurred_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    attempts: i32,
    status: String,
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_status_code: Option<i32>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<EventRow> for WebhookDelivery {
    type Error = StoreError;
    fn try_from(row: EventRow) -> StoreResult<WebhookDelivery> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("webhook event {}: {what}", row.id));
        let kind = match row.kind.as_str() {
            "call.ended" => WebhookEventKind::CallEnded {
                call_id: row.call_id.ok_or_else(|| corrupt("call id"))?,
                mentor_id: row.mentor_id.ok_or_else(|| corrupt("mentor id"))?,
                outcome: row
                    .outcome
                    .as_deref()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| corrupt("outcome"))?,
                talk_seconds: match row.talk_seconds {
                    Some(seconds) => {
                        Some(u32::try_from(seconds).map_err(|_| corrupt("talk seconds"))?)
                    }
                    None => None,
                },
                starts_at: row.starts_at.ok_or_else(|| corrupt("start"))?,
                ended_at: row.ended_at.ok_or_else(|| corrupt("end"))?,
            },
            "request.updated" => WebhookEventKind::RequestUpdated {
                status: row
                    .request_status
                    .as_deref()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| corrupt("request status"))?,
                previous_status: match row.previous_status.as_deref() {
                    Some(text) => Some(text.parse().map_err(|_| corrupt("previous status"))?),
                    None => None,
                },
                attempts: row
                    .request_attempts
                    .and_then(|attempts| u32::try_from(attempts).ok())
                    .ok_or_else(|| corrupt("request attempts"))?,
                call: match (row.call_id, row.mentor_id, row.starts_at) {
                    (Some(call_id), Some(mentor_id), Some(starts_at)) => {
                        Some((call_id, mentor_id, starts_at))
                    }
                    _ => None,
                },
            },
            _ => return Err(corrupt("type")),
        };
        Ok(WebhookDelivery {
            job: WebhookJob {
                id: row.id,
                webhook_id: row.webhook_id,
                request_id: row.request_id,
                kind,
                occurred_at: row.occurred_at,
                created_at: row.created_at,
                attempts: u32::try_from(row.attempts).map_err(|_| corrupt("attempts"))?,
            },
            status: row.status,
            next_attempt_at: row.next_attempt_at,
            last_attempt_at: row.last_attempt_at,
            last_error: row.last_error,
            last_status_code: row
                .last_status_code
                .and_then(|code| u16::try_from(code).ok()),
            delivered_at: row.delivered_at,
        })
    }
}

impl Store {
    /// Turns the outbox triggers on or off: `serve` calls it at start-up with
    /// whether a webhook URL is configured. Every instance sharing a database
    /// should be configured alike; the last one to start decides.
    #[instrument(skip_all, fields(webhooks.enabled = enabled))]
    pub async fn set_webhooks_enabled(&self, enabled: bool, now: DateTime<Utc>) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query("update webhook_settings set enabled = $1, updated_at = $2 where id = 1")
                .bind(enabled)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Whether the outbox triggers are on.
    pub async fn webhooks_enabled(&self) -> StoreResult<bool> {
        let enabled: bool = with_pool!(self, pool, {
            sqlx::query_scalar("select enabled from webhook_settings where id = 1")
                .fetch_one(pool)
                .await
        })?;
        Ok(enabled)
    }

    /// Claims up to `limit` due events in one statement, at most one per request
    /// and only a request's earliest pending one, so a request's events go out in
    /// the order they happened: a later one waits while an earlier one is pending
    /// (claimed, or waiting for a retry). Each claim counts an attempt and moves
    /// the event's next attempt to `lease_until`, so a deliverer that dies
    /// mid-post leaves it to be retried then. Returned in outbox order.
    ///
    /// Instances sharing PostgreSQL claim disjoint sets: a claim skips the events
    /// another one has locked and checks again that each is still due and first
    /// in line (`CLAIM_WEBHOOKS_POSTGRES`), so no event is posted by two at once.
    #[instrument(skip_all)]
    pub async fn claim_webhook_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookJob>> {
        let sql = self.per_backend(CLAIM_WEBHOOKS_SQLITE, CLAIM_WEBHOOKS_POSTGRES);
        let sql = sql.replace("{columns}", EVENT_COLUMNS);
        let rows: Vec<EventRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(lease_until)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        let mut jobs = rows
            .into_iter()
            .map(|row| WebhookDelivery::try_from(row).map(|delivery| delivery.job))
            .collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|job| job.id);
        Ok(jobs)
    }

    /// Records that event `id` was answered with 2xx `status_code` under claim
    /// `attempt`. A late answer of a claim that ran out still counts: the
    /// receiver has it, whichever post brought it.
    #[instrument(skip_all, fields(webhook.event_id = id))]
    pub async fn webhook_delivered(
        &self,
        id: i64,
        attempt: u32,
        status_code: u16,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update webhook_events
                 set status = 'delivered', delivered_at = $1, last_attempt_at = $1,
                     last_status_code = $2, last_error = null
                 where id = $3 and status = 'pending' and attempts >= $4",
            )
            .bind(now)
            .bind(i32::from(status_code))
            .bind(id)
            .bind(i64::from(attempt))
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Records a failed post of event `id` under claim `attempt`: `error` is the
    /// failure's kind, `status_code` the receiver's answer if any; the event is
    /// retried at `retry_at`, or given up for good when `None`. Nothing changes
    /// when the claim ran out and the event was claimed again since.
    #[instrument(skip_all, fields(webhook.event_id = id))]
    pub async fn webhook_attempt_failed(
        &self,
        id: i64,
        attempt: u32,
        error: &str,
        status_code: Option<u16>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update webhook_events
                 set last_error = $1, last_status_code = $2, last_attempt_at = $3,
                     status = case when $4 is null then 'failed' else 'pending' end,
                     next_attempt_at = coalesce($4, next_attempt_at)
                 where id = $5 and status = 'pending' and attempts = $6",
            )
            .bind(error)
            .bind(status_code.map(i32::from))
            .bind(now)
            .bind(retry_at)
            .bind(id)
            .bind(i64::from(attempt))
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// The newest `limit` outbox events, newest first; with `undelivered`, only
    /// those given up or retried at least once and still pending.
    #[instrument(skip_all)]
    pub async fn recent_webhook_events(
        &self,
        undelivered: bool,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let filter = if undelivered {
            "where status = 'failed' or (status = 'pending' and last_error is not null)"
        } else {
            ""
        };
        let sql = format!(
            "select {EVENT_COLUMNS} from webhook_events {filter} order by id desc limit $1"
        );
        let rows: Vec<EventRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }

    /// Outbox events by delivery status.
    #[instrument(skip_all)]
    pub async fn webhook_counts(&self) -> StoreResult<WebhookCounts> {
        let (pending, delivered, failed): (i64, i64, i64) = with_pool!(self, pool, {
            sqlx::query_as(
                "select
                    (select count(*) from webhook_events where status = 'pending'),
                    (select count(*) from webhook_events where status = 'delivered'),
                    (select count(*) from webhook_events where status = 'failed')",
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(WebhookCounts {
            pending,
            delivered,
            failed,
        })
    }
}

/// Claims due events on SQLite, whose single writer keeps other claims out for
/// the whole statement. `$1` the lease's end, `$2` now, `$3` how many.
const CLAIM_WEBHOOKS_SQLITE: &str = "update webhook_events
    set attempts = attempts + 1, next_attempt_at = $1
    where id in (select e.id from webhook_events e
                 where e.status = 'pending' and e.next_attempt_at <= $2
                   and not exists (select 1 from webhook_events earlier
                                   where earlier.request_id = e.request_id
                                     and earlier.id < e.id and earlier.status = 'pending')
                 order by e.id limit $3)
    returning {columns}";

/// Claims due events on PostgreSQL. The select locks the rows it picks and skips
/// those another claim holds; the update checks again that each is still due and
/// still its request's earliest pending event, for rows that changed since the
/// statement began. Without both, a claim that waited on another's row locks
/// re-checked only `id in (…)` once that one committed, and posted the same
/// event again. The select is a materialized `with` query so it runs once.
const CLAIM_WEBHOOKS_POSTGRES: &str = "with due as materialized (
        select e.id from webhook_events e
        where e.status = 'pending' and e.next_attempt_at <= $2
          and not exists (select 1 from webhook_events earlier
                          where earlier.request_id = e.request_id
                            and earlier.id < e.id and earlier.status = 'pending')
        order by e.id limit $3
        for update of e skip locked)
    update webhook_events
    set attempts = attempts + 1, next_attempt_at = $1
    where id in (select id from due)
      and status = 'pending' and next_attempt_at <= $2
      and not exists (select 1 from webhook_events earlier
                      where earlier.request_id = webhook_events.request_id
                        and earlier.id < webhook_events.id and earlier.status = 'pending')
    returning {columns}";
