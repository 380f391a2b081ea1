//! The inbox as the workflows see it: the narrow set of operations the poller, imports, the
//! CLI and the desktop need. The SQLite [`Inbox`] implements it; a store for a clinic's
//! shared inbox (PostgreSQL) can implement it without touching its callers. The webhook
//! queue is not part of it yet: the receiver's durable queue is written with SQLite's own
//! flush guarantees (see `webhook_queue`).

use std::collections::BTreeMap;

use crate::{
    AuditEvent, ImportAttempt, Inbox, InboxError, IngestReport, ListQuery, NoteRecord, NoteVersion,
    Origin, PatientSummary, SearchQuery, SearchResults, Status, StatusChange,
};

#[async_trait::async_trait]
pub trait InboxStore: Send + Sync {
    /// One idempotent transaction: the notes (keyed by uuid, versions kept, `revised` set) and
    /// the sync watermarks that say how far they reach.
    async fn ingest_from(
        &self,
        notes: Vec<askara::Note>,
        origin: Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError>;
    async fn sync_state(&self, key: &str) -> Result<Option<String>, InboxError>;
    async fn set_sync_state(&self, pairs: Vec<(String, String)>) -> Result<(), InboxError>;
    /// Newest first, by status and patient.
    async fn list(&self, q: ListQuery) -> Result<Vec<NoteRecord>, InboxError>;
    /// Accent- and case-insensitive over names and content.
    async fn search_detailed(
        &self,
        text: &str,
        q: SearchQuery,
    ) -> Result<SearchResults, InboxError>;
    async fn get(&self, uuid: &str) -> Result<Option<NoteRecord>, InboxError>;
    /// A review-state change, audited in the same transaction.
    async fn set_status(
        &self,
        uuid: &str,
        to: Status,
        actor: &str,
    ) -> Result<StatusChange, InboxError>;
    /// Import attempts, audited in one transaction; committed ones move notes to `imported`.
    async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        actor: &str,
    ) -> Result<usize, InboxError>;
    /// Newest first; one note's, or everything's.
    async fn audit_log(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, InboxError>;
    async fn counts(&self) -> Result<BTreeMap<Status, u64>, InboxError>;
    /// A revised note's earlier versions, newest first.
    async fn versions(&self, uuid: &str) -> Result<Vec<NoteVersion>, InboxError>;
    async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientSummary>, InboxError>;
}

#[async_trait::async_trait]
impl InboxStore for Inbox {
    async fn ingest_from(
        &self,
        notes: Vec<askara::Note>,
        origin: Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError> {
        Inbox::ingest_from(self, notes, origin, sync_state).await
    }
    async fn sync_state(&self, key: &str) -> Result<Option<String>, InboxError> {
        Inbox::sync_state(self, key).await
    }
    async fn set_sync_state(&self, pairs: Vec<(String, String)>) -> Result<(), InboxError> {
        Inbox::set_sync_state(self, pairs).await
    }
    async fn list(&self, q: ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
        Inbox::list(self, q).await
    }
    async fn search_detailed(
        &self,
        text: &str,
        q: SearchQuery,
    ) -> Result<SearchResults, InboxError> {
        Inbox::search_detailed(self, text, q).await
    }
    async fn get(&self, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
        Inbox::get(self, uuid).await
    }
    async fn set_status(
        &self,
        uuid: &str,
        to: Status,
        actor: &str,
    ) -> Result<StatusChange, InboxError> {
        Inbox::set_status(self, uuid, to, actor).await
    }
    async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        actor: &str,
    ) -> Result<usize, InboxError> {
        Inbox::record_imports(self, attempts, actor).await
    }
    async fn audit_log(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, InboxError> {
        Inbox::audit_log(self, uuid, limit).await
    }
    async fn counts(&self) -> Result<BTreeMap<Status, u64>, InboxError> {
        Inbox::counts(self).await
    }
    async fn versions(&self, uuid: &str) -> Result<Vec<NoteVersion>, InboxError> {
        Inbox::versions(self, uuid).await
    }
    async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientSummary>, InboxError> {
        Inbox::patients(self, text, limit).await
    }
}
