//! Mentors, their commute windows, pauses and slots.
//!
//! Longer than most modules because the mentor resource has several
//! sub-resources (windows, pauses, slots, resume), each a small handler with
//! its OpenAPI annotations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::ValidationError;
use crate::domain::mentor::{MentorInput, NewMentor, RangeInput, parse_window};
use crate::domain::pause::{Pause, parse_date};
use crate::domain::weekly::resolve_local;
use crate::ids::{MentorId, PauseId, WindowId};
use crate::service::mentors::{MentorChangeError, MentorSlot};
use crate::store::{MentorRecord, PauseRecord, WindowRecord};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};

use super::openapi::{PhoneText, ShortText, TimeOfDay, TimeZoneName, WeekdayName};

/// Longest span one slots query may cover.
pub const MAX_SLOT_QUERY_DAYS: i64 = 366;

/// Body of `POST /api/v1/mentors`.
#[derive(Deserialize, ToSchema)]
pub struct CreateMentor {
    /// Display name, 1–100 characters.
    #[schema(value_type = ShortText)]
    pub name: String,
    /// Phone number; national format is read in the country of `timezone`.
    #[schema(value_type = PhoneText)]
    pub phone: String,
    /// IANA zone, e.g. `America/Los_Angeles`.
    #[schema(value_type = TimeZoneName)]
    pub timezone: String,
    /// What the mentor can help with (at most 20, each up to 100 characters).
    #[serde(default)]
    #[schema(value_type = Vec<ShortText>, max_items = 20)]
    pub topics: Vec<String>,
    /// Length of one call in minutes, 5–120; default 15.
    #[schema(minimum = 5, maximum = 120)]
    pub call_minutes: Option<u32>,
    /// Most calls per window occurrence, 1–96; default: every slot that fits.
    #[schema(minimum = 1, maximum = 96)]
    pub max_calls_per_window: Option<u32>,
}

/// A mentor with their windows and pauses.
#[derive(Serialize, ToSchema)]
pub struct MentorView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: MentorId,
    /// Display name.
    pub name: String,
    /// E.164 number the calls ring (shown only to the admin and the mentor).
    pub phone: String,
    /// IANA zone.
    pub timezone: String,
    /// Topics.
    pub topics: Vec<String>,
    /// Length of one call in minutes.
    pub call_minutes: u32,
    /// Most calls per window occurrence; null means every slot that fits.
    pub max_calls_per_window: Option<u32>,
    /// Commute windows.
    pub windows: Vec<WindowView>,
    /// Pauses.
    pub pauses: Vec<PauseView>,
    /// Whether the mentor rests after repeated misses in a row: no calls are
    /// booked for them until they (or the operator) resume
    /// (`POST /api/v1/mentors/{id}/resume`).
    pub resting: bool,
    /// The share of the calls that rang the mentor over the last 30 days that
    /// they answered, 0 to 1; null when no call rang them.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub answer_rate: Option<f64>,
    /// When the mentor was registered.
    pub created_at: DateTime<Utc>,
}

/// A newly created mentor and their API token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedMentor {
    /// The mentor.
    #[serde(flatten)]
    pub mentor: MentorView,
    /// Bearer token for the mentor's own routes; stored only as a hash.
    pub token: String,
}

/// Body of `POST /api/v1/mentors/{id}/windows`.
#[derive(Deserialize, ToSchema)]
pub struct CreateWindow {
    /// Weekdays the window starts on: `mon` … `sun`.
    #[schema(value_type = Vec<WeekdayName>, min_items = 1)]
    pub weekdays: Vec<String>,
    /// Local start, `HH:MM`.
    #[schema(value_type = TimeOfDay)]
    pub start: String,
    /// Local end, `HH:MM`; earlier than `start` crosses midnight. It must differ
    /// from `start`, and the window must hold one call.
    #[schema(value_type = TimeOfDay)]
    pub end: String,
    /// IANA zone; defaults to the mentor's.
    #[schema(value_type = Option<TimeZoneName>)]
    pub timezone: Option<String>,
}

/// A commute window.
#[derive(Serialize, ToSchema)]
pub struct WindowView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: WindowId,
    /// Owner.
    #[schema(value_type = i64)]
    pub mentor_id: MentorId,
    /// Weekdays the window starts on.
    pub weekdays: Vec<&'static str>,
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM`.
    pub end: String,
    /// IANA zone the times are read in.
    pub timezone: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/mentors/{id}/pauses`.
#[derive(Deserialize, ToSchema)]
pub struct CreatePause {
    /// First paused date, `YYYY-MM-DD`, in the mentor's zone.
    #[schema(value_type = NaiveDate)]
    pub from: String,
    /// Last paused date (included), not before `from`; a pause spans at most a
    /// year.
    #[schema(value_type = NaiveDate)]
    pub to: String,
}

/// A pause.
#[derive(Serialize, ToSchema)]
pub struct PauseView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: PauseId,
    /// Owner.
    #[schema(value_type = i64)]
    pub mentor_id: MentorId,
    /// First paused date.
    pub from: NaiveDate,
    /// Last paused date (included).
    pub to: NaiveDate,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Query of `GET /api/v1/mentors/{id}/slots`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// Start of the range (RFC 3339, or a date meaning midnight in the mentor's
    /// zone); default now.
    pub from: Option<String>,
    /// End of the range, exclusive; default `from` + the booking horizon.
    pub to: Option<String>,
}

/// One usable slot.
#[derive(Serialize, ToSchema)]
pub struct SlotView {
    /// Start, RFC 3339 UTC.
    pub starts_at: DateTime<Utc>,
    /// End, RFC 3339 UTC.
    pub ends_at: DateTime<Utc>,
    /// Whether a call is booked into it.
    pub booked: bool,
    /// Whether no call can be booked into it: it is booked, or the provider's
    /// concurrent-call limit (`RIDEALONG_MAX_CONCURRENT_CALLS`) is taken then by
    /// other calls.
    pub full: bool,
}

impl MentorView {
    /// The view of `mentor` with their windows, pauses and answer rate.
    pub fn new(
        mentor: MentorRecord,
        windows: Vec<WindowRecord>,
        pauses: Vec<PauseRecord>,
        answer_rate: Option<f64>,
    ) -> Self {
        MentorView {
            id: mentor.id,
            name: mentor.name,
            phone: mentor.phone,
            timezone: mentor.timezone.name().to_owned(),
            topics: mentor.topics,
            call_minutes: mentor.call_minutes,
            max_calls_per_window: mentor.max_calls_per_window,
            windows: windows.into_iter().map(WindowView::from).collect(),
            pauses: pauses.into_iter().map(PauseView::from).collect(),
            resting: mentor.resting_since.is_some(),
            answer_rate,
            created_at: mentor.created_at,
        }
    }
}

impl From<WindowRecord> for WindowView {
    fn from(window: WindowRecord) -> Self {
        WindowView {
            id: window.id,
            mentor_id: window.mentor_id,
            weekdays: window.range.weekdays().names(),
            start: window.range.start().to_string(),
            end: window.range.end().to_string(),
            timezone: window.range.zone().name().to_owned(),
            created_at: window.created_at,
        }
    }
}

impl From<PauseRecord> for PauseView {
    fn from(pause: PauseRecord) -> Self {
        PauseView {
            id: pause.id,
            mentor_id: pause.mentor_id,
            from: pause.pause.first_day(),
            to: pause.pause.last_day(),
            created_at: pause.created_at,
        }
    }
}

async fn load_mentor(state: &AppState, id: MentorId) -> Result<MentorRecord, ApiError> {
    state
        .store
        .mentor(id)
        .await?
        .ok_or(ApiError::NotFound("mentor"))
}

async fn mentor_view(state: &AppState, mentor: MentorRecord) -> Result<MentorView, ApiError> {
    let windows = state.store.windows(mentor.id).await?;
    let pauses = state.store.pauses(mentor.id).await?;
    let answer_rate = state.service.answer_rate(mentor.id).await?;
    Ok(MentorView::new(mentor, windows, pauses, answer_rate))
}

/// Registers a mentor and issues their API token.
#[utoipa::path(post, path = "/api/v1/mentors", tag = "mentors",
    request_body = CreateMentor,
    responses(
        (status = 201, description = "Created; the token is shown only now", body = CreatedMentor),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_mentor(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateMentor>,
) -> Result<(StatusCode, Json<CreatedMentor>), ApiError> {
    caller.require_admin()?;
    let input = MentorInput {
        name: &body.name,
        phone: &body.phone,
        timezone: &body.timezone,
        topics: &body.topics,
        call_minutes: body.call_minutes,
        max_calls_per_window: body.max_calls_per_window,
    };
    let mentor = NewMentor::parse(input, state.settings.default_region.as_deref())?;
    let (record, token) = state.service.register_mentor(&mentor).await?;
    let mentor = MentorView::new(record, Vec::new(), Vec::new(), None);
    Ok((StatusCode::CREATED, Json(CreatedMentor { mentor, token })))
}

/// Lists every mentor.
#[utoipa::path(get, path = "/api/v1/mentors", tag = "mentors",
    responses((status = 200, body = [MentorView]), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_mentors(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<MentorView>>, ApiError> {
    caller.require_admin()?;
    let rates = state.service.answer_rates().await?;
    let mut views = Vec::new();
    for mentor in state.store.mentors().await? {
        let windows = state.store.windows(mentor.id).await?;
        let pauses = state.store.pauses(mentor.id).await?;
        let rate = rates.get(&mentor.id).copied();
        views.push(MentorView::new(mentor, windows, pauses, rate));
    }
    Ok(Json(views))
}

/// One mentor, with windows and pauses.
#[utoipa::path(get, path = "/api/v1/mentors/{id}", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id")),
    responses((status = 200, body = MentorView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_mentor(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MentorId>,
) -> Result<Json<MentorView>, ApiError> {
    caller.require_mentor(id)?;
    let mentor = load_mentor(&state, id).await?;
    Ok(Json(mentor_view(&state, mentor).await?))
}

/// The mentor is back after resting for repeated misses: calls are booked for
/// them again, and their count of misses in a row starts over. Resuming a mentor
/// who is not resting changes nothing and answers the same.
#[utoipa::path(post, path = "/api/v1/mentors/{id}/resume", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id")),
    responses((status = 200, description = "The mentor, no longer resting", body = MentorView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume_mentor(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MentorId>,
) -> Result<Json<MentorView>, ApiError> {
    caller.require_mentor(id)?;
    let mentor = state.service.resume_mentor(id).await?;
    Ok(Json(mentor_view(&state, mentor).await?))
}

/// Adds a commute window.
#[utoipa::path(post, path = "/api/v1/mentors/{id}/windows", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id")),
    request_body = CreateWindow,
    responses((status = 201, body = WindowView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_window(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MentorId>,
    ApiJson(body): ApiJson<CreateWindow>,
) -> Result<(StatusCode, Json<WindowView>), ApiError> {
    caller.require_mentor(id)?;
    let mentor = load_mentor(&state, id).await?;
    let input = RangeInput {
        weekdays: &body.weekdays,
        start: &body.start,
        end: &body.end,
        timezone: body.timezone.as_deref(),
    };
    let range = parse_window(input, mentor.timezone, mentor.call_minutes)?;
    let window = state.service.add_window(mentor.id, &range).await?;
    Ok((StatusCode::CREATED, Json(window.into())))
}

/// Removes a commute window; calls already booked in it stay booked.
#[utoipa::path(delete, path = "/api/v1/mentors/{id}/windows/{wid}", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id"), ("wid" = i64, Path, description = "Window id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_window(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, window_id)): ApiPath<(MentorId, WindowId)>,
) -> Result<StatusCode, ApiError> {
    caller.require_mentor(id)?;
    if !state.service.remove_window(id, window_id).await? {
        return Err(ApiError::NotFound("window"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a pause: no calls on those dates (mentor's zone, inclusive). Calls already
/// booked on them are canceled and their requests booked again at once.
#[utoipa::path(post, path = "/api/v1/mentors/{id}/pauses", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id")),
    request_body = CreatePause,
    responses((status = 201, body = PauseView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_pause(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MentorId>,
    ApiJson(body): ApiJson<CreatePause>,
) -> Result<(StatusCode, Json<PauseView>), ApiError> {
    caller.require_mentor(id)?;
    load_mentor(&state, id).await?;
    let pause = Pause::parse(&body.from, &body.to)?;
    let pause = state.service.add_pause(id, &pause).await?;
    Ok((StatusCode::CREATED, Json(pause.into())))
}

/// Removes a pause.
#[utoipa::path(delete, path = "/api/v1/mentors/{id}/pauses/{pid}", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id"), ("pid" = i64, Path, description = "Pause id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_pause(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, pause_id)): ApiPath<(MentorId, PauseId)>,
) -> Result<StatusCode, ApiError> {
    caller.require_mentor(id)?;
    if !state.service.remove_pause(id, pause_id).await? {
        return Err(ApiError::NotFound("pause"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The mentor's usable slots starting in `[from, to)`: the first
/// `max_calls_per_window` of each window occurrence, pauses applied; notice and
/// horizon are not applied.
#[utoipa::path(get, path = "/api/v1/mentors/{id}/slots", tag = "mentors",
    params(("id" = i64, Path, description = "Mentor id"), SlotQuery),
    responses((status = 200, body = [SlotView]), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_slots(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MentorId>,
    ApiQuery(query): ApiQuery<SlotQuery>,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    caller.require_mentor(id)?;
    let mentor = load_mentor(&state, id).await?;
    let from = match &query.from {
        Some(text) => parse_instant("from", text, mentor.timezone)?,
        None => state.clock.now(),
    };
    let to = match &query.to {
        Some(text) => parse_instant("to", text, mentor.timezone)?,
        None => from + state.settings.policy.horizon,
    };
    if to <= from {
        return Err(ValidationError::new("to", "must be after from").into());
    }
    if to - from > TimeDelta::days(MAX_SLOT_QUERY_DAYS) {
        return Err(ValidationError::new(
            "to",
            format!("a slots query spans at most {MAX_SLOT_QUERY_DAYS} days"),
        )
        .into());
    }
    let slots = state.service.mentor_slots(&mentor, from, to).await?;
    Ok(Json(slots.into_iter().map(SlotView::from).collect()))
}

impl From<MentorSlot> for SlotView {
    fn from(slot: MentorSlot) -> Self {
        SlotView {
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            booked: slot.booked,
            full: slot.full,
        }
    }
}

impl From<MentorChangeError> for ApiError {
    fn from(error: MentorChangeError) -> Self {
        match error {
            MentorChangeError::Invalid(error) => error.into(),
            MentorChangeError::MentorNotFound => ApiError::NotFound("mentor"),
            MentorChangeError::Store(error) => error.into(),
        }
    }
}

/// Reads an RFC 3339 instant, or a date meaning local midnight in `zone`. Years
/// are 0001–9999, what RFC 3339 and both databases can carry.
fn parse_instant(
    field: &'static str,
    text: &str,
    zone: Tz,
) -> Result<DateTime<Utc>, ValidationError> {
    let text = text.trim();
    let invalid = || {
        ValidationError::new(
            field,
            format!(
                "'{text}' is not an RFC 3339 time (2026-03-08T07:00:00Z) or a date (2026-03-08)"
            ),
        )
    };
    let instant = if text.len() == 10 {
        let date = parse_date(field, text).map_err(|_| invalid())?;
        resolve_local(zone, date.and_time(chrono::NaiveTime::MIN))
    } else {
        // A '+' offset that was not percent-encoded arrives as a space.
        DateTime::parse_from_rfc3339(&text.replace(' ', "+"))
            .map_err(|_| invalid())?
            .with_timezone(&Utc)
    };
    // Kept a day inside the representable years, so zone conversions stay in range.
    let earliest = NaiveDate::from_ymd_opt(1, 1, 2)
        .expect("valid date")
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let latest = NaiveDate::from_ymd_opt(9999, 12, 30)
        .expect("valid date")
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    if instant < earliest || instant > latest {
        return Err(invalid());
    }
    Ok(instant)
}
