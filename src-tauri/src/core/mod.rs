//! The desktop's state and behaviour, free of Tauri: commands are one-line adapters over these
//! methods, and the shell (window title, events) is a trait, so this runs in tests without a
//! window. Logs and events never carry note content or patient names.
//!
//! One file per concern: [`demo`], [`sync`] (polling, status, quitting), [`sign_in`],
//! [`notes`] (lists, review, import), [`reading`] (a note's history), [`settings`], [`lock`]
//! (the idle lock) and [`clinic`] (a clinic's shared inbox: no poller, a watcher instead).

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
pub mod clinic;
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
    /// Working in a clinic's shared inbox (clinic mode) rather than this computer's.
    pub clinic: bool,
    /// What chose where the inbox is instead of the setting (`--inbox`, `ASKARA_INBOX_URL`);
    /// `None`: the setting did. Settings then shows it read-only.
    pub inbox_set_by: Option<String>,
}

/// Where the inbox is when something other than the setting says so: the URL and what gave
/// it (`--inbox` or `ASKARA_INBOX_URL`), as the CLI takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxOverride {
    pub url: String,
    pub from: String,
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

/// The inbox opened for [`Core::build`].
enum Opened {
    Local(Arc<inbox::Inbox>),
    Clinic(clinic::ClinicInbox),
}

pub struct Core {
    data_dir: PathBuf,
    /// The inbox, seen through the interface every workflow uses: this computer's (SQLite, in
    /// the data dir) or, in clinic mode, the clinic's shared one ([`clinic::ClinicInbox`]).
    inbox: Arc<dyn InboxStore>,
    /// Clinic mode: the shared inbox's watcher and its poller's status.
    clinic: Option<clinic::Clinic>,
    /// What set where the inbox is instead of the setting.
    inbox_set_by: Option<String>,
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
    /// Who acts now (see `who`); in clinic mode the connected role, which the server's audit
    /// trigger requires.
    pub(crate) fn who(&self) -> Identity {
        if let Some(role) = self.clinic().and_then(|c| c.inbox.role()) {
            return Identity::clinic_role(&role);
        }
        lock(&self.who).clone()
    }

    /// Opens the inbox the settings say, in `data_dir` (call once at startup).
    pub async fn open(data_dir: PathBuf, shell: Arc<dyn Shell>) -> Result<Arc<Core>, CmdError> {
        Self::open_at(data_dir, None, shell).await
    }

    /// [`Core::open`], with the inbox `inbox` names instead of the setting's (`--inbox`,
    /// `ASKARA_INBOX_URL`). A clinic server that does not answer does not stop the start: the
    /// window opens, says so, and the inbox comes as soon as the server answers.
    pub async fn open_at(
        data_dir: PathBuf,
        inbox: Option<InboxOverride>,
        shell: Arc<dyn Shell>,
    ) -> Result<Arc<Core>, CmdError> {
        std::fs::create_dir_all(&data_dir).map_err(|e| {
            CmdError::new(
                "io",
                format!("cannot create the data folder {}: {e}", data_dir.display()),
            )
        })?;
        let (settings, existed) = Settings::load(&data_dir)?;
        let location = match &inbox {
            Some(o) => app::inbox_store::InboxLocation::parse(Some(&o.url)).map_err(|e| {
                let e = CmdError::from(e);
                CmdError::new(e.code, format!("{}: {}", o.from, e.message))
            })?,
            None => settings.inbox_location()?,
        };
        let store = match location {
            app::inbox_store::InboxLocation::Local { .. } => {
                let opened = location
                    .open(&data_dir, app::inbox_key::KeyPolicy::KeyringElseFile)
                    .await?;
                if let Some(w) = &opened.warning {
                    tracing::warn!("{w}");
                }
                Opened::Local(Arc::new(opened.local.ok_or_else(|| {
                    CmdError::new("internal", "the local inbox did not open")
                })?))
            }
            clinic => Opened::Clinic(clinic::ClinicInbox::open(clinic, &data_dir).await),
        };
        Self::build(
            data_dir,
            settings,
            !existed,
            None,
            Some(store),
            inbox.map(|o| o.from),
            shell,
        )
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
        Self::build(data_dir, settings, false, Some(demo), None, None, shell)
    }

    fn build(
        data_dir: PathBuf,
        settings: Settings,
        first_run: bool,
        demo: Option<Demo>,
        opened: Option<Opened>,
        inbox_set_by: Option<String>,
        shell: Arc<dyn Shell>,
    ) -> Result<Arc<Core>, CmdError> {
        let opened = match opened {
            Some(o) => o,
            None => {
                // The demo's inbox is synthetic and its data dir temporary: its key stays in a
                // file there and goes with it, instead of leaving a keyring entry behind every
                // demo.
                let opened =
                    app::inbox_key::open_inbox(&data_dir, app::inbox_key::KeyPolicy::File)?;
                Opened::Local(Arc::new(opened.inbox))
            }
        };
        let (inbox, clinic): (Arc<dyn InboxStore>, _) = match opened {
            Opened::Local(inbox) => (inbox, None),
            Opened::Clinic(c) => {
                let c = clinic::Clinic::new(c);
                (c.inbox.clone(), Some(c))
            }
        };
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
            clinic,
            inbox_set_by,
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
            clinic: self.clinic.is_some(),
            inbox_set_by: self.inbox_set_by.clone(),
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
