//! Seekers' requests.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::consent::{ConfirmedVia, ConsentSource};
use crate::domain::mentor::RangeInput;
use crate::domain::request::{NewRequest, RequestInput};
use crate::domain::status::RequestStatus;
use crate::ids::{CallId, MentorId, RequestId};
use crate::service::requests::{EraseError, SubmitError, Submitted};
use crate::store::{
    CallSummary, CancelOutcome, Conflict, ConsentRecord, RequestFilter, RequestRecord,
};
use crate::web::AppState;
use crate::web::auth::{Caller, RequestAccess};
use crate::web::error::{ApiError, ErrorBody, conflict_message};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};

use super::openapi::{
    MessageText, PhoneText, ShortText, TimeOfDay, TimeZoneName, WeekdayName, must_be_true,
};

use super::{page_limit, parse_status};

/// One availability range of a request, in the seeker's zone.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AvailabilityRange {
    /// Weekdays: `mon` … `sun`.
    #[schema(value_type = Vec<WeekdayName>, min_items = 1)]
    pub weekdays: Vec<String>,
    /// Local start, `HH:MM`.
    #[schema(value_type = TimeOfDay)]
    pub start: String,
    /// Local end, `HH:MM`; earlier than `start` crosses midnight; must differ
    /// from `start`.
    #[schema(value_type = TimeOfDay)]
    pub end: String,
}

/// Body of `POST /api/v1/requests`.
#[derive(Deserialize, ToSchema)]
pub struct CreateRequest {
    /// The seeker's name, 1–100 characters; the mentor hears the first word.
    #[schema(value_type = ShortText)]
    pub name: String,
    /// Phone number; national format is read in the country of `timezone`.
    #[schema(value_type = PhoneText)]
    pub phone: String,
    /// IANA zone, e.g. `Europe/Dublin`.
    #[schema(value_type = TimeZoneName)]
    pub timezone: String,
    /// What the call is about, 1–100 characters.
    #[schema(value_type = ShortText)]
    pub topic: String,
    /// What the seeker could use help with, 1–4,000 characters.
    #[schema(value_type = MessageText)]
    pub message: String,
    /// When the seeker can take calls; empty or absent means weekdays within
    /// calling hours. A range wholly outside calling hours is refused (422), as
    /// no call could be placed in it.
    #[serde(default)]
    pub availability: Vec<AvailabilityRange>,
    /// Must be `true`: the seeker states the number is theirs and agrees to be
    /// called and texted at it, in the current consent wording (stored with its
    /// version): "This is my phone number, and I agree that ridealong may call
    /// and text it about this request. …"
    #[schema(schema_with = must_be_true)]
    pub consent: bool,
}

/// The call a request is booked into.
#[derive(Serialize, ToSchema)]
pub struct BookedCallView {
    /// Call id.
    #[schema(value_type = i64)]
    pub id: CallId,
    /// When the mentor will call, RFC 3339 UTC.
    pub starts_at: DateTime<Utc>,
    /// Who will call.
    pub mentor_name: String,
}

/// A new request and its private manage token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedRequest {
    /// Id.
    #[schema(value_type = i64)]
    pub id: RequestId,
    /// `unconfirmed` until the code texted to the number is confirmed (with
    /// `RIDEALONG_CONFIRM_PHONE=false`, `pending` at once).
    pub status: RequestStatus,
    /// Token for viewing and cancelling this request; stored only as a hash.
    pub manage_token: String,
    /// The booked call, once there is one.
    pub call: Option<BookedCallView>,
    /// When the request arrived.
    pub created_at: DateTime<Utc>,
}

/// A request as its seeker and the admin see it.
#[derive(Serialize, ToSchema)]
pub struct RequestView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: RequestId,
    /// Where it stands.
    pub status: RequestStatus,
    /// Seeker-side missed calls so far.
    pub attempts: u32,
    /// The booked call, if any.
    pub call: Option<BookedCallView>,
    /// Seeker's name.
    pub name: String,
    /// Seeker's E.164 number.
    pub phone: String,
    /// Seeker's zone.
    pub timezone: String,
    /// What the call is about.
    pub topic: String,
    /// What the seeker could use help with.
    pub message: String,
    /// When the seeker can take calls; empty means weekdays within calling hours.
    pub availability: Vec<AvailabilityRange>,
    /// What the seeker agreed to, when, and how the number was confirmed.
    pub consent: ConsentView,
    /// When the seeker's personal data was erased; name, phone, topic, message
    /// and availability are empty from then on.
    pub erased_at: Option<DateTime<Utc>>,
    /// The mentor the seeker asked to talk to again (they replied AGAIN to that
    /// mentor's offer of another call): booked into that mentor's next free
    /// slot within 7 days of the request, with anyone after that; null for most
    /// requests.
    #[schema(value_type = Option<i64>)]
    pub preferred_mentor_id: Option<MentorId>,
    /// The call whose mentor offered another call, when this request is the
    /// seeker's AGAIN to that offer; null for a request the seeker made.
    #[schema(value_type = Option<i64>)]
    pub follow_up_of: Option<CallId>,
    /// When the request arrived.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The consent kept with a request.
#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    /// Version of the consent wording agreed to; null for requests made before
    /// versions were recorded.
    pub version: Option<String>,
    /// Where: `web` (the request form) or `api`; null when not recorded.
    pub source: Option<ConsentSource>,
    /// When.
    pub given_at: DateTime<Utc>,
    /// When the number was confirmed; null while unconfirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// How: `web`, `api`, `sms` (a YES reply) or `not_required`.
    pub confirmed_via: Option<ConfirmedVia>,
}

impl From<ConsentRecord> for ConsentView {
    fn from(consent: ConsentRecord) -> Self {
        ConsentView {
            version: consent.version,
            source: consent.source,
            given_at: consent.given_at,
            confirmed_at: consent.confirmed_at,
            confirmed_via: consent.confirmed_via,
        }
    }
}

/// Query of `DELETE /api/v1/requests/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Also erase the seeker's personal data for good.
    #[serde(default)]
    pub erase: bool,
}

/// Query of `GET /api/v1/requests`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    /// Only requests with this status.
    #[param(value_type = Option<RequestStatus>)]
    pub status: Option<String>,
    /// Most rows to return, 1–1000; default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Return only ids above this one (the last id of the previous page).
    #[param(value_type = Option<i64>)]
    pub after: Option<RequestId>,
}

impl From<CallSummary> for BookedCallView {
    fn from(call: CallSummary) -> Self {
        BookedCallView {
            id: call.id,
            starts_at: call.starts_at,
            mentor_name: call.mentor_name,
        }
    }
}

impl From<RequestRecord> for RequestView {
    fn from(request: RequestRecord) -> Self {
        RequestView {
            id: request.id,
            status: request.status,
            attempts: request.attempts,
            call: request.call.map(BookedCallView::from),
            name: request.name,
            phone: request.phone,
            timezone: request.timezone.name().to_owned(),
            topic: request.topic,
            message: request.message,
            availability: request
                .availability
                .iter()
                .map(|range| AvailabilityRange {
                    weekdays: range
                        .weekdays()
                        .names()
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                    start: range.start().to_string(),
                    end: range.end().to_string(),
                })
                .collect(),
            consent: request.consent.into(),
            erased_at: request.erased_at,
            preferred_mentor_id: request.preferred_mentor_id,
            follow_up_of: request.follow_up_of,
            created_at: request.created_at,
            updated_at: request.updated_at,
        }
    }
}

/// Asks for a call. Anyone may; the answer carries the private manage token.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests",
    request_body = CreateRequest,
    responses(
        (status = 201, description = "Stored; `unconfirmed` until the texted code is confirmed, then the matcher books it", body = CreatedRequest),
        (status = 409, description = "This phone number already has an open request", body = ErrorBody),
        (status = 429, description = "Too many requests from this address, or for this phone number today", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn create_request(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<CreatedRequest>), ApiError> {
    let availability = body
        .availability
        .iter()
        .map(|range| RangeInput {
            weekdays: &range.weekdays,
            start: &range.start,
            end: &range.end,
            timezone: None,
        })
        .collect();
    let request = NewRequest::parse(
        RequestInput {
            name: &body.name,
            phone: &body.phone,
            timezone: &body.timezone,
            topic: &body.topic,
            message: &body.message,
            availability,
            consent: body.consent,
            calling_hours: state.settings.policy.calling_hours,
        },
        state.settings.default_region.as_deref(),
    )?;
    let Submitted {
        record,
        manage_token,
    } = state
        .service
        .submit_request(&request, ConsentSource::Api)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedRequest {
            id: record.id,
            status: record.status,
            manage_token,
            call: record.call.map(BookedCallView::from),
            created_at: record.created_at,
        }),
    ))
}

/// Lists requests, oldest first (admin).
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests",
    params(RequestListQuery),
    responses((status = 200, body = [RequestView]), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_requests(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RequestListQuery>,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    caller.require_admin()?;
    let status = parse_status::<RequestStatus>(query.status.as_deref())?;
    let limit = page_limit(query.limit)?;
    let after_id = query.after;
    let requests = state
        .store
        .requests(RequestFilter {
            status,
            after_id,
            limit,
        })
        .await?;
    Ok(Json(requests.into_iter().map(RequestView::from).collect()))
}

/// The request `id`, when `access` opens it: the admin, its manage token, or a
/// reminder's unexpired manage link for it (a wrong token is 404).
pub(crate) async fn load_for(
    state: &AppState,
    id: RequestId,
    access: &RequestAccess,
) -> Result<RequestRecord, ApiError> {
    let request = state
        .store
        .request(id)
        .await?
        .ok_or(ApiError::NotFound("request"))?;
    if access.opens(&request.manage_token_hash) {
        return Ok(request);
    }
    let Some(hash) = access.token_hash() else {
        return Err(ApiError::NotFound("request"));
    };
    if state
        .store
        .manage_link_opens(id, &hash, state.clock.now())
        .await?
    {
        Ok(request)
    } else {
        Err(ApiError::NotFound("request"))
    }
}

/// One request: its seeker (manage token, `?token=` or bearer) or the admin.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = i64, Path, description = "Request id"),
           ("token" = Option<String>, Query, description = "Manage token (or send it as bearer)")),
    responses((status = 200, body = RequestView), (status = 401, body = ErrorBody),
              (status = 404, description = "No such request, or the token does not open it", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn get_request(
    access: RequestAccess,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<RequestId>,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(load_for(&state, id, &access).await?.into()))
}

/// Cancels a request and its booked call; with `?erase=true` also erases the
/// seeker's personal data for good.
#[utoipa::path(delete, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = i64, Path, description = "Request id"),
           ("token" = Option<String>, Query, description = "Manage token (or send it as bearer)"),
           CancelQuery),
    responses((status = 204, description = "Canceled (or already was); erased when asked"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "The request is already over (erasing it is still possible)", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn cancel_request(
    access: RequestAccess,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<RequestId>,
    ApiQuery(query): ApiQuery<CancelQuery>,
) -> Result<StatusCode, ApiError> {
    load_for(&state, id, &access).await?;
    if query.erase {
        state.service.erase_request(id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    match state.service.withdraw_request(id).await? {
        CancelOutcome::Canceled { .. } | CancelOutcome::AlreadyCanceled => {
            Ok(StatusCode::NO_CONTENT)
        }
        CancelOutcome::Finished(status) => Err(ApiError::Conflict(format!(
            "the request is already {status}"
        ))),
        CancelOutcome::NotFound => Err(ApiError::NotFound("request")),
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::TooManyForPhone {
                retry_after_seconds,
            } => ApiError::TooManyRequests(retry_after_seconds),
            SubmitError::OpenRequestForPhone => {
                ApiError::Conflict(conflict_message(Conflict::OpenRequestForPhone).to_owned())
            }
            SubmitError::Store(error) => error.into(),
        }
    }
}

impl From<EraseError> for ApiError {
    fn from(error: EraseError) -> Self {
        match error {
            EraseError::NotFound => ApiError::NotFound("request"),
            EraseError::ReopenedMeanwhile => ApiError::Conflict(
                "the request was reopened while it was being erased; try again".to_owned(),
            ),
            EraseError::Store(error) => error.into(),
        }
    }
}
