//! Plays a call the way Twilio does, against our own webhooks over HTTP: status
//! callbacks, the TwiML fetch on answer, `<Gather>`, `<Dial>` with its child leg and
//! action, each request signed with `X-Twilio-Signature`. The simulated provider
//! uses it to run the whole loop without an account; tests use it behind a fake
//! Twilio REST API.
//!
//! Longer than most modules because it is one call state machine (outbound and
//! inbound calls, the child leg, both screens) whose states share the webhook
//! plumbing; reading TwiML lives in `twiml_reader`.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::secret::Secret;

mod twiml_reader;

use crate::telephony::twilio::signature::sign;
use twiml_reader::{DialVerb, GatherVerb, HttpMethod, Verb, parse_twiml, resolve_url, with_query};

/// The API version every request carries.
const API_VERSION: &str = "2010-04-01";
/// How long Twilio waits for a webhook before it counts as failed.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// Seconds a phone rings before someone picks up.
const RING_SECONDS: u32 = 6;
/// Seconds the mentor's phone rings before Twilio gives up (the REST `Timeout` is
/// not part of [`PlayedCall`]).
const NO_ANSWER_RING_SECONDS: u32 = 30;
/// Seconds until a busy signal.
const BUSY_SECONDS: u32 = 2;
/// Seconds until a call fails.
const FAIL_SECONDS: u32 = 1;
/// Seconds from the end of a prompt to the key press.
const KEYPRESS_SECONDS: u32 = 1;
/// Seconds the mentor listens before hanging up during the announcement.
const HANG_UP_AFTER_SECONDS: u32 = 3;
/// TwiML documents one call may fetch before it counts as a loop.
const MAX_DOCUMENTS: usize = 20;
/// `<Dial timeout>` when not given.
const DEFAULT_DIAL_TIMEOUT: u32 = 30;
/// `<Dial timeLimit>` when not given (four hours).
const DEFAULT_DIAL_TIME_LIMIT: u32 = 14_400;
/// Seconds a phone rings before its voicemail picks up.
const VOICEMAIL_RING_SECONDS: u32 = 20;
/// Seconds a voicemail records when it is bridged in (no screen stops it).
const VOICEMAIL_RECORD_SECONDS: u32 = 30;
/// The key a seeker who answers presses at a screen.
const SCREEN_KEY: char = '5';

/// What the mentor (the callee of the parent leg) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MentorScript {
    /// Picks up; presses this key at every `<Gather>`, or stays silent with `None`.
    Answers {
        /// The key pressed at a `<Gather>`.
        presses: Option<char>,
    },
    /// Lets it ring out: `no-answer`.
    NoAnswer,
    /// Line busy: `busy`.
    Busy,
    /// The call cannot be placed: `failed`.
    Fails,
}

/// What the seeker (the `<Dial>`ed child leg) does. A `<Number url>` screen runs
/// on the seeker's leg once answered: whoever answers hears it, and only a key
/// press at its `<Gather>` gets past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekerScript {
    /// Picks up, presses a key at the screen, and talks this long (capped by the
    /// `<Dial timeLimit>`).
    Answers {
        /// Seconds of conversation.
        talk_seconds: u32,
    },
    /// Picks up and says nothing, pressing no key at the screen.
    SilentAtScreen,
    /// The voicemail picks up after a long ring: it hears the screen, never
    /// presses a key, and records whatever it is bridged to.
    Voicemail,
    /// Lets it ring out: `no-answer`.
    NoAnswer,
    /// Line busy: `busy`.
    Busy,
    /// The call cannot be placed: `failed`.
    Fails,
}

impl MentorScript {
    /// The mentor as the dialed leg of a call-back: answering the same way
    /// (the key pressed at the screen is taken from `presses` separately).
    fn as_callee(self) -> SeekerScript {
        match self {
            MentorScript::Answers { .. } => SeekerScript::Answers { talk_seconds: 0 },
            MentorScript::NoAnswer => SeekerScript::NoAnswer,
            MentorScript::Busy => SeekerScript::Busy,
            MentorScript::Fails => SeekerScript::Fails,
        }
    }
}

/// How both people on a call behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallScript {
    /// The mentor's part.
    pub mentor: MentorScript,
    /// The seeker's part.
    pub seeker: SeekerScript,
    /// The mentor hangs up right after the TwiML is fetched, before any verb runs.
    pub mentor_hangs_up_during_announcement: bool,
    /// The key the mentor presses at a `<Gather>` once the seeker's leg is over
    /// (the offer of another call), or `None` to stay silent.
    pub mentor_after_call: Option<char>,
}

impl Default for CallScript {
    /// The happy path: the mentor presses 1, the seeker talks for a minute.
    fn default() -> Self {
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::Answers { talk_seconds: 60 },
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        }
    }
}

/// How fast simulated time passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Never sleeps: durations are only counted (tests).
    Instant,
    /// Sleeps for real: ringing, speech, pauses and talk, divided by `speedup`
    /// (0 counts as 1).
    Realistic {
        /// How many times faster than real life.
        speedup: u32,
    },
}

/// The call to play, as the provider accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayedCall {
    /// The call's sid (`CA…`), see [`new_call_sid`].
    pub sid: String,
    /// The account the call belongs to.
    pub account_sid: String,
    /// Caller ID (the service number).
    pub from: String,
    /// The mentor's number.
    pub to: String,
    /// TwiML URL requested when the mentor answers.
    pub url: String,
    /// Where the parent leg's status callbacks go, if anywhere.
    pub status_callback: Option<String>,
}

/// Plays calls the way Twilio does, against webhooks over HTTP.
#[derive(Clone)]
pub struct Player {
    http: reqwest::Client,
    auth_token: Secret,
    pace: Pace,
}

impl fmt::Debug for Player {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Player")
            .field("auth_token", &self.auth_token)
            .field("pace", &self.pace)
            .finish()
    }
}

/// What happened on a played call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlayReport {
    /// Final Twilio status of the parent leg: `completed`, `no-answer`, `busy` or `failed`.
    pub mentor_status: String,
    /// Every `<Say>` text the mentor heard, in the order spoken.
    pub heard: Vec<String>,
    /// Every `<Say>` text played on the seeker's leg (the screen), in order.
    pub seeker_heard: Vec<String>,
    /// The last `<Dial>`ed leg, if any.
    pub dialed: Option<DialedLeg>,
    /// Every webhook request made, in order.
    pub requests: Vec<WebhookHit>,
    /// Why the call ended with Twilio's "application error", if it did: a TwiML
    /// webhook that failed or answered non-2xx, or a document that could not be read.
    pub application_error: Option<String>,
}

/// The child leg a `<Dial><Number>` created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialedLeg {
    /// The child call's sid.
    pub sid: String,
    /// The number dialed.
    pub number: String,
    /// Caller ID shown to the callee (`callerId`, else the parent's `From`).
    pub caller_id: String,
    /// Final status: `completed`, `no-answer`, `busy` or `failed`.
    pub status: String,
    /// Seconds the legs were bridged (0 when not answered).
    pub duration_seconds: u32,
    /// `timeLimit` as given in the TwiML.
    pub time_limit: Option<u32>,
    /// `timeout` as given in the TwiML.
    pub timeout: Option<u32>,
    /// `answerOnBridge="true"`.
    pub answer_on_bridge: bool,
    /// Whether a `<Number url>` screen ran on the leg once answered.
    pub screened: bool,
    /// Whether the legs were bridged.
    pub bridged: bool,
}

/// One webhook request the player made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookHit {
    /// The exact URL requested (with the query string for a GET).
    pub url: String,
    /// The parameters sent, in order.
    pub params: Vec<(String, String)>,
    /// HTTP status of the answer; 0 when none came (unreachable, timeout).
    pub status: u16,
}

impl WebhookHit {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A fresh random call sid: `CA` and 32 lowercase hex digits.
pub fn new_call_sid() -> String {
    format!("CA{:032x}", rand::random::<u128>())
}

impl Player {
    /// A player signing its webhooks with `auth_token`, passing time at `pace`.
    pub fn new(auth_token: impl Into<String>, pace: Pace) -> Player {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .user_agent("TwilioProxy/1.1")
            .build()
            .expect("the HTTP client builds");
        Player {
            http,
            auth_token: Secret::new(auth_token),
            pace,
        }
    }

    /// Plays `call` by `script` to its end and reports what happened.
    ///
    /// As on Twilio, a TwiML webhook (the `Url`, a `<Gather>`/`<Dial>` action, a
    /// `<Redirect>`) that fails or answers non-2xx ends the call with an application
    /// error, while a failed status callback is only recorded and the call carries on.
    pub async fn play(&self, call: PlayedCall, script: CallScript) -> PlayReport {
        let mut run = Run {
            player: self,
            call: &call,
            script,
            inbound: false,
            report: PlayReport::default(),
            sequence: 0,
            elapsed: 0,
        };
        tracing::debug!(call.sid = %call.sid, "playing call");
        run.play().await;
        tracing::debug!(call.sid = %call.sid, call.status = %run.report.mentor_status, "call played");
        run.report
    }
}

impl Player {
    /// Plays `call` as a call coming in to the service number: the seeker
    /// (`call.from`) rings `call.to`, and `call.url` (the number's voice webhook)
    /// answers it at once. Roles follow the people, not the legs: the parent leg
    /// is the seeker's, so [`PlayReport::heard`] is what the seeker heard, and a
    /// `<Dial>`ed leg is the mentor's, who answers (or not) by `script.mentor`
    /// and presses its key at a `<Number url>` screen, which
    /// [`PlayReport::seeker_heard`] records. Once bridged they talk for the
    /// seeker's `talk_seconds`.
    pub async fn play_inbound(&self, call: PlayedCall, script: CallScript) -> PlayReport {
        let mut run = Run {
            player: self,
            call: &call,
            script,
            inbound: true,
            report: PlayReport::default(),
            sequence: 0,
            elapsed: 0,
        };
        tracing::debug!(call.sid = %call.sid, "playing an inbound call");
        run.answered().await;
        run.report.mentor_status = "completed".to_owned();
        let duration = run.elapsed;
        run.parent_callback("completed", Some(duration)).await;
        run.report
    }
}

/// Seconds `text` takes to speak, at about 150 words a minute.
fn speaking_seconds(text: &str) -> u32 {
    let words = u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX);
    words.saturating_mul(2).div_ceil(5).max(1)
}

/// A TwiML document being executed.
struct Document {
    url: String,
    verbs: VecDeque<Verb>,
}

/// A webhook whose answer is the next TwiML document.
struct Fetch {
    url: String,
    method: HttpMethod,
    params: Vec<(String, String)>,
}

/// A child leg's status-callback target.
struct Leg {
    sid: String,
    from: String,
    to: String,
    status_callback: Option<String>,
    method: HttpMethod,
    events: Vec<String>,
    sequence: u32,
}

/// One call being played.
struct Run<'a> {
    player: &'a Player,
    call: &'a PlayedCall,
    script: CallScript,
    /// The parent leg is a call coming in from the seeker, and the dialed leg
    /// is the mentor's.
    inbound: bool,
    report: PlayReport,
    /// The parent leg's next `SequenceNumber`.
    sequence: u32,
    /// Simulated seconds since the mentor answered.
    elapsed: u32,
}

impl Run<'_> {
    async fn play(&mut self) {
        self.parent_callback("initiated", None).await;
        let status = match self.script.mentor {
            MentorScript::Fails => {
                self.wait(FAIL_SECONDS).await;
                "failed"
            }
            MentorScript::Busy => {
                self.parent_callback("ringing", None).await;
                self.wait(BUSY_SECONDS).await;
                "busy"
            }
            MentorScript::NoAnswer => {
                self.parent_callback("ringing", None).await;
                self.wait(NO_ANSWER_RING_SECONDS).await;
                "no-answer"
            }
            MentorScript::Answers { .. } => {
                self.parent_callback("ringing", None).await;
                self.wait(RING_SECONDS).await;
                self.elapsed = 0;
                self.parent_callback("in-progress", None).await;
                self.answered().await;
                "completed"
            }
        };
        let duration = if status == "completed" {
            self.elapsed
        } else {
            0
        };
        self.report.mentor_status = status.to_owned();
        self.parent_callback(status, Some(duration)).await;
    }

    /// Runs the TwiML until the call ends.
    async fn answered(&mut self) {
        let first = Fetch {
            url: self.call.url.clone(),
            method: HttpMethod::Post,
            params: self.call_params(),
        };
        let Some(mut document) = self.fetch_document(first).await else {
            return;
        };
        if self.script.mentor_hangs_up_during_announcement {
            self.wait(HANG_UP_AFTER_SECONDS).await;
            return;
        }
        let mut documents = 1;
        while let Some(verb) = document.verbs.pop_front() {
            let next = match verb {
                Verb::Say(text) => {
                    self.say(text).await;
                    None
                }
                Verb::Pause(seconds) => {
                    self.wait(seconds).await;
                    None
                }
                Verb::Gather(gather) => self.gather(gather, &document.url).await,
                Verb::Dial(dial) => self.dial(dial, &document.url).await,
                Verb::Redirect { url, method } => {
                    Some(self.fetch(&document.url, &url, method, Vec::new()))
                }
                Verb::Hangup | Verb::Reject => return,
                Verb::Other(name) => {
                    tracing::debug!(call.sid = %self.call.sid, twiml.verb = %name, "skipping a verb the player does not play");
                    None
                }
            };
            let Some(next) = next else { continue };
            let next = match next {
                Ok(next) => next,
                Err(error) => return self.application_error(error),
            };
            documents += 1;
            if documents > MAX_DOCUMENTS {
                return self.application_error("too many TwiML documents on one call".to_owned());
            }
            match self.fetch_document(next).await {
                Some(next) => document = next,
                None => return,
            }
        }
    }

    async fn say(&mut self, text: String) {
        let seconds = speaking_seconds(&text);
        self.report.heard.push(text);
        self.wait(seconds).await;
    }

    async fn gather(
        &mut self,
        gather: GatherVerb,
        document_url: &str,
    ) -> Option<Result<Fetch, String>> {
        for verb in gather.prompt {
            match verb {
                Verb::Say(text) => self.say(text).await,
                Verb::Pause(seconds) => self.wait(seconds).await,
                _ => {}
            }
        }
        let pressed = match self.script.mentor {
            // After the `<Dial>`: the seeker has hung up, the mentor is asked again.
            MentorScript::Answers { .. } if !self.inbound && self.report.dialed.is_some() => {
                self.script.mentor_after_call
            }
            MentorScript::Answers { presses } if !self.inbound => presses,
            _ => None,
        };
        let action = gather.action.as_deref().unwrap_or(document_url);
        match pressed {
            Some(digit) => {
                self.wait(KEYPRESS_SECONDS).await;
                let extra = vec![("Digits".to_owned(), digit.to_string())];
                Some(self.fetch(document_url, action, gather.method, extra))
            }
            None => {
                self.wait(gather.timeout).await;
                gather
                    .action_on_empty_result
                    .then(|| self.fetch(document_url, action, gather.method, Vec::new()))
            }
        }
    }

    async fn dial(&mut self, dial: DialVerb, document_url: &str) -> Option<Result<Fetch, String>> {
        let status_callback = match dial
            .number
            .status_callback
            .as_deref()
            .map(|url| resolve_url(document_url, url))
        {
            Some(Ok(url)) => Some(url),
            Some(Err(error)) => return Some(Err(error)),
            None => None,
        };
        let mut leg = Leg {
            sid: new_call_sid(),
            from: dial
                .caller_id
                .clone()
                .unwrap_or_else(|| self.call.from.clone()),
            to: dial.number.number.clone(),
            status_callback,
            method: dial.number.status_callback_method,
            events: dial.number.events.clone(),
            sequence: 0,
        };
        tracing::debug!(call.sid = %self.call.sid, child.sid = %leg.sid, "dialing a child leg");
        self.leg_callback(&mut leg, "initiated", "initiated", None)
            .await;
        let callee = if self.inbound {
            self.script.mentor.as_callee()
        } else {
            self.script.seeker
        };
        let answered = match callee {
            SeekerScript::Fails => {
                self.wait(FAIL_SECONDS).await;
                Err("failed")
            }
            SeekerScript::Busy => {
                self.leg_callback(&mut leg, "ringing", "ringing", None)
                    .await;
                self.wait(BUSY_SECONDS).await;
                Err("busy")
            }
            SeekerScript::NoAnswer => {
                self.leg_callback(&mut leg, "ringing", "ringing", None)
                    .await;
                self.wait(dial.timeout.unwrap_or(DEFAULT_DIAL_TIMEOUT))
                    .await;
                Err("no-answer")
            }
            SeekerScript::Answers { .. } | SeekerScript::SilentAtScreen => {
                self.leg_callback(&mut leg, "ringing", "ringing", None)
                    .await;
                self.wait(RING_SECONDS).await;
                Ok(())
            }
            SeekerScript::Voicemail => {
                self.leg_callback(&mut leg, "ringing", "ringing", None)
                    .await;
                let timeout = dial.timeout.unwrap_or(DEFAULT_DIAL_TIMEOUT);
                self.wait(VOICEMAIL_RING_SECONDS.min(timeout)).await;
                if VOICEMAIL_RING_SECONDS < timeout {
                    Ok(())
                } else {
                    Err("no-answer")
                }
            }
        };
        let mut screened = false;
        let mut bridged = false;
        let (status, talked) = match answered {
            Err(status) => (status, 0),
            Ok(()) => {
                self.leg_callback(&mut leg, "answered", "in-progress", None)
                    .await;
                let answered_at = self.elapsed;
                bridged = match dial.number.url.as_deref() {
                    Some(url) => {
                        screened = true;
                        self.screen(&leg, url, dial.number.url_method, document_url)
                            .await
                    }
                    None => true,
                };
                let talk = match self.script.seeker {
                    SeekerScript::Answers { talk_seconds } => talk_seconds,
                    _ => VOICEMAIL_RECORD_SECONDS,
                };
                if bridged {
                    let talked = talk.min(dial.time_limit.unwrap_or(DEFAULT_DIAL_TIME_LIMIT));
                    self.wait(talked).await;
                    ("completed", talked)
                } else {
                    // The screen hung the leg up: answered, so "completed", but
                    // never bridged.
                    ("completed", self.elapsed.saturating_sub(answered_at))
                }
            }
        };
        self.leg_callback(&mut leg, "completed", status, Some(talked))
            .await;
        tracing::debug!(call.sid = %self.call.sid, child.sid = %leg.sid, child.status = status, "child leg ended");
        self.report.dialed = Some(DialedLeg {
            sid: leg.sid.clone(),
            number: leg.to,
            caller_id: leg.from,
            status: status.to_owned(),
            duration_seconds: talked,
            time_limit: dial.time_limit,
            timeout: dial.timeout,
            answer_on_bridge: dial.answer_on_bridge,
            screened,
            bridged,
        });
        let action = dial.action?;
        let extra = vec![
            ("DialCallStatus".to_owned(), status.to_owned()),
            ("DialCallSid".to_owned(), leg.sid),
            ("DialCallDuration".to_owned(), talked.to_string()),
            ("DialBridged".to_owned(), bridged.to_string()),
        ];
        Some(self.fetch(document_url, &action, dial.method, extra))
    }

    /// Runs the `<Number url>` TwiML at `url` on the answered child `leg`, the way
    /// Twilio screens a callee: its `<Say>`s are played to the seeker, a
    /// `<Gather>` takes the seeker's key (or times out), its action's TwiML runs
    /// next. `true` when the TwiML ran out without hanging up, which bridges the
    /// legs; a `<Hangup>`, a failed webhook or unreadable TwiML ends the leg.
    async fn screen(
        &mut self,
        leg: &Leg,
        url: &str,
        method: HttpMethod,
        document_url: &str,
    ) -> bool {
        let pressed = match (self.inbound, self.script.mentor, self.script.seeker) {
            (true, MentorScript::Answers { presses }, _) => presses,
            (false, _, SeekerScript::Answers { .. }) => Some(SCREEN_KEY),
            _ => None,
        };
        let Ok(url) = resolve_url(document_url, url) else {
            return false;
        };
        let mut fetch = Fetch {
            url,
            method,
            params: self.leg_params(leg),
        };
        for _ in 0..MAX_DOCUMENTS {
            let body = match self.webhook(&fetch.url, fetch.method, fetch.params).await {
                Ok(body) => body,
                Err(_) => return false,
            };
            let Ok(verbs) = parse_twiml(&body) else {
                return false;
            };
            let mut next = None;
            for verb in verbs {
                match verb {
                    Verb::Say(text) => self.seeker_say(text).await,
                    Verb::Pause(seconds) => self.wait(seconds).await,
                    Verb::Gather(gather) => {
                        for verb in gather.prompt {
                            match verb {
                                Verb::Say(text) => self.seeker_say(text).await,
                                Verb::Pause(seconds) => self.wait(seconds).await,
                                _ => {}
                            }
                        }
                        let action = gather.action.as_deref().unwrap_or(&fetch.url);
                        let digits = match pressed {
                            Some(key) if gather.finish_on_key != key.to_string() => {
                                self.wait(KEYPRESS_SECONDS).await;
                                Some(key.to_string())
                            }
                            _ => {
                                self.wait(gather.timeout).await;
                                None
                            }
                        };
                        if digits.is_none() && !gather.action_on_empty_result {
                            continue;
                        }
                        let mut params = self.leg_params(leg);
                        params.extend(digits.map(|digits| ("Digits".to_owned(), digits)));
                        match resolve_url(&fetch.url, action) {
                            Ok(url) => {
                                next = Some(Fetch {
                                    url,
                                    method: gather.method,
                                    params,
                                });
                            }
                            Err(_) => return false,
                        }
                        break;
                    }
                    Verb::Redirect { url, method } => match resolve_url(&fetch.url, &url) {
                        Ok(url) => {
                            next = Some(Fetch {
                                url,
                                method,
                                params: self.leg_params(leg),
                            });
                            break;
                        }
                        Err(_) => return false,
                    },
                    // Twilio refuses a `<Dial>` in a screen: the leg ends.
                    Verb::Hangup | Verb::Reject | Verb::Dial(_) => return false,
                    Verb::Other(_) => {}
                }
            }
            match next {
                Some(next) => fetch = next,
                None => return true,
            }
        }
        false
    }

    async fn seeker_say(&mut self, text: String) {
        let seconds = speaking_seconds(&text);
        self.report.seeker_heard.push(text);
        self.wait(seconds).await;
    }

    /// The parameters of every request about the answered child `leg`.
    fn leg_params(&self, leg: &Leg) -> Vec<(String, String)> {
        [
            ("AccountSid", self.call.account_sid.as_str()),
            ("ApiVersion", API_VERSION),
            ("CallSid", leg.sid.as_str()),
            ("CallStatus", "in-progress"),
            ("Direction", "outbound-dial"),
            ("From", leg.from.as_str()),
            ("ParentCallSid", self.call.sid.as_str()),
            ("To", leg.to.as_str()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    /// The request for the next document: `reference` resolved against the
    /// current document, with the call's parameters and `extra`.
    fn fetch(
        &self,
        document_url: &str,
        reference: &str,
        method: HttpMethod,
        extra: Vec<(String, String)>,
    ) -> Result<Fetch, String> {
        let mut params = self.call_params();
        params.extend(extra);
        Ok(Fetch {
            url: resolve_url(document_url, reference)?,
            method,
            params,
        })
    }

    /// Requests a TwiML document; on any failure the call ends with an application error.
    async fn fetch_document(&mut self, fetch: Fetch) -> Option<Document> {
        let body = match self.webhook(&fetch.url, fetch.method, fetch.params).await {
            Ok(body) => body,
            Err(error) => {
                self.application_error(error);
                return None;
            }
        };
        match parse_twiml(&body) {
            Ok(verbs) => Some(Document {
                url: fetch.url,
                verbs: verbs.into(),
            }),
            Err(error) => {
                self.application_error(format!("unreadable TwiML: {error}"));
                None
            }
        }
    }

    fn application_error(&mut self, error: String) {
        tracing::debug!(call.sid = %self.call.sid, "application error; ending the call");
        self.report.application_error = Some(error);
    }

    /// The parent leg's `Direction`.
    fn direction(&self) -> &'static str {
        if self.inbound {
            "inbound"
        } else {
            "outbound-api"
        }
    }

    /// The parameters of every request about the parent leg.
    fn call_params(&self) -> Vec<(String, String)> {
        [
            ("AccountSid", self.call.account_sid.as_str()),
            ("ApiVersion", API_VERSION),
            ("CallSid", self.call.sid.as_str()),
            ("CallStatus", "in-progress"),
            ("Direction", self.direction()),
            ("From", self.call.from.as_str()),
            ("To", self.call.to.as_str()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    /// A status callback about the parent leg (every event is reported).
    async fn parent_callback(&mut self, status: &str, duration: Option<u32>) {
        let Some(url) = self.call.status_callback.clone() else {
            return;
        };
        let mut params = status_params(
            &self.call.account_sid,
            &self.call.sid,
            status,
            self.sequence,
            duration,
        );
        params.extend([
            ("Direction".to_owned(), self.direction().to_owned()),
            ("From".to_owned(), self.call.from.clone()),
            ("To".to_owned(), self.call.to.clone()),
        ]);
        self.sequence += 1;
        tracing::debug!(call.sid = %self.call.sid, call.status = status, "status callback");
        // Twilio carries on when a status callback fails; only TwiML failures end a call.
        let _ = self.webhook(&url, HttpMethod::Post, params).await;
    }

    /// A status callback about a child leg, if its `<Number>` asked for `event`.
    async fn leg_callback(
        &mut self,
        leg: &mut Leg,
        event: &str,
        status: &str,
        duration: Option<u32>,
    ) {
        let Some(url) = leg.status_callback.clone() else {
            return;
        };
        if !leg.events.iter().any(|wanted| wanted == event) {
            return;
        }
        let mut params = status_params(
            &self.call.account_sid,
            &leg.sid,
            status,
            leg.sequence,
            duration,
        );
        params.extend([
            ("Direction".to_owned(), "outbound-dial".to_owned()),
            ("From".to_owned(), leg.from.clone()),
            ("ParentCallSid".to_owned(), self.call.sid.clone()),
            ("To".to_owned(), leg.to.clone()),
        ]);
        leg.sequence += 1;
        tracing::debug!(call.sid = %leg.sid, call.status = status, "status callback");
        let _ = self.webhook(&url, leg.method, params).await;
    }

    /// Makes one signed webhook request, records it, and returns the body of a 2xx answer.
    async fn webhook(
        &mut self,
        url: &str,
        method: HttpMethod,
        params: Vec<(String, String)>,
    ) -> Result<String, String> {
        let (target, signed) = match method {
            HttpMethod::Post => (url.to_owned(), params.clone()),
            HttpMethod::Get => (with_query(url, &params)?, Vec::new()),
        };
        let signature = sign(self.player.auth_token.expose(), &target, &signed);
        let request = match method {
            HttpMethod::Post => self.player.http.post(&target).form(&params),
            HttpMethod::Get => self.player.http.get(&target),
        };
        let outcome = match request.header("X-Twilio-Signature", signature).send().await {
            Ok(response) => {
                let status = response.status();
                match response.text().await {
                    Ok(_) if !status.is_success() => {
                        (status.as_u16(), Err(format!("webhook answered {status}")))
                    }
                    Ok(body) => (status.as_u16(), Ok(body)),
                    Err(error) => (
                        status.as_u16(),
                        Err(format!(
                            "webhook answer unreadable: {}",
                            error.without_url()
                        )),
                    ),
                }
            }
            Err(error) => (
                0,
                Err(format!("webhook unreachable: {}", error.without_url())),
            ),
        };
        self.report.requests.push(WebhookHit {
            url: target,
            params,
            status: outcome.0,
        });
        outcome.1
    }

    /// Lets `seconds` of simulated time pass.
    async fn wait(&mut self, seconds: u32) {
        self.elapsed = self.elapsed.saturating_add(seconds);
        if let Pace::Realistic { speedup } = self.player.pace {
            let real = Duration::from_secs(u64::from(seconds)) / speedup.max(1);
            tokio::time::sleep(real).await;
        }
    }
}

/// The fields every status callback carries.
fn status_params(
    account_sid: &str,
    call_sid: &str,
    status: &str,
    sequence: u32,
    duration: Option<u32>,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("AccountSid", account_sid.to_owned()),
        ("ApiVersion", API_VERSION.to_owned()),
        ("CallSid", call_sid.to_owned()),
        ("CallStatus", status.to_owned()),
        ("CallbackSource", "call-progress-events".to_owned()),
        ("SequenceNumber", sequence.to_string()),
        ("Timestamp", chrono::Utc::now().to_rfc2822()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    if let Some(duration) = duration {
        params.push(("CallDuration".to_owned(), duration.to_string()));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_sids_look_like_twilios() {
        let sid = new_call_sid();
        assert_eq!(sid.len(), 34);
        assert!(sid.starts_with("CA"));
        assert!(
            sid[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(sid, new_call_sid());
    }

    #[test]
    fn speech_takes_about_150_words_a_minute() {
        assert_eq!(speaking_seconds(""), 1);
        assert_eq!(speaking_seconds("Hello"), 1);
        assert_eq!(speaking_seconds(&"word ".repeat(20)), 8);
    }

    #[test]
    fn status_callbacks_carry_twilios_fields() {
        let params = status_params("AC1", "CA1", "completed", 3, Some(42));
        let keys: Vec<&str> = params.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "AccountSid",
                "ApiVersion",
                "CallSid",
                "CallStatus",
                "CallbackSource",
                "SequenceNumber",
                "Timestamp",
                "CallDuration"
            ]
        );
        let timestamp = &params[6].1;
        assert!(
            chrono::DateTime::parse_from_rfc2822(timestamp).is_ok(),
            "{timestamp}"
        );
        assert_eq!(params[5].1, "3");
        assert_eq!(params[7].1, "42");
    }

    #[test]
    fn the_player_never_prints_its_token() {
        let player = Player::new("super-secret-token", Pace::Instant);
        assert!(!format!("{player:?}").contains("super-secret-token"));
    }
}
