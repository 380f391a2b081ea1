//! Retention: notes that are done with (imported or dismissed) leave the local inbox after a
//! while, with everything that held their text: earlier versions, search-index entries and the
//! search vocabulary only they used, the patient row when no note names that patient any more,
//! and processed webhook deliveries. `new`, `reviewed` and `revised` notes are never removed:
//! someone still has to look at them. Each removal leaves an audit row (uuid, no content).
//!
//! `PRAGMA secure_delete` (set on every connection) zeroes freed pages, and FTS5's
//! `secure-delete` option (schema version 5) removes a note's tokens from the index at once,
//! so removed text does not linger in free pages or index segments.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use crate::store::{audit, ts};
use crate::{Inbox, InboxError};

/// Notes removed per transaction, so a large first prune never holds the write lock long
/// (the poller and the webhook receiver write in between).
const BATCH: usize = 500;

/// What one prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub notes: usize,
    pub versions: usize,
    pub patients: usize,
    pub deliveries: usize,
    pub terms: usize,
}

impl Inbox {
    /// Removes imported and dismissed notes whose status changed before `cutoff`, and webhook
    /// deliveries processed (or given up on) before it. `actor` is recorded in the audit rows.
    pub async fn prune(
        &self,
        cutoff: DateTime<Utc>,
        actor: &str,
    ) -> Result<PruneReport, InboxError> {
        let cutoff = ts(cutoff);
        let actor = actor.to_string();
        let mut report = PruneReport::default();
        loop {
            let (cutoff, actor) = (cutoff.clone(), actor.clone());
            let (n, versions, patients) = self
                .run(move |c| prune_notes_batch(c, &cutoff, &actor))
                .await?;
            report.notes += n;
            report.versions += versions;
            report.patients += patients;
            if n < BATCH {
                break;
            }
        }
        let (deliveries, terms) = self
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let deliveries = tx.execute(
                    "DELETE FROM webhook_deliveries
                      WHERE state IN ('processed', 'failed') AND processed_at < ?1",
                    [&cutoff],
                )?;
                let terms = if report.notes > 0 {
                    prune_terms(&tx)?
                } else {
                    0
                };
                tx.commit()?;
                Ok((deliveries, terms))
            })
            .await?;
        report.deliveries = deliveries;
        report.terms = terms;
        if report.notes > 0 {
            // Merges the index's segments so removed terms leave its b-tree too.
            self.run(|c| {
                c.execute("INSERT INTO notes_fts (notes_fts) VALUES ('optimize')", [])?;
                Ok(())
            })
            .await?;
        }
        Ok(report)
    }
}

fn prune_notes_batch(
    c: &mut Connection,
    cutoff: &str,
    actor: &str,
) -> Result<(usize, usize, usize), InboxError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done: Vec<(i64, String, String, Option<String>)> = {
        let mut st = tx.prepare_cached(
            "SELECT id, uuid, status, patient_uuid FROM notes
              WHERE status IN ('imported', 'dismissed') AND status_changed_at < ?1
              LIMIT ?2",
        )?;
        let rows = st.query_map(params![cutoff, BATCH as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let now = ts(Utc::now());
    let mut versions = 0;
    let mut patients = std::collections::BTreeSet::new();
    for (id, uuid, status, patient) in &done {
        versions += tx
            .prepare_cached("DELETE FROM note_versions WHERE note_uuid = ?1")?
            .execute([uuid])?;
        tx.prepare_cached("DELETE FROM notes_fts WHERE rowid = ?1")?
            .execute([id])?;
        tx.prepare_cached("DELETE FROM notes WHERE id = ?1")?
            .execute([id])?;
        audit(
            &tx,
            uuid,
            &now,
            actor,
            "removed",
            None,
            None,
            &json!({"reason": "retention", "status": status}),
        )?;
        if let Some(p) = patient {
            patients.insert(p.clone());
        }
    }
    let mut removed_patients = 0;
    for p in &patients {
        let still_named: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM notes WHERE patient_uuid = ?1 LIMIT 1")?
            .query_row([p], |r| r.get(0))
            .optional()?;
        if still_named.is_some() {
            crate::store::refresh_patient(&tx, p)?;
        } else {
            removed_patients += tx
                .prepare_cached("DELETE FROM patients WHERE uuid = ?1")?
                .execute([p])?;
        }
    }
    tx.commit()?;
    Ok((done.len(), versions, removed_patients))
}

/// Drops search terms no indexed note uses any more (the type-ahead vocabulary would
/// otherwise keep every word a removed note ever held).
fn prune_terms(tx: &Connection) -> Result<usize, InboxError> {
    tx.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.notes_vocab
             USING fts5vocab(main, 'notes_fts', 'row');",
    )?;
    Ok(tx.execute(
        "DELETE FROM fts_terms WHERE term NOT IN (SELECT term FROM temp.notes_vocab)",
        [],
    )?)
}
