//! The inbox as the workflows see it: the narrow set of operations the poller, imports, the
//! CLI and the desktop need ([`InboxStore`]), and the durable webhook queue the receiver
//! needs besides ([`WebhookQueue`]; both together: [`ReceiverStore`]). The SQLite [`Inbox`]
//! implements them; a store for a clinic's shared inbox (PostgreSQL) can implement them
//! without touching their callers. An implementation's `enqueue_deliveries` must make the
//! deliveries durable before it returns: the receiver answers 200 right after it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::webhook_queue::{DeliveryState, NewDelivery, PendingDelivery, QueueCounts};
use crate::{
    AuditEvent, ImportAttempt, Inbox, InboxError, IngestReport, ListQuery, NewAssignment,
    NoteRecord, NoteVersion, Origin, PatientAssignment, PatientFetch, PatientSummary, PruneReport,
    SearchQuery, SearchResults, Status, StatusChange,
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
    /// Review-state changes of many notes in one transaction, one audit row each; a note the
    /// rules refuse is its own `Err` (see [`Inbox::set_statuses`]).
    async fn set_statuses(
        &self,
        uuids: Vec<String>,
        to: Status,
        actor: &str,
    ) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError>;
    /// The note types and authors present (the list's filter choices).
    async fn note_facets(&self) -> Result<crate::NoteFacets, InboxError>;
    /// Import attempts, audited in one transaction; committed ones move notes to `imported`.
    async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        actor: &str,
    ) -> Result<usize, InboxError>;
    /// A person opened a note (audit action `read`); `false` when it repeats that person's
    /// previous read of it (see [`crate::READ_REPEAT_WINDOW`]).
    async fn record_read(&self, uuid: &str, actor: &str) -> Result<bool, InboxError>;
    /// `actor` was shown the full text of all of `uuids` at once (`--json`): one `read` row
    /// each, same repeat rule; the rows written.
    async fn record_bulk_read(&self, uuids: Vec<String>, actor: &str) -> Result<usize, InboxError>;
    /// Recomputes the whole tamper-evident audit chain.
    async fn verify_audit(&self) -> Result<crate::AuditCheck, InboxError>;
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
    /// Retention: removes imported and dismissed notes whose status changed before `cutoff`
    /// (with their versions, index entries and lone patients) and old processed deliveries.
    async fn prune(&self, cutoff: DateTime<Utc>, actor: &str) -> Result<PruneReport, InboxError>;

    // Patients: identifiers fetched from Askara, and notes assigned to a practice patient by
    // hand. A store without them fetches nothing and has nothing assigned.

    /// Patients to ask `GET /patients/{uuid}` about (new or changed), at most `limit`.
    async fn patients_to_fetch(&self, _limit: usize) -> Result<Vec<String>, InboxError> {
        Ok(Vec::new())
    }
    /// What Askara answered for each patient, kept in one transaction.
    async fn record_patient_fetches(
        &self,
        _results: Vec<(String, PatientFetch)>,
        _at: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        Ok(())
    }
    /// Assigns a note to a practice patient, audited; refused once it is imported.
    async fn assign_patient(
        &self,
        _uuid: &str,
        _choice: NewAssignment,
        _actor: &str,
    ) -> Result<PatientAssignment, InboxError> {
        Err(InboxError::Task(
            "this inbox store cannot keep patient assignments".into(),
        ))
    }
    /// Undoes a note's assignment (kept, marked undone), audited; `false` when none.
    async fn unassign_patient(&self, _uuid: &str, _actor: &str) -> Result<bool, InboxError> {
        Ok(false)
    }
    async fn patient_assignment(
        &self,
        _uuid: &str,
    ) -> Result<Option<PatientAssignment>, InboxError> {
        Ok(None)
    }
    /// The live assignments of `uuids` (those that have one), in one read.
    async fn patient_assignments(
        &self,
        _uuids: Vec<String>,
    ) -> Result<Vec<PatientAssignment>, InboxError> {
        Ok(Vec::new())
    }
    async fn needs_patient_count(&self) -> Result<u64, InboxError> {
        Ok(0)
    }
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
    async fn set_statuses(
        &self,
        uuids: Vec<String>,
        to: Status,
        actor: &str,
    ) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError> {
        Inbox::set_statuses(self, uuids, to, actor).await
    }
    async fn note_facets(&self) -> Result<crate::NoteFacets, InboxError> {
        Inbox::note_facets(self).await
    }
    async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        actor: &str,
    ) -> Result<usize, InboxError> {
        Inbox::record_imports(self, attempts, actor).await
    }
    async fn record_read(&self, uuid: &str, actor: &str) -> Result<bool, InboxError> {
        Inbox::record_read(self, uuid, actor).await
    }
    async fn record_bulk_read(&self, uuids: Vec<String>, actor: &str) -> Result<usize, InboxError> {
        Inbox::record_bulk_read(self, uuids, actor).await
    }
    async fn verify_audit(&self) -> Result<crate::AuditCheck, InboxError> {
        Inbox::verify_audit(self).await
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
    async fn prune(&self, cutoff: DateTime<Utc>, actor: &str) -> Result<PruneReport, InboxError> {
        Inbox::prune(self, cutoff, actor).await
    }
    async fn patients_to_fetch(&self, limit: usize) -> Result<Vec<String>, InboxError> {
        Inbox::patients_to_fetch(self, limit).await
    }
    async fn record_patient_fetches(
        &self,
        results: Vec<(String, PatientFetch)>,
        at: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        Inbox::record_patient_fetches(self, results, at).await
    }
    async fn assign_patient(
        &self,
        uuid: &str,
        choice: NewAssignment,
        actor: &str,
    ) -> Result<PatientAssignment, InboxError> {
        Inbox::assign_patient(self, uuid, choice, actor).await
    }
    async fn unassign_patient(&self, uuid: &str, actor: &str) -> Result<bool, InboxError> {
        Inbox::unassign_patient(self, uuid, actor).await
    }
    async fn patient_assignment(
        &self,
        uuid: &str,
    ) -> Result<Option<PatientAssignment>, InboxError> {
        Inbox::patient_assignment(self, uuid).await
    }
    async fn patient_assignments(
        &self,
        uuids: Vec<String>,
    ) -> Result<Vec<PatientAssignment>, InboxError> {
        Inbox::patient_assignments(self, uuids).await
    }
    async fn needs_patient_count(&self) -> Result<u64, InboxError> {
        Inbox::needs_patient_count(self).await
    }
}

/// The durable queue of webhook deliveries: stored before the 200, drained by the worker.
#[async_trait::async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Stores deliveries durably (flushed to disk) in one transaction; their ids, in order.
    async fn enqueue_deliveries(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<i64>, InboxError>;
    /// Due deliveries, oldest first: at most `limit`, and about `max_bytes` of bodies.
    async fn pending_deliveries(
        &self,
        limit: usize,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingDelivery>, InboxError>;
    async fn mark_processed(
        &self,
        done: Vec<(i64, DeliveryState, serde_json::Value)>,
    ) -> Result<(), InboxError>;
    async fn defer_delivery(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: String,
    ) -> Result<(), InboxError>;
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<usize, InboxError>;
    async fn delivery_counts(&self) -> Result<QueueCounts, InboxError>;
    async fn last_delivery_at(&self) -> Result<Option<DateTime<Utc>>, InboxError>;
    /// Tidies the store's log between worker steps (SQLite: a passive WAL checkpoint).
    async fn checkpoint(&self) -> Result<(), InboxError>;
}

/// What the webhook receiver needs: the inbox and its delivery queue.
pub trait ReceiverStore: InboxStore + WebhookQueue {}

impl<T: InboxStore + WebhookQueue + ?Sized> ReceiverStore for T {}

#[async_trait::async_trait]
impl WebhookQueue for Inbox {
    async fn enqueue_deliveries(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<i64>, InboxError> {
        Inbox::enqueue_deliveries(self, deliveries).await
    }
    async fn pending_deliveries(
        &self,
        limit: usize,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingDelivery>, InboxError> {
        Inbox::pending_deliveries(self, limit, max_bytes, now).await
    }
    async fn mark_processed(
        &self,
        done: Vec<(i64, DeliveryState, serde_json::Value)>,
    ) -> Result<(), InboxError> {
        Inbox::mark_processed(self, done).await
    }
    async fn defer_delivery(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: String,
    ) -> Result<(), InboxError> {
        Inbox::defer_delivery(self, id, not_before, error).await
    }
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<usize, InboxError> {
        Inbox::prune_deliveries(self, before).await
    }
    async fn delivery_counts(&self) -> Result<QueueCounts, InboxError> {
        Inbox::delivery_counts(self).await
    }
    async fn last_delivery_at(&self) -> Result<Option<DateTime<Utc>>, InboxError> {
        Inbox::last_delivery_at(self).await
    }
    async fn checkpoint(&self) -> Result<(), InboxError> {
        Inbox::checkpoint(self).await
    }
}
