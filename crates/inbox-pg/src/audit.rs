//! The tamper-evident audit trail on PostgreSQL: the SQLite inbox's hash chain and encoding
//! ([`inbox::audit_row_hash`]), one writer at a time (the head row is locked for the rest of the
//! writer's transaction), ids without gaps, and `audit_head` remembering the last row written
//! so rows removed from the end are seen.

use chrono::Utc;
use inbox::{
    AuditBreak, AuditCheck, AuditEvent, AuditProblem, InboxError, Status, AUDIT_GENESIS,
    READ_REPEAT_WINDOW,
};
use serde_json::Value;
use tokio_postgres::Transaction;

use crate::codec::{json, opt_status, parse_ts, ts};
use crate::pool::PgInbox;

/// The chain's end, locked in the writer's transaction until it commits. Rows are numbered and
/// hashed as they are pushed, and written together (one statement) by the next `append`,
/// `flush` or `finish`, so a batch of notes costs one round trip, not one per row.
pub(crate) struct AuditWriter {
    last_id: i64,
    hash: String,
    wrote: bool,
    pending: Pending,
}

/// Rows numbered and hashed, not yet written, column by column (as the INSERT unnests them).
#[derive(Default)]
struct Pending {
    id: Vec<i64>,
    uuid: Vec<String>,
    at: Vec<String>,
    actor: Vec<String>,
    action: Vec<String>,
    from: Vec<Option<&'static str>>,
    to: Vec<Option<&'static str>>,
    detail: Vec<String>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
}

/// One row to append. `actor` is the connected role for a person's action; `sync` and
/// `retention` only for the clinic server's own work (the trigger checks both).
pub(crate) struct Row<'a> {
    pub uuid: &'a str,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub detail: &'a Value,
}

impl AuditWriter {
    /// Locks the chain's end (other writers wait for this transaction). Every transaction that
    /// writes notes, patients or assignments calls this before it locks any of them, so writers
    /// queue here and never hold one row while waiting for another (no deadlock).
    pub(crate) async fn begin(tx: &Transaction<'_>, inbox: &PgInbox) -> Result<Self, InboxError> {
        let r = tx
            .query_one("SELECT last_id, hash FROM audit_head FOR UPDATE", &[])
            .await
            .map_err(inbox.err("locking the audit trail"))?;
        Ok(AuditWriter {
            last_id: r.get(0),
            hash: r.get(1),
            wrote: false,
            pending: Pending::default(),
        })
    }

    /// Numbers and hashes a row; it is written by the next `append`, `flush` or `finish`.
    pub(crate) fn push(&mut self, row: Row<'_>) -> i64 {
        let id = self.last_id + 1;
        let detail = row.detail.to_string();
        let (from, to) = (row.from.map(Status::as_str), row.to.map(Status::as_str));
        let hash = inbox::audit_row_hash(
            &self.hash,
            id,
            [
                Some(row.uuid),
                Some(row.at),
                Some(row.actor),
                Some(row.action),
                from,
                to,
                Some(&detail),
            ],
        );
        let p = &mut self.pending;
        p.id.push(id);
        p.uuid.push(row.uuid.to_string());
        p.at.push(row.at.to_string());
        p.actor.push(row.actor.to_string());
        p.action.push(row.action.to_string());
        p.from.push(from);
        p.to.push(to);
        p.detail.push(detail);
        p.prev_hash
            .push(std::mem::replace(&mut self.hash, hash.clone()));
        p.hash.push(hash);
        self.last_id = id;
        id
    }

    /// Appends a row now (with any pushed before it), for a transaction that reads the trail
    /// after writing to it.
    pub(crate) async fn append(
        &mut self,
        tx: &Transaction<'_>,
        inbox: &PgInbox,
        row: Row<'_>,
    ) -> Result<i64, InboxError> {
        let id = self.push(row);
        self.flush(tx, inbox).await?;
        Ok(id)
    }

    /// Writes the rows pushed so far, in one statement.
    pub(crate) async fn flush(
        &mut self,
        tx: &Transaction<'_>,
        inbox: &PgInbox,
    ) -> Result<(), InboxError> {
        if self.pending.id.is_empty() {
            return Ok(());
        }
        let p = std::mem::take(&mut self.pending);
        tx.execute(
            "INSERT INTO audit_events
               (id, note_uuid, at, actor, action, from_status, to_status, detail, prev_hash, hash)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])",
            &[
                &p.id,
                &p.uuid,
                &p.at,
                &p.actor,
                &p.action,
                &p.from,
                &p.to,
                &p.detail,
                &p.prev_hash,
                &p.hash,
            ],
        )
        .await
        .map_err(inbox.err("writing the audit trail"))?;
        self.wrote = true;
        Ok(())
    }

    /// Writes what is pending and records the new end; call before commit.
    pub(crate) async fn finish(
        mut self,
        tx: &Transaction<'_>,
        inbox: &PgInbox,
    ) -> Result<(), InboxError> {
        self.flush(tx, inbox).await?;
        if self.wrote {
            tx.execute(
                "UPDATE audit_head SET last_id = $1, hash = $2",
                &[&self.last_id, &self.hash],
            )
            .await
            .map_err(inbox.err("writing the audit trail"))?;
        }
        Ok(())
    }
}

impl PgInbox {
    pub(crate) async fn audit_log_pg(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, InboxError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                "SELECT id, note_uuid, at, actor, action, from_status, to_status, detail
                   FROM audit_events WHERE ($1::text IS NULL OR note_uuid = $1)
                  ORDER BY id DESC LIMIT $2",
                &[&uuid, &limit],
            )
            .await
            .map_err(self.err("reading the audit trail"))?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    id: r.get(0),
                    note_uuid: r.get(1),
                    at: parse_ts(r.get(2))?,
                    actor: r.get(3),
                    action: r.get(4),
                    from_status: opt_status(r.get(5))?,
                    to_status: opt_status(r.get(6))?,
                    detail: json(r.get(7))?,
                })
            })
            .collect()
    }

    /// Reads by this role, one row per note unless the role's own read of it is the note's
    /// last row and recent (as the SQLite inbox does).
    pub(crate) async fn record_reads(
        &self,
        uuids: Vec<String>,
        bulk: bool,
    ) -> Result<usize, InboxError> {
        let now = Utc::now();
        let at = ts(now);
        let since = ts(now - READ_REPEAT_WINDOW);
        let detail = if bulk {
            serde_json::json!({"bulk": true})
        } else {
            serde_json::json!({})
        };
        let actor = self.role().to_string();
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("recording a read"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        let mut wrote = 0;
        for uuid in &uuids {
            let exists = tx
                .query_opt("SELECT 1 FROM notes WHERE uuid = $1", &[uuid])
                .await
                .map_err(self.err("recording a read"))?;
            if exists.is_none() {
                return Err(InboxError::NotFound { uuid: uuid.clone() });
            }
            let last = tx
                .query_opt(
                    "SELECT action, actor, at FROM audit_events WHERE note_uuid = $1
                      ORDER BY id DESC LIMIT 1",
                    &[uuid],
                )
                .await
                .map_err(self.err("recording a read"))?;
            if let Some(r) = last {
                let (action, by, when): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                if action == "read" && by == actor && when >= since {
                    continue;
                }
            }
            audit
                .append(
                    &tx,
                    self,
                    Row {
                        uuid,
                        at: &at,
                        actor: &actor,
                        action: "read",
                        from: None,
                        to: None,
                        detail: &detail,
                    },
                )
                .await?;
            wrote += 1;
        }
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("recording a read"))?;
        Ok(wrote)
    }

    /// Checks every row, oldest first, in one snapshot.
    pub(crate) async fn verify_audit_pg(&self) -> Result<AuditCheck, InboxError> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(self.err("checking the audit trail"))?;
        let head = tx
            .query_one("SELECT last_id FROM audit_head", &[])
            .await
            .map_err(self.err("checking the audit trail"))?;
        let head_id: i64 = head.get(0);
        let rows = tx
            .query(
                "SELECT id, note_uuid, at, actor, action, from_status, to_status, detail,
                        prev_hash, hash
                   FROM audit_events ORDER BY id",
                &[],
            )
            .await
            .map_err(self.err("checking the audit trail"))?;
        let mut seen: u64 = 0;
        let mut prev: Option<(i64, String)> = None;
        for r in &rows {
            let id: i64 = r.get(0);
            let expected_id = prev.as_ref().map_or(1, |(p, _)| p + 1);
            if id > expected_id {
                return Ok(AuditCheck::Broken(AuditBreak {
                    id: expected_id,
                    problem: AuditProblem::Missing { last: id - 1 },
                }));
            }
            let cols: [Option<&str>; 7] = [
                r.get(1),
                Some(r.get(2)),
                Some(r.get(3)),
                Some(r.get(4)),
                r.get(5),
                r.get(6),
                Some(r.get(7)),
            ];
            let stored_prev: &str = r.get(8);
            let stored_hash: &str = r.get(9);
            let computed = inbox::audit_row_hash(stored_prev, id, cols);
            if stored_hash != computed {
                return Ok(AuditCheck::Broken(AuditBreak {
                    id,
                    problem: AuditProblem::Altered,
                }));
            }
            let expected_prev = prev.as_ref().map_or(AUDIT_GENESIS, |(_, h)| h.as_str());
            if stored_prev != expected_prev {
                return Ok(AuditCheck::Broken(AuditBreak {
                    id,
                    problem: AuditProblem::ChainBroken {
                        previous: prev.as_ref().map(|(p, _)| *p),
                    },
                }));
            }
            seen += 1;
            prev = Some((id, computed));
        }
        let last = prev.as_ref().map_or(0, |(p, _)| *p);
        if head_id > last {
            return Ok(AuditCheck::Broken(AuditBreak {
                id: last + 1,
                problem: AuditProblem::MissingAtEnd { last: head_id },
            }));
        }
        if head_id < last {
            return Ok(AuditCheck::Broken(AuditBreak {
                id: last,
                problem: AuditProblem::SequenceAltered { seq: head_id },
            }));
        }
        Ok(AuditCheck::Intact {
            rows: seen,
            head: prev.map_or_else(|| AUDIT_GENESIS.to_string(), |(_, h)| h),
        })
    }
}
