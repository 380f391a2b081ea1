//! The Askara webhook receiver, with no Tauri dependency: the CLI's `serve` command and the
//! desktop app both run it.
//!
//! - **Durable before acknowledged.** `POST /askara/webhook[/{secret}]` validates the body's
//!   shape, writes the raw delivery to the inbox's queue table in one short transaction
//!   (concurrent deliveries share one: group commit) and only then answers 200.
//! - **Processing after.** A [`Worker`] drains that queue: dedupes, fetches missing fields with
//!   `GET /notes/{uuid}` when it has credentials, and ingests through the one idempotent
//!   `Inbox::ingest` with `Source::Webhook`. A process killed after a 200 loses nothing: the
//!   queue is drained on restart.
//! - **Polling as the safety net.** With [`PollConfig`], a [`Reconciler`] polls at the usual
//!   interval while no deliveries arrive and at a slower one while they flow, catching what
//!   ended in Askara's failure queue.
//!
//! Nothing here logs note content, patient names or the secret.

mod config;
mod conn;
mod error;
mod http;
mod reconcile;
mod status;
mod worker;
mod writer;

use std::future::Future;
use std::sync::Arc;

use askara::{SharedClock, SystemClock};
use inbox::sync::Poller;
use inbox::Inbox;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};

pub use config::{PollConfig, PollLease, PollLeases, ReceiverConfig, DEFAULT_BODY_LIMIT};
pub use error::{ErrorCode, ReceiverError};
pub use http::{HEALTH_PATH, WEBHOOK_PATH};
pub use reconcile::Reconciler;
pub use status::ReceiverStatus;
pub use worker::{StepReport, Worker, WorkerOutcome};

use status::StatusCell;

pub(crate) struct Shared {
    pub(crate) inbox: Arc<dyn inbox::ReceiverStore>,
    pub(crate) cfg: ReceiverConfig,
    pub(crate) status: StatusCell,
    /// Wakes the worker when a delivery was stored.
    pub(crate) wake: Notify,
    pub(crate) writes: mpsc::Sender<writer::WriteRequest>,
    /// Taken around every write transaction of this receiver (queue writes, ingest, marking),
    /// so they queue here, in order, instead of in SQLite's busy handler, whose sleeps of up
    /// to 100 ms would land on acknowledgements. Tokio's mutex is fair: queue writes and
    /// worker steps take turns.
    pub(crate) write_gate: tokio::sync::Mutex<()>,
    /// Deliveries stored and not yet processed (the queue cap is checked against it).
    pub(crate) pending: std::sync::atomic::AtomicU64,
    /// Requests being handled (the in-flight cap).
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
}

/// A running receiver: the group-commit writer is started; serve its [`Receiver::router`]
/// (or call [`Receiver::serve`]) and run a [`Worker`]. Cheap to clone.
#[derive(Clone)]
pub struct Receiver {
    pub(crate) shared: Arc<Shared>,
}

impl Receiver {
    /// Starts the queue writer. Call inside a Tokio runtime.
    pub fn start(inbox: impl inbox::ReceiverStore + 'static, cfg: ReceiverConfig) -> Receiver {
        Self::start_shared(Arc::new(inbox), cfg)
    }

    /// [`Receiver::start`] for a store already shared (the local inbox or a clinic's, chosen
    /// at run time).
    pub fn start_shared(inbox: Arc<dyn inbox::ReceiverStore>, cfg: ReceiverConfig) -> Receiver {
        let (tx, rx) = mpsc::channel(cfg.group_commit_max.max(1) * 8);
        let now = chrono::Utc::now();
        let shared = Arc::new(Shared {
            inbox,
            status: StatusCell::new(ReceiverStatus {
                started_at: Some(now),
                poll_enabled: cfg.poll.is_some(),
                ..ReceiverStatus::default()
            }),
            cfg,
            wake: Notify::new(),
            writes: tx,
            write_gate: tokio::sync::Mutex::new(()),
            pending: std::sync::atomic::AtomicU64::new(0),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
        });
        tokio::spawn(writer::run(Arc::downgrade(&shared), rx));
        Receiver { shared }
    }

    pub fn inbox(&self) -> &dyn inbox::ReceiverStore {
        self.shared.inbox.as_ref()
    }

    /// The HTTP routes: the webhook path and `/healthz`; everything else is 404.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// The worker that drains the queue (run one per inbox).
    pub fn worker(&self) -> Worker {
        Worker::new(self.clone())
    }

    /// The poller beside the receiver, if the configuration asks for one.
    pub fn reconciler(&self) -> Result<Option<Reconciler>, ReceiverError> {
        let Some(poll) = self.shared.cfg.poll.clone() else {
            return Ok(None);
        };
        let api = self.shared.cfg.api.clone().ok_or_else(|| {
            ReceiverError::Config(
                "polling needs Askara credentials: sign in (askara-inbox login) or set ASKARA_CLIENT_SECRET".into(),
            )
        })?;
        let clock: SharedClock = Arc::new(SystemClock);
        let store: Arc<dyn inbox::InboxStore> = self.shared.inbox.clone();
        let poller = Poller::with_store(api, store, poll.sync.clone(), clock);
        Ok(Some(Reconciler::new(self.clone(), poller, poll)))
    }

    /// A snapshot of counters, ages and the queue's state.
    pub async fn status(&self) -> ReceiverStatus {
        let mut s = self.shared.status.snapshot();
        if let Ok(q) = self.shared.inbox.delivery_counts().await {
            s.queue = q;
        }
        s
    }

    /// Serves HTTP on `listener`, drains the queue (first whatever an earlier process left)
    /// and polls when configured, until `shutdown` resolves; then stops accepting, lets
    /// requests in flight finish, and stops the worker and poller.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<(), ReceiverError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let reconciler = self.reconciler()?;
        if let Ok(q) = self.shared.inbox.delivery_counts().await {
            self.shared
                .pending
                .store(q.pending, std::sync::atomic::Ordering::Release);
        }
        if let Ok(Some(t)) = self.shared.inbox.last_delivery_at().await {
            self.shared
                .status
                .update(|s| s.last_delivery_at = s.last_delivery_at.or(Some(t)));
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = self
            .shared
            .cfg
            .run_worker
            .then(|| tokio::spawn(self.worker().run(stop_rx.clone())));
        let poll = reconciler.map(|r| tokio::spawn(r.run(stop_rx.clone())));
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let served = conn::serve(listener, self.router(), &self.shared.cfg, shutdown).await;
        let _ = stop_tx.send(true);
        if let Some(w) = worker {
            let _ = w.await;
        }
        if let Some(p) = poll {
            let _ = p.await;
        }
        served.map_err(|e| ReceiverError::Listen {
            addr,
            reason: e.to_string(),
        })
    }
}

/// Starts a receiver for `inbox` and serves it on `listener` until `shutdown` resolves
/// (see [`Receiver::serve`]).
pub async fn serve<F>(
    listener: TcpListener,
    inbox: Inbox,
    cfg: ReceiverConfig,
    shutdown: F,
) -> Result<(), ReceiverError>
where
    F: Future<Output = ()> + Send + 'static,
{
    Receiver::start(inbox, cfg).serve(listener, shutdown).await
}
