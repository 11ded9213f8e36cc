//! Provider webhooks under `/telephony/twilio/…`: the TwiML call flow (the
//! mentor's announcement and key press, the seeker's screen, the `<Dial>`
//! outcome and the mentor's offer of another call), the status callbacks of both legs, inbound texts (`sms`), and
//! calls to the service number with the call-backs they put through (`voice`).
//!
//! Every request's `X-Twilio-Signature` is checked against the URL built from
//! `RIDEALONG_PUBLIC_URL`; a mismatch gets 403 and changes nothing. Status
//! callbacks are deduplicated on (CallSid, SequenceNumber), appended to the call's
//! event log, and only ever move the call forward. Answers are quick: a few
//! database statements and no provider requests.
//!
//! May not: make a provider request while answering (the reconciler and the
//! dispatcher do that), or show a phone number to anyone.
//!
//! Longer than most modules because each Twilio webhook (status, answer,
//! screens, key presses, the voice line, SMS) is a small handler sharing the
//! signature check and the form reading kept here.

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Map, Value};

mod sms;
mod voice;

use super::AppState;
use super::error::{ApiError, BODY_LIMIT_BYTES};
use super::extract::ApiPath;
use crate::domain::call_flow::{Leg, LegStatus, mentor_leg_outcome};
use crate::domain::follow_up::{OFFER_KEY, offer_made, offer_prompt};
use crate::domain::status::{CallStatus, Outcome};
use crate::domain::text::first_name;
use crate::ids::CallId;
use crate::scheduler::dispatcher::time_limit_seconds;
use crate::service::calls::Callback;
use crate::store::CallContext;
use crate::telephony::twilio::signature;
use crate::telephony::twiml::{Dial, Gather, Twiml};

/// Seconds the mentor has to press a key after the announcement.
const GATHER_TIMEOUT_SECONDS: u32 = 6;
/// Seconds the seeker's phone rings.
const SEEKER_RING_SECONDS: u32 = 30;
/// Seconds the seeker has to press a key at the screen. A voicemail greeting
/// outlasts it, so a machine never joins.
const SCREEN_TIMEOUT_SECONDS: u32 = 8;

/// Callback fields worth keeping in the event log. Numbers and places (To, From,
/// Caller, …) are left out: the log is shown to the mentor, who must never see
/// the seeker's number.
const LOGGED_FIELDS: &[&str] = &[
    "CallSid",
    "ParentCallSid",
    "CallStatus",
    "CallDuration",
    "SequenceNumber",
    "Timestamp",
    "CallbackSource",
    "Direction",
    "AnsweredBy",
    "Digits",
    "DialCallSid",
    "DialCallStatus",
    "DialCallDuration",
    "DialBridged",
    "ErrorCode",
    "SipResponseCode",
];

/// The routes of `/telephony/twilio`, all behind the signature check.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/telephony/twilio/calls/{id}/answer", post(answer))
        .route("/telephony/twilio/calls/{id}/gather", post(gather))
        .route("/telephony/twilio/calls/{id}/screen", post(screen))
        .route(
            "/telephony/twilio/calls/{id}/screen-result",
            post(screen_result),
        )
        .route("/telephony/twilio/calls/{id}/dial", post(dial_result))
        .route("/telephony/twilio/calls/{id}/follow-up", post(follow_up))
        .route("/telephony/twilio/calls/{id}/status", post(mentor_status))
        .route(
            "/telephony/twilio/calls/{id}/seeker-status",
            post(seeker_status),
        )
        .route(sms::INBOUND_SMS_PATH, post(sms::inbound))
        .route(voice::VOICE_PATH, post(voice::voice))
        .route(
            "/telephony/twilio/calls/{id}/callback-screen",
            post(voice::callback_screen),
        )
        .route(
            "/telephony/twilio/calls/{id}/callback-screen-result",
            post(voice::callback_screen_result),
        )
        .route(
            "/telephony/twilio/calls/{id}/callback-dial",
            post(voice::callback_dial),
        )
        .route(
            "/telephony/twilio/calls/{id}/callback-status",
            post(voice::callback_status),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            verify_signature,
        ))
        .route_layer(middleware::from_fn_with_state(state, time_webhook))
}

/// Records how long each webhook took, signature check included, by route template.
async fn time_webhook(
    State(state): State<AppState>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .webhook_handled(route.as_str(), started.elapsed());
    response
}

/// The form parameters of a webhook whose signature checked out.
#[derive(Clone, Debug, Default)]
pub struct WebhookForm(pub Vec<(String, String)>);

impl WebhookForm {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn logged(&self) -> Value {
        let kept: Map<String, Value> = self
            .0
            .iter()
            .filter(|(key, _)| LOGGED_FIELDS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect();
        Value::Object(kept)
    }

    fn number(&self, name: &str) -> Option<u32> {
        self.get(name).and_then(|value| value.parse().ok())
    }
}

/// Rejects any request whose `X-Twilio-Signature` does not sign the public URL
/// and the form body with the provider's auth token.
async fn verify_signature(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return ApiError::PayloadTooLarge(BODY_LIMIT_BYTES).into_response();
    };
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |value| value.as_str());
    let url = format!("{}{path_and_query}", state.dispatch_settings.public_url);
    let given = parts
        .headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if given.is_empty()
        || !signature::verify(state.provider.webhook_auth_token(), &url, &params, given)
    {
        tracing::warn!(
            path = parts.uri.path(),
            "webhook with a bad signature refused"
        );
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": { "code": "invalid_signature", "message": "X-Twilio-Signature does not match" }
            })),
        )
            .into_response();
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(WebhookForm(params));
    next.run(request).await
}

/// A TwiML document as the answer to a webhook.
struct TwimlResponse(String);

impl IntoResponse for TwimlResponse {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], self.0).into_response()
    }
}

fn goodbye(text: &str) -> TwimlResponse {
    TwimlResponse(Twiml::new().say(text).hangup().build())
}

async fn context(state: &AppState, call_id: CallId) -> Result<Option<CallContext>, ApiError> {
    Ok(state.service.call_context(call_id).await?)
}

fn is_live(context: &CallContext) -> bool {
    matches!(
        context.status,
        CallStatus::Dialing | CallStatus::InProgress | CallStatus::Scheduled
    )
}

/// Ends the call (once; a later ending changes nothing).
async fn end(
    state: &AppState,
    call_id: CallId,
    outcome: Outcome,
    leg: Leg,
    talk_seconds: Option<u32>,
) -> Result<(), ApiError> {
    state
        .service
        .end_call(call_id, outcome, leg, talk_seconds)
        .await?;
    Ok(())
}

/// Appends the webhook `kind` to the call's event log, without deduplication
/// (the TwiML webhooks carry no sequence number).
async fn record_webhook(
    state: &AppState,
    call_id: CallId,
    kind: &str,
    form: &WebhookForm,
) -> Result<(), ApiError> {
    let detail = form.logged();
    let callback = Callback {
        kind,
        detail: &detail,
        provider_sid: None,
        sequence_number: None,
    };
    state.service.record_callback(call_id, callback).await?;
    Ok(())
}

/// The mentor picked up: say who is next and ask for 1 (connect) or 2 (skip).
async fn answer(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(&state, call_id, "answered", &form).await?;
    let Some(context) = context(&state, call_id).await? else {
        return Ok(goodbye("Sorry, this call is no longer scheduled. Goodbye."));
    };
    if !is_live(&context) {
        return Ok(goodbye(
            "This call was canceled. Sorry to bother you, and drive safely.",
        ));
    }
    if let Some(sid) = form.get("CallSid") {
        state.service.adopt_provider_sid(&context, sid).await?;
    }
    state.service.mentor_answered(call_id).await?;
    tracing::info!(
        call.id = call_id.0,
        "mentor answered; announcing the seeker"
    );
    let mentor = first_name(&context.mentor_name);
    let seeker = first_name(&context.seeker_name);
    let action = state.dispatch_settings.call_webhook(call_id, "gather");
    let twiml = Twiml::new().gather(
        &Gather {
            action: &action,
            num_digits: 1,
            timeout_seconds: GATHER_TIMEOUT_SECONDS,
            any_key: false,
        },
        |prompt| {
            prompt
                .say(&format!(
                    "Hi {mentor}, this is ridealong. Your next call is with {seeker}, about {}. \
                     Press 1 to connect, or 2 to skip.",
                    context.topic
                ))
                .pause(1)
                .say(&format!("Press 1 to talk with {seeker} now, or 2 to skip."))
        },
    );
    Ok(TwimlResponse(twiml.build()))
}

/// The mentor's key press: 1 dials the seeker with the service number as caller
/// ID; anything else, or silence, skips politely.
async fn gather(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    let digits = form.get("Digits").unwrap_or_default();
    record_webhook(&state, call_id, "mentor_pressed", &form).await?;
    let Some(context) = context(&state, call_id).await? else {
        return Ok(goodbye("Sorry, this call is no longer scheduled. Goodbye."));
    };
    if !is_live(&context) {
        return Ok(goodbye(
            "This call was canceled in the meantime. Drive safely.",
        ));
    }
    let seeker = first_name(&context.seeker_name);
    if digits != "1" {
        end(&state, call_id, Outcome::MentorDeclined, Leg::Mentor, None).await?;
        return Ok(goodbye(&format!(
            "No problem. We'll find {seeker} another time. Drive safely."
        )));
    }
    state.service.mentor_accepted(call_id).await?;
    tracing::info!(
        call.id = call_id.0,
        "mentor pressed 1; dialing the seeker from the service number"
    );
    let action = state.dispatch_settings.call_webhook(call_id, "dial");
    let status_callback = state
        .dispatch_settings
        .call_webhook(call_id, "seeker-status");
    let screen = state.dispatch_settings.call_webhook(call_id, "screen");
    // The mentor hears this, then ringing while the seeker's phone rings and the
    // seeker is screened (`answerOnBridge`), then the seeker.
    let twiml = Twiml::new()
        .say(&format!(
            "Calling {seeker} now. They'll hear who is calling and press a key to join. \
             Please hold."
        ))
        .dial(&Dial {
            caller_id: &state.dispatch_settings.from_number,
            timeout_seconds: SEEKER_RING_SECONDS,
            time_limit_seconds: time_limit_seconds(state.clock.now(), context.ends_at),
            action: &action,
            number: &context.seeker_phone,
            number_status_callback: &status_callback,
            number_url: Some(&screen),
        });
    Ok(TwimlResponse(twiml.build()))
}

/// The seeker picked up (the `<Number url>` runs on the seeker's leg before the
/// bridge): say who is calling and what about, and wait for any key. Silence or
/// a voicemail greeting lets the `<Gather>` time out, and the leg hangs up.
async fn screen(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(&state, call_id, "screen_started", &form).await?;
    let Some(context) = context(&state, call_id).await?.filter(is_live) else {
        return Ok(TwimlResponse(Twiml::new().hangup().build()));
    };
    let mentor = first_name(&context.mentor_name);
    let action = state
        .dispatch_settings
        .call_webhook(call_id, "screen-result");
    let prompt = format!(
        "This is ridealong with your call from {mentor} about {}. Press any key to join.",
        context.topic
    );
    Ok(screen_prompt(
        &action,
        SCREEN_TIMEOUT_SECONDS,
        true,
        &prompt,
    ))
}

/// A call screen on a dialed leg (`<Number url>`): `prompt` inside a one-key
/// `<Gather>` posting to `action` (any key, or only digits), then a hang-up for
/// silence; the legs are bridged only when the action's answer lets the leg go on.
fn screen_prompt(action: &str, timeout_seconds: u32, any_key: bool, prompt: &str) -> TwimlResponse {
    let twiml = Twiml::new()
        .gather(
            &Gather {
                action,
                num_digits: 1,
                timeout_seconds,
                any_key,
            },
            |inside| inside.say(prompt),
        )
        .hangup();
    TwimlResponse(twiml.build())
}

/// The screen's `<Gather>` finished: a key bridges the seeker in (an empty
/// answer ends the `<Number url>` TwiML, and the provider connects the legs);
/// silence hangs the seeker leg up. The result is recorded once per leg.
async fn screen_result(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    let pressed = form.get("Digits").is_some_and(|digits| !digits.is_empty());
    if context(&state, call_id).await?.filter(is_live).is_none() {
        // The call ended or was canceled meanwhile: nobody to bridge to.
        record_webhook(&state, call_id, "screen_too_late", &form).await?;
        return Ok(TwimlResponse(Twiml::new().hangup().build()));
    }
    let fresh = state
        .service
        .record_screen_result(call_id, form.get("CallSid"), pressed, &form.logged())
        .await?;
    // A retried request is answered as the first was: from the recorded result.
    let passed = if fresh {
        pressed
    } else {
        context(&state, call_id)
            .await?
            .is_some_and(|context| context.screen_passed)
    };
    if !passed {
        tracing::info!(
            call.id = call_id.0,
            "nobody pressed a key at the screen; hanging up the seeker leg"
        );
        return Ok(TwimlResponse(Twiml::new().hangup().build()));
    }
    tracing::info!(
        call.id = call_id.0,
        "the seeker pressed a key; bridging the two"
    );
    Ok(TwimlResponse(Twiml::new().build()))
}

/// The `<Dial>` finished: its status and the screen result decide the outcome,
/// its duration is the talk time. The mentor hears how it went: after a
/// completed call, the offer of another call with the seeker (press 1); when
/// the seeker missed it, when the second try in this commute is.
///
/// The mentor only hears this when the seeker hung up first (or the time limit
/// ended the bridge): when the mentor hangs up, the provider still reports here
/// but has nobody to play the answer to.
async fn dial_result(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(&state, call_id, "dial_result", &form).await?;
    let status = form.get("DialCallStatus").and_then(LegStatus::parse);
    let talk_seconds = form.number("DialCallDuration");
    if let Some(seeker_sid) = form.get("DialCallSid") {
        state
            .service
            .seeker_leg_reported(call_id, seeker_sid, talk_seconds)
            .await?;
    }
    if let Some(status) = status {
        state
            .service
            .seeker_leg_ended(call_id, status, talk_seconds)
            .await?;
    }
    // The call may have been ended by the seeker leg's own callback first: what
    // the mentor hears comes from the stored outcome either way.
    let Some(context) = context(&state, call_id).await? else {
        return Ok(goodbye("Thank you. Drive safely."));
    };
    let seeker = first_name(&context.seeker_name);
    if context.outcome == Some(Outcome::Completed) {
        let action = state.dispatch_settings.call_webhook(call_id, "follow-up");
        let twiml = Twiml::new()
            .gather(
                &Gather {
                    action: &action,
                    num_digits: 1,
                    timeout_seconds: GATHER_TIMEOUT_SECONDS,
                    any_key: false,
                },
                |prompt| prompt.say(&offer_prompt(&context.seeker_name)),
            )
            .say("Drive safely.")
            .hangup();
        return Ok(TwimlResponse(twiml.build()));
    }
    if context.outcome == Some(Outcome::MentorDeclined) {
        return Ok(goodbye("No problem. Drive safely."));
    }
    let next = match state.service.second_try_of(call_id).await? {
        Some(retry) => format!(
            "We'll try {seeker} again at {}.",
            spoken_time(retry.starts_at, context.mentor_zone)
        ),
        None => "We'll book another call.".to_owned(),
    };
    Ok(goodbye(&format!(
        "{seeker} didn't pick up. {next} Drive safely."
    )))
}

/// The mentor's key after a completed call: 1 offers the seeker another call
/// (they are texted, once however often this is retried); anything else, or
/// silence, just says goodbye.
async fn follow_up(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(&state, call_id, "follow_up_pressed", &form).await?;
    if form.get("Digits") != Some(OFFER_KEY) {
        return Ok(goodbye("Drive safely."));
    }
    let Some(context) = context(&state, call_id).await? else {
        return Ok(goodbye("Drive safely."));
    };
    state.service.offer_follow_up(call_id).await?;
    // A retried webhook finds the offer made: the mentor hears the same.
    if context.outcome != Some(Outcome::Completed) {
        return Ok(goodbye("Drive safely."));
    }
    Ok(goodbye(&offer_made(&context.seeker_name)))
}

/// A time as the mentor hears it: "10:15 AM", in the mentor's zone.
fn spoken_time(instant: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    instant.with_timezone(&zone).format("%-I:%M %p").to_string()
}

/// Status callbacks of the mentor leg.
async fn mentor_status(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<StatusCode, ApiError> {
    if !record_callback(&state, call_id, "mentor_status", &form).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    let Some(context) = context(&state, call_id).await? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    if let Some(sid) = form.get("CallSid") {
        state.service.adopt_provider_sid(&context, sid).await?;
    }
    match form.get("CallStatus").and_then(LegStatus::parse) {
        Some(LegStatus::InProgress) => state.service.mentor_answered(call_id).await?,
        Some(status) if status.is_final() => {
            if let Some(outcome) = mentor_leg_outcome(status, context.accepted) {
                end(&state, call_id, outcome, Leg::Mentor, None).await?;
            }
        }
        _ => {}
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Status callbacks of the seeker leg; a final one settles the call if the
/// `<Dial>` action has not (callbacks can come in any order).
async fn seeker_status(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<StatusCode, ApiError> {
    if !record_callback(&state, call_id, "seeker_status", &form).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    let status = form.get("CallStatus").and_then(LegStatus::parse);
    if status == Some(LegStatus::InProgress) {
        tracing::info!(call.id = call_id.0, "seeker answered; the two are talking");
    }
    let duration = form.number("CallDuration");
    if let Some(sid) = form.get("CallSid") {
        let talk = (status == Some(LegStatus::Completed))
            .then_some(duration)
            .flatten();
        state
            .service
            .seeker_leg_reported(call_id, sid, talk)
            .await?;
    }
    if let Some(status) = status.filter(|status| status.is_final()) {
        state
            .service
            .seeker_leg_ended(call_id, status, duration)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Appends a status callback to the event log; `false` for a duplicate.
async fn record_callback(
    state: &AppState,
    call_id: CallId,
    kind: &str,
    form: &WebhookForm,
) -> Result<bool, ApiError> {
    let detail = form.logged();
    let callback = Callback {
        kind,
        detail: &detail,
        provider_sid: form.get("CallSid"),
        sequence_number: form
            .get("SequenceNumber")
            .and_then(|value| value.parse::<i64>().ok()),
    };
    Ok(state.service.record_callback(call_id, callback).await?)
}
