//! What the UI receives, in camelCase. Note content is text for `textContent`, never HTML.

use chrono::{DateTime, Utc};
use inbox::{AuditEvent, NoteRecord, PatientSummary};
use serde::Serialize;

/// One row of the list: no content, so a page of rows stays small.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteRow {
    pub uuid: String,
    pub patient_name: String,
    pub patient_uuid: Option<String>,
    pub type_label: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    pub uuid: String,
    pub patient_name: String,
    pub patient_uuid: Option<String>,
    pub patient_external_id: Option<String>,
    pub note_type: Option<String>,
    pub type_label: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: String,
    /// How many earlier versions Askara replaced.
    pub versions: usize,
    /// The latest import attempt, if any.
    pub last_import: Option<ImportView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub uuid: String,
    /// `imported`, `unchanged`, `updated`, `conflict` or `error`.
    pub result: String,
    pub target: String,
    pub imported_at: Option<String>,
    pub imported_by: Option<String>,
    pub error: Option<crate::error::CmdError>,
}

/// An earlier content of a revised note, as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    pub type_label: String,
    pub content: String,
    pub updated_at: DateTime<Utc>,
    /// When Askara's newer version arrived.
    pub replaced_at: DateTime<Utc>,
}

impl From<inbox::NoteVersion> for VersionView {
    fn from(v: inbox::NoteVersion) -> Self {
        VersionView {
            type_label: type_label(v.note_type.as_deref()),
            content: v.content,
            updated_at: v.updated_at,
            replaced_at: v.replaced_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientView {
    pub uuid: String,
    pub name: String,
    pub external_id: Option<String>,
    pub note_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub all: u64,
    pub new: u64,
    pub reviewed: u64,
    pub imported: u64,
    pub dismissed: u64,
    pub revised: u64,
}

/// `consultation_summary` → `Consultation summary`.
pub fn type_label(t: Option<&str>) -> String {
    let t = t.unwrap_or("note").replace(['_', '-'], " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Note".into(),
    }
}

fn patient_name(n: &NoteRecord) -> String {
    match &n.patient {
        Some(p) => {
            let name = p.display_name();
            if name.trim().is_empty() {
                "Unnamed patient".into()
            } else {
                name
            }
        }
        None => "No patient".into(),
    }
}

impl From<&NoteRecord> for NoteRow {
    fn from(n: &NoteRecord) -> Self {
        NoteRow {
            uuid: n.uuid.clone(),
            patient_name: patient_name(n),
            patient_uuid: n.patient.as_ref().and_then(|p| p.uuid.clone()),
            type_label: type_label(n.note_type.as_deref()),
            created_at: n.created_at,
            status: n.status.as_str().into(),
        }
    }
}

impl NoteView {
    pub fn new(n: NoteRecord, versions: usize, audit: &[AuditEvent]) -> Self {
        let last_import = audit
            .iter()
            .find(|e| e.action == "import")
            .map(|e| import_from_audit(&n.uuid, &e.detail));
        NoteView {
            patient_name: patient_name(&n),
            patient_uuid: n.patient.as_ref().and_then(|p| p.uuid.clone()),
            patient_external_id: n.patient.as_ref().and_then(|p| p.external_id.clone()),
            type_label: type_label(n.note_type.as_deref()),
            note_type: n.note_type,
            content: n.content,
            created_at: n.created_at,
            updated_at: n.updated_at,
            status: n.status.as_str().into(),
            uuid: n.uuid,
            versions,
            last_import,
        }
    }
}

/// An import attempt as the audit log recorded it (see `Core::import_note`).
fn import_from_audit(uuid: &str, d: &serde_json::Value) -> ImportView {
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let result = s("result").unwrap_or_else(|| "error".into());
    ImportView {
        uuid: uuid.to_string(),
        error: (result == "error").then(|| {
            crate::error::CmdError::new(
                s("code").unwrap_or_else(|| "error".into()),
                s("error").unwrap_or_default(),
            )
        }),
        result,
        target: s("target").unwrap_or_default(),
        imported_at: s("importedAt"),
        imported_by: s("importedBy"),
    }
}

impl From<PatientSummary> for PatientView {
    fn from(p: PatientSummary) -> Self {
        PatientView {
            name: p.display_name(),
            uuid: p.uuid,
            external_id: p.external_id,
            note_count: p.note_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_labels_read_as_words() {
        assert_eq!(
            type_label(Some("consultation_summary")),
            "Consultation summary"
        );
        assert_eq!(type_label(None), "Note");
        assert_eq!(type_label(Some("")), "Note");
    }
}
