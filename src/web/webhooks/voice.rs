//! The call-back line (`/telephony/twilio/voice`, the service number's "A call
//! comes in" webhook) and the TwiML of a call-back.
//!
//! A seeker calling back about a missed call while that commute is open is put
//! through mentor-first: the seeker hears a holding line, and the service
//! `<Dial>`s the mentor from the service number with the mentor's leg screened
//! (`<Number url>` + `<Gather>`: "… is calling you back about …. Press 1 to
//! connect"); only a 1 bridges the two. Everyone else hears where they stand,
//! or what ridealong is. Nobody hears a number, or a name beyond the first
//! names of their own calls; every text goes through the TwiML builder, which
//! escapes it.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{
    GATHER_TIMEOUT_SECONDS, TwimlResponse, WebhookForm, context, end, goodbye, is_live,
    record_callback, record_webhook, screen_prompt,
};
use crate::domain::call_back::call_back_outcome;
use crate::domain::call_flow::{Leg, LegStatus};
use crate::domain::phone::PhoneNumber;
use crate::domain::status::{Outcome, RequestStatus};
use crate::domain::text::first_name;
use crate::ids::CallId;
use crate::scheduler::dispatcher::time_limit_seconds;
use crate::service::call_backs::{InboundCall, SeekerStatus};
use crate::telephony::twiml::{Dial, Twiml};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

/// Where the provider posts calls to the service number.
pub const VOICE_PATH: &str = "/telephony/twilio/voice";

/// Seconds the mentor's phone rings for a call-back.
const MENTOR_RING_SECONDS: u32 = 25;

/// Someone rang the service number: put a seeker calling back through to the
/// mentor, or tell the caller where they stand.
pub(super) async fn voice(
    State(state): State<AppState>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    let caller = caller_number(&state, form.get("From"));
    let call_sid = form.get("CallSid").filter(|sid| !sid.is_empty());
    let inbound = match call_sid {
        Some(sid) => state.service.inbound_call(caller.as_ref(), sid).await?,
        None => InboundCall::Unknown,
    };
    let site = state.settings.site_url.as_deref();
    let said = match inbound {
        InboundCall::PutThrough { call_id } => return put_through(&state, call_id, &form).await,
        InboundCall::Seeker(status) => {
            tracing::info!("a seeker called the service number; telling their status");
            seeker_status_text(&status, site)
        }
        InboundCall::Mentor { name, zone, next } => {
            tracing::info!("a mentor called the service number; telling their next call");
            let next = next.map(|next| (next.starts_at, next.seeker_name));
            mentor_status_text(&name, zone, next.as_ref())
        }
        InboundCall::Unknown => {
            tracing::info!("an unknown number called the service number");
            unknown_caller_text(site)
        }
    };
    Ok(goodbye(&said))
}

/// The caller's number as stored: Twilio sends E.164, a hidden number comes as
/// a word (`anonymous`, `restricted`) and is nobody.
fn caller_number(state: &AppState, from: Option<&str>) -> Option<PhoneNumber> {
    let from = from?.trim();
    if PhoneNumber::looks_like_e164(from) {
        return Some(PhoneNumber::from_stored(from.to_owned()));
    }
    PhoneNumber::parse(
        "From",
        from,
        chrono_tz::UTC,
        state.settings.default_region.as_deref(),
    )
    .ok()
}

/// The seeker's leg of call-back `call_id`: a holding line, then the mentor is
/// dialed from the service number, screened before the bridge.
async fn put_through(
    state: &AppState,
    call_id: CallId,
    form: &WebhookForm,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(state, call_id, "call_back_answered", form).await?;
    let Some(context) = context(state, call_id).await?.filter(is_live) else {
        return Ok(goodbye(
            "Sorry, we can't put you through right now. Goodbye.",
        ));
    };
    let mentor = first_name(&context.mentor_name);
    let settings = &state.dispatch_settings;
    let action = settings.call_webhook(call_id, "callback-dial");
    let status_callback = settings.call_webhook(call_id, "callback-status");
    let screen = settings.call_webhook(call_id, "callback-screen");
    let twiml = Twiml::new()
        .say(&format!(
            "Thanks for calling back. We're calling {mentor} now. Please hold."
        ))
        .dial(&Dial {
            caller_id: &settings.from_number,
            timeout_seconds: MENTOR_RING_SECONDS,
            time_limit_seconds: time_limit_seconds(state.clock.now(), context.ends_at),
            action: &action,
            number: &context.mentor_phone,
            number_status_callback: &status_callback,
            number_url: Some(&screen),
        });
    Ok(TwimlResponse(twiml.build()))
}

/// The mentor picked up a call-back (the `<Number url>` runs on the mentor's
/// leg before the bridge): who is calling and what about, and 1 to connect.
pub(super) async fn callback_screen(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(&state, call_id, "call_back_screen_started", &form).await?;
    let Some(context) = context(&state, call_id).await?.filter(is_live) else {
        return Ok(TwimlResponse(Twiml::new().hangup().build()));
    };
    let seeker = first_name(&context.seeker_name);
    let action = state
        .dispatch_settings
        .call_webhook(call_id, "callback-screen-result");
    let prompt = format!(
        "{seeker} is calling you back about {}. Press 1 to connect.",
        context.topic
    );
    Ok(screen_prompt(
        &action,
        GATHER_TIMEOUT_SECONDS,
        false,
        &prompt,
    ))
}

/// The mentor's key at the call-back screen: 1 bridges the two (an empty answer
/// ends the `<Number url>` TwiML); anything else, or silence, hangs up the
/// mentor's leg.
pub(super) async fn callback_screen_result(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    let pressed_one = form.get("Digits") == Some("1");
    let kind = if pressed_one {
        "call_back_accepted"
    } else {
        "call_back_declined"
    };
    record_webhook(&state, call_id, kind, &form).await?;
    if context(&state, call_id).await?.filter(is_live).is_none() {
        return Ok(TwimlResponse(Twiml::new().hangup().build()));
    }
    if !pressed_one {
        tracing::info!(call.id = call_id.0, "the mentor did not take the call-back");
        return Ok(goodbye("No problem. Drive safely."));
    }
    state.service.mentor_accepted(call_id).await?;
    tracing::info!(
        call.id = call_id.0,
        "the mentor pressed 1; bridging the call-back"
    );
    Ok(TwimlResponse(Twiml::new().build()))
}

/// The call-back's `<Dial>` finished: the mentor leg's status and the key
/// decide the outcome; the seeker hears how it went.
pub(super) async fn callback_dial(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    record_webhook(&state, call_id, "dial_result", &form).await?;
    let status = form.get("DialCallStatus").and_then(LegStatus::parse);
    settle(&state, call_id, status, form.number("DialCallDuration")).await?;
    let Some(context) = context(&state, call_id).await? else {
        return Ok(goodbye("Thank you for calling. Goodbye."));
    };
    if context.outcome == Some(Outcome::Completed) {
        return Ok(goodbye("Thank you for calling. Goodbye."));
    }
    let mentor = first_name(&context.mentor_name);
    // Pending, or booked again already by the matcher.
    let next = if matches!(
        context.request_status,
        RequestStatus::Pending | RequestStatus::Scheduled
    ) {
        " We'll book another call and text you the time."
    } else {
        ""
    };
    Ok(goodbye(&format!(
        "Sorry, {mentor} couldn't take your call just now.{next} Goodbye."
    )))
}

/// Status callbacks of a call-back's mentor leg; a final one settles the call
/// if the `<Dial>` action has not.
pub(super) async fn callback_status(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath<CallId>,
    Extension(form): Extension<WebhookForm>,
) -> Result<StatusCode, ApiError> {
    if !record_callback(&state, call_id, "mentor_status", &form).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    let status = form
        .get("CallStatus")
        .and_then(LegStatus::parse)
        .filter(|status| status.is_final());
    if status.is_some() {
        settle(&state, call_id, status, form.number("CallDuration")).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ends call-back `call_id` from its mentor leg's final `status` (once; a later
/// report changes nothing).
async fn settle(
    state: &AppState,
    call_id: CallId,
    status: Option<LegStatus>,
    talk_seconds: Option<u32>,
) -> Result<(), ApiError> {
    let Some(context) = context(state, call_id).await?.filter(is_live) else {
        return Ok(());
    };
    let Some(status) = status else {
        return Ok(());
    };
    if let Some(outcome) = call_back_outcome(Some(status), context.accepted) {
        let talk = (outcome == Outcome::Completed).then_some(talk_seconds.unwrap_or(0));
        end(state, call_id, outcome, Leg::Mentor, talk).await?;
    }
    Ok(())
}

/// A time as a caller hears it: "Tuesday, December 1 at 10:15 AM", in `zone`.
fn spoken_day_and_time(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%A, %B %-d at %-I:%M %p")
        .to_string()
}

/// The site's address as said aloud: without the scheme.
fn spoken_site(site: Option<&str>) -> String {
    match site {
        Some(url) => {
            let bare = url.trim_end_matches('/');
            let bare = bare
                .strip_prefix("https://")
                .or_else(|| bare.strip_prefix("http://"))
                .unwrap_or(bare);
            bare.to_owned()
        }
        None => "the ridealong website".to_owned(),
    }
}

/// What a seeker hears about their newest request.
fn seeker_status_text(status: &SeekerStatus, site: Option<&str>) -> String {
    let busy = status
        .busy_mentor
        .as_deref()
        .map(|mentor| {
            format!(
                "{} can't take a call right now, so we can't put you through. ",
                first_name(mentor)
            )
        })
        .unwrap_or_default();
    let standing = match (&status.next_call, status.status) {
        (Some((starts_at, mentor)), _) => format!(
            "Your next call is on {}, your time, with {}. They will call you from this number.",
            spoken_day_and_time(*starts_at, status.zone),
            first_name(mentor)
        ),
        (None, RequestStatus::Pending | RequestStatus::Scheduled) => {
            "You're waiting for a match with a mentor. We'll text you when your call is booked."
                .to_owned()
        }
        (None, RequestStatus::Unconfirmed) => {
            "Your request is waiting for you to confirm your number with the code we texted you."
                .to_owned()
        }
        (None, _) => format!(
            "You have no call booked. To ask for one, visit {}.",
            spoken_site(site)
        ),
    };
    format!("This is ridealong. {busy}{standing} Goodbye.")
}

/// What a mentor hears: their next booked call, if any.
fn mentor_status_text(name: &str, zone: Tz, next: Option<&(DateTime<Utc>, String)>) -> String {
    let next = match next {
        Some((starts_at, seeker)) => format!(
            "Your next call is on {}, with {}.",
            spoken_day_and_time(*starts_at, zone),
            first_name(seeker)
        ),
        None => "You have no calls booked.".to_owned(),
    };
    format!(
        "Hi {}, this is ridealong. {next} Goodbye.",
        first_name(name)
    )
}

/// What a caller ridealong does not know hears.
fn unknown_caller_text(site: Option<&str>) -> String {
    format!(
        "This is ridealong. Mentors call job seekers during their commute, to talk about \
         finding work. To ask for a call, visit {}. Goodbye.",
        spoken_site(site)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn a_booked_seeker_hears_the_time_in_their_zone_and_the_mentors_first_name_only() {
        let status = SeekerStatus {
            status: RequestStatus::Scheduled,
            zone: chrono_tz::America::Chicago,
            next_call: Some((
                at("2026-12-01T15:00:00Z"),
                "Grace Brewster Hopper".to_owned(),
            )),
            busy_mentor: None,
        };
        assert_eq!(
            seeker_status_text(&status, None),
            "This is ridealong. Your next call is on Tuesday, December 1 at 9:00 AM, your time, \
             with Grace. They will call you from this number. Goodbye."
        );
    }

    #[test]
    fn a_seeker_whose_mentor_is_busy_hears_so_then_their_status() {
        let status = SeekerStatus {
            status: RequestStatus::Pending,
            zone: chrono_tz::UTC,
            next_call: None,
            busy_mentor: Some("Grace Hopper".to_owned()),
        };
        let text = seeker_status_text(&status, None);
        assert!(text.contains("Grace can't take a call right now"), "{text}");
        assert!(text.contains("waiting for a match"), "{text}");
        assert!(!text.contains("Hopper"), "{text}");
    }

    #[test]
    fn the_site_is_said_without_its_scheme_and_only_when_set() {
        assert!(
            unknown_caller_text(Some("https://ridealong.example/"))
                .contains("visit ridealong.example.")
        );
        assert!(unknown_caller_text(None).contains("visit the ridealong website."));
    }

    #[test]
    fn a_mentor_hears_their_next_call_in_their_zone() {
        let next = (at("2026-12-01T15:15:00Z"), "Ada King Lovelace".to_owned());
        assert_eq!(
            mentor_status_text("Grace Hopper", chrono_tz::America::New_York, Some(&next)),
            "Hi Grace, this is ridealong. Your next call is on Tuesday, December 1 at 10:15 AM, \
             with Ada. Goodbye."
        );
        assert_eq!(
            mentor_status_text("Grace Hopper", chrono_tz::UTC, None),
            "Hi Grace, this is ridealong. You have no calls booked. Goodbye."
        );
    }
}
