//! Reading notes and changing their review state on the shared inbox: list, search, get,
//! statuses with audit (the actor is the connected role), imports, facets, counts, versions.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use inbox::{
    ImportAttempt, InboxError, ListQuery, NoteFacets, NoteFilter, NoteRecord, NoteVersion,
    SearchOrder, SearchQuery, SearchResults, Status, StatusChange, RELEVANCE_MAX_MATCHES,
};
use serde_json::json;
use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;

use crate::audit::{AuditWriter, Row};
use crate::codec::{limit, record, ts, tsquery, version, NOTE_COLS, RECORD_COLS};
use crate::patients::NEEDS_PATIENT;
use crate::pool::PgInbox;

/// Most distinct values a facet lists (as the SQLite inbox).
const MAX_FACETS: i64 = 501;

type Args = Vec<Box<dyn ToSql + Sync + Send>>;

fn arg(args: &mut Args, v: impl ToSql + Sync + Send + 'static) -> String {
    args.push(Box::new(v));
    format!("${}", args.len())
}

fn refs(args: &Args) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// Conditions on `notes n` for a status, a patient and a filter.
fn push_conditions(
    status: Option<Status>,
    patient: &Option<String>,
    f: &NoteFilter,
    sql: &mut String,
    args: &mut Args,
) {
    if let Some(s) = status {
        let p = arg(args, s.as_str().to_string());
        sql.push_str(&format!(" AND n.status = {p}"));
    }
    if let Some(p) = patient {
        let p = arg(args, p.clone());
        sql.push_str(&format!(" AND n.patient_uuid = {p}"));
    }
    if let Some(t) = f.since {
        let p = arg(args, ts(t));
        sql.push_str(&format!(" AND n.created_at >= {p}"));
    }
    if let Some(t) = f.before {
        let p = arg(args, ts(t));
        sql.push_str(&format!(" AND n.created_at < {p}"));
    }
    if let Some(t) = &f.note_type {
        let p = arg(args, t.clone());
        sql.push_str(&format!(" AND n.note_type = {p}"));
    }
    if let Some(a) = &f.author {
        let p = arg(args, a.clone());
        sql.push_str(&format!(" AND n.author_user_id = {p}"));
    }
    if f.needs_patient {
        sql.push_str(&format!(" AND {NEEDS_PATIENT}"));
    }
}

/// A note's status, the note locked until the transaction ends.
async fn lock_status(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    uuid: &str,
) -> Result<Option<(Status, String, String)>, InboxError> {
    let r = tx
        .query_opt(
            "SELECT status, status_changed_by, status_changed_at FROM notes
              WHERE uuid = $1 FOR UPDATE",
            &[&uuid],
        )
        .await
        .map_err(inbox.err("reading a note"))?;
    r.map(|r| Ok((crate::codec::status(r.get(0))?, r.get(1), r.get(2))))
        .transpose()
}

impl PgInbox {
    pub(crate) async fn get_pg(&self, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
        let c = self.client().await?;
        let r = c
            .query_opt(
                &format!("SELECT {RECORD_COLS} FROM notes n WHERE n.uuid = $1"),
                &[&uuid],
            )
            .await
            .map_err(self.err("reading a note"))?;
        r.as_ref().map(record).transpose()
    }

    pub(crate) async fn list_pg(&self, q: ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
        let mut sql = format!("SELECT {RECORD_COLS} FROM notes n WHERE true");
        let mut args: Args = Vec::new();
        push_conditions(q.status, &q.patient_uuid, &q.filter, &mut sql, &mut args);
        let l = arg(&mut args, limit(q.limit));
        let o = arg(&mut args, i64::try_from(q.offset).unwrap_or(i64::MAX));
        sql.push_str(&format!(
            " ORDER BY n.created_at DESC, n.id DESC LIMIT {l} OFFSET {o}"
        ));
        let c = self.client().await?;
        let rows = c
            .query(&sql, &refs(&args))
            .await
            .map_err(self.err("listing notes"))?;
        rows.iter().map(record).collect()
    }

    pub(crate) async fn search_pg(
        &self,
        text: &str,
        q: SearchQuery,
    ) -> Result<SearchResults, InboxError> {
        let Some(query) = tsquery(text) else {
            return Ok(SearchResults {
                notes: Vec::new(),
                order: q.order,
            });
        };
        let mut args: Args = Vec::new();
        let qp = arg(&mut args, query);
        let mut cond = format!("n.search_doc @@ ({qp}::text)::tsquery");
        push_conditions(q.status, &q.patient_uuid, &q.filter, &mut cond, &mut args);
        let c = self.client().await?;
        let mut order = q.order;
        if order == SearchOrder::Relevance {
            let cap = i64::try_from(RELEVANCE_MAX_MATCHES + 1).unwrap_or(i64::MAX);
            let mut count_args: Args = Vec::new();
            let count_sql = {
                // The same conditions, numbered from $1 again, plus the cap.
                let mut s = String::new();
                let qp = arg(&mut count_args, tsquery(text).unwrap_or_default());
                s.push_str(&format!("n.search_doc @@ ({qp}::text)::tsquery"));
                push_conditions(
                    q.status,
                    &q.patient_uuid,
                    &q.filter,
                    &mut s,
                    &mut count_args,
                );
                let cp = arg(&mut count_args, cap);
                format!("SELECT count(*) FROM (SELECT 1 FROM notes n WHERE {s} LIMIT {cp}) m")
            };
            let n: i64 = c
                .query_one(&count_sql, &refs(&count_args))
                .await
                .map_err(self.err("searching notes"))?
                .get(0);
            if usize::try_from(n).unwrap_or(usize::MAX) > RELEVANCE_MAX_MATCHES {
                order = SearchOrder::Newest;
            }
        }
        let l = arg(&mut args, limit(Some(q.limit)));
        let order_by = match order {
            SearchOrder::Newest => "n.created_at DESC, n.id DESC".to_string(),
            SearchOrder::Relevance => {
                format!("ts_rank(n.search_doc, ({qp}::text)::tsquery) DESC, n.created_at DESC, n.id DESC")
            }
        };
        let sql =
            format!("SELECT {RECORD_COLS} FROM notes n WHERE {cond} ORDER BY {order_by} LIMIT {l}");
        let rows = c
            .query(&sql, &refs(&args))
            .await
            .map_err(self.err("searching notes"))?;
        Ok(SearchResults {
            notes: rows.iter().map(record).collect::<Result<_, _>>()?,
            order,
        })
    }

    pub(crate) async fn set_statuses_pg(
        &self,
        uuids: Vec<String>,
        to: Status,
    ) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError> {
        let now = Utc::now();
        let at = ts(now);
        let actor = self.role().to_string();
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(self.err("changing a note"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(uuids.len());
        for uuid in uuids {
            if !seen.insert(uuid.clone()) {
                continue;
            }
            let Some((from, by, by_at)) = lock_status(&tx, self, &uuid).await? else {
                out.push(Err(InboxError::NotFound { uuid }));
                continue;
            };
            if from == to {
                out.push(Ok(StatusChange {
                    uuid,
                    from,
                    to,
                    changed: false,
                    at: now,
                    audit_id: None,
                    // The person who was first (the row was locked while they changed it).
                    already_by: Some(by),
                    already_at: crate::codec::parse_ts(&by_at).ok(),
                }));
                continue;
            }
            if let Err(reason) = from.can_change_to(to) {
                if !self
                    .undoes_dismissal_of_revised(&tx, &uuid, from, to)
                    .await?
                {
                    out.push(Err(InboxError::InvalidTransition {
                        uuid,
                        from,
                        to,
                        reason,
                    }));
                    continue;
                }
            }
            tx.execute(
                "UPDATE notes SET status = $2, status_changed_at = $3, status_changed_by = $4
                  WHERE uuid = $1",
                &[&uuid, &to.as_str(), &at, &actor],
            )
            .await
            .map_err(self.err("changing a note"))?;
            let id = audit
                .append(
                    &tx,
                    self,
                    Row {
                        uuid: &uuid,
                        at: &at,
                        actor: &actor,
                        action: "status_changed",
                        from: Some(from),
                        to: Some(to),
                        detail: &json!({}),
                    },
                )
                .await?;
            out.push(Ok(StatusChange {
                uuid,
                from,
                to,
                changed: true,
                at: now,
                audit_id: Some(id),
                already_by: None,
                already_at: None,
            }));
        }
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("changing a note"))?;
        Ok(out)
    }

    /// Undo of a dismissal gives a revised note its `revised` back (see the SQLite inbox).
    async fn undoes_dismissal_of_revised(
        &self,
        tx: &Transaction<'_>,
        uuid: &str,
        from: Status,
        to: Status,
    ) -> Result<bool, InboxError> {
        if (from, to) != (Status::Dismissed, Status::Revised) {
            return Ok(false);
        }
        let last = tx
            .query_opt(
                "SELECT from_status, to_status FROM audit_events
                  WHERE note_uuid = $1 AND to_status IS NOT NULL
                  ORDER BY id DESC LIMIT 1",
                &[&uuid],
            )
            .await
            .map_err(self.err("reading the audit trail"))?;
        Ok(last.is_some_and(|r| {
            r.get::<_, Option<&str>>(0) == Some("revised")
                && r.get::<_, Option<&str>>(1) == Some("dismissed")
        }))
    }

    pub(crate) async fn record_imports_pg(
        &self,
        attempts: Vec<ImportAttempt>,
    ) -> Result<usize, InboxError> {
        let actor = self.role().to_string();
        let at = ts(Utc::now());
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("recording an import"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        let mut moved = 0;
        for a in &attempts {
            let Some((from, _, _)) = lock_status(&tx, self, &a.uuid).await? else {
                return Err(InboxError::NotFound {
                    uuid: a.uuid.clone(),
                });
            };
            let moves = a.committed && from != Status::Imported;
            let (from_s, to_s) = if moves {
                (Some(from), Some(Status::Imported))
            } else {
                (None, None)
            };
            audit
                .append(
                    &tx,
                    self,
                    Row {
                        uuid: &a.uuid,
                        at: &at,
                        actor: &actor,
                        action: "import",
                        from: from_s,
                        to: to_s,
                        detail: &a.detail,
                    },
                )
                .await?;
            tx.execute(
                "UPDATE notes SET patient_unmatched = $2 WHERE uuid = $1",
                &[&a.uuid, &inbox::unmatched_in(&a.detail)],
            )
            .await
            .map_err(self.err("recording an import"))?;
            if moves {
                tx.execute(
                    "UPDATE notes SET status = 'imported', status_changed_at = $2,
                            status_changed_by = $3
                      WHERE uuid = $1",
                    &[&a.uuid, &at, &actor],
                )
                .await
                .map_err(self.err("recording an import"))?;
                moved += 1;
            }
        }
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("recording an import"))?;
        Ok(moved)
    }

    pub(crate) async fn facets_pg(&self) -> Result<NoteFacets, InboxError> {
        let c = self.client().await?;
        let mut out = NoteFacets::default();
        for (col, into) in [
            ("note_type", &mut out.note_types),
            ("author_user_id", &mut out.authors),
        ] {
            let rows = c
                .query(
                    &format!(
                        "SELECT DISTINCT {col} FROM notes
                          WHERE {col} IS NOT NULL AND {col} <> '' ORDER BY 1 LIMIT $1"
                    ),
                    &[&MAX_FACETS],
                )
                .await
                .map_err(self.err("listing filter choices"))?;
            *into = rows.iter().map(|r| r.get(0)).collect();
        }
        Ok(out)
    }

    pub(crate) async fn counts_pg(&self) -> Result<BTreeMap<Status, u64>, InboxError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT status, count(*) FROM notes GROUP BY status", &[])
            .await
            .map_err(self.err("counting notes"))?;
        let mut out: BTreeMap<Status, u64> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        for r in rows {
            let s = crate::codec::status(r.get(0))?;
            out.insert(s, u64::try_from(r.get::<_, i64>(1)).unwrap_or(0));
        }
        Ok(out)
    }

    pub(crate) async fn versions_pg(&self, uuid: &str) -> Result<Vec<NoteVersion>, InboxError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT n.note_uuid, {NOTE_COLS}, n.replaced_at FROM note_versions n
                      WHERE n.note_uuid = $1 ORDER BY n.id"
                ),
                &[&uuid],
            )
            .await
            .map_err(self.err("reading a note's versions"))?;
        rows.iter().map(version).collect()
    }
}
