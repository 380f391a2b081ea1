//! Startup, polling, the status strip and quitting.

#[allow(unused_imports)]
use super::*;

/// The poller (`app::sync`) and the task that forwards its status to the window.
pub(super) struct SyncTask {
    syncing: app::sync::Syncing,
    forwarder: JoinHandle<()>,
}

/// How long quitting waits for a poll or an import in progress to finish.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

// Dropping a SyncTask drops `Syncing`, which aborts the poller (safe between two statements
// of a poll: every page commits atomically); its status channel closes and the forwarder ends.

impl Core {
    /// At startup: with a stored sign-in, start syncing; publish the status either way.
    pub async fn start(self: &Arc<Self>) {
        self.start_idle_watch();
        // Clinic mode: the clinic server polls Askara and applies retention; this desk
        // watches the shared inbox for changes and shows the poller's status.
        if self.clinic().is_some() {
            self.start_clinic();
            self.read_poller_status().await;
            self.notes_changed("startup").await;
            self.publish_status().await;
            return;
        }
        // Retention runs now and daily, reading the setting at each run.
        let me = Arc::downgrade(self);
        *lock(&self.retention) = Some(app::retention::RetentionJob::start(
            self.inbox.clone(),
            move || {
                me.upgrade()
                    .map(|c| c.settings().retention_days)
                    .unwrap_or(app::retention::DEFAULT_DAYS)
            },
        ));
        let signed_in = match self.api() {
            Ok(api) => api.auth().has_credentials().await.unwrap_or(false),
            Err(_) => false,
        };
        if signed_in {
            self.fetch_account().await;
            if let Err(e) = self.start_sync() {
                tracing::warn!(code = %e.code, "cannot start syncing");
            }
        }
        self.notes_changed("startup").await;
        self.publish_status().await;
    }

    pub(super) fn token_store(
        &self,
        cfg: &askara::ClientConfig,
    ) -> Result<Arc<dyn TokenStore>, CmdError> {
        if let Some(m) = &self.memory_tokens {
            return Ok(m.clone());
        }
        let opened = app::credentials::open_token_store(
            &self.data_dir,
            cfg,
            app::credentials::StorePolicy::KeyringOnly,
        )?
        .ok_or_else(|| CmdError::keyring(secrets::KEYRING_FIX))?;
        Ok(opened.store)
    }

    /// The API client for the current settings (shared, so tokens are cached in memory once).
    pub fn api(&self) -> Result<Arc<ApiClient>, CmdError> {
        let mut guard = lock(&self.api);
        if let Some(api) = guard.as_ref() {
            return Ok(api.clone());
        }
        let cfg = self.settings().client_config(None)?;
        let store = self.token_store(&cfg)?;
        let api = Arc::new(ApiClient::new(cfg, store, Arc::new(SystemClock))?);
        *guard = Some(api.clone());
        Ok(api)
    }

    /// (Re)starts the poller; its status goes to the strip, its new notes to the list.
    pub fn start_sync(self: &Arc<Self>) -> Result<(), CmdError> {
        self.stop_sync();
        // Never in clinic mode: the clinic server is the one poller of a shared inbox.
        if self.clinic().is_some() {
            return Ok(());
        }
        let api = self.api()?;
        // One poller per data dir: beside `askara-inbox sync` on it, this one waits.
        let syncing = app::sync::Syncing::start(
            api,
            self.inbox.clone(),
            self.settings().sync_config(),
            Some(app::sync::PollLock::at(&self.data_dir)),
        );
        let mut status_rx = syncing.status();
        *lock(&self.syncing) = true;
        let me = Arc::clone(self);
        let forwarder = tokio::spawn(async move {
            while status_rx.changed().await.is_ok() {
                let s = status_rx.borrow_and_update().clone();
                // Patients' identifiers read in a poll without new notes show too.
                let changed = s.error_code.is_none()
                    && s.last_report
                        .as_ref()
                        .is_some_and(|r| r.new + r.revised + r.patients.fetched > 0);
                let arrived = match (&s.error_code, &s.last_report) {
                    (None, Some(r)) => Some((r.new, r.revised)),
                    _ => None,
                };
                *lock(&me.syncing) = false;
                {
                    // A restarted poller starts from scratch: keep the last success we knew.
                    let mut last = lock(&me.last_sync);
                    let mut s = s;
                    if s.last_success_at.is_none() {
                        s.last_success_at = last.last_success_at;
                    }
                    *last = s;
                }
                me.publish_status().await;
                if changed {
                    me.notes_changed("sync").await;
                }
                if let Some((new, revised)) = arrived {
                    me.notify_arrivals(new, revised);
                }
                if !*lock(&me.first_sync_logged) {
                    *lock(&me.first_sync_logged) = true;
                    tracing::info!(
                        elapsed_ms = crate::elapsed_ms() as u64,
                        "first sync finished"
                    );
                }
            }
        });
        *lock(&self.sync) = Some(SyncTask { syncing, forwarder });
        Ok(())
    }

    pub(super) fn notify_arrivals(&self, new: usize, revised: usize) {
        let shown =
            lock(&self.notifier).on_sync(new as u64, revised as u64, std::time::Instant::now());
        if let Some(n) = shown.filter(|_| self.settings().notify_new_notes) {
            self.shell.notify(&n);
        }
    }

    pub fn stop_sync(&self) {
        lock(&self.sync).take();
        *lock(&self.syncing) = false;
    }

    /// "Sync now": restarts the poller, which polls at once.
    pub async fn sync_now(self: &Arc<Self>) -> Result<(), CmdError> {
        // Clinic mode: nothing to poll here; everything shown is read again instead.
        if self.clinic().is_some() {
            self.read_poller_status().await;
            self.publish_status().await;
            self.notes_changed("reconnected").await;
            return Ok(());
        }
        self.start_sync()?;
        self.publish_status().await;
        Ok(())
    }

    pub async fn status_view(&self) -> StatusView {
        let target = TargetSpec::parse(&self.settings().import_target)
            .map(|t| t.display())
            .unwrap_or_default();
        // Clinic mode: the clinic poller's sync, as it published it, and this desk's link to
        // the shared inbox; no Askara sign-in of its own.
        if let Some(c) = self.clinic_status() {
            return StatusView {
                syncing: false,
                last_sync_at: c.last_sync_at,
                next_poll_at: c.next_poll_at,
                last_new: c.last_new,
                target,
                problem: c.problem,
                clinic: Some(c.view),
                ..StatusView::default()
            };
        }
        let sync = lock(&self.last_sync).clone();
        let mut problem = status::problem(&sync);
        let (signed_in, expires) = match self.api() {
            Ok(api) => match api.auth().has_credentials().await {
                Ok(s) => (s, api.auth().expires_at().await),
                Err(e) => {
                    let e = CmdError::from(e);
                    problem = Some(keyring_problem(&e));
                    (false, None)
                }
            },
            Err(e) if e.code == "keyring" => {
                problem = Some(keyring_problem(&e));
                (false, None)
            }
            Err(_) => (false, None),
        };
        StatusView {
            demo: self.demo.is_some(),
            signed_in,
            account: lock(&self.account).clone().filter(|_| signed_in),
            token_expires_at: expires.filter(|_| signed_in),
            token_storage: if self.memory_tokens.is_some() {
                status::TokenStorage::Memory
            } else {
                status::TokenStorage::Keyring
            },
            syncing: *lock(&self.syncing) && signed_in,
            last_sync_at: sync.last_success_at,
            next_poll_at: sync.next_poll_at.filter(|_| lock(&self.sync).is_some()),
            last_new: sync.last_report.map(|r| r.new).unwrap_or(0),
            target,
            problem,
            clinic: None,
        }
    }

    pub async fn publish_status(&self) {
        let view = self.status_view().await;
        if let Some(c) = self.clinic() {
            c.record_shown(&view);
        }
        self.shell.emit(
            "sync-status",
            serde_json::to_value(view).unwrap_or_default(),
        );
    }

    /// Tells the UI the list changed and puts the number of new notes in the window title.
    pub(super) async fn notes_changed(&self, reason: &str) {
        if let Ok(c) = self.counts().await {
            self.shell
                .set_title(&status::window_title(c.new, self.demo.is_some()));
            self.shell.new_count(c.new);
        }
        self.shell.emit(
            "notes-changed",
            event_json(&NotesChanged {
                reason: reason.into(),
            }),
        );
    }

    /// Who the tokens act for (`GET /me`), for the status strip. Best effort.
    pub(super) async fn fetch_account(&self) {
        let Ok(api) = self.api() else { return };
        let Ok(url) = api.url("me") else { return };
        if let Ok(me) = api.get_json(url).await {
            let s = |k: &str| {
                me.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let name = format!("{} {}", s("firstName"), s("lastName"))
                .trim()
                .to_string();
            let name = if name.is_empty() { s("email") } else { name };
            *lock(&self.account) = Some(name).filter(|n| !n.is_empty());
            if let Some(user) = app::identity::askara_user(&me) {
                lock(&self.who).actor = format!("askara:{user}");
            }
        }
    }

    /// On exit: a demo's sign-in is removed from the keyring (its simulator is gone) and its
    /// temp folder deleted (the process exits without running destructors).
    /// Quitting: [`Core::drain`], then the demo's sign-in and folder are removed.
    pub async fn shutdown(&self) {
        self.drain().await;
        if let Some(demo) = &self.demo {
            if let Ok(api) = self.api() {
                let _ = api.auth().sign_out().await;
            }
            if let Err(e) = std::fs::remove_dir_all(demo.dir.path()) {
                tracing::warn!(error = %e, "cannot remove the demo folder");
            }
        }
    }

    /// Stops syncing, but lets a poll in progress commit and imports in progress finish (up
    /// to [`DRAIN_TIMEOUT`]): closing the window loses nothing.
    pub async fn drain(&self) {
        let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
        if let Some(c) = self.clinic() {
            c.stop();
        }
        let task = lock(&self.sync).take();
        if let Some(SyncTask { syncing, forwarder }) = task {
            forwarder.abort();
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !syncing.stop(Some(left)).await {
                tracing::warn!("a poll was still running when the app quit; it was stopped");
            }
        }
        if tokio::time::timeout_at(deadline, self.imports.write())
            .await
            .is_err()
        {
            tracing::warn!("an import was still running when the app quit");
        }
        self.stop_sync();
    }
}

fn keyring_problem(e: &CmdError) -> Problem {
    tracing::warn!(error = %e.message, "keyring unavailable");
    let fix = secrets::KEYRING_FIX;
    Problem {
        code: "keyring".into(),
        summary: "The OS keyring is locked or missing, so the sign-in cannot be kept".into(),
        fix: format!("{}{}", fix[..1].to_uppercase(), &fix[1..]),
        until: None,
        needs_sign_in: false,
    }
}
