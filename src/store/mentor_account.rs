//! What a mentor's own pages need: sign-in codes sent by SMS, the calendar feed's
//! secret link, call settings, and the mentor's calls with what the seeker asked.
//!
//! Codes and calendar tokens are stored only as hashes. The seeker's phone number
//! is never read here: a mentor's pages must not be able to show it.
//!
//! Not here: the mentor's record, windows and pauses (`mentors`), browser
//! sessions (`sessions`), and sending the code (the caller texts it).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::calls::CallRow;
use super::{BeginWrite, CallRecord, Conflict, Store, StoreError, StoreResult, with_pool};
use crate::domain::phone::PhoneNumber;
use crate::domain::text::first_name;
use crate::ids::MentorId;

/// A sign-in code to store: who it is for, its hash, and its lifetime.
#[derive(Clone, Copy, Debug)]
pub struct NewSignInCode<'a> {
    /// The mentor the code signs in.
    pub mentor_id: MentorId,
    /// The hash of the code (never the code).
    pub code_hash: &'a str,
    /// When it was made.
    pub now: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Sends since this instant count against `max_sends`.
    pub sends_since: DateTime<Utc>,
    /// Most codes sent to one mentor since `sends_since`, this one included.
    pub max_sends: u32,
}

/// One of a mentor's calls, with what the seeker asked about. Carries the seeker's
/// first name only, and never their phone number.
#[derive(Clone, Debug)]
pub struct MentorCall {
    /// The call.
    pub call: CallRecord,
    /// The seeker's first name.
    pub seeker_first_name: String,
    /// What the seeker wants to talk about.
    pub topic: String,
    /// The seeker's message.
    pub message: String,
}

#[derive(sqlx::FromRow)]
struct MentorCallRow {
    #[sqlx(flatten)]
    call: CallRow,
    name: String,
    topic: String,
    message: String,
}

impl TryFrom<MentorCallRow> for MentorCall {
    type Error = StoreError;
    fn try_from(row: MentorCallRow) -> StoreResult<MentorCall> {
        Ok(MentorCall {
            call: row.call.try_into()?,
            seeker_first_name: first_name(&row.name).to_owned(),
            topic: row.topic,
            message: row.message,
        })
    }
}

/// Which of a mentor's calls to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MentorCalls {
    /// Booked or under way, soonest first.
    Upcoming,
    /// Ended or canceled, latest first.
    Past,
}

impl Store {
    /// The mentor whose phone is `phone`, if any (the lowest id if several share it).
    #[instrument(skip_all)]
    pub async fn mentor_id_by_phone(&self, phone: &PhoneNumber) -> StoreResult<Option<MentorId>> {
        let id = with_pool!(self, pool, {
            sqlx::query_scalar("select id from mentors where phone = $1 order by id limit 1")
                .bind(phone.as_str())
                .fetch_optional(pool)
                .await
        })?;
        Ok(id)
    }

    /// Stores `code` as the mentor's only sign-in code (replacing any earlier one)
    /// and counts the send, unless the mentor was already sent `max_sends` codes
    /// since `sends_since`: then nothing changes and the answer is `false`.
    #[instrument(skip_all, fields(mentor.id = code.mentor_id.0))]
    pub async fn issue_sign_in_code(&self, code: NewSignInCode<'_>) -> StoreResult<bool> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            sqlx::query("delete from mentor_sign_in_sends where created_at <= $1")
                .bind(code.sends_since)
                .execute(&mut *tx)
                .await?;
            // Writing the code row first locks it (PostgreSQL), so two sends for one
            // mentor at once are counted one after the other.
            sqlx::query(
                "insert into mentor_sign_in_codes
                     (mentor_id, code_hash, attempts, created_at, expires_at)
                 values ($1, $2, 0, $3, $4)
                 on conflict (mentor_id) do update set code_hash = excluded.code_hash,
                     attempts = 0, created_at = excluded.created_at,
                     expires_at = excluded.expires_at",
            )
            .bind(code.mentor_id)
            .bind(code.code_hash)
            .bind(code.now)
            .bind(code.expires_at)
            .execute(&mut *tx)
            .await?;
            let counted: Option<i64> = sqlx::query_scalar(
                "insert into mentor_sign_in_sends (mentor_id, created_at)
                 select $1, $2
                 where (select count(*) from mentor_sign_in_sends
                        where mentor_id = $1 and created_at > $3) < $4
                 returning id",
            )
            .bind(code.mentor_id)
            .bind(code.now)
            .bind(code.sends_since)
            .bind(i64::from(code.max_sends))
            .fetch_optional(&mut *tx)
            .await?;
            if counted.is_none() {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Whether `code_hash` is the mentor's live sign-in code. A right code is used
    /// up; a wrong one counts as an attempt, and the code is void after
    /// `max_attempts` wrong ones. An expired code is removed.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn use_sign_in_code(
        &self,
        mentor_id: MentorId,
        code_hash: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> StoreResult<bool> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let used: Option<i64> = sqlx::query_scalar(
                "delete from mentor_sign_in_codes
                 where mentor_id = $1 and code_hash = $2 and expires_at > $3 and attempts < $4
                 returning mentor_id",
            )
            .bind(mentor_id)
            .bind(code_hash)
            .bind(now)
            .bind(i64::from(max_attempts))
            .fetch_optional(&mut *tx)
            .await?;
            if used.is_none() {
                sqlx::query(
                    "update mentor_sign_in_codes set attempts = attempts + 1
                     where mentor_id = $1",
                )
                .bind(mentor_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "delete from mentor_sign_in_codes
                     where mentor_id = $1 and (attempts >= $2 or expires_at <= $3)",
                )
                .bind(mentor_id)
                .bind(i64::from(max_attempts))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(used.is_some())
        })
    }

    /// Makes `token_hash` the mentor's calendar feed token; the old one stops working.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn replace_calendar_token(
        &self,
        mentor_id: MentorId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "insert into mentor_calendars (mentor_id, token_hash, created_at)
                 values ($1, $2, $3)
                 on conflict (mentor_id) do update set token_hash = excluded.token_hash,
                     created_at = excluded.created_at",
            )
            .bind(mentor_id)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })
        .map_err(StoreError::conflict_as(Conflict::CalendarToken))
    }

    /// When the mentor's current calendar link was made, if they have one.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn calendar_made_at(
        &self,
        mentor_id: MentorId,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let made = with_pool!(self, pool, {
            sqlx::query_scalar("select created_at from mentor_calendars where mentor_id = $1")
                .bind(mentor_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(made)
    }

    /// The mentor whose calendar token hashes to `token_hash`.
    #[instrument(skip_all)]
    pub async fn mentor_id_by_calendar_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<MentorId>> {
        let id = with_pool!(self, pool, {
            sqlx::query_scalar("select mentor_id from mentor_calendars where token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await
        })?;
        Ok(id)
    }

    /// Sets the mentor's call length and per-window cap (`None`: every slot that
    /// fits); false when there is no such mentor. Calls already booked keep their
    /// length.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn update_call_settings(
        &self,
        mentor_id: MentorId,
        call_minutes: u32,
        max_calls_per_window: Option<u32>,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool, {
            sqlx::query(
                "update mentors set call_minutes = $1, max_calls_per_window = $2 where id = $3",
            )
            .bind(call_minutes as i32)
            .bind(max_calls_per_window.map(|cap| cap as i32))
            .bind(mentor_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(changed > 0)
    }

    /// Up to `limit` of the mentor's upcoming or past calls.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn mentor_calls(
        &self,
        mentor_id: MentorId,
        which: MentorCalls,
        limit: u32,
    ) -> StoreResult<Vec<MentorCall>> {
        let (statuses, order) = match which {
            MentorCalls::Upcoming => ("('scheduled', 'dialing', 'in_progress')", "asc"),
            MentorCalls::Past => ("('ended', 'canceled')", "desc"),
        };
        let sql = format!(
            "select c.id, c.request_id, c.mentor_id, c.starts_at, c.ends_at, c.status,
                    c.outcome, c.talk_seconds, c.provider_call_sid, c.retry_of, c.feedback_score,
                    c.feedback_at, c.inbound, c.follow_up_offered_at, c.follow_up_request_id,
                    r.follow_up_of, c.created_at, c.updated_at, r.name, r.topic, r.message
             from calls c join requests r on r.id = c.request_id
             where c.mentor_id = $1 and c.status in {statuses}
             order by c.starts_at {order}, c.id {order}
             limit $2"
        );
        let rows: Vec<MentorCallRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(mentor_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(MentorCall::try_from).collect()
    }
}
