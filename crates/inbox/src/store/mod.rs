//! The inbox itself: `Inbox`, whose async methods run the blocking SQL of the modules below
//! on the connection pool: [`codec`] (encodings, keys), [`ingest`], [`notes`] (reads, review
//! states, audit) and [`search`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::{json, Value};

use crate::db::{self, Pool};
use crate::encryption::{self, InboxKey};
use crate::error::InboxError;
use crate::fold::{build_fts_query, fold, fts_query, patient_token, search_terms, tokens};
use crate::model::*;

mod codec;
mod filter;
mod ingest;
mod notes;
mod search;

#[allow(unused_imports)]
use codec::*;
use filter::*;
use ingest::*;
use notes::*;
use search::*;

pub(crate) use codec::{
    limit_param, note_from_row, opt_ts_col, ts, ts_col, NOTE_COLS, RECORD_TAIL,
};
pub use filter::explain_list;
pub use ingest::dedupe;
pub(crate) use ingest::{audit, refresh_patient};
pub(crate) use notes::note_status;
pub use search::explain_search;

/// Connections kept per `Inbox` (and so the most SQLite calls that run at once).
pub const POOL_SIZE: usize = 4;

/// Above this many matching notes, `SearchOrder::Relevance` answers newest-first instead:
/// bm25 has to score every match, which costs about 1 ms per 1,000 matches on a laptop core.
pub const RELEVANCE_MAX_MATCHES: usize = 20_000;

/// The local inbox. Cheap to clone; every clone shares one connection pool. Several `Inbox`es
/// (in one process or several) may use the same file at once.
#[derive(Clone)]
pub struct Inbox {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("path", &self.pool.path())
            .finish()
    }
}

impl Inbox {
    /// Opens (creating the folder and file if needed) and migrates the inbox at `path`, keyed
    /// with `key`. A plaintext inbox (from before encryption) is encrypted in place first; a
    /// file the key does not open is [`InboxError::WrongKey`], never a new empty inbox.
    /// Blocking: call it once at startup, or inside `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>, key: &InboxKey) -> Result<Inbox, InboxError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| InboxError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_lock = encryption::hold_open_lock(&path)?;
        encryption::prepare(&path, key)?;
        let mut conn = db::connect(&path, key)?;
        db::migrate(&mut conn)?;
        Ok(Inbox {
            pool: Arc::new(Pool::new(path, key.clone(), open_lock, conn, POOL_SIZE)),
        })
    }

    /// The inbox file.
    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// Runs `f` with a pooled connection on tokio's blocking pool. At most `POOL_SIZE` run at
    /// once; the rest wait (asynchronously) for a permit.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, InboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, InboxError> + Send + 'static,
    {
        let permit = self
            .pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| InboxError::Task(e.to_string()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.take()?;
            let result = f(&mut conn);
            pool.put(conn);
            result
        })
        .await
        .map_err(|e| InboxError::Task(e.to_string()))?
    }

    /// The one ingest path (poller and webhook receiver both call it). One transaction: upserts
    /// every note by uuid and writes the given sync-state pairs, so a page's notes and the sync
    /// progress commit together (a killed sync resumes without loss or duplicates).
    ///
    /// Unknown uuid: inserted as `new`. Same or older `updatedAt`: nothing written. Later
    /// `updatedAt`: the previous content is kept as a version and the note becomes `revised`.
    /// Duplicates within `notes` count once (the latest `updatedAt` wins).
    pub async fn ingest(
        &self,
        notes: Vec<askara::Note>,
        source: Source,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError> {
        self.ingest_from(notes, Origin::verified(source), sync_state)
            .await
    }

    /// Like [`Inbox::ingest`], saying whether the notes were read from Askara's API and who
    /// recorded them. An unverified note never changes a verified one; a verified note always
    /// replaces an unverified one (Askara's API is the source of a note, not a payload).
    pub async fn ingest_from(
        &self,
        notes: Vec<askara::Note>,
        origin: Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<IngestReport, InboxError> {
        self.run(move |c| ingest_blocking(c, notes, origin, sync_state))
            .await
    }

    pub async fn sync_state(&self, key: &str) -> Result<Option<String>, InboxError> {
        let key = key.to_string();
        self.run(move |c| {
            Ok(
                c.prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
                    .query_row([key], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    /// Writes sync-state pairs in one transaction.
    pub async fn set_sync_state(&self, pairs: Vec<(String, String)>) -> Result<(), InboxError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write_sync_state(&tx, &pairs, &ts(Utc::now()))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Notes newest first (createdAt instant descending, then arrival order), filtered.
    pub async fn list(&self, q: ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
        self.run(move |c| list_blocking(c, &q)).await
    }

    /// Full-text search over content and patient names, accent- and case-insensitive. The text
    /// is never interpreted as FTS syntax; with nothing searchable in it the result is empty.
    pub async fn search(&self, text: &str, q: SearchQuery) -> Result<Vec<NoteRecord>, InboxError> {
        Ok(self.search_detailed(text, q).await?.notes)
    }

    /// `search`, also telling which order was used (relevance falls back to newest-first above
    /// [`RELEVANCE_MAX_MATCHES`] matches).
    pub async fn search_detailed(
        &self,
        text: &str,
        q: SearchQuery,
    ) -> Result<SearchResults, InboxError> {
        let text = text.to_string();
        self.run(move |c| search_blocking(c, &text, &q)).await
    }

    pub async fn get(&self, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
        let uuid = uuid.to_string();
        self.run(move |c| get_blocking(c, &uuid)).await
    }

    /// Moves a note to `to` on behalf of `actor`, with an audit row. Unknown uuid: `NotFound`.
    /// `revised` (set only by ingest) and leaving `imported`: `InvalidTransition`.
    /// Same state: a no-op (`changed: false`, no audit row).
    pub async fn set_status(
        &self,
        uuid: &str,
        to: Status,
        actor: &str,
    ) -> Result<StatusChange, InboxError> {
        let (uuid, actor) = (uuid.to_string(), actor.to_string());
        self.run(move |c| set_status_blocking(c, uuid, to, &actor))
            .await
    }

    /// [`Inbox::set_status`] for many notes in one transaction, one audit row per note that
    /// moved; results in the order given (a uuid given twice counts once). A note the rules
    /// refuse (`NotFound`, `InvalidTransition`) is its own `Err` and the others still move; a
    /// storage failure is the outer `Err` and moves none.
    pub async fn set_statuses(
        &self,
        uuids: Vec<String>,
        to: Status,
        actor: &str,
    ) -> Result<Vec<Result<StatusChange, InboxError>>, InboxError> {
        let actor = actor.to_string();
        self.run(move |c| set_statuses_blocking(c, uuids, to, &actor))
            .await
    }

    /// The note types and authors present, for the list's filter choices.
    pub async fn note_facets(&self) -> Result<crate::filter::NoteFacets, InboxError> {
        self.run(|c| facets_blocking(c)).await
    }

    /// Appends an audit event for a note (e.g. an import attempt: target and result in
    /// `detail`). Unknown uuid: `NotFound`. Keep note content and patient names out of `detail`.
    pub async fn record_event(
        &self,
        uuid: &str,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), InboxError> {
        let (uuid, actor, action) = (uuid.to_string(), actor.to_string(), action.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if note_status(&tx, &uuid)?.is_none() {
                return Err(InboxError::NotFound { uuid });
            }
            audit(
                &tx,
                &uuid,
                &ts(Utc::now()),
                &actor,
                &action,
                None,
                None,
                &detail,
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Audit events, newest first, for one note or all.
    pub async fn audit_log(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, InboxError> {
        self.run(move |c| audit_log_blocking(c, uuid.as_deref(), limit))
            .await
    }

    /// Number of notes in each status; every status is present (0 where none).
    pub async fn counts(&self) -> Result<BTreeMap<Status, u64>, InboxError> {
        self.run(|c| {
            let mut out: BTreeMap<Status, u64> = Status::ALL.iter().map(|s| (*s, 0)).collect();
            let mut st = c.prepare_cached("SELECT status, n FROM status_counts")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, Status>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (s, n) = row?;
                out.insert(s, u64::try_from(n).unwrap_or(0));
            }
            Ok(out)
        })
        .await
    }

    /// Previous contents of a revised note, oldest first (empty for an unknown uuid).
    pub async fn versions(&self, uuid: &str) -> Result<Vec<NoteVersion>, InboxError> {
        let uuid = uuid.to_string();
        self.run(move |c| versions_blocking(c, &uuid)).await
    }

    /// Patients seen in notes, most recent note first; `text` filters on folded names,
    /// external id and uuid (every word must occur).
    pub async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<PatientSummary>, InboxError> {
        self.run(move |c| patients_blocking(c, text.as_deref(), limit))
            .await
    }
}
