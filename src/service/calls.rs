//! A call as the provider plays it: what its webhooks and status callbacks tell
//! us, written down in the order they may arrive (twice, late or out of order:
//! every step only moves the call forward).

use serde_json::Value;

use super::Service;
use crate::domain::call_flow::Leg;
use crate::domain::status::Outcome;
use crate::ids::CallId;
use crate::store::{CallContext, CallEnded, NewCallEvent, StoreError};

/// What the provider sent about a call, for its event log.
#[derive(Clone, Copy, Debug)]
pub struct Callback<'a> {
    /// Which webhook or callback it was (`answered`, `mentor_status`, …).
    pub kind: &'a str,
    /// The fields worth keeping (never a phone number).
    pub detail: &'a Value,
    /// The provider's id of the leg it is about, for deduplication.
    pub provider_sid: Option<&'a str>,
    /// The provider's sequence number of it, for deduplication.
    pub sequence_number: Option<i64>,
}

impl Service {
    /// Appends `callback` to call `call_id`'s event log and notes that the
    /// provider was heard from; `false` when it was recorded before (a
    /// duplicate, to be ignored).
    pub async fn record_callback(
        &self,
        call_id: CallId,
        callback: Callback<'_>,
    ) -> Result<bool, StoreError> {
        let event = NewCallEvent::new(call_id, callback.kind, callback.detail, self.clock.now())
            .deduplicated_by(callback.provider_sid, callback.sequence_number);
        let fresh = self.store.record_callback(event).await?;
        if !fresh {
            tracing::debug!(call.id = call_id.0, "duplicate callback ignored");
        }
        Ok(fresh)
    }

    /// The call and the people on it, for what the voice webhooks say.
    pub async fn call_context(&self, call_id: CallId) -> Result<Option<CallContext>, StoreError> {
        self.store.call_context(call_id).await
    }

    /// Takes the provider id a webhook brought, when the dispatcher has not
    /// stored one yet (the provider can call back before answering the dial).
    pub async fn adopt_provider_sid(
        &self,
        context: &CallContext,
        sid: &str,
    ) -> Result<(), StoreError> {
        if context.provider_call_sid.is_none() {
            self.store
                .adopt_provider_sid(context.call_id, sid, self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// The mentor picked up: a dialing call is `in_progress`.
    pub async fn mentor_answered(&self, call_id: CallId) -> Result<(), StoreError> {
        self.store.mark_answered(call_id, self.clock.now()).await
    }

    /// The mentor pressed 1: the seeker is dialed next.
    pub async fn mentor_accepted(&self, call_id: CallId) -> Result<(), StoreError> {
        self.store.mark_accepted(call_id, self.clock.now()).await
    }

    /// The seeker's leg has provider id `seeker_sid` and, once over, lasted
    /// `talk_seconds`.
    pub async fn seeker_leg_reported(
        &self,
        call_id: CallId,
        seeker_sid: &str,
        talk_seconds: Option<u32>,
    ) -> Result<(), StoreError> {
        self.store
            .record_seeker_leg(call_id, seeker_sid, talk_seconds, self.clock.now())
            .await
    }

    /// Ends call `call_id` with `outcome` about `leg` and applies it to the
    /// request (completed, or back in the queue, with the matcher asked to run);
    /// `None` when the call had ended already.
    pub async fn end_call(
        &self,
        call_id: CallId,
        outcome: Outcome,
        leg: Leg,
        talk_seconds: Option<u32>,
    ) -> Result<Option<CallEnded>, StoreError> {
        let ended = self
            .store
            .end_call(call_id, outcome, leg, talk_seconds, self.clock.now())
            .await?;
        if let Some(ended) = &ended {
            self.metrics.call_ended(outcome);
            tracing::info!(call.id = call_id.0, call.outcome = %outcome, request.status = %ended.request_status, "call ended");
            self.matcher.nudge();
        }
        Ok(ended)
    }
}
