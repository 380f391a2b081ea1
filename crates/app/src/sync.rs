//! The polling loop both front-ends run: started once, its status watched, and stopped by
//! asking (the poll under way finishes; every page commits atomically) rather than killed.
//!
//! One poller per data dir, across processes: the desktop app, `askara-inbox sync` and
//! `serve --poll` each take the exclusive poll lock ([`PollLock`], `poll.lock` in the data
//! dir) before polling. One that cannot take it waits as a standby, saying so in its status
//! ([`ANOTHER_POLLER`]), and takes over when the lock frees.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askara::{ApiClient, SystemClock};
use inbox::sync::{Poller, SyncConfig, SyncStatus};
use inbox::InboxStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The status's `error_code` while another process polls this data dir and this one waits.
pub const ANOTHER_POLLER: &str = "another_poller";

/// The status's `error_message` with [`ANOTHER_POLLER`].
pub const ANOTHER_POLLER_MESSAGE: &str = "another Askara Inbox on this computer (the desktop app or `askara-inbox sync`) is syncing this inbox; this one waits and takes over when it stops";

/// The status's `error_message` with [`ANOTHER_POLLER`] for a clinic's shared inbox.
pub const ANOTHER_CLINIC_POLLER_MESSAGE: &str = "another Askara Inbox server is syncing the clinic inbox; this one waits as a hot standby and takes over when it stops";

/// The sync-state key where the clinic's poller publishes its status for the desks.
pub const CLINIC_POLLER_STATUS: &str = "clinic.poller_status";

/// What the desks of a clinic show about its poller: the status as the polling server last
/// wrote it to the shared inbox, who wrote it, and when.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClinicPollerStatus {
    pub status: SyncStatus,
    /// The polling server's role and host name (`askara_poller@clinic-server`).
    pub poller: String,
    pub written_at: chrono::DateTime<chrono::Utc>,
}

impl ClinicPollerStatus {
    /// Whether the poller has written nothing for longer than `stale_after` before `now`: it
    /// stopped, or its server lost the database.
    pub fn is_stale(&self, now: chrono::DateTime<chrono::Utc>, stale_after: Duration) -> bool {
        chrono::Duration::from_std(stale_after)
            .map(|d| now - self.written_at > d)
            .unwrap_or(false)
    }
}

/// The clinic poller's last published status, read from the shared inbox (a desk in clinic
/// mode never polls Askara itself). `None` until a poller has written one.
pub async fn clinic_poller_status(
    store: &dyn InboxStore,
) -> Result<Option<ClinicPollerStatus>, inbox::InboxError> {
    Ok(store
        .sync_state(CLINIC_POLLER_STATUS)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok()))
}

/// Writes every status of this (lease-holding) poller to the shared inbox for the desks.
async fn publish_status(
    store: Arc<dyn InboxStore>,
    poller: String,
    mut status: watch::Receiver<SyncStatus>,
) {
    loop {
        let s = status.borrow_and_update().clone();
        let published = ClinicPollerStatus {
            status: s,
            poller: poller.clone(),
            written_at: chrono::Utc::now(),
        };
        if let Ok(json) = serde_json::to_string(&published) {
            if let Err(e) = store
                .set_sync_state(vec![(CLINIC_POLLER_STATUS.to_string(), json)])
                .await
            {
                tracing::warn!(error = %e, "cannot publish the poller's status to the clinic inbox");
            }
        }
        if status.changed().await.is_err() {
            return;
        }
    }
}

/// How often a standby of a clinic's shared inbox tries the poll lock, and a poller checks it
/// still holds it.
pub const CLINIC_LOCK_CHECK: Duration = Duration::from_secs(5);

/// The cross-process poll lock of one data dir: an advisory exclusive lock on `poll.lock`.
/// The file is created 0600 and never deleted (deleting a lock file another process holds
/// would let a third lock a new file beside it).
#[derive(Debug, Clone)]
pub struct PollLock {
    path: PathBuf,
    retry: Duration,
}

impl PollLock {
    /// The lock file's name in the data dir.
    pub const FILE: &'static str = "poll.lock";
    /// How often a standby tries the lock again.
    pub const RETRY: Duration = Duration::from_secs(5);

    /// The poll lock of `data_dir`.
    pub fn at(data_dir: &Path) -> PollLock {
        PollLock {
            path: data_dir.join(Self::FILE),
            retry: Self::RETRY,
        }
    }

    /// A standby tries the lock every `retry` (tests: a short one).
    pub fn retry_every(mut self, retry: Duration) -> PollLock {
        self.retry = retry;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock if it is free: polling is this process's while the file is kept open.
    /// `None` while another process (or another open of it in this one) holds it.
    pub fn try_take(&self) -> std::io::Result<Option<File>> {
        let mut open = std::fs::OpenOptions::new();
        open.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            open.mode(0o600);
            let f = open.open(&self.path)?;
            // One an earlier version or another tool left readable: ours are private.
            if let Ok(meta) = f.metadata() {
                if meta.permissions().mode() & 0o077 != 0 {
                    let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
                }
            }
            try_lock(f)
        }
        #[cfg(not(unix))]
        {
            try_lock(open.open(&self.path)?)
        }
    }
}

fn try_lock(f: File) -> std::io::Result<Option<File>> {
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The lock file while this poller holds it; emptied (so the lock freed) when the
/// [`Syncing`] is dropped, without waiting for the aborted task to be dropped.
type Held = Arc<Mutex<Option<File>>>;

fn release(held: &Held) {
    held.lock().unwrap_or_else(|e| e.into_inner()).take();
}

/// A running poller. Dropping it aborts the poller (between two statements of a poll, which
/// is safe); [`Syncing::stop`] lets the poll under way finish first.
pub struct Syncing {
    poller: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    status: watch::Receiver<SyncStatus>,
    held: Held,
}

impl Syncing {
    /// Starts polling `store` at `cfg`'s interval (the first poll at once, with the revision
    /// pass). Call inside a Tokio runtime.
    ///
    /// With `lock` (the data dir's [`PollLock`]), it polls only while holding the lock: when
    /// another process holds it, it waits, publishes a status with [`ANOTHER_POLLER`], and
    /// takes over when the lock frees. `None`: no lock (tests without a data dir). Should the
    /// lock file be unusable (a file system without locks), it polls anyway, as before locks.
    pub fn start(
        api: Arc<ApiClient>,
        store: Arc<dyn InboxStore>,
        cfg: SyncConfig,
        lock: Option<PollLock>,
    ) -> Syncing {
        let poller = Poller::with_store(api, store, cfg, Arc::new(SystemClock));
        let (status_tx, status) = watch::channel(SyncStatus::default());
        let (stop, stop_rx) = watch::channel(false);
        let held: Held = Arc::default();
        let poller = tokio::spawn(run(poller, lock, held.clone(), status_tx, stop_rx));
        Syncing {
            poller: Some(poller),
            stop,
            status,
            held,
        }
    }

    /// Polls the clinic's shared inbox while this process holds its poll lock (a PostgreSQL
    /// advisory lock: one poller per clinic, however many servers run `serve --poll` or
    /// `sync`). The others wait as hot standbys, saying so with [`ANOTHER_POLLER`], and one
    /// takes over when the poller stops or its connection is lost; a poller that loses the
    /// lock (the database restarted) stops polling and waits its turn again, so two never
    /// poll at once for longer than [`CLINIC_LOCK_CHECK`].
    pub fn start_clinic(
        api: Arc<ApiClient>,
        store: Arc<dyn InboxStore>,
        cfg: SyncConfig,
        clinic: inbox_pg::PgInbox,
    ) -> Syncing {
        let (status_tx, status) = watch::channel(SyncStatus::default());
        let (stop, stop_rx) = watch::channel(false);
        let publish_to = store.clone();
        let make = move || {
            Poller::with_store(
                api.clone(),
                store.clone(),
                cfg.clone(),
                Arc::new(SystemClock),
            )
        };
        let poller = tokio::spawn(run_clinic(make, clinic, publish_to, status_tx, stop_rx));
        Syncing {
            poller: Some(poller),
            stop,
            status,
            held: Arc::default(),
        }
    }

    /// The status after every poll (`changed()` to wait for the next), and once when it
    /// starts waiting for another process's poller ([`ANOTHER_POLLER`]).
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Asks the poller to stop after the poll under way and waits for it, at most `timeout`
    /// (`None`: as long as it takes). `false`: it was still polling at the deadline and was
    /// stopped. A poller waiting for the lock stops at once.
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

/// Takes the poll lock (waiting as a standby while another process holds it), then polls
/// until asked to stop.
async fn run(
    poller: Poller,
    lock: Option<PollLock>,
    held: Held,
    status: watch::Sender<SyncStatus>,
    mut stop: watch::Receiver<bool>,
) {
    if let Some(lock) = lock {
        let mut waiting = false;
        loop {
            match lock.try_take() {
                Ok(Some(f)) => {
                    *held.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
                    break;
                }
                Ok(None) => {
                    if !waiting {
                        waiting = true;
                        tracing::info!(
                            lock = %lock.path().display(),
                            "another process polls this inbox; waiting to take over"
                        );
                        status.send_modify(|s| {
                            s.error_code = Some(ANOTHER_POLLER.into());
                            s.error_message = Some(ANOTHER_POLLER_MESSAGE.into());
                            s.next_poll_at = None;
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        lock = %lock.path().display(),
                        error = %e,
                        "cannot take the poll lock; polling without it"
                    );
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(lock.retry) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            if *stop.borrow() {
                return;
            }
        }
        if waiting {
            tracing::info!("the other poller stopped; polling here now");
            status.send_if_modified(|s| {
                let was = s.error_code.as_deref() == Some(ANOTHER_POLLER);
                if was {
                    s.error_code = None;
                    s.error_message = None;
                }
                was
            });
        }
    }
    if *stop.borrow() {
        return;
    }
    poller.run(status, stop).await;
}

/// Waits for the clinic's poll lock, polls while it is held, and waits again when it is lost.
async fn run_clinic(
    make: impl Fn() -> Poller + Send + 'static,
    clinic: inbox_pg::PgInbox,
    publish_to: Arc<dyn InboxStore>,
    status: watch::Sender<SyncStatus>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let mut waiting = false;
        let lease = loop {
            match clinic.try_poll_lease().await {
                Ok(Some(lease)) => break lease,
                Ok(None) => {
                    if !waiting {
                        waiting = true;
                        tracing::info!("another server polls the clinic inbox; standing by");
                        status.send_modify(|s| {
                            s.error_code = Some(ANOTHER_POLLER.into());
                            s.error_message = Some(ANOTHER_CLINIC_POLLER_MESSAGE.into());
                            s.next_poll_at = None;
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach the clinic inbox for its poll lock");
                    status.send_modify(|s| {
                        s.error_code = Some(e.code().as_str().into());
                        s.error_message = Some(e.to_string());
                        s.next_poll_at = None;
                    });
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(CLINIC_LOCK_CHECK) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            if *stop.borrow() {
                return;
            }
        };
        tracing::info!("polling for the clinic inbox");
        status.send_if_modified(|s| {
            let was = s.error_code.is_some();
            s.error_code = None;
            s.error_message = None;
            was
        });
        let (inner_stop, inner_rx) = watch::channel(false);
        let mut polling = tokio::spawn(make().run(status.clone(), inner_rx));
        let poller_name = format!(
            "{}@{}",
            clinic.role(),
            gethostname::gethostname().to_string_lossy()
        );
        let publishing = tokio::spawn(publish_status(
            publish_to.clone(),
            poller_name,
            status.subscribe(),
        ));
        let _publishing = AbortOnDrop(publishing);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(CLINIC_LOCK_CHECK) => {
                    if !lease.is_held() {
                        tracing::warn!("lost the clinic poll lock (the database restarted or the connection broke); standing by");
                        let _ = inner_stop.send(true);
                        let _ = (&mut polling).await;
                        break;
                    }
                }
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        let _ = inner_stop.send(true);
                        let _ = polling.await;
                        return;
                    }
                }
                _ = &mut polling => return,
            }
        }
        drop(lease);
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Drop for Syncing {
    fn drop(&mut self) {
        if let Some(task) = self.poller.take() {
            task.abort();
        }
        // Freed now, not when the runtime gets to drop the aborted task: a poller started
        // right after this one (the desktop's "Sync now") takes it at once.
        release(&self.held);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_poll_lock_is_exclusive_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let lock = PollLock::at(dir.path());
        let first = lock.try_take().unwrap().expect("free at first");
        assert!(lock.try_take().unwrap().is_none(), "held by the first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(lock.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(first);
        assert!(lock.try_take().unwrap().is_some(), "free once dropped");
        assert!(lock.path().exists(), "never deleted");
    }
}
