//! Import attempts as the inbox records them: every attempt is an audit event, and a note moves
//! to `imported` only for attempts whose target committed. One transaction for a whole batch, so
//! importing 10,000 notes is not 10,000 inbox commits.

use crate::store::{audit, note_status, ts};
use crate::{Inbox, InboxError, Status};
use chrono::Utc;
use rusqlite::{params, TransactionBehavior};

#[derive(Debug, Clone)]
pub struct ImportAttempt {
    pub uuid: String,
    /// The target holds the note (imported, unchanged or updated).
    pub committed: bool,
    /// Target, result, who and when; never note content or patient names.
    pub detail: serde_json::Value,
}

impl Inbox {
    /// Records attempts; returns how many notes moved to `imported`. Unknown uuids: `NotFound`
    /// (nothing recorded).
    pub async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        actor: &str,
    ) -> Result<usize, InboxError> {
        let actor = actor.to_string();
        self.run(move |c| {
            let now = ts(Utc::now());
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut moved = 0;
            for a in &attempts {
                let Some(from) = note_status(&tx, &a.uuid)? else {
                    return Err(InboxError::NotFound {
                        uuid: a.uuid.clone(),
                    });
                };
                // One audit row per attempt; when it moved the note, the row says so.
                let moves = a.committed && from != Status::Imported;
                let (from_s, to_s) = if moves {
                    (Some(from), Some(Status::Imported))
                } else {
                    (None, None)
                };
                audit(
                    &tx, &a.uuid, &now, &actor, "import", from_s, to_s, &a.detail,
                )?;
                // The last attempt says whether the practice database matched the patient
                // ("Needs patient").
                tx.prepare_cached("UPDATE notes SET patient_unmatched = ?2 WHERE uuid = ?1")?
                    .execute(params![a.uuid, crate::patients::unmatched_in(&a.detail)])?;
                if moves {
                    tx.prepare_cached(
                        "UPDATE notes SET status = ?2, status_changed_at = ?3 WHERE uuid = ?1",
                    )?
                    .execute(params![a.uuid, Status::Imported, now])?;
                    moved += 1;
                }
            }
            tx.commit()?;
            Ok(moved)
        })
        .await
    }
}
