//! What the UI receives about patients to match: a practice patient found by the mapping's
//! `[patient_search]`, and a note's assignment to one. Names and dates are text for
//! `textContent`, never HTML.

use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;

/// A patient of the practice database, as "Assign to patient…" lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CandidateView {
    /// The practice's own patient id (what the import writes).
    pub id: String,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub external_id: Option<String>,
    /// `born 1984-03-02 · ID 10023` (the external id, else the practice id), or
    /// `born: not given · ID …`: always two identifiers besides the name.
    pub identifiers: String,
}

impl From<import::PatientCandidate> for CandidateView {
    fn from(c: import::PatientCandidate) -> Self {
        // Without an external id, the practice's own id is the second identifier.
        let second = c.external_id.clone().unwrap_or_else(|| c.id.clone());
        CandidateView {
            identifiers: app::patients::identifiers(c.date_of_birth.as_deref(), Some(&second)),
            name: c.name.unwrap_or_else(|| "Unnamed patient".into()),
            id: c.id,
            date_of_birth: c.date_of_birth,
            external_id: c.external_id,
        }
    }
}

/// A note's live assignment to a practice patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentView {
    pub patient_id: String,
    /// `Haugen, Ørjan · born 1984-03-02 · ID 10023`, as the person confirmed it.
    pub patient: String,
    pub target: String,
    pub assigned_by: String,
    pub assigned_at: DateTime<Utc>,
}

impl From<inbox::PatientAssignment> for AssignmentView {
    fn from(a: inbox::PatientAssignment) -> Self {
        let second = a
            .external_id
            .clone()
            .unwrap_or_else(|| a.practice_patient_id.clone());
        AssignmentView {
            patient: app::patients::describe(
                a.patient_name.as_deref().unwrap_or(""),
                a.date_of_birth.as_deref(),
                Some(&second),
            ),
            patient_id: a.practice_patient_id,
            target: a.target,
            assigned_by: a.assigned_by,
            assigned_at: a.assigned_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candidate_always_shows_two_identifiers() {
        let c = CandidateView::from(import::PatientCandidate {
            id: "42".into(),
            name: Some("Haugen, Ørjan".into()),
            date_of_birth: None,
            external_id: None,
        });
        assert_eq!(c.identifiers, "born: not given · ID 42");
        let c = CandidateView::from(import::PatientCandidate {
            id: "43".into(),
            name: None,
            date_of_birth: Some("1984-03-02".into()),
            external_id: Some("10023".into()),
        });
        assert_eq!(c.name, "Unnamed patient");
        assert_eq!(c.identifiers, "born 1984-03-02 · ID 10023");
    }
}
