//! Notes that need a patient, once for every front-end: which notes ("Needs patient"),
//! searching the practice's own patients through the mapping's `[patient_search]`, and
//! assigning a note to one of them. An assignment records the identifiers the person was
//! shown, is audited, can be undone until the note is imported, and is what the import writes
//! (it wins over `patient_lookup`).

use std::collections::BTreeMap;

use import::{ImportTarget, PatientCandidate};
use inbox::{InboxStore, NewAssignment, NoteRecord, PatientAssignment};

use crate::error::AppError;
use crate::identity::Identity;

/// The practice patient assigned to each of `notes` that has one (note uuid → assignment),
/// for an import into `target` (as [`ImportTarget::describe`] names it), read at once. An
/// assignment made against another database is refused: its patient id means nothing (or
/// someone else) there.
pub async fn assignments_for(
    inbox: &dyn InboxStore,
    notes: &[NoteRecord],
    target: &str,
) -> Result<BTreeMap<String, PatientAssignment>, AppError> {
    let uuids = notes.iter().map(|n| n.uuid.clone()).collect();
    let mut out = BTreeMap::new();
    for a in inbox.patient_assignments(uuids).await? {
        if a.target != target {
            return Err(AppError::Config(format!(
                "note {} was assigned to a patient of {}, not of {target}: undo the assignment and assign it again against this database",
                a.note_uuid, a.target
            )));
        }
        out.insert(a.note_uuid.clone(), a);
    }
    Ok(out)
}

/// The practice's patients matching `text` (blank text: none, without asking the database).
pub async fn search(
    target: &dyn ImportTarget,
    text: &str,
) -> Result<Vec<PatientCandidate>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(target.search_patients(text).await?)
}

/// Assigns note `uuid` to the practice patient `patient_id`, as the search for `search_text`
/// (the id itself when `None`) shows it: the identifiers recorded are the database's, never
/// the caller's. A patient the search does not return is refused.
pub async fn assign(
    inbox: &dyn InboxStore,
    target: &dyn ImportTarget,
    uuid: &str,
    patient_id: &str,
    search_text: Option<&str>,
    who: &Identity,
) -> Result<PatientAssignment, AppError> {
    let patient_id = patient_id.trim();
    if patient_id.is_empty() {
        return Err(AppError::Config("give the practice patient's id".into()));
    }
    if inbox.get(uuid).await?.is_none() {
        return Err(inbox::InboxError::NotFound {
            uuid: uuid.to_string(),
        }
        .into());
    }
    let text = search_text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(patient_id);
    let found = target
        .search_patients(text)
        .await?
        .into_iter()
        .find(|c| c.id == patient_id)
        .ok_or_else(|| {
            AppError::Config(format!(
                "no patient with id {patient_id} is found by the mapping's [patient_search] with that search: check the id, or search by name and pick from the list"
            ))
        })?;
    let choice = NewAssignment {
        practice_patient_id: found.id,
        patient_name: found.name,
        date_of_birth: found.date_of_birth,
        external_id: found.external_id,
        target: target.describe(),
    };
    Ok(inbox.assign_patient(uuid, choice, &who.actor).await?)
}

/// Undoes note `uuid`'s assignment; `false` when it had none. Refused once imported.
pub async fn unassign(
    inbox: &dyn InboxStore,
    uuid: &str,
    who: &Identity,
) -> Result<bool, AppError> {
    if inbox.get(uuid).await?.is_none() {
        return Err(inbox::InboxError::NotFound {
            uuid: uuid.to_string(),
        }
        .into());
    }
    Ok(inbox.unassign_patient(uuid, &who.actor).await?)
}

/// The two identifiers shown beside a patient's name: `born 1984-03-02 · ID 10023`; a date
/// of birth nobody gave says so (`born: not given`), an absent external id is left out.
pub fn identifiers(date_of_birth: Option<&str>, external_id: Option<&str>) -> String {
    let born = match date_of_birth.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!("born {d}"),
        None => "born: not given".to_string(),
    };
    match external_id.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => format!("{born} · ID {e}"),
        None => born,
    }
}

/// [`identifiers`] for an Askara patient: when the practice's id is not given, Askara's own
/// patient id stands in as the second identifier (whole: a prefix could be shared), so two
/// patients of one name with no date of birth and no practice id never look the same.
pub fn askara_identifiers(
    date_of_birth: Option<&str>,
    external_id: Option<&str>,
    askara_uuid: Option<&str>,
) -> String {
    let ids = identifiers(date_of_birth, external_id);
    let has_external = external_id.is_some_and(|e| !e.trim().is_empty());
    match askara_uuid.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) if !has_external => {
            format!("{ids} · Askara {u}")
        }
        _ => ids,
    }
}

/// A patient as every front-end names them: `Haugen, Ørjan · born 1984-03-02 · ID 10023`.
pub fn describe(name: &str, date_of_birth: Option<&str>, external_id: Option<&str>) -> String {
    let name = if name.trim().is_empty() {
        "Unnamed patient"
    } else {
        name
    };
    format!("{name} · {}", identifiers(date_of_birth, external_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_practice_id_askaras_own_id_tells_namesakes_apart() {
        let a = askara_identifiers(None, None, Some("0b1c2d3e-aaaa"));
        let b = askara_identifiers(None, None, Some("9f8e7d6c-bbbb"));
        assert_eq!(a, "born: not given · Askara 0b1c2d3e-aaaa");
        assert_ne!(a, b);
        assert_eq!(
            askara_identifiers(Some("1984-03-02"), Some("10023"), Some("0b1c2d3e")),
            "born 1984-03-02 · ID 10023"
        );
        assert_eq!(askara_identifiers(None, None, None), "born: not given");
    }

    #[test]
    fn identifiers_never_guess() {
        assert_eq!(
            describe("Haugen, Ørjan", Some("1984-03-02"), Some("10023")),
            "Haugen, Ørjan · born 1984-03-02 · ID 10023"
        );
        assert_eq!(identifiers(None, None), "born: not given");
        assert_eq!(
            identifiers(Some(" "), Some("PAT-1")),
            "born: not given · ID PAT-1"
        );
        assert_eq!(
            describe("", Some("2001-01-01"), None),
            "Unnamed patient · born 2001-01-01"
        );
    }
}
