//! The call-back line's reads and its one write: who is calling (a seeker's
//! newest request; mentors are found by `mentor_id_by_phone`), a seeker's last ended call and what its mentor is
//! doing, and putting a call-back through ([`Store::start_call_back`]).
//!
//! Not here: whether a call-back may go through (`domain::call_back`), and what
//! anyone hears (`web::webhooks`).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::calls::{CALL_COLUMNS, CallRow, insert_event};
use super::requests::parse_request_status;
use super::{BeginWrite, CallRecord, NewCallEvent, Store, StoreResult, with_pool};
use crate::domain::phone::PhoneNumber;
use crate::domain::schedule::Slot;
use crate::domain::status::RequestStatus;
use crate::ids::{CallId, MentorId, RequestId};

/// A mentor's next booked call, as the mentor hears it on the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentorNextCall {
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// The seeker's name.
    pub seeker_name: String,
}

/// What the mentor of a missed call is doing, for the call-back line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MentorNow {
    /// A call of theirs is dialing or under way.
    pub on_call: bool,
    /// The start of their next booked call for another request (one whose start
    /// has passed but that was not placed yet included).
    pub next_booked: Option<DateTime<Utc>>,
}

/// A call-back to put through: the seeker's inbound call `provider_call_sid`
/// about missed call `missed`, to its mentor, until `ends_at`.
#[derive(Clone, Copy, Debug)]
pub struct NewCallBack<'a> {
    /// The request the missed call served.
    pub request_id: RequestId,
    /// The missed call.
    pub missed: CallId,
    /// Its mentor.
    pub mentor_id: MentorId,
    /// The provider's id of the seeker's inbound call.
    pub provider_call_sid: &'a str,
    /// When the call-back's time is up.
    pub ends_at: DateTime<Utc>,
}

/// Request statuses a call-back can recover: open ones, and one the third miss
/// made unreachable.
const RECOVERABLE: &str = "('pending', 'scheduled', 'unreachable')";

impl Store {
    /// The newest request made from `phone`, whatever became of it.
    #[instrument(skip_all)]
    pub async fn newest_request_id_by_phone(
        &self,
        phone: &PhoneNumber,
    ) -> StoreResult<Option<RequestId>> {
        Ok(with_pool!(self, pool, {
            sqlx::query_scalar(
                "select id from requests where phone = $1
                 order by created_at desc, id desc limit 1",
            )
            .bind(phone.as_str())
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Mentor `mentor_id`'s next booked call starting at or after `now`.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn mentor_next_call(
        &self,
        mentor_id: MentorId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<MentorNextCall>> {
        let row: Option<(DateTime<Utc>, String)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select c.starts_at, r.name from calls c join requests r on r.id = c.request_id
                 where c.mentor_id = $1 and c.status = 'scheduled' and c.starts_at >= $2
                 order by c.starts_at, c.id limit 1",
            )
            .bind(mentor_id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(starts_at, seeker_name)| MentorNextCall {
            starts_at,
            seeker_name,
        }))
    }

    /// The last call of request `request_id` that ended (not canceled): the one
    /// a seeker calling back is calling about, if it was a seeker-side miss.
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn last_ended_call(&self, request_id: RequestId) -> StoreResult<Option<CallRecord>> {
        let row: Option<CallRow> = with_pool!(self, pool, {
            sqlx::query_as(&last_ended_call_sql())
                .bind(request_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(CallRecord::try_from).transpose()
    }

    /// What mentor `mentor_id` is doing at `now`, leaving request `request_id`'s
    /// own booked call out (a call-back replaces it).
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn mentor_now(
        &self,
        mentor_id: MentorId,
        request_id: RequestId,
        now: DateTime<Utc>,
    ) -> StoreResult<MentorNow> {
        let (on_call, next_booked): (bool, Option<DateTime<Utc>>) = with_pool!(self, pool, {
            sqlx::query_as(
                "select exists (select 1 from calls
                                where mentor_id = $1 and status in ('dialing', 'in_progress')),
                        (select min(starts_at) from calls
                         where mentor_id = $1 and status = 'scheduled' and request_id <> $2
                           and ends_at > $3)",
            )
            .bind(mentor_id)
            .bind(request_id)
            .bind(now)
            .fetch_one(pool)
            .await
        })?;
        Ok(MentorNow {
            on_call,
            next_booked,
        })
    }

    /// The calls of every mentor that are under way or booked and overlap
    /// `[from, to)`, leaving request `request_id`'s out: what a call-back in that
    /// time shares the provider's concurrent-call limit with.
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn live_calls_overlapping(
        &self,
        request_id: RequestId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Slot>> {
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select starts_at, ends_at from calls
                 where status in ('scheduled', 'dialing', 'in_progress') and request_id <> $1
                   and starts_at < $2 and ends_at > $3",
            )
            .bind(request_id)
            .bind(to)
            .bind(from)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(starts_at, ends_at)| Slot { starts_at, ends_at })
            .collect())
    }

    /// Puts a call-back through, in one transaction: the call with `inbound`
    /// set, `in_progress` from `now` (the seeker is on the line), for the
    /// request and mentor of the missed call. The request's booked call, if any
    /// (a second try, or the matcher's next booking), is canceled: the seeker is
    /// on the line now, and a call minutes later would ring them again. Its
    /// mentor is told with a `canceled` notice unless it was a second try (that
    /// mentor is the one being put through). The request is `scheduled` while
    /// the call-back lasts, so its ending applies to it like any call's.
    ///
    /// Checked again inside the transaction (the mentor's row locked on
    /// PostgreSQL, so two call-backs to one mentor go one at a time): the mentor
    /// is on no call, the request can still be recovered, the missed call is
    /// still its last ended one (one call-back per miss), and its booked call
    /// has not begun. `None` when any of that fails. The same inbound call asked
    /// again (the provider retries webhooks) gets the call it started.
    #[instrument(skip_all, fields(request.id = call_back.request_id.0, call.id = call_back.missed.0))]
    pub async fn start_call_back(
        &self,
        call_back: NewCallBack<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CallId>> {
        let lock_mentor = self.per_backend(LOCK_MENTOR_SQLITE, LOCK_MENTOR_POSTGRES);
        let recoverable =
            format!("select status from requests where id = $1 and status in {RECOVERABLE}");
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let again: Option<CallId> =
                sqlx::query_scalar("select id from calls where provider_call_sid = $1 and inbound")
                    .bind(call_back.provider_call_sid)
                    .fetch_optional(&mut *tx)
                    .await?;
            if again.is_some() {
                return Ok(again);
            }
            sqlx::query(lock_mentor)
                .bind(call_back.mentor_id)
                .execute(&mut *tx)
                .await?;
            let busy: bool = sqlx::query_scalar(
                "select exists (select 1 from calls
                                where mentor_id = $1 and status in ('dialing', 'in_progress'))",
            )
            .bind(call_back.mentor_id)
            .fetch_one(&mut *tx)
            .await?;
            if busy {
                return Ok(None);
            }
            let status: Option<String> = sqlx::query_scalar(&recoverable)
                .bind(call_back.request_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(status) = status else {
                return Ok(None);
            };
            let status = parse_request_status(call_back.request_id, &status)?;
            let last: Option<CallRow> = sqlx::query_as(&last_ended_call_sql())
                .bind(call_back.request_id)
                .fetch_optional(&mut *tx)
                .await?;
            if last
                .map(|row| CallRecord::try_from(row).map(|call| call.id))
                .transpose()?
                != Some(call_back.missed)
            {
                return Ok(None);
            }
            let booked: Option<(CallId, String, Option<CallId>)> = sqlx::query_as(
                "select id, status, retry_of from calls
                 where request_id = $1 and status in ('scheduled', 'dialing', 'in_progress')",
            )
            .bind(call_back.request_id)
            .fetch_optional(&mut *tx)
            .await?;
            let mut replaced = None;
            if let Some((booked_id, booked_status, retry_of)) = booked {
                if booked_status != "scheduled" {
                    return Ok(None);
                }
                sqlx::query(
                    "update calls set status = 'canceled', outcome = 'canceled', ended_at = $1,
                         updated_at = $1
                     where id = $2 and status = 'scheduled'",
                )
                .bind(now)
                .bind(booked_id)
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({ "by": "call_back", "was": booked_status });
                insert_event!(
                    &mut *tx,
                    NewCallEvent::new(booked_id, "canceled", &detail, now)
                )?;
                if retry_of.is_none() {
                    sqlx::query(
                        "insert into notifications
                             (request_id, call_id, recipient, kind, status, next_attempt_at,
                              created_at)
                         values ($1, $2, 'mentor', 'canceled', 'pending', $3, $3)",
                    )
                    .bind(call_back.request_id)
                    .bind(booked_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                replaced = Some(booked_id);
            }
            // A slot of the mentor's starting at this very instant is taken: the
            // unique index says no, and the seeker hears their status instead.
            let call_id: Option<CallId> = sqlx::query_scalar(
                "insert into calls (request_id, mentor_id, starts_at, ends_at, status, inbound,
                     provider_call_sid, heard_at, created_at, updated_at)
                 values ($1, $2, $3, $4, 'in_progress', true, $5, $3, $3, $3)
                 on conflict do nothing
                 returning id",
            )
            .bind(call_back.request_id)
            .bind(call_back.mentor_id)
            .bind(now)
            .bind(call_back.ends_at)
            .bind(call_back.provider_call_sid)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(call_id) = call_id else {
                return Ok(None);
            };
            // After the insert, so the request's `request.updated` webhook event
            // names the call-back as its call.
            if status != RequestStatus::Scheduled {
                sqlx::query(
                    "update requests set status = 'scheduled', updated_at = $1 where id = $2",
                )
                .bind(now)
                .bind(call_back.request_id)
                .execute(&mut *tx)
                .await?;
            }
            let detail = serde_json::json!({
                "call_back_of": call_back.missed,
                "replaced": replaced,
                "request_status_was": status.as_str(),
            });
            insert_event!(
                &mut *tx,
                NewCallEvent::new(call_id, "call_back", &detail, now)
            )?;
            tx.commit().await?;
            Ok(Some(call_id))
        })
    }
}

/// A request's last ended call: the newest by id (a second try or call-back is
/// booked after the call it follows).
fn last_ended_call_sql() -> String {
    format!(
        "select {CALL_COLUMNS} from calls where request_id = $1 and status = 'ended'
         order by id desc limit 1"
    )
}

/// SQLite's write lock, taken by the transaction already, keeps other
/// call-backs out: a harmless read stands in for the lock.
const LOCK_MENTOR_SQLITE: &str = "select id from mentors where id = $1";

/// Locks the mentor's row, so two call-backs to one mentor check and insert one
/// after the other.
const LOCK_MENTOR_POSTGRES: &str = "select id from mentors where id = $1 for update";
