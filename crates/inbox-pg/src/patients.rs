//! Patients on the shared inbox: identifiers fetched from Askara kept with every note, notes
//! assigned by hand to a practice patient, and the patient list, as the SQLite inbox does.

use chrono::{DateTime, Utc};
use inbox::{InboxError, NewAssignment, PatientAssignment, PatientFetch, PatientSummary, Status};
use serde_json::json;
use tokio_postgres::{GenericClient, Transaction};

use crate::audit::{AuditWriter, Row};
use crate::codec::{opt_ts, parse_ts, ts};
use crate::pool::PgInbox;

/// Why ingest cleared an assignment (in the audit detail; never a name).
pub(crate) const CLEARED_PATIENT_CHANGED: &str = "patient changed in Askara";

/// Which notes need a patient, over `notes n` (the partial index `notes_needs_patient` holds
/// the first two terms).
pub(crate) const NEEDS_PATIENT: &str = "n.status IN ('new', 'reviewed', 'revised')
    AND (NOT n.has_patient OR n.patient_uuid IS NULL OR n.patient_first_name IS NULL
         OR n.patient_last_name IS NULL OR n.patient_unmatched)
    AND NOT EXISTS (SELECT 1 FROM patient_assignments a
                     WHERE a.note_uuid = n.uuid AND a.undone_at IS NULL)";

/// What the patient list's search matches: names, identifiers and uuid, folded.
pub(crate) fn search_text(uuid: &str, parts: &[Option<String>; 4]) -> String {
    parts
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(std::iter::once(uuid))
        .map(inbox::fold)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Recomputes patients' note counts, latest note times and search text, in two statements
/// however many there are.
pub(crate) async fn refresh_patients(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    uuids: &[String],
) -> Result<(), InboxError> {
    if uuids.is_empty() {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT uuid, first_name, last_name, external_id, date_of_birth FROM patients
              WHERE uuid = ANY($1)",
            &[&uuids],
        )
        .await
        .map_err(inbox.err("reading patients"))?;
    let mut found = Vec::with_capacity(rows.len());
    let mut folded = Vec::with_capacity(rows.len());
    for r in rows {
        let uuid: String = r.get(0);
        let parts: [Option<String>; 4] = [r.get(1), r.get(2), r.get(3), r.get(4)];
        folded.push(search_text(&uuid, &parts));
        found.push(uuid);
    }
    tx.execute(
        "UPDATE patients p SET note_count = coalesce(c.n, 0), latest_note_at = c.latest,
                search_folded = f.folded
           FROM unnest($1::text[], $2::text[]) AS f(uuid, folded)
           LEFT JOIN (SELECT patient_uuid, count(*) AS n, max(created_at) AS latest
                        FROM notes WHERE patient_uuid = ANY($1) GROUP BY patient_uuid) c
                  ON c.patient_uuid = f.uuid
          WHERE p.uuid = f.uuid",
        &[&found, &folded],
    )
    .await
    .map_err(inbox.err("updating patients"))?;
    Ok(())
}

async fn live_assignment(
    c: &impl GenericClient,
    inbox: &PgInbox,
    uuid: &str,
) -> Result<Option<PatientAssignment>, InboxError> {
    let r = c
        .query_opt(
            "SELECT note_uuid, practice_patient_id, patient_name, date_of_birth, external_id,
                    target, assigned_by, assigned_at, undone_by, undone_at
               FROM patient_assignments WHERE note_uuid = $1 AND undone_at IS NULL",
            &[&uuid],
        )
        .await
        .map_err(inbox.err("reading a patient assignment"))?;
    r.map(|r| {
        Ok(PatientAssignment {
            note_uuid: r.get(0),
            practice_patient_id: r.get(1),
            patient_name: r.get(2),
            date_of_birth: r.get(3),
            external_id: r.get(4),
            target: r.get(5),
            assigned_by: r.get(6),
            assigned_at: parse_ts(r.get(7))?,
            undone_by: r.get(8),
            undone_at: opt_ts(r.get(9))?,
        })
    })
    .transpose()
}

async fn undo_live(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    uuid: &str,
    actor: &str,
    at: &str,
) -> Result<(), InboxError> {
    tx.execute(
        "UPDATE patient_assignments SET undone_by = $2, undone_at = $3
          WHERE note_uuid = $1 AND undone_at IS NULL",
        &[&uuid, &actor, &at],
    )
    .await
    .map_err(inbox.err("undoing a patient assignment"))?;
    Ok(())
}

/// Ingest's side of a revision that changed the patient: the live assignment is undone and
/// audited (`assignment_cleared`).
pub(crate) async fn clear_assignment(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    audit: &mut AuditWriter,
    uuid: &str,
    actor: &str,
    at: &str,
    reason: &str,
) -> Result<bool, InboxError> {
    let Some(old) = live_assignment(tx, inbox, uuid).await? else {
        return Ok(false);
    };
    undo_live(tx, inbox, uuid, actor, at).await?;
    let detail = json!({"patientId": old.practice_patient_id, "target": old.target,
                        "reason": reason});
    audit
        .append(
            tx,
            inbox,
            Row {
                uuid,
                at,
                actor,
                action: "assignment_cleared",
                from: None,
                to: None,
                detail: &detail,
            },
        )
        .await?;
    Ok(true)
}

/// Refused once the note is (or ever was) imported; the note locked for the transaction.
async fn open_for_assignment(
    tx: &Transaction<'_>,
    inbox: &PgInbox,
    uuid: &str,
) -> Result<(), InboxError> {
    let status = tx
        .query_opt(
            "SELECT status FROM notes WHERE uuid = $1 FOR UPDATE",
            &[&uuid],
        )
        .await
        .map_err(inbox.err("reading a note"))?;
    let closed = || InboxError::AssignmentClosed {
        uuid: uuid.to_string(),
    };
    let Some(r) = status else {
        return Err(InboxError::NotFound {
            uuid: uuid.to_string(),
        });
    };
    if crate::codec::status(r.get(0))? == Status::Imported {
        return Err(closed());
    }
    let ever = tx
        .query_opt(
            "SELECT 1 FROM audit_events WHERE note_uuid = $1 AND to_status = 'imported' LIMIT 1",
            &[&uuid],
        )
        .await
        .map_err(inbox.err("reading the audit trail"))?;
    if ever.is_some() {
        return Err(closed());
    }
    Ok(())
}

impl PgInbox {
    pub(crate) async fn patients_pg(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientSummary>, InboxError> {
        let terms = text.as_deref().map(inbox::search_terms).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT uuid, first_name, last_name, external_id, note_count, latest_note_at,
                        date_of_birth, fetched_at
                   FROM patients p
                  WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) t
                                     WHERE strpos(p.search_folded, t) = 0)
                  ORDER BY latest_note_at DESC NULLS LAST, uuid LIMIT $2",
                &[&terms, &limit],
            )
            .await
            .map_err(self.err("listing patients"))?;
        rows.iter()
            .map(|r| {
                Ok(PatientSummary {
                    uuid: r.get(0),
                    first_name: r.get(1),
                    last_name: r.get(2),
                    external_id: r.get(3),
                    note_count: u64::try_from(r.get::<_, i64>(4)).unwrap_or(0),
                    latest_note_at: opt_ts(r.get(5))?,
                    date_of_birth: r.get(6),
                    fetched_at: opt_ts(r.get(7))?,
                })
            })
            .collect()
    }

    pub(crate) async fn patients_to_fetch_pg(
        &self,
        limit: usize,
    ) -> Result<Vec<String>, InboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT uuid FROM patients WHERE needs_fetch
                  ORDER BY fetch_tried_at IS NOT NULL, fetch_tried_at,
                           latest_note_at DESC NULLS LAST
                  LIMIT $1",
                &[&limit],
            )
            .await
            .map_err(self.err("listing patients to fetch"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn record_patient_fetches_pg(
        &self,
        results: Vec<(String, PatientFetch)>,
        at: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        let at = ts(at);
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("storing patients"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        for (uuid, result) in &results {
            match result {
                PatientFetch::Found(p) => {
                    tx.execute(
                        "UPDATE patients SET
                            first_name = coalesce($2, first_name),
                            last_name = coalesce($3, last_name),
                            external_id = $4, date_of_birth = $5,
                            fetched_at = $6, fetch_tried_at = $6, needs_fetch = false
                          WHERE uuid = $1",
                        &[
                            uuid,
                            &p.first_name,
                            &p.last_name,
                            &p.external_id,
                            &p.date_of_birth,
                            &at,
                        ],
                    )
                    .await
                    .map_err(self.err("storing a patient"))?;
                    let changed = tx
                        .query(
                            "SELECT uuid, patient_date_of_birth IS DISTINCT FROM $2,
                                    patient_external_id IS DISTINCT FROM $3
                               FROM notes
                              WHERE patient_uuid = $1
                                AND (patient_date_of_birth IS DISTINCT FROM $2
                                     OR patient_external_id IS DISTINCT FROM $3)",
                            &[uuid, &p.date_of_birth, &p.external_id],
                        )
                        .await
                        .map_err(self.err("reading a patient's notes"))?;
                    for r in changed {
                        let note: String = r.get(0);
                        tx.execute(
                            "UPDATE notes SET patient_date_of_birth = $2, patient_external_id = $3
                              WHERE uuid = $1",
                            &[&note, &p.date_of_birth, &p.external_id],
                        )
                        .await
                        .map_err(self.err("updating a note's patient identifiers"))?;
                        let mut fields = Vec::new();
                        if r.get::<_, bool>(1) {
                            fields.push("dateOfBirth");
                        }
                        if r.get::<_, bool>(2) {
                            fields.push("externalId");
                        }
                        let detail = json!({"fields": fields, "source": "patient_record"});
                        audit
                            .append(
                                &tx,
                                self,
                                Row {
                                    uuid: &note,
                                    at: &at,
                                    actor: "sync",
                                    action: "patient_identifiers_updated",
                                    from: None,
                                    to: None,
                                    detail: &detail,
                                },
                            )
                            .await?;
                    }
                    refresh_patients(&tx, self, std::slice::from_ref(uuid)).await?;
                }
                PatientFetch::Gone => {
                    tx.execute(
                        "UPDATE patients SET fetch_tried_at = $2, needs_fetch = false
                          WHERE uuid = $1",
                        &[uuid, &at],
                    )
                    .await
                    .map_err(self.err("storing a patient"))?;
                }
                PatientFetch::Failed => {
                    tx.execute(
                        "UPDATE patients SET fetch_tried_at = $2 WHERE uuid = $1",
                        &[uuid, &at],
                    )
                    .await
                    .map_err(self.err("storing a patient"))?;
                }
            }
        }
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("storing patients"))?;
        Ok(())
    }

    pub(crate) async fn assign_patient_pg(
        &self,
        uuid: &str,
        choice: NewAssignment,
    ) -> Result<PatientAssignment, InboxError> {
        let actor = self.role().to_string();
        let now = Utc::now();
        let at = ts(now);
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("assigning a patient"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        open_for_assignment(&tx, self, uuid).await?;
        if choice.practice_patient_id.trim().is_empty() {
            return Err(InboxError::InvalidNote {
                uuid: uuid.to_string(),
                reason: "the practice patient id is empty".into(),
            });
        }
        if let Some(old) = live_assignment(&tx, self, uuid).await? {
            undo_live(&tx, self, uuid, &actor, &at).await?;
            let detail = json!({"patientId": old.practice_patient_id, "target": old.target,
                                "replaced": true});
            audit
                .append(
                    &tx,
                    self,
                    Row {
                        uuid,
                        at: &at,
                        actor: &actor,
                        action: "patient_unassigned",
                        from: None,
                        to: None,
                        detail: &detail,
                    },
                )
                .await?;
        }
        tx.execute(
            "INSERT INTO patient_assignments (note_uuid, practice_patient_id, patient_name,
                date_of_birth, external_id, target, assigned_by, assigned_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &uuid,
                &choice.practice_patient_id,
                &choice.patient_name,
                &choice.date_of_birth,
                &choice.external_id,
                &choice.target,
                &actor,
                &at,
            ],
        )
        .await
        .map_err(self.err("assigning a patient"))?;
        let detail = json!({"patientId": choice.practice_patient_id, "target": choice.target});
        audit
            .append(
                &tx,
                self,
                Row {
                    uuid,
                    at: &at,
                    actor: &actor,
                    action: "patient_assigned",
                    from: None,
                    to: None,
                    detail: &detail,
                },
            )
            .await?;
        audit.finish(&tx, self).await?;
        tx.commit().await.map_err(self.err("assigning a patient"))?;
        Ok(PatientAssignment {
            note_uuid: uuid.to_string(),
            practice_patient_id: choice.practice_patient_id,
            patient_name: choice.patient_name,
            date_of_birth: choice.date_of_birth,
            external_id: choice.external_id,
            target: choice.target,
            assigned_by: actor,
            assigned_at: now,
            undone_by: None,
            undone_at: None,
        })
    }

    pub(crate) async fn unassign_patient_pg(&self, uuid: &str) -> Result<bool, InboxError> {
        let actor = self.role().to_string();
        let at = ts(Utc::now());
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("unassigning a patient"))?;
        let mut audit = AuditWriter::begin(&tx, self).await?;
        open_for_assignment(&tx, self, uuid).await?;
        let Some(old) = live_assignment(&tx, self, uuid).await? else {
            return Ok(false);
        };
        undo_live(&tx, self, uuid, &actor, &at).await?;
        let detail = json!({"patientId": old.practice_patient_id, "target": old.target});
        audit
            .append(
                &tx,
                self,
                Row {
                    uuid,
                    at: &at,
                    actor: &actor,
                    action: "patient_unassigned",
                    from: None,
                    to: None,
                    detail: &detail,
                },
            )
            .await?;
        audit.finish(&tx, self).await?;
        tx.commit()
            .await
            .map_err(self.err("unassigning a patient"))?;
        Ok(true)
    }

    pub(crate) async fn patient_assignments_pg(
        &self,
        uuids: Vec<String>,
    ) -> Result<Vec<PatientAssignment>, InboxError> {
        let c = self.client().await?;
        let mut out = Vec::new();
        for uuid in &uuids {
            if let Some(a) = live_assignment(&*c, self, uuid).await? {
                out.push(a);
            }
        }
        Ok(out)
    }

    pub(crate) async fn patient_assignment_pg(
        &self,
        uuid: &str,
    ) -> Result<Option<PatientAssignment>, InboxError> {
        let c = self.client().await?;
        live_assignment(&*c, self, uuid).await
    }

    pub(crate) async fn needs_patient_count_pg(&self) -> Result<u64, InboxError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM notes n WHERE {NEEDS_PATIENT}"),
                &[],
            )
            .await
            .map_err(self.err("counting notes that need a patient"))?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
