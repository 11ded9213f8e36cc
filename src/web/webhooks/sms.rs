//! Inbound texts to the service number (`/telephony/twilio/sms`, the number's
//! "A message comes in" webhook): YES confirms the sender's unconfirmed request,
//! STOP and its synonyms stop every text to the sender, START brings them back,
//! HELP says what this is, a digit from 1 to 5 answers the feedback question
//! after a completed call (thanked for in reply), AGAIN takes a mentor's offer
//! of another call (the reply says whether a call is being booked).
//!
//! The sender's number and the text are never logged. Twilio's own opt-out
//! handling (Advanced Opt-Out) answers STOP/START itself and still forwards the
//! message here, so the list kept here agrees with the provider's.

use axum::Extension;
use axum::extract::State;

use super::{TwimlResponse, WebhookForm};
use crate::domain::consent::{CONFIRMED_TEXT, HELP_TEXT, parse_keyword};
use crate::domain::feedback::THANKS_TEXT;
use crate::domain::follow_up::{ALREADY_OPEN_TEXT, booking_text, no_offer_text};
use crate::domain::phone::PhoneNumber;
use crate::service::consent::TextOutcome;
use crate::store::AgainOutcome;
use crate::telephony::twiml::Twiml;
use crate::web::AppState;
use crate::web::error::ApiError;

/// Where the provider posts inbound texts.
pub const INBOUND_SMS_PATH: &str = "/telephony/twilio/sms";

/// Acts on a text sent to the service number and answers with TwiML (a reply
/// text, or nothing).
pub(super) async fn inbound(
    State(state): State<AppState>,
    Extension(form): Extension<WebhookForm>,
) -> Result<TwimlResponse, ApiError> {
    let keyword = parse_keyword(form.get("Body").unwrap_or_default());
    // Twilio sends E.164; anything else cannot be one of our numbers.
    let Some(from) = form
        .get("From")
        .filter(|from| PhoneNumber::looks_like_e164(from))
    else {
        tracing::info!("inbound text without a usable sender ignored");
        return Ok(TwimlResponse(Twiml::new().build()));
    };
    let reply = match state.service.text_received(from, keyword).await? {
        // The provider confirms an opt-out or opt-in itself; a reply would be refused.
        TextOutcome::OptedOut | TextOutcome::OptedIn => None,
        TextOutcome::Confirmed { .. } => Some(CONFIRMED_TEXT.to_owned()),
        TextOutcome::HelpAsked => Some(HELP_TEXT.to_owned()),
        TextOutcome::FeedbackStored { .. } => Some(THANKS_TEXT.to_owned()),
        TextOutcome::FollowUp(AgainOutcome::Requested { mentor_name, .. }) => {
            Some(booking_text(&mentor_name))
        }
        TextOutcome::FollowUp(AgainOutcome::RequestOpen) => Some(ALREADY_OPEN_TEXT.to_owned()),
        TextOutcome::FollowUp(AgainOutcome::NoOffer) => {
            Some(no_offer_text(state.settings.site_url.as_deref()))
        }
        TextOutcome::NothingToConfirm | TextOutcome::Ignored => None,
    };
    let twiml = match reply {
        Some(text) => Twiml::new().message(&text),
        None => Twiml::new(),
    };
    Ok(TwimlResponse(twiml.build()))
}
