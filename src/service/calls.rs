//! A call as the provider plays it: what its webhooks and status callbacks tell
//! us, written down in the order they may arrive (twice, late or out of order:
//! every step only moves the call forward).

use serde_json::Value;

use super::Service;
use crate::domain::call_flow::{Leg, LegStatus, screen_failed, seeker_leg_outcome};
use crate::domain::status::Outcome;
use crate::ids::CallId;
use crate::metrics::{CallBackResult, Metrics};
use crate::store::{CallContext, CallEnded, NewCallEvent, SCREEN_PASSED, SecondTry, StoreError};

/// The sequence number a seeker leg's screen result is recorded under, with the
/// leg's provider id: the provider numbers status callbacks from 0, so -1 names
/// the one screen result of a leg, and a retried `<Gather>` action records nothing
/// twice.
const SCREEN_RESULT_SEQUENCE: i64 = -1;

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

    /// Records what the seeker did at the screen on leg `leg_sid`: pressed a key
    /// (`passed`), or let it time out. One result per leg: a retried request
    /// records nothing again, and `false` says so.
    pub async fn record_screen_result(
        &self,
        call_id: CallId,
        leg_sid: Option<&str>,
        passed: bool,
        detail: &Value,
    ) -> Result<bool, StoreError> {
        let kind = if passed {
            SCREEN_PASSED
        } else {
            "screen_timed_out"
        };
        let callback = Callback {
            kind,
            detail,
            provider_sid: leg_sid,
            sequence_number: leg_sid.map(|_| SCREEN_RESULT_SEQUENCE),
        };
        self.record_callback(call_id, callback).await
    }

    /// The seeker leg of call `call_id` ended with `status` (`DialCallStatus`, or
    /// the leg's final status callback) after `talk_seconds`: ends the call with
    /// the outcome that and the screen result give. An answered leg whose seeker
    /// never pressed a key (a voicemail, silence) is `seeker_no_answer`, never a
    /// completed call. `None` when the status decides nothing or the call had
    /// ended already.
    pub async fn seeker_leg_ended(
        &self,
        call_id: CallId,
        status: LegStatus,
        talk_seconds: Option<u32>,
    ) -> Result<Option<CallEnded>, StoreError> {
        let screen_passed = self
            .store
            .call_context(call_id)
            .await?
            .is_some_and(|context| context.screen_passed);
        let Some(outcome) = seeker_leg_outcome(status, screen_passed) else {
            return Ok(None);
        };
        let talk = (outcome == Outcome::Completed).then_some(talk_seconds.unwrap_or(0));
        let ended = self.end_call(call_id, outcome, Leg::Seeker, talk).await?;
        if ended.is_some() && screen_failed(status, screen_passed) {
            tracing::info!(
                call.id = call_id.0,
                "the seeker leg was answered but nobody pressed a key"
            );
            self.metrics.screen_failed();
        }
        Ok(ended)
    }

    /// The second try booked after call `call_id` was missed, if any.
    pub async fn second_try_of(&self, call_id: CallId) -> Result<Option<SecondTry>, StoreError> {
        self.store.second_try_of(call_id).await
    }

    /// Ends call `call_id` with `outcome` about `leg` and applies it to the
    /// request (completed, a second try in the same commute, or back in the
    /// queue with the matcher asked to run); `None` when the call had ended
    /// already.
    pub async fn end_call(
        &self,
        call_id: CallId,
        outcome: Outcome,
        leg: Leg,
        talk_seconds: Option<u32>,
    ) -> Result<Option<CallEnded>, StoreError> {
        let ended = self
            .store
            .end_call(
                call_id,
                outcome,
                leg,
                talk_seconds,
                self.settings.end_call_rules(),
                self.clock.now(),
            )
            .await?;
        if let Some(ended) = &ended {
            account_for_ended_call(&self.metrics, call_id, outcome, ended, "call ended");
            self.matcher.nudge();
        }
        Ok(ended)
    }
}

/// Counts and logs what ending call `call_id` with `outcome` did (its outcome,
/// a second try completed or booked, a call-back completed or missed), wherever it was ended: a webhook, the
/// dispatcher or the reconciler, which says how in `how`.
pub fn account_for_ended_call(
    metrics: &Metrics,
    call_id: CallId,
    outcome: Outcome,
    ended: &CallEnded,
    how: &'static str,
) {
    metrics.call_ended(outcome);
    if ended.retry_of.is_some() && outcome == Outcome::Completed {
        metrics.second_try_completed();
    }
    if ended.inbound {
        metrics.call_back(if outcome == Outcome::Completed {
            CallBackResult::Completed
        } else {
            CallBackResult::Missed
        });
    }
    tracing::info!(call.id = call_id.0, call.outcome = %outcome,
        request.status = %ended.request_status, "{how}");
    if let Some(retry) = ended.second_try {
        metrics.second_try_booked();
        tracing::info!(call.id = call_id.0, retry.call_id = retry.call_id.0,
            retry.starts_at = %retry.starts_at, "second try booked in the same commute");
    }
    if let Some(rested) = ended.mentor_rested {
        // The calls given back were called off: count them as every cancel is.
        for _ in 0..rested.calls_released {
            metrics.call_ended(Outcome::Canceled);
        }
        tracing::info!(
            call.id = call_id.0,
            mentor.id = rested.mentor_id.0,
            mentor.misses_in_a_row = rested.misses,
            mentor.calls_released = rested.calls_released,
            "mentor rests after repeated misses; their booked calls go to others"
        );
    }
}
