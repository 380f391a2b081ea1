//! Clinic mode on a desk: the clinic's shared inbox on PostgreSQL (`inbox_pg::PgInbox`) in
//! place of this computer's own, chosen by the `inboxUrl` setting (or `--inbox` /
//! `ASKARA_INBOX_URL`, which win over it) and opened through `app::inbox_store`.
//!
//! - A desk never polls Askara: the clinic server's poller does, and publishes its status in
//!   the shared inbox. The status strip shows that status ([`app::sync::clinic_poller_status`],
//!   read every [`POLLER_STATUS_EVERY`] and at each sync-state change), with "the clinic
//!   server's sync is not running" once the poller stops writing ([`poller_stale`]).
//! - [`ClinicInbox`] is the store every workflow uses. It is connected at start; when the
//!   server does not answer then, the watcher connects it as soon as it does, and until then
//!   every call says the clinic server is unreachable (the window opens either way).
//! - The watcher ([`Watcher::try_once`], looped by `Core::watch_clinic`) listens for the
//!   server's change notifications and tells the window (`notes-changed`, a burst coalesced
//!   into one); when the connection is lost or cannot be made it says so in the strip, retries
//!   with [`backoff`], and once listening again has the window re-read everything (changes in
//!   between were missed).
//! - Whoever acts is the connected role (`OpenedStore::identity`): the server refuses any
//!   other audit actor.

#[allow(unused_imports)]
use super::*;
use app::inbox_store::{InboxLocation, OpenedStore};
use app::sync::ClinicPollerStatus;
use chrono::{DateTime, Utc};
use inbox::{
    AuditEvent, ImportAttempt, InboxError, IngestReport, ListQuery, NewAssignment, NoteRecord,
    NoteVersion, Origin, PatientAssignment, PatientFetch, PatientSummary, PruneReport,
    SearchResults, StatusChange,
};
use inbox_pg::{Change, PgInbox};
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a desk reads the clinic poller's status (besides at each sync-state change), so
/// the strip notices a poller that stopped writing.
pub const POLLER_STATUS_EVERY: Duration = Duration::from_secs(5);

/// A poller that has not written its status this long after it said it would poll next has
/// stopped (a long first sync of many notes writes nothing until it ends).
pub const STALE_GRACE: Duration = Duration::from_secs(300);

/// Changes arriving this soon after one are told to the window with it (one poll's notes
/// commit together and are announced one by one).
pub const COALESCE: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reach the clinic server again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wait before attempt `failures + 1`: 1 s, 2 s, 4 s, … up to [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

/// Whether `p` is stale at `now`: nothing written for `grace` after the poll it announced
/// (or after it wrote, when it announced none).
pub fn poller_stale(p: &ClinicPollerStatus, now: DateTime<Utc>, grace: Duration) -> bool {
    let announced = p
        .status
        .next_poll_at
        .and_then(|next| (next - p.written_at).to_std().ok())
        .unwrap_or_default();
    p.is_stale(now, announced + grace)
}

// ------------------------------------------------------------------------------------------
// The store

/// The clinic's shared inbox as this desk uses it: connected once (see the module), then
/// PgInbox's own pool reconnects by itself.
pub struct ClinicInbox {
    location: InboxLocation,
    data_dir: PathBuf,
    /// The server as shown (no password).
    display: String,
    pg: Mutex<Option<PgInbox>>,
    /// Why it is not connected yet (the last attempt's error).
    not_yet: Mutex<String>,
}

impl ClinicInbox {
    /// A clinic inbox at `location` (a [`InboxLocation::Clinic`]), connected now if the server
    /// answers; else the first error is kept and the watcher connects it later.
    pub(super) async fn open(location: InboxLocation, data_dir: &Path) -> ClinicInbox {
        let display = match &location {
            InboxLocation::Clinic { display, .. } => display.clone(),
            InboxLocation::Local { .. } => String::new(),
        };
        let inbox = ClinicInbox {
            location,
            data_dir: data_dir.to_path_buf(),
            display,
            pg: Mutex::new(None),
            not_yet: Mutex::new(String::new()),
        };
        if let Err(e) = inbox.connect().await {
            tracing::warn!(error = %e.message, "the clinic inbox is not reachable at start; retrying in the background");
        }
        inbox
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// The connected inbox, if it is.
    pub fn connected(&self) -> Option<PgInbox> {
        lock(&self.pg).clone()
    }

    /// The role this desk acts as, once connected.
    pub fn role(&self) -> Option<String> {
        self.connected().map(|pg| pg.role().to_string())
    }

    /// Connects if not yet connected (`app::inbox_store`: the password from the keyring, else
    /// `PGPASSWORD`).
    pub async fn connect(&self) -> Result<PgInbox, CmdError> {
        if let Some(pg) = self.connected() {
            return Ok(pg);
        }
        let opened: Result<OpenedStore, _> = self
            .location
            .open(&self.data_dir, app::inbox_key::KeyPolicy::KeyringElseFile)
            .await;
        match opened.map(|o| o.clinic) {
            Ok(Some(pg)) => {
                tracing::info!(role = pg.role(), "connected to the clinic inbox");
                *lock(&self.pg) = Some(pg.clone());
                Ok(pg)
            }
            Ok(None) => Err(CmdError::new("internal", "not a clinic inbox URL")),
            Err(e) => {
                let e = CmdError::from(e);
                *lock(&self.not_yet) = e.message.clone();
                Err(e)
            }
        }
    }

    fn pg(&self) -> Result<PgInbox, InboxError> {
        self.connected().ok_or_else(|| {
            let why = lock(&self.not_yet).clone();
            InboxError::Unreachable(if why.is_empty() {
                format!(
                    "not connected to the clinic inbox at {} yet; retrying",
                    self.display
                )
            } else {
                format!("not connected to the clinic inbox yet: {why}; retrying")
            })
        })
    }
}

#[async_trait::async_trait]
impl InboxStore for ClinicInbox {
    async fn ingest_from(
        &self,
        notes: Vec<askara::Note>,
        origin: Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError> {
        self.pg()?.ingest_from(notes, origin, sync_state).await
    }
    async fn sync_state(&self, key: &str) -> Result<Option<String>, InboxError> {
        self.pg()?.sync_state(key).await
    }
    async fn set_sync_state(&self, pairs: Vec<(String, String)>) -> Result<(), InboxError> {
        self.pg()?.set_sync_state(pairs).await
    }
    async fn list(&self, q: ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
        self.pg()?.list(q).await
    }
    async fn search_detailed(
        &self,
        text: &str,
        q: SearchQuery,
    ) -> Result<SearchResults, InboxError> {
        self.pg()?.search_detailed(text, q).await
    }
    async fn get(&self, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
        self.pg()?.get(uuid).await
    }
    async fn set_status(
        &self,
        uuid: &str,
        to: Status,
        actor: &str,
    ) -> Result<StatusChange, InboxError> {
        self.pg()?.set_status(uuid, to, actor).await
    }
    async fn set_statuses(
        &self,
        uuids: Vec<String>,
        to: Status,
        actor: &str,
    ) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError> {
        self.pg()?.set_statuses(uuids, to, actor).await
    }
    async fn note_facets(&self) -> Result<inbox::NoteFacets, InboxError> {
        self.pg()?.note_facets().await
    }
    async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        actor: &str,
    ) -> Result<usize, InboxError> {
        self.pg()?.record_imports(attempts, actor).await
    }
    async fn record_read(&self, uuid: &str, actor: &str) -> Result<bool, InboxError> {
        self.pg()?.record_read(uuid, actor).await
    }
    async fn record_bulk_read(&self, uuids: Vec<String>, actor: &str) -> Result<usize, InboxError> {
        self.pg()?.record_bulk_read(uuids, actor).await
    }
    async fn verify_audit(&self) -> Result<inbox::AuditCheck, InboxError> {
        self.pg()?.verify_audit().await
    }
    async fn audit_log(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, InboxError> {
        self.pg()?.audit_log(uuid, limit).await
    }
    async fn counts(&self) -> Result<BTreeMap<Status, u64>, InboxError> {
        self.pg()?.counts().await
    }
    async fn versions(&self, uuid: &str) -> Result<Vec<NoteVersion>, InboxError> {
        self.pg()?.versions(uuid).await
    }
    async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientSummary>, InboxError> {
        self.pg()?.patients(text, limit).await
    }
    async fn prune(&self, cutoff: DateTime<Utc>, actor: &str) -> Result<PruneReport, InboxError> {
        self.pg()?.prune(cutoff, actor).await
    }
    async fn patients_to_fetch(&self, limit: usize) -> Result<Vec<String>, InboxError> {
        self.pg()?.patients_to_fetch(limit).await
    }
    async fn record_patient_fetches(
        &self,
        results: Vec<(String, PatientFetch)>,
        at: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        self.pg()?.record_patient_fetches(results, at).await
    }
    async fn assign_patient(
        &self,
        uuid: &str,
        choice: NewAssignment,
        actor: &str,
    ) -> Result<PatientAssignment, InboxError> {
        self.pg()?.assign_patient(uuid, choice, actor).await
    }
    async fn unassign_patient(&self, uuid: &str, actor: &str) -> Result<bool, InboxError> {
        self.pg()?.unassign_patient(uuid, actor).await
    }
    async fn patient_assignment(
        &self,
        uuid: &str,
    ) -> Result<Option<PatientAssignment>, InboxError> {
        self.pg()?.patient_assignment(uuid).await
    }
    async fn patient_assignments(
        &self,
        uuids: Vec<String>,
    ) -> Result<Vec<PatientAssignment>, InboxError> {
        self.pg()?.patient_assignments(uuids).await
    }
    async fn needs_patient_count(&self) -> Result<u64, InboxError> {
        self.pg()?.needs_patient_count().await
    }
}

// ------------------------------------------------------------------------------------------
// The watcher

/// Where the watcher's changes come from: the clinic inbox (connected first if need be), or a
/// test's stand-in.
#[async_trait::async_trait]
pub trait ChangeSource: Send + Sync + 'static {
    async fn listen(&self) -> Result<Box<dyn ChangeStream>, CmdError>;
}

/// Changes as they commit; `None` once the connection is lost.
#[async_trait::async_trait]
pub trait ChangeStream: Send {
    async fn next(&mut self) -> Option<Change>;
}

#[async_trait::async_trait]
impl ChangeStream for inbox_pg::ChangeFeed {
    async fn next(&mut self) -> Option<Change> {
        inbox_pg::ChangeFeed::next(self).await
    }
}

#[async_trait::async_trait]
impl ChangeSource for Arc<ClinicInbox> {
    async fn listen(&self) -> Result<Box<dyn ChangeStream>, CmdError> {
        let pg = self.connect().await?;
        Ok(Box::new(pg.listen().await?))
    }
}

/// What one step of the watcher came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchOutcome {
    /// Listening (again): everything the window shows must be read again, since changes made
    /// while not listening were not announced.
    Listening,
    /// Changes committed: `notes` announcements of notes, and whether the sync state (the
    /// poller's status among it) changed.
    Changed { notes: usize, sync_state: bool },
    /// Not listening: the connection was lost or could not be made (`error`: why, with the
    /// code that tells an unreachable server from one that refuses); try again after
    /// `retry_in`.
    Lost { error: CmdError, retry_in: Duration },
}

/// Listens for the clinic inbox's changes, one [`Watcher::try_once`] at a time.
pub struct Watcher<S> {
    source: S,
    feed: Option<Box<dyn ChangeStream>>,
    failures: u32,
    coalesce: Duration,
}

impl<S: ChangeSource> Watcher<S> {
    pub fn new(source: S) -> Watcher<S> {
        Watcher {
            source,
            feed: None,
            failures: 0,
            coalesce: COALESCE,
        }
    }

    /// How long changes after a first one are gathered with it (tests).
    pub fn coalescing(mut self, window: Duration) -> Watcher<S> {
        self.coalesce = window;
        self
    }

    /// Not listening: listens. Listening: waits for the next change and gathers those that
    /// follow it within the coalescing window.
    pub async fn try_once(&mut self) -> WatchOutcome {
        let Some(feed) = self.feed.as_mut() else {
            return match self.source.listen().await {
                Ok(feed) => {
                    self.feed = Some(feed);
                    self.failures = 0;
                    WatchOutcome::Listening
                }
                Err(e) => {
                    self.failures += 1;
                    WatchOutcome::Lost {
                        error: e,
                        retry_in: backoff(self.failures),
                    }
                }
            };
        };
        let Some(first) = feed.next().await else {
            self.feed = None;
            self.failures = 1;
            return WatchOutcome::Lost {
                error: CmdError::new("unreachable", "the connection to the clinic inbox was lost"),
                retry_in: backoff(self.failures),
            };
        };
        let (mut notes, mut sync_state) = (0, false);
        let mut count = |c: Change| match c.uuid {
            Some(_) => notes += 1,
            None => sync_state = true,
        };
        count(first);
        let until = tokio::time::Instant::now() + self.coalesce;
        loop {
            match tokio::time::timeout_at(until, feed.next()).await {
                Ok(Some(c)) => count(c),
                // Lost while gathering: these are told now, the next step listens again (and
                // has everything read again).
                Ok(None) => {
                    self.feed = None;
                    break;
                }
                Err(_) => break,
            }
        }
        WatchOutcome::Changed { notes, sync_state }
    }
}

// ------------------------------------------------------------------------------------------
// The desk's clinic state

/// What the core keeps in clinic mode.
pub(super) struct Clinic {
    pub(super) inbox: Arc<ClinicInbox>,
    /// Not listening: why, and when the watcher tries again.
    lost: Mutex<Option<(CmdError, DateTime<Utc>)>>,
    /// The poller's status as last read from the shared inbox.
    poller: Mutex<Option<ClinicPollerStatus>>,
    /// The status last sent to the window (the periodic read sends only a change).
    shown: Mutex<Option<StatusView>>,
    /// The watcher and the poller-status reader.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    clock: Mutex<askara::SharedClock>,
    stale_grace: Duration,
}

impl Clinic {
    pub(super) fn new(inbox: ClinicInbox) -> Clinic {
        Clinic {
            inbox: Arc::new(inbox),
            lost: Mutex::new(None),
            poller: Mutex::new(None),
            shown: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
            clock: Mutex::new(Arc::new(SystemClock)),
            stale_grace: STALE_GRACE,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        lock(&self.clock).now()
    }

    /// Records `view` as the one the window has; `false` when it already had it.
    pub(super) fn record_shown(&self, view: &StatusView) -> bool {
        let mut shown = lock(&self.shown);
        if shown.as_ref() == Some(view) {
            return false;
        }
        *shown = Some(view.clone());
        true
    }

    pub(super) fn stop(&self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

impl Drop for Clinic {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the status strip shows in clinic mode, from the desk's state at `now`.
pub(crate) struct ClinicStatus {
    pub view: status::ClinicView,
    pub problem: Option<Problem>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_new: usize,
}

/// The strip's clinic part: the poller's last sync and next poll, and the first problem of:
/// this desk cannot reach the server, the poller stopped writing, no poller ever wrote, the
/// poller's own problem.
pub(crate) fn clinic_status(
    server: &str,
    role: Option<String>,
    lost: Option<(CmdError, DateTime<Utc>)>,
    poller: Option<&ClinicPollerStatus>,
    now: DateTime<Utc>,
    grace: Duration,
) -> ClinicStatus {
    let stale = poller.is_some_and(|p| poller_stale(p, now, grace));
    let problem = if let Some((error, retry_at)) = &lost {
        Some(status::clinic_unreachable(
            &error.code,
            &error.message,
            *retry_at,
        ))
    } else if stale {
        poller.map(|p| status::clinic_sync_stopped(&p.poller))
    } else if let Some(p) = poller {
        status::clinic_poller_problem(&p.status)
    } else if role.is_some() {
        Some(status::clinic_no_poller())
    } else {
        None
    };
    let s = poller.map(|p| &p.status);
    ClinicStatus {
        view: status::ClinicView {
            server: server.to_string(),
            role,
            connected: lost.is_none(),
            poller: poller.map(|p| p.poller.clone()),
            poller_written_at: poller.map(|p| p.written_at),
            stale,
        },
        problem,
        last_sync_at: s.and_then(|s| s.last_success_at),
        next_poll_at: s.and_then(|s| s.next_poll_at).filter(|_| !stale),
        last_new: s.and_then(|s| s.last_report.as_ref()).map_or(0, |r| r.new),
    }
}

impl Core {
    /// The clinic's shared inbox, when this desk works in one.
    pub(super) fn clinic(&self) -> Option<&Clinic> {
        self.clinic.as_ref()
    }

    /// Whether this desk works in a clinic's shared inbox.
    pub fn is_clinic(&self) -> bool {
        self.clinic.is_some()
    }

    /// Clinic mode's start: the watcher and the poller-status reader (no poller, no retention:
    /// both are the clinic server's).
    pub(super) fn start_clinic(self: &Arc<Self>) {
        let Some(clinic) = self.clinic() else { return };
        let source = clinic.inbox.clone();
        let me = Arc::downgrade(self);
        let watcher = tokio::spawn(async move {
            let mut w = Watcher::new(source);
            loop {
                let outcome = w.try_once().await;
                let Some(core) = me.upgrade() else { return };
                let wait = core.on_watch(outcome).await;
                drop(core);
                if let Some(wait) = wait {
                    tokio::time::sleep(wait).await;
                }
            }
        });
        let me = Arc::downgrade(self);
        let reader = tokio::spawn(async move {
            loop {
                tokio::time::sleep(POLLER_STATUS_EVERY).await;
                let Some(core) = me.upgrade() else { return };
                core.read_poller_status().await;
                core.publish_status_if_changed().await;
            }
        });
        lock(&clinic.tasks).extend([watcher, reader]);
    }

    /// Acts on one step of the watcher; `Some(wait)` before the next.
    pub(super) async fn on_watch(&self, outcome: WatchOutcome) -> Option<Duration> {
        let clinic = self.clinic()?;
        match outcome {
            WatchOutcome::Listening => {
                let was_lost = lock(&clinic.lost).take().is_some();
                if was_lost {
                    tracing::info!("listening to the clinic inbox again");
                }
                self.read_poller_status().await;
                self.publish_status().await;
                self.notes_changed("reconnected").await;
                None
            }
            WatchOutcome::Changed { notes, sync_state } => {
                if sync_state {
                    self.read_poller_status().await;
                    self.publish_status_if_changed().await;
                }
                if notes > 0 {
                    self.notes_changed("clinic").await;
                }
                None
            }
            WatchOutcome::Lost { error, retry_in } => {
                tracing::warn!(error = %error.message, retry_in_secs = retry_in.as_secs(), "not listening to the clinic inbox");
                let retry_at =
                    clinic.now() + chrono::Duration::from_std(retry_in).unwrap_or_default();
                *lock(&clinic.lost) = Some((error, retry_at));
                self.publish_status().await;
                Some(retry_in)
            }
        }
    }

    /// Reads the clinic poller's status from the shared inbox (kept as it was when the read
    /// fails: the watcher says the server is unreachable). A poll it finished since the last
    /// read that brought notes is a desktop notification (counts only; the first is the
    /// catch-up, shown by the window and not notified).
    pub(super) async fn read_poller_status(&self) {
        let Some(clinic) = self.clinic() else { return };
        let read = match app::sync::clinic_poller_status(clinic.inbox.as_ref()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the clinic poller's status");
                return;
            }
        };
        let polled =
            |p: &Option<ClinicPollerStatus>| p.as_ref().and_then(|p| p.status.last_success_at);
        let arrived = {
            let mut kept = lock(&clinic.poller);
            let new_poll = polled(&read).is_some() && polled(&read) != polled(&kept);
            let report = read
                .as_ref()
                .filter(|p| p.status.error_code.is_none())
                .and_then(|p| p.status.last_report.clone());
            *kept = read;
            report.filter(|_| new_poll)
        };
        if let Some(r) = arrived {
            self.notify_arrivals(r.new, r.revised);
        }
    }

    /// The strip's clinic part now.
    pub(super) fn clinic_status(&self) -> Option<ClinicStatus> {
        let clinic = self.clinic()?;
        let poller = lock(&clinic.poller).clone();
        Some(clinic_status(
            clinic.inbox.display(),
            clinic.inbox.role(),
            lock(&clinic.lost).clone(),
            poller.as_ref(),
            clinic.now(),
            clinic.stale_grace,
        ))
    }

    /// Sends the status unless the window already has this one.
    pub(super) async fn publish_status_if_changed(&self) {
        let view = self.status_view().await;
        if self.clinic().is_some_and(|c| c.record_shown(&view)) {
            self.shell.emit("sync-status", event_json(&view));
        }
    }

    /// "Test connection" for where the inbox is: opens it (with `password` if given, else as
    /// the app would) and reads its counts, in one line.
    pub async fn test_inbox_connection(
        &self,
        url: String,
        password: Option<String>,
    ) -> Result<Check, CmdError> {
        self.unlocked()?;
        let location = match InboxLocation::parse(Some(&url)) {
            Ok(l) => l,
            Err(e) => {
                return Ok(Check {
                    ok: false,
                    message: CmdError::from(e).message,
                })
            }
        };
        let location = match location {
            InboxLocation::Clinic { mut spec, display } => {
                if let Some(pw) = password.filter(|p| !p.is_empty()) {
                    spec.password = Some(import::Password::new(pw));
                }
                InboxLocation::Clinic { spec, display }
            }
            InboxLocation::Local { .. } => {
                return Ok(Check {
                    ok: true,
                    message: format!(
                        "The inbox is on this computer: {}",
                        location.describe(&self.data_dir)
                    ),
                })
            }
        };
        let opened = location
            .open(&self.data_dir, app::inbox_key::KeyPolicy::KeyringElseFile)
            .await;
        let checked = match opened {
            Ok(o) => match o.store.counts().await {
                Ok(_) => Ok(o),
                Err(e) => Err(CmdError::from(e)),
            },
            Err(e) => Err(CmdError::from(e)),
        };
        Ok(match checked {
            Ok(o) => Check {
                ok: true,
                message: format!(
                    "Connected to {} as {}",
                    location.describe(&self.data_dir),
                    o.clinic_role().unwrap_or_default()
                ),
            },
            Err(e) => Check {
                ok: false,
                message: e.message,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use inbox::sync::{PollReport, SyncStatus};
    use std::collections::VecDeque;
    use tokio::sync::mpsc;

    /// Listens as scripted: each attempt takes the next answer (an error, or a feed whose
    /// sender the test holds).
    #[derive(Default, Clone)]
    struct Script(Arc<Mutex<VecDeque<Scripted>>>);

    /// One scripted attempt to listen: refused with a message, or a feed.
    type Scripted = Result<mpsc::UnboundedReceiver<Change>, String>;

    struct Fed(mpsc::UnboundedReceiver<Change>);

    #[async_trait::async_trait]
    impl ChangeStream for Fed {
        async fn next(&mut self) -> Option<Change> {
            self.0.recv().await
        }
    }

    #[async_trait::async_trait]
    impl ChangeSource for Script {
        async fn listen(&self) -> Result<Box<dyn ChangeStream>, CmdError> {
            match lock(&self.0).pop_front() {
                Some(Ok(rx)) => Ok(Box::new(Fed(rx))),
                Some(Err(e)) => Err(CmdError::new("busy", e)),
                None => Err(CmdError::new("busy", "nothing scripted")),
            }
        }
    }

    impl Script {
        fn fails(&self, why: &str) {
            lock(&self.0).push_back(Err(why.into()));
        }
        fn feed(&self) -> mpsc::UnboundedSender<Change> {
            let (tx, rx) = mpsc::unbounded_channel();
            lock(&self.0).push_back(Ok(rx));
            tx
        }
    }

    fn note(uuid: &str) -> Change {
        Change {
            uuid: Some(uuid.into()),
        }
    }

    const SYNC_STATE: Change = Change { uuid: None };

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[tokio::test]
    async fn a_server_that_does_not_answer_is_retried_with_growing_waits() {
        let script = Script::default();
        script.fails("the clinic inbox at postgres://db/askara did not answer");
        script.fails("still down");
        let mut w = Watcher::new(script.clone());
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Lost {
                error: CmdError::new(
                    "busy",
                    "the clinic inbox at postgres://db/askara did not answer"
                ),
                retry_in: Duration::from_secs(1),
            }
        );
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Lost {
                error: CmdError::new("busy", "still down"),
                retry_in: Duration::from_secs(2),
            }
        );
        let _tx = script.feed();
        assert_eq!(w.try_once().await, WatchOutcome::Listening);
    }

    #[tokio::test]
    async fn a_burst_of_changes_is_told_once() {
        let script = Script::default();
        let tx = script.feed();
        let mut w = Watcher::new(script.clone()).coalescing(Duration::from_millis(200));
        assert_eq!(w.try_once().await, WatchOutcome::Listening);
        for c in [note("n-1"), note("n-2"), SYNC_STATE, note("n-3")] {
            tx.send(c).unwrap();
        }
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Changed {
                notes: 3,
                sync_state: true
            }
        );
        // One change on its own is told on its own, after the window.
        tx.send(note("n-4")).unwrap();
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Changed {
                notes: 1,
                sync_state: false
            }
        );
        tx.send(SYNC_STATE).unwrap();
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Changed {
                notes: 0,
                sync_state: true
            }
        );
    }

    #[tokio::test]
    async fn a_lost_connection_is_said_then_listened_again_from_scratch() {
        let script = Script::default();
        let tx = script.feed();
        let mut w = Watcher::new(script.clone());
        assert_eq!(w.try_once().await, WatchOutcome::Listening);
        drop(tx);
        let WatchOutcome::Lost { error, retry_in } = w.try_once().await else {
            panic!("the feed ended")
        };
        assert!(error.message.contains("lost"), "{}", error.message);
        assert_eq!(error.code, "unreachable");
        assert_eq!(retry_in, Duration::from_secs(1));
        // Down for a while: the waits grow from the loss.
        script.fails("refused");
        assert!(matches!(
            w.try_once().await,
            WatchOutcome::Lost { retry_in, .. } if retry_in == Duration::from_secs(2)
        ));
        // Back: listening again (the core then has everything read again), and the waits
        // start over at the next loss.
        let tx = script.feed();
        assert_eq!(w.try_once().await, WatchOutcome::Listening);
        tx.send(note("n-9")).unwrap();
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Changed {
                notes: 1,
                sync_state: false
            }
        );
        drop(tx);
        assert!(matches!(
            w.try_once().await,
            WatchOutcome::Lost { retry_in, .. } if retry_in == Duration::from_secs(1)
        ));
    }

    #[tokio::test]
    async fn a_loss_in_the_middle_of_a_burst_tells_the_burst_and_listens_again() {
        let script = Script::default();
        let tx = script.feed();
        let mut w = Watcher::new(script.clone()).coalescing(Duration::from_secs(5));
        assert_eq!(w.try_once().await, WatchOutcome::Listening);
        tx.send(note("n-1")).unwrap();
        drop(tx);
        assert_eq!(
            w.try_once().await,
            WatchOutcome::Changed {
                notes: 1,
                sync_state: false
            }
        );
        let _tx = script.feed();
        assert_eq!(w.try_once().await, WatchOutcome::Listening);
    }

    #[derive(Default)]
    struct Shown {
        events: Mutex<Vec<(String, Value)>>,
        restarts: Mutex<usize>,
    }
    impl Shell for Shown {
        fn emit(&self, event: &str, payload: Value) {
            lock(&self.events).push((event.to_string(), payload));
        }
        fn set_title(&self, _: &str) {}
        fn notify(&self, _: &crate::notify::Notification) {}
        fn restart(&self) {
            *lock(&self.restarts) += 1;
        }
    }
    impl Shown {
        fn last(&self, event: &str) -> Option<Value> {
            lock(&self.events)
                .iter()
                .rev()
                .find(|(e, _)| e == event)
                .map(|(_, p)| p.clone())
        }
    }

    /// Nothing listens on port 1 of loopback: refused at once.
    const DOWN: &str = "postgres://reception@127.0.0.1:1/askara?sslmode=disable";

    #[tokio::test]
    async fn a_desk_whose_clinic_server_is_down_still_opens_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let shell = Arc::new(Shown::default());
        let over = InboxOverride {
            url: DOWN.into(),
            from: "ASKARA_INBOX_URL".into(),
        };
        let core = Core::open_at(dir.path().to_path_buf(), Some(over), shell.clone())
            .await
            .unwrap();
        assert!(core.is_clinic());
        let info = core.info();
        assert!(info.clinic);
        assert_eq!(info.inbox_set_by.as_deref(), Some("ASKARA_INBOX_URL"));
        // Every note command says the server is not reached yet, in words.
        let e = core.counts().await.unwrap_err();
        assert!(
            e.message.contains("not connected to the clinic inbox yet"),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\n'), "{}", e.message);

        // The watcher's failure reaches the strip, with when it retries; never a sign-in.
        let wait = core
            .on_watch(WatchOutcome::Lost {
                error: CmdError::new("busy", "the clinic inbox at 127.0.0.1 did not answer"),
                retry_in: Duration::from_secs(4),
            })
            .await;
        assert_eq!(wait, Some(Duration::from_secs(4)));
        let status = shell.last("sync-status").unwrap();
        assert_eq!(status["problem"]["code"], "clinic_unreachable");
        assert!(status["problem"]["until"].is_string());
        assert_eq!(status["clinic"]["connected"], false);
        assert_eq!(
            status["clinic"]["server"],
            "postgres://reception@127.0.0.1:1/askara?sslmode=disable"
        );
        assert_eq!(status["signedIn"], false);
        // Listening again: the strip clears and the window reads everything again.
        assert_eq!(core.on_watch(WatchOutcome::Listening).await, None);
        let status = core.status_view().await;
        assert!(status.clinic.unwrap().connected);
        assert_eq!(
            shell.last("notes-changed").unwrap()["reason"],
            "reconnected"
        );
        // No poller runs on a desk, and "Sync now" reads again instead of polling.
        core.sync_now().await.unwrap();
        assert!(lock(&core.sync).is_none());
    }

    #[tokio::test]
    async fn choosing_a_clinic_server_in_settings_restarts_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let shell = Arc::new(Shown::default());
        let core = Core::open(dir.path().to_path_buf(), shell.clone())
            .await
            .unwrap();
        assert!(!core.is_clinic());
        let mut s = core.settings();
        // A password for this computer's inbox means nothing: refused, nothing saved.
        let e = core
            .save_settings(s.clone(), None, Some("pw".into()))
            .await
            .unwrap_err();
        assert_eq!(e.code, "config");
        // A password in the URL: refused by the settings' rules, never echoed.
        s.inbox_url = "postgres://reception:s3cret@db.clinic.example/askara".into();
        let e = core.save_settings(s.clone(), None, None).await.unwrap_err();
        assert!(!e.message.contains("s3cret"), "{}", e.message);
        assert_eq!(*lock(&shell.restarts), 0);

        // Another setting: no restart.
        s.inbox_url.clear();
        s.interval_secs = 60;
        core.save_settings(s.clone(), None, None).await.unwrap();
        assert_eq!(*lock(&shell.restarts), 0);
        // Where the inbox is: saved, then the app restarts to open it.
        s.inbox_url = DOWN.into();
        core.save_settings(s.clone(), None, None).await.unwrap();
        assert_eq!(*lock(&shell.restarts), 1);
        let (saved, _) = Settings::load(dir.path()).unwrap();
        assert_eq!(saved.inbox_url, DOWN);
        drop(core);
        let again = Core::open(dir.path().to_path_buf(), shell.clone())
            .await
            .unwrap();
        assert!(again.is_clinic(), "the next start opens the clinic inbox");
        // "Test connection" answers in one line, for the URL typed.
        let check = again
            .test_inbox_connection(DOWN.into(), None)
            .await
            .unwrap();
        assert!(!check.ok);
        assert!(!check.message.contains('\n'), "{}", check.message);
        let check = again
            .test_inbox_connection("postgres://x:pw@db/askara".into(), None)
            .await
            .unwrap();
        assert!(
            !check.ok && check.message.contains("password"),
            "{}",
            check.message
        );
        let here = again
            .test_inbox_connection(String::new(), None)
            .await
            .unwrap();
        assert!(
            here.ok && here.message.contains("this computer"),
            "{}",
            here.message
        );
    }

    fn published(
        at: DateTime<Utc>,
        next_in: Option<i64>,
        error: Option<&str>,
    ) -> ClinicPollerStatus {
        ClinicPollerStatus {
            status: SyncStatus {
                last_success_at: Some(at),
                next_poll_at: next_in.map(|s| at + chrono::Duration::seconds(s)),
                last_report: Some(PollReport {
                    new: 2,
                    ..Default::default()
                }),
                error_code: error.map(str::to_string),
                error_message: error.map(|_| "detail".to_string()),
                consecutive_failures: 0,
            },
            poller: "askara_poller@clinic-server".into(),
            written_at: at,
        }
    }

    const GRACE: Duration = Duration::from_secs(300);

    #[test]
    fn the_strip_shows_the_pollers_sync_and_says_when_it_stopped() {
        let t0 = chrono::Utc::now();
        let p = published(t0, Some(45), None);
        let role = Some("reception".to_string());
        let at = |secs: i64| t0 + chrono::Duration::seconds(secs);

        let s = clinic_status(
            "postgres://db/askara",
            role.clone(),
            None,
            Some(&p),
            at(10),
            GRACE,
        );
        assert!(s.problem.is_none());
        assert_eq!(s.last_sync_at, Some(t0));
        assert_eq!(s.next_poll_at, Some(at(45)));
        assert_eq!(s.last_new, 2);
        assert!(s.view.connected && !s.view.stale);
        assert_eq!(
            s.view.poller.as_deref(),
            Some("askara_poller@clinic-server")
        );
        assert_eq!(s.view.role.as_deref(), Some("reception"));

        // Not stale until the grace after the announced poll is over.
        assert!(
            !clinic_status("s", role.clone(), None, Some(&p), at(45 + 300), GRACE)
                .view
                .stale
        );
        let s = clinic_status("s", role.clone(), None, Some(&p), at(45 + 301), GRACE);
        assert!(s.view.stale);
        let problem = s.problem.unwrap();
        assert_eq!(problem.code, "clinic_sync_stopped");
        assert!(
            problem.summary.contains("sync is not running"),
            "{}",
            problem.summary
        );
        assert!(problem.summary.contains("askara_poller@clinic-server"));
        assert_eq!(
            s.next_poll_at, None,
            "no next poll is promised by a stopped poller"
        );
        assert_eq!(s.last_sync_at, Some(t0), "the last sync is still said");
        // Without an announced poll, the grace runs from the write.
        let quiet = published(t0, None, None);
        assert!(
            clinic_status("s", role.clone(), None, Some(&quiet), at(301), GRACE)
                .view
                .stale
        );
    }

    #[test]
    fn the_desks_own_trouble_comes_before_the_pollers() {
        let t0 = chrono::Utc::now();
        let retry = t0 + chrono::Duration::seconds(4);
        let failing = published(t0, Some(45), Some("auth_expired"));
        let lost = Some((
            CmdError::new(
                "busy",
                "the clinic inbox at postgres://db/askara stopped answering",
            ),
            retry,
        ));
        let s = clinic_status(
            "postgres://db/askara",
            None,
            lost,
            Some(&failing),
            t0,
            GRACE,
        );
        assert!(!s.view.connected);
        let p = s.problem.unwrap();
        assert_eq!(p.code, "clinic_unreachable");
        assert!(p.summary.starts_with("The clinic server is unreachable: the clinic inbox at postgres://db/askara stopped answering"), "{}", p.summary);
        assert!(p.fix.contains("ask IT"), "{}", p.fix);
        // The strip says "retrying in N s" from `until`.
        assert_eq!(p.until, Some(retry));

        // A server that answers but refuses this desk (password, rights, no inbox there) is
        // not "unreachable": the fix is in Settings or with IT.
        let refused = Some((
            CmdError::new(
                "database",
                "the clinic inbox at postgres://db/askara refused this role while reading: ask IT to make it a member of askara_inbox_staff",
            ),
            retry,
        ));
        let p = clinic_status("s", None, refused, None, t0, GRACE)
            .problem
            .unwrap();
        assert_eq!(p.code, "clinic_refused");
        assert!(
            p.summary
                .starts_with("The clinic inbox cannot be opened: the clinic inbox at"),
            "{}",
            p.summary
        );
        assert!(p.fix.contains("Settings"), "{}", p.fix);
        assert_eq!(p.until, Some(retry));

        // Reachable: the poller's own problem, as the clinic server's, and not this desk's
        // sign-in to fix.
        let s = clinic_status(
            "s",
            Some("reception".into()),
            None,
            Some(&failing),
            t0,
            GRACE,
        );
        let p = s.problem.unwrap();
        assert_eq!(p.code, "auth_expired");
        assert!(
            p.summary.starts_with("The clinic server's sync"),
            "{}",
            p.summary
        );
        assert!(!p.needs_sign_in);
        assert!(p.fix.contains("clinic server"), "{}", p.fix);

        // Connected, and no poller ever wrote.
        let s = clinic_status("s", Some("reception".into()), None, None, t0, GRACE);
        assert_eq!(s.problem.unwrap().code, "clinic_no_poller");
        assert_eq!(s.last_sync_at, None);
    }
}
