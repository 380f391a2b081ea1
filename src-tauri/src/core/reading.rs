//! Reading a note with care: its audit trail, in words. (Its formatted text and provenance
//! come with the note itself, [`crate::views::NoteView`].)

use super::*;
use app::history::HistoryStep;

impl Core {
    /// The note's audit trail, oldest first, each step in words (`app::history`). Refused
    /// while the idle lock is on, as every note command is: the trail names who read and
    /// handled the note.
    pub async fn note_history(&self, uuid: &str) -> Result<Vec<HistoryStep>, CmdError> {
        self.unlocked()?;
        let events = app::audit::history(self.inbox.as_ref(), uuid).await?;
        Ok(app::history::steps(&events))
    }
}
