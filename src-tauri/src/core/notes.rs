//! The list, search, a note, review states and import into the practice database.

#[allow(unused_imports)]
use super::*;

impl Core {
    pub async fn list(
        &self,
        status: Option<String>,
        patient: Option<String>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<NoteRow>, CmdError> {
        self.list_filtered(status, patient, None, offset, limit)
            .await
    }

    pub async fn search(
        &self,
        text: &str,
        status: Option<String>,
        patient: Option<String>,
        limit: usize,
    ) -> Result<Vec<NoteRow>, CmdError> {
        self.search_filtered(text, status, patient, None, limit)
            .await
    }

    /// One note; with a search `query`, its matched words are marked, and a revised note says
    /// what changed since the version that was imported (or the one before it).
    pub async fn get(&self, uuid: &str, query: Option<&str>) -> Result<NoteView, CmdError> {
        self.unlocked()?;
        let note = self
            .inbox
            .get(uuid)
            .await?
            .ok_or_else(|| inbox::InboxError::NotFound {
                uuid: uuid.to_string(),
            })?;
        // Opening a note is audited (a reload of the open note is the same read).
        self.inbox.record_read(uuid, &self.who().actor).await?;
        let versions = self.inbox.versions(uuid).await?;
        let audit = self.inbox.audit_log(Some(uuid.to_string()), 50).await?;
        let mut view = NoteView::new(note, versions.len(), &audit);
        view.can_assign = self.can_assign();
        if let Some(a) = self.inbox.patient_assignment(uuid).await? {
            // Assigned by a person: it no longer needs a patient.
            view.needs_patient = false;
            view.assignment = Some(a.into());
        }
        if let Some(m) = query
            .and_then(inbox::Matcher::new)
            .filter(|m| !m.names_only())
        {
            let parts = views::text_parts(&view.content, &m);
            view.content_parts = parts.iter().any(|p| p.hit).then_some(parts);
            // The formatted text is marked at the same places.
            if view.content_parts.is_some() {
                let hits: Vec<_> = m.ranges(&view.content).collect();
                view.text = app::note_text::parse_marked(&view.content, &hits);
            }
        }
        view.changes = views::changes(&view, &versions, &audit);
        Ok(view)
    }

    /// Earlier contents of a revised note, newest first.
    pub async fn versions(&self, uuid: &str) -> Result<Vec<VersionView>, CmdError> {
        self.unlocked()?;
        let mut v: Vec<VersionView> = self
            .inbox
            .versions(uuid)
            .await?
            .into_iter()
            .map(VersionView::from)
            .collect();
        v.reverse();
        Ok(v)
    }

    /// The inbox itself (tests and diagnostics).
    pub fn inbox(&self) -> &dyn InboxStore {
        self.inbox.as_ref()
    }

    pub async fn counts(&self) -> Result<Counts, CmdError> {
        let c = self.inbox.counts().await?;
        let n = |s: Status| c.get(&s).copied().unwrap_or(0);
        Ok(Counts {
            all: c.values().sum(),
            new: n(Status::New),
            reviewed: n(Status::Reviewed),
            imported: n(Status::Imported),
            dismissed: n(Status::Dismissed),
            revised: n(Status::Revised),
            needs_patient: self.inbox.needs_patient_count().await?,
        })
    }

    pub async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientView>, CmdError> {
        self.unlocked()?;
        let text = text.filter(|t| !t.trim().is_empty());
        Ok(self
            .inbox
            .patients(text, limit.min(500))
            .await?
            .into_iter()
            .map(PatientView::from)
            .collect())
    }

    /// Reviewed, dismissed, or back to new (undo); the previous status comes back for undo.
    pub async fn set_status(&self, uuid: &str, status: &str) -> Result<String, CmdError> {
        self.unlocked()?;
        let to: Status = status.parse()?;
        let change = self.inbox.set_status(uuid, to, &self.who().actor).await?;
        self.notes_changed("status").await;
        Ok(change.from.as_str().to_string())
    }

    /// Imports one note into the practice database (`app::importing`). Target failures come
    /// back as a result (`error`, with `{code, message}`) so the UI can offer a retry; every
    /// attempt the target saw is audited.
    pub async fn import_note(
        &self,
        uuid: &str,
        allow_update: bool,
    ) -> Result<ImportView, CmdError> {
        self.unlocked()?;
        let _in_flight = self.imports.read().await;
        let note = self
            .inbox
            .get(uuid)
            .await?
            .ok_or_else(|| inbox::InboxError::NotFound {
                uuid: uuid.to_string(),
            })?;
        importing::refuse_dismissed(std::slice::from_ref(&note))?;
        let view = match self.target().await {
            Err(e) => ImportView::failed(
                uuid.to_string(),
                TargetSpec::parse(&self.settings().import_target)
                    .map(|t| t.display())
                    .unwrap_or_default(),
                e,
            ),
            Ok((_, target)) => {
                let opts = ImportOptions {
                    allow_update,
                    dry_run: false,
                };
                let mut attempts = importing::import_notes(
                    self.inbox.as_ref(),
                    target.as_ref(),
                    std::slice::from_ref(&note),
                    opts,
                    &self.who(),
                )
                .await?;
                let attempt = attempts
                    .pop()
                    .ok_or_else(|| CmdError::new("internal", "the import returned no attempt"))?;
                if let Err(e) = &attempt.outcome {
                    if e.is_connection_loss() {
                        self.target.lock().await.take();
                    }
                }
                ImportView::from_attempt(attempt)
            }
        };
        tracing::info!(result = view.result.as_str(), "import attempt");
        self.shell.emit(
            "import-result",
            serde_json::to_value(&view).unwrap_or_default(),
        );
        self.notes_changed("import").await;
        Ok(view)
    }

    /// The connected import target for the current settings (connected once, then reused).
    pub(super) async fn target(&self) -> Result<(String, Arc<dyn ImportTarget>), CmdError> {
        let s = self.settings();
        if s.import_target.trim().is_empty() {
            return Err(CmdError::new(
                "no_target",
                "No practice database is set: open Settings and enter the import target",
            ));
        }
        let key = format!("{}\n{}", s.import_target, s.mapping_file);
        let mut guard = self.target.lock().await;
        if let Some((k, described, t)) = guard.as_ref() {
            if *k == key {
                return Ok((described.clone(), t.clone()));
            }
        }
        let t = importing::connect(
            &s.import_target,
            Some(Path::new(s.mapping_file.trim())),
            None,
        )
        .await?;
        let described = t.describe();
        *guard = Some((key, described.clone(), t.clone()));
        Ok((described, t))
    }
}

pub(super) fn parse_status(s: Option<String>) -> Result<Option<Status>, CmdError> {
    Ok(s.filter(|s| !s.is_empty() && s != "all")
        .map(|s| s.parse::<Status>())
        .transpose()?)
}
