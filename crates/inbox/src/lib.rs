//! The local inbox: SQLite schema and migrations, FTS5 search, note states, audit log, and the
//! one idempotent ingest path that the sync engine (poller and webhook receiver) feeds.
//!
//! Storage is SQLite in WAL mode, shared safely by several processes (a CLI listing while a
//! sync or server writes). Every async method runs its SQL on tokio's blocking pool with a
//! pooled connection, so the runtime is never blocked. Nothing here logs note content or
//! patient names.

mod audit_chain;
mod db;
pub mod encryption;
mod error;
mod filter;
mod fold;
mod import_log;
mod interface;
mod model;
mod patients;
mod retention;
mod store;
pub mod sync;
pub mod webhook_queue;

pub use audit_chain::{
    audit_row_hash, AuditBreak, AuditCheck, AuditProblem, AUDIT_GENESIS, READ_REPEAT_WINDOW,
};
pub use db::SCHEMA_VERSION;
pub use encryption::InboxKey;
pub use error::{ErrorCode, InboxError};
pub use filter::{DateBound, DateError, DateRange, NoteFacets, NoteFilter};
pub use fold::{fold, fts_query, search_terms, tokens, Matcher};
pub use import_log::ImportAttempt;
pub use interface::{InboxStore, ReceiverStore, WebhookQueue};
pub use model::{
    AuditEvent, IngestReport, ListQuery, NewAssignment, NoteRecord, NoteVersion, Origin,
    PatientAssignment, PatientFetch, PatientSummary, SearchOrder, SearchQuery, SearchResults,
    Source, Status, StatusChange,
};
pub use patients::unmatched_in;
pub use retention::PruneReport;
pub use store::{dedupe, explain_list, explain_search, Inbox, POOL_SIZE, RELEVANCE_MAX_MATCHES};
