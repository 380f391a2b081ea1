//! How long done notes stay on this workstation, and the daily job that removes them: imported
//! and dismissed notes leave the local inbox `days` after their status last changed (the
//! practice database and Askara keep them). `new`, `reviewed` and `revised` notes never leave.
//! Applied on start and once a day by every long-running front-end (`sync`, `serve`, the
//! desktop), and on demand with `askara-inbox retention --apply`.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inbox::{InboxStore, PruneReport};
use tokio::task::JoinHandle;

use crate::error::AppError;

pub const DEFAULT_DAYS: u32 = 30;
/// One day to ten years.
pub const DAYS: RangeInclusive<u32> = 1..=3650;
/// Between two runs of the job.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);
/// After a failed run (a busy or full disk): soon, not tomorrow.
pub const RETRY: Duration = Duration::from_secs(15 * 60);
/// How often the job looks at the wall clock: a timer alone stops while a laptop sleeps, so
/// "a day later" is decided by the clock, checked this often.
pub const CHECK: Duration = Duration::from_secs(3600);
/// The actor the job's audit rows name.
pub const ACTOR: &str = "retention";

/// Checks a retention period; the error says the allowed range.
pub fn check_days(days: u32) -> Result<(), AppError> {
    if DAYS.contains(&days) {
        Ok(())
    } else {
        Err(AppError::Config(format!(
            "retention must be between {} and {} days (the default is {DEFAULT_DAYS})",
            DAYS.start(),
            DAYS.end()
        )))
    }
}

/// The instant before which done notes go, for `days` at `now`.
pub fn cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(days))
}

/// One run: removes what is older than `days` at `now`.
pub async fn apply(
    store: &dyn InboxStore,
    days: u32,
    now: DateTime<Utc>,
) -> Result<PruneReport, AppError> {
    check_days(days)?;
    let report = store.prune(cutoff(now, days), ACTOR).await?;
    if report != PruneReport::default() {
        // Counts only: never which notes or whose.
        tracing::info!(
            notes = report.notes,
            versions = report.versions,
            patients = report.patients,
            deliveries = report.deliveries,
            "retention removed done notes from the local inbox"
        );
    }
    Ok(report)
}

/// What one turn of the job did.
#[derive(Debug)]
pub enum Outcome {
    Pruned(PruneReport),
    Failed(AppError),
}

/// The daily job: a run now, then once [`EVERY`] has passed on the wall clock ([`RETRY`]
/// after a failure). `days` is read at each run, so a changed setting applies from the next
/// one. Dropping it stops the job.
pub struct RetentionJob {
    task: JoinHandle<()>,
}

impl RetentionJob {
    /// Call inside a Tokio runtime.
    pub fn start(
        store: Arc<dyn InboxStore>,
        days: impl Fn() -> u32 + Send + Sync + 'static,
    ) -> RetentionJob {
        let task = tokio::spawn(async move {
            let mut next = Utc::now();
            loop {
                let now = Utc::now();
                if now >= next {
                    let wait = match try_once(store.as_ref(), days(), now).await {
                        Outcome::Pruned(_) => EVERY,
                        Outcome::Failed(e) => {
                            tracing::warn!(error = %e, "retention could not run; trying again in 15 minutes");
                            RETRY
                        }
                    };
                    next =
                        now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
                }
                let until_next = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(until_next.min(CHECK)).await;
            }
        });
        RetentionJob { task }
    }
}

impl Drop for RetentionJob {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One turn of the job.
pub async fn try_once(store: &dyn InboxStore, days: u32, now: DateTime<Utc>) -> Outcome {
    match apply(store, days, now).await {
        Ok(r) => Outcome::Pruned(r),
        Err(e) => Outcome::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_checked_and_the_cutoff_is_that_many_days_back() {
        assert!(check_days(0).is_err());
        assert!(check_days(3651).is_err());
        assert!(check_days(30).is_ok());
        let now = Utc::now();
        assert_eq!(now - cutoff(now, 30), chrono::Duration::days(30));
    }
}
