//! Turning a note into the values of one row, and deciding what an import does.

use crate::mapping::{Field, Mapping, Source};
use crate::value::Val;
use crate::{ConflictKind, ImportContext, ImportError, ImportOutcome, ImportResult, LookupKey};
use chrono::{DateTime, Utc};

/// Everything about one note that the SQL needs, computed before touching the database.
pub(crate) struct NoteRow {
    pub uuid: String,
    pub sha: String,
    pub now: DateTime<Utc>,
    /// One value per column of `Mapping::sources()`; the patient id slot is filled later.
    pub vals: Vec<Val>,
    /// The lookup key, when the mapping has a patient lookup.
    pub lookup_key: Option<Val>,
    /// The practice patient a person assigned the note to (`ImportContext::patient_ids`).
    pub assigned: Option<Val>,
    /// Index in `vals` of the column that says whose note the row is ([`patient_slot`]).
    pub patient_slot: Option<usize>,
}

/// The column that says whose note a row is: the practice patient id when the mapping
/// writes one, else the Askara patient uuid. An import never calls a row filed under
/// another patient `unchanged`.
pub(crate) fn patient_slot(sources: &[(crate::Ident, Source)]) -> Option<usize> {
    sources
        .iter()
        .position(|(_, s)| *s == Source::PatientId)
        .or_else(|| {
            sources
                .iter()
                .position(|(_, s)| *s == Source::Field(Field::PatientUuid))
        })
}

/// A patient id as text, for comparing what a row holds with what an import would write:
/// trimmed; uuids compared in lower case (PostgreSQL prints them so).
pub(crate) fn patient_key(v: &str) -> String {
    let t = v.trim();
    let uuid_like = t.len() == 36 && t.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit());
    if uuid_like {
        t.to_ascii_lowercase()
    } else {
        t.to_string()
    }
}

pub(crate) fn field_val(
    f: Field,
    note: &askara::Note,
    ctx: &ImportContext,
    sha: &str,
    now: DateTime<Utc>,
) -> Val {
    let p = note.patient.as_ref();
    match f {
        Field::Uuid => Val::Text(note.uuid.clone()),
        Field::NoteType => Val::opt_text(note.note_type.as_deref()),
        Field::Content => Val::Text(note.content.clone()),
        Field::PatientUuid => Val::opt_text(p.and_then(|p| p.uuid.as_deref())),
        Field::PatientFirstName => Val::opt_text(p.and_then(|p| p.first_name.as_deref())),
        Field::PatientLastName => Val::opt_text(p.and_then(|p| p.last_name.as_deref())),
        Field::PatientExternalId => Val::opt_text(p.and_then(|p| p.external_id.as_deref())),
        Field::CreatedAt => Val::Time(note.created_at),
        Field::UpdatedAt => Val::Time(note.updated_at),
        Field::ContentSha256 => Val::Text(sha.to_string()),
        Field::ImportedAt => Val::Time(now),
        Field::ImportedBy => Val::Text(ctx.user.clone()),
        Field::Workstation => Val::Text(ctx.workstation.clone()),
    }
}

impl NoteRow {
    pub(crate) fn new(
        note: &askara::Note,
        ctx: &ImportContext,
        mapping: &Mapping,
        sources: &[(crate::Ident, Source)],
    ) -> NoteRow {
        let sha = crate::content_sha256(&note.content);
        let now = crate::value::now_micros();
        let vals = sources
            .iter()
            .map(|(_, s)| match s {
                Source::Field(f) => field_val(*f, note, ctx, &sha, now),
                Source::PatientId => Val::Null,
                Source::Const(v) => v.clone(),
            })
            .collect();
        let lookup_key = mapping.patient_lookup.as_ref().map(|l| {
            let p = note.patient.as_ref();
            match l.key {
                LookupKey::ExternalId => Val::opt_text(p.and_then(|p| p.external_id.as_deref())),
                LookupKey::Uuid => Val::opt_text(p.and_then(|p| p.uuid.as_deref())),
            }
        });
        NoteRow {
            uuid: note.uuid.clone(),
            sha,
            now,
            vals,
            lookup_key,
            assigned: ctx
                .patient_ids
                .get(&note.uuid)
                .map(|id| Val::Text(id.clone())),
            patient_slot: patient_slot(sources),
        }
    }

    /// The patient this import would file the row under, as text (after the lookup).
    pub(crate) fn patient_text(&self) -> Option<String> {
        match self.vals.get(self.patient_slot?)? {
            Val::Null => None,
            Val::Text(s) => Some(patient_key(s)),
            Val::Int(i) => Some(i.to_string()),
            other => Some(patient_key(&other.to_json().to_string())),
        }
    }

    fn put_patient(&mut self, sources: &[(crate::Ident, Source)], id: Val) {
        if let Some(i) = sources.iter().position(|(_, s)| *s == Source::PatientId) {
            self.vals[i] = id;
        }
    }

    /// Settles the patient id when no query is needed: a person's assignment (it wins over
    /// `patient_lookup`), or, with no lookup to run, the mapping's rule for a note nobody
    /// assigned. `Ok(true)`: settled; `Ok(false)`: run the lookup, then [`NoteRow::set_patient`].
    pub(crate) fn settle_patient(
        &mut self,
        mapping: &Mapping,
        sources: &[(crate::Ident, Source)],
    ) -> Result<bool, ImportError> {
        if mapping.patient_column().is_none() {
            return Ok(true);
        }
        if let Some(id) = self.assigned.clone() {
            self.put_patient(sources, id);
            return Ok(true);
        }
        if mapping.patient_lookup.is_some() {
            return Ok(false);
        }
        if mapping.requires_patient() {
            return Err(ImportError::PatientNotFound(format!(
                "note {}: no practice patient is assigned and the mapping requires one; assign it (Assign to patient…, or askara-inbox notes assign), then import again",
                self.uuid
            )));
        }
        self.put_patient(sources, Val::Null);
        Ok(true)
    }

    /// Puts the looked-up patient id in its slot, or fails as the mapping says.
    pub(crate) fn set_patient(
        &mut self,
        mapping: &Mapping,
        sources: &[(crate::Ident, Source)],
        found: Vec<Val>,
    ) -> Result<(), ImportError> {
        let Some(l) = &mapping.patient_lookup else {
            return Ok(());
        };
        let id = match found.len() {
            0 => match l.on_missing {
                crate::OnMissing::Null => Val::Null,
                crate::OnMissing::Fail => {
                    let key = match l.key {
                        LookupKey::ExternalId => "externalId",
                        LookupKey::Uuid => "uuid",
                    };
                    let assign = if mapping.patient_search.is_some() {
                        " or assign the note to a patient (Assign to patient…)"
                    } else {
                        ""
                    };
                    let why = if self.lookup_key == Some(Val::Null) {
                        format!("the Askara patient has no {key} to look up")
                    } else {
                        format!("no patient in the practice database matches the Askara patient's {key}")
                    };
                    return Err(ImportError::PatientNotFound(format!(
                        "note {}: {why}; create or link the patient{assign}, then import again",
                        self.uuid
                    )));
                }
            },
            1 => found.into_iter().next().unwrap_or(Val::Null),
            _ => {
                return Err(ImportError::PatientAmbiguous(format!(
                    "note {}: the patient lookup matched more than one practice patient; fix the duplicates or the lookup query",
                    self.uuid
                )))
            }
        };
        self.put_patient(sources, id);
        Ok(())
    }

    pub(crate) fn dry_run(
        &self,
        sources: &[(crate::Ident, Source)],
        ctx: &ImportContext,
    ) -> ImportOutcome {
        ImportOutcome {
            uuid: self.uuid.clone(),
            result: ImportResult::DryRun,
            imported_at: self.now,
            imported_by: ctx.user.clone(),
            row: Some(
                sources
                    .iter()
                    .zip(&self.vals)
                    .map(|((c, _), v)| (c.name.clone(), v.to_json()))
                    .collect(),
            ),
            conflict: None,
            held_patient: None,
        }
    }

    pub(crate) fn outcome(&self, result: ImportResult, ctx: &ImportContext) -> ImportOutcome {
        ImportOutcome {
            uuid: self.uuid.clone(),
            result,
            imported_at: self.now,
            imported_by: ctx.user.clone(),
            row: None,
            conflict: None,
            held_patient: None,
        }
    }
}

/// The claim already in the target for a uuid.
pub(crate) struct Existing {
    pub sha: String,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
    /// The patient the row is filed under (`patient_select`): `None` when the mapping
    /// writes no patient column or the row is gone; `Some(None)` when it holds no patient.
    pub patient: Option<Option<String>>,
}

impl Existing {
    /// Whether the row is filed under another patient than this import would write.
    fn other_patient(&self, row: &NoteRow) -> bool {
        match &self.patient {
            None => false,
            Some(held) => held.as_deref().map(patient_key) != row.patient_text(),
        }
    }
}

pub(crate) enum Decision {
    /// Nothing to write: `unchanged`, or a `conflict` saying why.
    Settled(ImportOutcome),
    /// Overwrite the row (the caller allowed updates).
    Update,
}

/// Same content under the same patient is `unchanged`; anything else overwrites only when
/// the caller allows it, and is a conflict that says which otherwise.
pub(crate) fn decide(existing: &Existing, row: &NoteRow, ctx: &ImportContext) -> Decision {
    let other_patient = existing.other_patient(row);
    let outcome = |result| ImportOutcome {
        uuid: row.uuid.clone(),
        result,
        imported_at: existing.imported_at,
        imported_by: existing.imported_by.clone(),
        row: None,
        conflict: None,
        held_patient: None,
    };
    if existing.sha == row.sha && !other_patient {
        Decision::Settled(outcome(ImportResult::Unchanged))
    } else if ctx.allow_update {
        Decision::Update
    } else if other_patient {
        Decision::Settled(ImportOutcome {
            conflict: Some(ConflictKind::Patient),
            held_patient: existing.patient.clone().flatten(),
            ..outcome(ImportResult::Conflict)
        })
    } else {
        Decision::Settled(ImportOutcome {
            conflict: Some(ConflictKind::Content),
            ..outcome(ImportResult::Conflict)
        })
    }
}

pub(crate) fn already_there(uuid: &str, m: &Mapping) -> ImportError {
    ImportError::Conflict(format!(
        "note {uuid}: table `{}` already has a row with this uuid that Askara Inbox did not import \
         (no entry in askara_import_log); remove or reconcile that row, then import again",
        m.table.display()
    ))
}
