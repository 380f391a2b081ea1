//! The inbox's public data types.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::InboxError;

/// Where a note is in the review workflow.
///
/// `new → reviewed → imported`, or `dismissed`; `revised` when Askara changed the note after it
/// arrived (only ingest sets it). See [`Status::can_change_to`] for what staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Reviewed,
    Imported,
    Dismissed,
    Revised,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Reviewed,
        Status::Imported,
        Status::Dismissed,
        Status::Revised,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Reviewed => "reviewed",
            Status::Imported => "imported",
            Status::Dismissed => "dismissed",
            Status::Revised => "revised",
        }
    }

    /// Whether a person may move a note from `self` to `to` (ingest alone sets `revised`).
    /// Same-state is allowed (a no-op). `Err` carries the reason, for the error message.
    pub fn can_change_to(self, to: Status) -> Result<(), &'static str> {
        use Status::*;
        if self == to {
            return Ok(());
        }
        match (self, to) {
            (_, Revised) => Err("only a newer version from Askara marks a note revised"),
            (Imported, New | Reviewed | Dismissed) => Err(
                "the note is already in the practice database; it reopens by itself if Askara revises it",
            ),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = InboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| InboxError::UnknownStatus(s.to_string()))
    }
}

/// Where an ingested note came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Poll,
    Webhook,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Poll => "poll",
            Source::Webhook => "webhook",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = InboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "poll" => Ok(Source::Poll),
            "webhook" => Ok(Source::Webhook),
            _ => Err(InboxError::UnknownSource(s.to_string())),
        }
    }
}

/// What one `ingest` call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// uuids of notes seen for the first time.
    pub inserted: Vec<String>,
    /// uuids of notes whose `updatedAt` moved forward (previous content kept as a version).
    pub revised: Vec<String>,
    /// Notes (or in-batch duplicates) with the `updatedAt` already stored.
    pub unchanged: usize,
    /// Notes (or in-batch duplicates) older than what is stored: ignored.
    pub stale: usize,
}

impl IngestReport {
    /// Whether anything visible changed (the UI refreshes on this).
    pub fn changed(&self) -> bool {
        !self.inserted.is_empty() || !self.revised.is_empty()
    }
}

/// A note as stored in the inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteRecord {
    pub uuid: String,
    pub note_type: Option<String>,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `createdAt` exactly as Askara wrote it.
    pub created_at_raw: String,
    pub updated_at_raw: String,
    pub patient: Option<askara::Patient>,
    pub status: Status,
    /// The note JSON as received (unknown fields included).
    pub raw: Value,
    pub first_seen_at: DateTime<Utc>,
    pub source: Source,
    /// `false`: the content is a webhook payload as delivered, not confirmed by Askara's API.
    pub verified: bool,
    /// The Askara user who recorded the note, when a delivery named them.
    pub author_user_id: Option<String>,
}

/// Where a batch of notes comes from, for [`crate::Inbox::ingest_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub source: Source,
    /// Read from Askara's API (a poll, or a delivery confirmed with `GET /notes/{uuid}`).
    pub verified: bool,
    /// Note uuid → the Askara user who recorded it (a delivery's `resource_metadata.user_id`).
    pub authors: std::collections::HashMap<String, String>,
}

impl Origin {
    /// Notes read from Askara's API.
    pub fn verified(source: Source) -> Origin {
        Origin {
            source,
            verified: true,
            authors: Default::default(),
        }
    }

    /// Webhook payloads stored as delivered (no credentials to confirm them).
    pub fn unverified_webhook() -> Origin {
        Origin {
            source: Source::Webhook,
            verified: false,
            authors: Default::default(),
        }
    }
}

impl NoteRecord {
    /// Askara's own field names, for the CLI's `--json`:
    /// `{"uuid","type","content","createdAt","updatedAt","patient":{"uuid","firstName","lastName","dateOfBirth","externalId"}|null,"status"}`.
    /// `createdAt`/`updatedAt` are the strings as Askara sent them.
    pub fn to_askara_json(&self) -> Value {
        let patient = match &self.patient {
            // The two identifiers besides the name, as Askara names them (`null`: not given).
            Some(p) => json!({"uuid": p.uuid, "firstName": p.first_name, "lastName": p.last_name,
                              "dateOfBirth": p.date_of_birth, "externalId": p.external_id}),
            None => Value::Null,
        };
        json!({
            "uuid": self.uuid,
            "type": self.note_type,
            "content": self.content,
            "createdAt": self.created_at_raw,
            "updatedAt": self.updated_at_raw,
            "patient": patient,
            "status": self.status.as_str(),
            "verified": self.verified,
        })
    }

    /// The note as the Askara client models it, for import.
    pub fn to_note(&self) -> askara::Note {
        askara::Note {
            uuid: self.uuid.clone(),
            note_type: self.note_type.clone(),
            content: self.content.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            patient: self.patient.clone(),
            raw: self.raw.clone(),
        }
    }
}

/// A previous content of a revised note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteVersion {
    pub uuid: String,
    pub note_type: Option<String>,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_at_raw: String,
    pub updated_at_raw: String,
    pub patient: Option<askara::Patient>,
    /// The status the note had when this version was replaced.
    pub status: Status,
    pub raw: Value,
    /// When the newer version arrived.
    pub replaced_at: DateTime<Utc>,
}

/// One audit row: who did what to which note, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub note_uuid: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `received`, `revised`, `status_changed`, or whatever `record_event` was given.
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub detail: Value,
}

/// The outcome of `set_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub uuid: String,
    pub from: Status,
    pub to: Status,
    /// False when the note already had that status (nothing written, no audit row).
    pub changed: bool,
    pub at: DateTime<Utc>,
    /// The audit row written, when `changed`.
    pub audit_id: Option<i64>,
    /// When not `changed`: who gave the note this status, and when (on a shared inbox, the
    /// person who was first), if the trail says.
    pub already_by: Option<String>,
    pub already_at: Option<DateTime<Utc>>,
}

/// Filters for `list`. Newest first (createdAt instant descending, then arrival order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub patient_uuid: Option<String>,
    /// `None`: no limit.
    pub limit: Option<usize>,
    pub offset: usize,
    /// Dates, type, author.
    pub filter: crate::filter::NoteFilter,
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchOrder {
    /// createdAt descending, like `list`.
    #[default]
    Newest,
    /// Best match first (bm25; patient names weigh 4× content). Falls back to `Newest` when
    /// more than [`crate::RELEVANCE_MAX_MATCHES`] notes match, to keep search interactive.
    Relevance,
}

/// Filters for `search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub patient_uuid: Option<String>,
    pub status: Option<Status>,
    /// Default 50.
    pub limit: usize,
    pub order: SearchOrder,
    /// Dates, type, author.
    pub filter: crate::filter::NoteFilter,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            patient_uuid: None,
            status: None,
            limit: 50,
            order: SearchOrder::Newest,
            filter: Default::default(),
        }
    }
}

/// Search results and the order actually used (relevance may fall back to newest).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub notes: Vec<NoteRecord>,
    pub order: SearchOrder,
}

/// A patient seen in the inbox, for the patient list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatientSummary {
    pub uuid: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: Option<String>,
    /// As Askara gives it (`YYYY-MM-DD`); `None`: not given (or not fetched yet).
    pub date_of_birth: Option<String>,
    /// When `GET /patients/{uuid}` last answered for this patient; `None`: not yet.
    pub fetched_at: Option<DateTime<Utc>>,
    pub note_count: u64,
    pub latest_note_at: Option<DateTime<Utc>>,
}

impl PatientSummary {
    /// "Last, First", like `askara::Patient::display_name`.
    pub fn display_name(&self) -> String {
        askara::Patient {
            uuid: Some(self.uuid.clone()),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            ..askara::Patient::default()
        }
        .display_name()
    }
}

/// What `GET /patients/{uuid}` gave, for [`crate::Inbox::record_patient_fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientFetch {
    /// Askara's record of the patient.
    Found(askara::Patient),
    /// Askara has no such patient (404): nothing more to learn; not asked again until a note
    /// says something new about the patient.
    Gone,
    /// The request failed (unreachable, rate limited, refused): asked again at the next poll.
    Failed,
}

/// A note assigned by a person to a patient of the practice database, with the identifiers
/// they were shown when they confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientAssignment {
    pub note_uuid: String,
    /// The practice database's own patient id, as its search query returned it (as text).
    pub practice_patient_id: String,
    pub patient_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub external_id: Option<String>,
    /// The practice database, as displayed (no password).
    pub target: String,
    pub assigned_by: String,
    pub assigned_at: DateTime<Utc>,
    /// Set when the assignment was undone (or replaced by another).
    pub undone_by: Option<String>,
    pub undone_at: Option<DateTime<Utc>>,
}

/// What a person confirmed in "Assign to patient…".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssignment {
    pub practice_patient_id: String,
    pub patient_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub external_id: Option<String>,
    pub target: String,
}
