//! Ingest: one idempotent transaction per batch, with the SQLite inbox's rules (versions,
//! `revised`, verified over unverified, patients, audit, and the sync watermark with them).
//! Ingests take turns clinic-wide (a transaction advisory lock), so a poller and webhook
//! workers on several servers never race on one uuid.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use inbox::{InboxError, IngestReport, Origin, Status};
use serde_json::json;
use tokio_postgres::Transaction;

use crate::audit::{AuditWriter, Row};
use crate::codec::{parse_ts, raw_or_rfc3339, search_tokens, ts};
use crate::patients::{clear_assignment, refresh_patients, CLEARED_PATIENT_CHANGED};
use crate::pool::PgInbox;

/// Serializes ingests (any 64-bit number no other program uses).
const INGEST_LOCK: i64 = 0x6173_6b61_7261_0002;

/// An ingest of fewer new notes than this is not a catch-up page (Askara's hold 30 to 100):
/// after it the search index's pending list is merged, so desks search a small one.
const MERGE_BELOW: usize = 10;

/// What ingest needs of a stored note.
struct Existing {
    updated_at: DateTime<Utc>,
    updated_at_raw: String,
    status: Status,
    verified: bool,
    note_type: Option<String>,
    content: String,
    has_patient: bool,
    patient_uuid: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    external_id: Option<String>,
    date_of_birth: Option<String>,
}

impl Existing {
    fn same_content(&self, note: &askara::Note) -> bool {
        let p = note.patient.clone().unwrap_or_default();
        self.content == note.content
            && self.note_type == note.note_type
            && self.has_patient == note.patient.is_some()
            && self.patient_uuid == p.uuid
            && self.first_name == p.first_name
            && self.last_name == p.last_name
    }

    /// Whether the revision names another patient (as `inbox`'s `revision_changes_patient`).
    fn patient_changed_by(&self, patient: Option<&askara::Patient>) -> bool {
        let Some(p) = patient else {
            return self.has_patient;
        };
        let contradicts = |given: &Option<String>, kept: &Option<String>| {
            given.as_ref().is_some_and(|g| Some(g) != kept.as_ref())
        };
        !self.has_patient
            || p.uuid != self.patient_uuid
            || p.first_name != self.first_name
            || p.last_name != self.last_name
            || contradicts(&p.external_id, &self.external_id)
            || contradicts(&p.date_of_birth, &self.date_of_birth)
    }
}

pub(crate) async fn write_sync_state(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    pairs: &[(String, String)],
    now: &str,
) -> Result<(), InboxError> {
    for (k, v) in pairs {
        tx.execute(
            "INSERT INTO sync_state (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                             updated_at = excluded.updated_at",
            &[k, v, &now],
        )
        .await
        .map_err(inbox.err("saving sync progress"))?;
    }
    Ok(())
}

async fn existing(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    uuids: &[String],
) -> Result<HashMap<String, Existing>, InboxError> {
    let rows = tx
        .query(
            "SELECT uuid, created_at, updated_at, updated_at_raw, status, verified, note_type,
                    content, has_patient, patient_uuid, patient_first_name, patient_last_name,
                    patient_external_id, patient_date_of_birth
               FROM notes WHERE uuid = ANY($1) FOR UPDATE",
            &[&uuids],
        )
        .await
        .map_err(inbox.err("reading notes to update"))?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.get::<_, String>(0),
            Existing {
                updated_at: parse_ts(r.get(2))?,
                updated_at_raw: r.get(3),
                status: crate::codec::status(r.get(4))?,
                verified: r.get(5),
                note_type: r.get(6),
                content: r.get(7),
                has_patient: r.get(8),
                patient_uuid: r.get(9),
                first_name: r.get(10),
                last_name: r.get(11),
                external_id: r.get(12),
                date_of_birth: r.get(13),
            },
        );
    }
    Ok(out)
}

/// What this batch knows of a patient it names: as stored (or nothing), then as each note of the
/// batch before it described them, in batch order, so the outcome is the SQLite inbox's
/// note-by-note one while the writes go out as one statement per page.
struct PatientState {
    first_name: Option<String>,
    last_name: Option<String>,
    external_id: Option<String>,
    date_of_birth: Option<String>,
    /// Not stored yet, or some note described them otherwise: ask Askara (again).
    changed: bool,
    /// Some note of the batch names them (their row is written).
    named: bool,
}

impl PatientState {
    /// The patient as a note names them, folded in as the SQLite upsert does (what the note
    /// gives wins, what it leaves out is kept).
    fn take(&mut self, p: &askara::Patient) {
        fn keep(kept: &mut Option<String>, given: &Option<String>) -> bool {
            let Some(g) = given else { return false };
            let differs = kept.as_ref() != Some(g);
            *kept = Some(g.clone());
            differs
        }
        let a = keep(&mut self.first_name, &p.first_name);
        let b = keep(&mut self.last_name, &p.last_name);
        let c = keep(&mut self.external_id, &p.external_id);
        let d = keep(&mut self.date_of_birth, &p.date_of_birth);
        self.changed |= a || b || c || d;
        self.named = true;
    }
}

/// The patients a batch names, read (and locked) once.
async fn patients_named(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    uuids: &[String],
) -> Result<HashMap<String, PatientState>, InboxError> {
    let mut out: HashMap<String, PatientState> = HashMap::with_capacity(uuids.len());
    if uuids.is_empty() {
        return Ok(out);
    }
    let rows = tx
        .query(
            "SELECT uuid, first_name, last_name, external_id, date_of_birth
               FROM patients WHERE uuid = ANY($1) FOR UPDATE",
            &[&uuids],
        )
        .await
        .map_err(inbox.err("reading patients"))?;
    for r in rows {
        out.insert(
            r.get(0),
            PatientState {
                first_name: r.get(1),
                last_name: r.get(2),
                external_id: r.get(3),
                date_of_birth: r.get(4),
                changed: false,
                named: false,
            },
        );
    }
    for u in uuids {
        out.entry(u.clone()).or_insert(PatientState {
            first_name: None,
            last_name: None,
            external_id: None,
            date_of_birth: None,
            changed: true,
            named: false,
        });
    }
    Ok(out)
}

/// The identifiers kept with a note: its own, else what is known of its patient once the note
/// is folded in.
fn identifiers(
    patients: &mut HashMap<String, PatientState>,
    patient: &askara::Patient,
) -> (Option<String>, Option<String>) {
    match patient.uuid.as_ref().and_then(|u| patients.get_mut(u)) {
        Some(state) => {
            state.take(patient);
            (state.external_id.clone(), state.date_of_birth.clone())
        }
        None => (patient.external_id.clone(), patient.date_of_birth.clone()),
    }
}

/// The batch's patients written in one statement (only those a stored or new note names),
/// with their note counts, latest note and search text: call it after the notes are written.
async fn write_patients(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    patients: &HashMap<String, PatientState>,
    now: &str,
) -> Result<Vec<String>, InboxError> {
    let named: Vec<(&String, &PatientState)> = patients.iter().filter(|(_, p)| p.named).collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let uuid: Vec<&str> = named.iter().map(|(u, _)| u.as_str()).collect();
    let col = |f: fn(&PatientState) -> &Option<String>| -> Vec<Option<&str>> {
        named.iter().map(|(_, p)| f(p).as_deref()).collect()
    };
    let changed: Vec<bool> = named.iter().map(|(_, p)| p.changed).collect();
    // The state began as the stored row (locked), so it is what the row holds afterwards.
    let folded: Vec<String> = named
        .iter()
        .map(|(u, p)| {
            let parts = [
                p.first_name.clone(),
                p.last_name.clone(),
                p.external_id.clone(),
                p.date_of_birth.clone(),
            ];
            crate::patients::search_text(u, &parts)
        })
        .collect();
    tx.execute(
        "INSERT INTO patients (uuid, first_name, last_name, external_id, date_of_birth,
            updated_at, needs_fetch, search_folded, note_count, latest_note_at)
         SELECT u, f, l, e, d, $8, c, s,
                (SELECT count(*) FROM notes n WHERE n.patient_uuid = t.u),
                (SELECT max(created_at) FROM notes n WHERE n.patient_uuid = t.u)
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[],
                       $7::text[]) AS t(u, f, l, e, d, c, s)
         ON CONFLICT (uuid) DO UPDATE SET
            first_name = coalesce(excluded.first_name, patients.first_name),
            last_name = coalesce(excluded.last_name, patients.last_name),
            external_id = coalesce(excluded.external_id, patients.external_id),
            date_of_birth = coalesce(excluded.date_of_birth, patients.date_of_birth),
            updated_at = excluded.updated_at,
            needs_fetch = patients.needs_fetch OR excluded.needs_fetch,
            search_folded = excluded.search_folded,
            note_count = excluded.note_count,
            latest_note_at = excluded.latest_note_at",
        &[
            &uuid,
            &col(|p| &p.first_name),
            &col(|p| &p.last_name),
            &col(|p| &p.external_id),
            &col(|p| &p.date_of_birth),
            &changed,
            &folded,
            &now,
        ],
    )
    .await
    .map_err(inbox.err("storing patients"))?;
    Ok(uuid.into_iter().map(str::to_string).collect())
}

/// New notes, column by column, inserted with one statement.
#[derive(Default)]
struct NewNotes {
    uuid: Vec<String>,
    note_type: Vec<Option<String>>,
    content: Vec<String>,
    created_at: Vec<String>,
    updated_at: Vec<String>,
    created_at_raw: Vec<String>,
    updated_at_raw: Vec<String>,
    has_patient: Vec<bool>,
    patient_uuid: Vec<Option<String>>,
    first_name: Vec<Option<String>>,
    last_name: Vec<Option<String>>,
    external_id: Vec<Option<String>>,
    date_of_birth: Vec<Option<String>>,
    raw: Vec<String>,
    author: Vec<Option<String>>,
    /// The search tokens, space-separated (a token never holds a space).
    tokens: Vec<String>,
}

impl NewNotes {
    async fn insert(
        &self,
        tx: &Transaction<'_>,
        inbox: &PgInbox,
        origin: &Origin,
        now: &str,
    ) -> Result<(), InboxError> {
        if self.uuid.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO notes (uuid, note_type, content, created_at, updated_at, created_at_raw,
                updated_at_raw, has_patient, patient_uuid, patient_first_name, patient_last_name,
                patient_external_id, patient_date_of_birth, raw, author_user_id, search_doc,
                status, status_changed_at, status_changed_by, first_seen_at, source, verified)
             SELECT u, ty, c, cr, up, crr, upr, hp, pu, f, l, e, d, raw, a,
                    array_to_tsvector(string_to_array(tok, ' ')), 'new', $17, 'sync', $17, $18,
                    $19
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::text[], $8::bool[], $9::text[], $10::text[],
                           $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                           $16::text[])
                    AS t(u, ty, c, cr, up, crr, upr, hp, pu, f, l, e, d, raw, a, tok)",
            &[
                &self.uuid,
                &self.note_type,
                &self.content,
                &self.created_at,
                &self.updated_at,
                &self.created_at_raw,
                &self.updated_at_raw,
                &self.has_patient,
                &self.patient_uuid,
                &self.first_name,
                &self.last_name,
                &self.external_id,
                &self.date_of_birth,
                &self.raw,
                &self.author,
                &self.tokens,
                &now,
                &origin.source.as_str(),
                &origin.verified,
            ],
        )
        .await
        .map_err(inbox.err("storing new notes"))?;
        Ok(())
    }
}

impl PgInbox {
    /// New notes go out as one statement per table for the whole batch (a page of 100 in a
    /// handful of round trips: the catch-up rate); a revision stays note by note, as it keeps
    /// the previous version and may clear an assignment.
    pub(crate) async fn ingest_pg(
        &self,
        notes: Vec<askara::Note>,
        origin: Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError> {
        let source = origin.source;
        let mut report = IngestReport::default();
        let batch = inbox::dedupe(notes, &mut report);
        if let Some(bad) = batch.iter().find(|n| n.uuid.trim().is_empty()) {
            return Err(InboxError::InvalidNote {
                uuid: bad.uuid.clone(),
                reason: "its uuid is empty".into(),
            });
        }
        let now = ts(Utc::now());
        let uuids: Vec<String> = batch.iter().map(|n| n.uuid.clone()).collect();
        let patient_uuids: Vec<String> = batch
            .iter()
            .filter_map(|n| n.patient.as_ref()?.uuid.clone())
            .collect();
        // The CPU-heavy part (folding every note's text) on a blocking thread, while the
        // transaction begins and reads what is stored.
        let prepared = tokio::task::spawn_blocking(move || {
            let texts: Vec<(String, String)> = batch
                .iter()
                .map(|n| (search_tokens(n).join(" "), n.raw.to_string()))
                .collect();
            (batch, texts)
        });
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(self.err("storing notes"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK])
            .await
            .map_err(self.err("waiting for another ingest"))?;
        // The audit trail's end first, as every writer takes it (see `AuditWriter::begin`).
        let mut audit = AuditWriter::begin(&tx, self).await?;
        let mut stored = existing(&tx, self, &uuids).await?;
        let mut patients = patients_named(&tx, self, &patient_uuids).await?;
        let (batch, texts) = prepared
            .await
            .map_err(|e| InboxError::Task(e.to_string()))?;
        let mut touched_patients: BTreeSet<String> = BTreeSet::new();
        let mut new_notes = NewNotes::default();
        let source_detail = json!({ "source": source.as_str() });

        for (note, (tokens, raw)) in batch.into_iter().zip(texts) {
            let author = origin.authors.get(&note.uuid);
            let created_raw = raw_or_rfc3339(note.created_at_raw(), note.created_at);
            let updated_raw = raw_or_rfc3339(note.updated_at_raw(), note.updated_at);
            let patient = note.patient.clone().unwrap_or_default();
            match stored.remove(&note.uuid) {
                None => {
                    let (external_id, date_of_birth) = identifiers(&mut patients, &patient);
                    audit.push(Row {
                        uuid: &note.uuid,
                        at: &now,
                        actor: "sync",
                        action: "received",
                        from: None,
                        to: Some(Status::New),
                        detail: &source_detail,
                    });
                    report.inserted.push(note.uuid.clone());
                    let n = &mut new_notes;
                    n.tokens.push(tokens);
                    n.note_type.push(note.note_type.clone());
                    n.created_at.push(ts(note.created_at));
                    n.updated_at.push(ts(note.updated_at));
                    n.created_at_raw.push(created_raw);
                    n.updated_at_raw.push(updated_raw);
                    n.has_patient.push(note.patient.is_some());
                    n.patient_uuid.push(patient.uuid);
                    n.first_name.push(patient.first_name);
                    n.last_name.push(patient.last_name);
                    n.external_id.push(external_id);
                    n.date_of_birth.push(date_of_birth);
                    n.raw.push(raw);
                    n.author.push(author.cloned());
                    n.content.push(note.content);
                    n.uuid.push(note.uuid);
                }
                // A payload nobody confirmed never changes what Askara's API gave us.
                Some(old) if old.verified && !origin.verified => {
                    report.stale += 1;
                }
                // Askara's API confirms an unverified payload as it is: only the mark changes.
                Some(old)
                    if !old.verified
                        && origin.verified
                        && note.updated_at == old.updated_at
                        && old.same_content(&note) =>
                {
                    tx.execute(
                        "UPDATE notes SET verified = true,
                                author_user_id = coalesce($2, author_user_id)
                          WHERE uuid = $1",
                        &[&note.uuid, &author],
                    )
                    .await
                    .map_err(self.err("confirming a note"))?;
                    report.unchanged += 1;
                }
                Some(old)
                    if note.updated_at == old.updated_at && old.verified == origin.verified =>
                {
                    report.unchanged += 1;
                }
                Some(old)
                    if note.updated_at < old.updated_at && old.verified == origin.verified =>
                {
                    report.stale += 1;
                }
                Some(old) => {
                    let patient_changed = old.patient_changed_by(note.patient.as_ref());
                    let (external_id, date_of_birth) = identifiers(&mut patients, &patient);
                    tx.execute(
                        "INSERT INTO note_versions (note_uuid, note_type, content, created_at,
                            updated_at, created_at_raw, updated_at_raw, has_patient,
                            patient_uuid, patient_first_name, patient_last_name,
                            patient_external_id, status, raw, replaced_at)
                         SELECT uuid, note_type, content, created_at, updated_at, created_at_raw,
                            updated_at_raw, has_patient, patient_uuid, patient_first_name,
                            patient_last_name, patient_external_id, status, raw, $2
                           FROM notes WHERE uuid = $1",
                        &[&note.uuid, &now],
                    )
                    .await
                    .map_err(self.err("keeping a note's previous version"))?;
                    tx.execute(
                        "UPDATE notes SET note_type = $2, content = $3, created_at = $4,
                            updated_at = $5, created_at_raw = $6, updated_at_raw = $7,
                            has_patient = $8, patient_uuid = $9, patient_first_name = $10,
                            patient_last_name = $11, patient_external_id = $12,
                            patient_date_of_birth = $18,
                            status = 'revised', status_changed_at = $13,
                            status_changed_by = 'sync', raw = $14, verified = $15,
                            author_user_id = coalesce($16, author_user_id),
                            search_doc = array_to_tsvector(string_to_array($17, ' '))
                          WHERE uuid = $1",
                        &[
                            &note.uuid,
                            &note.note_type,
                            &note.content,
                            &ts(note.created_at),
                            &ts(note.updated_at),
                            &created_raw,
                            &updated_raw,
                            &note.patient.is_some(),
                            &patient.uuid,
                            &patient.first_name,
                            &patient.last_name,
                            &external_id,
                            &now,
                            &raw,
                            &origin.verified,
                            &author,
                            &tokens,
                            &date_of_birth,
                        ],
                    )
                    .await
                    .map_err(self.err("storing a revised note"))?;
                    let mut detail = json!({
                        "source": source.as_str(),
                        "previousUpdatedAt": old.updated_at_raw,
                        "updatedAt": updated_raw,
                    });
                    if !old.verified && origin.verified {
                        detail["replacedUnverified"] = json!(true);
                    }
                    audit.push(Row {
                        uuid: &note.uuid,
                        at: &now,
                        actor: "sync",
                        action: "revised",
                        from: Some(old.status),
                        to: Some(Status::Revised),
                        detail: &detail,
                    });
                    if patient_changed {
                        clear_assignment(
                            &tx,
                            self,
                            &mut audit,
                            &note.uuid,
                            "sync",
                            &now,
                            CLEARED_PATIENT_CHANGED,
                        )
                        .await?;
                    }
                    if let Some(p) = old.patient_uuid {
                        touched_patients.insert(p);
                    }
                    report.revised.push(note.uuid.clone());
                }
            }
        }

        new_notes.insert(&tx, self, &origin, &now).await?;
        for written in write_patients(&tx, self, &patients, &now).await? {
            touched_patients.remove(&written);
        }
        // The patients revisions moved notes away from.
        let left: Vec<String> = touched_patients.into_iter().collect();
        refresh_patients(&tx, self, &left).await?;
        write_sync_state(&tx, self, &sync_state, &now).await?;
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("committing notes"))?;
        if report.inserted.len() < MERGE_BELOW {
            // The notes are stored: a merge that fails only leaves searches slower, which is
            // said once (a missing grant or owner would otherwise fail every time, unseen).
            if let Err(e) = c.execute("SELECT merge_search_pending()", &[]).await {
                static SAID: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(
                        error = %crate::error::pg_error(self.display(), "merging the search index's new entries", &e),
                        "the search index's new entries are not merged, so searches slow down until the next VACUUM: run `askara-inbox inbox init` again as the role that owns the clinic inbox"
                    );
                }
            }
        }
        tracing::debug!(
            inserted = report.inserted.len(),
            revised = report.revised.len(),
            unchanged = report.unchanged,
            stale = report.stale,
            source = source.as_str(),
            "clinic inbox ingest committed"
        );
        Ok(report)
    }
}
