//! Seekers' requests: storing new ones (one at a time, or batched on SQLite for
//! `intake`), reading them for the seeker's link, the operator and the matcher,
//! cancelling one with its call, and erasing a finished one's personal data.
//!
//! Not here: proving the number is the seeker's (`consent`), the call a request
//! is booked into (`calls`, `telephony`), and checking what a seeker typed
//! (`domain::request`, before it gets here).
//!
//! Longer than most modules because a request's whole life (intake, single and
//! batched on both backends, reads by token, cancel, erase, expiry) is one
//! table's statements, and the batched and single inserts must bind alike.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;
use tracing::instrument;

use super::consent::SPEND_CODE;
use super::{
    BeginWrite, Conflict, Markers, NewCallEvent, Store, StoreError, StoreResult, from_json,
    packed_select, unpack, with_pool,
};
use crate::domain::consent::{ConfirmedVia, ConsentSource, current_wording};
use crate::domain::hours::{CallingHours, SeekerHours};
use crate::domain::matching::{OpenRequest, PREFERENCE_HOLDS};
use crate::domain::request::NewRequest;
use crate::domain::status::{CallStatus, Outcome, RequestStatus};
use crate::domain::weekly::{LocalTime, Weekdays, WeeklyRange};
use crate::ids::{CallId, MentorId, RequestId};

use super::calls::{CallSummary, insert_event};

/// A stored request, with the call it is booked into, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Id.
    pub id: RequestId,
    /// Seeker's name.
    pub name: String,
    /// Seeker's E.164 number.
    pub phone: String,
    /// Seeker's zone.
    pub timezone: Tz,
    /// What the call is about.
    pub topic: String,
    /// What the seeker could use help with.
    pub message: String,
    /// When the seeker can take calls (in `timezone`); empty = weekdays.
    pub availability: Vec<WeeklyRange>,
    /// Where the request stands.
    pub status: RequestStatus,
    /// Seeker-side misses so far.
    pub attempts: u32,
    /// SHA-256 of the manage token.
    pub manage_token_hash: String,
    /// What the seeker agreed to, when and where.
    pub consent: ConsentRecord,
    /// Where proving the number stands.
    pub confirmation: Confirmation,
    /// When the seeker's personal data was erased; name, phone, topic, message
    /// and availability are then empty.
    pub erased_at: Option<DateTime<Utc>>,
    /// The mentor the seeker asked to talk to again, if any.
    pub preferred_mentor_id: Option<MentorId>,
    /// The call whose mentor offered another call, when this request is the
    /// seeker's AGAIN to that offer.
    pub follow_up_of: Option<CallId>,
    /// When the request arrived.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The booked or running call.
    pub call: Option<CallSummary>,
}

/// The consent kept with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The version of the wording agreed to (see
    /// [`crate::domain::consent::CONSENT_WORDINGS`]); `None` for requests made
    /// before versions were recorded.
    pub version: Option<String>,
    /// Where it was given; `None` for requests made before this was recorded, or
    /// seeded by an operator's tools.
    pub source: Option<ConsentSource>,
    /// When it was given.
    pub given_at: DateTime<Utc>,
    /// When the number was shown to be the seeker's.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// How it was shown.
    pub confirmed_via: Option<ConfirmedVia>,
}

/// Where the phone confirmation of a request stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// Until when the code last texted works; `None` before the first text.
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Wrong entries of that code.
    pub tries: u32,
    /// Code texts asked for so far.
    pub codes_sent: u32,
    /// A code text is waiting to go out.
    pub text_queued: bool,
    /// Why the last code text could not go out (`opted_out`, `invalid_number`,
    /// `failed`).
    pub send_error: Option<String>,
}

/// How availability ranges are kept: the zone is the request's.
#[derive(Serialize, Deserialize)]
struct StoredRange {
    weekdays: Weekdays,
    start: LocalTime,
    end: LocalTime,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: RequestId,
    name: String,
    phone: String,
    timezone: String,
    topic: String,
    message: String,
    availability: String,
    status: String,
    attempts: i32,
    manage_token_hash: String,
    consented_at: DateTime<Utc>,
    consent_version: Option<String>,
    consent_source: Option<String>,
    confirmed_at: Option<DateTime<Utc>>,
    confirmed_via: Option<String>,
    confirm_expires_at: Option<DateTime<Utc>>,
    confirm_tries: i32,
    confirm_codes_sent: i32,
    confirm_send_at: Option<DateTime<Utc>>,
    confirm_send_error: Option<String>,
    erased_at: Option<DateTime<Utc>>,
    preferred_mentor_id: Option<MentorId>,
    follow_up_of: Option<CallId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    call_id: Option<CallId>,
    call_starts_at: Option<DateTime<Utc>>,
    call_mentor_name: Option<String>,
}

impl TryFrom<RequestRow> for RequestRecord {
    type Error = StoreError;
    fn try_from(row: RequestRow) -> StoreResult<RequestRecord> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("request {}: {what}", row.id));
        let (timezone, availability) =
            zone_and_availability(row.id, &row.timezone, &row.availability)?;
        let call = match (row.call_id, row.call_starts_at, row.call_mentor_name) {
            (Some(id), Some(starts_at), Some(mentor_name)) => Some(CallSummary {
                id,
                starts_at,
                mentor_name,
            }),
            _ => None,
        };
        Ok(RequestRecord {
            id: row.id,
            name: row.name,
            phone: row.phone,
            timezone,
            topic: row.topic,
            message: row.message,
            availability,
            status: row.status.parse().map_err(|_| corrupt("status"))?,
            attempts: u32::try_from(row.attempts).map_err(|_| corrupt("attempts"))?,
            manage_token_hash: row.manage_token_hash,
            consent: ConsentRecord {
                version: row.consent_version,
                source: row
                    .consent_source
                    .map(|source| source.parse())
                    .transpose()
                    .map_err(|_| corrupt("consent source"))?,
                given_at: row.consented_at,
                confirmed_at: row.confirmed_at,
                confirmed_via: row
                    .confirmed_via
                    .map(|via| via.parse())
                    .transpose()
                    .map_err(|_| corrupt("confirmed via"))?,
            },
            confirmation: Confirmation {
                code_expires_at: row.confirm_expires_at,
                tries: u32::try_from(row.confirm_tries).map_err(|_| corrupt("confirm tries"))?,
                codes_sent: u32::try_from(row.confirm_codes_sent)
                    .map_err(|_| corrupt("codes sent"))?,
                text_queued: row.confirm_send_at.is_some(),
                send_error: row.confirm_send_error,
            },
            erased_at: row.erased_at,
            preferred_mentor_id: row.preferred_mentor_id,
            follow_up_of: row.follow_up_of,
            created_at: row.created_at,
            updated_at: row.updated_at,
            call,
        })
    }
}

/// A stored request's zone and its availability ranges in that zone.
fn zone_and_availability(
    id: RequestId,
    timezone: &str,
    availability: &str,
) -> StoreResult<(Tz, Vec<WeeklyRange>)> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("request {id}: {what}"));
    let zone: Tz = timezone.parse().map_err(|_| corrupt("timezone"))?;
    let ranges = from_json::<Vec<StoredRange>>("availability", availability)?
        .into_iter()
        .map(|range| WeeklyRange::new(range.weekdays, range.start, range.end, zone))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| corrupt("availability"))?;
    Ok((zone, ranges))
}

/// Binds a new request's own six values (name, phone, zone, topic, message,
/// availability) to `$query`, for every insert of a new request. A macro so it
/// serves both backends' query types.
macro_rules! bind_request {
    ($query:expr, $request:expr) => {{
        let request: &NewRequest = $request;
        $query
            .bind(&request.name)
            .bind(request.phone.as_str())
            .bind(request.zone.name())
            .bind(&request.topic)
            .bind(&request.message)
            .bind(stored_availability(request))
    }};
}

/// Binds an [`Intake`]'s 14 values in the order of [`insert_within_cap_sql`] to
/// `$query`.
macro_rules! bind_intake {
    ($query:expr, $intake:expr) => {{
        let intake: &Intake = $intake;
        let (status, confirmed_via) = intake_state(intake);
        bind_request!($query, &intake.request)
            .bind(status.as_str())
            .bind(intake.manage_token_hash.as_str())
            .bind(intake.now)
            .bind(intake.since)
            .bind(intake.cap)
            .bind(current_wording().version)
            .bind(intake.consent_source.as_str())
            .bind(confirmed_via.map(ConfirmedVia::as_str))
    }};
}

/// The insert of [`Store::insert_request_within_cap`]: `$1`–`$14` are the name,
/// phone, zone, topic, message, availability, status, manage token hash, now,
/// since, cap, consent version, consent source and confirmed via.
fn insert_within_cap_sql() -> String {
    format!(
        "insert into requests (name, phone, timezone, topic, message, availability, status,
            manage_token_hash, consented_at, created_at, updated_at, consent_version,
            consent_source, confirmed_via)
         select $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $12, $13, $14
         where (select count(*) from requests where phone = $2 and created_at > $10) < $11
         returning {INSERTED}"
    )
}

/// A new request's status and how its number counts as confirmed, as `intake`
/// says.
fn intake_state(intake: &Intake) -> (RequestStatus, Option<ConfirmedVia>) {
    if intake.confirm_phone {
        (RequestStatus::Unconfirmed, None)
    } else {
        (RequestStatus::Pending, Some(ConfirmedVia::NotRequired))
    }
}

/// A new request with how it enters the store: everything
/// [`Store::insert_request_within_cap`] takes, owned, so it can wait in
/// [`super::RequestIntake`]'s queue.
#[derive(Clone, Debug)]
pub struct Intake {
    /// The request.
    pub request: NewRequest,
    /// SHA-256 of the manage token handed to the seeker.
    pub manage_token_hash: String,
    /// Where the seeker consented (to the current wording).
    pub consent_source: ConsentSource,
    /// Whether the number must be confirmed first: the request is then
    /// `unconfirmed` and its first code text is queued; otherwise it is `pending`.
    pub confirm_phone: bool,
    /// Now.
    pub now: DateTime<Utc>,
    /// The number's cap of requests since `since`.
    pub cap: i64,
    /// Start of the cap's period.
    pub since: DateTime<Utc>,
}

/// Which requests an operator lists.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFilter {
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only ids above this one (keyset paging).
    pub after_id: Option<RequestId>,
    /// At most this many.
    pub limit: u32,
}

/// A pending request as the matcher reads it: id, made at, topic, zone,
/// availability, the mentor it avoids and the one it prefers.
type OpenRow = (
    RequestId,
    DateTime<Utc>,
    String,
    String,
    String,
    Option<MentorId>,
    Option<MentorId>,
);

/// A call called off with its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanceledCall {
    /// Call id.
    pub id: CallId,
    /// Its status before: a `dialing` or `in_progress` call must also be stopped
    /// at the provider.
    pub was: CallStatus,
    /// The provider's id of the mentor leg, once known.
    pub provider_call_sid: Option<String>,
}

/// What cancelling a request did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CancelOutcome {
    /// The request is now canceled, and so is its booked call if it had one.
    Canceled {
        /// The booked or running call that was called off.
        call: Option<CanceledCall>,
    },
    /// It was canceled before; nothing changed.
    AlreadyCanceled,
    /// It is over (completed, unreachable, expired) and cannot be canceled.
    Finished(RequestStatus),
    /// No such request.
    NotFound,
}

/// What erasing a request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EraseOutcome {
    /// The personal data is gone.
    Erased,
    /// It was erased before.
    AlreadyErased,
    /// The request is still open: cancel it (and its call) first.
    StillOpen,
    /// No such request.
    NotFound,
}

/// What an insert of a request returns: what only the database decides. The
/// rest of the new request's record is what was inserted ([`Insert::record`]),
/// which spares the intake writer reading every column back.
const INSERTED: &str = "id, manage_token_hash, created_at";

/// A row of [`INSERTED`].
#[derive(sqlx::FromRow)]
struct Inserted {
    id: RequestId,
    manage_token_hash: String,
    created_at: DateTime<Utc>,
}

/// How a request was inserted, beside its [`NewRequest`]: the status and consent
/// columns.
struct Insert {
    status: RequestStatus,
    consent_version: Option<&'static str>,
    consent_source: Option<ConsentSource>,
    confirmed_via: Option<ConfirmedVia>,
}

impl Insert {
    /// An intake's.
    fn of_intake(intake: &Intake) -> Insert {
        let (status, confirmed_via) = intake_state(intake);
        Insert {
            status,
            consent_version: Some(current_wording().version),
            consent_source: Some(intake.consent_source),
            confirmed_via,
        }
    }

    /// The record of `request` as this insert stored it and `row` answered: a
    /// new request has made no attempts and has no call; it was consented to and
    /// last changed at its creation; an unconfirmed one has its first code text
    /// queued (the database queues it as the request is stored: the triggers
    /// `request_first_code_text` on SQLite, `requests_created` on PostgreSQL).
    fn record(self, request: &NewRequest, row: Inserted) -> RequestRecord {
        let unconfirmed = self.status == RequestStatus::Unconfirmed;
        RequestRecord {
            id: row.id,
            name: request.name.clone(),
            phone: request.phone.as_str().to_owned(),
            timezone: request.zone,
            topic: request.topic.clone(),
            message: request.message.clone(),
            availability: request.availability.clone(),
            status: self.status,
            attempts: 0,
            manage_token_hash: row.manage_token_hash,
            consent: ConsentRecord {
                version: self.consent_version.map(str::to_owned),
                source: self.consent_source,
                given_at: row.created_at,
                confirmed_at: None,
                confirmed_via: self.confirmed_via,
            },
            confirmation: Confirmation {
                code_expires_at: None,
                tries: 0,
                codes_sent: u32::from(unconfirmed),
                text_queued: unconfirmed,
                send_error: None,
            },
            erased_at: None,
            preferred_mentor_id: None,
            follow_up_of: None,
            created_at: row.created_at,
            updated_at: row.created_at,
            call: None,
        }
    }
}

/// A request's availability as it is stored: JSON ranges in the request's zone.
fn stored_availability(request: &NewRequest) -> String {
    let availability: Vec<StoredRange> = request
        .availability
        .iter()
        .map(|range| StoredRange {
            weekdays: range.weekdays(),
            start: range.start(),
            end: range.end(),
        })
        .collect();
    serde_json::to_string(&availability).expect("ranges serialize")
}

const REQUEST_SELECT: &str = "
    select r.id, r.name, r.phone, r.timezone, r.topic, r.message, r.availability, r.status,
           r.attempts, r.manage_token_hash, r.consented_at, r.consent_version,
           r.consent_source, r.confirmed_at, r.confirmed_via, k.expires_at as confirm_expires_at,
           coalesce(k.tries, 0) as confirm_tries, coalesce(k.codes_sent, 0) as confirm_codes_sent,
           k.send_at as confirm_send_at, k.send_error as confirm_send_error, r.erased_at,
           r.preferred_mentor_id, r.follow_up_of, r.created_at, r.updated_at,
           c.id as call_id, c.starts_at as call_starts_at, m.name as call_mentor_name
    from requests r
    left join request_confirmations k on k.request_id = r.id
    left join calls c on c.request_id = r.id
        and c.status in ('scheduled', 'dialing', 'in_progress')
    left join mentors m on m.id = c.mentor_id";

/// What erasing keeps of a request's calls and texts: the statements after the
/// request row's own (`$1` the request id). Events keep their kind and time; their
/// details go.
const ERASE_AROUND_REQUEST: &[&str] = &[
    "update request_confirmations set code_hash = null, expires_at = null,
         prev_code_hash = null, prev_expires_at = null, send_at = null, send_error = null
     where request_id = $1",
    "update call_events set detail = '{}'
     where call_id in (select id from calls where request_id = $1)",
    "update calls set seeker_call_sid = null where request_id = $1",
    "delete from notifications
     where request_id = $1 and recipient = 'seeker' and status = 'pending'",
    "update notifications set last_error = null where request_id = $1",
    "delete from manage_links where request_id = $1",
];

impl Store {
    /// Stores a new `status` request whatever its number asked before and with no
    /// consent source: for the operator's tools and seeding. An unconfirmed one
    /// has its code text queued, as intake's have.
    pub async fn insert_request(
        &self,
        request: &NewRequest,
        status: RequestStatus,
        manage_token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<RequestRecord> {
        let sql = format!(
            "insert into requests (name, phone, timezone, topic, message, availability, status,
                manage_token_hash, consented_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)
             returning {INSERTED}"
        );
        let row: Inserted = with_pool!(self, pool, {
            bind_request!(sqlx::query_as(&sql), request)
                .bind(status.as_str())
                .bind(manage_token_hash)
                .bind(now)
                .fetch_one(pool)
                .await
        })
        .map_err(StoreError::conflict_as(Conflict::OpenRequestForPhone))?;
        let insert = Insert {
            status,
            consent_version: None,
            consent_source: None,
            confirmed_via: None,
        };
        Ok(insert.record(request, row))
    }

    /// Stores each of `intakes` as [`Store::insert_request_within_cap`] would,
    /// with one commit for all of them (see [`super::RequestIntake`]): one
    /// statement, which skips refused rows (`on conflict do nothing`) and stores
    /// the others, with their code texts. Each request it left out (its number's
    /// cap reached, or a unique index refused it) is then tried on its own,
    /// which says which: a refusal by a unique index is that request's
    /// [`StoreError::Conflict`], and the others go on. A failure of the batch's
    /// statement stores none of them and is the `Err`.
    #[instrument(skip_all, fields(requests = intakes.len()))]
    pub async fn insert_requests_together(
        &self,
        intakes: &[Intake],
    ) -> StoreResult<Vec<StoreResult<Option<RequestRecord>>>> {
        // The whole method differs per backend.
        match self {
            Store::Sqlite(pool) => insert_batch_on(&mut *pool.acquire().await?, intakes).await,
            Store::Postgres(pool) => {
                let mut inserted =
                    by_token_hash(insert_batch_postgres(intakes).fetch_all(pool).await?);
                let mut stored = Vec::with_capacity(intakes.len());
                for intake in intakes {
                    stored.push(match inserted.remove(&intake.manage_token_hash) {
                        Some(row) => {
                            Ok(Some(Insert::of_intake(intake).record(&intake.request, row)))
                        }
                        None => self.insert_request_within_cap(intake).await,
                    });
                }
                Ok(stored)
            }
        }
    }

    /// Stores a new request as `intake` says, with the current consent wording,
    /// unless its phone number already made `intake.cap` requests after
    /// `intake.since` (then `None`). A second open request for the number is
    /// [`StoreError::Conflict`]. Returns the stored row as the request view reads
    /// it (a new request has no call yet); a code text, when one is due, is
    /// queued with it for the notifier.
    #[instrument(skip_all)]
    pub async fn insert_request_within_cap(
        &self,
        intake: &Intake,
    ) -> StoreResult<Option<RequestRecord>> {
        let sql = insert_within_cap_sql();
        let row: Option<Inserted> = with_pool!(self, pool, {
            bind_intake!(sqlx::query_as(&sql), intake)
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::conflict_as(Conflict::OpenRequestForPhone))?;
        Ok(row.map(|row| Insert::of_intake(intake).record(&intake.request, row)))
    }

    /// When the requests for `phone` made after `since` were made, oldest
    /// first (whatever became of them).
    #[instrument(skip_all)]
    pub async fn request_times_for_phone(
        &self,
        phone: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        Ok(with_pool!(self, pool, {
            sqlx::query_scalar(
                "select created_at from requests where phone = $1 and created_at > $2
                 order by created_at",
            )
            .bind(phone)
            .bind(since)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The request with `id`.
    #[instrument(skip_all, fields(request.id = id.0))]
    pub async fn request(&self, id: RequestId) -> StoreResult<Option<RequestRecord>> {
        let sql = format!("{REQUEST_SELECT} where r.id = $1");
        let row: Option<RequestRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.map(RequestRecord::try_from).transpose()
    }

    /// The request whose manage token hashes to `manage_token_hash` (the seeker's
    /// private link), or that a reminder's manage link with that hash opens at
    /// `now` (not expired, not erased). The hash is compared by the database
    /// through a unique index: it is the digest of a 256-bit random token, so
    /// equality reveals nothing usable about other tokens.
    #[instrument(skip_all)]
    pub async fn request_by_manage_token(
        &self,
        manage_token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RequestRecord>> {
        let sql = format!(
            "{REQUEST_SELECT} where r.id = coalesce(
                 (select id from requests where manage_token_hash = $1),
                 (select request_id from manage_links where token_hash = $1 and expires_at > $2))"
        );
        let row: Option<RequestRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(manage_token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await
        })?;
        row.map(RequestRecord::try_from).transpose()
    }

    /// Requests matching `filter`, by id.
    #[instrument(skip_all)]
    pub async fn requests(&self, filter: RequestFilter) -> StoreResult<Vec<RequestRecord>> {
        let sql = format!(
            "{REQUEST_SELECT}
             where ($1 is null or r.status = $1) and r.id > $2
             order by r.id limit $3"
        );
        let rows: Vec<RequestRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(filter.status.map(RequestStatus::as_str))
                .bind(filter.after_id.unwrap_or(RequestId(0)))
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// Requests matching `filter` for the operator's list, newest first.
    /// `after_id` is ignored.
    #[instrument(skip_all)]
    pub async fn requests_newest_first(
        &self,
        filter: RequestFilter,
    ) -> StoreResult<Vec<RequestRecord>> {
        let sql = format!(
            "{REQUEST_SELECT}
             where ($1 is null or r.status = $1)
             order by r.id desc limit $2"
        );
        let rows: Vec<RequestRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(filter.status.map(RequestStatus::as_str))
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(RequestRecord::try_from).collect()
    }

    /// How many requests there are in each status (statuses without any are left out).
    #[instrument(skip_all)]
    pub async fn count_requests_by_status(&self) -> StoreResult<Vec<(RequestStatus, u64)>> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool, {
            sqlx::query_as("select status, count(*) from requests group by status")
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter()
            .map(|(status, count)| {
                let status = status
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("request status {status}")))?;
                Ok((status, u64::try_from(count).unwrap_or(0)))
            })
            .collect()
    }

    /// Pending requests as the matcher sees them, in no particular order (the
    /// planner serves the oldest first).
    #[instrument(skip_all)]
    pub async fn open_requests(
        &self,
        calling_hours: CallingHours,
    ) -> StoreResult<Vec<OpenRequest>> {
        // Only what matching reads: no names, numbers or messages, and no joins (a
        // pending request has no live call).
        // The planner orders them itself; the rows come packed into one text.
        let sql = packed_select(
            self,
            "id, created_at, topic, timezone, availability, avoid_mentor_id, preferred_mentor_id",
            "from requests where status = 'pending'",
        );
        let packed: String = with_pool!(self, pool, {
            sqlx::query_scalar(&sql).fetch_one(pool).await
        })?;
        let rows: Vec<OpenRow> = unpack("pending requests", &packed)?;
        // Most seekers share a zone and an availability with many others: parse
        // each distinct pair once.
        let mut parsed: HashMap<(String, String), SeekerHours> = HashMap::new();
        rows.into_iter()
            .map(
                |(id, created_at, topic, timezone, availability, avoid, preferred)| {
                    let hours = match parsed.entry((timezone, availability)) {
                        Entry::Occupied(known) => known.get().clone(),
                        Entry::Vacant(new) => {
                            let (timezone, availability) = new.key();
                            let (zone, availability) =
                                zone_and_availability(id, timezone, availability)?;
                            new.insert(SeekerHours::new(zone, availability, calling_hours))
                                .clone()
                        }
                    };
                    Ok(OpenRequest {
                        id,
                        created_at,
                        hours,
                        topic,
                        avoid_mentor: avoid,
                        // The wish to talk to a mentor again is made with the request.
                        preferred_mentor: preferred
                            .map(|mentor| (mentor, created_at + PREFERENCE_HOLDS)),
                    })
                },
            )
            .collect()
    }

    /// Cancels request `id` and its booked call, in one transaction.
    #[instrument(skip_all, fields(request.id = id.0))]
    pub async fn cancel_request(
        &self,
        id: RequestId,
        now: DateTime<Utc>,
    ) -> StoreResult<CancelOutcome> {
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let status: Option<String> =
                sqlx::query_scalar("select status from requests where id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(status) = status else {
                return Ok(CancelOutcome::NotFound);
            };
            let status = parse_request_status(id, &status)?;
            if status == RequestStatus::Canceled {
                return Ok(CancelOutcome::AlreadyCanceled);
            }
            if !status.is_open() {
                return Ok(CancelOutcome::Finished(status));
            }
            sqlx::query("update requests set status = $1, updated_at = $2 where id = $3")
                .bind(RequestStatus::Canceled.as_str())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if status == RequestStatus::Unconfirmed {
                sqlx::query(&format!("{SPEND_CODE} where request_id = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let live: Option<(CallId, String, Option<String>)> = sqlx::query_as(
                "select id, status, provider_call_sid from calls
                 where request_id = $1 and status in ('scheduled', 'dialing', 'in_progress')",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let mut call = None;
            if let Some((call_id, status, provider_call_sid)) = live {
                sqlx::query(
                    "update calls set status = $1, outcome = $2, ended_at = $3, updated_at = $3
                     where id = $4",
                )
                .bind(CallStatus::Canceled.as_str())
                .bind(Outcome::Canceled.as_str())
                .bind(now)
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({ "by": "request_canceled", "was": status });
                insert_event!(
                    &mut *tx,
                    NewCallEvent::new(call_id, "canceled", &detail, now)
                )?;
                super::notifications::enqueue_cancel_notices!(&mut *tx, id, call_id, now)?;
                let was = status
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("call {call_id}: status")))?;
                call = Some(CanceledCall {
                    id: call_id,
                    was,
                    provider_call_sid,
                });
            }
            tx.commit().await?;
            Ok(CancelOutcome::Canceled { call })
        })
    }

    /// Up to `limit` finished requests (completed, canceled, unreachable, expired)
    /// not erased yet whose last change was at or before `finished_before`.
    #[instrument(skip_all)]
    pub async fn finished_requests_to_erase(
        &self,
        finished_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RequestId>> {
        Ok(with_pool!(self, pool, {
            sqlx::query_scalar(
                "select id from requests
                 where status in ('completed', 'canceled', 'unreachable', 'expired')
                   and erased_at is null and updated_at <= $1
                 order by updated_at limit $2",
            )
            .bind(finished_before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })?)
    }

    /// Erases the seeker's personal data of request `id` for good: name, phone,
    /// topic, message and availability become empty, the details of its calls'
    /// events and the seeker leg's provider id go, and texts still waiting for the
    /// seeker are dropped. Status, attempts, times and the calls' outcomes stay,
    /// as anonymous counts. An open request must be canceled first.
    ///
    /// Erasures may run at once (an operator, the seeker's link, the housekeeping
    /// of several instances): exactly one of them erases, the others find the
    /// request [`EraseOutcome::AlreadyErased`].
    ///
    /// On SQLite, connections run with `secure_delete` so freed bytes are zeroed;
    /// callers then call [`Store::checkpoint_after_erasure`] once (after one
    /// erasure or a batch) so the old row versions leave the write-ahead log too.
    #[instrument(skip_all, fields(request.id = id.0))]
    pub async fn erase_request(
        &self,
        id: RequestId,
        now: DateTime<Utc>,
    ) -> StoreResult<EraseOutcome> {
        Ok(with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let state: Option<(String, Option<DateTime<Utc>>)> =
                sqlx::query_as("select status, erased_at from requests where id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((status, erased_at)) = state else {
                return Ok(EraseOutcome::NotFound);
            };
            if erased_at.is_some() {
                return Ok(EraseOutcome::AlreadyErased);
            }
            if parse_request_status(id, &status)?.is_open() {
                return Ok(EraseOutcome::StillOpen);
            }
            // The read above takes no lock (PostgreSQL): another erasure may have
            // committed since, so the update checks again and only one of them
            // erases.
            let erased = sqlx::query(
                "update requests set name = '', phone = '', topic = '', message = '',
                     availability = '[]', erased_at = $2, updated_at = $2
                 where id = $1 and erased_at is null",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if erased == 0 {
                return Ok(EraseOutcome::AlreadyErased);
            }
            for statement in ERASE_AROUND_REQUEST {
                sqlx::query(statement).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            EraseOutcome::Erased
        }))
    }

    /// Moves erased rows' old versions out of SQLite's write-ahead log
    /// ([`Store::checkpoint`]); best effort: a checkpoint that finds readers in the
    /// way leaves the rest to SQLite's automatic checkpoints.
    pub async fn checkpoint_after_erasure(&self) {
        if let Err(error) = self.checkpoint().await {
            tracing::warn!(error = %error, "checkpoint after erasure failed");
        }
    }
}

/// SQLite's batch insert: one insert of `count` requests, each bound as
/// [`bind_intake!`] binds it, that leaves out a request whose number reached its
/// cap or that a unique index refuses, and returns the stored rows.
fn insert_batch_sql(markers: &mut Markers, count: usize) -> String {
    let rows = format!("values {}", markers.groups(count, 14));
    format!("{} returning {INSERTED}", insert_batch_head(&rows))
}

/// PostgreSQL's batch insert: the batch of [`insert_batch_sql`], its columns
/// bound as 14 arrays and unnested, so that one statement text serves every
/// batch size. With a `values` list per size, each size was a statement of its
/// own for each connection to parse, plan and cache (and the cache holds 100),
/// and each request's 14 values were 14 parameters to encode and bind.
fn insert_batch_postgres(
    intakes: &[Intake],
) -> sqlx::query::QueryAs<'_, sqlx::Postgres, Inserted, sqlx::postgres::PgArguments> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{} returning {INSERTED}",
            insert_batch_head(
                "select * from unnest($1::text[], $2::text[], $3::text[], $4::text[],
                    $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                    $10::timestamptz[], $11::bigint[], $12::text[], $13::text[], $14::text[])"
            )
        )
    });
    // One array per column, in the order of `bind_intake!`.
    sqlx::query_as(SQL.as_str())
        .bind(column(intakes, |intake| intake.request.name.as_str()))
        .bind(column(intakes, |intake| intake.request.phone.as_str()))
        .bind(column(intakes, |intake| intake.request.zone.name()))
        .bind(column(intakes, |intake| intake.request.topic.as_str()))
        .bind(column(intakes, |intake| intake.request.message.as_str()))
        .bind(column(intakes, |intake| {
            stored_availability(&intake.request)
        }))
        .bind(column(intakes, |intake| intake_state(intake).0.as_str()))
        .bind(column(intakes, |intake| intake.manage_token_hash.as_str()))
        .bind(column(intakes, |intake| intake.now))
        .bind(column(intakes, |intake| intake.since))
        .bind(column(intakes, |intake| intake.cap))
        .bind(column(intakes, |_| current_wording().version))
        .bind(column(intakes, |intake| intake.consent_source.as_str()))
        .bind(column(intakes, |intake| {
            intake_state(intake).1.map(ConfirmedVia::as_str)
        }))
}

/// `value` of each of `intakes`: one column of a batch, bound as an array.
fn column<'i, T>(intakes: &'i [Intake], value: impl Fn(&'i Intake) -> T) -> Vec<T> {
    intakes.iter().map(value).collect()
}

/// The insert of a batch whose 14 columns `rows` selects (in the order of
/// [`bind_intake!`]), without what it returns.
fn insert_batch_head(rows: &str) -> String {
    format!(
        "with b (name, phone, timezone, topic, message, availability, status,
            manage_token_hash, now, since, cap, consent_version, consent_source,
            confirmed_via) as ({rows})
         insert into requests (name, phone, timezone, topic, message, availability, status,
            manage_token_hash, consented_at, created_at, updated_at, consent_version,
            consent_source, confirmed_via)
         select name, phone, timezone, topic, message, availability, status,
            manage_token_hash, now, now, now, consent_version, consent_source, confirmed_via
         from b
         where (select count(*) from requests r
                where r.phone = b.phone and r.created_at > b.since) < b.cap
         on conflict do nothing"
    )
}

/// Stored rows by their manage token's hash, which tells each caller's apart.
fn by_token_hash(rows: Vec<Inserted>) -> HashMap<String, Inserted> {
    rows.into_iter()
        .map(|row| (row.manage_token_hash.clone(), row))
        .collect()
}

/// The SQLite side of [`Store::insert_requests_together`], on `connection`:
/// the intake writer passes the connection it keeps for itself.
///
/// The batch is one statement, and so one transaction of its own: one round
/// trip to SQLite's thread, one pass over the indexes' pages, one commit (the
/// database queues the code texts as the requests are stored).
pub(crate) async fn insert_batch_on(
    connection: &mut SqliteConnection,
    intakes: &[Intake],
) -> StoreResult<Vec<StoreResult<Option<RequestRecord>>>> {
    let sql = insert_batch_sql(&mut Markers::anonymous(), intakes.len());
    let mut insert = sqlx::query_as::<_, Inserted>(&sql);
    for owned in intakes {
        insert = bind_intake!(insert, owned);
    }
    let mut inserted = by_token_hash(insert.fetch_all(&mut *connection).await?);
    // A request left out reached its number's cap, or a unique index refused
    // it (say, two for one number in this batch): its own statement says which.
    let single = insert_within_cap_sql();
    let mut stored = Vec::with_capacity(intakes.len());
    for owned in intakes {
        let row = match inserted.remove(&owned.manage_token_hash) {
            Some(row) => Ok(Some(row)),
            None => bind_intake!(sqlx::query_as::<_, Inserted>(&single), owned)
                .fetch_optional(&mut *connection)
                .await
                .map_err(StoreError::conflict_as(Conflict::OpenRequestForPhone)),
        };
        stored.push(
            row.map(|row| row.map(|row| Insert::of_intake(owned).record(&owned.request, row))),
        );
    }
    Ok(stored)
}

/// Reads a stored request status.
pub(super) fn parse_request_status(id: RequestId, status: &str) -> StoreResult<RequestStatus> {
    status
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("request {id}: status")))
}
