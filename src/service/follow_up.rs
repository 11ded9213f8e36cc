//! A follow-up offered from the car: the mentor presses 1 once the seeker has
//! hung up, the seeker is texted, and their AGAIN makes a request that prefers
//! that mentor (see `domain::follow_up`).

use super::Service;
use crate::ids::CallId;
use crate::store::{AgainOutcome, StoreError};
use crate::tokens;

impl Service {
    /// The mentor of call `call_id` pressed 1 to offer another call: record it
    /// and queue the seeker's text. `false` when the call did not complete, or
    /// the offer was made already (a retried webhook).
    pub async fn offer_follow_up(&self, call_id: CallId) -> Result<bool, StoreError> {
        let offered = self
            .store
            .offer_follow_up(call_id, self.clock.now())
            .await?;
        if offered {
            self.metrics.follow_up_offered();
            tracing::info!(call.id = call_id.0, "the mentor offered another call");
        }
        Ok(offered)
    }

    /// `from` (E.164) replied AGAIN: take the newest follow-up offer texted to
    /// it, making a request that prefers the offering mentor, and ask the
    /// matcher to book it. Neither the number nor a name is logged.
    pub async fn again_reply(&self, from: &str) -> Result<AgainOutcome, StoreError> {
        let manage_token = tokens::generate(tokens::MANAGE_PREFIX);
        let outcome = self
            .store
            .take_follow_up(from, &tokens::hash(&manage_token), self.clock.now())
            .await?;
        match &outcome {
            AgainOutcome::Requested {
                request_id,
                follow_up_of,
                mentor_id,
                ..
            } => {
                self.metrics.follow_up_requested();
                tracing::info!(
                    request.id = request_id.0,
                    call.id = follow_up_of.0,
                    mentor.id = mentor_id.0,
                    "the seeker took the offer of another call"
                );
                self.matcher.nudge();
            }
            AgainOutcome::RequestOpen => {
                tracing::info!("AGAIN from a number with a request open: nothing made");
            }
            AgainOutcome::NoOffer => {
                tracing::info!("AGAIN with no follow-up offer open ignored");
            }
        }
        Ok(outcome)
    }
}
