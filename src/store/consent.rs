//! Consent in storage (the store's side of `domain::consent` and
//! `service::consent`): the phone confirmation of new requests, SMS opt-outs,
//! and expiry of unconfirmed requests.
//!
//! A request that must confirm its number has a row in `request_confirmations`
//! beside it: its current code's hash, and the outbox of its code text. Sending
//! a code writes only that narrow row; the request row changes once, when its
//! status does.
//!
//! Not here: codes themselves (the notifier makes them; only their hashes are
//! stored), the wording a seeker agrees to (`domain::consent`), and erasure
//! (`requests`).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::requests::parse_request_status;
use super::{BeginWrite, Markers, Store, StoreResult, with_pool};
use crate::domain::consent::{CODE_TRIES, ConfirmedVia, MAX_CODE_TEXTS};
use crate::domain::status::RequestStatus;
use crate::ids::RequestId;

/// A code text the notifier claimed: whom to text, and how often it tried.
#[derive(Clone, Debug)]
pub struct CodeTextJob {
    /// The request the code confirms.
    pub request_id: RequestId,
    /// The seeker's E.164 number.
    pub phone: String,
    /// Sends tried for this text, this one included.
    pub attempts: u32,
    /// The number replied STOP (or the provider said so): text nothing.
    pub opted_out: bool,
}

/// What entering a code did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// The number is confirmed; the request is `pending` now.
    Confirmed,
    /// The request was confirmed before (it is in this status now).
    AlreadyConfirmed(RequestStatus),
    /// Wrong code; this many tries are left on it.
    Wrong {
        /// Tries left before the code is void.
        tries_left: u32,
    },
    /// The code was entered wrong too often; a new one must be asked for.
    Locked,
    /// The code's time is up, or no code was texted yet.
    Expired,
    /// The request is over (`canceled`, `expired`, …): nothing to confirm.
    Closed(RequestStatus),
    /// No such request.
    NotFound,
}

/// What asking for a new code did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewCodeOutcome {
    /// A code text is queued (or already was).
    Queued,
    /// The request had its [`MAX_CODE_TEXTS`] texts.
    TooMany,
    /// The request is not waiting for a code (it is in this status).
    NotUnconfirmed(RequestStatus),
    /// No such request.
    NotFound,
}

/// Who asked for an opt-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptOutSource {
    /// The number replied STOP.
    Reply,
    /// The provider refused to text the number (Twilio 21610).
    Provider,
}

impl OptOutSource {
    fn as_str(self) -> &'static str {
        match self {
            OptOutSource::Reply => "reply",
            OptOutSource::Provider => "provider",
        }
    }
}

/// The start of an update that voids a request's codes and drops its queued
/// code text: the number is confirmed, or no longer can be.
pub(super) const SPEND_CODE: &str = "
    update request_confirmations set code_hash = null, expires_at = null,
        prev_code_hash = null, prev_expires_at = null, send_at = null";

/// Marks unconfirmed request `$id` `pending`, its number confirmed `$via` at
/// `$now`, on `$executor`; whether it was still unconfirmed. A macro so it
/// serves both backends' transactions.
macro_rules! confirm_request {
    ($executor:expr, $id:expr, $via:expr, $now:expr) => {{
        let via: ConfirmedVia = $via;
        sqlx::query(
            "update requests set status = 'pending', confirmed_at = $1, confirmed_via = $2,
                 updated_at = $1
             where id = $3 and status = 'unconfirmed'",
        )
        .bind($now)
        .bind(via.as_str())
        .bind($id)
        .execute($executor)
        .await
        .map(|done| done.rows_affected() == 1)
    }};
}

impl Store {
    /// Ids of up to `limit` requests whose code text is due, longest due first.
    /// Only a read: [`Store::claim_code_texts`] claims them. A request that is
    /// no longer unconfirmed has no text queued (confirming, expiring and
    /// canceling drop it), and the claim checks the status again.
    #[instrument(skip_all)]
    pub async fn due_code_texts(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RequestId>> {
        let ids = with_pool!(self, pool, {
            sqlx::query_scalar(
                "select request_id from request_confirmations
                 where send_at <= $1 order by send_at limit $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })?;
        Ok(ids)
    }

    /// Claims the code texts of `codes` (request id, hash of the new code) that
    /// are still due, in one statement, and makes each new code the request's,
    /// valid until `expires_at` with no wrong tries yet: stored before the text
    /// goes out, so it works the moment it arrives. Each claim counts a send and
    /// moves the next try to `lease_until`, so a notifier that dies mid-send
    /// leaves it to be retried then; a text another instance claimed first, or a
    /// request confirmed, canceled or expired meanwhile, is left out. Each job
    /// says whether its number opted out, so the notifier asks nothing more.
    ///
    /// A text claimed again because its earlier claim ran out (sent but not
    /// recorded, or failed and retried) keeps the earlier code valid until its
    /// own expiry, beside the new one: it may have reached the seeker.
    #[instrument(skip_all, fields(codes = codes.len()))]
    pub async fn claim_code_texts(
        &self,
        codes: &[(RequestId, String)],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<Vec<CodeTextJob>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut markers = Markers::new(self);
        let sql = format!(
            "with v (id, code_hash) as (values {})
             update request_confirmations set send_attempts = send_attempts + 1,
                 send_at = {},
                 prev_code_hash = case when request_confirmations.send_attempts > 0
                     and request_confirmations.expires_at > {}
                     then request_confirmations.code_hash end,
                 prev_expires_at = case when request_confirmations.send_attempts > 0
                     and request_confirmations.expires_at > {}
                     then request_confirmations.expires_at end,
                 code_hash = v.code_hash, expires_at = {}, tries = 0
             from v
             where request_confirmations.request_id = v.id
               and request_confirmations.send_at <= {}
               and exists (select 1 from requests r
                           where r.id = v.id and r.status = 'unconfirmed')
             returning request_confirmations.request_id,
                 (select r.phone from requests r
                  where r.id = request_confirmations.request_id),
                 request_confirmations.send_attempts,
                 exists (select 1 from requests r join sms_opt_outs o on o.phone = r.phone
                         where r.id = request_confirmations.request_id)",
            markers.groups(codes.len(), 2),
            markers.next(),
            markers.next(),
            markers.next(),
            markers.next(),
            markers.next()
        );
        let rows: Vec<(RequestId, String, i32, bool)> = with_pool!(self, pool, {
            let mut claim = sqlx::query_as(&sql);
            for (request_id, code_hash) in codes {
                claim = claim.bind(*request_id).bind(code_hash.as_str());
            }
            claim
                .bind(lease_until)
                .bind(now)
                .bind(now)
                .bind(expires_at)
                .bind(now)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(request_id, phone, attempts, opted_out)| CodeTextJob {
                request_id,
                phone,
                attempts: u32::try_from(attempts).unwrap_or(0),
                opted_out,
            })
            .collect())
    }

    /// Records that the code texts of `request_ids` went out.
    #[instrument(skip_all, fields(codes = request_ids.len()))]
    pub async fn code_texts_sent(&self, request_ids: &[RequestId]) -> StoreResult<()> {
        if request_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "update request_confirmations set send_at = null, send_attempts = 0,
                 send_error = null
             where request_id in ({})",
            Markers::new(self).list(request_ids.len())
        );
        with_pool!(self, pool, {
            let mut update = sqlx::query(&sql);
            for request_id in request_ids {
                update = update.bind(*request_id);
            }
            update.execute(pool).await.map(drop)
        })?;
        Ok(())
    }

    /// Records a failed code text: tried again at `retry_at`, or given up for
    /// good (`None`) with `error` (a short kind, never the provider's message) for
    /// the seeker's page.
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn code_text_failed(
        &self,
        request_id: RequestId,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "update request_confirmations set send_at = $1, send_error = $2
                 where request_id = $3",
            )
            .bind(retry_at)
            .bind(error)
            .bind(request_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Queues a new code text for an unconfirmed request, up to
    /// [`MAX_CODE_TEXTS`] per request; one already queued is not queued twice.
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn request_new_code(
        &self,
        request_id: RequestId,
        now: DateTime<Utc>,
    ) -> StoreResult<NewCodeOutcome> {
        let state: Option<(String, i32, Option<DateTime<Utc>>)> = with_pool!(self, pool, {
            let queued: Option<i64> = sqlx::query_scalar(
                "insert into request_confirmations (request_id, codes_sent, send_at)
                 select $2, 1, $1 where exists (
                     select 1 from requests r where r.id = $2 and r.status = 'unconfirmed')
                 on conflict (request_id) do update
                 set send_at = excluded.send_at,
                     codes_sent = request_confirmations.codes_sent + 1,
                     send_attempts = 0, send_error = null
                 where request_confirmations.send_at is null
                   and request_confirmations.codes_sent < $3
                 returning request_id",
            )
            .bind(now)
            .bind(request_id)
            .bind(i64::from(MAX_CODE_TEXTS))
            .fetch_optional(pool)
            .await?;
            if queued.is_some() {
                return Ok(NewCodeOutcome::Queued);
            }
            sqlx::query_as(
                "select r.status, coalesce(k.codes_sent, 0), k.send_at from requests r
                 left join request_confirmations k on k.request_id = r.id
                 where r.id = $1",
            )
            .bind(request_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((status, codes_sent, send_at)) = state else {
            return Ok(NewCodeOutcome::NotFound);
        };
        let status = parse_request_status(request_id, &status)?;
        Ok(if status != RequestStatus::Unconfirmed {
            NewCodeOutcome::NotUnconfirmed(status)
        } else if send_at.is_some() {
            NewCodeOutcome::Queued
        } else {
            debug_assert!(u32::try_from(codes_sent).unwrap_or(0) >= MAX_CODE_TEXTS);
            NewCodeOutcome::TooMany
        })
    }

    /// Checks a code entered for `request_id` (`code_hash` from
    /// [`crate::domain::consent::code_hash`]): a right one, in time and within
    /// the tries, confirms the number; a wrong one counts a try. Each outcome is
    /// one conditional statement, so concurrent guesses cannot slip past the
    /// limit.
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn confirm_with_code(
        &self,
        request_id: RequestId,
        code_hash: &str,
        via: ConfirmedVia,
        now: DateTime<Utc>,
    ) -> StoreResult<ConfirmOutcome> {
        let tries = i64::from(CODE_TRIES);
        let state: Option<(String, Option<DateTime<Utc>>, i32)> = with_pool!(self, pool, {
            // The code is checked and spent on its own row, which a concurrent
            // guess waits for (PostgreSQL), so no guess slips past the tries;
            // the request turns `pending` in the same transaction.
            let mut tx = pool.begin_write().await?;
            let spent: Option<i64> = sqlx::query_scalar(&format!(
                "{SPEND_CODE}
                 where request_id = $2 and tries < $4
                   and ((code_hash = $3 and expires_at > $1)
                     or (prev_code_hash = $3 and prev_expires_at > $1))
                   and exists (select 1 from requests r
                               where r.id = $2 and r.status = 'unconfirmed')
                 returning request_id"
            ))
            .bind(now)
            .bind(request_id)
            .bind(code_hash)
            .bind(tries)
            .fetch_optional(&mut *tx)
            .await?;
            if spent.is_some() && confirm_request!(&mut *tx, request_id, via, now)? {
                tx.commit().await?;
                return Ok(ConfirmOutcome::Confirmed);
            }
            let counted: Option<i32> = sqlx::query_scalar(
                "update request_confirmations set tries = tries + 1
                 where request_id = $1 and code_hash is not null and expires_at > $2
                   and tries < $3
                   and exists (select 1 from requests r
                               where r.id = $1 and r.status = 'unconfirmed')
                 returning tries",
            )
            .bind(request_id)
            .bind(now)
            .bind(tries)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(used) = counted {
                tx.commit().await?;
                let left = u32::try_from(tries - i64::from(used)).unwrap_or(0);
                return Ok(if left == 0 {
                    ConfirmOutcome::Locked
                } else {
                    ConfirmOutcome::Wrong { tries_left: left }
                });
            }
            let state = sqlx::query_as(
                "select r.status, k.expires_at, coalesce(k.tries, 0) from requests r
                 left join request_confirmations k on k.request_id = r.id
                 where r.id = $1",
            )
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            state
        });
        let Some((status, expires_at, used)) = state else {
            return Ok(ConfirmOutcome::NotFound);
        };
        let status = parse_request_status(request_id, &status)?;
        Ok(match status {
            RequestStatus::Unconfirmed => {
                let in_time = expires_at.is_some_and(|expires_at| expires_at > now);
                if in_time && i64::from(used) >= tries {
                    ConfirmOutcome::Locked
                } else {
                    ConfirmOutcome::Expired
                }
            }
            RequestStatus::Pending | RequestStatus::Scheduled | RequestStatus::Completed => {
                ConfirmOutcome::AlreadyConfirmed(status)
            }
            closed => ConfirmOutcome::Closed(closed),
        })
    }

    /// Confirms the unconfirmed request of `phone` because the number replied YES
    /// to a code text it was sent; the request's id, or `None` when the number has
    /// no request waiting for such a reply.
    #[instrument(skip_all)]
    pub async fn confirm_by_reply(
        &self,
        phone: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RequestId>> {
        Ok(with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let spent: Option<RequestId> = sqlx::query_scalar(&format!(
                "{SPEND_CODE}
                 where expires_at is not null and request_id = (
                     select r.id from requests r
                     where r.phone = $1 and r.status = 'unconfirmed')
                 returning request_id"
            ))
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(request_id) = spent else {
                return Ok(None);
            };
            if !confirm_request!(&mut *tx, request_id, ConfirmedVia::Sms, now)? {
                return Ok(None);
            }
            tx.commit().await?;
            Some(request_id)
        }))
    }

    /// Stops texts to `phone` until it opts in again.
    #[instrument(skip_all)]
    pub async fn opt_out(
        &self,
        phone: &str,
        source: OptOutSource,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query(
                "insert into sms_opt_outs (phone, source, created_at) values ($1, $2, $3)
                 on conflict (phone) do nothing",
            )
            .bind(phone)
            .bind(source.as_str())
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// Lets texts go to `phone` again; whether it had opted out.
    #[instrument(skip_all)]
    pub async fn opt_in(&self, phone: &str) -> StoreResult<bool> {
        let done = with_pool!(self, pool, {
            sqlx::query("delete from sms_opt_outs where phone = $1")
                .bind(phone)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Whether `phone` asked for no texts.
    #[instrument(skip_all)]
    pub async fn is_opted_out(&self, phone: &str) -> StoreResult<bool> {
        let found: Option<i32> = with_pool!(self, pool, {
            sqlx::query_scalar("select 1 from sms_opt_outs where phone = $1")
                .bind(phone)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found.is_some())
    }

    /// Marks requests still unconfirmed that were made at or before `made_before`
    /// as `expired`; how many.
    #[instrument(skip_all)]
    pub async fn expire_unconfirmed(
        &self,
        made_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        Ok(with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            sqlx::query(&format!(
                "{SPEND_CODE}
                 where request_id in (select id from requests
                                      where status = 'unconfirmed' and created_at <= $1)"
            ))
            .bind(made_before)
            .execute(&mut *tx)
            .await?;
            let expired = sqlx::query(
                "update requests set status = 'expired', updated_at = $1
                 where status = 'unconfirmed' and created_at <= $2",
            )
            .bind(now)
            .bind(made_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            expired
        }))
    }
}
