//! What the UI receives, in camelCase. Note content is text for `textContent`, never HTML.
//!
//! Over 500 lines with its unit tests (about 110): the view types and the text work that
//! shapes them (search hits, snippets, word diffs) are read together when the UI changes.

use chrono::{DateTime, Utc};
use inbox::{AuditEvent, NoteRecord, PatientSummary};
use serde::Serialize;
use ts_rs::TS;

/// Where a note is in review, as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum NoteStatus {
    New,
    Reviewed,
    Imported,
    Dismissed,
    Revised,
}

impl From<inbox::Status> for NoteStatus {
    fn from(s: inbox::Status) -> Self {
        match s {
            inbox::Status::New => NoteStatus::New,
            inbox::Status::Reviewed => NoteStatus::Reviewed,
            inbox::Status::Imported => NoteStatus::Imported,
            inbox::Status::Dismissed => NoteStatus::Dismissed,
            inbox::Status::Revised => NoteStatus::Revised,
        }
    }
}

/// One row of the list: no content, so a page of rows stays small.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NoteRow {
    pub uuid: String,
    pub patient_name: String,
    pub patient_uuid: Option<String>,
    /// The two identifiers beside the name (`born 1984-03-02 · ID 10023`, `born: not given`);
    /// empty for a note without a patient.
    pub patient_identifiers: String,
    pub patient_date_of_birth: Option<String>,
    pub patient_external_id: Option<String>,
    pub type_label: String,
    pub created_at: DateTime<Utc>,
    pub status: NoteStatus,
    /// `false`: a webhook payload stored as delivered, never confirmed by Askara's API.
    pub verified: bool,
    /// In search results: the patient name with the matched words marked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub name_parts: Option<Vec<TextPart>>,
    /// In search results: the content around its first match, on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub snippet: Option<Vec<TextPart>>,
}

/// A run of text, marked when the search matched it. The UI sets it as text (never HTML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TextPart {
    pub text: String,
    pub hit: bool,
}

/// What changed in a revised note, word by word.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChangesView {
    pub since: ChangesSince,
    /// When that earlier version was last updated in Askara.
    pub since_updated_at: DateTime<Utc>,
    pub parts: Vec<DiffPart>,
}

/// What a word-by-word diff is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ChangesSince {
    /// The version that went into the practice database.
    Imported,
    /// The version before (the note was never imported).
    Previous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    Same,
    Added,
    Removed,
}

impl DiffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Same => "same",
            DiffKind::Added => "added",
            DiffKind::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DiffPart {
    pub kind: DiffKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    pub uuid: String,
    pub patient_name: String,
    pub patient_uuid: Option<String>,
    pub patient_external_id: Option<String>,
    pub patient_date_of_birth: Option<String>,
    /// As in the list: `born 1984-03-02 · ID 10023`; empty without a patient.
    pub patient_identifiers: String,
    /// The practice patient a person assigned the note to, if any.
    pub assignment: Option<crate::patient_views::AssignmentView>,
    /// No patient, a partial one, or none matched at the last import: "Needs patient".
    pub needs_patient: bool,
    /// The mapping has a `[patient_search]`: "Assign to patient…" is offered.
    pub can_assign: bool,
    pub note_type: Option<String>,
    pub type_label: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: NoteStatus,
    /// `false`: a webhook payload stored as delivered, never confirmed by Askara's API.
    pub verified: bool,
    /// The Askara user who recorded the note, when a delivery named them.
    pub author_user_id: Option<String>,
    /// How many earlier versions Askara replaced.
    pub versions: usize,
    /// The latest import attempt, if any.
    pub last_import: Option<ImportView>,
    /// With a search: the content with the matched words marked (absent when nothing matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub content_parts: Option<Vec<TextPart>>,
    /// For a note Askara revised: what changed since the imported (or previous) version.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub changes: Option<ChangesView>,
    /// The content as formatted text: Askara's Markdown as a tree the UI builds elements
    /// from (never HTML); with a search, the matched words marked.
    pub text: Vec<app::note_text::Block>,
    /// Who recorded the note and how it reached this inbox, as far as anyone said.
    pub provenance: app::provenance::Provenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub uuid: String,
    pub result: app::importing::AttemptResult,
    pub target: String,
    pub imported_at: Option<String>,
    pub imported_by: Option<String>,
    pub error: Option<crate::error::CmdError>,
    /// A conflict: revised since (`content`) or filed under another patient (`patient`).
    pub conflict: Option<app::importing::ConflictReason>,
    /// A `patient` conflict: the patient id the practice database files the note under.
    pub held_patient: Option<String>,
}

impl ImportView {
    /// An attempt that failed before the target said anything.
    pub fn failed(uuid: String, target: String, error: crate::error::CmdError) -> Self {
        ImportView {
            uuid,
            result: app::importing::AttemptResult::Error,
            target,
            imported_at: None,
            imported_by: None,
            error: Some(error),
            conflict: None,
            held_patient: None,
        }
    }

    /// What the UI shows of one import attempt.
    pub fn from_attempt(a: app::importing::Attempt) -> Self {
        let d = a.detail;
        ImportView {
            uuid: a.uuid,
            result: d.result,
            target: d.target,
            imported_at: d.imported_at.map(|t| t.to_rfc3339()),
            imported_by: d.imported_by,
            error: a.outcome.err().map(Into::into),
            conflict: d.conflict,
            held_patient: d.held_patient,
        }
    }
}

/// An earlier content of a revised note, as text.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
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

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatientView {
    pub uuid: String,
    pub name: String,
    pub external_id: Option<String>,
    pub date_of_birth: Option<String>,
    /// `born 1984-03-02 · ID 10023`, or `born: not given`.
    pub identifiers: String,
    pub note_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub all: u64,
    pub new: u64,
    pub reviewed: u64,
    pub imported: u64,
    pub dismissed: u64,
    pub revised: u64,
    /// Notes in "Needs patient" (they are in the counts above too).
    pub needs_patient: u64,
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

/// `born … · ID …` for a note's patient; empty without one.
pub fn patient_identifiers(n: &NoteRecord) -> String {
    n.patient
        .as_ref()
        .map(|p| {
            app::patients::askara_identifiers(
                p.date_of_birth.as_deref(),
                p.external_id.as_deref(),
                p.uuid.as_deref(),
            )
        })
        .unwrap_or_default()
}

impl From<&NoteRecord> for NoteRow {
    fn from(n: &NoteRecord) -> Self {
        NoteRow {
            uuid: n.uuid.clone(),
            patient_name: patient_name(n),
            patient_uuid: n.patient.as_ref().and_then(|p| p.uuid.clone()),
            patient_identifiers: patient_identifiers(n),
            patient_date_of_birth: n.patient.as_ref().and_then(|p| p.date_of_birth.clone()),
            patient_external_id: n.patient.as_ref().and_then(|p| p.external_id.clone()),
            type_label: type_label(n.note_type.as_deref()),
            created_at: n.created_at,
            status: n.status.into(),
            verified: n.verified,
            name_parts: None,
            snippet: None,
        }
    }
}

impl NoteRow {
    /// A search result: the name and a snippet of the content with the matches marked.
    pub fn found(n: &NoteRecord, matcher: &inbox::Matcher) -> Self {
        let mut row = NoteRow::from(n);
        row.name_parts = Some(text_parts(&row.patient_name, matcher));
        row.snippet = if matcher.names_only() {
            None
        } else {
            snippet(&n.content, matcher)
        };
        row
    }
}

/// `text` cut into runs, the words the search matched marked.
pub fn text_parts(text: &str, matcher: &inbox::Matcher) -> Vec<TextPart> {
    let mut parts = Vec::new();
    let mut at = 0;
    for r in matcher.ranges(text) {
        if r.start > at {
            parts.push(TextPart {
                text: text[at..r.start].to_string(),
                hit: false,
            });
        }
        parts.push(TextPart {
            text: text[r.clone()].to_string(),
            hit: true,
        });
        at = r.end;
    }
    if at < text.len() || parts.is_empty() {
        parts.push(TextPart {
            text: text[at..].to_string(),
            hit: false,
        });
    }
    parts
}

/// Characters of context kept before the first match and in all, in a snippet.
const SNIPPET_BEFORE: usize = 40;
const SNIPPET_LEN: usize = 140;

/// The content around its first match, whitespace collapsed to single spaces, `…` where cut;
/// `None` when the content has no match (the name matched).
pub fn snippet(content: &str, matcher: &inbox::Matcher) -> Option<Vec<TextPart>> {
    let first = matcher.ranges(content).next()?;
    let start = content[..first.start]
        .char_indices()
        .rev()
        .nth(SNIPPET_BEFORE - 1)
        .map_or(0, |(i, _)| i);
    let end = content[start..]
        .char_indices()
        .nth(SNIPPET_LEN)
        .map_or(content.len(), |(i, _)| start + i);
    let mut text = content[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if start > 0 {
        text.insert(0, '…');
    }
    if end < content.len() {
        text.push('…');
    }
    Some(text_parts(&text, matcher))
}

/// Word-level changes from `old` to `new`, as a reader wants them: each changed passage once
/// as removed then added text, even where the two share a space between words.
pub fn diff_parts(old: &str, new: &str) -> Vec<DiffPart> {
    use similar::ChangeTag;
    let diff = similar::TextDiff::from_words(old, new);
    let ops: Vec<(ChangeTag, &str)> = diff
        .iter_all_changes()
        .map(|c| (c.tag(), c.value()))
        .collect();
    let changed = |i: usize| ops.get(i).is_some_and(|(t, _)| *t != ChangeTag::Equal);
    let mut parts: Vec<DiffPart> = Vec::new();
    let (mut removed, mut added) = (String::new(), String::new());
    let flush = |parts: &mut Vec<DiffPart>, removed: &mut String, added: &mut String| {
        for (kind, text) in [(DiffKind::Removed, removed), (DiffKind::Added, added)] {
            if !text.is_empty() {
                parts.push(DiffPart {
                    kind,
                    text: std::mem::take(text),
                });
            }
        }
    };
    for (i, (tag, text)) in ops.iter().enumerate() {
        match tag {
            ChangeTag::Delete => removed.push_str(text),
            ChangeTag::Insert => added.push_str(text),
            // A lone space inside a changed passage belongs to both sides of it.
            ChangeTag::Equal
                if text.trim().is_empty() && i > 0 && changed(i - 1) && changed(i + 1) =>
            {
                removed.push_str(text);
                added.push_str(text);
            }
            ChangeTag::Equal => {
                flush(&mut parts, &mut removed, &mut added);
                match parts.last_mut() {
                    Some(p) if p.kind == DiffKind::Same => p.text.push_str(text),
                    _ => parts.push(DiffPart {
                        kind: DiffKind::Same,
                        text: text.to_string(),
                    }),
                }
            }
        }
    }
    flush(&mut parts, &mut removed, &mut added);
    parts
}

impl NoteView {
    pub fn new(n: NoteRecord, versions: usize, audit: &[AuditEvent]) -> Self {
        let last_import = audit
            .iter()
            .find(|e| e.action == "import")
            .map(|e| import_from_audit(&n.uuid, &e.detail));
        let provenance = app::provenance::Provenance::of(&n);
        let patient_identifiers = patient_identifiers(&n);
        // As the inbox's "Needs patient" says it: not done yet, and no (whole) patient, or
        // none matched at the last import.
        let open = matches!(
            n.status,
            inbox::Status::New | inbox::Status::Reviewed | inbox::Status::Revised
        );
        let partial = n
            .patient
            .as_ref()
            .is_none_or(|p| p.uuid.is_none() || p.first_name.is_none() || p.last_name.is_none());
        let unmatched = last_import.as_ref().is_some_and(|i| {
            i.error
                .as_ref()
                .is_some_and(|e| e.code == "patient_not_found" || e.code == "patient_ambiguous")
        });
        let needs_patient = open && (partial || unmatched);
        let text = app::note_text::parse(&n.content);
        NoteView {
            patient_name: patient_name(&n),
            patient_uuid: n.patient.as_ref().and_then(|p| p.uuid.clone()),
            patient_external_id: n.patient.as_ref().and_then(|p| p.external_id.clone()),
            patient_date_of_birth: n.patient.as_ref().and_then(|p| p.date_of_birth.clone()),
            patient_identifiers,
            assignment: None,
            needs_patient,
            can_assign: false,
            type_label: type_label(n.note_type.as_deref()),
            note_type: n.note_type,
            content: n.content,
            created_at: n.created_at,
            updated_at: n.updated_at,
            status: n.status.into(),
            verified: n.verified,
            author_user_id: n.author_user_id,
            uuid: n.uuid,
            versions,
            last_import,
            content_parts: None,
            changes: None,
            text,
            provenance,
        }
    }
}

/// What changed in a revised note: since the version last committed to the practice database
/// when the audit log says which one that was, else since the version before.
pub fn changes(
    view: &NoteView,
    versions: &[inbox::NoteVersion],
    audit: &[AuditEvent],
) -> Option<ChangesView> {
    use app::importing::{AttemptResult, ImportDetail};
    // The newest committed import (the log is newest first), and the version it carried.
    let imported_at_version = audit
        .iter()
        .filter(|e| e.action == "import")
        .filter_map(|e| ImportDetail::from_json(&e.detail))
        .find(|d| {
            matches!(
                d.result,
                AttemptResult::Imported | AttemptResult::Unchanged | AttemptResult::Updated
            )
        })
        .and_then(|d| d.note_updated_at);
    let (since, base) = match imported_at_version {
        Some(at) if at >= view.updated_at => return None,
        Some(at) => match versions.iter().rev().find(|v| v.updated_at == at) {
            Some(v) => (ChangesSince::Imported, v),
            None => (ChangesSince::Previous, versions.last()?),
        },
        None => (ChangesSince::Previous, versions.last()?),
    };
    Some(ChangesView {
        since,
        since_updated_at: base.updated_at,
        parts: diff_parts(&base.content, &view.content),
    })
}

/// An import attempt as the audit log recorded it (`app::importing::ImportDetail`).
fn import_from_audit(uuid: &str, d: &serde_json::Value) -> ImportView {
    match app::importing::ImportDetail::from_json(d) {
        Some(d) => ImportView {
            uuid: uuid.to_string(),
            error: (d.result == app::importing::AttemptResult::Error).then(|| {
                crate::error::CmdError::new(
                    d.code.clone().unwrap_or_else(|| "error".into()),
                    d.error.clone().unwrap_or_default(),
                )
            }),
            result: d.result,
            target: d.target,
            imported_at: d.imported_at.map(|t| t.to_rfc3339()),
            imported_by: d.imported_by,
            conflict: d.conflict,
            held_patient: d.held_patient,
        },
        None => ImportView {
            uuid: uuid.to_string(),
            result: app::importing::AttemptResult::Error,
            target: String::new(),
            imported_at: None,
            imported_by: None,
            error: Some(crate::error::CmdError::new(
                "error",
                "this import record cannot be read",
            )),
            conflict: None,
            held_patient: None,
        },
    }
}

impl From<PatientSummary> for PatientView {
    fn from(p: PatientSummary) -> Self {
        let identifiers = app::patients::askara_identifiers(
            p.date_of_birth.as_deref(),
            p.external_id.as_deref(),
            Some(&p.uuid),
        );
        PatientView {
            name: p.display_name(),
            uuid: p.uuid,
            identifiers,
            external_id: p.external_id,
            date_of_birth: p.date_of_birth,
            note_count: p.note_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(query: &str) -> inbox::Matcher {
        inbox::Matcher::new(query).expect("a searchable query")
    }

    fn plain(parts: &[TextPart]) -> (String, Vec<&str>) {
        let text = parts.iter().map(|p| p.text.as_str()).collect();
        let hits = parts
            .iter()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        (text, hits)
    }

    #[test]
    fn text_parts_keep_every_character_and_mark_matches() {
        let name = "Åsa Ødegård-Lund";
        let parts = text_parts(name, &m("odegard"));
        assert_eq!(plain(&parts), (name.to_string(), vec!["Ødegård"]));
        assert_eq!(
            plain(&text_parts(name, &m("x"))),
            (name.to_string(), vec![])
        );
        assert_eq!(
            text_parts("", &m("x")),
            vec![TextPart {
                text: String::new(),
                hit: false
            }]
        );
    }

    #[test]
    fn snippets_are_one_line_around_the_first_match() {
        let long = format!(
            "{}\n\nBP 120/80. Penicillin   allergy noted.\n{}",
            "word ".repeat(40),
            "tail ".repeat(60)
        );
        let s = snippet(&long, &m("penicil")).expect("a match");
        let (text, hits) = plain(&s);
        assert_eq!(hits, vec!["Penicillin"]);
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert!(
            text.contains("BP 120/80. Penicillin allergy noted. tail"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        assert!(text.chars().count() <= SNIPPET_LEN + 2);
        assert_eq!(
            snippet("Short note.", &m("note")).map(|s| plain(&s).0),
            Some("Short note.".into())
        );
        assert_eq!(snippet("Short note.", &m("absent")), None);
    }

    #[test]
    fn diff_marks_added_and_removed_words() {
        let parts = diff_parts(
            "Start amoxicillin 500 mg.\nReview in 2 weeks.",
            "Start amoxicillin 250 mg.\nReview in 2 weeks.",
        );
        let changed: Vec<(&str, &str)> = parts
            .iter()
            .filter(|p| p.kind != DiffKind::Same)
            .map(|p| (p.kind.as_str(), p.text.as_str()))
            .collect();
        assert_eq!(changed, vec![("removed", "500"), ("added", "250")]);
        let rebuilt_new: String = parts
            .iter()
            .filter(|p| p.kind != DiffKind::Removed)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(rebuilt_new, "Start amoxicillin 250 mg.\nReview in 2 weeks.");
        // A passage rewritten: once removed, once added, not interleaved word by word.
        let parts = diff_parts("Knee pain.\nRest and ice.", "Knee pain.\nMRI booked.");
        let changed: Vec<(&str, &str)> = parts
            .iter()
            .filter(|p| p.kind != DiffKind::Same)
            .map(|p| (p.kind.as_str(), p.text.as_str()))
            .collect();
        assert_eq!(
            changed,
            vec![("removed", "Rest and ice."), ("added", "MRI booked.")]
        );
        let old: String = parts
            .iter()
            .filter(|p| p.kind != DiffKind::Added)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(old, "Knee pain.\nRest and ice.");
        assert!(diff_parts("same", "same")
            .iter()
            .all(|p| p.kind == DiffKind::Same));
    }

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
