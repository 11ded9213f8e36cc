//! Calls booked by the matcher.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::status::{CallStatus, Outcome};
use crate::ids::{CallId, MentorId, RequestId};
use crate::service::mentor_calls::{CancelCallOutcome, GivenBackBy};
use crate::store::{CallDetail, CallEvent, CallFilter, CallRecord};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiPath, ApiQuery};

use super::{page_limit, parse_status};

/// A call.
#[derive(Serialize, ToSchema)]
pub struct CallView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: CallId,
    /// The request it serves.
    #[schema(value_type = i64)]
    pub request_id: RequestId,
    /// The mentor who calls.
    #[schema(value_type = i64)]
    pub mentor_id: MentorId,
    /// Slot start, RFC 3339 UTC.
    pub starts_at: DateTime<Utc>,
    /// Slot end, RFC 3339 UTC.
    pub ends_at: DateTime<Utc>,
    /// `scheduled`, `dialing`, `in_progress`, `ended` or `canceled`.
    pub status: CallStatus,
    /// How it ended; null until it has.
    pub outcome: Option<Outcome>,
    /// Seconds the bridged seeker leg lasted; null without a bridge.
    pub talk_seconds: Option<u32>,
    /// The provider's id of the mentor leg; null until placed.
    pub provider_call_sid: Option<String>,
    /// The missed call this one is the second try of (booked at once in the same
    /// commute after a seeker-side miss); null when the matcher booked it.
    #[schema(value_type = Option<i64>)]
    pub retry_of: Option<CallId>,
    /// The seeker's answer to "how much did the call help", once they replied
    /// (a later answer replaces an earlier one). Shown to the admin only: a
    /// mentor's token reads null here, as a mentor sees only averages of
    /// several answers, so that no seeker can be identified.
    pub feedback: Option<FeedbackView>,
    /// Whether the seeker placed it by calling the service number back after a
    /// missed call, while that commute was still open (the call-back line);
    /// `false` for a call the service placed.
    pub inbound: bool,
    /// The mentor's offer of another call, made by pressing 1 after the seeker
    /// hung up; null when they made none.
    pub follow_up: Option<FollowUpView>,
    /// The call whose follow-up offer this call's request answers (the seeker
    /// replied AGAIN to it); null for a call of a request the seeker made.
    #[schema(value_type = Option<i64>)]
    pub follow_up_of: Option<CallId>,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A seeker's answer to the feedback question after a completed call.
#[derive(Serialize, ToSchema)]
pub struct FeedbackView {
    /// 1 (not at all) to 5 (a lot).
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    /// When the answer came, RFC 3339 UTC.
    pub received_at: DateTime<Utc>,
}

/// A mentor's offer of another call at the end of a call.
#[derive(Serialize, ToSchema)]
pub struct FollowUpView {
    /// When the mentor pressed 1, RFC 3339 UTC.
    pub offered_at: DateTime<Utc>,
    /// The request the seeker's AGAIN made (it prefers this call's mentor);
    /// null until they replied.
    #[schema(value_type = Option<i64>)]
    pub request_id: Option<RequestId>,
}

impl CallView {
    /// `call` as `caller` may see it: a mentor never reads a single call's
    /// feedback.
    pub fn for_caller(call: CallRecord, caller: Caller) -> CallView {
        let mut view = CallView::from(call);
        if matches!(caller, Caller::Mentor(_)) {
            view.feedback = None;
        }
        view
    }
}

/// A call with its event log.
#[derive(Serialize, ToSchema)]
pub struct CallDetailView {
    /// The call.
    #[serde(flatten)]
    pub call: CallView,
    /// Everything that happened to it, oldest first.
    pub events: Vec<CallEventView>,
}

/// One entry of a call's event log.
#[derive(Serialize, ToSchema)]
pub struct CallEventView {
    /// Event id.
    pub id: i64,
    /// What happened: `booked`, `canceled`, provider callbacks, …
    pub kind: String,
    /// What the event carried.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// Query of `GET /api/v1/calls`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallListQuery {
    /// Only calls with this status.
    #[param(value_type = Option<CallStatus>)]
    pub status: Option<String>,
    /// Only this mentor's calls (a mentor sees only their own anyway).
    #[param(value_type = Option<i64>)]
    pub mentor_id: Option<MentorId>,
    /// Most rows to return, 1–1000; default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Return only ids above this one (the last id of the previous page).
    #[param(value_type = Option<i64>)]
    pub after: Option<CallId>,
}

impl From<CallRecord> for CallView {
    fn from(call: CallRecord) -> Self {
        CallView {
            id: call.id,
            request_id: call.request_id,
            mentor_id: call.mentor_id,
            starts_at: call.starts_at,
            ends_at: call.ends_at,
            status: call.status,
            outcome: call.outcome,
            talk_seconds: call.talk_seconds,
            provider_call_sid: call.provider_call_sid,
            retry_of: call.retry_of,
            feedback: call.feedback.map(|feedback| FeedbackView {
                score: feedback.score.value(),
                received_at: feedback.received_at,
            }),
            inbound: call.inbound,
            follow_up: call.follow_up.map(|offer| FollowUpView {
                offered_at: offer.offered_at,
                request_id: offer.request_id,
            }),
            follow_up_of: call.follow_up_of,
            created_at: call.created_at,
            updated_at: call.updated_at,
        }
    }
}

impl From<CallEvent> for CallEventView {
    fn from(event: CallEvent) -> Self {
        CallEventView {
            id: event.id,
            kind: event.kind,
            detail: event.detail,
            at: event.created_at,
        }
    }
}

/// Lists calls: all of them for the admin, their own for a mentor.
#[utoipa::path(get, path = "/api/v1/calls", tag = "calls",
    params(CallListQuery),
    responses((status = 200, body = [CallView]), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_calls(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CallListQuery>,
) -> Result<Json<Vec<CallView>>, ApiError> {
    let mentor_id = match (caller, query.mentor_id) {
        (Caller::Admin, wanted) => wanted,
        (Caller::Mentor(own), None) => Some(own),
        (Caller::Mentor(own), Some(wanted)) => {
            caller.require_mentor(wanted)?;
            Some(own)
        }
    };
    let filter = CallFilter {
        status: parse_status::<CallStatus>(query.status.as_deref())?,
        mentor_id,
        after_id: query.after,
        limit: page_limit(query.limit)?,
    };
    let calls = state.store.calls(filter).await?;
    Ok(Json(
        calls
            .into_iter()
            .map(|call| CallView::for_caller(call, caller))
            .collect(),
    ))
}

/// One call with its event log: the admin, or the mentor who makes it.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = i64, Path, description = "Call id")),
    responses((status = 200, body = CallDetailView), (status = 401, body = ErrorBody),
              (status = 404, description = "No such call, or not this mentor's", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_call(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<CallId>,
) -> Result<Json<CallDetailView>, ApiError> {
    let CallDetail { call, events } = state
        .store
        .call(id)
        .await?
        .ok_or(ApiError::NotFound("call"))?;
    // Another mentor's call is answered as missing: call ids must not be probed.
    if caller.require_mentor(call.mentor_id).is_err() {
        return Err(ApiError::NotFound("call"));
    }
    Ok(Json(CallDetailView {
        call: CallView::for_caller(call, caller),
        events: events.into_iter().map(CallEventView::from).collect(),
    }))
}

/// The answer to a call given back: it is canceled.
#[derive(Serialize, ToSchema)]
pub struct CallCanceledView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: CallId,
    /// Always `canceled`.
    pub status: CallStatus,
}

/// The call's mentor cannot make it (or the admin says so for them): a
/// `scheduled` call is canceled, and its request is booked again at once, with
/// another mentor where one has a slot, no attempt counted. Canceling it again
/// answers the same.
#[utoipa::path(post, path = "/api/v1/calls/{id}/cancel", tag = "calls",
    params(("id" = i64, Path, description = "Call id")),
    responses((status = 200, description = "Canceled (or already was)", body = CallCanceledView),
              (status = 401, body = ErrorBody),
              (status = 404, description = "No such call, or not this mentor's", body = ErrorBody),
              (status = 409, description = "The call is dialing, in progress or over", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_call(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<CallId>,
) -> Result<Json<CallCanceledView>, ApiError> {
    let by = match caller {
        Caller::Admin => GivenBackBy::Operator,
        Caller::Mentor(mentor) => GivenBackBy::Mentor(mentor),
    };
    match state.service.cancel_call_for_mentor(id, by).await? {
        CancelCallOutcome::Canceled | CancelCallOutcome::AlreadyCanceled => {
            Ok(Json(CallCanceledView {
                id,
                status: CallStatus::Canceled,
            }))
        }
        CancelCallOutcome::TooLate(status) => Err(ApiError::Conflict(format!(
            "the call is already {status}: only a scheduled call can be canceled"
        ))),
        // Another mentor's call is answered as missing, as on GET.
        CancelCallOutcome::NotFound => Err(ApiError::NotFound("call")),
    }
}
