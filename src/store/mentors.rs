//! Mentors, their commute windows and their pauses, and the matcher's read of all
//! of them at once ([`Store::mentor_supply`]).
//!
//! Not here: what a mentor's own pages need (`mentor_account`), their calls
//! (`calls`), and checking what a mentor typed (`domain`, before it gets here).
//!
//! Longer than most modules because mentors, their windows and pauses are read
//! and written together (the matcher's supply, a pause that gives calls back)
//! and share row types.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use tracing::instrument;

use super::{
    Conflict, Store, StoreError, StoreResult, from_json, packed_select, unpack, with_pool,
};
use crate::domain::matching::MentorSupply;
use crate::domain::mentor::NewMentor;
use crate::domain::pause::Pause;
use crate::domain::rest::{answer_rate, mentor_answered};
use crate::domain::schedule::MentorSchedule;
use crate::domain::status::Outcome;
use crate::domain::weekly::{LocalTime, Weekdays, WeeklyRange};
use crate::ids::{MentorId, PauseId, WindowId};

/// A stored mentor.
#[derive(Clone, Debug)]
pub struct MentorRecord {
    /// Id.
    pub id: MentorId,
    /// Display name.
    pub name: String,
    /// E.164 number the calls ring.
    pub phone: String,
    /// Home zone.
    pub timezone: Tz,
    /// Topics as typed.
    pub topics: Vec<String>,
    /// Length of one call in minutes.
    pub call_minutes: u32,
    /// Cap on calls per window occurrence; `None` = every slot that fits.
    pub max_calls_per_window: Option<u32>,
    /// Since when the mentor rests after repeated misses (no bookings until
    /// they are back); `None` while they take calls.
    pub resting_since: Option<DateTime<Utc>>,
    /// When the mentor was registered.
    pub created_at: DateTime<Utc>,
}

/// A stored commute window.
#[derive(Clone, Debug)]
pub struct WindowRecord {
    /// Id.
    pub id: WindowId,
    /// Owner.
    pub mentor_id: MentorId,
    /// Weekdays, times and zone.
    pub range: WeeklyRange,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// How the calls that rang one mentor went: how many rang them and how many
/// they answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerTally {
    /// Calls that rang the mentor.
    pub dialed: u32,
    /// Of those, the ones the mentor picked up.
    pub answered: u32,
}

impl AnswerTally {
    /// The share answered ([`answer_rate`]); `None` when no call rang them.
    pub fn rate(self) -> Option<f64> {
        answer_rate(self.answered, self.dialed)
    }
}

/// A stored pause.
#[derive(Clone, Debug)]
pub struct PauseRecord {
    /// Id.
    pub id: PauseId,
    /// Owner.
    pub mentor_id: MentorId,
    /// Paused dates.
    pub pause: Pause,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl MentorRecord {
    /// The mentor's slot supply given their windows and pauses.
    pub fn schedule(&self, windows: &[WindowRecord], pauses: &[PauseRecord]) -> MentorSchedule {
        MentorSchedule {
            zone: self.timezone,
            call_minutes: self.call_minutes,
            max_calls_per_window: self.max_calls_per_window,
            windows: ranges(windows),
            pauses: paused_days(pauses),
        }
    }
}

/// The weekly ranges of `windows`.
fn ranges(windows: &[WindowRecord]) -> Vec<WeeklyRange> {
    windows.iter().map(|window| window.range).collect()
}

/// The paused days of `pauses`.
fn paused_days(pauses: &[PauseRecord]) -> Vec<Pause> {
    pauses.iter().map(|pause| pause.pause).collect()
}

#[derive(sqlx::FromRow)]
struct MentorRow {
    id: MentorId,
    name: String,
    phone: String,
    timezone: String,
    topics: String,
    call_minutes: i32,
    max_calls_per_window: Option<i32>,
    resting_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// What the matcher reads of a mentor (no name or number): the columns of
/// [`SUPPLY_COLUMNS`], in order.
#[derive(serde::Deserialize)]
struct SupplyRow {
    id: MentorId,
    timezone: String,
    topics: String,
    call_minutes: i32,
    max_calls_per_window: Option<i32>,
}

impl SupplyRow {
    fn supply(self, windows: &[WindowRecord], pauses: &[PauseRecord]) -> StoreResult<MentorSupply> {
        Ok(MentorSupply {
            id: self.id,
            topics: from_json("topics", &self.topics)?,
            schedule: MentorSchedule {
                zone: zone(&self.timezone)?,
                call_minutes: positive("call_minutes", self.call_minutes)?,
                max_calls_per_window: self
                    .max_calls_per_window
                    .map(|cap| positive("max_calls_per_window", cap))
                    .transpose()?,
                windows: ranges(windows),
                pauses: paused_days(pauses),
            },
        })
    }
}

/// Window and pause rows are read both by sqlx and from a packed text, whose
/// arrays follow [`WINDOW_COLUMNS`] and [`PAUSE_COLUMNS`] (field order matters).
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct WindowRow {
    id: WindowId,
    mentor_id: MentorId,
    weekdays: i32,
    start_time: NaiveTime,
    end_time: NaiveTime,
    timezone: String,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct PauseRow {
    id: PauseId,
    mentor_id: MentorId,
    first_day: NaiveDate,
    last_day: NaiveDate,
    created_at: DateTime<Utc>,
}

fn zone(text: &str) -> StoreResult<Tz> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown zone {text}")))
}

fn positive(column: &str, value: i32) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value}")))
}

impl TryFrom<MentorRow> for MentorRecord {
    type Error = StoreError;
    fn try_from(row: MentorRow) -> StoreResult<MentorRecord> {
        Ok(MentorRecord {
            id: row.id,
            name: row.name,
            phone: row.phone,
            timezone: zone(&row.timezone)?,
            topics: from_json("topics", &row.topics)?,
            call_minutes: positive("call_minutes", row.call_minutes)?,
            max_calls_per_window: row
                .max_calls_per_window
                .map(|cap| positive("max_calls_per_window", cap))
                .transpose()?,
            resting_since: row.resting_since,
            created_at: row.created_at,
        })
    }
}

impl TryFrom<WindowRow> for WindowRecord {
    type Error = StoreError;
    fn try_from(row: WindowRow) -> StoreResult<WindowRecord> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("window {}: {what}", row.id));
        let weekdays = u8::try_from(row.weekdays)
            .ok()
            .and_then(Weekdays::from_bits)
            .ok_or_else(|| corrupt("weekdays"))?;
        let time = |time: NaiveTime| {
            use chrono::Timelike;
            LocalTime::from_hm(time.hour(), time.minute()).ok_or_else(|| corrupt("time"))
        };
        let range = WeeklyRange::new(
            weekdays,
            time(row.start_time)?,
            time(row.end_time)?,
            zone(&row.timezone)?,
        )
        .map_err(|_| corrupt("start equals end"))?;
        Ok(WindowRecord {
            id: row.id,
            mentor_id: row.mentor_id,
            range,
            created_at: row.created_at,
        })
    }
}

impl TryFrom<PauseRow> for PauseRecord {
    type Error = StoreError;
    fn try_from(row: PauseRow) -> StoreResult<PauseRecord> {
        let pause = Pause::new(row.first_day, row.last_day)
            .map_err(|error| StoreError::Corrupt(format!("pause {}: {error}", row.id)))?;
        Ok(PauseRecord {
            id: row.id,
            mentor_id: row.mentor_id,
            pause,
            created_at: row.created_at,
        })
    }
}

fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> StoreResult<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

const MENTOR_COLUMNS: &str =
    "id, name, phone, timezone, topics, call_minutes, max_calls_per_window, resting_since,
    created_at";
pub(super) const WINDOW_COLUMNS: &str =
    "id, mentor_id, weekdays, start_time, end_time, timezone, created_at";
pub(super) const PAUSE_COLUMNS: &str = "id, mentor_id, first_day, last_day, created_at";
const SUPPLY_COLUMNS: &str = "id, timezone, topics, call_minutes, max_calls_per_window";

impl Store {
    /// Registers a mentor whose API token hashes to `token_hash`.
    #[instrument(skip_all)]
    pub async fn insert_mentor(
        &self,
        mentor: &NewMentor,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<MentorRecord> {
        let topics = serde_json::to_string(&mentor.topics).expect("strings serialize");
        let sql = format!(
            "insert into mentors (name, phone, timezone, topics, call_minutes,
                max_calls_per_window, token_hash, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning {MENTOR_COLUMNS}"
        );
        let row: MentorRow = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(&mentor.name)
                .bind(mentor.phone.as_str())
                .bind(mentor.zone.name())
                .bind(&topics)
                .bind(mentor.call_minutes as i32)
                .bind(mentor.max_calls_per_window.map(|cap| cap as i32))
                .bind(token_hash)
                .bind(now)
                .fetch_one(pool)
                .await
        })
        .map_err(StoreError::conflict_as(Conflict::MentorToken))?;
        row.try_into()
    }

    /// The mentor with `id`.
    #[instrument(skip_all, fields(mentor.id = id.0))]
    pub async fn mentor(&self, id: MentorId) -> StoreResult<Option<MentorRecord>> {
        let sql = format!("select {MENTOR_COLUMNS} from mentors where id = $1");
        let row: Option<MentorRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.map(MentorRecord::try_from).transpose()
    }

    /// Every mentor, by id.
    #[instrument(skip_all)]
    pub async fn mentors(&self) -> StoreResult<Vec<MentorRecord>> {
        let sql = format!("select {MENTOR_COLUMNS} from mentors order by id");
        let rows: Vec<MentorRow> =
            with_pool!(self, pool, { sqlx::query_as(&sql).fetch_all(pool).await })?;
        convert(rows)
    }

    /// Ends mentor `id`'s rest after repeated misses (they are back), with
    /// their count of misses in a row back at zero: `true` when they were
    /// resting.
    #[instrument(skip_all, fields(mentor.id = id.0))]
    pub async fn resume_mentor(&self, id: MentorId) -> StoreResult<bool> {
        let resumed = with_pool!(self, pool, {
            sqlx::query(
                "update mentors set resting_since = null, consecutive_misses = 0
                 where id = $1 and resting_since is not null",
            )
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(resumed > 0)
    }

    /// How the calls that rang each mentor (`mentor`, or every one) since
    /// `since` went, for their answer rate: per mentor, how many rang them and
    /// how many they answered ([`mentor_answered`]). Mentors rung by no call are
    /// left out.
    #[instrument(skip_all)]
    pub async fn answer_tallies(
        &self,
        mentor: Option<MentorId>,
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<MentorId, AnswerTally>> {
        let rows: Vec<(MentorId, String, bool, bool, i64)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select mentor_id, outcome, accepted_at is not null,
                        provider_call_sid is not null, count(*)
                 from calls
                 where status = 'ended' and starts_at >= $1
                   and ($2 is null or mentor_id = $2)
                 group by mentor_id, outcome, accepted_at is not null,
                          provider_call_sid is not null",
            )
            .bind(since)
            .bind(mentor)
            .fetch_all(pool)
            .await
        })?;
        let mut tallies: HashMap<MentorId, AnswerTally> = HashMap::new();
        for (mentor_id, outcome, accepted, dialed, count) in rows {
            let outcome: Outcome = outcome.parse().map_err(|_| {
                StoreError::Corrupt(format!("calls of mentor {mentor_id}: outcome"))
            })?;
            let Some(answered) = mentor_answered(outcome, accepted, dialed) else {
                continue;
            };
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            let tally = tallies.entry(mentor_id).or_default();
            tally.dialed = tally.dialed.saturating_add(count);
            if answered {
                tally.answered = tally.answered.saturating_add(count);
            }
        }
        Ok(tallies)
    }

    /// The id of the mentor whose token hashes to `token_hash`.
    #[instrument(skip_all)]
    pub async fn mentor_id_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<MentorId>> {
        let id = with_pool!(self, pool, {
            sqlx::query_scalar("select id from mentors where token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await
        })?;
        Ok(id)
    }

    /// Adds a commute window to mentor `mentor_id`.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn insert_window(
        &self,
        mentor_id: MentorId,
        range: &WeeklyRange,
        now: DateTime<Utc>,
    ) -> StoreResult<WindowRecord> {
        let sql = format!(
            "insert into commute_windows
                 (mentor_id, weekdays, start_time, end_time, timezone, created_at)
             values ($1, $2, $3, $4, $5, $6) returning {WINDOW_COLUMNS}"
        );
        let row: WindowRow = with_pool!(self, pool, {
            sqlx::query_as(&sql)
                .bind(mentor_id)
                .bind(i32::from(range.weekdays().bits()))
                .bind(range.start().naive())
                .bind(range.end().naive())
                .bind(range.zone().name())
                .bind(now)
                .fetch_one(pool)
                .await
        })?;
        row.try_into()
    }

    /// Mentor `mentor_id`'s windows, by id.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn windows(&self, mentor_id: MentorId) -> StoreResult<Vec<WindowRecord>> {
        let sql = format!(
            "select {WINDOW_COLUMNS} from commute_windows where mentor_id = $1 order by id"
        );
        let rows: Vec<WindowRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql).bind(mentor_id).fetch_all(pool).await
        })?;
        convert(rows)
    }

    /// Removes window `window_id` of mentor `mentor_id`; false when there is none.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0, window.id = window_id.0))]
    pub async fn delete_window(
        &self,
        mentor_id: MentorId,
        window_id: WindowId,
    ) -> StoreResult<bool> {
        let result = with_pool!(self, pool, {
            sqlx::query("delete from commute_windows where id = $1 and mentor_id = $2")
                .bind(window_id)
                .bind(mentor_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(result > 0)
    }

    // Adding a pause gives back the booked calls on its dates: see
    // `Store::insert_pause_releasing` (`releases`).

    /// Mentor `mentor_id`'s pauses, by first day.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0))]
    pub async fn pauses(&self, mentor_id: MentorId) -> StoreResult<Vec<PauseRecord>> {
        let sql = format!(
            "select {PAUSE_COLUMNS} from pauses where mentor_id = $1 order by first_day, id"
        );
        let rows: Vec<PauseRow> = with_pool!(self, pool, {
            sqlx::query_as(&sql).bind(mentor_id).fetch_all(pool).await
        })?;
        convert(rows)
    }

    /// Removes pause `pause_id` of mentor `mentor_id`; false when there is none.
    #[instrument(skip_all, fields(mentor.id = mentor_id.0, pause.id = pause_id.0))]
    pub async fn delete_pause(&self, mentor_id: MentorId, pause_id: PauseId) -> StoreResult<bool> {
        let result = with_pool!(self, pool, {
            sqlx::query("delete from pauses where id = $1 and mentor_id = $2")
                .bind(pause_id)
                .bind(mentor_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(result > 0)
    }

    /// Every mentor who has at least one window, with the slots they offer, read in
    /// one transaction so windows and pauses agree with each other.
    #[instrument(skip_all)]
    pub async fn mentor_supply(&self) -> StoreResult<Vec<MentorSupply>> {
        // Each table comes packed into one text (see `packed_select`), read in one
        // transaction so the three agree.
        let queries = [
            packed_select(
                self,
                SUPPLY_COLUMNS,
                "from mentors
                 where resting_since is null
                   and exists (select 1 from commute_windows w where w.mentor_id = mentors.id)",
            ),
            packed_select(self, WINDOW_COLUMNS, "from commute_windows"),
            packed_select(self, PAUSE_COLUMNS, "from pauses"),
        ];
        let [mentors, windows, pauses]: [String; 3] = with_pool!(self, pool, {
            let mut tx = pool.begin().await?;
            let mut packed = Vec::with_capacity(queries.len());
            for sql in &queries {
                packed.push(sqlx::query_scalar(sql).fetch_one(&mut *tx).await?);
            }
            tx.commit().await?;
            packed.try_into().expect("one text per query")
        });
        let mentors: Vec<SupplyRow> = unpack("mentors", &mentors)?;
        let mut windows: Vec<WindowRow> = unpack("windows", &windows)?;
        let mut pauses: Vec<PauseRow> = unpack("pauses", &pauses)?;
        // Oldest first, as everywhere else they are listed.
        windows.sort_unstable_by_key(|window| window.id);
        pauses.sort_unstable_by_key(|pause| pause.id);
        let mut windows_by_mentor: HashMap<MentorId, Vec<WindowRecord>> = HashMap::new();
        for window in convert::<_, WindowRecord>(windows)? {
            windows_by_mentor
                .entry(window.mentor_id)
                .or_default()
                .push(window);
        }
        let mut pauses_by_mentor: HashMap<MentorId, Vec<PauseRecord>> = HashMap::new();
        for pause in convert::<_, PauseRecord>(pauses)? {
            pauses_by_mentor
                .entry(pause.mentor_id)
                .or_default()
                .push(pause);
        }
        let mut supply: Vec<MentorSupply> = mentors
            .into_iter()
            .map(|mentor| {
                let windows = windows_by_mentor.remove(&mentor.id).unwrap_or_default();
                let pauses = pauses_by_mentor.remove(&mentor.id).unwrap_or_default();
                mentor.supply(&windows, &pauses)
            })
            .collect::<StoreResult<_>>()?;
        supply.sort_unstable_by_key(|mentor| mentor.id);
        Ok(supply)
    }
}
