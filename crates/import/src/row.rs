//! Turning a note into the values of one row, and deciding what an import does.

use crate::mapping::{Field, Mapping, Source};
use crate::value::Val;
use crate::{ImportContext, ImportError, ImportOutcome, ImportResult, LookupKey};
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
        }
    }

    pub(crate) fn outcome(&self, result: ImportResult, ctx: &ImportContext) -> ImportOutcome {
        ImportOutcome {
            uuid: self.uuid.clone(),
            result,
            imported_at: self.now,
            imported_by: ctx.user.clone(),
            row: None,
        }
    }
}

/// The claim already in the target for a uuid.
pub(crate) struct Existing {
    pub sha: String,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
}

pub(crate) enum Decision {
    Unchanged,
    Conflict,
    Update,
}

pub(crate) fn decide(existing: &Existing, row: &NoteRow, ctx: &ImportContext) -> Decision {
    if existing.sha == row.sha {
        Decision::Unchanged
    } else if ctx.allow_update {
        Decision::Update
    } else {
        Decision::Conflict
    }
}

pub(crate) fn existing_outcome(row: &NoteRow, result: ImportResult, e: &Existing) -> ImportOutcome {
    ImportOutcome {
        uuid: row.uuid.clone(),
        result,
        imported_at: e.imported_at,
        imported_by: e.imported_by.clone(),
        row: None,
    }
}

pub(crate) fn already_there(uuid: &str, m: &Mapping) -> ImportError {
    ImportError::Conflict(format!(
        "note {uuid}: table `{}` already has a row with this uuid that Askara Inbox did not import \
         (no entry in askara_import_log); remove or reconcile that row, then import again",
        m.table.display()
    ))
}
