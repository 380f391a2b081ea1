//! The worker that drains the durable queue: `loop { match try_once().await { ... } }`.
//!
//! Each step takes the oldest pending deliveries (as many as fit a write-lock budget, up to
//! thousands), reads their events, takes each note from Askara's API with `GET /notes/{uuid}`
//! (or, with `--trust-payloads` and no credentials, as delivered, marked unverified), ingests
//! them all in one transaction through the idempotent ingest, and marks the deliveries
//! processed with a summary (counts, event ids, skip reasons; no content). A crash between
//! ingest and marking only means the next step ingests the same notes again, which changes
//! nothing.

use std::collections::HashSet;
use std::time::Duration;

use askara::{ApiError, ErrorCode as ApiCode, Note};
use chrono::Utc;
use inbox::webhook_queue::{DeliveryState, PendingDelivery};
use inbox::{ErrorCode as InboxCode, Origin, Source};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::error::ReceiverError;
use crate::Receiver;

mod read;

use read::{Read, ReadOutcome};

/// What one [`Worker::try_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerOutcome {
    /// Nothing was due.
    Idle,
    /// Deliveries were taken from the queue.
    Processed(StepReport),
}

/// Counts for one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Deliveries marked processed.
    pub deliveries: usize,
    pub events: usize,
    pub inserted: usize,
    pub revised: usize,
    /// Notes already in the inbox as delivered (retries, duplicates, polled first).
    pub unchanged: usize,
    /// Notes fetched with `GET /notes/{uuid}`.
    pub fetched: usize,
    /// Events accepted but not ingested (recorded with their reason).
    pub skipped: usize,
    /// Deliveries left pending for a later attempt (Askara unreachable while fetching).
    pub deferred: usize,
    /// Deliveries given up on (marked failed; the reconciliation poll covers them).
    pub failed: usize,
}

pub struct Worker {
    r: Receiver,
    last_checkpoint: Option<tokio::time::Instant>,
    /// Write-lock time one delivery has been costing (a moving average), which sizes the
    /// next batch so a step holds the lock for about [`STEP_BUDGET`].
    cost_per_delivery: Duration,
    /// The signed-in organisation (`GET /me`), once known; `Some(None)`: Askara did not say.
    organization: Option<Option<String>>,
}

impl Worker {
    pub(crate) fn new(r: Receiver) -> Self {
        Worker {
            r,
            last_checkpoint: None,
            cost_per_delivery: Duration::from_millis(1),
            organization: None,
        }
    }

    /// How many deliveries the next step takes: as many as fit in [`STEP_BUDGET`] of write
    /// lock at the measured cost, so a burst is drained in large transactions while an
    /// acknowledgement queued behind a step waits at most about that long.
    fn batch_size(&self) -> usize {
        let max = self.r.shared.cfg.worker_batch.max(1);
        let fit = STEP_BUDGET.as_micros() / self.cost_per_delivery.as_micros().max(1);
        usize::try_from(fit)
            .unwrap_or(max)
            .clamp(MIN_BATCH.min(max), max)
    }

    fn measured(&mut self, held: Duration, deliveries: usize) {
        let Ok(n) = u32::try_from(deliveries.max(1)) else {
            return;
        };
        let per = held / n;
        self.cost_per_delivery = (self.cost_per_delivery * 3 + per) / 4;
    }

    /// One step: take what is due, ingest it, mark it.
    pub async fn try_once(&mut self) -> Result<WorkerOutcome, ReceiverError> {
        let org = self.organization().await;
        let size = self.batch_size();
        let shared = self.r.shared.clone();
        let shared = &shared;
        let batch = shared
            .inbox
            .pending_deliveries(size, STEP_MAX_BYTES, Utc::now())
            .await?;
        if batch.is_empty() {
            return Ok(WorkerOutcome::Idle);
        }
        let mut report = StepReport::default();
        let mut ready: Vec<(i64, Read)> = Vec::new();
        let mut done: Vec<(i64, DeliveryState, Value)> = Vec::new();
        let org = match org {
            Ok(org) => org,
            Err(reason) => {
                // Without the organisation no delivery can be checked: all wait.
                let at = Utc::now()
                    + chrono::Duration::from_std(shared.cfg.retry_delay).unwrap_or_default();
                let _gate = shared.write_gate.lock().await;
                for d in &batch {
                    shared
                        .inbox
                        .defer_delivery(d.id, at, reason.clone())
                        .await?;
                }
                report.deferred += batch.len();
                return Ok(WorkerOutcome::Processed(report));
            }
        };
        // Deliveries are read side by side (each may wait on `GET /notes/{uuid}`), a few at a
        // time so a large batch does not fire hundreds of requests at Askara at once.
        let mut reads: Vec<ReadOutcome> = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(FETCH_CONCURRENCY) {
            reads.extend(
                futures_util::future::join_all(chunk.iter().map(|d| self.read(d, org.as_deref())))
                    .await,
            );
        }
        for (d, outcome) in batch.into_iter().zip(reads) {
            match outcome {
                ReadOutcome::Ready(read) => ready.push((d.id, read)),
                ReadOutcome::Defer(reason) => {
                    if d.attempts + 1 >= shared.cfg.max_attempts {
                        tracing::warn!(delivery = d.id, reason = %reason, "webhook delivery given up; the reconciliation poll will bring its notes");
                        report.failed += 1;
                        done.push((d.id, DeliveryState::Failed, json!({ "error": reason })));
                    } else {
                        tracing::info!(delivery = d.id, reason = %reason, "webhook delivery deferred");
                        report.deferred += 1;
                        let at = Utc::now()
                            + chrono::Duration::from_std(shared.cfg.retry_delay)
                                .unwrap_or_default();
                        let _gate = shared.write_gate.lock().await;
                        shared.inbox.defer_delivery(d.id, at, reason).await?;
                    }
                }
            }
        }
        // Everything in one ingest (one transaction); a note the inbox refuses is isolated
        // by ingesting delivery by delivery.
        let gate = shared.write_gate.lock().await;
        let held = std::time::Instant::now();
        let whole = ingest_reads(shared, ready.iter().map(|(_, r)| r)).await;
        let mut ingest_held = held.elapsed();
        drop(gate);
        let reports = match whole {
            Ok(rep) => vec![(None, Ok(rep))],
            Err(e) if e.code() == InboxCode::InvalidInput => {
                // One at a time, the gate taken for each, so acknowledgements get through.
                let mut out = Vec::new();
                for (id, read) in &ready {
                    let _gate = shared.write_gate.lock().await;
                    let one = std::time::Instant::now();
                    let res = ingest_reads(shared, std::iter::once(read)).await;
                    ingest_held += one.elapsed();
                    if let Err(e) = &res {
                        if e.code() != InboxCode::InvalidInput {
                            return Err(res
                                .err()
                                .map(Into::into)
                                .unwrap_or_else(|| ReceiverError::Task("ingest failed".into())));
                        }
                    }
                    out.push((Some(*id), res));
                }
                out
            }
            Err(e) => return Err(e.into()),
        };
        let mut inserted: HashSet<String> = HashSet::new();
        let mut revised: HashSet<String> = HashSet::new();
        let mut refused: Vec<(i64, String)> = Vec::new();
        for (id, res) in reports {
            match res {
                Ok(rep) => {
                    report.inserted += rep.inserted.len();
                    report.revised += rep.revised.len();
                    report.unchanged += rep.unchanged + rep.stale;
                    inserted.extend(rep.inserted);
                    revised.extend(rep.revised);
                }
                Err(e) => {
                    if let Some(id) = id {
                        refused.push((id, e.to_string()));
                    }
                }
            }
        }
        for (id, read) in ready {
            report.events += read.event_ids.len();
            report.fetched += read.fetched.len();
            report.skipped += read.skipped.len();
            if let Some((_, err)) = refused.iter().find(|(r, _)| *r == id) {
                report.failed += 1;
                done.push((
                    id,
                    DeliveryState::Failed,
                    json!({ "error": err, "events": read.event_ids }),
                ));
                continue;
            }
            let mine = |set: &HashSet<String>| -> Vec<String> {
                read.notes
                    .iter()
                    .chain(&read.unverified)
                    .filter(|n| set.contains(&n.uuid))
                    .map(|n| n.uuid.clone())
                    .collect()
            };
            report.deliveries += 1;
            done.push((
                id,
                DeliveryState::Processed,
                json!({
                    "events": read.event_ids,
                    "notes": read.notes.len() + read.unverified.len(),
                    "unverified": read.unverified.iter().map(|n| n.uuid.clone()).collect::<Vec<_>>(),
                    "inserted": mine(&inserted),
                    "revised": mine(&revised),
                    "fetched": read.fetched,
                    "skipped": read.skipped,
                }),
            ));
        }
        {
            let _gate = shared.write_gate.lock().await;
            let held = std::time::Instant::now();
            let marked = done.len() as u64;
            let n = done.len();
            shared.inbox.mark_processed(done).await?;
            self.measured(ingest_held + held.elapsed(), n);
            let _ = shared.pending.fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |p| Some(p.saturating_sub(marked)),
            );
        }
        // Outside the write gate: a checkpoint never delays an acknowledgement.
        if self
            .last_checkpoint
            .is_none_or(|t| t.elapsed() >= CHECKPOINT_EVERY)
        {
            self.last_checkpoint = Some(tokio::time::Instant::now());
            if let Err(e) = shared.inbox.checkpoint().await {
                tracing::debug!(code = %e.code(), "WAL checkpoint failed; SQLite will do it later");
            }
        }
        let now = Utc::now();
        shared.status.update(|s| {
            s.notes_inserted += report.inserted as u64;
            s.notes_revised += report.revised as u64;
            s.notes_unchanged += report.unchanged as u64;
            s.notes_fetched += report.fetched as u64;
            s.events_skipped += report.skipped as u64;
            s.last_processed_at = Some(now);
            s.worker_error = None;
        });
        if report.skipped > 0 {
            tracing::info!(
                skipped = report.skipped,
                "webhook events skipped (recorded in the queue)"
            );
        }
        Ok(WorkerOutcome::Processed(report))
    }

    /// The organisation deliveries must name, looked up once (`GET /me`) when credentials
    /// exist. `Err`: the lookup failed for now (deliveries wait).
    async fn organization(&mut self) -> Result<Option<String>, String> {
        if let Some(org) = &self.organization {
            return Ok(org.clone());
        }
        let Some(api) = &self.r.shared.cfg.api else {
            return Ok(None);
        };
        match api.organization_id().await {
            Ok(org) => {
                if org.is_none() {
                    tracing::warn!("Askara's /me names no organisation: deliveries are checked against Askara's API only");
                }
                self.organization = Some(org.clone());
                Ok(org)
            }
            Err(ApiError::NotFound { .. }) => {
                tracing::warn!(
                    "Askara has no /me: deliveries are checked against Askara's API only"
                );
                self.organization = Some(None);
                Ok(None)
            }
            Err(e) => Err(format!(
                "looking up the signed-in organisation failed: {}",
                e.code().as_str()
            )),
        }
    }

    /// Drains the queue until `shutdown` turns true: right away after a step that did
    /// something, on the next stored delivery (or every few seconds, for deferred ones) when
    /// idle, and with growing pauses while the inbox fails.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let pause = match self.try_once().await {
                Ok(WorkerOutcome::Processed(_)) => {
                    failures = 0;
                    continue;
                }
                Ok(WorkerOutcome::Idle) => {
                    failures = 0;
                    if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                        last_prune = Some(tokio::time::Instant::now());
                        let before = Utc::now()
                            - chrono::Duration::from_std(KEEP_PROCESSED).unwrap_or_default();
                        if let Err(e) = self.r.shared.inbox.prune_deliveries(before).await {
                            tracing::warn!(code = %e.code(), "pruning old webhook deliveries failed");
                        }
                    }
                    let shared = self.r.shared.clone();
                    tokio::select! {
                        _ = shared.wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_RECHECK) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(code = e.code().as_str(), error = %e, "webhook worker step failed; retrying");
                    let msg = e.to_string();
                    self.r.shared.status.update(|s| s.worker_error = Some(msg));
                    Duration::from_millis(100)
                        .saturating_mul(2u32.saturating_pow(failures.min(9)))
                        .min(Duration::from_secs(30))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// Write-lock time a step aims for. The gate is fair (first come, first served), so under a
/// flood acknowledgements and steps alternate: this bounds what an acknowledgement waits
/// behind a step, and lets the worker keep up instead of waiting for a lull that a steady
/// flood never gives.
const STEP_BUDGET: Duration = Duration::from_millis(15);
const MIN_BATCH: usize = 16;
/// Delivery bodies one step holds in memory at most (besides the first, whatever its size).
const STEP_MAX_BYTES: usize = 32 * 1024 * 1024;
/// `GET /notes/{uuid}` requests one step has in flight at once.
const FETCH_CONCURRENCY: usize = 16;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Processed deliveries (summaries only) are kept this long, then deleted.
const KEEP_PROCESSED: Duration = Duration::from_secs(30 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Ingests the reads' notes: Askara's versions as verified, payloads as unverified, each with
/// the author its delivery named.
async fn ingest_reads<'a>(
    shared: &crate::Shared,
    reads: impl Iterator<Item = &'a Read> + Clone,
) -> Result<inbox::IngestReport, inbox::InboxError> {
    let authors: std::collections::HashMap<String, String> = reads
        .clone()
        .flat_map(|r| r.authors.iter().cloned())
        .collect();
    let verified: Vec<Note> = reads
        .clone()
        .flat_map(|r| r.notes.iter().cloned())
        .collect();
    let unverified: Vec<Note> = reads.flat_map(|r| r.unverified.iter().cloned()).collect();
    let mut origin = Origin::verified(Source::Webhook);
    origin.authors = authors.clone();
    let mut report = shared
        .inbox
        .ingest_from(verified, origin, Vec::new())
        .await?;
    if !unverified.is_empty() {
        let mut origin = Origin::unverified_webhook();
        origin.authors = authors;
        let more = shared
            .inbox
            .ingest_from(unverified, origin, Vec::new())
            .await?;
        report.inserted.extend(more.inserted);
        report.revised.extend(more.revised);
        report.unchanged += more.unchanged;
        report.stale += more.stale;
    }
    Ok(report)
}
