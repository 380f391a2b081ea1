//! Ingest: one idempotent transaction per batch of notes (versions, `revised`, FTS index,
//! patients, audit, and the sync watermark with them).

#[allow(unused_imports)]
use super::*;

/// The folded text indexed for a note: (body, names, pt).
pub(super) fn fts_row(note: &askara::Note) -> (String, String, String) {
    let mut body = String::new();
    if let Some(t) = &note.note_type {
        body.push_str(&fold(&t.replace('_', " ")));
        body.push('\n');
    }
    body.push_str(&fold(&note.content));
    let (names, pt) = match &note.patient {
        Some(p) => {
            let names = [&p.first_name, &p.last_name, &p.external_id]
                .into_iter()
                .flatten()
                .map(|s| fold(s))
                .collect::<Vec<_>>()
                .join(" ");
            let pt = p
                .uuid
                .as_deref()
                .and_then(patient_token)
                .unwrap_or_default();
            (names, pt)
        }
        None => (String::new(), String::new()),
    };
    (body, names, pt)
}

pub(super) fn index_note(
    c: &Connection,
    id: i64,
    note: &askara::Note,
    terms: &mut HashSet<String>,
) -> Result<(), InboxError> {
    let (body, names, pt) = fts_row(note);
    for t in tokens(&body).chain(tokens(&names)) {
        if !terms.contains(t) {
            terms.insert(t.to_string());
        }
    }
    c.prepare_cached("INSERT INTO notes_fts (rowid, body, names, pt) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, body, names, pt])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn audit(
    c: &Connection,
    uuid: &str,
    at: &str,
    actor: &str,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    detail: &Value,
) -> Result<i64, InboxError> {
    // Chained to the previous row, in the caller's write transaction (see `audit_chain`).
    crate::audit_chain::append(c, uuid, at, actor, action, from, to, &detail.to_string())
}

pub(super) fn write_sync_state(
    c: &Connection,
    pairs: &[(String, String)],
    now: &str,
) -> Result<(), InboxError> {
    let mut st = c.prepare_cached(
        "INSERT INTO sync_state (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?;
    for (k, v) in pairs {
        st.execute(params![k, v, now])?;
    }
    Ok(())
}

pub(super) struct Existing {
    id: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_at_raw: String,
    status: Status,
    patient_uuid: Option<String>,
    verified: bool,
}

pub(super) fn ingest_blocking(
    c: &mut Connection,
    notes: Vec<askara::Note>,
    origin: Origin,
    sync_state: Vec<(String, String)>,
) -> Result<IngestReport, InboxError> {
    let source = origin.source;
    let mut report = IngestReport::default();

    let batch = dedupe(notes, &mut report);

    let now = ts(Utc::now());
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut touched_patients: BTreeSet<String> = BTreeSet::new();
    let mut terms: HashSet<String> = HashSet::new();
    let source_detail = json!({ "source": source.as_str() });

    for note in batch {
        if note.uuid.trim().is_empty() {
            return Err(InboxError::InvalidNote {
                uuid: note.uuid,
                reason: "its uuid is empty".into(),
            });
        }
        let existing = tx
            .prepare_cached(
                "SELECT id, created_at, updated_at, updated_at_raw, status, patient_uuid, verified
                   FROM notes WHERE uuid = ?1",
            )?
            .query_row([&note.uuid], |r| {
                Ok(Existing {
                    id: r.get(0)?,
                    created_at: ts_col(r, 1)?,
                    updated_at: ts_col(r, 2)?,
                    updated_at_raw: r.get(3)?,
                    status: r.get(4)?,
                    patient_uuid: r.get(5)?,
                    verified: r.get(6)?,
                })
            })
            .optional()?;
        let author = origin.authors.get(&note.uuid);
        let note_uuid = note.uuid.clone();

        let created_raw = raw_or_rfc3339(note.created_at_raw(), note.created_at);
        let updated_raw = raw_or_rfc3339(note.updated_at_raw(), note.updated_at);
        let patient = note.patient.clone().unwrap_or_default();

        match existing {
            None => {
                let id = free_key(&tx, &note.uuid, note.created_at)?;
                index_note(&tx, id, &note, &mut terms)?;
                let (raw, elided) = elide_content(note.raw, &note.content);
                tx.prepare_cached(
                    "INSERT INTO notes (id, uuid, note_type, content, created_at, updated_at,
                        created_at_raw, updated_at_raw, has_patient, patient_uuid,
                        patient_first_name, patient_last_name, patient_external_id, status,
                        status_changed_at, raw, raw_content_elided, first_seen_at, source,
                        verified, author_user_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'new',
                        ?14, ?15, ?16, ?14, ?17, ?18, ?19)",
                )?
                .execute(params![
                    id,
                    note.uuid,
                    note.note_type,
                    note.content,
                    ts(note.created_at),
                    ts(note.updated_at),
                    created_raw,
                    updated_raw,
                    note.patient.is_some(),
                    patient.uuid,
                    patient.first_name,
                    patient.last_name,
                    patient.external_id,
                    now,
                    raw,
                    elided,
                    source,
                    origin.verified,
                    author,
                ])?;
                audit(
                    &tx,
                    &note.uuid,
                    &now,
                    "sync",
                    "received",
                    None,
                    Some(Status::New),
                    &source_detail,
                )?;
                report.inserted.push(note.uuid);
            }
            // A payload nobody confirmed never changes what Askara's API gave us.
            Some(old) if old.verified && !origin.verified => {
                report.stale += 1;
                continue;
            }
            // Askara's API confirms an unverified payload as it is: only the mark changes.
            Some(old)
                if !old.verified
                    && origin.verified
                    && note.updated_at == old.updated_at
                    && same_content(&tx, old.id, &note)? =>
            {
                tx.prepare_cached(
                    "UPDATE notes SET verified = 1, author_user_id = coalesce(?2, author_user_id)
                      WHERE id = ?1",
                )?
                .execute(params![old.id, author])?;
                report.unchanged += 1;
                continue;
            }
            // Otherwise Askara's version replaces the unverified one whatever its `updatedAt`
            // (a forged far-future one included), kept as an earlier version.
            Some(old) if note.updated_at == old.updated_at && old.verified == origin.verified => {
                report.unchanged += 1;
                continue;
            }
            Some(old) if note.updated_at < old.updated_at && old.verified == origin.verified => {
                report.stale += 1;
                continue;
            }
            Some(old) => {
                // Read before the row is replaced: whether Askara changed the note's patient.
                let patient_changed = crate::patients::revision_changes_patient(
                    &tx,
                    &note.uuid,
                    note.patient.as_ref(),
                )?;
                tx.prepare_cached(
                    "INSERT INTO note_versions (note_uuid, note_type, content, created_at,
                        updated_at, created_at_raw, updated_at_raw, has_patient, patient_uuid,
                        patient_first_name, patient_last_name, patient_external_id, status, raw,
                        raw_content_elided, replaced_at)
                     SELECT uuid, note_type, content, created_at, updated_at, created_at_raw,
                        updated_at_raw, has_patient, patient_uuid, patient_first_name,
                        patient_last_name, patient_external_id, status, raw, raw_content_elided,
                        ?2
                       FROM notes WHERE id = ?1",
                )?
                .execute(params![old.id, now])?;
                let id = if note.created_at == old.created_at {
                    old.id
                } else {
                    free_key(&tx, &note.uuid, note.created_at)?
                };
                tx.prepare_cached("DELETE FROM notes_fts WHERE rowid = ?1")?
                    .execute([old.id])?;
                index_note(&tx, id, &note, &mut terms)?;
                let (raw, elided) = elide_content(note.raw, &note.content);
                tx.prepare_cached(
                    "UPDATE notes SET id = ?2, note_type = ?3, content = ?4, created_at = ?5,
                        updated_at = ?6, created_at_raw = ?7, updated_at_raw = ?8,
                        has_patient = ?9, patient_uuid = ?10, patient_first_name = ?11,
                        patient_last_name = ?12, patient_external_id = ?13, status = 'revised',
                        status_changed_at = ?14, raw = ?15, raw_content_elided = ?16,
                        verified = ?17, author_user_id = coalesce(?18, author_user_id)
                      WHERE id = ?1",
                )?
                .execute(params![
                    old.id,
                    id,
                    note.note_type,
                    note.content,
                    ts(note.created_at),
                    ts(note.updated_at),
                    created_raw,
                    updated_raw,
                    note.patient.is_some(),
                    patient.uuid,
                    patient.first_name,
                    patient.last_name,
                    patient.external_id,
                    now,
                    raw,
                    elided,
                    origin.verified,
                    author,
                ])?;
                let mut detail = json!({
                    "source": source.as_str(),
                    "previousUpdatedAt": old.updated_at_raw,
                    "updatedAt": updated_raw,
                });
                if !old.verified && origin.verified {
                    detail["replacedUnverified"] = json!(true);
                }
                audit(
                    &tx,
                    &note.uuid,
                    &now,
                    "sync",
                    "revised",
                    Some(old.status),
                    Some(Status::Revised),
                    &detail,
                )?;
                // A person's choice of practice patient was for the old patient: it no longer
                // overrides the lookup (undone, never deleted; audited in this transaction).
                if patient_changed {
                    crate::patients::clear_assignment(
                        &tx,
                        &note.uuid,
                        "sync",
                        &now,
                        crate::patients::CLEARED_PATIENT_CHANGED,
                    )?;
                }
                if let Some(p) = old.patient_uuid {
                    touched_patients.insert(p);
                }
                report.revised.push(note.uuid);
            }
        }

        // Reached for inserted and revised notes only.
        if let Some(puuid) = &patient.uuid {
            // A patient not seen before, or one this note describes differently, is asked
            // for (again) at the next poll (`GET /patients/{uuid}`).
            let changed = crate::patients::differs_from_stored(&tx, puuid, &patient)?;
            tx.prepare_cached(
                "INSERT INTO patients (uuid, first_name, last_name, external_id, date_of_birth,
                    updated_at, needs_fetch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
                 ON CONFLICT (uuid) DO UPDATE SET
                    first_name = coalesce(excluded.first_name, first_name),
                    last_name = coalesce(excluded.last_name, last_name),
                    external_id = coalesce(excluded.external_id, external_id),
                    date_of_birth = coalesce(excluded.date_of_birth, date_of_birth),
                    updated_at = excluded.updated_at,
                    needs_fetch = CASE WHEN ?7 THEN 1 ELSE needs_fetch END",
            )?
            .execute(params![
                puuid,
                patient.first_name,
                patient.last_name,
                patient.external_id,
                patient.date_of_birth,
                now,
                changed
            ])?;
            touched_patients.insert(puuid.clone());
        }
        // The identifiers kept with the note: its own, else what is known of its patient.
        crate::patients::keep_identifiers_with_note(&tx, &note_uuid, &patient)?;
    }

    for puuid in &touched_patients {
        refresh_patient(&tx, puuid)?;
    }
    {
        let mut st = tx.prepare_cached("INSERT OR IGNORE INTO fts_terms (term) VALUES (?1)")?;
        for t in &terms {
            st.execute([t])?;
        }
    }
    write_sync_state(&tx, &sync_state, &now)?;
    tx.commit()?;
    tracing::debug!(
        inserted = report.inserted.len(),
        revised = report.revised.len(),
        unchanged = report.unchanged,
        stale = report.stale,
        source = source.as_str(),
        "inbox ingest committed"
    );
    Ok(report)
}

/// Whether the stored note `id` has `note`'s content, type and patient.
/// One note per uuid, the latest `updatedAt` (first on ties), counting the others in `report`
/// (every inbox store dedupes a batch this way before ingesting it).
pub fn dedupe(notes: Vec<askara::Note>, report: &mut IngestReport) -> Vec<askara::Note> {
    let mut batch: Vec<askara::Note> = Vec::with_capacity(notes.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(notes.len());
    for note in notes {
        match seen.get(&note.uuid).and_then(|&i| batch.get_mut(i)) {
            Some(kept) => match note.updated_at.cmp(&kept.updated_at) {
                std::cmp::Ordering::Greater => {
                    *kept = note;
                    report.stale += 1;
                }
                std::cmp::Ordering::Equal => report.unchanged += 1,
                std::cmp::Ordering::Less => report.stale += 1,
            },
            None => {
                seen.insert(note.uuid.clone(), batch.len());
                batch.push(note);
            }
        }
    }
    batch
}

pub(super) fn same_content(
    c: &Connection,
    id: i64,
    note: &askara::Note,
) -> Result<bool, InboxError> {
    let patient = note.patient.clone().unwrap_or_default();
    let same: Option<i64> = c
        .prepare_cached(
            "SELECT 1 FROM notes WHERE id = ?1 AND content = ?2 AND note_type IS ?3
                AND has_patient = ?4 AND patient_uuid IS ?5 AND patient_first_name IS ?6
                AND patient_last_name IS ?7",
        )?
        .query_row(
            params![
                id,
                note.content,
                note.note_type,
                note.patient.is_some(),
                patient.uuid,
                patient.first_name,
                patient.last_name
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(same.is_some())
}

/// Recomputes a patient's note count, latest note time and search text.
pub(crate) fn refresh_patient(c: &Connection, uuid: &str) -> Result<(), InboxError> {
    type Names = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let names: Option<Names> = c
        .prepare_cached(
            "SELECT first_name, last_name, external_id, date_of_birth FROM patients WHERE uuid = ?1",
        )?
        .query_row([uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((first, last, ext, born)) = names else {
        return Ok(());
    };
    // The date of birth too: two patients of one name are told apart by typing it.
    let folded = [first, last, ext, born, Some(uuid.to_string())]
        .into_iter()
        .flatten()
        .map(|s| fold(&s))
        .collect::<Vec<_>>()
        .join(" ");
    c.prepare_cached(
        "UPDATE patients SET
            note_count = (SELECT count(*) FROM notes WHERE patient_uuid = ?1),
            latest_note_at = (SELECT created_at FROM notes WHERE patient_uuid = ?1
                               ORDER BY id DESC LIMIT 1),
            search_folded = ?2
          WHERE uuid = ?1",
    )?
    .execute(params![uuid, folded])?;
    Ok(())
}
