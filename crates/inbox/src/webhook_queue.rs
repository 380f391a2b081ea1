//! The durable webhook delivery queue (migration 0002). The receiver writes each delivery here,
//! raw, before it answers 200; a worker reads pending deliveries, ingests their notes through
//! [`Inbox::ingest`] and marks them processed. A process killed after the 200 finds its
//! pending deliveries here on restart.
//!
//! Enqueueing commits with `synchronous = FULL` (the WAL is flushed to disk before the 200),
//! so an acknowledged delivery survives a power cut as well as a killed process. Batches share
//! one transaction and one flush: the receiver groups concurrent deliveries.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::error::InboxError;
use crate::store::{ts, Inbox};

/// A delivery to store, as received.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The body exactly as received (valid UTF-8 JSON).
    pub body: String,
    /// `meta.webhook_id`, when present.
    pub webhook_id: Option<String>,
    pub event_count: usize,
    pub received_at: DateTime<Utc>,
}

/// A stored delivery waiting for the worker.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub webhook_id: Option<String>,
    pub attempts: u32,
    pub body: String,
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Processed,
    Failed,
}

/// Deliveries per state, for health checks and the status strip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    pub pending: u64,
    pub processed: u64,
    pub failed: u64,
}

/// A processed or failed delivery's record (no note content).
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub received_at: String,
    pub webhook_id: Option<String>,
    pub event_count: u64,
    pub state: String,
    pub attempts: u32,
    pub processed_at: Option<String>,
    /// The JSON summary the worker recorded (counts, event ids, skip reasons).
    pub outcome: Option<serde_json::Value>,
    pub last_error: Option<String>,
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl Inbox {
    /// Stores one delivery (one short transaction, flushed to disk). Returns its id.
    pub async fn enqueue_delivery(&self, delivery: NewDelivery) -> Result<i64, InboxError> {
        let mut ids = self.enqueue_deliveries(vec![delivery]).await?;
        ids.pop()
            .ok_or_else(|| InboxError::Task("enqueue returned no id".into()))
    }

    /// Stores several deliveries in one transaction with one flush to disk (group commit).
    /// Returns their ids, in order.
    pub async fn enqueue_deliveries(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<i64>, InboxError> {
        self.run(move |c| {
            // FULL: the WAL is synced at commit, so the 200 that follows is a promise that
            // holds across a power cut, not only a killed process.
            c.pragma_update(None, "synchronous", "FULL")?;
            // No checkpoint inside an acknowledgement: the worker runs them (see checkpoint).
            let auto: i64 = c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
            c.pragma_update(None, "wal_autocheckpoint", 0)?;
            let result = (|| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut ids = Vec::with_capacity(deliveries.len());
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO webhook_deliveries (received_at, webhook_id, event_count, body)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    for d in &deliveries {
                        stmt.execute(params![
                            ts(d.received_at),
                            d.webhook_id,
                            i64::try_from(d.event_count).unwrap_or(i64::MAX),
                            d.body
                        ])?;
                        ids.push(tx.last_insert_rowid());
                    }
                }
                tx.commit()?;
                Ok(ids)
            })();
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.pragma_update(None, "wal_autocheckpoint", auto)?;
            result
        })
        .await
    }

    /// Up to `limit` pending deliveries that are due at `now`, oldest first, and no more than
    /// fit in `max_bytes` of bodies (always at least one), so a batch of large deliveries
    /// stays small in memory.
    pub async fn pending_deliveries(
        &self,
        limit: usize,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingDelivery>, InboxError> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, received_at, webhook_id, attempts, body FROM webhook_deliveries
                  WHERE state = 'pending' AND (not_before IS NULL OR not_before <= ?1)
                  ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(
                params![ts(now), i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    let received: String = r.get(1)?;
                    Ok(PendingDelivery {
                        id: r.get(0)?,
                        received_at: parse_ts(&received),
                        webhook_id: r.get(2)?,
                        attempts: r.get(3)?,
                        body: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    })
                },
            )?;
            let mut out = Vec::new();
            let mut bytes = 0usize;
            for row in rows {
                let d = row?;
                bytes += d.body.len();
                out.push(d);
                if bytes >= max_bytes {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    /// Marks deliveries done, with the worker's JSON summary of each. A processed delivery's
    /// body is cleared (its notes are in the inbox now); a failed one keeps it for diagnosis.
    pub async fn mark_processed(
        &self,
        done: Vec<(i64, DeliveryState, serde_json::Value)>,
    ) -> Result<(), InboxError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = ts(Utc::now());
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE webhook_deliveries
                        SET state = ?2, processed_at = ?3, outcome = ?4, attempts = attempts + 1,
                            not_before = NULL,
                            body = CASE WHEN ?2 = 'processed' THEN NULL ELSE body END
                      WHERE id = ?1",
                )?;
                for (id, state, outcome) in &done {
                    let state = match state {
                        DeliveryState::Processed => "processed",
                        DeliveryState::Failed => "failed",
                    };
                    stmt.execute(params![id, state, now, outcome.to_string()])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// A passive WAL checkpoint: copies what it can into the database file without waiting
    /// for (or blocking) anyone. The receiver's worker calls it between steps, so the WAL
    /// stays short and no queue write pays for a checkpoint.
    pub async fn checkpoint(&self) -> Result<(), InboxError> {
        self.run(|c| {
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// Leaves a delivery pending, to be tried again at `not_before` (a transient failure,
    /// e.g. Askara unreachable while fetching a note). `error` must carry no note content.
    pub async fn defer_delivery(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: String,
    ) -> Result<(), InboxError> {
        self.run(move |c| {
            c.prepare_cached(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, not_before = ?2,
                        last_error = ?3
                  WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![id, ts(not_before), error])?;
            Ok(())
        })
        .await
    }

    /// Deletes processed deliveries received before `before` (their notes stay in the inbox);
    /// failed ones are kept for diagnosis. Returns how many were deleted.
    pub async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<usize, InboxError> {
        self.run(move |c| {
            Ok(c.prepare_cached(
                "DELETE FROM webhook_deliveries WHERE state = 'processed' AND received_at < ?1",
            )?
            .execute([ts(before)])?)
        })
        .await
    }

    /// Deliveries per state.
    pub async fn delivery_counts(&self) -> Result<QueueCounts, InboxError> {
        self.run(|c| {
            let mut counts = QueueCounts::default();
            let mut stmt =
                c.prepare_cached("SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let state: String = r.get(0)?;
                let n: i64 = r.get(1)?;
                let n = u64::try_from(n).unwrap_or_default();
                match state.as_str() {
                    "pending" => counts.pending = n,
                    "processed" => counts.processed = n,
                    _ => counts.failed = n,
                }
            }
            Ok(counts)
        })
        .await
    }

    /// The most recent deliveries, newest first, without bodies.
    pub async fn recent_deliveries(&self, limit: usize) -> Result<Vec<DeliveryRecord>, InboxError> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, received_at, webhook_id, event_count, state, attempts, processed_at,
                        outcome, last_error
                   FROM webhook_deliveries ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let outcome: Option<String> = r.get(7)?;
                Ok(DeliveryRecord {
                    id: r.get(0)?,
                    received_at: r.get(1)?,
                    webhook_id: r.get(2)?,
                    event_count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or_default(),
                    state: r.get(4)?,
                    attempts: r.get(5)?,
                    processed_at: r.get(6)?,
                    outcome: outcome.and_then(|o| serde_json::from_str(&o).ok()),
                    last_error: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The instant of the newest delivery stored, if any (survives restarts).
    pub async fn last_delivery_at(&self) -> Result<Option<DateTime<Utc>>, InboxError> {
        self.run(|c| {
            let s: Option<String> = c
                .prepare_cached(
                    "SELECT received_at FROM webhook_deliveries ORDER BY id DESC LIMIT 1",
                )?
                .query_row([], |r| r.get(0))
                .optional()?;
            Ok(s.map(|s| parse_ts(&s)))
        })
        .await
    }
}
