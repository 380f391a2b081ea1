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
use crate::patients::{clear_assignment, refresh_patient, CLEARED_PATIENT_CHANGED};
use crate::pool::PgInbox;

/// Serializes ingests (any 64-bit number no other program uses).
const INGEST_LOCK: i64 = 0x6173_6b61_7261_0002;

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

impl PgInbox {
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
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(self.err("storing notes"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK])
            .await
            .map_err(self.err("waiting for another ingest"))?;
        let uuids: Vec<String> = batch.iter().map(|n| n.uuid.clone()).collect();
        let mut stored = existing(&tx, self, &uuids).await?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        let mut touched_patients: BTreeSet<String> = BTreeSet::new();
        let source_detail = json!({ "source": source.as_str() });

        for note in batch {
            let author = origin.authors.get(&note.uuid);
            let created_raw = raw_or_rfc3339(note.created_at_raw(), note.created_at);
            let updated_raw = raw_or_rfc3339(note.updated_at_raw(), note.updated_at);
            let patient = note.patient.clone().unwrap_or_default();
            let tokens = search_tokens(&note);
            let raw = note.raw.to_string();
            match stored.remove(&note.uuid) {
                None => {
                    tx.execute(
                        "INSERT INTO notes (uuid, note_type, content, created_at, updated_at,
                            created_at_raw, updated_at_raw, has_patient, patient_uuid,
                            patient_first_name, patient_last_name, patient_external_id, status,
                            status_changed_at, status_changed_by, raw, first_seen_at, source,
                            verified, author_user_id, search_doc)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'new',
                            $13, 'sync', $14, $13, $15, $16, $17, array_to_tsvector($18))",
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
                            &patient.external_id,
                            &now,
                            &raw,
                            &source.as_str(),
                            &origin.verified,
                            &author,
                            &tokens,
                        ],
                    )
                    .await
                    .map_err(self.err("storing a new note"))?;
                    audit
                        .append(
                            &tx,
                            self,
                            Row {
                                uuid: &note.uuid,
                                at: &now,
                                actor: "sync",
                                action: "received",
                                from: None,
                                to: Some(Status::New),
                                detail: &source_detail,
                            },
                        )
                        .await?;
                    report.inserted.push(note.uuid.clone());
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
                    continue;
                }
                Some(old)
                    if note.updated_at == old.updated_at && old.verified == origin.verified =>
                {
                    report.unchanged += 1;
                    continue;
                }
                Some(old)
                    if note.updated_at < old.updated_at && old.verified == origin.verified =>
                {
                    report.stale += 1;
                    continue;
                }
                Some(old) => {
                    let patient_changed = old.patient_changed_by(note.patient.as_ref());
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
                            status = 'revised', status_changed_at = $13,
                            status_changed_by = 'sync', raw = $14, verified = $15,
                            author_user_id = coalesce($16, author_user_id),
                            search_doc = array_to_tsvector($17)
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
                            &patient.external_id,
                            &now,
                            &raw,
                            &origin.verified,
                            &author,
                            &tokens,
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
                    audit
                        .append(
                            &tx,
                            self,
                            Row {
                                uuid: &note.uuid,
                                at: &now,
                                actor: "sync",
                                action: "revised",
                                from: Some(old.status),
                                to: Some(Status::Revised),
                                detail: &detail,
                            },
                        )
                        .await?;
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

            // Reached for inserted and revised notes only.
            if let Some(puuid) = &patient.uuid {
                let changed = self.differs_from_stored(&tx, puuid, &patient).await?;
                tx.execute(
                    "INSERT INTO patients (uuid, first_name, last_name, external_id,
                        date_of_birth, updated_at, needs_fetch)
                     VALUES ($1, $2, $3, $4, $5, $6, true)
                     ON CONFLICT (uuid) DO UPDATE SET
                        first_name = coalesce(excluded.first_name, patients.first_name),
                        last_name = coalesce(excluded.last_name, patients.last_name),
                        external_id = coalesce(excluded.external_id, patients.external_id),
                        date_of_birth = coalesce(excluded.date_of_birth, patients.date_of_birth),
                        updated_at = excluded.updated_at,
                        needs_fetch = patients.needs_fetch OR $7",
                    &[
                        puuid,
                        &patient.first_name,
                        &patient.last_name,
                        &patient.external_id,
                        &patient.date_of_birth,
                        &now,
                        &changed,
                    ],
                )
                .await
                .map_err(self.err("storing a patient"))?;
                touched_patients.insert(puuid.clone());
            }
            // The identifiers kept with the note: its own, else what is known of its patient.
            tx.execute(
                "UPDATE notes SET
                    patient_date_of_birth = coalesce($2,
                        (SELECT date_of_birth FROM patients p WHERE p.uuid = notes.patient_uuid)),
                    patient_external_id = coalesce($3,
                        (SELECT external_id FROM patients p WHERE p.uuid = notes.patient_uuid))
                  WHERE uuid = $1",
                &[&note.uuid, &patient.date_of_birth, &patient.external_id],
            )
            .await
            .map_err(self.err("storing a note's patient identifiers"))?;
        }

        for puuid in &touched_patients {
            refresh_patient(&tx, self, puuid).await?;
        }
        write_sync_state(&tx, self, &sync_state, &now).await?;
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("committing notes"))?;
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

    /// Whether `patient` (as a note embeds it) says something else than what is stored, or the
    /// patient is not stored yet.
    async fn differs_from_stored(
        &self,
        tx: &Transaction<'_>,
        uuid: &str,
        patient: &askara::Patient,
    ) -> Result<bool, InboxError> {
        let stored = tx
            .query_opt(
                "SELECT first_name, last_name, external_id, date_of_birth
                   FROM patients WHERE uuid = $1",
                &[&uuid],
            )
            .await
            .map_err(self.err("reading a patient"))?;
        let Some(r) = stored else {
            return Ok(true);
        };
        let differs = |given: &Option<String>, i: usize| {
            let kept: Option<String> = r.get(i);
            given.as_ref().is_some_and(|g| Some(g) != kept.as_ref())
        };
        Ok(differs(&patient.first_name, 0)
            || differs(&patient.last_name, 1)
            || differs(&patient.external_id, 2)
            || differs(&patient.date_of_birth, 3))
    }
}
