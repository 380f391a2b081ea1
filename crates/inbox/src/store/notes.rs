//! Reading notes and changing their review state: get, list, status with audit, audit log,
//! versions, patients.

#[allow(unused_imports)]
use super::*;

pub(super) fn get_blocking(c: &Connection, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
    let sql = format!("SELECT {NOTE_COLS}, {RECORD_TAIL} FROM notes n WHERE n.uuid = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row([uuid], note_from_row)
        .optional()?)
}

pub(super) fn list_blocking(c: &Connection, q: &ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
    let (sql, args) = list_sql(q);
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args.iter()), note_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The list's SQL and its arguments (also for its query plan in tests).
pub(super) fn list_sql(q: &ListQuery) -> (String, Vec<Box<dyn ToSql>>) {
    let mut sql = format!("SELECT {NOTE_COLS}, {RECORD_TAIL} FROM notes n WHERE 1");
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(s) = q.status {
        sql.push_str(" AND n.status = ?");
        args.push(Box::new(s));
    }
    if let Some(p) = &q.patient_uuid {
        sql.push_str(" AND n.patient_uuid = ?");
        args.push(Box::new(p.clone()));
    }
    push_filter(
        &q.filter,
        "n.id",
        q.patient_uuid.is_some(),
        &mut sql,
        &mut args,
    );
    sql.push_str(" ORDER BY n.id DESC LIMIT ? OFFSET ?");
    args.push(Box::new(limit_param(q.limit)));
    args.push(Box::new(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    (sql, args)
}

pub(crate) fn note_status(c: &Connection, uuid: &str) -> Result<Option<Status>, InboxError> {
    Ok(
        c.prepare_cached("SELECT status FROM notes WHERE uuid = ?1")?
            .query_row([uuid], |r| r.get(0))
            .optional()?,
    )
}

pub(super) fn set_status_blocking(
    c: &mut Connection,
    uuid: String,
    to: Status,
    actor: &str,
) -> Result<StatusChange, InboxError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let change = change_status(&tx, uuid, to, actor, Utc::now())?;
    tx.commit()?;
    Ok(change)
}

/// Many notes to `to` in one transaction, one audit row per note that moved. A note the rules
/// refuse (unknown, or a transition `set_status` refuses) is that note's `Err` and the others
/// still move; a storage failure writes nothing. A uuid given twice counts once.
pub(super) fn set_statuses_blocking(
    c: &mut Connection,
    uuids: Vec<String>,
    to: Status,
    actor: &str,
) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError> {
    let now = Utc::now();
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(uuids.len());
    for uuid in uuids {
        if !seen.insert(uuid.clone()) {
            continue;
        }
        match change_status(&tx, uuid, to, actor, now) {
            Ok(change) => out.push(Ok(change)),
            Err(e @ (InboxError::NotFound { .. } | InboxError::InvalidTransition { .. })) => {
                out.push(Err(e))
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit()?;
    Ok(out)
}

/// One note's move to `to` inside the caller's transaction: the rules, the update, the audit.
/// Undo of a dismissal gives a revised note its `revised` back: allowed only when the note's
/// latest status change was `revised` → `dismissed` (a person cannot otherwise mark a note
/// revised; only Askara's newer version does).
fn undoes_dismissal_of_revised(
    tx: &Connection,
    uuid: &str,
    from: Status,
    to: Status,
) -> Result<bool, InboxError> {
    if (from, to) != (Status::Dismissed, Status::Revised) {
        return Ok(false);
    }
    let last: Option<(Option<Status>, Option<Status>)> = tx
        .prepare_cached(
            "SELECT from_status, to_status FROM audit_events
              WHERE note_uuid = ?1 AND to_status IS NOT NULL
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row([uuid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(last == Some((Some(Status::Revised), Some(Status::Dismissed))))
}

fn change_status(
    tx: &Connection,
    uuid: String,
    to: Status,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<StatusChange, InboxError> {
    let Some(from) = note_status(tx, &uuid)? else {
        return Err(InboxError::NotFound { uuid });
    };
    if from == to {
        let earlier: Option<(String, DateTime<Utc>)> = tx
            .prepare_cached(
                "SELECT actor, at FROM audit_events WHERE note_uuid = ?1 AND to_status = ?2
                  ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![uuid, to], |r| Ok((r.get(0)?, ts_col(r, 1)?)))
            .optional()?;
        let (already_by, already_at) = earlier.unzip();
        return Ok(StatusChange {
            uuid,
            from,
            to,
            changed: false,
            at: now,
            audit_id: None,
            already_by,
            already_at,
        });
    }
    if let Err(reason) = from.can_change_to(to) {
        if !undoes_dismissal_of_revised(tx, &uuid, from, to)? {
            return Err(InboxError::InvalidTransition {
                uuid,
                from,
                to,
                reason,
            });
        }
    }
    let at = ts(now);
    tx.prepare_cached("UPDATE notes SET status = ?2, status_changed_at = ?3 WHERE uuid = ?1")?
        .execute(params![uuid, to, at])?;
    let id = audit(
        tx,
        &uuid,
        &at,
        actor,
        "status_changed",
        Some(from),
        Some(to),
        &json!({}),
    )?;
    Ok(StatusChange {
        uuid,
        from,
        to,
        changed: true,
        at: now,
        audit_id: Some(id),
        already_by: None,
        already_at: None,
    })
}

pub(super) fn audit_log_blocking(
    c: &Connection,
    uuid: Option<&str>,
    limit: usize,
) -> Result<Vec<AuditEvent>, InboxError> {
    let sql = format!(
        "SELECT id, note_uuid, at, actor, action, from_status, to_status, detail
           FROM audit_events {} ORDER BY id DESC LIMIT ?2",
        if uuid.is_some() {
            "WHERE note_uuid = ?1"
        } else {
            "WHERE ?1 IS NULL"
        }
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![uuid, limit_param(Some(limit))], |r| {
        Ok(AuditEvent {
            id: r.get(0)?,
            note_uuid: r.get(1)?,
            at: ts_col(r, 2)?,
            actor: r.get(3)?,
            action: r.get(4)?,
            from_status: r.get(5)?,
            to_status: r.get(6)?,
            detail: json_col(r, 7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn versions_blocking(
    c: &Connection,
    uuid: &str,
) -> Result<Vec<NoteVersion>, InboxError> {
    let sql = format!(
        "SELECT {}, n.replaced_at FROM note_versions n WHERE n.note_uuid = ?1 ORDER BY n.id",
        NOTE_COLS.replacen("n.uuid", "n.note_uuid", 1)
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map([uuid], version_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn patients_blocking(
    c: &Connection,
    text: Option<&str>,
    limit: usize,
) -> Result<Vec<PatientSummary>, InboxError> {
    let terms = text.map(search_terms).unwrap_or_default();
    let mut sql = String::from(
        "SELECT uuid, first_name, last_name, external_id, note_count, latest_note_at,
                date_of_birth, fetched_at
           FROM patients WHERE 1",
    );
    for _ in &terms {
        sql.push_str(" AND instr(search_folded, ?) > 0");
    }
    sql.push_str(" ORDER BY latest_note_at DESC, uuid LIMIT ?");
    let mut args: Vec<Box<dyn ToSql>> = terms
        .into_iter()
        .map(|t| Box::new(t) as Box<dyn ToSql>)
        .collect();
    args.push(Box::new(limit_param(Some(limit))));
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args.iter()), |r| {
        Ok(PatientSummary {
            uuid: r.get(0)?,
            first_name: r.get(1)?,
            last_name: r.get(2)?,
            external_id: r.get(3)?,
            date_of_birth: r.get(6)?,
            fetched_at: opt_ts_col(r, 7)?,
            note_count: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            latest_note_at: opt_ts_col(r, 5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
