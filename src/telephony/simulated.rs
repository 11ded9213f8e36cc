//! The simulated provider, the default of `ridealong serve`: no account needed.
//!
//! It accepts calls and texts like Twilio would and plays each call against our
//! own webhooks with the [`Player`]: the mentor's phone rings, the mentor answers
//! and presses 1, the seeker answers and they talk, with realistic durations
//! (sped up) and signed callbacks. The outcome is configurable, so every path of
//! the call flow can be watched on one machine. It logs what a real provider
//! would have done, without phone numbers or message text.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::player::{
    CallScript, MentorScript, Pace, PlayReport, PlayedCall, Player, SeekerScript, new_call_sid,
};
use super::{CallQuery, CallUpdate, NewCall, NewSms, Provider, ProviderCall, ProviderError};

/// The account id the simulation pretends to be.
const SIMULATED_ACCOUNT: &str = "ACsimulated00000000000000000000000";

/// Outcomes the simulation can be told to play, by the names of DESIGN.md, and
/// three paths of missed-call recovery: `seeker_voicemail` (the seeker's voicemail
/// picks up and never gets past the screen), `second_try_answered` (every
/// other call is missed at the screen, and the next one, the second try in the
/// same commute, is answered) and `seeker_calls_back` (the seeker misses every
/// call, then rings the service number back, the mentor presses 1, and they
/// talk), and one of the follow-up: `follow_up_offered` (a completed call after
/// which the mentor presses 1 to offer the seeker another call).
pub const SIMULATED_OUTCOMES: &[&str] = &[
    "completed",
    "mentor_no_answer",
    "mentor_declined",
    "seeker_no_answer",
    "seeker_busy",
    "failed",
    "seeker_voicemail",
    "second_try_answered",
    "seeker_calls_back",
    "follow_up_offered",
];

/// Which script each simulated call follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scripts {
    /// Every call follows this one.
    Every(CallScript),
    /// The calls alternate: the first (third, …) follows `miss`, the next
    /// follows `answer`, as a missed call and its second try would.
    MissThenAnswer {
        /// The missed call.
        miss: CallScript,
        /// The second try.
        answer: CallScript,
    },
    /// Every call is missed by `miss`; then the seeker calls the service number
    /// back, and that call follows `call_back` (see [`Player::play_inbound`]).
    MissThenCallBack {
        /// The missed call.
        miss: CallScript,
        /// The seeker's call back.
        call_back: CallScript,
    },
}

impl From<CallScript> for Scripts {
    fn from(script: CallScript) -> Scripts {
        Scripts::Every(script)
    }
}

/// A provider that plays calls in-process.
pub struct SimulatedProvider {
    player: Player,
    pace: Pace,
    auth_token: String,
    scripts: Scripts,
    placed: AtomicUsize,
    calls: Arc<Calls>,
}

impl SimulatedProvider {
    /// A simulation where calls follow `scripts`, at `pace`.
    pub fn new(scripts: impl Into<Scripts>, pace: Pace) -> SimulatedProvider {
        let auth_token = crate::tokens::generate("sim_");
        SimulatedProvider {
            player: Player::new(auth_token.clone(), pace),
            pace,
            auth_token,
            scripts: scripts.into(),
            placed: AtomicUsize::new(0),
            calls: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The scripts that produce `outcome` (one of [`SIMULATED_OUTCOMES`]).
    pub fn script_for(outcome: &str) -> Option<Scripts> {
        let talks = SeekerScript::Answers {
            talk_seconds: 6 * 60,
        };
        let presses_one = MentorScript::Answers { presses: Some('1') };
        let script = |mentor, seeker| CallScript {
            mentor,
            seeker,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        };
        let (mentor, seeker) = match outcome {
            "completed" => (presses_one, talks),
            "mentor_no_answer" => (MentorScript::NoAnswer, talks),
            "mentor_declined" => (MentorScript::Answers { presses: Some('2') }, talks),
            "seeker_no_answer" => (presses_one, SeekerScript::NoAnswer),
            "seeker_busy" => (presses_one, SeekerScript::Busy),
            "failed" => (MentorScript::Fails, talks),
            "seeker_voicemail" => (presses_one, SeekerScript::Voicemail),
            "seeker_calls_back" => {
                return Some(Scripts::MissThenCallBack {
                    miss: script(presses_one, SeekerScript::NoAnswer),
                    call_back: script(presses_one, talks),
                });
            }
            "follow_up_offered" => {
                return Some(Scripts::Every(CallScript {
                    mentor_after_call: Some('1'),
                    ..script(presses_one, talks)
                }));
            }
            "second_try_answered" => {
                return Some(Scripts::MissThenAnswer {
                    miss: script(presses_one, SeekerScript::SilentAtScreen),
                    answer: script(presses_one, talks),
                });
            }
            _ => return None,
        };
        Some(Scripts::Every(script(mentor, seeker)))
    }

    /// The script of the next call placed.
    fn next_script(&self) -> CallScript {
        let placed = self.placed.fetch_add(1, Ordering::Relaxed);
        match self.scripts {
            Scripts::Every(script) => script,
            Scripts::MissThenAnswer { miss, .. } if placed.is_multiple_of(2) => miss,
            Scripts::MissThenAnswer { answer, .. } => answer,
            Scripts::MissThenCallBack { miss, .. } => miss,
        }
    }

    fn stored(&self, sid: &str) -> Result<ProviderCall, ProviderError> {
        let calls = self.calls.lock().expect("simulated calls lock");
        calls.get(sid).cloned().ok_or(ProviderError::Rejected {
            status: 404,
            code: 20404,
        })
    }
}

#[async_trait]
impl Provider for SimulatedProvider {
    async fn create_call(&self, call: &NewCall) -> Result<ProviderCall, ProviderError> {
        let sid = new_call_sid();
        let placed = ProviderCall {
            sid: sid.clone(),
            status: "queued".to_owned(),
            to: Some(call.to.clone()),
            from: Some(call.from.clone()),
            parent_call_sid: None,
            duration: None,
        };
        self.calls
            .lock()
            .expect("simulated calls lock")
            .insert(sid.clone(), placed.clone());
        tracing::info!(call.sid = %sid, "simulated provider: ringing the mentor");
        let played = PlayedCall {
            sid: sid.clone(),
            account_sid: SIMULATED_ACCOUNT.to_owned(),
            from: call.from.clone(),
            to: call.to.clone(),
            url: call.url.clone(),
            status_callback: Some(call.status_callback.clone()),
        };
        let (player, script, calls) = (
            self.player.clone(),
            self.next_script(),
            Arc::clone(&self.calls),
        );
        let call_back = match self.scripts {
            Scripts::MissThenCallBack { call_back, .. } => Some(CallBack {
                script: call_back,
                voice_url: voice_url_of(&call.url),
                service_number: call.from.clone(),
                pace: self.pace,
            }),
            _ => None,
        };
        tokio::spawn(async move {
            let report = player.play(played, script).await;
            let seeker = report.dialed.as_ref();
            tracing::info!(
                call.sid = %sid,
                mentor_leg = %report.mentor_status,
                seeker_leg = seeker.map_or("not dialed", |leg| leg.status.as_str()),
                seeker_screened = seeker.is_some_and(|leg| leg.screened),
                bridged = seeker.is_some_and(|leg| leg.bridged),
                talk_seconds = seeker
                    .filter(|leg| leg.bridged)
                    .map_or(0, |leg| leg.duration_seconds),
                "simulated provider: call over"
            );
            let seeker = report.dialed.as_ref().map(|leg| leg.number.clone());
            book_played(&calls, &sid, report);
            if let (Some(call_back), Some(seeker)) = (call_back, seeker) {
                call_back.ring(&player, seeker, &calls).await;
            }
        });
        Ok(placed)
    }

    async fn fetch_call(&self, sid: &str) -> Result<ProviderCall, ProviderError> {
        self.stored(sid)
    }

    async fn list_calls(&self, query: &CallQuery) -> Result<Vec<ProviderCall>, ProviderError> {
        let calls = self.calls.lock().expect("simulated calls lock");
        Ok(calls
            .values()
            .filter(|call| {
                query
                    .to
                    .as_ref()
                    .is_none_or(|to| call.to.as_ref() == Some(to))
            })
            .filter(|call| {
                query
                    .parent_call_sid
                    .as_ref()
                    .is_none_or(|parent| call.parent_call_sid.as_ref() == Some(parent))
            })
            .filter(|call| {
                query
                    .status
                    .as_ref()
                    .is_none_or(|status| &call.status == status)
            })
            .cloned()
            .collect())
    }

    async fn update_call(
        &self,
        sid: &str,
        update: CallUpdate,
    ) -> Result<ProviderCall, ProviderError> {
        let mut calls = self.calls.lock().expect("simulated calls lock");
        let call = calls.get_mut(sid).ok_or(ProviderError::Rejected {
            status: 404,
            code: 20404,
        })?;
        call.status = match update {
            CallUpdate::Cancel => "canceled",
            CallUpdate::HangUp => "completed",
        }
        .to_owned();
        tracing::info!(call.sid = %sid, ?update, "simulated provider: call stopped");
        Ok(call.clone())
    }

    async fn send_sms(&self, sms: &NewSms) -> Result<String, ProviderError> {
        let sid = format!("SM{}", &new_call_sid()[2..]);
        match single_code(&sms.body) {
            // Only here, where no text leaves the machine: a newcomer running the
            // simulation reads the sign-in or confirmation code from the log.
            Some(code) => tracing::info!(
                message.sid = %sid,
                message.characters = sms.body.chars().count(),
                message.code = %code,
                "simulated provider: text message with a code sent"
            ),
            None => tracing::info!(
                message.sid = %sid,
                message.characters = sms.body.chars().count(),
                "simulated provider: text message sent"
            ),
        }
        Ok(sid)
    }

    fn webhook_auth_token(&self) -> &str {
        &self.auth_token
    }
}

/// The calls the simulation knows, by sid.
type Calls = Mutex<HashMap<String, ProviderCall>>;

/// Books how played call `sid` ended, with the leg it dialed as the provider
/// lists it under its parent.
fn book_played(calls: &Calls, sid: &str, report: PlayReport) {
    let mut calls = calls.lock().expect("simulated calls lock");
    if let Some(stored) = calls.get_mut(sid) {
        stored.status = report.mentor_status;
    }
    if let Some(leg) = report.dialed {
        let child = ProviderCall {
            sid: leg.sid.clone(),
            status: leg.status,
            to: Some(leg.number),
            from: Some(leg.caller_id),
            parent_call_sid: Some(sid.to_owned()),
            duration: Some(leg.duration_seconds),
        };
        calls.insert(leg.sid, child);
    }
}

/// A seeker who will ring the service number back after a missed call.
struct CallBack {
    script: CallScript,
    voice_url: String,
    service_number: String,
    pace: Pace,
}

impl CallBack {
    /// A minute (sped up) after the miss, `seeker` calls the service number,
    /// and the call is played against its voice webhook.
    async fn ring(self, player: &Player, seeker: String, calls: &Calls) {
        if let Pace::Realistic { speedup } = self.pace {
            tokio::time::sleep(std::time::Duration::from_secs(60) / speedup.max(1)).await;
        }
        let sid = new_call_sid();
        calls.lock().expect("simulated calls lock").insert(
            sid.clone(),
            ProviderCall {
                sid: sid.clone(),
                status: "in-progress".to_owned(),
                to: Some(self.service_number.clone()),
                from: Some(seeker.clone()),
                parent_call_sid: None,
                duration: None,
            },
        );
        tracing::info!(call.sid = %sid, "simulated provider: the seeker is calling the service number back");
        let played = PlayedCall {
            sid: sid.clone(),
            account_sid: SIMULATED_ACCOUNT.to_owned(),
            from: seeker,
            to: self.service_number,
            url: self.voice_url,
            status_callback: None,
        };
        let report = player.play_inbound(played, self.script).await;
        let mentor = report.dialed.as_ref();
        tracing::info!(
            call.sid = %sid,
            mentor_leg = mentor.map_or("not dialed", |leg| leg.status.as_str()),
            bridged = mentor.is_some_and(|leg| leg.bridged),
            talk_seconds = mentor
                .filter(|leg| leg.bridged)
                .map_or(0, |leg| leg.duration_seconds),
            "simulated provider: call-back over"
        );
        book_played(calls, &sid, report);
    }
}

/// The service number's voice webhook, next to the call webhook `call_url`
/// (both live under `/telephony/twilio/` of the public URL).
fn voice_url_of(call_url: &str) -> String {
    let base = call_url
        .split_once("/telephony/twilio/")
        .map_or(call_url, |(base, _)| base);
    format!("{base}/telephony/twilio/voice")
}

/// The code in a text that carries exactly one group of six digits (a sign-in or
/// confirmation code), else `None`: nothing else of a text is ever logged.
fn single_code(body: &str) -> Option<&str> {
    let mut groups = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|group| group.len() == 6);
    match (groups.next(), groups.next()) {
        (Some(code), None) => Some(code),
        _ => None,
    }
}

#[cfg(test)]
mod code_tests {
    use super::single_code;

    #[test]
    fn the_voice_webhook_sits_beside_the_call_webhooks() {
        assert_eq!(
            super::voice_url_of("https://ride.example/telephony/twilio/calls/7/answer"),
            "https://ride.example/telephony/twilio/voice"
        );
    }

    #[test]
    fn only_a_text_with_exactly_one_six_digit_group_shows_its_code() {
        assert_eq!(
            single_code("Your ridealong sign-in code is 482913. It works for 10 minutes."),
            Some("482913")
        );
        assert_eq!(single_code("Call at 7:40 from +15005550006"), None);
        assert_eq!(single_code("123456 and 654321"), None);
        assert_eq!(single_code("1234567"), None);
        assert_eq!(single_code("no digits"), None);
    }
}
