//! The audit trail as people read it: one note's history, and the check that the whole trail
//! is as written (`inbox::InboxStore::verify_audit`), for the local and the clinic inbox alike.

use inbox::{AuditEvent, InboxError, InboxStore};

use crate::AppError;

/// One note's audit trail, oldest first: received, revised, read, status changes, imports.
/// A note removed from the inbox (retention) keeps its trail; a uuid with no trail at all is
/// `NotFound`. `detail` never holds note content or patient names.
pub async fn history(inbox: &dyn InboxStore, uuid: &str) -> Result<Vec<AuditEvent>, AppError> {
    let mut events = inbox.audit_log(Some(uuid.to_string()), usize::MAX).await?;
    if events.is_empty() {
        return Err(InboxError::NotFound {
            uuid: uuid.to_string(),
        }
        .into());
    }
    events.reverse();
    Ok(events)
}

/// Checks the whole trail (see [`inbox::AuditCheck`]).
pub async fn verify(inbox: &dyn InboxStore) -> Result<inbox::AuditCheck, AppError> {
    Ok(inbox.verify_audit().await?)
}
