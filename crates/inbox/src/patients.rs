//! Patients, told apart and matched: the identifiers fetched from Askara's patient resource
//! (date of birth, the practice's external id) kept with every note of the patient, and notes
//! assigned by hand to a patient of the practice database ("Needs patient", "Assign to
//! patient…"), each assignment and each undo audited in the hash-chained trail.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::json;

use crate::model::{NewAssignment, NoteRecord, PatientAssignment, PatientFetch, Status};
use crate::store::{audit, limit_param, note_status, opt_ts_col, refresh_patient, ts, ts_col};
use crate::{Inbox, InboxError};

/// Whether `patient` (as a note embeds it) says something else than what is stored for
/// `uuid`, or the patient is not stored yet. Only what the note gives is compared: a note
/// without a date of birth does not contradict a stored one.
pub(crate) fn differs_from_stored(
    c: &Connection,
    uuid: &str,
    patient: &askara::Patient,
) -> Result<bool, InboxError> {
    type Stored = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let stored: Option<Stored> = c
        .prepare_cached(
            "SELECT first_name, last_name, external_id, date_of_birth FROM patients WHERE uuid = ?1",
        )?
        .query_row([uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((first, last, ext, born)) = stored else {
        return Ok(true);
    };
    let differs = |given: &Option<String>, kept: &Option<String>| {
        given.as_ref().is_some_and(|g| Some(g) != kept.as_ref())
    };
    Ok(differs(&patient.first_name, &first)
        || differs(&patient.last_name, &last)
        || differs(&patient.external_id, &ext)
        || differs(&patient.date_of_birth, &born))
}

/// The note's identifiers: its own date of birth and external id, else its patient's.
pub(crate) fn keep_identifiers_with_note(
    c: &Connection,
    note_uuid: &str,
    patient: &askara::Patient,
) -> Result<(), InboxError> {
    c.prepare_cached(
        "UPDATE notes SET
            patient_date_of_birth = coalesce(?2,
                (SELECT date_of_birth FROM patients p WHERE p.uuid = notes.patient_uuid)),
            patient_external_id = coalesce(?3,
                (SELECT external_id FROM patients p WHERE p.uuid = notes.patient_uuid))
          WHERE uuid = ?1",
    )?
    .execute(params![
        note_uuid,
        patient.date_of_birth,
        patient.external_id
    ])?;
    Ok(())
}

/// Every note of patient `puuid` shows the identifiers of Askara's patient record. A note
/// whose date of birth or external id changes gets an audit row naming which changed (never
/// the values), in the caller's transaction: the external id is the practice lookup key, so a
/// changed key is never silent.
fn align_note_identifiers(
    c: &Connection,
    puuid: &str,
    date_of_birth: Option<&str>,
    external_id: Option<&str>,
    at: &str,
) -> Result<(), InboxError> {
    let changed: Vec<(String, bool, bool)> = {
        let mut st = c.prepare_cached(
            "SELECT uuid, patient_date_of_birth IS NOT ?2, patient_external_id IS NOT ?3
               FROM notes
              WHERE patient_uuid = ?1
                AND (patient_date_of_birth IS NOT ?2 OR patient_external_id IS NOT ?3)",
        )?;
        let rows = st.query_map(params![puuid, date_of_birth, external_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    for (note, born_changed, ext_changed) in changed {
        c.prepare_cached(
            "UPDATE notes SET patient_date_of_birth = ?2, patient_external_id = ?3 WHERE uuid = ?1",
        )?
        .execute(params![note, date_of_birth, external_id])?;
        let mut fields = Vec::new();
        if born_changed {
            fields.push("dateOfBirth");
        }
        if ext_changed {
            fields.push("externalId");
        }
        audit(
            c,
            &note,
            at,
            "sync",
            "patient_identifiers_updated",
            None,
            None,
            &json!({"fields": fields, "source": "patient_record"}),
        )?;
    }
    Ok(())
}

/// The live assignment of a note, if any.
fn live_assignment(c: &Connection, uuid: &str) -> Result<Option<PatientAssignment>, InboxError> {
    Ok(c.prepare_cached(
        "SELECT note_uuid, practice_patient_id, patient_name, date_of_birth, external_id,
                    target, assigned_by, assigned_at, undone_by, undone_at
               FROM patient_assignments WHERE note_uuid = ?1 AND undone_at IS NULL",
    )?
    .query_row([uuid], |r| {
        Ok(PatientAssignment {
            note_uuid: r.get(0)?,
            practice_patient_id: r.get(1)?,
            patient_name: r.get(2)?,
            date_of_birth: r.get(3)?,
            external_id: r.get(4)?,
            target: r.get(5)?,
            assigned_by: r.get(6)?,
            assigned_at: ts_col(r, 7)?,
            undone_by: r.get(8)?,
            undone_at: opt_ts_col(r, 9)?,
        })
    })
    .optional()?)
}

/// An assignment only changes before the note is in the practice database: refused while the
/// note is `imported`, and for good once it ever was (a committed import, or a person marking
/// it imported, audits the move to `imported`), so a later revision (`revised`) cannot reopen
/// the choice an import already used.
fn open_for_assignment(c: &Connection, uuid: &str) -> Result<(), InboxError> {
    let closed = || InboxError::AssignmentClosed {
        uuid: uuid.to_string(),
    };
    match note_status(c, uuid)? {
        None => Err(InboxError::NotFound {
            uuid: uuid.to_string(),
        }),
        Some(Status::Imported) => Err(closed()),
        Some(_) if ever_imported(c, uuid)? => Err(closed()),
        Some(_) => Ok(()),
    }
}

/// Whether the audit trail holds a move of the note to `imported` (by `audit_events_note`).
fn ever_imported(c: &Connection, uuid: &str) -> Result<bool, InboxError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM audit_events WHERE note_uuid = ?1 AND to_status = ?2 LIMIT 1",
    )?
    .query_row(params![uuid, Status::Imported], |_| Ok(()))
    .optional()?
    .is_some())
}

/// Why ingest cleared an assignment (in the audit detail; never a name).
pub(crate) const CLEARED_PATIENT_CHANGED: &str = "patient changed in Askara";

/// Whether the revision `patient` (the note's embedded patient; `None`: none) names another
/// patient than the stored note `uuid`: another uuid, a patient added or removed, other names,
/// or an external id or date of birth given that differs from the one kept with the note.
pub(crate) fn revision_changes_patient(
    c: &Connection,
    uuid: &str,
    patient: Option<&askara::Patient>,
) -> Result<bool, InboxError> {
    type Kept = (
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let kept: Option<Kept> = c
        .prepare_cached(
            "SELECT has_patient, patient_uuid, patient_first_name, patient_last_name,
                    patient_external_id, patient_date_of_birth
               FROM notes WHERE uuid = ?1",
        )?
        .query_row([uuid], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((had, puuid, first, last, ext, born)) = kept else {
        return Ok(false);
    };
    let Some(p) = patient else {
        return Ok(had);
    };
    // The external id and date of birth kept may come from the patient resource: only one the
    // revision gives can contradict them.
    let contradicts = |given: &Option<String>, kept: &Option<String>| {
        given.as_ref().is_some_and(|g| Some(g) != kept.as_ref())
    };
    Ok(!had
        || p.uuid != puuid
        || p.first_name != first
        || p.last_name != last
        || contradicts(&p.external_id, &ext)
        || contradicts(&p.date_of_birth, &born))
}

/// Ingest's side of a revision that changed the patient: the live assignment (a person's
/// choice for the old patient) is marked undone by `actor`, never deleted, and audited
/// (`assignment_cleared`), so the note is matched (or listed in "Needs patient") afresh.
pub(crate) fn clear_assignment(
    c: &Connection,
    uuid: &str,
    actor: &str,
    at: &str,
    reason: &str,
) -> Result<bool, InboxError> {
    let Some(old) = live_assignment(c, uuid)? else {
        return Ok(false);
    };
    undo_live(c, uuid, actor, at)?;
    audit(
        c,
        uuid,
        at,
        actor,
        "assignment_cleared",
        None,
        None,
        &json!({"patientId": old.practice_patient_id, "target": old.target,
                "reason": reason}),
    )?;
    Ok(true)
}

fn undo_live(c: &Connection, uuid: &str, actor: &str, at: &str) -> Result<bool, InboxError> {
    let n = c
        .prepare_cached(
            "UPDATE patient_assignments SET undone_by = ?2, undone_at = ?3
              WHERE note_uuid = ?1 AND undone_at IS NULL",
        )?
        .execute(params![uuid, actor, at])?;
    Ok(n > 0)
}

/// Which notes need a patient, as SQL over `notes n`: not done yet, with no patient, a partial
/// one (no uuid, or a name missing), or a last import refused because the practice database
/// has no (or more than one) match; and not assigned by a person. The first two terms are the
/// partial index `notes_needs_patient` (migration 7), word for word.
pub(crate) const NEEDS_PATIENT: &str = "n.status IN ('new', 'reviewed', 'revised')
    AND (n.has_patient = 0 OR n.patient_uuid IS NULL OR n.patient_first_name IS NULL
         OR n.patient_last_name IS NULL OR n.patient_unmatched = 1)
    AND NOT EXISTS (SELECT 1 FROM patient_assignments a
                     WHERE a.note_uuid = n.uuid AND a.undone_at IS NULL)";

/// Without statistics SQLite would walk every new note by `notes_status_newest`; the partial
/// index holds only the notes in the list (an error, never a full scan, if it stopped fitting).
pub(crate) const NEEDS_PATIENT_INDEX: &str = "INDEXED BY notes_needs_patient";

/// Whether an import attempt's detail says the practice database had no single match.
pub fn unmatched_in(detail: &serde_json::Value) -> bool {
    matches!(
        detail.get("code").and_then(serde_json::Value::as_str),
        Some("patient_not_found" | "patient_ambiguous")
    )
}

impl Inbox {
    /// Patients to ask Askara about (`GET /patients/{uuid}`): not fetched yet or changed,
    /// those never tried first, then the longest untried; at most `limit`.
    pub async fn patients_to_fetch(&self, limit: usize) -> Result<Vec<String>, InboxError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT uuid FROM patients WHERE needs_fetch = 1
                  ORDER BY fetch_tried_at IS NOT NULL, fetch_tried_at, latest_note_at DESC
                  LIMIT ?1",
            )?;
            let rows = st.query_map([limit_param(Some(limit))], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
        .await
    }

    /// Keeps what Askara answered for each patient, in one transaction: a record found is
    /// stored and copied onto the patient's notes (and not asked again while nothing changes);
    /// a patient Askara does not know is not asked again; a failure is retried next poll.
    pub async fn record_patient_fetches(
        &self,
        results: Vec<(String, PatientFetch)>,
        at: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        self.run(move |c| {
            let at = ts(at);
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (uuid, result) in &results {
                match result {
                    PatientFetch::Found(p) => {
                        // Askara's patient record is the truth about its identifiers: a
                        // corrected or removed external id or date of birth replaces (or
                        // clears) what notes embedded, so a wrong id never lingers as the
                        // practice lookup key. Names only fill in (display).
                        tx.prepare_cached(
                            "UPDATE patients SET
                                first_name = coalesce(?2, first_name),
                                last_name = coalesce(?3, last_name),
                                external_id = ?4,
                                date_of_birth = ?5,
                                fetched_at = ?6, fetch_tried_at = ?6, needs_fetch = 0
                              WHERE uuid = ?1",
                        )?
                        .execute(params![
                            uuid,
                            p.first_name,
                            p.last_name,
                            p.external_id,
                            p.date_of_birth,
                            at
                        ])?;
                        align_note_identifiers(
                            &tx,
                            uuid,
                            p.date_of_birth.as_deref(),
                            p.external_id.as_deref(),
                            &at,
                        )?;
                        refresh_patient(&tx, uuid)?;
                    }
                    PatientFetch::Gone => {
                        tx.prepare_cached(
                            "UPDATE patients SET fetch_tried_at = ?2, needs_fetch = 0
                              WHERE uuid = ?1",
                        )?
                        .execute(params![uuid, at])?;
                    }
                    PatientFetch::Failed => {
                        tx.prepare_cached(
                            "UPDATE patients SET fetch_tried_at = ?2 WHERE uuid = ?1",
                        )?
                        .execute(params![uuid, at])?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Assigns a note to a patient of the practice database on behalf of `actor`, audited
    /// (`patient_assigned`: the practice patient id and the target, never a name). A live
    /// assignment is replaced (and audited as undone). Refused once the note is imported.
    pub async fn assign_patient(
        &self,
        uuid: &str,
        choice: NewAssignment,
        actor: &str,
    ) -> Result<PatientAssignment, InboxError> {
        let (uuid, actor) = (uuid.to_string(), actor.to_string());
        self.run(move |c| {
            let now = Utc::now();
            let at = ts(now);
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            open_for_assignment(&tx, &uuid)?;
            if choice.practice_patient_id.trim().is_empty() {
                return Err(InboxError::InvalidNote {
                    uuid,
                    reason: "the practice patient id is empty".into(),
                });
            }
            if let Some(old) = live_assignment(&tx, &uuid)? {
                undo_live(&tx, &uuid, &actor, &at)?;
                audit(
                    &tx,
                    &uuid,
                    &at,
                    &actor,
                    "patient_unassigned",
                    None,
                    None,
                    &json!({"patientId": old.practice_patient_id, "target": old.target,
                            "replaced": true}),
                )?;
            }
            tx.prepare_cached(
                "INSERT INTO patient_assignments (note_uuid, practice_patient_id, patient_name,
                    date_of_birth, external_id, target, assigned_by, assigned_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                uuid,
                choice.practice_patient_id,
                choice.patient_name,
                choice.date_of_birth,
                choice.external_id,
                choice.target,
                actor,
                at
            ])?;
            audit(
                &tx,
                &uuid,
                &at,
                &actor,
                "patient_assigned",
                None,
                None,
                &json!({"patientId": choice.practice_patient_id, "target": choice.target}),
            )?;
            tx.commit()?;
            Ok(PatientAssignment {
                note_uuid: uuid,
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
        })
        .await
    }

    /// Undoes a note's live assignment (the row stays, marked undone), audited
    /// (`patient_unassigned`). `false`: there was none. Refused once the note is imported.
    pub async fn unassign_patient(&self, uuid: &str, actor: &str) -> Result<bool, InboxError> {
        let (uuid, actor) = (uuid.to_string(), actor.to_string());
        self.run(move |c| {
            let at = ts(Utc::now());
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            open_for_assignment(&tx, &uuid)?;
            let Some(old) = live_assignment(&tx, &uuid)? else {
                return Ok(false);
            };
            undo_live(&tx, &uuid, &actor, &at)?;
            audit(
                &tx,
                &uuid,
                &at,
                &actor,
                "patient_unassigned",
                None,
                None,
                &json!({"patientId": old.practice_patient_id, "target": old.target}),
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// The note's live assignment, if any.
    pub async fn patient_assignment(
        &self,
        uuid: &str,
    ) -> Result<Option<PatientAssignment>, InboxError> {
        let uuid = uuid.to_string();
        self.run(move |c| live_assignment(c, &uuid)).await
    }

    /// The live assignments of `uuids` (those that have one), in one read.
    pub async fn patient_assignments(
        &self,
        uuids: Vec<String>,
    ) -> Result<Vec<PatientAssignment>, InboxError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let mut out = Vec::new();
            for uuid in &uuids {
                if let Some(a) = live_assignment(&tx, uuid)? {
                    out.push(a);
                }
            }
            Ok(out)
        })
        .await
    }

    /// "Needs patient": notes not done yet and not assigned, whose patient is missing or
    /// partial, or whose last import found no (or several) practice patients. Newest first.
    pub async fn needs_patient(
        &self,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<NoteRecord>, InboxError> {
        // The list's own "Needs patient" filter: one query for the list, search and CLI.
        self.list(crate::ListQuery {
            status: None,
            patient_uuid: None,
            limit,
            offset,
            filter: crate::NoteFilter {
                needs_patient: true,
                ..Default::default()
            },
        })
        .await
    }

    /// How many notes [`Inbox::needs_patient`] lists.
    pub async fn needs_patient_count(&self) -> Result<u64, InboxError> {
        self.run(|c| {
            let sql =
                format!("SELECT count(*) FROM notes n {NEEDS_PATIENT_INDEX} WHERE {NEEDS_PATIENT}");
            let n: i64 = c.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn needs_patient_walks_its_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(
            dir.path().join("inbox.sqlite3"),
            &crate::InboxKey::from_bytes([7; 32]),
        )
        .unwrap();
        let plan: Vec<String> = inbox
            .run(|c| {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT count(*) FROM notes n {NEEDS_PATIENT_INDEX} WHERE {NEEDS_PATIENT}"
                );
                let mut st = c.prepare(&sql)?;
                let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("notes_needs_patient")),
            "{plan:?}"
        );
    }
}
