//! A mentor gives back a booked call they cannot make ("can't make it"), from
//! the dashboard or the API (the operator may do it for them). The call is
//! canceled, its request goes back to the queue with no attempt counted and is
//! booked again at once, with another mentor where one has a slot. The seeker is
//! texted the new time (`moved`) or, when none is found at once, that a new time
//! is being found; never why.
//!
//! Pauses give calls back too: see [`Service::add_pause`].

use super::Service;
use crate::domain::status::{CallStatus, Outcome};
use crate::ids::{CallId, MentorId};
use crate::store::{ReleaseOutcome, StoreError};

/// Who gives the call back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GivenBackBy {
    /// The mentor whose call it must be; another mentor's call is not found.
    Mentor(MentorId),
    /// The operator, for the call's mentor.
    Operator,
}

/// What giving a call back did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelCallOutcome {
    /// The call is canceled; its request is being booked again.
    Canceled,
    /// It was canceled before; nothing changed.
    AlreadyCanceled,
    /// It is dialing, in progress or over: too late to give back.
    TooLate(CallStatus),
    /// No such call, or not this mentor's.
    NotFound,
}

impl Service {
    /// Gives back call `call_id` as `by`: only a `scheduled` call can be, and
    /// the store checks that in the same statement that cancels it, so a call
    /// the dispatcher starts dialing meanwhile is left alone. The matcher is
    /// nudged to book the request again.
    pub async fn cancel_call_for_mentor(
        &self,
        call_id: CallId,
        by: GivenBackBy,
    ) -> Result<CancelCallOutcome, StoreError> {
        let mentor = match by {
            GivenBackBy::Mentor(mentor) => Some(mentor),
            GivenBackBy::Operator => None,
        };
        let outcome = self
            .store
            .release_call(call_id, mentor, self.clock.now())
            .await?;
        Ok(match outcome {
            ReleaseOutcome::Released { request_id } => {
                tracing::info!(
                    call.id = call_id.0,
                    request.id = request_id.0,
                    "call given back by its mentor; booking the request again"
                );
                self.metrics.call_ended(Outcome::Canceled);
                self.matcher.nudge();
                CancelCallOutcome::Canceled
            }
            ReleaseOutcome::AlreadyCanceled => CancelCallOutcome::AlreadyCanceled,
            ReleaseOutcome::TooLate(status) => CancelCallOutcome::TooLate(status),
            ReleaseOutcome::NotFound => CancelCallOutcome::NotFound,
        })
    }
}
