//! The webhook delivery queue on the shared inbox: a delivery is committed (PostgreSQL's
//! commit is durable: WAL flushed) before the receiver answers 200; workers drain it.

use chrono::{DateTime, Utc};
use inbox::webhook_queue::{DeliveryState, NewDelivery, PendingDelivery, QueueCounts};
use inbox::InboxError;

use crate::codec::{parse_ts, ts};
use crate::pool::PgInbox;

impl PgInbox {
    pub(crate) async fn enqueue_pg(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<i64>, InboxError> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("storing a delivery"))?;
        // A clinic server may run with synchronous_commit off for speed; a delivery is
        // acknowledged to Askara only once it is on disk.
        tx.batch_execute("SET LOCAL synchronous_commit = on")
            .await
            .map_err(self.err("storing a delivery"))?;
        let mut ids = Vec::with_capacity(deliveries.len());
        for d in &deliveries {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO webhook_deliveries (received_at, webhook_id, event_count, body)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[
                        &ts(d.received_at),
                        &d.webhook_id,
                        &i32::try_from(d.event_count).unwrap_or(i32::MAX),
                        &d.body,
                    ],
                )
                .await
                .map_err(self.err("storing a delivery"))?
                .get(0);
            ids.push(id);
        }
        tx.commit().await.map_err(self.err("storing a delivery"))?;
        Ok(ids)
    }

    pub(crate) async fn pending_pg(
        &self,
        limit: usize,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingDelivery>, InboxError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, received_at, webhook_id, attempts, coalesce(body, '')
                   FROM webhook_deliveries
                  WHERE state = 'pending' AND (not_before IS NULL OR not_before <= $1)
                  ORDER BY id LIMIT $2",
                &[&ts(now), &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(self.err("reading deliveries"))?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for r in rows {
            let d = PendingDelivery {
                id: r.get(0),
                received_at: parse_ts(r.get(1))?,
                webhook_id: r.get(2),
                attempts: u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
                body: r.get(4),
            };
            bytes += d.body.len();
            out.push(d);
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(out)
    }

    pub(crate) async fn mark_processed_pg(
        &self,
        done: Vec<(i64, DeliveryState, serde_json::Value)>,
    ) -> Result<(), InboxError> {
        let now = ts(Utc::now());
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("marking deliveries"))?;
        for (id, state, outcome) in &done {
            let state = match state {
                DeliveryState::Processed => "processed",
                DeliveryState::Failed => "failed",
            };
            tx.execute(
                "UPDATE webhook_deliveries
                    SET state = $2, processed_at = $3, outcome = $4, attempts = attempts + 1,
                        not_before = NULL,
                        body = CASE WHEN $2 = 'processed' THEN NULL ELSE body END
                  WHERE id = $1",
                &[id, &state, &now, &outcome.to_string()],
            )
            .await
            .map_err(self.err("marking deliveries"))?;
        }
        tx.commit().await.map_err(self.err("marking deliveries"))?;
        Ok(())
    }

    pub(crate) async fn defer_pg(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: String,
    ) -> Result<(), InboxError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, not_before = $2,
                    last_error = $3
              WHERE id = $1 AND state = 'pending'",
            &[&id, &ts(not_before), &error],
        )
        .await
        .map_err(self.err("deferring a delivery"))?;
        Ok(())
    }

    pub(crate) async fn prune_deliveries_pg(
        &self,
        before: DateTime<Utc>,
    ) -> Result<usize, InboxError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM webhook_deliveries WHERE state = 'processed' AND received_at < $1",
                &[&ts(before)],
            )
            .await
            .map_err(self.err("removing old deliveries"))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(crate) async fn delivery_counts_pg(&self) -> Result<QueueCounts, InboxError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT state, count(*) FROM webhook_deliveries GROUP BY state",
                &[],
            )
            .await
            .map_err(self.err("counting deliveries"))?;
        let mut counts = QueueCounts::default();
        for r in rows {
            let n = u64::try_from(r.get::<_, i64>(1)).unwrap_or(0);
            match r.get::<_, &str>(0) {
                "pending" => counts.pending = n,
                "processed" => counts.processed = n,
                _ => counts.failed = n,
            }
        }
        Ok(counts)
    }

    pub(crate) async fn last_delivery_pg(&self) -> Result<Option<DateTime<Utc>>, InboxError> {
        let c = self.client().await?;
        let r: Option<String> = c
            .query_one("SELECT max(received_at) FROM webhook_deliveries", &[])
            .await
            .map_err(self.err("reading deliveries"))?
            .get(0);
        r.as_deref().map(parse_ts).transpose()
    }
}
