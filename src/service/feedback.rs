//! One-key feedback: a seeker's digit in reply to "how much did your call
//! help", and the figures a mentor and the operator read from the answers.

use chrono::{DateTime, Utc};

use super::Service;
use crate::domain::feedback::{FIGURES_PERIOD, MentorFigures, Score};
use crate::ids::MentorId;
use crate::store::{FeedbackStored, StoreError};

impl Service {
    /// Stores `score`, texted from `from` (E.164), on that number's latest
    /// completed call when its question is still open; `None` when no question
    /// is (the digit is then an ordinary text). Neither the number nor the
    /// score is logged with the other.
    pub async fn feedback_reply(
        &self,
        from: &str,
        score: Score,
    ) -> Result<Option<FeedbackStored>, StoreError> {
        let stored = self
            .store
            .record_feedback(from, score, self.clock.now())
            .await?;
        if let Some(stored) = stored {
            tracing::info!(
                call.id = stored.call_id.0,
                feedback.replaced = stored.replaced,
                "feedback received"
            );
        }
        Ok(stored)
    }

    /// The figures of mentor `mentor_id`'s calls that started in the
    /// [`FIGURES_PERIOD`] up to `now`.
    pub async fn mentor_figures(
        &self,
        mentor_id: MentorId,
        now: DateTime<Utc>,
    ) -> Result<MentorFigures, StoreError> {
        self.store
            .mentor_figures(mentor_id, now - FIGURES_PERIOD, now)
            .await
    }
}
