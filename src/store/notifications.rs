//! The SMS outbox: notices written with what caused them (in the same
//! transaction), claimed by the notifier, and the outcome of each send, fenced by
//! the claim's attempt.
//!
//! Reminders are notices too, queued with the booking, due shortly before the
//! call: a claimed reminder says whether its call is still as it was when it was
//! queued (scheduled, at the same start, not begun, its request still
//! scheduled), and one that is not is recorded `skipped`, unsent. The manage
//! links reminders carry (`manage_links`) are minted under the reminder's claim.
//!
//! Not here: a notice's text, which the notifier words from `domain::notices`
//! when it sends, and the sending.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tracing::instrument;

use super::{BeginWrite, Markers, Store, StoreError, StoreResult, with_pool};
use crate::domain::notices::{NoticeKind, Recipient};
use crate::domain::reminder::ReminderPolicy;
use crate::domain::status::RequestStatus;
use crate::ids::{CallId, NoticeId, RequestId};

/// Adds the cancellation notices of call `$call_id` to the outbox in `$executor`.
macro_rules! enqueue_cancel_notices {
    ($executor:expr, $request_id:expr, $call_id:expr, $now:expr) => {
        sqlx::query(
            "insert into notifications
                 (request_id, call_id, recipient, kind, status, next_attempt_at, created_at)
             values ($1, $2, 'seeker', 'canceled', 'pending', $3, $3),
                    ($1, $2, 'mentor', 'canceled', 'pending', $3, $3)",
        )
        .bind($request_id)
        .bind($call_id)
        .bind($now)
        .execute($executor)
        .await
    };
}
pub(crate) use enqueue_cancel_notices;

/// A reminder to queue for a call just booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NewReminder {
    /// The request the call serves.
    pub request_id: RequestId,
    /// The call.
    pub call_id: CallId,
    /// When the call starts: the reminder goes only while it still does.
    pub starts_at: DateTime<Utc>,
    /// When the reminder is due.
    pub due_at: DateTime<Utc>,
    /// When it is queued.
    pub created_at: DateTime<Utc>,
}

/// The reminders `policy` asks for, booked at `now`, of the calls `booked`: each
/// `(call id, request id, start, the seeker's zone)`. A call whose reminder would
/// be due before `now` gets none.
pub(crate) fn reminders_of<'z>(
    booked: impl ExactSizeIterator<Item = (CallId, RequestId, DateTime<Utc>, &'z str)>,
    policy: ReminderPolicy,
    now: DateTime<Utc>,
) -> StoreResult<Vec<NewReminder>> {
    let mut reminders = Vec::with_capacity(booked.len());
    for (call_id, request_id, starts_at, zone) in booked {
        let zone: Tz = zone
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("request {request_id}: zone")))?;
        if let Some(due_at) = policy.due_at(starts_at, zone, now) {
            reminders.push(NewReminder {
                request_id,
                call_id,
                starts_at,
                due_at,
                created_at: now,
            });
        }
    }
    Ok(reminders)
}

/// The insert of `count` reminders, each bound as (request id, call id, due at,
/// created at, starts at). A call that has its reminder already keeps it (the
/// unique index `notifications_one_reminder_per_call`).
pub(crate) fn insert_reminders_sql(store: &Store, count: usize) -> String {
    let mut markers = Markers::new(store);
    let rows: Vec<String> = (0..count)
        .map(|_| {
            format!(
                "({}, {}, 'seeker', 'reminder', 'pending', {}, {}, {})",
                markers.next(),
                markers.next(),
                markers.next(),
                markers.next(),
                markers.next()
            )
        })
        .collect();
    format!(
        "insert into notifications
             (request_id, call_id, recipient, kind, status, next_attempt_at, created_at, starts_at)
         values {}
         on conflict do nothing",
        rows.join(", ")
    )
}

/// Queues `$reminders` (a `&[NewReminder]`) in `$executor`, a transaction of
/// `$store`: with the booking that made their calls, so a booked call never
/// lacks its reminder and a reminder never outlives a booking rolled back.
macro_rules! enqueue_reminders {
    ($executor:expr, $store:expr, $reminders:expr) => {{
        let reminders: &[$crate::store::notifications::NewReminder] = $reminders;
        if reminders.is_empty() {
            Ok(())
        } else {
            let sql = $crate::store::notifications::insert_reminders_sql($store, reminders.len());
            let mut insert = sqlx::query(&sql);
            for reminder in reminders {
                insert = insert
                    .bind(reminder.request_id)
                    .bind(reminder.call_id)
                    .bind(reminder.due_at)
                    .bind(reminder.created_at)
                    .bind(reminder.starts_at);
            }
            insert.execute($executor).await.map(drop)
        }
    }};
}
pub(crate) use enqueue_reminders;

/// A notice the notifier claimed, with what its text needs.
#[derive(Clone, Debug)]
pub struct NoticeJob {
    /// Notice id.
    pub id: NoticeId,
    /// The request the notice is about.
    pub request_id: RequestId,
    /// What happened.
    pub kind: NoticeKind,
    /// Who is told.
    pub recipient: Recipient,
    /// Sends tried, this one included.
    pub attempts: u32,
    /// The recipient's E.164 number.
    pub to_phone: String,
    /// When the call starts.
    pub starts_at: DateTime<Utc>,
    /// The seeker's name.
    pub seeker_name: String,
    /// The seeker's zone.
    pub seeker_zone: Tz,
    /// The mentor's name.
    pub mentor_name: String,
    /// The mentor's zone.
    pub mentor_zone: Tz,
    /// What the call is about.
    pub topic: String,
    /// The recipient's number replied STOP (or the provider said so): text nothing.
    pub opted_out: bool,
    /// For a reminder: its call is no longer what it was when the reminder was
    /// queued (canceled, moved, begun, or its request no longer scheduled), so
    /// the reminder must not go. Always false for other notices.
    pub call_changed: bool,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: NoticeId,
    request_id: RequestId,
    kind: String,
    recipient: String,
    attempts: i32,
    starts_at: DateTime<Utc>,
    seeker_name: String,
    seeker_phone: String,
    seeker_zone: String,
    mentor_name: String,
    mentor_phone: String,
    mentor_zone: String,
    topic: String,
    opted_out: bool,
    request_status: String,
    call_changed: bool,
}

impl TryFrom<JobRow> for NoticeJob {
    type Error = StoreError;
    fn try_from(row: JobRow) -> StoreResult<NoticeJob> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("notification {}: {what}", row.id));
        let recipient: Recipient = row.recipient.parse().map_err(|_| corrupt("recipient"))?;
        let mut kind: NoticeKind = row.kind.parse().map_err(|_| corrupt("kind"))?;
        let request_status: RequestStatus = row
            .request_status
            .parse()
            .map_err(|_| corrupt("request status"))?;
        // A call its mentor gave back: its request is still open, to be booked
        // again (see `releases`).
        if kind == NoticeKind::Canceled
            && recipient == Recipient::Seeker
            && request_status.is_open()
        {
            kind = NoticeKind::Rebooking;
        }
        Ok(NoticeJob {
            id: row.id,
            request_id: row.request_id,
            kind,
            recipient,
            attempts: u32::try_from(row.attempts).map_err(|_| corrupt("attempts"))?,
            to_phone: match recipient {
                Recipient::Seeker => row.seeker_phone,
                Recipient::Mentor => row.mentor_phone,
            },
            starts_at: row.starts_at,
            seeker_name: row.seeker_name,
            seeker_zone: row
                .seeker_zone
                .parse()
                .map_err(|_| corrupt("seeker zone"))?,
            mentor_name: row.mentor_name,
            mentor_zone: row
                .mentor_zone
                .parse()
                .map_err(|_| corrupt("mentor zone"))?,
            topic: row.topic,
            opted_out: row.opted_out,
            call_changed: row.call_changed,
        })
    }
}

impl Store {
    /// Claims up to `limit` due notices in one statement: each claim counts an
    /// attempt and moves the notice's next attempt to `lease_until`, so a notifier
    /// that dies mid-send leaves it to be retried then. A second statement reads
    /// what the texts say, whether each recipient opted out of texts, and
    /// whether each reminder's call is still as it was when it was queued.
    ///
    /// Instances sharing PostgreSQL claim disjoint sets: a claim skips the notices
    /// another one has locked, and checks again that each is still due
    /// (`CLAIM_NOTICES_POSTGRES`), so no notice is texted twice.
    #[instrument(skip_all)]
    pub async fn claim_notices(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<NoticeJob>> {
        let claim_sql = self.per_backend(CLAIM_NOTICES_SQLITE, CLAIM_NOTICES_POSTGRES);
        let rows: Vec<JobRow> = with_pool!(self, pool, {
            let claimed: Vec<NoticeId> = sqlx::query_scalar(claim_sql)
                .bind(lease_until)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            if claimed.is_empty() {
                return Ok(Vec::new());
            }
            let mut markers = Markers::new(self);
            let sql = format!(
                "select n.id, n.request_id, n.kind, n.recipient, n.attempts, c.starts_at,
                        r.name as seeker_name, r.phone as seeker_phone, r.timezone as seeker_zone,
                        m.name as mentor_name, m.phone as mentor_phone, m.timezone as mentor_zone,
                        r.topic, r.status as request_status,
                        exists (select 1 from sms_opt_outs o
                                where o.phone = case n.recipient when 'seeker' then r.phone
                                                                 else m.phone end) as opted_out,
                        (n.kind = 'reminder'
                         and not (c.status = 'scheduled' and c.starts_at = n.starts_at
                                  and c.starts_at > {} and r.status = 'scheduled'))
                            as call_changed
                 from notifications n
                 join calls c on c.id = n.call_id
                 join requests r on r.id = n.request_id
                 join mentors m on m.id = c.mentor_id
                 where n.id in ({})
                 order by n.id",
                markers.next(),
                markers.list(claimed.len())
            );
            let mut select = sqlx::query_as(&sql).bind(now);
            for id in &claimed {
                select = select.bind(*id);
            }
            select.fetch_all(pool).await?
        });
        rows.into_iter().map(NoticeJob::try_from).collect()
    }

    /// Records that notice `id` went out as provider message `provider_sid`,
    /// unless claim `attempt` ran out and the notice was claimed again: then the
    /// later claim's outcome is the one that counts.
    #[instrument(skip_all, fields(notice.id = id.0))]
    pub async fn notice_sent(
        &self,
        id: NoticeId,
        attempt: u32,
        provider_sid: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update notifications
                 set status = 'sent', provider_sid = $1, sent_at = $2, last_error = null
                 where id = $3 and attempts = $4",
            )
            .bind(provider_sid)
            .bind(now)
            .bind(id)
            .bind(i64::from(attempt))
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Records that reminder, feedback question or follow-up offer `id`, claimed as `attempt`,
    /// was not sent and never will be, and why (`call_changed`, `opted_out`); whether this claim still
    /// held it (a claim that ran out and was taken again records nothing).
    #[instrument(skip_all, fields(notice.id = id.0))]
    pub async fn notice_skipped(
        &self,
        id: NoticeId,
        attempt: u32,
        reason: &str,
    ) -> StoreResult<bool> {
        let done = with_pool!(self, pool, {
            sqlx::query(
                "update notifications set status = 'skipped', last_error = $1
                 where id = $2 and attempts = $3 and status = 'pending'",
            )
            .bind(reason)
            .bind(id)
            .bind(i64::from(attempt))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Stores the hash of a new manage link for request `request_id`, valid until
    /// `expires_at`, for reminder `notice_id` while claim `attempt` still holds
    /// it: `false`, and nothing stored, when the claim ran out and another took
    /// the reminder (which then sends it, with a link of its own). Links that
    /// expired are swept in the same transaction.
    #[instrument(skip_all, fields(notice.id = notice_id.0, request.id = request_id.0))]
    pub async fn mint_manage_link(
        &self,
        notice_id: NoticeId,
        attempt: u32,
        request_id: RequestId,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let minted = with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            sqlx::query("delete from manage_links where expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let minted = sqlx::query(
                "insert into manage_links (token_hash, request_id, created_at, expires_at)
                 select $1, $2, $3, $4
                 where exists (select 1 from notifications
                               where id = $5 and attempts = $6 and status = 'pending')",
            )
            .bind(token_hash)
            .bind(request_id)
            .bind(now)
            .bind(expires_at)
            .bind(notice_id)
            .bind(i64::from(attempt))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            minted
        });
        Ok(minted > 0)
    }

    /// Whether a manage link whose token hashes to `token_hash` opens request
    /// `request_id` at `now` (minted for it, not expired, not erased since).
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn manage_link_opens(
        &self,
        request_id: RequestId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(with_pool!(self, pool, {
            sqlx::query_scalar(
                "select exists (select 1 from manage_links
                                where token_hash = $1 and request_id = $2 and expires_at > $3)",
            )
            .bind(token_hash)
            .bind(request_id)
            .bind(now)
            .fetch_one(pool)
            .await
        })?)
    }

    /// Records a failed send of notice `id` under claim `attempt`: retried at
    /// `retry_at`, or given up for good when `None`. Nothing changes when the
    /// claim ran out and the notice was claimed again (and perhaps sent) since:
    /// a late failure must not queue it once more.
    #[instrument(skip_all, fields(notice.id = id.0))]
    pub async fn notice_failed(
        &self,
        id: NoticeId,
        attempt: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update notifications set last_error = $1,
                     status = case when $2 is null then 'failed' else 'pending' end,
                     next_attempt_at = coalesce($2, next_attempt_at)
                 where id = $3 and attempts = $4",
            )
            .bind(error)
            .bind(retry_at)
            .bind(id)
            .bind(i64::from(attempt))
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }
}

/// Claims due notices on SQLite, whose single writer keeps other claims out for
/// the whole statement. `$1` the lease's end, `$2` now, `$3` how many.
const CLAIM_NOTICES_SQLITE: &str = "update notifications
    set attempts = attempts + 1, next_attempt_at = $1
    where id in (select id from notifications
                 where status = 'pending' and next_attempt_at <= $2
                 order by id limit $3)
    returning id";

/// Claims due notices on PostgreSQL. The select locks the rows it picks and
/// skips those another claim holds; the update checks again that each is still
/// due, for rows that changed since the statement began. Without both, a claim
/// that waited on another's row locks re-checked only `id in (…)` once that one
/// committed, and claimed (and texted) the same notices again. The select is a
/// materialized `with` query so it runs once: as a plain `in (select …)` the
/// planner may rescan it per row, locking a different set each time and
/// claiming more than `$3`.
const CLAIM_NOTICES_POSTGRES: &str = "with due as materialized (
        select id from notifications
        where status = 'pending' and next_attempt_at <= $2
        order by id limit $3
        for update skip locked)
    update notifications set attempts = attempts + 1, next_attempt_at = $1
    where id in (select id from due)
      and status = 'pending' and next_attempt_at <= $2
    returning id";
