//! What the dispatcher, the reconciler and the provider's callbacks read and
//! write: claiming due calls, recording provider ids, events and callbacks (each
//! callback once), and ending a call with its outcome and the effect on its
//! request. The claims' backend-specific statements are the const pairs at the
//! end.
//!
//! Not here: talking to the provider (the scheduler does, around these calls),
//! and TwiML and its wording (`web::telephony`).
//!
//! Longer than most modules because every step of a call's life (claim, dial,
//! callbacks, reconciliation, the end) writes the same rows under the same
//! fencing, and ending a call is one transaction that also touches the request,
//! the event log, the feedback ask, a second try and the mentor's rest count;
//! splitting them would part statements that must agree. If it grows, the split
//! is by stage: placing a call, and ending one.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use tracing::instrument;

use super::calls::insert_event;
use super::releases::{ReleaseReason, release_scheduled};
use super::requests::parse_request_status;
use super::{BeginWrite, Conflict, NewCallEvent, Store, StoreError, StoreResult, with_pool};
use crate::domain::call_flow::{
    Leg, RequestEffect, request_effect, second_try_slot, status_after_requeue, tries_again,
};
use crate::domain::concurrency::CallCapacity;
use crate::domain::feedback::ask_due_at;
use crate::domain::hours::{CallingHours, SeekerHours};
use crate::domain::rest::{MissCount, RestPolicy, miss_count};
use crate::domain::schedule::{MentorSchedule, Slot};
use crate::domain::status::{CallStatus, Outcome, RequestStatus};
use crate::ids::{CallId, MentorId, RequestId};

/// The event kind recording that the seeker pressed a key at the screen: only
/// then is an answered seeker leg a call.
pub const SCREEN_PASSED: &str = "screen_passed";

/// A call the dispatcher has claimed and is about to place.
#[derive(Clone, Debug)]
pub struct DialTarget {
    /// Call id.
    pub call_id: CallId,
    /// Which claim this is; later writes are fenced with it.
    pub attempt: i32,
    /// Slot start.
    pub starts_at: DateTime<Utc>,
    /// Slot end.
    pub ends_at: DateTime<Utc>,
    /// The mentor's E.164 number.
    pub mentor_phone: String,
    /// When the dial may reach the provider: reserved for this claim so the
    /// cluster keeps to its calls-per-second.
    pub send_at: DateTime<Utc>,
}

/// What one dispatch claim found.
#[derive(Clone, Debug)]
pub enum DueClaim {
    /// A due call, now `dialing` and this claimer's to place.
    Claimed(DialTarget),
    /// No call is due.
    NothingDue,
    /// A call is due, but as many calls as the provider's concurrent-call limit
    /// holds are dialing or in progress: it waits until one ends.
    AtCallLimit,
}

impl DueClaim {
    /// The claimed call, if this claim got one.
    pub fn target(self) -> Option<DialTarget> {
        match self {
            DueClaim::Claimed(target) => Some(target),
            DueClaim::NothingDue | DueClaim::AtCallLimit => None,
        }
    }
}

/// A scheduled call whose time has come.
#[derive(Clone, Copy, Debug)]
pub struct DueCall {
    /// Call id.
    pub call_id: CallId,
    /// Slot start.
    pub starts_at: DateTime<Utc>,
    /// Slot end.
    pub ends_at: DateTime<Utc>,
}

/// A call that was dialed but whose provider id never arrived.
#[derive(Clone, Debug)]
pub struct InDoubtDial {
    /// Call id.
    pub call_id: CallId,
    /// The claim that dialed it.
    pub attempt: i32,
    /// The mentor's E.164 number.
    pub mentor_phone: String,
    /// When the provider was asked.
    pub dialed_at: DateTime<Utc>,
}

/// A placed call the provider has been quiet about, claimed by the reconciler to
/// be looked up at the provider: its callbacks may have gone to an instance that
/// was down, or to another address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuietCall {
    /// Call id.
    pub call_id: CallId,
    /// The mentor leg's provider id.
    pub provider_call_sid: String,
    /// Whether the mentor pressed 1.
    pub accepted: bool,
    /// Whether the seeker pressed a key at the screen.
    pub screen_passed: bool,
    /// Whether it is a call-back: the seeker's inbound call is the parent leg,
    /// the mentor's the dialed one.
    pub inbound: bool,
}

/// Everything the TwiML answers need about one call.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// Call id.
    pub call_id: CallId,
    /// Where the call stands.
    pub status: CallStatus,
    /// How it ended, once it has.
    pub outcome: Option<Outcome>,
    /// Slot end.
    pub ends_at: DateTime<Utc>,
    /// The mentor's display name.
    pub mentor_name: String,
    /// The mentor's zone, for times said to the mentor.
    pub mentor_zone: Tz,
    /// The seeker's display name.
    pub seeker_name: String,
    /// The seeker's E.164 number (dialed, never spoken or shown).
    pub seeker_phone: String,
    /// The mentor's E.164 number (dialed by a call-back, never spoken or shown).
    pub mentor_phone: String,
    /// What the call is about.
    pub topic: String,
    /// Whether the mentor pressed 1.
    pub accepted: bool,
    /// The mentor leg's provider id.
    pub provider_call_sid: Option<String>,
    /// Whether the seeker pressed a key at the screen.
    pub screen_passed: bool,
    /// Whether it is a call-back the seeker placed (the call-back line).
    pub inbound: bool,
    /// Where the call's request stands.
    pub request_status: RequestStatus,
}

/// What a second try in the same commute must keep to besides the mentor's
/// schedule and the seeker's availability: the deployment's calling hours and
/// the provider's concurrent-call limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondTryRules {
    /// Seeker-local hours calls may happen in.
    pub calling_hours: CallingHours,
    /// Most calls under way at once; `None` for no limit.
    pub calls_at_once: Option<usize>,
}

/// What ending a call keeps to: the rules of a second try, and when a mentor
/// who keeps missing calls rests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndCallRules {
    /// What a second try in the same commute keeps to.
    pub second_try: SecondTryRules,
    /// How many mentor-side misses in a row make a mentor rest.
    pub rest: RestPolicy,
}

/// A mentor set resting by the miss that ended a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MentorRested {
    /// The mentor.
    pub mentor_id: MentorId,
    /// Their misses in a row.
    pub misses: u32,
    /// How many of their booked calls were given back to be booked with others.
    pub calls_released: usize,
}

/// What ending a call changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallEnded {
    /// The request the call served.
    pub request_id: RequestId,
    /// The request's status afterwards.
    pub request_status: RequestStatus,
    /// The missed call the ended one was the second try of, if it was one.
    pub retry_of: Option<CallId>,
    /// Whether the ended call was a call-back the seeker placed.
    pub inbound: bool,
    /// The second try booked in the same commute, if the seeker missed this one
    /// and a slot was left.
    pub second_try: Option<SecondTry>,
    /// The mentor, when this miss made them rest.
    pub mentor_rested: Option<MentorRested>,
}

/// A call booked at once in the same commute after a seeker-side miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondTry {
    /// The new call.
    pub call_id: CallId,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
}

/// What a second try is planned from, read before the ending's transaction:
/// the mentor's schedule and the seeker's hours change rarely, and the slot is
/// checked against the bookings inside it (the unique indexes have the last word).
struct RetryFacts {
    mentor_id: MentorId,
    missed: Slot,
    schedule: MentorSchedule,
    seeker: SeekerHours,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: CallId,
    dial_attempts: i32,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    mentor_phone: String,
}

#[derive(sqlx::FromRow)]
struct QuietRow {
    id: CallId,
    provider_call_sid: String,
    accepted_at: Option<DateTime<Utc>>,
    screen_passed: bool,
    inbound: bool,
}

#[derive(sqlx::FromRow)]
struct ContextRow {
    id: CallId,
    request_id: RequestId,
    status: String,
    outcome: Option<String>,
    ends_at: DateTime<Utc>,
    mentor_name: String,
    mentor_timezone: String,
    seeker_name: String,
    seeker_phone: String,
    mentor_phone: String,
    topic: String,
    accepted_at: Option<DateTime<Utc>>,
    provider_call_sid: Option<String>,
    screen_passed: bool,
    inbound: bool,
    request_status: String,
}

const LIVE: &str = "('scheduled', 'dialing', 'in_progress')";

impl Store {
    /// Scheduled calls starting at or before `now` whose retry time, if any, has
    /// come, earliest first.
    #[instrument(skip_all)]
    pub async fn due_calls(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueCall>> {
        let rows: Vec<(CallId, DateTime<Utc>, DateTime<Utc>)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select id, starts_at, ends_at from calls
                 where status = 'scheduled' and starts_at <= $1
                   and (retry_at is null or retry_at <= $1)
                 order by starts_at, id limit $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(call_id, starts_at, ends_at)| DueCall {
                call_id,
                starts_at,
                ends_at,
            })
            .collect())
    }

    /// When the next scheduled call is due: its start, or its retry time.
    #[instrument(skip_all)]
    pub async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let next = with_pool!(self, pool, {
            sqlx::query_scalar(
                "select min(coalesce(retry_at, starts_at)) from calls where status = 'scheduled'",
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(next)
    }

    /// Claims the next due call for dialing: the earliest scheduled call starting
    /// at or before `now` whose retry time, if any, has come becomes `dialing` in
    /// one statement, so two dispatchers never both win one (on PostgreSQL they
    /// skip each other's rows instead of waiting). In the same transaction it
    /// reserves the next send time `spacing` after the previous one (cluster wide;
    /// never before `now`), stored as the call's `dialed_at`, and records the
    /// intent in the event log before any provider request is made.
    ///
    /// The claim is a lease in effect: a claim whose provider id has not arrived
    /// 30 s after its send time is reconciled with the provider (adopted, or failed
    /// and requeued), never dialed again. No heartbeat is needed, since the only
    /// slow step under a claim is one provider request with a 10 s timeout.
    ///
    /// Under a concurrent-call limit (`calls_at_once`), the claim counts the
    /// calls dialing or in progress once it holds the pacing row, which every
    /// claim takes: the count sees every other claim that committed before, and
    /// none can commit during it. At the limit nothing is claimed, and the call
    /// waits for one to end (a call that overran its slot, or one booked before
    /// the limit was lowered).
    #[instrument(skip_all)]
    pub async fn claim_next_due(
        &self,
        now: DateTime<Utc>,
        spacing: TimeDelta,
        calls_at_once: Option<usize>,
    ) -> StoreResult<DueClaim> {
        let claim_sql = self.per_backend(CLAIM_NEXT_DUE_SQLITE, CLAIM_NEXT_DUE_POSTGRES);
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let claimed: Option<ClaimRow> = sqlx::query_as(claim_sql)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(ClaimRow {
                id: call_id,
                dial_attempts: attempt,
                starts_at,
                ends_at,
                mentor_phone,
            }) = claimed
            else {
                return Ok(DueClaim::NothingDue);
            };
            // Every claim writes the pacing row, which serialises them: the no-op
            // update takes its row lock on PostgreSQL (SQLite's write lock is held
            // already), so two instances never reserve the same send time.
            sqlx::query(
                "insert into dial_pacing (id, next_at, created_at) values (1, $1, $1)
                 on conflict (id) do nothing",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let next_at: DateTime<Utc> = sqlx::query_scalar(
                "update dial_pacing set next_at = next_at where id = 1 returning next_at",
            )
            .fetch_one(&mut *tx)
            .await?;
            if let Some(at_once) = calls_at_once {
                let live: i64 = sqlx::query_scalar(
                    "select count(*) from calls
                     where status in ('dialing', 'in_progress') and id <> $1",
                )
                .bind(call_id)
                .fetch_one(&mut *tx)
                .await?;
                if usize::try_from(live).unwrap_or(usize::MAX) >= at_once {
                    tx.rollback().await?;
                    return Ok(DueClaim::AtCallLimit);
                }
            }
            let send_at = reserve_send_time(next_at, now, spacing);
            sqlx::query("update dial_pacing set next_at = $1 where id = 1")
                .bind(send_at + spacing)
                .execute(&mut *tx)
                .await?;
            sqlx::query("update calls set dialed_at = $1 where id = $2")
                .bind(send_at)
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({ "attempt": attempt, "send_at": send_at });
            insert_event!(
                &mut *tx,
                NewCallEvent::new(call_id, "dialing", &detail, now)
            )?;
            tx.commit().await?;
            Ok(DueClaim::Claimed(DialTarget {
                call_id,
                attempt,
                starts_at,
                ends_at,
                mentor_phone,
                send_at,
            }))
        })
    }

    /// Stores the provider's id for the mentor leg of claim `attempt` and logs the
    /// dial. A callback may have brought the same id first (the provider can call
    /// back before its answer to the create request arrives); the dial is still
    /// logged then.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn record_dialed(
        &self,
        call_id: CallId,
        attempt: i32,
        provider_sid: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query(
                "update calls set provider_call_sid = $1, updated_at = $2
                 where id = $3 and dial_attempts = $4
                     and (provider_call_sid is null or provider_call_sid = $1)",
            )
            .bind(provider_sid)
            .bind(now)
            .bind(call_id)
            .bind(attempt)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::conflict_as(Conflict::ProviderCallSid))?
            .rows_affected();
            if updated > 0 {
                let detail = serde_json::json!({ "call_sid": provider_sid });
                insert_event!(&mut *tx, NewCallEvent::new(call_id, "dialed", &detail, now))?;
            }
            tx.commit().await?;
            Ok(updated > 0)
        })
    }

    /// Puts claim `attempt` of call `call_id` back to `scheduled`, to be dialed
    /// again at `retry_at`: the provider took nothing (it was down, unreachable or
    /// rate limiting us). Does nothing if the claim was superseded or the call got
    /// a provider id meanwhile. Logs a `dial_retry` event with `detail`.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn retry_dial(
        &self,
        call_id: CallId,
        attempt: i32,
        retry_at: DateTime<Utc>,
        detail: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let released = sqlx::query(
                "update calls set status = 'scheduled', retry_at = $1, updated_at = $2
                 where id = $3 and dial_attempts = $4 and status = 'dialing'
                     and provider_call_sid is null",
            )
            .bind(retry_at)
            .bind(now)
            .bind(call_id)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if released > 0 {
                insert_event!(
                    &mut *tx,
                    NewCallEvent::new(call_id, "dial_retry", detail, now)
                )?;
            }
            tx.commit().await?;
            Ok(released > 0)
        })
    }

    /// Takes the provider id a callback brought, when the dispatcher has not stored
    /// one yet (the callback can be faster than the provider's answer).
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn adopt_provider_sid(
        &self,
        call_id: CallId,
        provider_sid: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update calls set provider_call_sid = $1, updated_at = $2
                 where id = $3 and provider_call_sid is null",
            )
            .bind(provider_sid)
            .bind(now)
            .bind(call_id)
            .execute(pool)
            .await
            .map(drop)
        })
        .map_err(StoreError::conflict_as(Conflict::ProviderCallSid))?;
        Ok(())
    }

    /// Dialed calls still without a provider id whose request went out before `before`.
    #[instrument(skip_all)]
    pub async fn dials_in_doubt(&self, before: DateTime<Utc>) -> StoreResult<Vec<InDoubtDial>> {
        let rows: Vec<(CallId, i32, String, DateTime<Utc>)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select c.id, c.dial_attempts, m.phone, c.dialed_at from calls c
                 join mentors m on m.id = c.mentor_id
                 where c.status = 'dialing' and c.provider_call_sid is null and c.dialed_at < $1
                 order by c.id",
            )
            .bind(before)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(call_id, attempt, mentor_phone, dialed_at)| InDoubtDial {
                call_id,
                attempt,
                mentor_phone,
                dialed_at,
            })
            .collect())
    }

    /// Claims up to `limit` placed calls still in flight (`dialing` or
    /// `in_progress`, with a provider id) that the provider was last heard about
    /// before `quiet_since`, and marks them heard at `now`: the check the
    /// reconciler is about to make counts as hearing, so for the next minute no
    /// instance claims them again, and a check that fails is tried again then. On
    /// PostgreSQL claimers skip each other's rows and the outer statement checks
    /// the conditions again, so two instances never claim one call at once.
    #[instrument(skip_all)]
    pub async fn claim_quiet_calls(
        &self,
        quiet_since: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QuietCall>> {
        let claim_sql = self.per_backend(CLAIM_QUIET_CALLS_SQLITE, CLAIM_QUIET_CALLS_POSTGRES);
        let rows: Vec<QuietRow> = with_pool!(self, pool, {
            sqlx::query_as(claim_sql)
                .bind(now)
                .bind(quiet_since)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        let mut calls: Vec<QuietCall> = rows
            .into_iter()
            .map(|row| QuietCall {
                call_id: row.id,
                provider_call_sid: row.provider_call_sid,
                accepted: row.accepted_at.is_some(),
                screen_passed: row.screen_passed,
                inbound: row.inbound,
            })
            .collect();
        calls.sort_by_key(|call| call.call_id);
        Ok(calls)
    }

    /// The call and the people on it, for building TwiML.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn call_context(&self, call_id: CallId) -> StoreResult<Option<CallContext>> {
        let row: Option<ContextRow> = with_pool!(self, pool, {
            sqlx::query_as(
                "select c.id, c.request_id, c.status, c.outcome, c.ends_at, m.name as mentor_name,
                        m.timezone as mentor_timezone, r.name as seeker_name,
                        r.phone as seeker_phone, m.phone as mentor_phone, r.topic, c.accepted_at, c.provider_call_sid, c.inbound,
                        r.status as request_status,
                        exists (select 1 from call_events e
                                where e.call_id = c.id and e.kind = 'screen_passed')
                            as screen_passed
                 from calls c
                 join mentors m on m.id = c.mentor_id
                 join requests r on r.id = c.request_id
                 where c.id = $1",
            )
            .bind(call_id)
            .fetch_optional(pool)
            .await
        })?;
        row.map(|row| {
            Ok(CallContext {
                call_id: row.id,
                status: row
                    .status
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("call {}: status", row.id)))?,
                outcome: row
                    .outcome
                    .map(|outcome| outcome.parse())
                    .transpose()
                    .map_err(|_| StoreError::Corrupt(format!("call {}: outcome", row.id)))?,
                ends_at: row.ends_at,
                mentor_zone: row
                    .mentor_timezone
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("call {}: mentor zone", row.id)))?,
                mentor_name: row.mentor_name,
                seeker_name: row.seeker_name,
                seeker_phone: row.seeker_phone,
                mentor_phone: row.mentor_phone,
                topic: row.topic,
                accepted: row.accepted_at.is_some(),
                provider_call_sid: row.provider_call_sid,
                screen_passed: row.screen_passed,
                inbound: row.inbound,
                request_status: parse_request_status(row.request_id, &row.request_status)?,
            })
        })
        .transpose()
    }

    /// Appends `event` to its call's log; a callback named by a provider id and
    /// sequence number is recorded at most once, and `false` says it was a
    /// duplicate.
    #[instrument(skip_all, fields(call.id = event.call_id.0, event.kind = event.kind))]
    pub async fn record_event(&self, event: NewCallEvent<'_>) -> StoreResult<bool> {
        let inserted = with_pool!(self, pool, { insert_event!(pool, event) })?;
        Ok(inserted)
    }

    /// Appends what the provider sent about a call (a status callback or a
    /// webhook) to its event log, and notes that the provider was heard from at
    /// `event.at`, so the reconciler leaves a call that is talking to us alone. A
    /// callback named by a provider id and sequence number is recorded at most
    /// once, and `false` says it was a duplicate.
    #[instrument(skip_all, fields(call.id = event.call_id.0, event.kind = event.kind))]
    pub async fn record_callback(&self, event: NewCallEvent<'_>) -> StoreResult<bool> {
        let sql = format!("update calls set heard_at = $1 where id = $2 and status in {LIVE}");
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            sqlx::query(&sql)
                .bind(event.at)
                .bind(event.call_id)
                .execute(&mut *tx)
                .await?;
            let inserted = insert_event!(&mut *tx, event)?;
            tx.commit().await?;
            Ok(inserted)
        })
    }

    /// Moves a dialing call to `in_progress` (the mentor answered); later states
    /// are left alone.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn mark_answered(&self, call_id: CallId, now: DateTime<Utc>) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update calls set status = 'in_progress', updated_at = $1
                 where id = $2 and status = 'dialing'",
            )
            .bind(now)
            .bind(call_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Records that the mentor pressed 1.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn mark_accepted(&self, call_id: CallId, now: DateTime<Utc>) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update calls set accepted_at = coalesce(accepted_at, $1), updated_at = $1,
                     status = case when status = 'dialing' then 'in_progress' else status end
                 where id = $2",
            )
            .bind(now)
            .bind(call_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Remembers the seeker leg's provider id and, once known, its duration as the
    /// talk time of a completed call that has none yet.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn record_seeker_leg(
        &self,
        call_id: CallId,
        seeker_sid: &str,
        talk_seconds: Option<u32>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update calls set seeker_call_sid = coalesce(seeker_call_sid, $1), updated_at = $2,
                     talk_seconds = case when outcome = 'completed' and talk_seconds is null
                                         then $3 else talk_seconds end
                 where id = $4",
            )
            .bind(seeker_sid)
            .bind(now)
            .bind(talk_seconds.map(|seconds| seconds as i32))
            .bind(call_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Ends a live call with `outcome` about `leg`, and applies the outcome to its
    /// request in the same transaction: completed, requeued (a seeker-side miss
    /// counts; the third makes it unreachable) or left alone. A call that already
    /// ended is not touched again: `None`. A completed call queues the feedback
    /// question to its seeker, due at once or when calling hours open.
    ///
    /// After a seeker who did not pick up or was busy, with attempts left, the
    /// request is booked at once into the next free slot of the same window
    /// occurrence that starts [`SECOND_TRY_GAP`](crate::domain::call_flow::SECOND_TRY_GAP)
    /// after `now` and that `rules` and the seeker's availability allow:
    /// the new call records `retry_of`, the seeker gets a `moved` notice, all in
    /// the same transaction. Only the instance whose update ended the call gets
    /// here (on PostgreSQL a second one waits for the row, then finds it ended),
    /// and a unique index allows one second try per call besides.
    #[instrument(skip_all, fields(call.id = call_id.0, call.outcome = %outcome))]
    pub async fn end_call(
        &self,
        call_id: CallId,
        outcome: Outcome,
        leg: Leg,
        talk_seconds: Option<u32>,
        rules: EndCallRules,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CallEnded>> {
        let second_try_rules = rules.second_try;
        let final_status = if outcome == Outcome::Canceled {
            CallStatus::Canceled
        } else {
            CallStatus::Ended
        };
        let facts = if tries_again(outcome) {
            self.retry_facts(call_id, second_try_rules.calling_hours)
                .await?
        } else {
            None
        };
        let sql = format!(
            "update calls
             set status = $1, outcome = $2, talk_seconds = $3, ended_at = $4, updated_at = $4
             where id = $5 and status in {LIVE}
             returning request_id, retry_of, mentor_id, inbound"
        );
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let ended: Option<(RequestId, Option<CallId>, MentorId, bool)> = sqlx::query_as(&sql)
                .bind(final_status.as_str())
                .bind(outcome.as_str())
                .bind(talk_seconds.map(|seconds| seconds as i32))
                .bind(now)
                .bind(call_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((request_id, retry_of, mentor_id, inbound)) = ended else {
                return Ok(None);
            };
            let (status, attempts, seeker_zone): (String, i32, String) =
                sqlx::query_as("select status, attempts, timezone from requests where id = $1")
                    .bind(request_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let mut request_status = parse_request_status(request_id, &status)?;
            if request_status == RequestStatus::Scheduled {
                let (next, attempts) = match request_effect(outcome, leg) {
                    RequestEffect::Complete => (RequestStatus::Completed, attempts),
                    RequestEffect::Requeue { counts } => {
                        let attempts = attempts + i32::from(counts);
                        (status_after_requeue(attempts.max(0) as u32), attempts)
                    }
                    RequestEffect::Keep => (RequestStatus::Scheduled, attempts),
                };
                sqlx::query(
                    "update requests set status = $1, attempts = $2, updated_at = $3 where id = $4",
                )
                .bind(next.as_str())
                .bind(attempts)
                .bind(now)
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
                request_status = next;
            }
            let detail = serde_json::json!({
                "outcome": outcome.as_str(),
                "leg": leg.as_str(),
                "talk_seconds": talk_seconds,
                "request_status": request_status.as_str(),
            });
            insert_event!(&mut *tx, NewCallEvent::new(call_id, "ended", &detail, now))?;
            if outcome == Outcome::Completed {
                let zone: Tz = seeker_zone
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("request {request_id}: zone")))?;
                // The seeker is asked how much it helped, once per call (the
                // unique index `notifications_one_feedback_per_call`).
                sqlx::query(
                    "insert into notifications (request_id, call_id, recipient, kind, status,
                         next_attempt_at, created_at)
                     values ($1, $2, 'seeker', 'feedback', 'pending', $3, $4)
                     on conflict do nothing",
                )
                .bind(request_id)
                .bind(call_id)
                .bind(ask_due_at(now, zone, rules.second_try.calling_hours))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let mut second_try = None;
            if let Some(facts) = facts.filter(|_| request_status == RequestStatus::Pending) {
                let booked: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                    "select starts_at, ends_at from calls
                     where mentor_id = $1 and (status <> 'canceled' or released_by = 'mentor')
                       and starts_at < $2 and ends_at > $3",
                )
                .bind(facts.mentor_id)
                .bind(facts.missed.ends_at + TimeDelta::days(2))
                .bind(facts.missed.starts_at - TimeDelta::days(2))
                .fetch_all(&mut *tx)
                .await?;
                let booked: Vec<Slot> = booked
                    .into_iter()
                    .map(|(starts_at, ends_at)| Slot { starts_at, ends_at })
                    .collect();
                // Under the provider's limit every mentor's calls count.
                let capacity = match second_try_rules.calls_at_once {
                    Some(at_once) => {
                        let everyone: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                            "select starts_at, ends_at from calls
                             where status <> 'canceled' and starts_at < $1 and ends_at > $2",
                        )
                        .bind(facts.missed.ends_at + TimeDelta::days(2))
                        .bind(facts.missed.starts_at - TimeDelta::days(2))
                        .fetch_all(&mut *tx)
                        .await?;
                        let mut capacity = CallCapacity::new(at_once);
                        for (starts_at, ends_at) in everyone {
                            capacity.add(Slot { starts_at, ends_at });
                        }
                        Some(capacity)
                    }
                    None => None,
                };
                let slot = second_try_slot(
                    &facts.schedule,
                    facts.missed,
                    &booked,
                    capacity.as_ref(),
                    &facts.seeker,
                    now,
                );
                if let Some(slot) = slot {
                    // A slot the matcher took meanwhile, or a second try booked
                    // already, is skipped by the unique indexes; a mentor who
                    // began resting meanwhile (another call's miss) gets none.
                    let new_call: Option<CallId> = sqlx::query_scalar(
                        "insert into calls (request_id, mentor_id, starts_at, ends_at, status,
                            retry_of, created_at, updated_at)
                         select $1, $2, $3, $4, 'scheduled', $5, $6, $6
                         from mentors where id = $2 and resting_since is null
                         on conflict do nothing
                         returning id",
                    )
                    .bind(request_id)
                    .bind(facts.mentor_id)
                    .bind(slot.starts_at)
                    .bind(slot.ends_at)
                    .bind(call_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(new_call) = new_call {
                        sqlx::query(
                            "update requests set status = 'scheduled', updated_at = $1
                             where id = $2",
                        )
                        .bind(now)
                        .bind(request_id)
                        .execute(&mut *tx)
                        .await?;
                        let booked = serde_json::json!({ "retry_of": call_id });
                        insert_event!(
                            &mut *tx,
                            NewCallEvent::new(new_call, "booked", &booked, now)
                        )?;
                        let retry = serde_json::json!({
                            "call_id": new_call,
                            "starts_at": slot.starts_at,
                        });
                        insert_event!(
                            &mut *tx,
                            NewCallEvent::new(call_id, "second_try_booked", &retry, now)
                        )?;
                        // The seeker reads the new time; the mentor heard it on the call.
                        sqlx::query(
                            "insert into notifications (request_id, call_id, recipient, kind,
                                status, next_attempt_at, created_at)
                             values ($1, $2, 'seeker', 'moved', 'pending', $3, $3)",
                        )
                        .bind(request_id)
                        .bind(new_call)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        request_status = RequestStatus::Scheduled;
                        second_try = Some(SecondTry {
                            call_id: new_call,
                            starts_at: slot.starts_at,
                        });
                    }
                }
            }
            // The mentor's misses in a row: an update of their row, which waits
            // for another instance's, so two calls ended at once both count.
            let mut mentor_rested = None;
            match miss_count(outcome) {
                MissCount::Keep => {}
                MissCount::Reset => {
                    sqlx::query(
                        "update mentors set consecutive_misses = 0
                         where id = $1 and consecutive_misses <> 0",
                    )
                    .bind(mentor_id)
                    .execute(&mut *tx)
                    .await?;
                }
                MissCount::Add => {
                    let (misses, resting_since): (i32, Option<DateTime<Utc>>) = sqlx::query_as(
                        "update mentors set consecutive_misses = consecutive_misses + 1
                         where id = $1 returning consecutive_misses, resting_since",
                    )
                    .bind(mentor_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let misses = u32::try_from(misses).unwrap_or(0);
                    if resting_since.is_none() && rules.rest.rests_after(misses) {
                        sqlx::query("update mentors set resting_since = $1 where id = $2")
                            .bind(now)
                            .bind(mentor_id)
                            .execute(&mut *tx)
                            .await?;
                        let detail = serde_json::json!({ "misses_in_a_row": misses });
                        insert_event!(
                            &mut *tx,
                            NewCallEvent::new(call_id, "mentor_resting", &detail, now)
                        )?;
                        // Their booked calls go to others, as when they give one back.
                        let booked: Vec<(CallId, RequestId)> = sqlx::query_as(
                            "select id, request_id from calls
                             where mentor_id = $1 and status = 'scheduled'
                             order by starts_at, id",
                        )
                        .bind(mentor_id)
                        .fetch_all(&mut *tx)
                        .await?;
                        let mut calls_released = 0;
                        for (booked_id, booked_request) in booked {
                            let released = release_scheduled!(
                                tx,
                                booked_id,
                                booked_request,
                                None,
                                ReleaseReason::Resting,
                                now
                            )?;
                            calls_released += usize::from(released);
                        }
                        // One text tells them, about the miss that did it.
                        sqlx::query(
                            "insert into notifications (request_id, call_id, recipient, kind,
                                status, next_attempt_at, created_at)
                             values ($1, $2, 'mentor', 'resting', 'pending', $3, $3)",
                        )
                        .bind(request_id)
                        .bind(call_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        mentor_rested = Some(MentorRested {
                            mentor_id,
                            misses,
                            calls_released,
                        });
                    }
                }
            }
            tx.commit().await?;
            Ok(Some(CallEnded {
                request_id,
                request_status,
                retry_of,
                inbound,
                second_try,
                mentor_rested,
            }))
        })
    }

    /// What a second try at call `call_id` is planned from: its slot, its
    /// mentor's schedule and its seeker's hours. `None` for an unknown call.
    async fn retry_facts(
        &self,
        call_id: CallId,
        calling_hours: CallingHours,
    ) -> StoreResult<Option<RetryFacts>> {
        let call: Option<(RequestId, MentorId, DateTime<Utc>, DateTime<Utc>)> =
            with_pool!(self, pool, {
                sqlx::query_as(
                    "select request_id, mentor_id, starts_at, ends_at from calls where id = $1",
                )
                .bind(call_id)
                .fetch_optional(pool)
                .await
            })?;
        let Some((request_id, mentor_id, starts_at, ends_at)) = call else {
            return Ok(None);
        };
        let (Some(mentor), Some(request)) = (
            self.mentor(mentor_id).await?,
            self.request(request_id).await?,
        ) else {
            return Ok(None);
        };
        let windows = self.windows(mentor_id).await?;
        let pauses = self.pauses(mentor_id).await?;
        Ok(Some(RetryFacts {
            mentor_id,
            missed: Slot { starts_at, ends_at },
            schedule: mentor.schedule(&windows, &pauses),
            seeker: SeekerHours::new(request.timezone, request.availability, calling_hours),
        }))
    }

    /// The second try booked after call `call_id` was missed, if any.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn second_try_of(&self, call_id: CallId) -> StoreResult<Option<SecondTry>> {
        let row: Option<(CallId, DateTime<Utc>)> = with_pool!(self, pool, {
            sqlx::query_as("select id, starts_at from calls where retry_of = $1")
                .bind(call_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|(call_id, starts_at)| SecondTry { call_id, starts_at }))
    }
}

/// The send time a claim at `now` gets when the next free one is `next_at`: that,
/// but never in the past, and never more than [`PACING_HORIZON`] ahead (a stored
/// time that far out is stale: a clock was set back).
pub fn reserve_send_time(
    next_at: DateTime<Utc>,
    now: DateTime<Utc>,
    spacing: TimeDelta,
) -> DateTime<Utc> {
    if next_at > now + PACING_HORIZON.max(spacing) {
        now
    } else {
        next_at.max(now)
    }
}

/// How far ahead send times may be reserved.
pub const PACING_HORIZON: TimeDelta = TimeDelta::minutes(15);

/// Claims the earliest due call on SQLite, whose write lock (held by the claim's
/// `BEGIN IMMEDIATE`) already keeps other claims out.
const CLAIM_NEXT_DUE_SQLITE: &str = "update calls set status = 'dialing',
        dial_attempts = dial_attempts + 1, dialed_at = $1, updated_at = $1
    where status = 'scheduled' and id = (
        select id from calls
        where status = 'scheduled' and starts_at <= $1 and (retry_at is null or retry_at <= $1)
        order by starts_at, id limit 1)
    returning id, dial_attempts, starts_at, ends_at,
        (select phone from mentors where mentors.id = calls.mentor_id) as mentor_phone";

/// Claims the earliest due call on PostgreSQL, skipping rows another instance's
/// claim has locked rather than waiting for it. The select runs once (a scalar
/// subquery) and locks the call it picks; the update repeats every due condition,
/// so a call changed since the statement began (claimed, moved or given a later
/// retry time, and committed) is never claimed on what the statement saw first.
const CLAIM_NEXT_DUE_POSTGRES: &str = "update calls set status = 'dialing',
        dial_attempts = dial_attempts + 1, dialed_at = $1, updated_at = $1
    where id = (
        select id from calls
        where status = 'scheduled' and starts_at <= $1 and (retry_at is null or retry_at <= $1)
        order by starts_at, id limit 1
        for update skip locked)
      and status = 'scheduled' and starts_at <= $1 and (retry_at is null or retry_at <= $1)
    returning id, dial_attempts, starts_at, ends_at,
        (select phone from mentors where mentors.id = calls.mentor_id) as mentor_phone";

/// Claims quiet calls in flight on SQLite, whose single writer keeps other
/// claims out for the length of the statement.
const CLAIM_QUIET_CALLS_SQLITE: &str = "update calls set heard_at = $1
    where id in (
        select id from calls
        where status in ('dialing', 'in_progress') and provider_call_sid is not null
            and coalesce(heard_at, dialed_at, starts_at) < $2
        order by id limit $3)
    returning id, provider_call_sid, accepted_at,
        exists (select 1 from call_events e
                where e.call_id = calls.id and e.kind = 'screen_passed') as screen_passed,
        inbound";

/// Claims quiet calls in flight on PostgreSQL: rows another claim holds are
/// skipped, and the update checks the conditions again, since a row found by
/// the select may have been claimed or settled meanwhile. The select is a
/// materialized `with` query so it runs (and locks) once, as the notice claim's.
const CLAIM_QUIET_CALLS_POSTGRES: &str = "with quiet as materialized (
        select id from calls
        where status in ('dialing', 'in_progress') and provider_call_sid is not null
            and coalesce(heard_at, dialed_at, starts_at) < $2
        order by id limit $3
        for update skip locked)
    update calls set heard_at = $1
    where id in (select id from quiet)
        and status in ('dialing', 'in_progress') and provider_call_sid is not null
        and coalesce(heard_at, dialed_at, starts_at) < $2
    returning id, provider_call_sid, accepted_at,
        exists (select 1 from call_events e
                where e.call_id = calls.id and e.kind = 'screen_passed') as screen_passed,
        inbound";

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn send_times_follow_the_last_one_and_never_lie_in_the_past() {
        let now = at("2026-12-01T15:00:00Z");
        let spacing = TimeDelta::milliseconds(20);
        assert_eq!(
            reserve_send_time(now + spacing, now, spacing),
            now + spacing
        );
        assert_eq!(
            reserve_send_time(now - TimeDelta::hours(1), now, spacing),
            now
        );
        let backlog = now + TimeDelta::minutes(10);
        assert_eq!(reserve_send_time(backlog, now, spacing), backlog);
    }

    #[test]
    fn a_send_time_beyond_the_horizon_is_stale_and_restarts_from_now() {
        let now = at("2026-12-01T15:00:00Z");
        let stale = now + PACING_HORIZON + TimeDelta::seconds(1);
        assert_eq!(reserve_send_time(stale, now, TimeDelta::seconds(1)), now);
    }
}
