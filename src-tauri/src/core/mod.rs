//! The desktop's state and behaviour, free of Tauri: commands are one-line adapters over these
//! methods, and the shell (window title, events) is a trait, so this runs in tests without a
//! window. Logs and events never carry note content or patient names.
//!
//! One file per concern: [`demo`], [`sync`] (polling, status, quitting), [`sign_in`],
//! [`notes`] (lists, review, import), [`reading`] (a note's history), [`settings`] and [`lock`]
//! (the idle lock).

use crate::error::CmdError;
use crate::notify::{NewNotesNotifier, Notification};
use crate::status::{self, Problem, StatusView};
use crate::views::{self, Counts, ImportView, NoteRow, NoteView, PatientView, VersionView};
use app::importing::{self, ImportOptions};
use app::settings::SignInMethod;
use app::{Identity, Settings};
use askara::{ApiClient, MemoryTokenStore, Sensitive, SystemClock, TokenStore};
use import::{ImportTarget, TargetSpec};
use inbox::sync::SyncStatus;
use inbox::{InboxStore, ListQuery, SearchQuery, Status};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// What the core tells the window.
pub trait Shell: Send + Sync + 'static {
    /// `notes-changed`, `sync-status`, `sign-in`, `import-result`.
    fn emit(&self, event: &str, payload: Value);
    fn set_title(&self, title: &str);
    /// The number of new notes changed (the tray shows it).
    fn new_count(&self, _new: u64) {}
    /// A desktop notification (counts only, never patient data).
    fn notify(&self, n: &Notification);
    /// Quits (running the usual shutdown) and starts the app again: after "erase this
    /// workstation's copy", whose erase finishes before the inbox is opened again.
    fn restart(&self);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

mod bulk;
mod demo;
mod lock;
mod notes;
mod patients;
mod reading;
mod settings;
mod sign_in;
mod sync;

pub use bulk::{BulkStatusView, FacetsView, FilterArgs, TypeChoice};
pub use demo::Demo;
pub use lock::LockView;
use sign_in::PendingSignIn;
use sync::SyncTask;
pub use sync::DRAIN_TIMEOUT;

/// The sign-in that started: a code to show, or a browser page to finish it in.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(
    tag = "method",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SignInView {
    Device(DeviceView),
    Browser { authorize_url: String },
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub demo: bool,
    pub first_run: bool,
    pub data_dir: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub ok: bool,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    pub askara: Check,
    pub target: Option<Check>,
}

/// `notes-changed`: the list should reload (`reason`: what changed it, for logs and tests).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct NotesChanged {
    pub reason: String,
}

/// `sign-in`: how a sign-in started in the background ended.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignInEvent {
    SignedIn,
    Failed { error: CmdError },
}

fn event_json<T: Serialize>(payload: &T) -> Value {
    serde_json::to_value(payload).unwrap_or_default()
}

type CachedTarget = Option<(String, String, Arc<dyn ImportTarget>)>;

pub struct Core {
    data_dir: PathBuf,
    /// The SQLite inbox in the data dir, seen through the interface every workflow uses.
    inbox: Arc<dyn InboxStore>,
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
    /// Who acts, for the audit log: the OS account until Askara says who is signed in.
    who: Mutex<Identity>,
    /// The daily retention job (`app::retention`), started with the app.
    retention: Mutex<Option<app::retention::RetentionJob>>,
    /// The idle lock ([`lock`]): note commands refuse while it is on.
    idle: lock::LockKeeper,
}

impl Core {
    /// Who acts now (see `who`).
    pub(crate) fn who(&self) -> Identity {
        lock(&self.who).clone()
    }

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
        // The demo's inbox is synthetic and its data dir temporary: its key stays in a file
        // there and goes with it, instead of leaving a keyring entry behind every demo.
        let policy = match demo {
            Some(_) => app::inbox_key::KeyPolicy::File,
            None => app::inbox_key::KeyPolicy::KeyringElseFile,
        };
        let opened = app::inbox_key::open_inbox(&data_dir, policy)?;
        if let (Some(w), None) = (&opened.warning, &demo) {
            tracing::warn!("{w}");
        }
        let inbox: Arc<dyn InboxStore> = Arc::new(opened.inbox);
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
            idle: lock::LockKeeper::new(&data_dir, &settings, demo.is_some()),
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
            who: Mutex::new(Identity::from_os()),
            retention: Mutex::new(None),
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

    /// What closing the main window does: hide it to the tray (polling, notifications and
    /// imports go on), or quit.
    pub fn close_hides(&self) -> bool {
        lock(&self.settings).close_to_tray
    }
}
