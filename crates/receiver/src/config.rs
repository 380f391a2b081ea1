//! What a receiver is told at start.

use std::sync::Arc;
use std::time::Duration;

use askara::{ApiClient, Sensitive};
use inbox::sync::SyncConfig;

/// The most a delivery body may weigh (413 above it). A delivery of ten notes of tens of KB
/// each stays far below.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub struct ReceiverConfig {
    /// When set, only `POST /askara/webhook/{secret}` is served (compared in constant time);
    /// when not, only `POST /askara/webhook`.
    pub secret: Option<Sensitive<String>>,
    /// Bodies above this many bytes are refused with 413.
    pub body_limit: usize,
    /// Most deliveries written in one transaction (group commit under load).
    pub group_commit_max: usize,
    /// Most deliveries the worker takes per `try_once` (it takes fewer when a step would hold
    /// the write lock for longer than its budget).
    pub worker_batch: usize,
    /// After a transient failure (Askara unreachable while fetching a note), try the delivery
    /// again after this long.
    pub retry_delay: Duration,
    /// A delivery still failing after this many attempts is marked failed; the reconciliation
    /// poll then brings its notes.
    pub max_attempts: u32,
    /// For `GET /notes/{uuid}` when a payload lacks fields, and for polling. `None`: payloads
    /// are ingested as they come and incomplete ones skipped (and recorded).
    pub api: Option<Arc<ApiClient>>,
    /// Poll as well (needs `api`).
    pub poll: Option<PollConfig>,
    /// `false`: `serve` stores deliveries without processing them (another process, or a
    /// later start, drains the queue).
    pub run_worker: bool,
    /// Without `api`: store payloads as delivered, marked unverified. `false` (the default):
    /// a delivery nobody can confirm with Askara is recorded as rejected, never stored.
    pub trust_payloads: bool,
    /// Pending deliveries in the queue beyond which new ones get 503 (Askara retries).
    pub max_pending: u64,
    /// A request's headers must arrive within this.
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_timeout: Duration,
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// Requests handled at once at most; more get 503.
    pub max_in_flight: usize,
}

impl std::fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("secret", &self.secret)
            .field("body_limit", &self.body_limit)
            .field("group_commit_max", &self.group_commit_max)
            .field("worker_batch", &self.worker_batch)
            .field("retry_delay", &self.retry_delay)
            .field("max_attempts", &self.max_attempts)
            .field("api", &self.api.is_some())
            .field("poll", &self.poll)
            .field("run_worker", &self.run_worker)
            .field("trust_payloads", &self.trust_payloads)
            .field("max_pending", &self.max_pending)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            secret: None,
            body_limit: DEFAULT_BODY_LIMIT,
            group_commit_max: 512,
            worker_batch: 2000,
            retry_delay: Duration::from_secs(30),
            max_attempts: 10,
            api: None,
            poll: None,
            run_worker: true,
            trust_payloads: false,
            max_pending: 250_000,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_in_flight: 512,
        }
    }
}

/// Polling beside the receiver: at the usual interval while no deliveries arrive, at the slower
/// reconciliation interval while they flow (it then only catches what webhooks missed, such as
/// deliveries that ended in Askara's failure queue).
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// The poller's settings; `sync.interval` is the interval while no deliveries arrive.
    pub sync: SyncConfig,
    /// One poller among several servers (a clinic's shared inbox): poll only while holding
    /// a lease from here; otherwise stand by (`/healthz` says `poll_standby`) and try again.
    /// `None`: poll always.
    pub leases: Option<std::sync::Arc<dyn PollLeases>>,
    /// The interval while deliveries flow.
    pub reconcile_interval: Duration,
    /// Deliveries "flow" when the last one arrived at most this long ago.
    pub flowing_window: Duration,
}

/// Where the right to poll comes from when several servers share one inbox.
#[async_trait::async_trait]
pub trait PollLeases: Send + Sync + std::fmt::Debug {
    /// A lease if polling is free now; `None` while another server polls.
    async fn try_take(&self) -> Result<Option<Box<dyn PollLease>>, String>;
}

/// The right to poll, while it lasts (dropping it gives it up).
pub trait PollLease: Send + Sync {
    /// Whether it is still held (its connection may have been lost).
    fn is_held(&self) -> bool;
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            sync: SyncConfig::default(),
            leases: None,
            reconcile_interval: Duration::from_secs(600),
            flowing_window: Duration::from_secs(1800),
        }
    }
}
