//! Feedback: a seeker's one-digit answer stored on their latest completed call
//! (the webhook outbox's trigger tells of it in the same transaction), and the
//! figures of one mentor's calls over a period: outcomes and scores.
//!
//! Not here: when an answer counts and what the figures mean
//! (`domain::feedback`); the question itself is a notice, queued when the call
//! ends (`telephony`).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{BeginWrite, Store, StoreError, StoreResult, with_pool};
use crate::domain::feedback::{FeedbackSummary, MentorFigures, Score, answers_ask};
use crate::domain::status::Outcome;
use crate::ids::{CallId, MentorId};

/// A score stored on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedbackStored {
    /// The call it is about.
    pub call_id: CallId,
    /// Whether it replaced an earlier answer.
    pub replaced: bool,
}

/// A call's stored feedback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallFeedback {
    /// The score.
    pub score: Score,
    /// When the answer came.
    pub received_at: DateTime<Utc>,
}

/// The latest completed call of a number, with its feedback question.
#[derive(sqlx::FromRow)]
struct LatestCall {
    id: CallId,
    asked_at: Option<DateTime<Utc>>,
    answered: bool,
}

/// Reads a stored score back.
pub(super) fn stored_score(call_id: CallId, value: Option<i32>) -> StoreResult<Option<Score>> {
    value
        .map(|value| {
            u8::try_from(value)
                .ok()
                .and_then(Score::new)
                .ok_or_else(|| StoreError::Corrupt(format!("call {call_id}: feedback score")))
        })
        .transpose()
}

impl Store {
    /// Stores `score`, texted from `phone` at `now`, on that number's latest
    /// completed call, when that call's feedback question went out at most
    /// [`REPLY_WINDOW`](crate::domain::feedback::REPLY_WINDOW) ago; a score
    /// stored before is replaced. `None`, and nothing stored, otherwise: the
    /// number has no completed call, its latest was not asked (opted out, or the
    /// question is still waiting for calling hours), or the window has closed.
    #[instrument(skip_all)]
    pub async fn record_feedback(
        &self,
        phone: &str,
        score: Score,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<FeedbackStored>> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let latest: Option<LatestCall> = sqlx::query_as(
                "select c.id, n.sent_at as asked_at, c.feedback_score is not null as answered
                 from calls c
                 join requests r on r.id = c.request_id
                 left join notifications n
                     on n.call_id = c.id and n.kind = 'feedback' and n.status = 'sent'
                 where r.phone = $1 and c.status = 'ended' and c.outcome = 'completed'
                 order by coalesce(c.ended_at, c.updated_at) desc, c.id desc
                 limit 1",
            )
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(latest) = latest else {
                return Ok(None);
            };
            if !latest
                .asked_at
                .is_some_and(|asked_at| answers_ask(asked_at, now))
            {
                return Ok(None);
            }
            sqlx::query(
                "update calls set feedback_score = $1, feedback_at = $2, updated_at = $2
                 where id = $3",
            )
            .bind(i32::from(score.value()))
            .bind(now)
            .bind(latest.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(FeedbackStored {
                call_id: latest.id,
                replaced: latest.answered,
            }))
        })
    }

    /// The figures of mentor `mentor_id`'s calls that start in `[from, to)`:
    /// their outcomes and their seekers' scores.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn mentor_figures(
        &self,
        mentor_id: MentorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<MentorFigures> {
        let rows: Vec<(CallId, String, Option<i32>)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select id, outcome, feedback_score from calls
                 where mentor_id = $1 and starts_at >= $2 and starts_at < $3
                     and outcome is not null",
            )
            .bind(mentor_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?;
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut feedback = FeedbackSummary::default();
        for (call_id, outcome, score) in rows {
            let outcome: Outcome = outcome
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("call {call_id}: outcome")))?;
            outcomes.push(outcome);
            if let Some(score) = stored_score(call_id, score)? {
                feedback = feedback.with(score);
            }
        }
        Ok(MentorFigures::of(outcomes, feedback))
    }
}
