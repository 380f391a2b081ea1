//! Importing notes into the practice database, once for every front-end: connecting the
//! target (with the password from the caller, the keyring or `PGPASSWORD`, never from the URL),
//! refusing dismissed notes, writing (one note alone, several as one batch), and recording
//! every attempt that is not a dry run in the inbox's audit log with a typed [`ImportDetail`].

use std::sync::Arc;

use askara::Sensitive;
use chrono::{DateTime, Utc};
use import::{
    ConnectOptions, ImportContext, ImportError, ImportOutcome, ImportResult, ImportTarget, Mapping,
    TargetSpec,
};
use inbox::{InboxStore, NoteRecord, Status};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::identity::Identity;

/// How one attempt ended, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Imported,
    Unchanged,
    Updated,
    Conflict,
    DryRun,
    /// The target failed (unreachable, refused, ...): `code` and `error` say how.
    Error,
}

impl From<ImportResult> for AttemptResult {
    fn from(r: ImportResult) -> Self {
        match r {
            ImportResult::Imported => AttemptResult::Imported,
            ImportResult::Unchanged => AttemptResult::Unchanged,
            ImportResult::Updated => AttemptResult::Updated,
            ImportResult::Conflict => AttemptResult::Conflict,
            ImportResult::DryRun => AttemptResult::DryRun,
        }
    }
}

impl AttemptResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Imported => "imported",
            AttemptResult::Unchanged => "unchanged",
            AttemptResult::Updated => "updated",
            AttemptResult::Conflict => "conflict",
            AttemptResult::DryRun => "dry_run",
            AttemptResult::Error => "error",
        }
    }
}

/// Why a `conflict` wrote nothing, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    /// Askara revised the note after it went into the practice database.
    Content,
    /// The practice database holds the note under another patient.
    Patient,
}

impl From<import::ConflictKind> for ConflictReason {
    fn from(k: import::ConflictKind) -> Self {
        match k {
            import::ConflictKind::Content => ConflictReason::Content,
            import::ConflictKind::Patient => ConflictReason::Patient,
        }
    }
}

/// The audit record of one import attempt (`audit_events.detail` of action `import`). Never
/// note content or patient names. Records written before this type have some fields missing;
/// they read as `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportDetail {
    /// The target as displayed (no password).
    pub target: String,
    pub result: AttemptResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<DateTime<Utc>>,
    /// Who the target says imported the row (ours, or an earlier importer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_by: Option<String>,
    /// The note's `updatedAt` at the attempt: a later revision shows what changed since the
    /// version that went into the practice database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A conflict: Askara revised the note since (`content`), or the target's row is filed
    /// under another patient (`patient`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictReason>,
    /// A `patient` conflict: the practice patient id (else Askara patient uuid) the target's
    /// row is filed under. An id, never a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_patient: Option<String>,
}

impl ImportDetail {
    /// Reads a stored detail; `None` when it is not one (a foreign or damaged record).
    pub fn from_json(v: &serde_json::Value) -> Option<ImportDetail> {
        serde_json::from_value(v.clone()).ok()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Overwrite a row whose note Askara revised since it was imported.
    pub allow_update: bool,
    /// Write nothing; report what would be written (not audited).
    pub dry_run: bool,
}

/// One note's attempt.
#[derive(Debug)]
pub struct Attempt {
    pub uuid: String,
    pub outcome: Result<ImportOutcome, ImportError>,
    pub detail: ImportDetail,
    /// The practice patient a person assigned the note to, which the import wrote.
    pub assigned: Option<inbox::PatientAssignment>,
}

/// Connects the import target `target_url` (`sqlite:PATH` or `postgres://…`), onto the mapping
/// in `mapping_file` when given. A PostgreSQL password is, in order: `password`, the one kept
/// in the keyring for this target, `PGPASSWORD` (a URL holding one is refused).
pub async fn connect(
    target_url: &str,
    mapping_file: Option<&std::path::Path>,
    password: Option<Sensitive<String>>,
) -> Result<Arc<dyn ImportTarget>, AppError> {
    let mut spec = TargetSpec::parse(target_url.trim())?;
    if matches!(spec, TargetSpec::Postgres(_)) {
        let pw = match password {
            Some(p) if !p.expose().is_empty() => Some(p.expose().clone()),
            _ => stored_password(&spec.display(), target_url.contains("sslmode=")),
        };
        if let Some(pw) = pw {
            spec = spec.with_password(pw);
        }
    }
    let mapping = match mapping_file {
        Some(path) if !path.as_os_str().is_empty() => Some(Mapping::load(path)?),
        _ => None,
    };
    Ok(Arc::from(
        import::connect(&spec, mapping, ConnectOptions::default()).await?,
    ))
}

/// The password the OS keyring keeps for a PostgreSQL server as [`TargetSpec::display`] shows
/// it (`display`): an import target's, and the clinic inbox's (`app::inbox_store`), found the
/// same way. When the URL wrote no sslmode (`sslmode_written` false), also one kept before
/// verify-full became the default, under the server as displayed then (`?sslmode=prefer`).
/// A keyring that does not answer is no error here (a server without one uses PGPASSWORD or
/// trust authentication); the database says if it wanted a password.
pub fn stored_password(display: &str, sslmode_written: bool) -> Option<String> {
    if let Some(p) = keyring_password(display) {
        return Some(p);
    }
    if sslmode_written {
        return None;
    }
    let base = display.split_once("?sslmode=").map_or(display, |(b, _)| b);
    keyring_password(&format!("{base}?sslmode=prefer"))
}

fn keyring_password(target: &str) -> Option<String> {
    match secrets::KeyringPassword::open(&secrets::password_account(target)).and_then(|k| k.get()) {
        Ok(p) => p.map(|p| p.expose().clone()),
        Err(e) => {
            tracing::debug!(error = %e, "no keyring for the database password");
            None
        }
    }
}

/// Keeps `password` in the keyring for `target_url` (PostgreSQL only), where [`connect`] finds
/// it: never in a settings file.
pub fn remember_password(target_url: &str, password: &Sensitive<String>) -> Result<(), AppError> {
    let spec = TargetSpec::parse(target_url.trim())?;
    if spec.kind() != "postgres" {
        return Err(AppError::Config(
            "a password is only used for a PostgreSQL target".into(),
        ));
    }
    secrets::KeyringPassword::open(&secrets::password_account(&spec.display()))
        .and_then(|k| k.set(password))
        .map_err(AppError::Keyring)
}

/// A dismissed note is not imported: front-ends check before connecting the target, and
/// [`import_notes`] checks again.
pub fn refuse_dismissed(notes: &[NoteRecord]) -> Result<(), AppError> {
    match notes.iter().find(|n| n.status == Status::Dismissed) {
        Some(n) => Err(AppError::Dismissed {
            uuid: n.uuid.clone(),
        }),
        None => Ok(()),
    }
}

/// Imports `notes` into `target` and records each attempt (unless a dry run) in one audit
/// transaction. A dismissed note stops the whole call before anything is written. Target
/// failures per note come back in the attempts; a batch the target could not take at all
/// (connection lost before any note) is the error.
pub async fn import_notes(
    inbox: &dyn InboxStore,
    target: &dyn ImportTarget,
    notes: &[NoteRecord],
    opts: ImportOptions,
    who: &Identity,
) -> Result<Vec<Attempt>, AppError> {
    refuse_dismissed(notes)?;
    let mut assigned = crate::patients::assignments_for(inbox, notes, &target.describe()).await?;
    let ctx = ImportContext {
        user: who.actor.clone(),
        workstation: who.workstation.clone(),
        allow_update: opts.allow_update,
        dry_run: opts.dry_run,
        // A person's choice of practice patient wins over the mapping's patient_lookup.
        patient_ids: assigned
            .iter()
            .map(|(uuid, a)| (uuid.clone(), a.practice_patient_id.clone()))
            .collect(),
    };
    let described = target.describe();
    let askara_notes: Vec<askara::Note> = notes.iter().map(NoteRecord::to_note).collect();
    let outcomes = match askara_notes.as_slice() {
        [] => Vec::new(),
        [one] => vec![target.import(one, &ctx).await],
        many => target.import_batch(many, &ctx).await?,
    };
    let attempts: Vec<Attempt> = notes
        .iter()
        .zip(outcomes)
        .map(|(note, outcome)| {
            let detail = match &outcome {
                Ok(o) => ImportDetail {
                    target: described.clone(),
                    result: o.result.into(),
                    imported_at: Some(o.imported_at),
                    imported_by: Some(o.imported_by.clone()),
                    note_updated_at: Some(note.updated_at),
                    code: None,
                    error: None,
                    conflict: o.conflict.map(Into::into),
                    held_patient: o.held_patient.clone(),
                },
                Err(e) => ImportDetail {
                    target: described.clone(),
                    result: AttemptResult::Error,
                    imported_at: None,
                    imported_by: None,
                    note_updated_at: Some(note.updated_at),
                    code: Some(e.code().to_string()),
                    error: Some(e.to_string()),
                    conflict: None,
                    held_patient: None,
                },
            };
            Attempt {
                uuid: note.uuid.clone(),
                outcome,
                detail,
                assigned: assigned.remove(&note.uuid),
            }
        })
        .collect();
    if !opts.dry_run && !attempts.is_empty() {
        let events = attempts
            .iter()
            .map(|a| inbox::ImportAttempt {
                uuid: a.uuid.clone(),
                committed: a.outcome.as_ref().is_ok_and(|o| o.result.committed()),
                detail: a.detail.to_json(),
            })
            .collect();
        inbox.record_imports(events, &who.actor).await?;
    }
    Ok(attempts)
}

/// One note of [`import_by_uuid`]: its attempt, or why it was not attempted.
#[derive(Debug)]
pub enum BulkImport {
    Attempted(Attempt),
    /// Not in the inbox, or dismissed: nothing was written or recorded for it.
    Skipped {
        uuid: String,
        error: AppError,
    },
}

/// Imports the notes `uuids` from the inbox, each exactly once (a uuid given twice counts
/// once), through [`import_notes`] as a single note's import goes. Results come in the order
/// given. A note that is not in the inbox or is dismissed is skipped with its reason instead of
/// stopping the others; the error is a batch the target could not take at all.
pub async fn import_by_uuid(
    inbox: &dyn InboxStore,
    target: &dyn ImportTarget,
    uuids: &[String],
    opts: ImportOptions,
    who: &Identity,
) -> Result<Vec<BulkImport>, AppError> {
    let mut seen = std::collections::HashSet::new();
    let mut order: Vec<Result<String, BulkImport>> = Vec::with_capacity(uuids.len());
    let mut notes = Vec::new();
    for uuid in uuids {
        if !seen.insert(uuid.as_str()) {
            continue;
        }
        match inbox.get(uuid).await? {
            None => order.push(Err(BulkImport::Skipped {
                uuid: uuid.clone(),
                error: inbox::InboxError::NotFound { uuid: uuid.clone() }.into(),
            })),
            Some(n) if n.status == Status::Dismissed => order.push(Err(BulkImport::Skipped {
                uuid: uuid.clone(),
                error: AppError::Dismissed { uuid: uuid.clone() },
            })),
            Some(n) => {
                order.push(Ok(n.uuid.clone()));
                notes.push(n);
            }
        }
    }
    let mut attempts: std::collections::HashMap<String, Attempt> =
        import_notes(inbox, target, &notes, opts, who)
            .await?
            .into_iter()
            .map(|a| (a.uuid.clone(), a))
            .collect();
    Ok(order
        .into_iter()
        .map(|slot| match slot {
            Err(skipped) => skipped,
            Ok(uuid) => match attempts.remove(&uuid) {
                Some(a) => BulkImport::Attempted(a),
                None => BulkImport::Skipped {
                    error: AppError::Io(format!(
                        "the practice database gave no result for note {uuid}; import it again"
                    )),
                    uuid,
                },
            },
        })
        .collect())
}
