//! The call-back line: someone rang the service number. A seeker calling back
//! about a missed call while that commute is still open is put through to its
//! mentor; anyone else learns where they stand (see `domain::call_back`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Service;
use crate::domain::call_back::{MissedCall, SeekerLine, seeker_line};
use crate::domain::concurrency::CallCapacity;
use crate::domain::phone::PhoneNumber;
use crate::domain::schedule::Slot;
use crate::domain::status::{Outcome, RequestStatus};
use crate::ids::CallId;
use crate::metrics::CallBackResult;
use crate::store::{CallRecord, MentorNextCall, NewCallBack, RequestRecord, StoreError};

/// Who rang the service number, and what the line does for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundCall {
    /// A seeker calling back about a missed call, put through: call-back
    /// `call_id` (with `inbound` set) dials its mentor next.
    PutThrough {
        /// The call-back.
        call_id: CallId,
    },
    /// A seeker who hears where their request stands.
    Seeker(SeekerStatus),
    /// A mentor, who hears their next call.
    Mentor {
        /// The mentor's name.
        name: String,
        /// The mentor's zone, for the time they hear.
        zone: Tz,
        /// Their next booked call, if any.
        next: Option<MentorNextCall>,
    },
    /// A number ridealong does not know (or a hidden one).
    Unknown,
}

/// Where a calling seeker's newest request stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeekerStatus {
    /// The request's status.
    pub status: RequestStatus,
    /// The seeker's zone, for the time they hear.
    pub zone: Tz,
    /// The booked call: when, and the mentor's name.
    pub next_call: Option<(DateTime<Utc>, String)>,
    /// The mentor of the missed call the seeker called back about, who cannot
    /// take it right now (on another call, or the provider's concurrent-call
    /// limit is reached); `None` when that is not why they hear this.
    pub busy_mentor: Option<String>,
}

impl Service {
    /// Answers an inbound call from `caller` (`None`: a hidden or unreadable
    /// number), the provider's call `call_sid`. A seeker whose last ended call
    /// was a seeker-side miss, in a commute that is still open, with its mentor
    /// free, is put through (once per miss); mentors and other seekers get their
    /// status, everyone else [`InboundCall::Unknown`].
    pub async fn inbound_call(
        &self,
        caller: Option<&PhoneNumber>,
        call_sid: &str,
    ) -> Result<InboundCall, StoreError> {
        let Some(caller) = caller else {
            return Ok(InboundCall::Unknown);
        };
        let now = self.clock.now();
        let request = match self.store.newest_request_id_by_phone(caller).await? {
            Some(id) => self.store.request(id).await?,
            None => None,
        }
        .filter(|request| request.erased_at.is_none());
        let mut busy_mentor = None;
        if let Some(request) = &request
            && let Some(missed) = self.missed_call(request).await?
        {
            match self.call_back(request, &missed, call_sid, now).await? {
                Ok(call_id) => return Ok(InboundCall::PutThrough { call_id }),
                Err(mentor_name) => busy_mentor = mentor_name,
            }
        }
        if let Some(mentor_id) = self.store.mentor_id_by_phone(caller).await?
            && let Some(mentor) = self.store.mentor(mentor_id).await?
        {
            let next = self.store.mentor_next_call(mentor_id, now).await?;
            return Ok(InboundCall::Mentor {
                name: mentor.name,
                zone: mentor.timezone,
                next,
            });
        }
        Ok(match request {
            Some(request) => InboundCall::Seeker(SeekerStatus {
                status: request.status,
                zone: request.timezone,
                next_call: request.call.map(|call| (call.starts_at, call.mentor_name)),
                busy_mentor,
            }),
            None => InboundCall::Unknown,
        })
    }

    /// The seeker-side miss a seeker may call back about: the request's last
    /// ended call, when the seeker missed it and no call-back followed it.
    async fn missed_call(&self, request: &RequestRecord) -> Result<Option<CallRecord>, StoreError> {
        let recoverable = matches!(
            request.status,
            RequestStatus::Pending | RequestStatus::Scheduled | RequestStatus::Unreachable
        );
        if !recoverable {
            return Ok(None);
        }
        Ok(self
            .store
            .last_ended_call(request.id)
            .await?
            .filter(|call| {
                !call.inbound
                    && matches!(
                        call.outcome,
                        Some(Outcome::SeekerNoAnswer | Outcome::SeekerBusy)
                    )
            }))
    }

    /// Whether a call-back for `request` from `now` to `ends_at` keeps the
    /// provider's concurrent-call limit, if there is one, with every call under
    /// way or booked meanwhile (the request's own booked call, which the
    /// call-back replaces, left out).
    async fn fits_the_provider(
        &self,
        request: &RequestRecord,
        now: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(at_once) = self.settings.calls_at_once else {
            return Ok(true);
        };
        let mut capacity = CallCapacity::new(at_once);
        for slot in self
            .store
            .live_calls_overlapping(request.id, now, ends_at)
            .await?
        {
            capacity.add(slot);
        }
        Ok(capacity.fits(Slot {
            starts_at: now,
            ends_at,
        }))
    }

    /// Puts a call-back about `missed` through if its commute is open at `now`,
    /// its mentor free, and the provider's concurrent-call limit has room: `Ok` with the call-back, or `Err` with the mentor's
    /// name when they are busy (`None` when the commute is over).
    async fn call_back(
        &self,
        request: &RequestRecord,
        missed: &CallRecord,
        call_sid: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<CallId, Option<String>>, StoreError> {
        let Some(mentor) = self.store.mentor(missed.mentor_id).await? else {
            return Ok(Err(None));
        };
        let windows = self.store.windows(mentor.id).await?;
        let pauses = self.store.pauses(mentor.id).await?;
        let occurrence_end = mentor
            .schedule(&windows, &pauses)
            .occurrence_of(Slot {
                starts_at: missed.starts_at,
                ends_at: missed.ends_at,
            })
            .map(|occurrence| occurrence.end);
        let mentor_now = self.store.mentor_now(mentor.id, request.id, now).await?;
        let line = seeker_line(
            Some(MissedCall {
                occurrence_end,
                mentor_on_call: mentor_now.on_call,
                next_booked: mentor_now.next_booked,
                call_minutes: mentor.call_minutes,
            }),
            now,
        );
        let put_through = match line {
            SeekerLine::PutThrough { ends_at }
                if !self.fits_the_provider(request, now, ends_at).await? =>
            {
                tracing::info!(
                    call.id = missed.id.0,
                    "no room under the concurrent-call limit for a call-back"
                );
                None
            }
            SeekerLine::PutThrough { ends_at } => {
                let call_back = NewCallBack {
                    request_id: request.id,
                    missed: missed.id,
                    mentor_id: mentor.id,
                    provider_call_sid: call_sid,
                    ends_at,
                };
                self.store.start_call_back(call_back, now).await?
            }
            SeekerLine::TooLate => {
                tracing::info!(call.id = missed.id.0, "a call-back came after the commute");
                self.metrics.call_back(CallBackResult::TooLate);
                return Ok(Err(None));
            }
            SeekerLine::MentorBusy | SeekerLine::Status => None,
        };
        match put_through {
            Some(call_id) => {
                tracing::info!(
                    call.id = call_id.0,
                    call_back.of = missed.id.0,
                    "a seeker called back; putting them through to the mentor"
                );
                Ok(Ok(call_id))
            }
            None => {
                tracing::info!(
                    call.id = missed.id.0,
                    "a seeker called back while the mentor was busy"
                );
                self.metrics.call_back(CallBackResult::MentorBusy);
                Ok(Err(Some(mentor.name)))
            }
        }
    }
}
