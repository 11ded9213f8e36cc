//! Mentors: registering one, signing in with a texted code, their commute
//! windows, pauses and call settings, the slots those make, and the private
//! calendar link.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

use super::Service;
use crate::domain::ValidationError;
use crate::domain::concurrency::CallCapacity;
use crate::domain::mentor::{CallSettings, NewMentor};
use crate::domain::notices::sign_in_code_text;
use crate::domain::pause::Pause;
use crate::domain::phone::PhoneNumber;
use crate::domain::rest::ANSWER_RATE_SPAN;
use crate::domain::status::Outcome;
use crate::domain::weekly::WeeklyRange;
use crate::ids::{MentorId, PauseId, WindowId};
use crate::store::{
    AnswerTally, MentorRecord, NewSignInCode, PauseRecord, StoreError, WindowRecord,
};
use crate::telephony::NewSms;
use crate::tokens;

/// How long a sign-in code works.
pub const SIGN_IN_CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// Wrong tries after which a sign-in code is void.
pub const SIGN_IN_CODE_TRIES: u32 = 5;
/// Most sign-in codes texted to one phone in an hour.
pub const SIGN_IN_CODES_PER_HOUR: u32 = 5;
/// What a calendar feed token starts with.
pub const CALENDAR_TOKEN_PREFIX: &str = "rac_";

/// Why a change to a mentor was refused.
#[derive(Debug, thiserror::Error)]
pub enum MentorChangeError {
    /// The change breaks a rule given what is stored (e.g. a call length that no
    /// longer fits one of the mentor's windows); nothing was stored.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such mentor.
    #[error("no such mentor")]
    MentorNotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A usable slot of a mentor, and whether a call is booked into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MentorSlot {
    /// Slot start.
    pub starts_at: DateTime<Utc>,
    /// Slot end.
    pub ends_at: DateTime<Utc>,
    /// Whether a call is booked into it.
    pub booked: bool,
    /// Whether no call can be booked into it: it is booked, or the provider's
    /// concurrent-call limit is taken then by other mentors' calls.
    pub full: bool,
}

impl Service {
    /// Issues a new mentor's API token and stores them; returns the stored
    /// mentor and the token, which exists nowhere else.
    pub async fn register_mentor(
        &self,
        mentor: &NewMentor,
    ) -> Result<(MentorRecord, String), StoreError> {
        let token = tokens::generate(tokens::MENTOR_PREFIX);
        let record = self
            .store
            .insert_mentor(mentor, &tokens::hash(&token), self.clock.now())
            .await?;
        tracing::info!(mentor.id = record.id.0, "mentor registered");
        Ok((record, token))
    }

    /// Stores a new commute window of mentor `mentor_id` and nudges the matcher.
    pub async fn add_window(
        &self,
        mentor_id: MentorId,
        range: &WeeklyRange,
    ) -> Result<WindowRecord, StoreError> {
        let window = self
            .store
            .insert_window(mentor_id, range, self.clock.now())
            .await?;
        self.matcher.nudge();
        Ok(window)
    }

    /// Removes window `window_id` of mentor `mentor_id` and nudges the matcher;
    /// `false` when the mentor has no such window. Calls already booked in it
    /// stay booked.
    pub async fn remove_window(
        &self,
        mentor_id: MentorId,
        window_id: WindowId,
    ) -> Result<bool, StoreError> {
        if !self.store.delete_window(mentor_id, window_id).await? {
            return Ok(false);
        }
        self.matcher.nudge();
        Ok(true)
    }

    /// Stores `pause` for mentor `mentor_id`, gives back their booked calls on
    /// its dates in the same transaction (their requests are booked again, as
    /// for a call the mentor cannot make, without avoiding them: the pause keeps
    /// them out), and nudges the matcher.
    pub async fn add_pause(
        &self,
        mentor_id: MentorId,
        pause: &Pause,
    ) -> Result<PauseRecord, MentorChangeError> {
        if self.store.mentor(mentor_id).await?.is_none() {
            return Err(MentorChangeError::MentorNotFound);
        }
        let (pause, released) = self
            .store
            .insert_pause_releasing(mentor_id, pause, self.clock.now())
            .await?;
        if !released.is_empty() {
            for _ in &released {
                self.metrics.call_ended(Outcome::Canceled);
            }
            tracing::info!(
                mentor.id = mentor_id.0,
                pause.calls_given_back = released.len(),
                "pause added over booked calls; booking their requests again"
            );
        }
        self.matcher.nudge();
        Ok(pause)
    }

    /// Mentor `mentor_id` is back after resting for repeated misses: they are
    /// booked again from now on, with their count of misses in a row at zero,
    /// and the matcher is nudged. Resuming a mentor who is not resting changes
    /// nothing. Returns the mentor as stored afterwards.
    pub async fn resume_mentor(
        &self,
        mentor_id: MentorId,
    ) -> Result<MentorRecord, MentorChangeError> {
        if self.store.resume_mentor(mentor_id).await? {
            tracing::info!(mentor.id = mentor_id.0, "mentor is back from resting");
            self.matcher.nudge();
        }
        self.store
            .mentor(mentor_id)
            .await?
            .ok_or(MentorChangeError::MentorNotFound)
    }

    /// The share of the calls that rang mentor `mentor_id` over the last
    /// [`ANSWER_RATE_SPAN`] that they answered; `None` when none rang them.
    pub async fn answer_rate(&self, mentor_id: MentorId) -> Result<Option<f64>, StoreError> {
        Ok(self.answer_tally(mentor_id).await?.rate())
    }

    /// How many calls rang mentor `mentor_id` over the span of
    /// [`Service::answer_rate`], and how many they answered: what the rate is
    /// counted from, for pages that show both.
    pub async fn answer_tally(&self, mentor_id: MentorId) -> Result<AnswerTally, StoreError> {
        let since = self.clock.now() - ANSWER_RATE_SPAN;
        let tallies = self.store.answer_tallies(Some(mentor_id), since).await?;
        Ok(tallies.get(&mentor_id).copied().unwrap_or_default())
    }

    /// Every mentor's answer rate, as [`Service::answer_rate`]; mentors rung by
    /// no call are left out.
    pub async fn answer_rates(&self) -> Result<HashMap<MentorId, f64>, StoreError> {
        let since = self.clock.now() - ANSWER_RATE_SPAN;
        let tallies = self.store.answer_tallies(None, since).await?;
        Ok(tallies
            .into_iter()
            .filter_map(|(mentor, tally)| Some((mentor, tally.rate()?)))
            .collect())
    }

    /// Removes pause `pause_id` of mentor `mentor_id` and nudges the matcher;
    /// `false` when the mentor has no such pause.
    pub async fn remove_pause(
        &self,
        mentor_id: MentorId,
        pause_id: PauseId,
    ) -> Result<bool, StoreError> {
        if !self.store.delete_pause(mentor_id, pause_id).await? {
            return Ok(false);
        }
        self.matcher.nudge();
        Ok(true)
    }

    /// Sets `mentor`'s call length and per-window cap, refusing a length that no
    /// longer fits one of their windows, then nudges the matcher.
    pub async fn update_call_settings(
        &self,
        mentor: &MentorRecord,
        settings: CallSettings,
    ) -> Result<(), MentorChangeError> {
        let windows = self.store.windows(mentor.id).await?;
        let ranges: Vec<_> = windows.iter().map(|window| window.range).collect();
        settings.fits(&ranges)?;
        let updated = self
            .store
            .update_call_settings(
                mentor.id,
                settings.call_minutes,
                settings.max_calls_per_window,
            )
            .await?;
        if !updated {
            return Err(MentorChangeError::MentorNotFound);
        }
        self.matcher.nudge();
        Ok(())
    }

    /// `mentor`'s usable slots starting in `[from, to)` (the first
    /// `max_calls_per_window` of each window occurrence, pauses applied; notice
    /// and horizon not), each marked booked or free.
    pub async fn mentor_slots(
        &self,
        mentor: &MentorRecord,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<MentorSlot>, StoreError> {
        let windows = self.store.windows(mentor.id).await?;
        let pauses = self.store.pauses(mentor.id).await?;
        let booked = self.store.booked_starts(mentor.id, from, to).await?;
        let slots = mentor.schedule(&windows, &pauses).slots(from, to);
        let capacity = match (self.settings.calls_at_once, slots.first(), slots.last()) {
            (Some(at_once), Some(first), Some(last)) => {
                let mut capacity = CallCapacity::new(at_once);
                for call in self
                    .store
                    .booked_calls(first.starts_at, last.ends_at)
                    .await?
                {
                    capacity.add(call.slot);
                }
                Some(capacity)
            }
            _ => None,
        };
        Ok(slots
            .into_iter()
            .map(|slot| {
                let booked = booked.binary_search(&slot.starts_at).is_ok();
                MentorSlot {
                    starts_at: slot.starts_at,
                    ends_at: slot.ends_at,
                    booked,
                    full: booked || capacity.as_ref().is_some_and(|c| !c.fits(slot)),
                }
            })
            .collect())
    }

    /// Makes, stores and texts a new sign-in code to `phone` if a mentor has
    /// that number and it had fewer than [`SIGN_IN_CODES_PER_HOUR`] codes this
    /// hour. The text goes out in the background, so the caller answers as fast
    /// whether or not the number is a mentor's, and tells nobody which.
    pub async fn send_sign_in_code(&self, phone: &PhoneNumber) -> Result<(), StoreError> {
        let Some(mentor_id) = self.store.mentor_id_by_phone(phone).await? else {
            return Ok(());
        };
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        let now = self.clock.now();
        let stored = self
            .store
            .issue_sign_in_code(NewSignInCode {
                mentor_id,
                code_hash: &sign_in_code_hash(mentor_id, &code),
                now,
                expires_at: now + SIGN_IN_CODE_LIFETIME,
                sends_since: now - TimeDelta::hours(1),
                max_sends: SIGN_IN_CODES_PER_HOUR,
            })
            .await?;
        if !stored {
            tracing::warn!(
                mentor.id = mentor_id.0,
                "sign-in code not sent: hourly cap reached"
            );
            return Ok(());
        }
        let Some(provider) = &self.provider else {
            return Ok(());
        };
        let sms = NewSms {
            to: phone.as_str().to_owned(),
            from: self.settings.from_number.clone(),
            body: sign_in_code_text(&code, SIGN_IN_CODE_LIFETIME),
        };
        let provider = Arc::clone(provider);
        tokio::spawn(async move {
            match provider.send_sms(&sms).await {
                Ok(_) => tracing::info!(mentor.id = mentor_id.0, "sign-in code sent"),
                // The page says the same either way; the mentor can ask for a new code.
                Err(error) => tracing::error!(
                    mentor.id = mentor_id.0,
                    error = %error,
                    "sign-in code could not be sent"
                ),
            }
        });
        Ok(())
    }

    /// The mentor whose number is `phone`, if `code` is their current sign-in
    /// code (each wrong try counts; [`SIGN_IN_CODE_TRIES`] void it).
    pub async fn check_sign_in_code(
        &self,
        phone: &PhoneNumber,
        code: &str,
    ) -> Result<Option<MentorId>, StoreError> {
        let Some(mentor_id) = self.store.mentor_id_by_phone(phone).await? else {
            return Ok(None);
        };
        let used = self
            .store
            .use_sign_in_code(
                mentor_id,
                &sign_in_code_hash(mentor_id, code),
                self.clock.now(),
                SIGN_IN_CODE_TRIES,
            )
            .await?;
        if used {
            tracing::info!(mentor.id = mentor_id.0, "mentor signed in");
        }
        Ok(used.then_some(mentor_id))
    }

    /// A new private calendar feed token for mentor `mentor_id`; the old one
    /// stops working. Only its hash is stored, so this is the one time it exists.
    pub async fn new_calendar_token(&self, mentor_id: MentorId) -> Result<String, StoreError> {
        let token = tokens::generate(CALENDAR_TOKEN_PREFIX);
        self.store
            .replace_calendar_token(mentor_id, &tokens::hash(&token), self.clock.now())
            .await?;
        tracing::info!(mentor.id = mentor_id.0, "calendar link made");
        Ok(token)
    }
}

/// The hash a sign-in code is stored under: salted with the mentor, so equal
/// codes of two mentors differ.
fn sign_in_code_hash(mentor_id: MentorId, code: &str) -> String {
    tokens::hash(&format!("mentor-sign-in:{mentor_id}:{code}"))
}
