//! Booked calls a mentor gives back: one call they cannot make ("can't make
//! it"), every call on the dates of a pause they add, or every call they have
//! when they start resting after repeated misses (`telephony`'s `end_call`
//! expands [`release_scheduled`] for that). The call is canceled
//! and its request goes back to `pending`, with no attempt counted, in the same
//! transaction, so the matcher books it again.
//!
//! Only a `scheduled` call can be given back, and the update that cancels it says
//! so itself: a call the dispatcher claimed (`dialing`) between the read and the
//! write is left alone. On PostgreSQL the update waits for a claim that holds the
//! row and then finds it no longer scheduled; a claim that comes after skips the
//! canceled row (`for update skip locked`, the status checked again).
//!
//! The seeker's "finding you a new time" text is queued a minute ahead
//! ([`RELEASE_NOTICE_DELAY`]); a booking within it drops it. Not here: the
//! seeker's text about the new time, which the matcher's booking queues
//! (`moved`, see `calls`).

use chrono::{DateTime, TimeDelta, Utc};
use tracing::instrument;

use super::mentors::{PAUSE_COLUMNS, PauseRow, WINDOW_COLUMNS, WindowRow};
use super::{BeginWrite, PauseRecord, Store, StoreError, StoreResult, WindowRecord, with_pool};
use crate::domain::pause::Pause;
use crate::domain::schedule::Slot;
use crate::domain::status::CallStatus;
use crate::ids::{CallId, MentorId, RequestId};

/// How long after a call is given back the seeker's "finding you a new time"
/// text waits: a rebooking within it (the matcher runs at once) drops the text,
/// and the seeker hears only the new time.
pub const RELEASE_NOTICE_DELAY: TimeDelta = TimeDelta::minutes(1);

/// Why a booked call was given back, as its event log says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseReason {
    /// Its mentor (or the operator for them) said they cannot make it: the
    /// request is rebooked with another mentor where one has a slot.
    Canceled,
    /// Its mentor added a pause over its date.
    Paused,
    /// Its mentor missed too many calls in a row and rests (see
    /// `domain::rest`): they take no calls until they are back.
    Resting,
}

impl ReleaseReason {
    /// The `by` of the call's `canceled` event.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ReleaseReason::Canceled => "mentor_canceled",
            ReleaseReason::Paused => "mentor_paused",
            ReleaseReason::Resting => "mentor_resting",
        }
    }

    /// The call's `released_by`: a call its mentor cannot make keeps holding
    /// that time on their calendar.
    pub(super) fn released_by(self) -> &'static str {
        match self {
            ReleaseReason::Canceled => "mentor",
            ReleaseReason::Paused => "pause",
            ReleaseReason::Resting => "rest",
        }
    }
}

/// What giving back one booked call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// The call is canceled and its request is pending again.
    Released {
        /// The request, to be booked again.
        request_id: RequestId,
    },
    /// It was canceled before; nothing changed.
    AlreadyCanceled,
    /// It is dialing, in progress or over: too late to give back.
    TooLate(CallStatus),
    /// No such call, or not this mentor's.
    NotFound,
}

/// Gives back call `$call_id` of request `$request_id` in `$executor` (a write
/// transaction) at `$now`, for `$reason`, if it is still `scheduled`:
/// `Ok(true)` when it was. The call becomes `canceled` with its event; the
/// request goes back to `pending` (its attempts untouched), avoiding `$avoid`
/// (an `Option<MentorId>`; `None` keeps what it avoided before); the seeker's
/// "finding you a new time" text is queued [`RELEASE_NOTICE_DELAY`] ahead. A
/// macro so it expands in each arm of `with_pool!`.
macro_rules! release_scheduled {
    ($executor:expr, $call_id:expr, $request_id:expr, $avoid:expr, $reason:expr, $now:expr) => {
        async {
            let (call_id, request_id, now): (
                $crate::ids::CallId,
                $crate::ids::RequestId,
                chrono::DateTime<chrono::Utc>,
            ) = ($call_id, $request_id, $now);
            let avoid: Option<$crate::ids::MentorId> = $avoid;
            let reason: $crate::store::releases::ReleaseReason = $reason;
            let canceled = sqlx::query(
                "update calls set status = 'canceled', outcome = $1, ended_at = $2, updated_at = $2,
                     released_by = $4
                 where id = $3 and status = 'scheduled'",
            )
            .bind($crate::domain::status::Outcome::Canceled.as_str())
            .bind(now)
            .bind(call_id)
            .bind(reason.released_by())
            .execute(&mut *$executor)
            .await?
            .rows_affected();
            if canceled == 0 {
                return Ok::<bool, sqlx::Error>(false);
            }
            let detail = serde_json::json!({ "by": reason.as_str(), "was": "scheduled" });
            $crate::store::calls::insert_event!(
                &mut *$executor,
                $crate::store::NewCallEvent::new(call_id, "canceled", &detail, now)
            )?;
            sqlx::query(
                "update requests set status = 'pending',
                     avoid_mentor_id = coalesce($1, avoid_mentor_id), updated_at = $2
                 where id = $3 and status = 'scheduled'",
            )
            .bind(avoid)
            .bind(now)
            .bind(request_id)
            .execute(&mut *$executor)
            .await?;
            sqlx::query(
                "insert into notifications
                     (request_id, call_id, recipient, kind, status, next_attempt_at, created_at)
                 values ($1, $2, 'seeker', 'canceled', 'pending', $3, $4)",
            )
            .bind(request_id)
            .bind(call_id)
            .bind(now + $crate::store::releases::RELEASE_NOTICE_DELAY)
            .bind(now)
            .execute(&mut *$executor)
            .await?;
            Ok(true)
        }
        .await
    };
}
pub(super) use release_scheduled;

impl Store {
    /// Gives back call `call_id` because its mentor cannot make it: when it is
    /// still `scheduled` (and, with `mentor`, that mentor's), it is canceled and
    /// its request is pending again, rebooked with another mentor where one has a
    /// slot. All in one transaction.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn release_call(
        &self,
        call_id: CallId,
        mentor: Option<MentorId>,
        now: DateTime<Utc>,
    ) -> StoreResult<ReleaseOutcome> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let row: Option<(RequestId, MentorId, String)> =
                sqlx::query_as("select request_id, mentor_id, status from calls where id = $1")
                    .bind(call_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((request_id, mentor_id, status)) = row else {
                return Ok(ReleaseOutcome::NotFound);
            };
            if mentor.is_some_and(|mentor| mentor != mentor_id) {
                return Ok(ReleaseOutcome::NotFound);
            }
            let released = release_scheduled!(
                tx,
                call_id,
                request_id,
                Some(mentor_id),
                ReleaseReason::Canceled,
                now
            )?;
            if released {
                tx.commit().await?;
                return Ok(ReleaseOutcome::Released { request_id });
            }
            // Not scheduled: as read, or as the update found it (a dispatcher's
            // claim got there first).
            let status: String = sqlx::query_scalar("select status from calls where id = $1")
                .bind(call_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(status);
            Ok(match parse_call_status(call_id, &status)? {
                CallStatus::Canceled => ReleaseOutcome::AlreadyCanceled,
                other => ReleaseOutcome::TooLate(other),
            })
        })
    }

    /// Adds `pause` to mentor `mentor_id` and, in the same transaction, gives
    /// back every `scheduled` call of theirs the pause takes away
    /// ([`Pause::takes_call`]); returns the pause and the requests to book again.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn insert_pause_releasing(
        &self,
        mentor_id: MentorId,
        pause: &Pause,
        now: DateTime<Utc>,
    ) -> StoreResult<(PauseRecord, Vec<RequestId>)> {
        let insert_pause_sql = format!(
            "insert into pauses (mentor_id, first_day, last_day, created_at)
             values ($1, $2, $3, $4) returning {PAUSE_COLUMNS}"
        );
        let windows_sql =
            format!("select {WINDOW_COLUMNS} from commute_windows where mentor_id = $1");
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let inserted: PauseRow = sqlx::query_as(&insert_pause_sql)
                .bind(mentor_id)
                .bind(pause.first_day())
                .bind(pause.last_day())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let zone: String = sqlx::query_scalar("select timezone from mentors where id = $1")
                .bind(mentor_id)
                .fetch_one(&mut *tx)
                .await?;
            let windows: Vec<WindowRow> = sqlx::query_as(&windows_sql)
                .bind(mentor_id)
                .fetch_all(&mut *tx)
                .await?;
            let calls: Vec<(CallId, RequestId, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "select id, request_id, starts_at, ends_at from calls
                 where mentor_id = $1 and status = 'scheduled' order by starts_at, id",
            )
            .bind(mentor_id)
            .fetch_all(&mut *tx)
            .await?;
            let zone = zone
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("mentor {mentor_id}: zone")))?;
            let windows = windows
                .into_iter()
                .map(|row| WindowRecord::try_from(row).map(|window| window.range))
                .collect::<StoreResult<Vec<_>>>()?;
            let mut released = Vec::new();
            for (call_id, request_id, starts_at, ends_at) in calls {
                let slot = Slot { starts_at, ends_at };
                if !pause.takes_call(slot, zone, &windows) {
                    continue;
                }
                let done =
                    release_scheduled!(tx, call_id, request_id, None, ReleaseReason::Paused, now)?;
                if done {
                    released.push(request_id);
                }
            }
            tx.commit().await?;
            Ok((inserted.try_into()?, released))
        })
    }
}

/// A stored call status.
fn parse_call_status(id: CallId, status: &str) -> StoreResult<CallStatus> {
    status
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("call {id}: status")))
}
