//! Polling beside the receiver. Deliveries can be lost on Askara's side (its failure queue
//! after three failed retries, or a receiver that was down for longer than 35 s), so the
//! receiver polls too: at the usual interval while no deliveries arrive, at the slower
//! reconciliation interval while they flow.

use std::time::Duration;

use chrono::Utc;
use inbox::sync::{PollReport, Poller, SyncError};
use tokio::sync::watch;

use crate::config::{PollConfig, PollLease, PollLeases};

/// How often a standby tries the lease, and a poller checks it still holds it.
const LEASE_RETRY: Duration = Duration::from_secs(5);
use crate::Receiver;

pub struct Reconciler {
    r: Receiver,
    poller: Poller,
    cfg: PollConfig,
}

impl Reconciler {
    pub(crate) fn new(r: Receiver, poller: Poller, cfg: PollConfig) -> Self {
        Reconciler { r, poller, cfg }
    }

    /// Whether a delivery arrived within the flowing window.
    pub fn deliveries_flowing(&self) -> bool {
        let last = self.r.shared.status.snapshot().last_delivery_at;
        let window = chrono::Duration::from_std(self.cfg.flowing_window).unwrap_or_default();
        last.is_some_and(|t| Utc::now() - t <= window)
    }

    /// One poll, with its outcome recorded in the receiver's status.
    pub async fn try_once(&mut self) -> Result<PollReport, SyncError> {
        let outcome = self.poller.try_once().await;
        let now = Utc::now();
        self.r.shared.status.update(|s| {
            s.last_poll_at = Some(now);
            match &outcome {
                Ok(rep) => {
                    s.last_poll_ok = Some(true);
                    s.poll_error = None;
                    s.poll_error_code = None;
                    s.polled_notes_new += rep.new as u64;
                }
                Err(e) => {
                    s.last_poll_ok = Some(false);
                    s.poll_error = Some(e.to_string());
                    s.poll_error_code = Some(e.code().to_string());
                }
            }
        });
        match &outcome {
            Ok(rep) if rep.new > 0 => tracing::info!(
                new = rep.new,
                "the reconciliation poll found notes no delivery brought"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(code = e.code(), error = %e, "poll failed"),
        }
        outcome
    }

    /// The wait after an outcome: the poller's own (interval, backoff, rate limits), stretched
    /// to the reconciliation interval while deliveries flow.
    pub fn next_delay(&mut self, outcome: &Result<PollReport, SyncError>) -> Duration {
        let d = self.poller.next_delay(outcome);
        if outcome.is_ok() && self.deliveries_flowing() {
            d.max(self.cfg.reconcile_interval)
        } else {
            d
        }
    }

    /// Polls until `shutdown` turns true; with leases (a clinic's shared inbox), only while
    /// holding one, standing by otherwise.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut lease: Option<Box<dyn PollLease>> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Some(leases) = self.cfg.leases.clone() {
                if !lease.as_ref().is_some_and(|l| l.is_held()) {
                    if lease.take().is_some() {
                        tracing::warn!("lost the clinic poll lease (the database restarted or the connection broke); standing by");
                    }
                    lease = self.take_lease(leases.as_ref()).await;
                }
                if lease.is_none() {
                    tokio::select! {
                        _ = tokio::time::sleep(LEASE_RETRY) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            }
            let outcome = self.try_once().await;
            let delay = self.next_delay(&outcome);
            let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
            self.r.shared.status.update(|s| s.next_poll_at = Some(next));
            // The wait, checking a lease every LEASE_RETRY so a lost one is noticed soon.
            let until = tokio::time::Instant::now() + delay;
            loop {
                let left = until.saturating_duration_since(tokio::time::Instant::now());
                let step = if lease.is_some() {
                    left.min(LEASE_RETRY)
                } else {
                    left
                };
                tokio::select! {
                    _ = tokio::time::sleep(step) => {}
                    _ = shutdown.changed() => break,
                }
                let lost = lease.as_ref().is_some_and(|l| !l.is_held());
                if lost || tokio::time::Instant::now() >= until {
                    break;
                }
            }
        }
    }

    /// A lease if one is free, with the status and logs saying which way it went.
    async fn take_lease(&self, leases: &dyn PollLeases) -> Option<Box<dyn PollLease>> {
        let taken = leases.try_take().await;
        let was = self.r.shared.status.snapshot().poll_standby;
        match &taken {
            Ok(Some(_)) => {
                if was {
                    tracing::info!("the other server stopped polling; polling here now");
                }
            }
            Ok(None) => {
                if !was {
                    tracing::info!("another server polls the clinic inbox; standing by");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot take the clinic poll lease"),
        }
        let standby = !matches!(taken, Ok(Some(_)));
        self.r.shared.status.update(|s| {
            s.poll_standby = standby;
            if let Err(e) = &taken {
                s.poll_error = Some(e.clone());
            }
        });
        taken.ok().flatten()
    }
}
