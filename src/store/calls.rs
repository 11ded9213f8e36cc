//! Calls: the matcher's bookings (each with its event, notices and reminder, in
//! one transaction), reading calls for the API, the pages and the reports, and the
//! event log every call keeps ([`NewCallEvent`], written with `insert_event!`).
//!
//! Not here: moving a call through dialing to its outcome (`telephony`),
//! cancelling one with its request (`requests`), and wording for people: events
//! carry a kind and machine-readable details.
//!
//! Longer than most modules because every read of calls (the record, listings
//! and their filters, events, weekly tallies) shares one row type and one column
//! list: a copy of the list elsewhere once missed columns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tracing::instrument;

use super::feedback::{CallFeedback, stored_score};
use super::notifications::{enqueue_reminders, reminders_of};
use super::{
    BeginWrite, Markers, Store, StoreError, StoreResult, from_json, packed_select, unpack,
    with_pool,
};
use crate::domain::feedback::Score;
use crate::domain::matching::{BookedCall, Booking};
use crate::domain::reminder::ReminderPolicy;
use crate::domain::schedule::Slot;
use crate::domain::status::{CallStatus, Outcome};
use crate::ids::{CallId, MentorId, RequestId};

/// The call a request is booked into, as the seeker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSummary {
    /// Call id.
    pub id: CallId,
    /// When the mentor will call.
    pub starts_at: DateTime<Utc>,
    /// Who will call.
    pub mentor_name: String,
}

/// A call's start, how it ended, and the seeker's feedback score if they
/// answered: what the weekly outcome table counts.
pub type CallOutcome = (DateTime<Utc>, Outcome, Option<Score>);

/// The offer of another call a mentor made at the end of a call (they pressed 1
/// after the seeker hung up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowUpOffer {
    /// When the mentor pressed 1.
    pub offered_at: DateTime<Utc>,
    /// The request the seeker's AGAIN made, once they replied.
    pub request_id: Option<RequestId>,
}

/// A stored call.
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// Id.
    pub id: CallId,
    /// The request it serves.
    pub request_id: RequestId,
    /// The mentor who calls.
    pub mentor_id: MentorId,
    /// Slot start.
    pub starts_at: DateTime<Utc>,
    /// Slot end.
    pub ends_at: DateTime<Utc>,
    /// Where it stands.
    pub status: CallStatus,
    /// How it ended.
    pub outcome: Option<Outcome>,
    /// Seconds the bridged seeker leg lasted.
    pub talk_seconds: Option<u32>,
    /// The provider's id for the mentor leg.
    pub provider_call_sid: Option<String>,
    /// The missed call this one is the second try of, booked in the same commute.
    pub retry_of: Option<CallId>,
    /// The seeker's answer to the feedback question, once they replied.
    pub feedback: Option<CallFeedback>,
    /// Whether the seeker placed it, calling the service number back after a
    /// missed call (the call-back line), rather than the dispatcher.
    pub inbound: bool,
    /// The mentor's offer of another call at its end, if they made one.
    pub follow_up: Option<FollowUpOffer>,
    /// The call whose follow-up offer this call's request answers (the seeker
    /// replied AGAIN to it).
    pub follow_up_of: Option<CallId>,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One entry of a call's event log.
#[derive(Clone, Debug, Serialize)]
pub struct CallEvent {
    /// Event id; increases with time.
    pub id: i64,
    /// What happened (`booked`, `canceled`, …).
    pub kind: String,
    /// What the event carried.
    pub detail: serde_json::Value,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// An entry to append to a call's event log.
#[derive(Clone, Copy, Debug)]
pub struct NewCallEvent<'a> {
    /// The call.
    pub call_id: CallId,
    /// What happened (`dialing`, `ended`, a callback's name, …).
    pub kind: &'a str,
    /// What the event carries (never a phone number).
    pub detail: &'a serde_json::Value,
    /// The provider's id of the leg a callback is about.
    pub provider_sid: Option<&'a str>,
    /// The provider's sequence number of a callback. With `provider_sid` it names
    /// the callback, which is then recorded at most once.
    pub sequence_number: Option<i64>,
    /// When it is recorded.
    pub at: DateTime<Utc>,
}

impl<'a> NewCallEvent<'a> {
    /// An event with nothing from the provider to deduplicate it by: each one
    /// recorded is a new entry.
    pub fn new(
        call_id: CallId,
        kind: &'a str,
        detail: &'a serde_json::Value,
        at: DateTime<Utc>,
    ) -> NewCallEvent<'a> {
        NewCallEvent {
            call_id,
            kind,
            detail,
            provider_sid: None,
            sequence_number: None,
            at,
        }
    }

    /// The same event as the provider's callback `sequence_number` about leg
    /// `provider_sid`: recorded at most once when both are known.
    pub fn deduplicated_by(
        self,
        provider_sid: Option<&'a str>,
        sequence_number: Option<i64>,
    ) -> NewCallEvent<'a> {
        NewCallEvent {
            provider_sid,
            sequence_number,
            ..self
        }
    }
}

/// Appends `$event` (a [`NewCallEvent`]) to its call's log in `$executor`:
/// `Ok(false)` when its callback was recorded before, or there is no such call.
/// A macro, not a function, so it takes either backend's executor (it expands in
/// each arm of `with_pool!`).
macro_rules! insert_event {
    ($executor:expr, $event:expr) => {{
        let event: $crate::store::NewCallEvent<'_> = $event;
        sqlx::query($crate::store::calls::INSERT_CALL_EVENT)
            .bind(event.call_id)
            .bind(event.kind)
            .bind(event.detail.to_string())
            .bind(event.provider_sid)
            .bind(event.sequence_number)
            .bind(event.at)
            .execute($executor)
            .await
            .map(|done| done.rows_affected() > 0)
    }};
}
pub(super) use insert_event;

/// The statement of [`insert_event!`]; a callback recorded before is skipped by
/// the unique index on (provider sid, sequence number).
pub(super) const INSERT_CALL_EVENT: &str = "insert into call_events
        (call_id, kind, detail, provider_sid, sequence_number, created_at)
    select $1, $2, $3, $4, $5, $6 where exists (select 1 from calls where id = $1)
    on conflict do nothing";

/// A call with its event log.
#[derive(Clone, Debug)]
pub struct CallDetail {
    /// The call.
    pub call: CallRecord,
    /// Its events, oldest first.
    pub events: Vec<CallEvent>,
}

/// Which calls to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallFilter {
    /// Only this status.
    pub status: Option<CallStatus>,
    /// Only this mentor's.
    pub mentor_id: Option<MentorId>,
    /// Only ids above this one (keyset paging).
    pub after_id: Option<CallId>,
    /// At most this many.
    pub limit: u32,
}

/// A `calls` row as read; other store modules embed it with `#[sqlx(flatten)]`.
#[derive(sqlx::FromRow)]
pub(super) struct CallRow {
    id: CallId,
    request_id: RequestId,
    mentor_id: MentorId,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: String,
    outcome: Option<String>,
    talk_seconds: Option<i32>,
    provider_call_sid: Option<String>,
    retry_of: Option<CallId>,
    feedback_score: Option<i32>,
    feedback_at: Option<DateTime<Utc>>,
    inbound: bool,
    follow_up_offered_at: Option<DateTime<Utc>>,
    follow_up_request_id: Option<RequestId>,
    follow_up_of: Option<CallId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CallRow> for CallRecord {
    type Error = StoreError;
    fn try_from(row: CallRow) -> StoreResult<CallRecord> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("call {}: {what}", row.id));
        Ok(CallRecord {
            id: row.id,
            request_id: row.request_id,
            mentor_id: row.mentor_id,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            status: row.status.parse().map_err(|_| corrupt("status"))?,
            outcome: row
                .outcome
                .map(|text| text.parse())
                .transpose()
                .map_err(|_| corrupt("outcome"))?,
            talk_seconds: row
                .talk_seconds
                .map(u32::try_from)
                .transpose()
                .map_err(|_| corrupt("talk_seconds"))?,
            provider_call_sid: row.provider_call_sid,
            retry_of: row.retry_of,
            feedback: match (stored_score(row.id, row.feedback_score)?, row.feedback_at) {
                (Some(score), Some(received_at)) => Some(CallFeedback { score, received_at }),
                _ => None,
            },
            inbound: row.inbound,
            follow_up: row.follow_up_offered_at.map(|offered_at| FollowUpOffer {
                offered_at,
                request_id: row.follow_up_request_id,
            }),
            follow_up_of: row.follow_up_of,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    kind: String,
    detail: String,
    created_at: DateTime<Utc>,
}

/// Bookings [`Store::book`] writes per round of statements: few round trips,
/// and well under both backends' limit on bound parameters.
pub const BOOK_CHUNK: usize = 500;

/// The columns of [`CallRow`], to select `from calls` (unaliased); a query that
/// joins the call's request names them itself, taking `follow_up_of` from the join.
pub(super) const CALL_COLUMNS: &str =
    "id, request_id, mentor_id, starts_at, ends_at, status, outcome,
    talk_seconds, provider_call_sid, retry_of, feedback_score, feedback_at, inbound,
    follow_up_offered_at, follow_up_request_id,
    (select fr.follow_up_of from requests fr where fr.id = calls.request_id) as follow_up_of,
    created_at, updated_at";

impl Store {
    /// Persists the matcher's bookings. Each one moves its request from `pending`
    /// to `scheduled` and inserts the call; a booking whose request is no longer
    /// pending, or whose slot another run took first (the unique index on
    /// mentor and start), is skipped and leaves nothing behind. Returns the ids of
    /// the calls booked, in the order of `bookings`.
    ///
    /// Bookings are written `BOOK_CHUNK` at a time with a few set-based
    /// statements per chunk (calls, requests, events, notices), all in one
    /// transaction: a statement per booking made 100,000 bookings take minutes.
    ///
    /// No reminders are queued: for the benchmarks and the tests of booking
    /// itself. The matcher books with [`Store::book_reminding`].
    pub async fn book(&self, bookings: &[Booking], now: DateTime<Utc>) -> StoreResult<Vec<CallId>> {
        self.book_reminding(bookings, ReminderPolicy::OFF, now)
            .await
    }

    /// [`Store::book`], also queuing each call's reminder as `reminders` says
    /// (none when it would be due before `now`), in the same transaction.
    #[instrument(skip_all, fields(bookings = bookings.len()))]
    pub async fn book_reminding(
        &self,
        bookings: &[Booking],
        reminders: ReminderPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CallId>> {
        let mut booked = Vec::with_capacity(bookings.len());
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            for chunk in bookings.chunks(BOOK_CHUNK) {
                // The call goes in only while its request is pending and its mentor
                // is not resting (a rest that began since the plan was read); a
                // slot or a request someone else booked meanwhile is skipped by the
                // unique indexes. Both are looked up by id for each booking: as a
                // join, PostgreSQL hashed every pending request (and mentor) for
                // each chunk, which made persisting 100,000 bookings quadratic.
                let mut markers = Markers::new(self);
                let sql = format!(
                    "with b (request_id, mentor_id, starts_at, ends_at) as (values {})
                     insert into calls (request_id, mentor_id, starts_at, ends_at, status,
                        created_at, updated_at)
                     select b.request_id, b.mentor_id, b.starts_at, b.ends_at, 'scheduled', {}, {}
                     from b
                     where (select r.status from requests r where r.id = b.request_id) = 'pending'
                       and (select m.resting_since is null from mentors m where m.id = b.mentor_id)
                     on conflict do nothing
                     returning id, request_id, starts_at",
                    markers.groups(chunk.len(), 4),
                    markers.next(),
                    markers.next()
                );
                let mut insert = sqlx::query_as::<_, (CallId, RequestId, DateTime<Utc>)>(&sql);
                for booking in chunk {
                    insert = insert
                        .bind(booking.request_id)
                        .bind(booking.mentor_id)
                        .bind(booking.slot.starts_at)
                        .bind(booking.slot.ends_at);
                }
                let inserted = insert.bind(now).bind(now).fetch_all(&mut *tx).await?;
                if inserted.is_empty() {
                    continue;
                }
                // Locks the requests (PostgreSQL); one canceled since the insert
                // read it stays canceled, and its call is taken back out. Each
                // request claimed answers with its seeker's zone, for the reminder.
                let mut markers = Markers::new(self);
                let sql = format!(
                    "update requests set status = 'scheduled', updated_at = {}
                     where status = 'pending' and id in ({}) returning id, timezone",
                    markers.next(),
                    markers.list(inserted.len())
                );
                let mut update = sqlx::query_as::<_, (RequestId, String)>(&sql).bind(now);
                for (_, request_id, _) in &inserted {
                    update = update.bind(*request_id);
                }
                let zones: HashMap<RequestId, String> =
                    update.fetch_all(&mut *tx).await?.into_iter().collect();
                let (kept, orphaned): (Vec<_>, Vec<_>) = inserted
                    .into_iter()
                    .partition(|(_, request_id, _)| zones.contains_key(request_id));
                if !orphaned.is_empty() {
                    let sql = format!(
                        "delete from calls where id in ({})",
                        Markers::new(self).list(orphaned.len())
                    );
                    let mut delete = sqlx::query(&sql);
                    for (call_id, _, _) in &orphaned {
                        delete = delete.bind(*call_id);
                    }
                    delete.execute(&mut *tx).await?;
                }
                if kept.is_empty() {
                    continue;
                }
                // The events and notices below take the calls' ids (and requests)
                // from the insert's answer rather than reading the calls back: on
                // PostgreSQL a read by 500 ids became a scan of every call booked
                // so far once the table outgrew the statistics taken before the
                // transaction began, which made persisting quadratic again.
                let mut markers = Markers::new(self);
                let sql = format!(
                    "with k (id) as (values {})
                     insert into call_events (call_id, kind, detail, created_at)
                     select id, 'booked', '{{}}', {} from k order by id",
                    markers.groups(kept.len(), 1),
                    markers.next()
                );
                let mut events = sqlx::query(&sql);
                for (call_id, _, _) in &kept {
                    events = events.bind(*call_id);
                }
                events.bind(now).execute(&mut *tx).await?;
                // A seeker's "finding you a new time" text not sent yet is
                // dropped: the notice below tells the new time instead. Found
                // through `notifications_seeker_cancels` alone: `status`
                // is compared in a form no other index serves, because in a long
                // booking transaction PostgreSQL's statistics still see the outbox
                // as it was before it, and it read every pending notice through
                // the notifier's due index instead (16 ms a chunk at 100,000).
                let sql = format!(
                    "delete from notifications
                     where recipient = 'seeker' and kind = 'canceled'
                       and coalesce(status, '') = 'pending' and attempts = 0
                       and request_id in ({})",
                    Markers::new(self).list(kept.len())
                );
                let mut superseded = sqlx::query(&sql);
                for (_, request_id, _) in &kept {
                    superseded = superseded.bind(*request_id);
                }
                superseded.execute(&mut *tx).await?;
                // The seeker's notice says "moved" when the request had a call before.
                let mut markers = Markers::new(self);
                let sql = format!(
                    "with c (id, request_id) as (values {})
                     insert into notifications (request_id, call_id, recipient, kind, status,
                        next_attempt_at, created_at)
                     select c.request_id, c.id, n.recipient,
                            case when n.recipient = 'seeker' and exists (
                                     select 1 from calls o
                                     where o.request_id = c.request_id and o.id <> c.id)
                                 then 'moved' else 'booked' end,
                            'pending', {}, {}
                     from c
                     cross join (select 1 as position, 'seeker' as recipient
                                 union all select 2, 'mentor') n
                     order by c.id, n.position",
                    markers.groups(kept.len(), 2),
                    markers.next(),
                    markers.next()
                );
                let mut notices = sqlx::query(&sql);
                for (call_id, request_id, _) in &kept {
                    notices = notices.bind(*call_id).bind(*request_id);
                }
                notices.bind(now).bind(now).execute(&mut *tx).await?;
                if reminders.is_on() {
                    // From the insert's and the update's answers, as the
                    // events and notices above: nothing is read back.
                    let calls = kept.iter().map(|&(call_id, request_id, starts_at)| {
                        (call_id, request_id, starts_at, zones[&request_id].as_str())
                    });
                    let due = reminders_of(calls, reminders, now)?;
                    enqueue_reminders!(&mut *tx, self, &due)?;
                }
                let mut call_of: HashMap<RequestId, CallId> = kept
                    .into_iter()
                    .map(|(call_id, request_id, _)| (request_id, call_id))
                    .collect();
                booked.extend(
                    chunk
                        .iter()
                        .filter_map(|booking| call_of.remove(&booking.request_id)),
                );
            }
            tx.commit().await?;
        });
        Ok(booked)
    }

    /// Calls that hold a mentor's time (anything but canceled, and calls the
    /// mentor gave back: they said they cannot make that time) and overlap
    /// `[from, to)`.
    #[instrument(skip_all)]
    pub async fn booked_calls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<BookedCall>> {
        // Every matcher run reads them all (100,000 at scale): packed into one text.
        let sql = packed_select(
            self,
            "mentor_id, starts_at, ends_at",
            "from calls where (status <> 'canceled' or released_by = 'mentor')
                 and starts_at < $1 and ends_at > $2",
        );
        let packed: String = with_pool!(self, pool, {
            sqlx::query_scalar(&sql)
                .bind(to)
                .bind(from)
                .fetch_one(pool)
                .await
        })?;
        let rows: Vec<(MentorId, DateTime<Utc>, DateTime<Utc>)> = unpack("booked calls", &packed)?;
        Ok(rows
            .into_iter()
            .map(|(mentor_id, starts_at, ends_at)| BookedCall {
                mentor_id,
                slot: Slot { starts_at, ends_at },
            })
            .collect())
    }

    /// Start instants of mentor `mentor_id`'s booked calls in `[from, to)`.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn booked_starts(
        &self,
        mentor_id: MentorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let starts = with_pool!(self, pool, {
            sqlx::query_scalar(
                "select starts_at from calls
                 where mentor_id = $1 and status <> 'canceled'
                   and starts_at >= $2 and starts_at < $3
                 order by starts_at",
            )
            .bind(mentor_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?;
        Ok(starts)
    }

    /// The call with `id` and its event log.
    #[instrument(skip_all, fields(call.id = id.0))]
    pub async fn call(&self, id: CallId) -> StoreResult<Option<CallDetail>> {
        let sql = format!("select {CALL_COLUMNS} from calls where id = $1");
        let (row, events): (Option<CallRow>, Vec<EventRow>) = with_pool!(self, pool, {
            let mut tx = pool.begin().await?;
            let row = sqlx::query_as(&sql)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let events = sqlx::query_as(
                "select id, kind, detail, created_at from call_events
                 where call_id = $1 order by id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (row, events)
        });
        let Some(row) = row else { return Ok(None) };
        let events = events
            .into_iter()
            .map(|event| {
                Ok(CallEvent {
                    id: event.id,
                    detail: from_json("detail", &event.detail)?,
                    kind: event.kind,
                    created_at: event.created_at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(CallDetail {
            call: row.try_into()?,
            events,
        }))
    }

    /// Every call ever booked for request `request_id`, earliest first: the
    /// seeker's reschedule history and the live call, if any.
    #[instrument(skip_all, fields(request.id = request_id.0))]
    pub async fn calls_of_request(&self, request_id: RequestId) -> StoreResult<Vec<CallRecord>> {
        let sql = format!(
            "select {CALL_COLUMNS} from calls where request_id = $1 order by starts_at, id"
        );
        let rows: Vec<CallRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql).bind(request_id).fetch_all(pool).await
        })?;
        rows.into_iter().map(CallRecord::try_from).collect()
    }

    /// Calls matching `filter`, by id.
    #[instrument(skip_all)]
    pub async fn calls(&self, filter: CallFilter) -> StoreResult<Vec<CallRecord>> {
        let sql = format!(
            "select {CALL_COLUMNS} from calls
             where ($1 is null or status = $1) and ($2 is null or mentor_id = $2) and id > $3
             order by id limit $4"
        );
        let rows: Vec<CallRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(filter.status.map(CallStatus::as_str))
                .bind(filter.mentor_id)
                .bind(filter.after_id.unwrap_or(CallId(0)))
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(CallRecord::try_from).collect()
    }

    /// Calls matching `filter` for the operator's list, the latest start first,
    /// each with the names and zones of the people on it. `after_id` is ignored.
    #[instrument(skip_all)]
    pub async fn call_listings(&self, filter: CallFilter) -> StoreResult<Vec<CallListing>> {
        let sql = "select c.id as id, c.request_id as request_id, c.mentor_id as mentor_id,
                c.starts_at as starts_at, c.ends_at as ends_at, c.status as status,
                c.outcome as outcome, c.talk_seconds as talk_seconds,
                c.provider_call_sid as provider_call_sid, c.retry_of as retry_of,
                c.feedback_score as feedback_score, c.feedback_at as feedback_at,
                c.inbound as inbound, c.follow_up_offered_at as follow_up_offered_at,
                c.follow_up_request_id as follow_up_request_id, r.follow_up_of as follow_up_of,
                c.created_at as created_at, c.updated_at as updated_at,
                m.name as mentor_name, m.timezone as mentor_timezone,
                r.name as seeker_name, r.timezone as seeker_timezone, r.topic as topic
             from calls c
             join mentors m on m.id = c.mentor_id
             join requests r on r.id = c.request_id
             where ($1 is null or c.status = $1) and ($2 is null or c.mentor_id = $2)
             order by c.starts_at desc, c.id desc limit $3";
        let rows: Vec<ListingRow> = with_pool!(self, pool, {
            sqlx::query_as(sql)
                .bind(filter.status.map(CallStatus::as_str))
                .bind(filter.mentor_id)
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(CallListing::try_from).collect()
    }

    /// Start, outcome and feedback score (if the seeker answered) of every call
    /// that has an outcome and starts in `[from, to)`, for counting outcomes
    /// and averaging feedback per week.
    #[instrument(skip_all)]
    pub async fn call_outcomes(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CallOutcome>> {
        let rows: Vec<(CallId, DateTime<Utc>, String, Option<i32>)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select id, starts_at, outcome, feedback_score from calls
                 where outcome is not null and starts_at >= $1 and starts_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, starts_at, outcome, score)| {
                let outcome = outcome
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("call outcome {outcome}")))?;
                Ok((starts_at, outcome, stored_score(id, score)?))
            })
            .collect()
    }

    /// Every call starting in `[from, to)`, as the recovery figures count it:
    /// its start, whether it was canceled, its outcome, and whether it was a
    /// second try or a call-back.
    #[instrument(skip_all)]
    pub async fn call_tallies(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CallTally>> {
        let rows: Vec<TallyRow> = with_pool!(self, pool, {
            sqlx::query_as(
                "select starts_at, status, outcome, retry_of is not null as second_try, inbound
                 from calls where starts_at >= $1 and starts_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|row| {
                let outcome = row
                    .outcome
                    .map(|outcome| outcome.parse::<Outcome>())
                    .transpose()
                    .map_err(|_| StoreError::Corrupt("call outcome".to_owned()))?;
                Ok(CallTally {
                    starts_at: row.starts_at,
                    canceled: row.status == CallStatus::Canceled.as_str(),
                    outcome,
                    second_try: row.second_try,
                    inbound: row.inbound,
                })
            })
            .collect()
    }

    /// How many calls that were not canceled start in `[from, to)`.
    #[instrument(skip_all)]
    pub async fn count_calls_starting(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let count: i64 = with_pool!(self, pool, {
            sqlx::query_scalar(
                "select count(*) from calls
                 where status <> 'canceled' and starts_at >= $1 and starts_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// One call as the recovery figures count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTally {
    /// Its start.
    pub starts_at: DateTime<Utc>,
    /// Whether it was called off.
    pub canceled: bool,
    /// How it ended, if it has.
    pub outcome: Option<Outcome>,
    /// Whether it was a second try in the same commute.
    pub second_try: bool,
    /// Whether it was a call-back the seeker placed.
    pub inbound: bool,
}

#[derive(sqlx::FromRow)]
struct TallyRow {
    starts_at: DateTime<Utc>,
    status: String,
    outcome: Option<String>,
    second_try: bool,
    inbound: bool,
}

/// A call as the operator lists it, with who is on it.
#[derive(Clone, Debug)]
pub struct CallListing {
    /// The call.
    pub call: CallRecord,
    /// The mentor's name.
    pub mentor_name: String,
    /// The mentor's zone.
    pub mentor_zone: Tz,
    /// The seeker's name.
    pub seeker_name: String,
    /// The seeker's zone.
    pub seeker_zone: Tz,
    /// What the call is about.
    pub topic: String,
}

#[derive(sqlx::FromRow)]
struct ListingRow {
    #[sqlx(flatten)]
    call: CallRow,
    mentor_name: String,
    mentor_timezone: String,
    seeker_name: String,
    seeker_timezone: String,
    topic: String,
}

impl TryFrom<ListingRow> for CallListing {
    type Error = StoreError;
    fn try_from(row: ListingRow) -> StoreResult<CallListing> {
        let zone = |text: &str| {
            text.parse::<Tz>()
                .map_err(|_| StoreError::Corrupt(format!("call {}: zone {text}", row.call.id)))
        };
        Ok(CallListing {
            mentor_zone: zone(&row.mentor_timezone)?,
            seeker_zone: zone(&row.seeker_timezone)?,
            call: row.call.try_into()?,
            mentor_name: row.mentor_name,
            seeker_name: row.seeker_name,
            topic: row.topic,
        })
    }
}
