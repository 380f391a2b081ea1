//! [`PgInbox`] as the workflows see it: the inbox store and the webhook queue. A person's
//! action is recorded under the connected role, whatever `actor` the caller passes: on a
//! shared server the database, not the desk, says who did it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use inbox::webhook_queue::{DeliveryState, NewDelivery, PendingDelivery, QueueCounts};
use inbox::{
    AuditCheck, AuditEvent, ImportAttempt, InboxError, InboxStore, IngestReport, ListQuery,
    NewAssignment, NoteFacets, NoteRecord, NoteVersion, Origin, PatientAssignment, PatientFetch,
    PatientSummary, PruneReport, SearchQuery, SearchResults, Status, StatusChange, WebhookQueue,
};

use crate::pool::PgInbox;

#[async_trait::async_trait]
impl InboxStore for PgInbox {
    async fn ingest_from(
        &self,
        notes: Vec<askara::Note>,
        origin: Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError> {
        self.ingest_pg(notes, origin, sync_state).await
    }
    async fn sync_state(&self, key: &str) -> Result<Option<String>, InboxError> {
        let c = self.client().await?;
        let r = c
            .query_opt("SELECT value FROM sync_state WHERE key = $1", &[&key])
            .await
            .map_err(self.err("reading sync progress"))?;
        Ok(r.map(|r| r.get(0)))
    }
    async fn set_sync_state(&self, pairs: Vec<(String, String)>) -> Result<(), InboxError> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("saving sync progress"))?;
        crate::ingest::write_sync_state(&tx, self, &pairs, &crate::codec::ts(Utc::now())).await?;
        tx.commit()
            .await
            .map_err(self.err("saving sync progress"))?;
        Ok(())
    }
    async fn list(&self, q: ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
        self.list_pg(q).await
    }
    async fn search_detailed(
        &self,
        text: &str,
        q: SearchQuery,
    ) -> Result<SearchResults, InboxError> {
        self.search_pg(text, q).await
    }
    async fn get(&self, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
        self.get_pg(uuid).await
    }
    async fn set_status(
        &self,
        uuid: &str,
        to: Status,
        _actor: &str,
    ) -> Result<StatusChange, InboxError> {
        self.set_statuses_pg(vec![uuid.to_string()], to)
            .await?
            .pop()
            .unwrap_or_else(|| {
                Err(InboxError::NotFound {
                    uuid: uuid.to_string(),
                })
            })
    }
    async fn set_statuses(
        &self,
        uuids: Vec<String>,
        to: Status,
        _actor: &str,
    ) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError> {
        self.set_statuses_pg(uuids, to).await
    }
    async fn note_facets(&self) -> Result<NoteFacets, InboxError> {
        self.facets_pg().await
    }
    async fn record_imports(
        &self,
        attempts: Vec<ImportAttempt>,
        _actor: &str,
    ) -> Result<usize, InboxError> {
        self.record_imports_pg(attempts).await
    }
    async fn record_read(&self, uuid: &str, _actor: &str) -> Result<bool, InboxError> {
        Ok(self.record_reads(vec![uuid.to_string()], false).await? > 0)
    }
    async fn record_bulk_read(
        &self,
        uuids: Vec<String>,
        _actor: &str,
    ) -> Result<usize, InboxError> {
        self.record_reads(uuids, true).await
    }
    async fn verify_audit(&self) -> Result<AuditCheck, InboxError> {
        self.verify_audit_pg().await
    }
    async fn audit_log(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, InboxError> {
        self.audit_log_pg(uuid, limit).await
    }
    async fn counts(&self) -> Result<BTreeMap<Status, u64>, InboxError> {
        self.counts_pg().await
    }
    async fn versions(&self, uuid: &str) -> Result<Vec<NoteVersion>, InboxError> {
        self.versions_pg(uuid).await
    }
    async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientSummary>, InboxError> {
        self.patients_pg(text, limit).await
    }
    async fn prune(&self, cutoff: DateTime<Utc>, actor: &str) -> Result<PruneReport, InboxError> {
        self.prune_pg(cutoff, actor).await
    }
    async fn patients_to_fetch(&self, limit: usize) -> Result<Vec<String>, InboxError> {
        self.patients_to_fetch_pg(limit).await
    }
    async fn record_patient_fetches(
        &self,
        results: Vec<(String, PatientFetch)>,
        at: DateTime<Utc>,
    ) -> Result<(), InboxError> {
        self.record_patient_fetches_pg(results, at).await
    }
    async fn assign_patient(
        &self,
        uuid: &str,
        choice: NewAssignment,
        _actor: &str,
    ) -> Result<PatientAssignment, InboxError> {
        self.assign_patient_pg(uuid, choice).await
    }
    async fn unassign_patient(&self, uuid: &str, _actor: &str) -> Result<bool, InboxError> {
        self.unassign_patient_pg(uuid).await
    }
    async fn patient_assignment(
        &self,
        uuid: &str,
    ) -> Result<Option<PatientAssignment>, InboxError> {
        self.patient_assignment_pg(uuid).await
    }
    async fn patient_assignments(
        &self,
        uuids: Vec<String>,
    ) -> Result<Vec<PatientAssignment>, InboxError> {
        self.patient_assignments_pg(uuids).await
    }
    async fn needs_patient_count(&self) -> Result<u64, InboxError> {
        self.needs_patient_count_pg().await
    }
}

#[async_trait::async_trait]
impl WebhookQueue for PgInbox {
    async fn enqueue_deliveries(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<i64>, InboxError> {
        self.enqueue_pg(deliveries).await
    }
    async fn pending_deliveries(
        &self,
        limit: usize,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingDelivery>, InboxError> {
        self.pending_pg(limit, max_bytes, now).await
    }
    async fn mark_processed(
        &self,
        done: Vec<(i64, DeliveryState, serde_json::Value)>,
    ) -> Result<(), InboxError> {
        self.mark_processed_pg(done).await
    }
    async fn defer_delivery(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: String,
    ) -> Result<(), InboxError> {
        self.defer_pg(id, not_before, error).await
    }
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<usize, InboxError> {
        self.prune_deliveries_pg(before).await
    }
    async fn delivery_counts(&self) -> Result<QueueCounts, InboxError> {
        self.delivery_counts_pg().await
    }
    async fn last_delivery_at(&self) -> Result<Option<DateTime<Utc>>, InboxError> {
        self.last_delivery_pg().await
    }
    /// PostgreSQL tidies its own log.
    async fn checkpoint(&self) -> Result<(), InboxError> {
        Ok(())
    }
}
