//! Retention on the shared inbox: imported and dismissed notes whose status changed before the
//! cutoff go (with their versions; their audit rows stay), in batches, each audited; lone
//! patients go with them; old processed deliveries too.

use chrono::{DateTime, Utc};
use inbox::{InboxError, PruneReport};
use serde_json::json;

use crate::audit::{AuditWriter, Row};
use crate::codec::ts;
use crate::patients::refresh_patients;
use crate::pool::PgInbox;

const BATCH: i64 = 500;

impl PgInbox {
    pub(crate) async fn prune_pg(
        &self,
        cutoff: DateTime<Utc>,
        actor: &str,
    ) -> Result<PruneReport, InboxError> {
        let cutoff = ts(cutoff);
        let mut report = PruneReport::default();
        loop {
            let n = self.prune_batch(&cutoff, actor, &mut report).await?;
            if n < BATCH as usize {
                break;
            }
        }
        let c = self.client().await?;
        let deliveries = c
            .execute(
                "DELETE FROM webhook_deliveries
                  WHERE state IN ('processed', 'failed') AND processed_at < $1",
                &[&cutoff],
            )
            .await
            .map_err(self.err("removing old deliveries"))?;
        report.deliveries = usize::try_from(deliveries).unwrap_or(usize::MAX);
        Ok(report)
    }

    async fn prune_batch(
        &self,
        cutoff: &str,
        actor: &str,
        report: &mut PruneReport,
    ) -> Result<usize, InboxError> {
        let now = ts(Utc::now());
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("applying retention"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        let done = tx
            .query(
                "SELECT uuid, status, patient_uuid FROM notes
                  WHERE status IN ('imported', 'dismissed') AND status_changed_at < $1
                  LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&cutoff, &BATCH],
            )
            .await
            .map_err(self.err("applying retention"))?;
        let mut patients = std::collections::BTreeSet::new();
        for r in &done {
            let (uuid, status, patient): (String, String, Option<String>) =
                (r.get(0), r.get(1), r.get(2));
            let v = tx
                .execute("DELETE FROM note_versions WHERE note_uuid = $1", &[&uuid])
                .await
                .map_err(self.err("applying retention"))?;
            report.versions += usize::try_from(v).unwrap_or(0);
            tx.execute("DELETE FROM notes WHERE uuid = $1", &[&uuid])
                .await
                .map_err(self.err("applying retention"))?;
            let detail = json!({"reason": "retention", "status": status});
            audit
                .append(
                    &tx,
                    self,
                    Row {
                        uuid: &uuid,
                        at: &now,
                        actor,
                        action: "removed",
                        from: None,
                        to: None,
                        detail: &detail,
                    },
                )
                .await?;
            if let Some(p) = patient {
                patients.insert(p);
            }
        }
        let mut named = Vec::new();
        for p in patients {
            let kept = tx
                .query_opt("SELECT 1 FROM notes WHERE patient_uuid = $1 LIMIT 1", &[&p])
                .await
                .map_err(self.err("applying retention"))?;
            if kept.is_some() {
                named.push(p);
            } else {
                let n = tx
                    .execute("DELETE FROM patients WHERE uuid = $1", &[&p])
                    .await
                    .map_err(self.err("applying retention"))?;
                report.patients += usize::try_from(n).unwrap_or(0);
            }
        }
        refresh_patients(&tx, self, &named).await?;
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("applying retention"))?;
        report.notes += done.len();
        Ok(done.len())
    }
}
