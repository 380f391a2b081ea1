//! The poller. It never trusts one filter or one page boundary (askara-api.md): pages are read
//! oldest first, the watermark's own second is re-read on every poll, everything goes through
//! the one idempotent ingest keyed by uuid, and the watermark moves in the same transaction as
//! the page it describes, so a killed sync resumes without loss or duplicates.

use crate::{InboxError, InboxStore, IngestReport, Origin, Source};
use askara::{ApiClient, ApiError, ErrorCode, Note, SharedClock};
use chrono::{DateTime, SubsecRound, Utc};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod patients;
mod walk;

pub use patients::{fetch_patients, PatientFetchReport, PATIENTS_PER_POLL};

pub const CREATED_WATERMARK: &str = "poll.created_watermark";
pub const UPDATED_WATERMARK: &str = "poll.updated_watermark";
pub const LAST_REVISION_PASS: &str = "poll.last_revision_pass";

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub page_size: usize,
    /// Re-read this much before the watermark's own second.
    pub overlap: Duration,
    /// The guide recommends 30–60 s: 45 s ± a third.
    pub interval: Duration,
    pub jitter: f64,
    /// How often the slower pass for revised notes runs.
    pub revision_interval: Duration,
    /// How far back the revision pass re-reads when the server ignores `updatedAt` filters.
    pub revision_lookback: chrono::Duration,
    pub created_filter: String,
    pub updated_filter: String,
    /// While Askara fails, wait at most this long between attempts.
    pub max_backoff: Duration,
    pub seed: Option<u64>,
    /// Patients read from `GET /patients/{uuid}` after each poll, at most (0: none).
    pub patients_per_poll: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            page_size: 100,
            // Covers notes that become visible a little after later ones (commit lag on
            // Askara's side) at the cost of re-reading a few recent notes per poll.
            overlap: Duration::from_secs(10),
            interval: Duration::from_secs(45),
            jitter: 1.0 / 3.0,
            revision_interval: Duration::from_secs(300),
            revision_lookback: chrono::Duration::days(7),
            created_filter: "createdAt[after]".into(),
            updated_filter: "updatedAt[after]".into(),
            max_backoff: Duration::from_secs(900),
            seed: None,
            patients_per_poll: PATIENTS_PER_POLL,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Inbox(#[from] InboxError),
    #[error(transparent)]
    Incomplete(#[from] Incomplete),
}

/// Why a poll could not read Askara's notes to the end. Nothing read before is lost; the
/// notes beyond are not in the inbox, and the error says so instead of reporting success.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Incomplete {
    #[error("Askara answered page {page} of the notes with notes already read on an earlier page: the server ignores the `page` parameter, so notes beyond one page cannot be read (the sync stopped rather than miss them); report this to Askara support or whoever runs the proxy in front of it")]
    PageIgnored { page: usize },
    #[error("Askara kept sending new pages of notes after {pages} pages; the sync stopped (notes not read yet are not in the inbox); try again, and report it to Askara support if it repeats")]
    TooManyPages { pages: usize },
    #[error("{count} note(s) Askara sent could not be read and are not in the inbox (ASKARA_LOG=warn shows which); report it to Askara support")]
    Unreadable { count: usize },
}

impl SyncError {
    /// The code the UI and CLI branch on (Askara's codes, `inbox` for local storage, or
    /// `incomplete` when the notes could not be read to the end).
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Api(e) => e.code().as_str(),
            SyncError::Inbox(_) => "inbox",
            SyncError::Incomplete(_) => "incomplete",
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PollReport {
    pub new: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub pages: usize,
    pub requests: u64,
    pub revision_pass: bool,
    /// Set when the server returned notes outside the filter we sent.
    pub filter_ignored: bool,
    /// Notes in pages that could not be read as notes (logged; not in the inbox).
    pub unreadable: usize,
    /// The most notes the server was seen to put on a page that was not its last.
    pub server_page_size: Option<usize>,
    /// Patients read after the notes were stored (their requests are not in `requests`).
    pub patients: PatientFetchReport,
}

impl PollReport {
    fn absorb(&mut self, other: &PollReport) {
        self.new += other.new;
        self.revised += other.revised;
        self.unchanged += other.unchanged;
        self.pages += other.pages;
        self.unreadable += other.unreadable;
    }

    fn add(&mut self, r: &IngestReport) {
        self.new += r.inserted.len();
        self.revised += r.revised.len();
        self.unchanged += r.unchanged + r.stale;
    }
}

/// The sync state the UI's status strip shows.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SyncStatus {
    pub last_success_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_report: Option<PollReport>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub consecutive_failures: u32,
}

pub struct Poller {
    api: Arc<ApiClient>,
    inbox: Arc<dyn InboxStore>,
    cfg: SyncConfig,
    clock: SharedClock,
    rng: rand::rngs::StdRng,
    failures: u32,
    /// The server's page size as learned from full pages (0: not learned yet).
    server_page: AtomicUsize,
}

impl Poller {
    /// A poller into `inbox` (the SQLite `Inbox`, or any other [`InboxStore`]).
    pub fn new(
        api: Arc<ApiClient>,
        inbox: impl InboxStore + 'static,
        cfg: SyncConfig,
        clock: SharedClock,
    ) -> Self {
        Self::with_store(api, Arc::new(inbox), cfg, clock)
    }

    pub fn with_store(
        api: Arc<ApiClient>,
        inbox: Arc<dyn InboxStore>,
        cfg: SyncConfig,
        clock: SharedClock,
    ) -> Self {
        let rng = match cfg.seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s),
            None => rand::rngs::StdRng::from_os_rng(),
        };
        Poller {
            api,
            inbox,
            cfg,
            clock,
            rng,
            failures: 0,
            server_page: AtomicUsize::new(0),
        }
    }

    pub fn api(&self) -> &Arc<ApiClient> {
        &self.api
    }

    /// One poll: the catch-up by `createdAt`, then the revision pass when it is due.
    pub async fn try_once(&mut self) -> Result<PollReport, SyncError> {
        self.poll(false).await
    }

    /// A one-shot sync (`sync --once`): the catch-up and always the revision pass, because a
    /// script running it every few minutes expects revisions too.
    pub async fn try_full(&mut self) -> Result<PollReport, SyncError> {
        self.poll(true).await
    }

    async fn poll(&mut self, force_revisions: bool) -> Result<PollReport, SyncError> {
        let before = self.api.requests_sent();
        let started = self.clock.now();
        let mut report = PollReport::default();
        let first_sync = self.read_instant(CREATED_WATERMARK).await?.is_none();
        self.catch_up(&mut report).await?;
        if first_sync {
            // A first catch-up read every note as it is now: revisions only matter from here
            // (minus a margin for clock skew between Askara and this machine).
            let since = started - chrono::Duration::minutes(5);
            self.inbox
                .set_sync_state(vec![
                    (UPDATED_WATERMARK.to_string(), fmt_instant_precise(since)),
                    (LAST_REVISION_PASS.to_string(), fmt_instant_precise(started)),
                ])
                .await?;
        } else if force_revisions || self.revision_pass_due().await? {
            report.revision_pass = true;
            self.revision_pass(&mut report).await?;
        }
        report.requests = self.api.requests_sent() - before;
        report.server_page_size = self.learned_page_size();
        if self.cfg.patients_per_poll > 0 {
            // The notes are stored: what follows never fails the poll.
            match fetch_patients(
                &self.api,
                self.inbox.as_ref(),
                self.cfg.patients_per_poll,
                self.clock.now(),
            )
            .await
            {
                Ok(r) => report.patients = r,
                Err(e) => {
                    tracing::warn!(error = %e, "keeping patients' identifiers failed; retried next poll")
                }
            }
        }
        if report.unreadable > 0 {
            tracing::warn!(
                unreadable = report.unreadable,
                "notes Askara sent could not be read"
            );
            return Err(Incomplete::Unreadable {
                count: report.unreadable,
            }
            .into());
        }
        Ok(report)
    }

    async fn catch_up(&self, report: &mut PollReport) -> Result<(), SyncError> {
        let watermark = self.read_instant(CREATED_WATERMARK).await?;
        let from = watermark.map(|w| self.window_start(w));
        let mut extra = vec![("order[createdAt]".to_string(), "asc".to_string())];
        if let Some(from) = from {
            extra.push((self.cfg.created_filter.clone(), fmt_instant(from)));
        }
        self.walk(
            &extra,
            Some(CREATED_WATERMARK),
            from,
            |n| n.created_at,
            false,
            report,
        )
        .await
    }

    async fn revision_pass_due(&self) -> Result<bool, SyncError> {
        let last = self.read_instant(LAST_REVISION_PASS).await?;
        let interval = chrono::Duration::from_std(self.cfg.revision_interval).unwrap_or_default();
        Ok(last.is_none_or(|l| self.clock.now() - l >= interval))
    }

    /// Revisions do not move `createdAt`: ask for changes by `updatedAt` where the server honours
    /// that filter, else re-read the lookback window.
    async fn revision_pass(&self, report: &mut PollReport) -> Result<(), SyncError> {
        let now = self.clock.now();
        let since = match self.read_instant(UPDATED_WATERMARK).await? {
            Some(u) => self.window_start(u),
            None => now - self.cfg.revision_lookback,
        };
        let mut probe = PollReport::default();
        let query = vec![
            ("order[updatedAt]".to_string(), "asc".to_string()),
            (self.cfg.updated_filter.clone(), fmt_instant(since)),
        ];
        let k = Some(UPDATED_WATERMARK);
        self.walk(&query, k, Some(since), |n| n.updated_at, true, &mut probe)
            .await?;
        report.absorb(&probe);
        if probe.filter_ignored {
            // Walking the whole collection by updatedAt would cost a request per hundred notes
            // every pass: re-read the recent window by createdAt instead.
            tracing::info!("Askara ignores the updatedAt filter; re-reading recent notes instead");
            let from = now - self.cfg.revision_lookback;
            let query = vec![
                ("order[createdAt]".to_string(), "asc".to_string()),
                (self.cfg.created_filter.clone(), fmt_instant(from)),
            ];
            let mut window = PollReport::default();
            self.walk(
                &query,
                None,
                Some(from),
                |n| n.created_at,
                false,
                &mut window,
            )
            .await?;
            report.absorb(&window);
        }
        self.inbox
            .set_sync_state(vec![(
                LAST_REVISION_PASS.to_string(),
                fmt_instant_precise(now),
            )])
            .await?;
        Ok(())
    }

    fn window_start(&self, watermark: DateTime<Utc>) -> DateTime<Utc> {
        watermark.trunc_subsecs(0)
            - chrono::Duration::from_std(self.cfg.overlap).unwrap_or_default()
    }

    async fn read_instant(&self, key: &str) -> Result<Option<DateTime<Utc>>, SyncError> {
        Ok(self
            .inbox
            .sync_state(key)
            .await?
            .and_then(|s| askara::parse_instant(&s)))
    }

    /// How long to wait after an outcome: the interval with jitter after success (stretched when
    /// the rate-limit bucket runs low), the server's word after a 429, exponential backoff while
    /// Askara fails, and a slow retry when a person must act (sign in, grant a scope).
    pub fn next_delay(&mut self, outcome: &Result<PollReport, SyncError>) -> Duration {
        let jittered = |rng: &mut rand::rngs::StdRng, d: Duration, j: f64| {
            d.mul_f64(1.0 + j * (rng.random::<f64>() * 2.0 - 1.0))
        };
        match outcome {
            Ok(_) => {
                self.failures = 0;
                let mut d = jittered(&mut self.rng, self.cfg.interval, self.cfg.jitter);
                if self.api.rate_limit().is_some_and(|r| r.running_low()) {
                    d *= 4;
                }
                d
            }
            Err(SyncError::Api(ApiError::RateLimited { retry_at })) => {
                self.failures += 1;
                (*retry_at - self.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .max(Duration::from_secs(1))
            }
            Err(SyncError::Api(e))
                if matches!(
                    e.code(),
                    ErrorCode::AuthExpired | ErrorCode::MissingScope | ErrorCode::InvalidClient
                ) =>
            {
                self.failures += 1;
                Duration::from_secs(300)
            }
            Err(_) => {
                self.failures += 1;
                let exp = self
                    .cfg
                    .interval
                    .saturating_mul(2u32.saturating_pow(self.failures.min(10) - 1));
                jittered(&mut self.rng, exp.min(self.cfg.max_backoff), 0.2)
            }
        }
    }

    /// Polls until `shutdown` turns true, publishing status after each poll. The first poll
    /// includes the revision pass: a person starting the app or asking for a sync now expects
    /// revisions too.
    pub async fn run(
        mut self,
        status: tokio::sync::watch::Sender<SyncStatus>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut first = true;
        loop {
            let outcome = if std::mem::take(&mut first) {
                self.try_full().await
            } else {
                self.try_once().await
            };
            let delay = self.next_delay(&outcome);
            let now = self.clock.now();
            status.send_modify(|s| {
                s.next_poll_at = Some(now + chrono::Duration::from_std(delay).unwrap_or_default());
                match &outcome {
                    Ok(r) => {
                        s.last_success_at = Some(now);
                        s.last_report = Some(r.clone());
                        s.error_code = None;
                        s.error_message = None;
                        s.consecutive_failures = 0;
                    }
                    Err(e) => {
                        tracing::warn!(code = e.code(), error = %e, "poll failed");
                        s.error_code = Some(e.code().to_string());
                        s.error_message = Some(e.to_string());
                        s.consecutive_failures = self.failures;
                    }
                }
            });
            tokio::select! {
                _ = self.clock.sleep(delay) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

/// Second precision with `Z`: what API Platform's date filter parses everywhere.
fn fmt_instant(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn fmt_instant_precise(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
