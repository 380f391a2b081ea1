//! The polling loop both front-ends run: started once, its status watched, and stopped by
//! asking (the poll under way finishes; every page commits atomically) rather than killed.

use std::sync::Arc;
use std::time::Duration;

use askara::{ApiClient, SystemClock};
use inbox::sync::{Poller, SyncConfig, SyncStatus};
use inbox::InboxStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running poller. Dropping it aborts the poller (between two statements of a poll, which
/// is safe); [`Syncing::stop`] lets the poll under way finish first.
pub struct Syncing {
    poller: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    status: watch::Receiver<SyncStatus>,
}

impl Syncing {
    /// Starts polling `store` at `cfg`'s interval (the first poll at once, with the revision
    /// pass). Call inside a Tokio runtime.
    pub fn start(api: Arc<ApiClient>, store: Arc<dyn InboxStore>, cfg: SyncConfig) -> Syncing {
        let poller = Poller::with_store(api, store, cfg, Arc::new(SystemClock));
        let (status_tx, status) = watch::channel(SyncStatus::default());
        let (stop, stop_rx) = watch::channel(false);
        let poller = tokio::spawn(poller.run(status_tx, stop_rx));
        Syncing {
            poller: Some(poller),
            stop,
            status,
        }
    }

    /// The status after every poll (`changed()` to wait for the next).
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Asks the poller to stop after the poll under way and waits for it, at most `timeout`
    /// (`None`: as long as it takes). `false`: it was still polling at the deadline and was
    /// stopped.
    pub async fn stop(mut self, timeout: Option<Duration>) -> bool {
        let _ = self.stop.send(true);
        let Some(mut task) = self.poller.take() else {
            return true;
        };
        match timeout {
            None => {
                let _ = (&mut task).await;
                true
            }
            Some(t) => match tokio::time::timeout(t, &mut task).await {
                Ok(_) => true,
                Err(_) => {
                    task.abort();
                    false
                }
            },
        }
    }
}

impl Drop for Syncing {
    fn drop(&mut self) {
        if let Some(task) = self.poller.take() {
            task.abort();
        }
    }
}
