//! "Needs patient" and "Assign to patient…": the notes without a (matched) patient, the
//! practice's patients found through the mapping's `[patient_search]`, and assigning or
//! unassigning one (`app::patients`: audited, undoable until the import).

#[allow(unused_imports)]
use super::*;
use crate::patient_views::{AssignmentView, CandidateView};

impl Core {
    /// Whether the settings' mapping has a `[patient_search]` (read from the file, without
    /// connecting the practice database).
    pub(super) fn can_assign(&self) -> bool {
        let s = self.settings();
        let file = s.mapping_file.trim();
        !file.is_empty() && import::Mapping::load(file).is_ok_and(|m| m.patient_search.is_some())
    }

    /// The practice's patients matching `text`, each with two identifiers.
    pub async fn search_practice_patients(
        &self,
        text: &str,
    ) -> Result<Vec<CandidateView>, CmdError> {
        self.unlocked()?;
        let (_, target) = self.target().await?;
        Ok(app::patients::search(target.as_ref(), text)
            .await?
            .into_iter()
            .map(CandidateView::from)
            .collect())
    }

    /// Assigns note `uuid` to practice patient `patient_id`, as the search for `search` shows
    /// them (the identifiers recorded are the database's).
    pub async fn assign_patient(
        &self,
        uuid: &str,
        patient_id: &str,
        search: &str,
    ) -> Result<AssignmentView, CmdError> {
        self.unlocked()?;
        // Not while an import runs: it read the assignments when it started, and the screen
        // must never say another patient than the one written.
        let _no_import = self.imports.write().await;
        let (_, target) = self.target().await?;
        let a = app::patients::assign(
            self.inbox.as_ref(),
            target.as_ref(),
            uuid,
            patient_id,
            Some(search),
            &self.who(),
        )
        .await?;
        self.notes_changed("assign").await;
        Ok(a.into())
    }

    /// Undoes note `uuid`'s assignment; `false` when it had none.
    pub async fn unassign_patient(&self, uuid: &str) -> Result<bool, CmdError> {
        self.unlocked()?;
        let _no_import = self.imports.write().await;
        let undone = app::patients::unassign(self.inbox.as_ref(), uuid, &self.who()).await?;
        self.notes_changed("assign").await;
        Ok(undone)
    }
}
