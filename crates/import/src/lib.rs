//! Import targets: reviewed Askara notes go into the practice's database, exactly once.
//!
//! Two targets: a SQLite file (one workstation) and PostgreSQL (shared by several, over TLS).
//! Notes go into the default schema (`askara_notes`, created if missing) or onto an existing
//! practice table through a [`Mapping`]. Every import is one transaction that first claims the
//! note's uuid with `INSERT … ON CONFLICT DO NOTHING` and then reads back who holds it, so
//! races between workstations resolve in the database:
//!
//! - new uuid → `imported`;
//! - same uuid, same content hash → `unchanged` (with who imported it and when);
//! - same uuid, other hash → `conflict`, or `updated` when the caller allows updates.
//!
//! ```no_run
//! # async fn demo(note: askara::Note) -> Result<(), import::ImportError> {
//! let spec = import::TargetSpec::parse("postgres://scribe@db.practice.lan/practice?sslmode=verify-full")?
//!     .with_password("from the keyring");
//! let target = import::connect(&spec, None, import::ConnectOptions::default()).await?;
//! let ctx = import::ImportContext::new("dr.martin", "desk-3");
//! let outcome = target.import(&note, &ctx).await?;
//! println!("{}: {:?}", target.describe(), outcome.result);
//! # Ok(()) }
//! ```

mod error;
mod mapping;
mod postgres;
mod row;
pub(crate) mod schema;
mod search;
mod spec;
mod sql;
mod sqlite;
mod tls;
mod value;

#[cfg(feature = "test-support")]
pub mod pg_harness;

pub use error::ImportError;
pub use mapping::{
    ConstValue, Field, Ident, LookupKey, Mapping, OnMissing, PatientLookup, PatientSearch,
};
pub use search::{PatientCandidate, MAX_CANDIDATES};
pub use spec::{ConnectOptions, Password, PgEnv, PgSpec, RootCert, SslMode, TargetSpec};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Who imports, from where, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportContext {
    /// The signed-in user, recorded as `imported_by`.
    pub user: String,
    /// This workstation's name, recorded as `workstation`.
    pub workstation: String,
    /// Overwrite a row whose content changed since it was imported (`updated`), instead of
    /// reporting `conflict`.
    pub allow_update: bool,
    /// Compute the row that would be written and write nothing.
    pub dry_run: bool,
    /// Note uuid → the practice patient a person assigned it to. It wins over the mapping's
    /// `patient_lookup`; ignored without a patient column in the mapping.
    pub patient_ids: std::collections::BTreeMap<String, String>,
}

impl ImportContext {
    pub fn new(user: impl Into<String>, workstation: impl Into<String>) -> ImportContext {
        ImportContext {
            user: user.into(),
            workstation: workstation.into(),
            ..Default::default()
        }
    }
}

/// What happened to one note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportResult {
    /// Written for the first time.
    Imported,
    /// Already there with the same content: nothing written.
    Unchanged,
    /// Content had changed and `allow_update` was set: row overwritten.
    Updated,
    /// Content changed since it was imported and updates are not allowed: nothing written.
    Conflict,
    /// Dry run: nothing written; `row` shows what would have been.
    #[serde(rename = "dry_run")]
    DryRun,
}

impl ImportResult {
    /// The name scripts and the audit log use (`dry_run` for a dry run).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportResult::Imported => "imported",
            ImportResult::Unchanged => "unchanged",
            ImportResult::Updated => "updated",
            ImportResult::Conflict => "conflict",
            ImportResult::DryRun => "dry_run",
        }
    }

    /// The target holds the note as asked: imported now, before, or updated.
    pub fn committed(self) -> bool {
        matches!(
            self,
            ImportResult::Imported | ImportResult::Unchanged | ImportResult::Updated
        )
    }
}

/// The outcome of importing one note. `imported_at` / `imported_by` are those of the row in
/// the target: ours when we wrote it, the earlier importer's for `unchanged` and `conflict`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportOutcome {
    pub uuid: String,
    pub result: ImportResult,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
    /// Dry run only: each column and the value that would be written, in column order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<Vec<(String, serde_json::Value)>>,
    /// `conflict` only: why nothing was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictKind>,
    /// A [`ConflictKind::Patient`] conflict: the patient the target's row is filed under (the
    /// practice patient id, else the Askara patient uuid); `None` when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_patient: Option<String>,
}

/// Why an import wrote nothing over a row already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Askara revised the note after the row was written.
    Content,
    /// The row is filed under another patient than this import would write (someone assigned
    /// or matched it differently elsewhere): never reported as `unchanged`.
    Patient,
}

/// A database that notes can be imported into.
#[async_trait::async_trait]
pub trait ImportTarget: Send + Sync {
    /// Imports one note in one transaction.
    async fn import(
        &self,
        note: &askara::Note,
        ctx: &ImportContext,
    ) -> Result<ImportOutcome, ImportError>;

    /// Imports many notes, one transaction per `batch_size` notes; results are per note, in
    /// order. When a batch fails because of one note, its notes are retried one by one, so
    /// one bad note costs only itself. The outer error means the target itself failed
    /// (unreachable, timed out): notes of batches already committed stay imported.
    async fn import_batch(
        &self,
        notes: &[askara::Note],
        ctx: &ImportContext,
    ) -> Result<Vec<Result<ImportOutcome, ImportError>>, ImportError>;

    /// The target for display and logs (no password).
    fn describe(&self) -> String;

    /// Whether the mapping has a `[patient_search]` ("Assign to patient…" can search).
    fn can_search_patients(&self) -> bool {
        false
    }

    /// The practice's patients matching `text`, through the mapping's `[patient_search]`
    /// query (text bound as its one parameter, never spliced); at most [`MAX_CANDIDATES`].
    async fn search_patients(&self, _text: &str) -> Result<Vec<PatientCandidate>, ImportError> {
        Err(search::not_configured())
    }

    /// Whether the mapping refuses a note with no practice patient (looked up or assigned).
    fn requires_patient(&self) -> bool {
        false
    }
}

/// Connects to a target, then checks the mapping against the table (unknown table or column,
/// incompatible column type, uuid column without a unique index, bad patient lookup) or, with
/// no mapping, creates the default schema if it is missing.
pub async fn connect(
    spec: &TargetSpec,
    mapping: Option<Mapping>,
    opts: ConnectOptions,
) -> Result<Box<dyn ImportTarget>, ImportError> {
    match spec {
        TargetSpec::Sqlite { path } => {
            let t = sqlite::SqliteTarget::open(path.clone(), mapping, opts).await?;
            Ok(Box::new(t))
        }
        TargetSpec::Postgres(pg) => {
            let t = postgres::PgTarget::connect(pg.clone(), spec.display(), mapping, opts).await?;
            Ok(Box::new(t))
        }
    }
}

/// A plain connection to a PostgreSQL server with the import targets' rules: TLS as `sslmode`
/// asks (`verify-full` by default off the machine), the password never sent to a server that
/// was not verified, a connect timeout. For the other stores on the clinic's server (the shared
/// inbox); the connection's task runs on the caller's runtime.
pub async fn pg_client(
    spec: &PgSpec,
    opts: &ConnectOptions,
) -> Result<tokio_postgres::Client, ImportError> {
    let tls = tls::client_config(spec)?;
    postgres::open_client(spec, &tls, opts).await
}

/// [`pg_client`] whose server notifications (`LISTEN`) arrive on the returned receiver, which
/// ends when the connection does.
pub async fn pg_listener(
    spec: &PgSpec,
    opts: &ConnectOptions,
) -> Result<
    (
        tokio_postgres::Client,
        tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    ),
    ImportError,
> {
    let tls = tls::client_config(spec)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = postgres::open_with_notifications(spec, &tls, opts, Some(tx)).await?;
    Ok((client, rx))
}

/// The hex SHA-256 of a note's content, as stored in `content_sha256`.
pub fn content_sha256(content: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(content.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}
