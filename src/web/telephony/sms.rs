//! Inbound texts to the service number (`/telephony/twilio/sms`, the number's
//! "A message comes in" webhook): YES confirms the sender's unconfirmed request,
//! STOP and its synonyms stop every text to the sender, START brings them back,
//! HELP says what this is.
//!
//! The sender's number and the text are never logged. Twilio's own opt-out
//! handling (Advanced Opt-Out) answers STOP/START itself and still forwards the
//! message here, so the list kept here agrees with the provider's.

use axum::Extension;
use axum::extract::State;

use super::{TwimlResponse, WebhookForm};
use crate::domain::consent::{CONFIRMED_TEXT, HELP_TEXT, SmsKeyword, parse_keyword};
use crate::domain::phone::PhoneNumber;
use crate::store::OptOutSource;
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
    let now = state.clock.now();
    let reply = match keyword {
        SmsKeyword::OptOut => {
            state.store.opt_out(from, OptOutSource::Reply, now).await?;
            tracing::info!("inbound text: opted out of texts");
            // The provider confirms the opt-out itself; a reply would be refused.
            None
        }
        SmsKeyword::OptIn => {
            state.store.opt_in(from).await?;
            tracing::info!("inbound text: opted in to texts again");
            None
        }
        SmsKeyword::Yes => {
            state.store.opt_in(from).await?;
            match state.store.confirm_by_reply(from, now).await? {
                Some(request_id) => {
                    tracing::info!(
                        request.id = request_id,
                        confirmed.via = "sms",
                        "phone number confirmed"
                    );
                    state.matcher.nudge();
                    Some(CONFIRMED_TEXT)
                }
                None => {
                    tracing::info!("inbound text: YES with no request waiting for it");
                    None
                }
            }
        }
        SmsKeyword::Help => Some(HELP_TEXT),
        SmsKeyword::Other => {
            tracing::info!("inbound text without a keyword ignored");
            None
        }
    };
    let twiml = match reply {
        Some(text) => Twiml::new().message(text),
        None => Twiml::new(),
    };
    Ok(TwimlResponse(twiml.build()))
}
