//! Follow-ups offered from the car: the mentor's offer of another call, stored
//! on the call with the seeker's text queued in the same transaction, and the
//! seeker's AGAIN, which makes a request preferring that mentor and records the
//! link on both sides.
//!
//! Not here: how long an offer holds and what the texts say
//! (`domain::follow_up`), and how the new request is booked (`domain::matching`
//! reads `preferred_mentor_id`).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{BeginWrite, Conflict, Store, StoreError, StoreResult, with_pool};
use crate::domain::follow_up::answers_offer;
use crate::ids::{CallId, MentorId, RequestId};

/// What an AGAIN from a number did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgainOutcome {
    /// A request preferring the mentor was made.
    Requested {
        /// The new request.
        request_id: RequestId,
        /// The call whose offer it answers.
        follow_up_of: CallId,
        /// The mentor it prefers.
        mentor_id: MentorId,
        /// That mentor's name, for the reply.
        mentor_name: String,
    },
    /// The number already has a request open (an AGAIN's own, sent twice, or
    /// one the seeker made); nothing was made.
    RequestOpen,
    /// No offer is open for the number: none was texted, the last is older
    /// than the reply window, or it was taken.
    NoOffer,
}

/// The newest offer texted to a number and not yet taken.
#[derive(sqlx::FromRow)]
struct OpenOffer {
    call_id: CallId,
    request_id: RequestId,
    mentor_id: MentorId,
    mentor_name: String,
    texted_at: DateTime<Utc>,
}

impl Store {
    /// Records that the mentor of call `call_id` offered another call at `now`,
    /// and queues the text that tells the seeker. Only a completed call can be
    /// offered, and only once: `false`, and nothing written, otherwise.
    #[instrument(skip_all, fields(call.id = call_id.0))]
    pub async fn offer_follow_up(&self, call_id: CallId, now: DateTime<Utc>) -> StoreResult<bool> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let request_id: Option<RequestId> = sqlx::query_scalar(
                "update calls set follow_up_offered_at = $2, updated_at = $2
                 where id = $1 and status = 'ended' and outcome = 'completed'
                     and follow_up_offered_at is null
                 returning request_id",
            )
            .bind(call_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(request_id) = request_id else {
                return Ok(false);
            };
            sqlx::query(
                "insert into notifications
                     (request_id, call_id, recipient, kind, status, next_attempt_at, created_at)
                 values ($1, $2, 'seeker', 'follow_up', 'pending', $3, $3)",
            )
            .bind(request_id)
            .bind(call_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Takes the newest follow-up offer texted to `phone` within the reply
    /// window of `now`: makes a `pending` request with the offered request's
    /// details that prefers its mentor, and records it on the offered call.
    ///
    /// The AGAIN came from the number, which shows it is the seeker's; the
    /// consent given with the offered request carries over, renewed at `now`.
    /// `manage_token_hash` is the new request's own (its seeker reaches it
    /// through the links texted with its reminders). The offered call takes
    /// the request only while it has none, and a number has one open request
    /// at most, so two AGAINs at once make one request.
    #[instrument(skip_all)]
    pub async fn take_follow_up(
        &self,
        phone: &str,
        manage_token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<AgainOutcome> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let offer: Option<OpenOffer> = sqlx::query_as(
                "select c.id as call_id, c.request_id, c.mentor_id, m.name as mentor_name,
                        n.sent_at as texted_at
                 from calls c
                 join requests r on r.id = c.request_id
                 join mentors m on m.id = c.mentor_id
                 join notifications n
                     on n.call_id = c.id and n.kind = 'follow_up' and n.status = 'sent'
                 where r.phone = $1 and r.erased_at is null and c.follow_up_request_id is null
                 order by n.sent_at desc, c.id desc
                 limit 1",
            )
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(offer) = offer.filter(|offer| answers_offer(offer.texted_at, now)) else {
                // An AGAIN sent twice finds its offer taken, and its request open.
                let open: bool = sqlx::query_scalar(
                    "select exists (select 1 from requests
                                    where phone = $1
                                        and status in ('unconfirmed', 'pending', 'scheduled'))",
                )
                .bind(phone)
                .fetch_one(&mut *tx)
                .await?;
                return Ok(if open {
                    AgainOutcome::RequestOpen
                } else {
                    AgainOutcome::NoOffer
                });
            };
            let inserted: Result<RequestId, _> = sqlx::query_scalar(
                "insert into requests (name, phone, timezone, topic, message, availability,
                     status, manage_token_hash, consented_at, created_at, updated_at,
                     consent_version, consent_source, confirmed_at, confirmed_via,
                     preferred_mentor_id, follow_up_of)
                 select name, phone, timezone, topic, message, availability, 'pending', $2,
                        $3, $3, $3, consent_version, consent_source, $3, 'sms', $4, $5
                 from requests where id = $1
                 returning id",
            )
            .bind(offer.request_id)
            .bind(manage_token_hash)
            .bind(now)
            .bind(offer.mentor_id)
            .bind(offer.call_id)
            .fetch_one(&mut *tx)
            .await;
            let request_id =
                match inserted.map_err(StoreError::conflict_as(Conflict::OpenRequestForPhone)) {
                    Ok(id) => id,
                    Err(StoreError::Conflict(_)) => return Ok(AgainOutcome::RequestOpen),
                    Err(error) => return Err(error),
                };
            let taken = sqlx::query(
                "update calls set follow_up_request_id = $2, updated_at = $3
                 where id = $1 and follow_up_request_id is null",
            )
            .bind(offer.call_id)
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                // Another AGAIN took it between the read and now (PostgreSQL):
                // the transaction, and its request, are dropped.
                return Ok(AgainOutcome::NoOffer);
            }
            tx.commit().await?;
            Ok(AgainOutcome::Requested {
                request_id,
                follow_up_of: offer.call_id,
                mentor_id: offer.mentor_id,
                mentor_name: offer.mentor_name,
            })
        })
    }
}
