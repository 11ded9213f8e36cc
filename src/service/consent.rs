//! Proving a request's number is the seeker's, and what the seeker lets us text:
//! entering the texted code, asking for a new one, and replies to the service
//! number (YES, STOP, START, HELP, a digit answering the feedback question,
//! `feedback`, and AGAIN taking a mentor's offer of another call, `follow_up`).

use super::Service;
use crate::domain::consent::{ConfirmedVia, SmsKeyword, code_hash, normalize_code};
use crate::domain::status::RequestStatus;
use crate::ids::{CallId, RequestId};
use crate::store::{AgainOutcome, ConfirmOutcome, NewCodeOutcome, OptOutSource, StoreError};

/// Why a code did not confirm the request.
#[derive(Debug, thiserror::Error)]
pub enum CodeRefusal {
    /// Not 6 digits.
    #[error("the code is not 6 digits")]
    Malformed,
    /// Not the code; this many tries are left.
    #[error("wrong code, {0} tries left")]
    Wrong(u32),
    /// Entered wrong too often.
    #[error("the code was entered wrong too often")]
    Locked,
    /// Too old, or none was sent yet.
    #[error("the code has expired")]
    Expired,
    /// The request is over.
    #[error("the request is {0}")]
    Closed(RequestStatus),
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why no new code was queued.
#[derive(Debug, thiserror::Error)]
pub enum NewCodeRefusal {
    /// The request had all its code texts.
    #[error("the request had all its code texts")]
    TooMany,
    /// The request does not wait for a code.
    #[error("the request is {0} and needs no code")]
    NotUnconfirmed(RequestStatus),
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a text to the service number did; the SMS door picks the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextOutcome {
    /// STOP or a synonym: nothing more is texted to the sender.
    OptedOut,
    /// START or a synonym: texts to the sender may go out again.
    OptedIn,
    /// YES confirmed the sender's unconfirmed request (texts are back on too).
    Confirmed {
        /// The request confirmed.
        request_id: RequestId,
    },
    /// YES with no request waiting for it (texts are back on).
    NothingToConfirm,
    /// HELP: the sender asks what this is.
    HelpAsked,
    /// A digit from 1 to 5 answered the feedback question of the sender's
    /// latest completed call.
    FeedbackStored {
        /// The call the answer is stored on.
        call_id: CallId,
    },
    /// AGAIN took a mentor's offer of another call, or found none to take.
    FollowUp(AgainOutcome),
    /// Anything else.
    Ignored,
}

impl Service {
    /// Checks `typed` against request `id`'s code; on success the request is
    /// `pending` and the matcher is asked to book it. Confirming twice is fine:
    /// the request's status is the answer. The door has checked the manage token.
    pub async fn confirm_with_code(
        &self,
        id: RequestId,
        typed: &str,
        via: ConfirmedVia,
    ) -> Result<RequestStatus, CodeRefusal> {
        let code = normalize_code(typed).ok_or(CodeRefusal::Malformed)?;
        let now = self.clock.now();
        let outcome = self
            .store
            .confirm_with_code(id, &code_hash(id, &code), via, now)
            .await?;
        match outcome {
            ConfirmOutcome::Confirmed => {
                tracing::info!(request.id = id.0, confirmed.via = %via, "phone number confirmed");
                self.matcher.nudge();
                Ok(RequestStatus::Pending)
            }
            ConfirmOutcome::AlreadyConfirmed(status) => Ok(status),
            ConfirmOutcome::Wrong { tries_left } => {
                tracing::info!(request.id = id.0, tries_left, "wrong confirmation code");
                Err(CodeRefusal::Wrong(tries_left))
            }
            ConfirmOutcome::Locked => Err(CodeRefusal::Locked),
            ConfirmOutcome::Expired => Err(CodeRefusal::Expired),
            ConfirmOutcome::Closed(status) => Err(CodeRefusal::Closed(status)),
            ConfirmOutcome::NotFound => Err(CodeRefusal::NotFound),
        }
    }

    /// Queues a new code text for request `id` (the old code stops working when
    /// the new one is made).
    pub async fn queue_new_code(&self, id: RequestId) -> Result<(), NewCodeRefusal> {
        match self.store.request_new_code(id, self.clock.now()).await? {
            NewCodeOutcome::Queued => {
                tracing::info!(request.id = id.0, "new confirmation code asked for");
                Ok(())
            }
            NewCodeOutcome::TooMany => Err(NewCodeRefusal::TooMany),
            NewCodeOutcome::NotUnconfirmed(status) => Err(NewCodeRefusal::NotUnconfirmed(status)),
            NewCodeOutcome::NotFound => Err(NewCodeRefusal::NotFound),
        }
    }

    /// Acts on `keyword`, texted to the service number from `from` (E.164):
    /// opting out or in, or confirming the sender's unconfirmed request. Neither
    /// the number nor the text is logged.
    pub async fn text_received(
        &self,
        from: &str,
        keyword: SmsKeyword,
    ) -> Result<TextOutcome, StoreError> {
        let now = self.clock.now();
        Ok(match keyword {
            SmsKeyword::OptOut => {
                self.store.opt_out(from, OptOutSource::Reply, now).await?;
                tracing::info!("inbound text: opted out of texts");
                TextOutcome::OptedOut
            }
            SmsKeyword::OptIn => {
                self.store.opt_in(from).await?;
                tracing::info!("inbound text: opted in to texts again");
                TextOutcome::OptedIn
            }
            SmsKeyword::Yes => {
                self.store.opt_in(from).await?;
                match self.store.confirm_by_reply(from, now).await? {
                    Some(request_id) => {
                        tracing::info!(
                            request.id = request_id.0,
                            confirmed.via = "sms",
                            "phone number confirmed"
                        );
                        self.matcher.nudge();
                        TextOutcome::Confirmed { request_id }
                    }
                    None => {
                        tracing::info!("inbound text: YES with no request waiting for it");
                        TextOutcome::NothingToConfirm
                    }
                }
            }
            SmsKeyword::Help => TextOutcome::HelpAsked,
            SmsKeyword::Score(score) => match self.feedback_reply(from, score).await? {
                Some(stored) => TextOutcome::FeedbackStored {
                    call_id: stored.call_id,
                },
                None => {
                    tracing::info!("inbound digit with no feedback question open ignored");
                    TextOutcome::Ignored
                }
            },
            SmsKeyword::Again => TextOutcome::FollowUp(self.again_reply(from).await?),
            SmsKeyword::Other => {
                tracing::info!("inbound text without a keyword ignored");
                TextOutcome::Ignored
            }
        })
    }
}
