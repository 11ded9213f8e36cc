//! The notifier: sends the SMS notices in the outbox, and the confirmation codes
//! new requests wait for, through the provider, from the service number.
//!
//! Notices are written in the same transaction as the booking or cancellation
//! that caused them, so none is lost; the notifier claims due ones once a second
//! and composes each text when it sends it. A failed send is retried with backoff
//! a few times; a number the provider refuses is given up at once. Nothing is
//! texted to a number that replied STOP; the provider's own opt-out error (Twilio
//! 21610) records the opt-out and is not retried.
//!
//! A code is made when its text is sent, and only its hash is stored, so codes
//! never rest in the database in clear.
//!
//! Reminders are notices due shortly before their call. One whose call was
//! canceled, moved or has begun since it was queued, or whose seeker opted out,
//! is recorded `skipped` and not sent. When the deployment has a public URL a
//! reminder carries a manage link: a fresh token minted as it is sent (under
//! its claim), stored hashed, that opens the request for [`LINK_LIFETIME`];
//! the request's own manage token is stored hashed only, so it cannot be quoted.
//!
//! The feedback question after a completed call is a notice too, due when the
//! call ended or when the seeker's calling hours open; one to an opted-out
//! number is recorded `skipped`.
//!
//! Longer than most modules because claiming, sending, fencing a claim that ran
//! out and recording each outcome are one loop; the texts' wording is in
//! `domain::notices`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use futures_util::{StreamExt, stream};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::clock::Clock;
use crate::domain::consent::{CODE_LIFETIME, code_hash, code_text, new_code};
use crate::domain::notices::{NoticeFacts, NoticeKind, notice_text};
use crate::domain::reminder::LINK_LIFETIME;
use crate::ids::RequestId;
use crate::metrics::{Metrics, ReminderResult};
use crate::store::{CodeTextJob, NoticeJob, OptOutSource, Store, WriteTurns};
use crate::telephony::{NewSms, Provider, ProviderError};
use crate::tokens;

/// Sends tried before a notice is given up.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long a claimed notice is left alone before it counts as abandoned.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Notices and code texts claimed at a time. Each claim, and each batch's
/// bookkeeping, takes SQLite's write lock once, so larger batches leave it to
/// intake more often: at 100 the notifier fell seconds behind 6,000 new
/// requests a second, at 500 it keeps up. A batch must go out well within the
/// [`LEASE`]: 500 texts, [`SENDS_AT_ONCE`] at a time, at Twilio's usual 0.2 s
/// take about 6 s, and the circuit breaker cuts a batch short when the provider
/// stops answering.
const BATCH: u32 = 500;
/// Texts sent at the same time. Twilio accepts a message and queues it for
/// delivery at the sender's pace, so the wait is the API round trip; one at a
/// time, at 0.2 s each, texts would go out at 5 a second. Sixteen stays far
/// below the account's limit on concurrent requests (a 429, retried by the
/// client), which the dispatcher's create-calls share.
const SENDS_AT_ONCE: usize = 16;
/// Code texts recorded as sent at a time, as they go out. A notifier that dies
/// mid-batch leaves the texts it sent but did not record to go out again when
/// their claim runs out, each with a second code (the first keeps working):
/// recording every hundred keeps those doubled texts to the last hundred or so,
/// at one more write each.
const RECORD_SENT_EVERY: usize = 100;
/// Time between passes in service: texts go out within a second or two of what
/// caused them.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// What one notifier pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Notices and code texts sent.
    pub sent: usize,
    /// Notices and code texts that failed this time (retried later or given up).
    pub failed: usize,
}

/// Sends notices through a provider.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    provider: Arc<dyn Provider>,
    clock: Arc<dyn Clock>,
    from_number: String,
    /// The public base URL reminders' manage links start with; `None`: no links.
    public_url: Option<String>,
    metrics: Arc<Metrics>,
    /// Taken around the busiest writes (claims and a batch's bookkeeping).
    turns: WriteTurns,
    /// Held for a whole pass, so passes never overlap.
    pass: Arc<tokio::sync::Mutex<()>>,
}

impl Notifier {
    /// A notifier sending from `from_number`.
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
        clock: Arc<dyn Clock>,
        from_number: String,
    ) -> Notifier {
        Notifier {
            store,
            provider,
            clock,
            from_number,
            public_url: None,
            metrics: Arc::default(),
            turns: WriteTurns::default(),
            pass: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// This notifier, counting provider errors into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Notifier {
        Notifier { metrics, ..self }
    }

    /// This notifier, putting a manage link under `public_url` (the
    /// deployment's public base URL) in each reminder.
    pub fn with_manage_links(self, public_url: String) -> Notifier {
        Notifier {
            public_url: Some(public_url.trim_end_matches('/').to_owned()),
            ..self
        }
    }

    /// This notifier, taking `turns` with the other busy writers (intake).
    pub fn with_write_turns(self, turns: WriteTurns) -> Notifier {
        Notifier { turns, ..self }
    }

    /// Sends every due code text and notice.
    #[instrument(skip_all, name = "notifier.run")]
    pub async fn run_once(&self) -> anyhow::Result<NotifyReport> {
        let _pass = self.pass.lock().await;
        let mut report = NotifyReport::default();
        loop {
            let due = self.store.due_code_texts(self.clock.now(), BATCH).await?;
            let more = due.len() == BATCH as usize;
            if !due.is_empty() {
                let (sent, failed) = self.send_codes(&due).await?;
                report.sent += sent;
                report.failed += failed;
            }
            if !more {
                break;
            }
        }
        loop {
            let now = self.clock.now();
            let jobs = {
                let _turn = self.turns.take().await;
                self.store.claim_notices(now, now + LEASE, BATCH).await?
            };
            let more = jobs.len() == BATCH as usize;
            let sends = jobs.iter().map(|job| self.send(job)).collect();
            let outcomes = all_over(sends).await;
            // Every send is over before an error ends the pass, so none is cut
            // off between its text and its bookkeeping.
            for outcome in outcomes {
                if outcome? {
                    report.sent += 1;
                } else {
                    report.failed += 1;
                }
            }
            if !more {
                return Ok(report);
            }
        }
    }

    /// Makes a new code for each of the requests `due`, claims their texts with
    /// the codes' hashes in one write, texts them [`SENDS_AT_ONCE`] at a time,
    /// and records the texts that went out, [`RECORD_SENT_EVERY`] a write: few
    /// writes a batch, as intake may queue thousands a second. Returns (sent,
    /// failed).
    async fn send_codes(&self, due: &[RequestId]) -> anyhow::Result<(usize, usize)> {
        let mut codes: HashMap<RequestId, String> =
            due.iter().map(|id| (*id, new_code())).collect();
        let hashes: Vec<(RequestId, String)> = codes
            .iter()
            .map(|(id, code)| (*id, code_hash(*id, code)))
            .collect();
        let now = self.clock.now();
        // Requests another instance claimed, or that were confirmed, canceled or
        // expired since they were read, are left out.
        let jobs = {
            let _turn = self.turns.take().await;
            self.store
                .claim_code_texts(&hashes, now, now + LEASE, now + CODE_LIFETIME)
                .await?
        };
        let claimed: Vec<(CodeTextJob, String)> = jobs
            .into_iter()
            .filter_map(|job| codes.remove(&job.request_id).map(|code| (job, code)))
            .collect();
        let sends: Vec<_> = claimed
            .iter()
            .map(|(job, code)| async move { (job.request_id, self.deliver_code(job, code).await) })
            .collect();
        let mut outcomes = stream::iter(sends).buffer_unordered(SENDS_AT_ONCE);
        let (mut sent, mut failed) = (0, 0);
        let mut unrecorded = Vec::with_capacity(RECORD_SENT_EVERY);
        let mut first_error = None;
        while let Some((request_id, outcome)) = outcomes.next().await {
            match outcome {
                Ok(true) => unrecorded.push(request_id),
                Ok(false) => failed += 1,
                // Not texted: its failure could not be recorded, so it is
                // retried when its claim runs out.
                Err(error) => {
                    failed += 1;
                    first_error.get_or_insert(error);
                }
            }
            if unrecorded.len() == RECORD_SENT_EVERY {
                sent += self.record_codes_sent(&mut unrecorded).await?;
            }
        }
        // The texts that went out are recorded even when another one's
        // bookkeeping failed: otherwise they would go out again, with new codes.
        sent += self.record_codes_sent(&mut unrecorded).await?;
        match first_error {
            Some(error) => Err(error),
            None => Ok((sent, failed)),
        }
    }

    /// Records that the code texts of `request_ids` went out, and empties it;
    /// how many.
    async fn record_codes_sent(&self, request_ids: &mut Vec<RequestId>) -> anyhow::Result<usize> {
        {
            let _turn = self.turns.take().await;
            self.store.code_texts_sent(request_ids).await?;
        }
        for request_id in request_ids.iter() {
            info!(request.id = request_id.0, "confirmation code texted");
        }
        let recorded = request_ids.len();
        request_ids.clear();
        Ok(recorded)
    }

    /// Texts `code` for `job` unless its number opted out; whether it went out.
    async fn deliver_code(&self, job: &CodeTextJob, code: &str) -> anyhow::Result<bool> {
        if !job.opted_out {
            return self.text_code(job, code).await;
        }
        {
            let _turn = self.turns.take().await;
            self.store
                .code_text_failed(job.request_id, "opted_out", None)
                .await?;
        }
        info!(
            request.id = job.request_id.0,
            "code not texted: the number opted out of texts"
        );
        Ok(false)
    }

    /// Texts one code whose hash is stored; a failure is recorded here, a
    /// success by the caller with the rest of the batch.
    async fn text_code(&self, job: &CodeTextJob, code: &str) -> anyhow::Result<bool> {
        let id = job.request_id;
        let sms = NewSms {
            to: job.phone.clone(),
            from: self.from_number.clone(),
            body: code_text(code),
        };
        let Err(error) = self.provider.send_sms(&sms).await else {
            return Ok(true);
        };
        self.metrics.provider_error("send_sms", &error);
        let (kind, retry_at) = if error.recipient_opted_out() {
            self.store
                .opt_out(&job.phone, OptOutSource::Provider, self.clock.now())
                .await?;
            ("opted_out", None)
        } else if matches!(
            error,
            ProviderError::InvalidNumber { .. } | ProviderError::Rejected { .. }
        ) {
            ("invalid_number", None)
        } else if job.attempts >= MAX_ATTEMPTS {
            ("failed", None)
        } else {
            ("failed", Some(self.clock.now() + backoff(job.attempts)))
        };
        {
            let _turn = self.turns.take().await;
            self.store.code_text_failed(id, kind, retry_at).await?;
        }
        warn!(
            request.id = id.0,
            code.attempts = job.attempts,
            code.given_up = retry_at.is_none(),
            error = %error,
            "confirmation code not texted"
        );
        Ok(false)
    }

    /// Records that reminder `job` will not go, for `reason`, counted as `result`.
    async fn skip_reminder(
        &self,
        job: &NoticeJob,
        reason: &str,
        result: ReminderResult,
    ) -> anyhow::Result<bool> {
        let recorded = {
            let _turn = self.turns.take().await;
            self.store
                .notice_skipped(job.id, job.attempts, reason)
                .await?
        };
        if recorded {
            self.metrics.reminder(result);
            info!(
                notice.id = job.id.0,
                reminder.skipped_because = reason,
                "reminder not sent"
            );
        }
        Ok(false)
    }

    /// The manage link reminder `job` carries, minted under its claim.
    async fn manage_link(&self, job: &NoticeJob) -> anyhow::Result<ManageLink> {
        let Some(base) = &self.public_url else {
            return Ok(ManageLink::NoPublicUrl);
        };
        let token = tokens::generate(tokens::MANAGE_PREFIX);
        let now = self.clock.now();
        let minted = {
            let _turn = self.turns.take().await;
            self.store
                .mint_manage_link(
                    job.id,
                    job.attempts,
                    job.request_id,
                    &tokens::hash(&token),
                    now,
                    now + LINK_LIFETIME,
                )
                .await?
        };
        Ok(if minted {
            ManageLink::At(format!("{base}/r/{token}"))
        } else {
            ManageLink::ClaimLost
        })
    }

    async fn send(&self, job: &NoticeJob) -> anyhow::Result<bool> {
        let reminder = job.kind == NoticeKind::Reminder;
        if reminder && job.call_changed {
            return self
                .skip_reminder(job, "call_changed", ReminderResult::Skipped)
                .await;
        }
        if reminder && job.opted_out {
            return self
                .skip_reminder(job, "opted_out", ReminderResult::OptedOut)
                .await;
        }
        if job.opted_out && matches!(job.kind, NoticeKind::Feedback | NoticeKind::FollowUp) {
            // A question or an offer nobody may be sent: recorded as such, not
            // as a failure.
            let _turn = self.turns.take().await;
            self.store
                .notice_skipped(job.id, job.attempts, "opted_out")
                .await?;
            info!(
                notice.id = job.id.0,
                notice.kind = %job.kind,
                "not sent: the number opted out of texts"
            );
            return Ok(false);
        }
        if job.opted_out {
            {
                let _turn = self.turns.take().await;
                self.store
                    .notice_failed(job.id, job.attempts, "opted_out", None)
                    .await?;
            }
            info!(notice.id = job.id.0, notice.kind = %job.kind, notice.recipient = %job.recipient,
                "notice not sent: the number opted out of texts");
            return Ok(false);
        }
        let manage_link = if reminder {
            match self.manage_link(job).await? {
                ManageLink::At(link) => Some(link),
                ManageLink::NoPublicUrl => None,
                ManageLink::ClaimLost => {
                    info!(
                        notice.id = job.id.0,
                        "reminder left to the claim that took it over"
                    );
                    return Ok(false);
                }
            }
        } else {
            None
        };
        let facts = NoticeFacts {
            starts_at: job.starts_at,
            seeker_name: &job.seeker_name,
            seeker_zone: job.seeker_zone,
            mentor_name: &job.mentor_name,
            mentor_zone: job.mentor_zone,
            topic: &job.topic,
            service_number: &self.from_number,
            manage_link: manage_link.as_deref(),
        };
        let sms = NewSms {
            to: job.to_phone.clone(),
            from: self.from_number.clone(),
            body: notice_text(job.kind, job.recipient, &facts),
        };
        match self.provider.send_sms(&sms).await {
            Ok(sid) => {
                {
                    let _turn = self.turns.take().await;
                    self.store
                        .notice_sent(job.id, job.attempts, &sid, self.clock.now())
                        .await?;
                }
                if reminder {
                    self.metrics.reminder(ReminderResult::Sent);
                }
                info!(notice.id = job.id.0, notice.kind = %job.kind, notice.recipient = %job.recipient, "notice sent");
                Ok(true)
            }
            Err(error) => {
                self.metrics.provider_error("send_sms", &error);
                if error.recipient_opted_out() {
                    self.store
                        .opt_out(&job.to_phone, OptOutSource::Provider, self.clock.now())
                        .await?;
                }
                let give_up = job.attempts >= MAX_ATTEMPTS
                    || matches!(
                        error,
                        ProviderError::InvalidNumber { .. } | ProviderError::Rejected { .. }
                    );
                let retry_at = (!give_up).then(|| self.clock.now() + backoff(job.attempts));
                if reminder && give_up {
                    self.metrics.reminder(if error.recipient_opted_out() {
                        ReminderResult::OptedOut
                    } else {
                        ReminderResult::Failed
                    });
                }
                {
                    let _turn = self.turns.take().await;
                    self.store
                        .notice_failed(job.id, job.attempts, &error.to_string(), retry_at)
                        .await?;
                }
                warn!(
                    notice.id = job.id.0,
                    notice.attempts = job.attempts,
                    notice.given_up = give_up,
                    error = %error,
                    "notice not sent"
                );
                Ok(false)
            }
        }
    }
}

/// What a reminder links to.
enum ManageLink {
    /// The manage page, under a token minted for this reminder.
    At(String),
    /// Nothing: the deployment has no public URL.
    NoPublicUrl,
    /// Nothing, and the reminder is not sent: this claim ran out and another
    /// claim has the reminder now.
    ClaimLost,
}

/// Runs `sends`, [`SENDS_AT_ONCE`] at a time, and returns their outcomes once
/// all are over (in the order they finished).
async fn all_over<F: Future>(sends: Vec<F>) -> Vec<F::Output> {
    stream::iter(sends)
        .buffer_unordered(SENDS_AT_ONCE)
        .collect()
        .await
}

/// How long to wait after the `attempts`-th failed send: 30 s, doubling.
fn backoff(attempts: u32) -> TimeDelta {
    TimeDelta::seconds(30 * 2_i64.pow(attempts.saturating_sub(1).min(6)))
}

/// Starts the notifier loop until `shutdown`: a pass every `interval`
/// ([`INTERVAL`] in service).
pub fn spawn(
    notifier: Notifier,
    interval: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = notifier.run_once().await {
                warn!(
                    error = format!("{error:#}"),
                    "notifier pass failed; retrying"
                );
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}
