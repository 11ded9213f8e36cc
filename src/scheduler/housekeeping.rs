//! The housekeeper: expires requests whose number was never confirmed, and erases
//! the personal data of requests finished longer ago than the retention period.
//!
//! It runs at start-up and every few minutes. Several instances sharing
//! PostgreSQL may run it at once: each job is a conditional write that checks
//! its condition again on the row it changes, so a request is expired once and
//! erased once (an instance that picked a request another one erased meanwhile
//! finds it erased and does not count it), and neither job texts anyone.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::clock::Clock;
use crate::domain::consent::UNCONFIRMED_LIFETIME;
use crate::store::{EraseOutcome, Store};

/// Time between passes.
const INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Requests erased per statement batch.
const BATCH: u32 = 200;

/// What one housekeeping pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    /// Unconfirmed requests that expired.
    pub expired: u64,
    /// Finished requests whose personal data was erased.
    pub erased: u64,
}

/// Expires and erases on a schedule.
#[derive(Clone)]
pub struct Housekeeper {
    store: Store,
    clock: Arc<dyn Clock>,
    retention: TimeDelta,
}

impl Housekeeper {
    /// A housekeeper keeping finished requests' personal data for `retention`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, retention: TimeDelta) -> Housekeeper {
        Housekeeper {
            store,
            clock,
            retention,
        }
    }

    /// Expires unconfirmed requests older than a day, then erases every finished
    /// request past the retention period.
    #[instrument(skip_all, name = "housekeeping.run")]
    pub async fn run_once(&self) -> anyhow::Result<HousekeepingReport> {
        let now = self.clock.now();
        let mut report = HousekeepingReport {
            expired: self
                .store
                .expire_unconfirmed(now - UNCONFIRMED_LIFETIME, now)
                .await?,
            erased: 0,
        };
        loop {
            let due = self
                .store
                .finished_requests_to_erase(now - self.retention, BATCH)
                .await?;
            if due.is_empty() {
                break;
            }
            let mut erased = 0;
            for id in due {
                if self.store.erase_request(id, now).await? == EraseOutcome::Erased {
                    erased += 1;
                }
            }
            report.erased += erased;
            if erased == 0 {
                // Another instance got to them first; nothing is left for this pass.
                break;
            }
        }
        if report.erased > 0 {
            // Once per pass, not per erased request.
            self.store.checkpoint_after_erasure().await;
        }
        if report != HousekeepingReport::default() {
            info!(
                housekeeping.expired = report.expired,
                housekeeping.erased = report.erased,
                "expired unconfirmed requests and erased old personal data"
            );
        }
        Ok(report)
    }
}

/// Starts the housekeeping loop until `shutdown`.
pub fn spawn(housekeeper: Housekeeper, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = housekeeper.run_once().await {
                warn!(
                    error = format!("{error:#}"),
                    "housekeeping pass failed; retrying later"
                );
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(INTERVAL) => {}
            }
        }
    })
}
