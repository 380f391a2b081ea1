//! The desktop's state and behaviour, free of Tauri: commands are one-line adapters over these
//! methods, and the shell (window title, events) is a trait, so this runs in tests without a
//! window. Logs and events never carry note content or patient names.

use crate::error::CmdError;
use crate::notify::{NewNotesNotifier, Notification};
use crate::status::{self, Problem, StatusView};
use crate::views::{self, Counts, ImportView, NoteRow, NoteView, PatientView, VersionView};
use app::importing::{self, ImportOptions};
use app::settings::SignInMethod;
use app::{Identity, Settings};
use askara::{ApiClient, MemoryTokenStore, Sensitive, SystemClock, TokenStore};
use import::{ImportTarget, TargetSpec};
use inbox::sync::{Poller, SyncStatus};
use inbox::{Inbox, ListQuery, SearchQuery, Status};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the core tells the window.
pub trait Shell: Send + Sync + 'static {
    /// `notes-changed`, `sync-status`, `sign-in`, `import-result`.
    fn emit(&self, event: &str, payload: Value);
    fn set_title(&self, title: &str);
    /// A desktop notification (counts only, never patient data).
    fn notify(&self, n: &Notification);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The embedded simulator of demo mode, and the temp dir that holds the demo's data.
pub struct Demo {
    pub sim: askara_sim::SimHandle,
    generator: JoinHandle<()>,
    dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the simulator with `notes` notes and one more every `every`, auto-approving device
    /// sign-ins. Must run inside a Tokio runtime.
    pub async fn start(every: std::time::Duration, notes: usize) -> Result<Demo, CmdError> {
        let dir = tempfile::Builder::new()
            .prefix("askara-inbox-demo-")
            .tempdir()
            .map_err(|e| {
                CmdError::new("io", format!("cannot create a temp dir for the demo: {e}"))
            })?;
        let cfg = askara_sim::SimConfig {
            device_auto_approve: true,
            device_poll_interval_secs: 1,
            ..Default::default()
        };
        let sim = askara_sim::SimHandle::start(cfg)
            .await
            .map_err(|e| CmdError::new("io", format!("cannot start the demo simulator: {e}")))?;
        let seed = 20_260_224;
        sim.add_generated(notes, seed);
        let generator = sim.spawn_generator(every, seed);
        Ok(Demo {
            sim,
            generator,
            dir,
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Settings pointing at the simulator and a demo practice database in the temp dir.
    pub fn settings(&self) -> Settings {
        let cfg = self.sim.config();
        Settings {
            base_url: self.sim.base_url(),
            client_id: cfg.client_id,
            interval_secs: 5,
            import_target: format!(
                "sqlite:{}",
                self.dir.path().join("practice-demo.sqlite3").display()
            ),
            ..Settings::default()
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.generator.abort();
    }
}

struct SyncTask {
    poller: JoinHandle<()>,
    forwarder: JoinHandle<()>,
    /// Asks the poller to stop after the poll in progress (see [`Core::shutdown`]).
    stop: watch::Sender<bool>,
}

/// How long quitting waits for a poll or an import in progress to finish.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Drop for SyncTask {
    fn drop(&mut self) {
        // Aborting between two statements of a poll is safe: every page commits atomically.
        self.poller.abort();
        self.forwarder.abort();
    }
}

struct PendingSignIn {
    verification_url: String,
    task: JoinHandle<()>,
}

/// How long the browser sign-in waits for the redirect before giving up.
const BROWSER_SIGN_IN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The sign-in that started: a code to show, or a browser page to finish it in.
#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "method",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SignInView {
    Device(DeviceView),
    Browser { authorize_url: String },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub demo: bool,
    pub first_run: bool,
    pub data_dir: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub ok: bool,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    pub askara: Check,
    pub target: Option<Check>,
}

type CachedTarget = Option<(String, String, Arc<dyn ImportTarget>)>;

pub struct Core {
    data_dir: PathBuf,
    inbox: Inbox,
    demo: Option<Demo>,
    first_run: bool,
    settings: Mutex<Settings>,
    api: Mutex<Option<Arc<ApiClient>>>,
    /// Demo mode on a machine without a keyring only; the status strip says so.
    memory_tokens: Option<Arc<MemoryTokenStore>>,
    sync: Mutex<Option<SyncTask>>,
    last_sync: Mutex<SyncStatus>,
    syncing: Mutex<bool>,
    first_sync_logged: Mutex<bool>,
    account: Mutex<Option<String>>,
    sign_in: Mutex<Option<PendingSignIn>>,
    notifier: Mutex<NewNotesNotifier>,
    /// Held (shared) by every import in progress; quitting takes it exclusively to wait.
    imports: tokio::sync::RwLock<()>,
    target: tokio::sync::Mutex<CachedTarget>,
    shell: Arc<dyn Shell>,
    who: Identity,
}

impl Core {
    /// Opens the inbox in `data_dir` (blocking: call once at startup).
    pub fn open(data_dir: PathBuf, shell: Arc<dyn Shell>) -> Result<Arc<Core>, CmdError> {
        std::fs::create_dir_all(&data_dir).map_err(|e| {
            CmdError::new(
                "io",
                format!("cannot create the data folder {}: {e}", data_dir.display()),
            )
        })?;
        let (settings, existed) = Settings::load(&data_dir)?;
        Self::build(data_dir, settings, !existed, None, shell)
    }

    /// Demo mode: the simulator, a temp data dir, and the keyring if one answers (else memory,
    /// said in the status strip). Must run inside a Tokio runtime.
    pub async fn open_demo(
        every: std::time::Duration,
        notes: usize,
        shell: Arc<dyn Shell>,
    ) -> Result<Arc<Core>, CmdError> {
        let demo = Demo::start(every, notes).await?;
        let data_dir = demo.data_dir();
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| CmdError::new("io", format!("cannot create the demo data dir: {e}")))?;
        let settings = demo.settings();
        settings.save(&data_dir)?;
        Self::build(data_dir, settings, false, Some(demo), shell)
    }

    fn build(
        data_dir: PathBuf,
        settings: Settings,
        first_run: bool,
        demo: Option<Demo>,
        shell: Arc<dyn Shell>,
    ) -> Result<Arc<Core>, CmdError> {
        let inbox = Inbox::open(data_dir.join("inbox.sqlite3"))?;
        // The demo's sign-in is throwaway: a keyring that is missing or locked (one that
        // refuses writes) must not stop it, so it stays in memory then, and the strip says so.
        let memory_tokens = match demo.as_ref().map(|_| secrets::probe_write()) {
            Some(Err(e)) => {
                tracing::warn!(error = %e, "demo mode without a keyring: the demo sign-in stays in memory");
                Some(Arc::new(MemoryTokenStore::default()))
            }
            _ => None,
        };
        Ok(Arc::new(Core {
            data_dir,
            inbox,
            demo,
            first_run,
            settings: Mutex::new(settings),
            api: Mutex::new(None),
            memory_tokens,
            sync: Mutex::new(None),
            last_sync: Mutex::new(SyncStatus::default()),
            syncing: Mutex::new(false),
            first_sync_logged: Mutex::new(false),
            account: Mutex::new(None),
            sign_in: Mutex::new(None),
            notifier: Mutex::new(NewNotesNotifier::new(crate::notify::MIN_GAP)),
            imports: tokio::sync::RwLock::new(()),
            target: tokio::sync::Mutex::new(None),
            shell,
            who: Identity::from_os(),
        }))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn demo(&self) -> Option<&Demo> {
        self.demo.as_ref()
    }

    pub fn info(&self) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            demo: self.demo.is_some(),
            first_run: self.first_run,
            data_dir: self.data_dir.display().to_string(),
        }
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    // -----------------------------------------------------------------------------------------
    // Startup and sync

    /// At startup: with a stored sign-in, start syncing; publish the status either way.
    pub async fn start(self: &Arc<Self>) {
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

    fn token_store(&self, cfg: &askara::ClientConfig) -> Result<Arc<dyn TokenStore>, CmdError> {
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
        let api = self.api()?;
        let poller = Poller::new(
            api,
            self.inbox.clone(),
            self.settings().sync_config(),
            Arc::new(SystemClock),
        );
        let (status_tx, mut status_rx) = watch::channel(SyncStatus::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let poller = tokio::spawn(async move {
            poller.run(status_tx, stop_rx).await;
        });
        *lock(&self.syncing) = true;
        let me = Arc::clone(self);
        let forwarder = tokio::spawn(async move {
            while status_rx.changed().await.is_ok() {
                let s = status_rx.borrow_and_update().clone();
                let changed = s.error_code.is_none()
                    && s.last_report
                        .as_ref()
                        .is_some_and(|r| r.new + r.revised > 0);
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
        *lock(&self.sync) = Some(SyncTask {
            poller,
            forwarder,
            stop: stop_tx,
        });
        Ok(())
    }

    fn notify_arrivals(&self, new: usize, revised: usize) {
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
        self.start_sync()?;
        self.publish_status().await;
        Ok(())
    }

    pub async fn status_view(&self) -> StatusView {
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
        let target = TargetSpec::parse(&self.settings().import_target)
            .map(|t| t.display())
            .unwrap_or_default();
        StatusView {
            demo: self.demo.is_some(),
            signed_in,
            account: lock(&self.account).clone().filter(|_| signed_in),
            token_expires_at: expires.filter(|_| signed_in),
            token_storage: if self.memory_tokens.is_some() {
                "memory".into()
            } else {
                "keyring".into()
            },
            syncing: *lock(&self.syncing) && signed_in,
            last_sync_at: sync.last_success_at,
            next_poll_at: sync.next_poll_at.filter(|_| lock(&self.sync).is_some()),
            last_new: sync.last_report.map(|r| r.new).unwrap_or(0),
            target,
            problem,
        }
    }

    pub async fn publish_status(&self) {
        let view = self.status_view().await;
        self.shell.emit(
            "sync-status",
            serde_json::to_value(view).unwrap_or_default(),
        );
    }

    /// Tells the UI the list changed and puts the number of new notes in the window title.
    async fn notes_changed(&self, reason: &str) {
        if let Ok(c) = self.counts().await {
            self.shell
                .set_title(&status::window_title(c.new, self.demo.is_some()));
        }
        self.shell
            .emit("notes-changed", json!({ "reason": reason }));
    }

    /// Who the tokens act for (`GET /me`), for the status strip. Best effort.
    async fn fetch_account(&self) {
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
        }
    }

    // -----------------------------------------------------------------------------------------
    // Sign-in

    /// Starts a device sign-in and waits for approval in the background; the outcome arrives
    /// as a `sign-in` event (`signed_in` or `failed` with `{code, message}`).
    /// Starts the configured sign-in: the device code (shown large by the UI), or the system
    /// browser with PKCE and a loopback redirect. Either finishes in the background and
    /// announces itself with a `sign-in` event.
    pub async fn sign_in_start(self: &Arc<Self>) -> Result<SignInView, CmdError> {
        self.sign_in_cancel();
        let api = self.api()?;
        let auth = api.auth().clone();
        if self.settings().sign_in_method == SignInMethod::Browser {
            let loopback = crate::loopback::Loopback::bind().await.map_err(|e| {
                CmdError::new(
                    "io",
                    format!("cannot listen on 127.0.0.1 for the sign-in: {e}"),
                )
            })?;
            let session = auth.start_pkce(loopback.redirect.clone())?;
            let url = session.authorize_url.to_string();
            let finish = async move {
                let cb = tokio::time::timeout(BROWSER_SIGN_IN_TIMEOUT, loopback.wait())
                    .await
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        CmdError::new(
                            "sign_in_expired",
                            "The browser sign-in was not completed in time: start it again",
                        )
                    })?;
                match (cb.code, cb.error) {
                    (Some(code), None) => {
                        let state = cb.state.unwrap_or_default();
                        auth.finish_pkce(session, &code, &state).await?;
                        Ok(())
                    }
                    (_, error) => Err(CmdError::from(askara::ApiError::AccessDenied(match error
                        .as_deref()
                    {
                        Some("access_denied") => "refused in the browser",
                        _ => "not completed in the browser",
                    }))),
                }
            };
            self.finish_sign_in_in_background(url.clone(), finish);
            return Ok(SignInView::Browser { authorize_url: url });
        }
        let device = auth.start_device().await?;
        let view = DeviceView {
            user_code: device.user_code.clone(),
            verification_uri: device.verification_uri.clone(),
            verification_uri_complete: device.verification_uri_complete.clone(),
            expires_at: chrono::Utc::now()
                + chrono::Duration::from_std(device.expires_in).unwrap_or_default(),
        };
        let url = view
            .verification_uri_complete
            .clone()
            .unwrap_or_else(|| view.verification_uri.clone());
        self.finish_sign_in_in_background(url, async move {
            auth.finish_device(&device).await?;
            Ok(())
        });
        Ok(SignInView::Device(view))
    }

    fn finish_sign_in_in_background(
        self: &Arc<Self>,
        verification_url: String,
        finish: impl std::future::Future<Output = Result<(), CmdError>> + Send + 'static,
    ) {
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            let outcome = finish.await;
            lock(&me.sign_in).take();
            match outcome {
                Ok(()) => {
                    lock(&me.notifier).reset();
                    me.fetch_account().await;
                    if let Err(e) = me.start_sync() {
                        tracing::warn!(code = %e.code, "cannot start syncing after sign-in");
                    }
                    me.publish_status().await;
                    me.shell.emit("sign-in", json!({ "state": "signed_in" }));
                }
                Err(e) => {
                    me.shell
                        .emit("sign-in", json!({ "state": "failed", "error": e }));
                }
            }
        });
        *lock(&self.sign_in) = Some(PendingSignIn {
            verification_url,
            task,
        });
    }

    /// The verification page of the sign-in in progress (the UI cannot open arbitrary URLs).
    pub fn verification_url(&self) -> Result<String, CmdError> {
        lock(&self.sign_in)
            .as_ref()
            .map(|p| p.verification_url.clone())
            .ok_or_else(|| CmdError::new("no_sign_in", "No sign-in is in progress: start one"))
    }

    pub fn sign_in_cancel(&self) {
        if let Some(p) = lock(&self.sign_in).take() {
            p.task.abort();
        }
    }

    /// Stops syncing and removes the tokens from the keyring.
    pub async fn sign_out(&self) -> Result<(), CmdError> {
        self.sign_in_cancel();
        self.stop_sync();
        *lock(&self.last_sync) = SyncStatus::default();
        *lock(&self.account) = None;
        lock(&self.notifier).reset();
        let api = self.api()?;
        let result = api.auth().sign_out().await;
        self.publish_status().await;
        Ok(result?)
    }

    // -----------------------------------------------------------------------------------------
    // Notes

    pub async fn list(
        &self,
        status: Option<String>,
        patient: Option<String>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<NoteRow>, CmdError> {
        let q = ListQuery {
            status: parse_status(status)?,
            patient_uuid: patient,
            limit: Some(limit.min(1000)),
            offset,
        };
        Ok(self
            .inbox
            .list(q)
            .await?
            .iter()
            .map(NoteRow::from)
            .collect())
    }

    pub async fn search(
        &self,
        text: &str,
        status: Option<String>,
        patient: Option<String>,
        limit: usize,
    ) -> Result<Vec<NoteRow>, CmdError> {
        let matcher = inbox::Matcher::new(text);
        let q = SearchQuery {
            status: parse_status(status)?,
            patient_uuid: patient,
            limit: limit.min(1000),
            ..Default::default()
        };
        Ok(self
            .inbox
            .search(text, q)
            .await?
            .iter()
            .map(|n| match &matcher {
                Some(m) => NoteRow::found(n, m),
                None => NoteRow::from(n),
            })
            .collect())
    }

    /// One note; with a search `query`, its matched words are marked, and a revised note says
    /// what changed since the version that was imported (or the one before it).
    pub async fn get(&self, uuid: &str, query: Option<&str>) -> Result<NoteView, CmdError> {
        let note = self
            .inbox
            .get(uuid)
            .await?
            .ok_or_else(|| inbox::InboxError::NotFound {
                uuid: uuid.to_string(),
            })?;
        let versions = self.inbox.versions(uuid).await?;
        let audit = self.inbox.audit_log(Some(uuid.to_string()), 50).await?;
        let mut view = NoteView::new(note, versions.len(), &audit);
        if let Some(m) = query
            .and_then(inbox::Matcher::new)
            .filter(|m| !m.names_only())
        {
            let parts = views::text_parts(&view.content, &m);
            view.content_parts = parts.iter().any(|p| p.hit).then_some(parts);
        }
        view.changes = views::changes(&view, &versions, &audit);
        Ok(view)
    }

    /// Earlier contents of a revised note, newest first.
    pub async fn versions(&self, uuid: &str) -> Result<Vec<VersionView>, CmdError> {
        let mut v: Vec<VersionView> = self
            .inbox
            .versions(uuid)
            .await?
            .into_iter()
            .map(VersionView::from)
            .collect();
        v.reverse();
        Ok(v)
    }

    /// The inbox itself (tests and diagnostics).
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    pub async fn counts(&self) -> Result<Counts, CmdError> {
        let c = self.inbox.counts().await?;
        let n = |s: Status| c.get(&s).copied().unwrap_or(0);
        Ok(Counts {
            all: c.values().sum(),
            new: n(Status::New),
            reviewed: n(Status::Reviewed),
            imported: n(Status::Imported),
            dismissed: n(Status::Dismissed),
            revised: n(Status::Revised),
        })
    }

    pub async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientView>, CmdError> {
        let text = text.filter(|t| !t.trim().is_empty());
        Ok(self
            .inbox
            .patients(text, limit.min(500))
            .await?
            .into_iter()
            .map(PatientView::from)
            .collect())
    }

    /// Reviewed, dismissed, or back to new (undo); the previous status comes back for undo.
    pub async fn set_status(&self, uuid: &str, status: &str) -> Result<String, CmdError> {
        let to: Status = status.parse()?;
        let change = self.inbox.set_status(uuid, to, &self.who.actor).await?;
        self.notes_changed("status").await;
        Ok(change.from.as_str().to_string())
    }

    /// Imports one note into the practice database (`app::importing`). Target failures come
    /// back as a result (`error`, with `{code, message}`) so the UI can offer a retry; every
    /// attempt the target saw is audited.
    pub async fn import_note(
        &self,
        uuid: &str,
        allow_update: bool,
    ) -> Result<ImportView, CmdError> {
        let _in_flight = self.imports.read().await;
        let note = self
            .inbox
            .get(uuid)
            .await?
            .ok_or_else(|| inbox::InboxError::NotFound {
                uuid: uuid.to_string(),
            })?;
        if note.status == Status::Dismissed {
            return Err(app::AppError::Dismissed {
                uuid: uuid.to_string(),
            }
            .into());
        }
        let view = match self.target().await {
            Err(e) => ImportView {
                uuid: uuid.to_string(),
                result: "error".into(),
                target: TargetSpec::parse(&self.settings().import_target)
                    .map(|t| t.display())
                    .unwrap_or_default(),
                imported_at: None,
                imported_by: None,
                error: Some(e),
            },
            Ok((_, target)) => {
                let opts = ImportOptions {
                    allow_update,
                    dry_run: false,
                };
                let mut attempts = importing::import_notes(
                    &self.inbox,
                    target.as_ref(),
                    std::slice::from_ref(&note),
                    opts,
                    &self.who,
                )
                .await?;
                let attempt = attempts
                    .pop()
                    .ok_or_else(|| CmdError::new("internal", "the import returned no attempt"))?;
                if let Err(e) = &attempt.outcome {
                    if e.is_connection_loss() {
                        self.target.lock().await.take();
                    }
                }
                ImportView::from_attempt(attempt)
            }
        };
        tracing::info!(result = %view.result, "import attempt");
        self.shell.emit(
            "import-result",
            serde_json::to_value(&view).unwrap_or_default(),
        );
        self.notes_changed("import").await;
        Ok(view)
    }

    /// The connected import target for the current settings (connected once, then reused).
    async fn target(&self) -> Result<(String, Arc<dyn ImportTarget>), CmdError> {
        let s = self.settings();
        if s.import_target.trim().is_empty() {
            return Err(CmdError::new(
                "no_target",
                "No practice database is set: open Settings and enter the import target",
            ));
        }
        let key = format!("{}\n{}", s.import_target, s.mapping_file);
        let mut guard = self.target.lock().await;
        if let Some((k, described, t)) = guard.as_ref() {
            if *k == key {
                return Ok((described.clone(), t.clone()));
            }
        }
        let t = importing::connect(
            &s.import_target,
            Some(Path::new(s.mapping_file.trim())),
            None,
        )
        .await?;
        let described = t.describe();
        *guard = Some((key, described.clone(), t.clone()));
        Ok((described, t))
    }

    // -----------------------------------------------------------------------------------------
    // Settings

    /// Validates and saves; a new password goes to the keyring. Reconnects and restarts
    /// syncing with the new settings.
    pub async fn save_settings(
        self: &Arc<Self>,
        settings: Settings,
        password: Option<String>,
    ) -> Result<(), CmdError> {
        settings.validate()?;
        if let Some(pw) = password.filter(|p| !p.is_empty()) {
            importing::remember_password(&settings.import_target, &Sensitive::new(pw))?;
        }
        settings.save(&self.data_dir)?;
        let was_syncing = lock(&self.sync).is_some();
        *lock(&self.settings) = settings;
        lock(&self.api).take();
        self.target.lock().await.take();
        if was_syncing {
            let signed_in = match self.api() {
                Ok(api) => api.auth().has_credentials().await.unwrap_or(false),
                Err(_) => false,
            };
            if signed_in {
                self.start_sync()?;
            } else {
                self.stop_sync();
            }
        }
        self.publish_status().await;
        Ok(())
    }

    /// Whether Askara answers at the base URL, and whether the import target accepts a
    /// connection (for SQLite this creates the file and schema if missing).
    pub async fn test_connection(
        &self,
        settings: Settings,
        password: Option<String>,
    ) -> Result<ConnectionReport, CmdError> {
        let cfg = settings.client_config(None)?;
        let askara = match probe_http(cfg.base_url.as_str()).await {
            Ok(status) => Check {
                ok: true,
                message: format!("Askara answered at {} (HTTP {status})", cfg.host()),
            },
            Err(e) => Check {
                ok: false,
                message: format!("Askara did not answer at {}: {e}", cfg.host()),
            },
        };
        let target = if settings.import_target.trim().is_empty() {
            None
        } else {
            Some(
                match importing::connect(
                    &settings.import_target,
                    Some(Path::new(settings.mapping_file.trim())),
                    password.map(Sensitive::new),
                )
                .await
                {
                    Ok(t) => Check {
                        ok: true,
                        message: format!("Connected to {}", t.describe()),
                    },
                    Err(e) => Check {
                        ok: false,
                        message: CmdError::from(e).message,
                    },
                },
            )
        };
        Ok(ConnectionReport { askara, target })
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
        let task = lock(&self.sync).take();
        if let Some(mut task) = task {
            let _ = task.stop.send(true);
            if tokio::time::timeout_at(deadline, &mut task.poller)
                .await
                .is_err()
            {
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

fn parse_status(s: Option<String>) -> Result<Option<Status>, CmdError> {
    Ok(s.filter(|s| !s.is_empty() && s != "all")
        .map(|s| s.parse::<Status>())
        .transpose()?)
}

/// Any HTTP answer means Askara is reachable (a 404 at the root is fine).
async fn probe_http(url: &str) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    client
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| askara::client::describe_reqwest(&e))
}
