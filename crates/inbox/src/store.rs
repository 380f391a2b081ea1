//! The inbox itself: `Inbox` and the blocking SQL behind each of its async methods.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::{json, Value};

use crate::db::{self, Pool};
use crate::error::InboxError;
use crate::fold::{build_fts_query, fold, fts_query, patient_token, search_terms, tokens};
use crate::model::*;

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
    /// Opens (creating the folder and file if needed) and migrates the inbox at `path`.
    /// Blocking: call it once at startup, or inside `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<Inbox, InboxError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| InboxError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut conn = db::connect(&path)?;
        db::migrate(&mut conn)?;
        Ok(Inbox {
            pool: Arc::new(Pool::new(path, conn, POOL_SIZE)),
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

// ---------------------------------------------------------------------------------------------
// Encoding

/// Stored timestamp form: fixed width, UTC, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn ts_col(r: &Row, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = r.get(idx)?;
    parse_ts(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("not a timestamp: {s}").into(),
        )
    })
}

fn opt_ts_col(r: &Row, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        _ => ts_col(r, idx).map(Some),
    }
}

fn json_col(r: &Row, idx: usize) -> rusqlite::Result<Value> {
    let s: String = r.get(idx)?;
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

impl ToSql for Status {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Status {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: InboxError| FromSqlError::Other(e.into()))
    }
}

impl ToSql for Source {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Source {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: InboxError| FromSqlError::Other(e.into()))
    }
}

/// Sub-second slots in a note's time key: `id = createdAt seconds * 2^24 + fraction * 2^24`.
/// Fits i64 for years within ±17,000 of 1970.
const SLOTS_PER_SECOND: i64 = 1 << 24;

fn time_key(t: DateTime<Utc>) -> Option<i64> {
    let nanos = i64::from(t.timestamp_subsec_nanos().min(999_999_999));
    let frac = nanos * SLOTS_PER_SECOND / 1_000_000_000;
    t.timestamp()
        .checked_mul(SLOTS_PER_SECOND)?
        .checked_add(frac)
}

/// The time key for a note created at `t`: its base key, or the first free key after it within
/// the same second (notes sharing an instant keep arrival order).
fn free_key(c: &Connection, uuid: &str, t: DateTime<Utc>) -> Result<i64, InboxError> {
    let base = time_key(t).ok_or_else(|| InboxError::InvalidNote {
        uuid: uuid.to_string(),
        reason: "its createdAt is outside the supported years".into(),
    })?;
    let taken: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM notes WHERE id = ?1)")?
        .query_row([base], |r| r.get(0))?;
    if !taken {
        return Ok(base);
    }
    let second_end = (base.div_euclid(SLOTS_PER_SECOND) + 1) * SLOTS_PER_SECOND;
    // After the last key taken in the rest of this second: one index lookup, where probing
    // for the first gap walks every note already in the second (a burst of 100,000 notes
    // created in one second made ingest quadratic). Askara writes whole seconds, so notes of
    // one second keep their arrival order.
    let after_last: Option<i64> = c
        .prepare_cached("SELECT max(id) + 1 FROM notes WHERE id >= ?1 AND id < ?2")?
        .query_row([base, second_end], |r| r.get(0))?;
    if let Some(k) = after_last.filter(|k| *k < second_end) {
        return Ok(k);
    }
    // The second is taken to its last slot: any gap left by a revision will do.
    c.prepare_cached(
        "SELECT n.id + 1 FROM notes n
          WHERE n.id >= ?1 AND n.id < ?2 - 1
            AND NOT EXISTS (SELECT 1 FROM notes m WHERE m.id = n.id + 1)
          ORDER BY n.id LIMIT 1",
    )?
    .query_row([base, second_end], |r| r.get(0))
    .optional()?
    .ok_or_else(|| InboxError::InvalidNote {
        uuid: uuid.to_string(),
        reason: "more than 16 million notes share its createdAt second".into(),
    })
}

/// `raw` with its `content` string replaced by null when it equals `content` (so the text is
/// stored once); the flag says to put it back on reading.
fn elide_content(mut raw: Value, content: &str) -> (String, bool) {
    let mut elided = false;
    if let Some(v) = raw.get_mut("content") {
        if v.as_str() == Some(content) {
            *v = Value::Null;
            elided = true;
        }
    }
    (raw.to_string(), elided)
}

fn restore_content(mut raw: Value, elided: bool, content: &str) -> Value {
    if elided {
        if let Some(v) = raw.get_mut("content") {
            *v = Value::String(content.to_string());
        }
    }
    raw
}

fn raw_or_rfc3339(raw: &str, t: DateTime<Utc>) -> String {
    if raw.is_empty() {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        raw.to_string()
    }
}

/// The columns after [`NOTE_COLS`] that only a `NoteRecord` has.
const RECORD_TAIL: &str = "n.first_seen_at, n.source, n.verified, n.author_user_id";

/// Columns read into a `NoteRecord`/`NoteVersion` (same order in both tables).
const NOTE_COLS: &str = "n.uuid, n.note_type, n.content, n.created_at, n.updated_at, \
     n.created_at_raw, n.updated_at_raw, n.has_patient, n.patient_uuid, n.patient_first_name, \
     n.patient_last_name, n.patient_external_id, n.status, n.raw, n.raw_content_elided";

fn patient_cols(r: &Row, first: usize) -> rusqlite::Result<Option<askara::Patient>> {
    let has: bool = r.get(first)?;
    has.then(|| -> rusqlite::Result<askara::Patient> {
        Ok(askara::Patient {
            uuid: r.get(first + 1)?,
            first_name: r.get(first + 2)?,
            last_name: r.get(first + 3)?,
            external_id: r.get(first + 4)?,
        })
    })
    .transpose()
}

fn note_from_row(r: &Row) -> rusqlite::Result<NoteRecord> {
    let content: String = r.get(2)?;
    let raw = restore_content(json_col(r, 13)?, r.get(14)?, &content);
    Ok(NoteRecord {
        uuid: r.get(0)?,
        note_type: r.get(1)?,
        created_at: ts_col(r, 3)?,
        updated_at: ts_col(r, 4)?,
        created_at_raw: r.get(5)?,
        updated_at_raw: r.get(6)?,
        patient: patient_cols(r, 7)?,
        status: r.get(12)?,
        raw,
        content,
        first_seen_at: ts_col(r, 15)?,
        source: r.get(16)?,
        verified: r.get(17)?,
        author_user_id: r.get(18)?,
    })
}

fn version_from_row(r: &Row) -> rusqlite::Result<NoteVersion> {
    let content: String = r.get(2)?;
    let raw = restore_content(json_col(r, 13)?, r.get(14)?, &content);
    Ok(NoteVersion {
        uuid: r.get(0)?,
        note_type: r.get(1)?,
        created_at: ts_col(r, 3)?,
        updated_at: ts_col(r, 4)?,
        created_at_raw: r.get(5)?,
        updated_at_raw: r.get(6)?,
        patient: patient_cols(r, 7)?,
        status: r.get(12)?,
        raw,
        content,
        replaced_at: ts_col(r, 15)?,
    })
}

fn limit_param(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Ingest

/// The folded text indexed for a note: (body, names, pt).
fn fts_row(note: &askara::Note) -> (String, String, String) {
    let mut body = String::new();
    if let Some(t) = &note.note_type {
        body.push_str(&fold(&t.replace('_', " ")));
        body.push('\n');
    }
    body.push_str(&fold(&note.content));
    let (names, pt) = match &note.patient {
        Some(p) => {
            let names = [&p.first_name, &p.last_name, &p.external_id]
                .into_iter()
                .flatten()
                .map(|s| fold(s))
                .collect::<Vec<_>>()
                .join(" ");
            let pt = p
                .uuid
                .as_deref()
                .and_then(patient_token)
                .unwrap_or_default();
            (names, pt)
        }
        None => (String::new(), String::new()),
    };
    (body, names, pt)
}

fn index_note(
    c: &Connection,
    id: i64,
    note: &askara::Note,
    terms: &mut HashSet<String>,
) -> Result<(), InboxError> {
    let (body, names, pt) = fts_row(note);
    for t in tokens(&body).chain(tokens(&names)) {
        if !terms.contains(t) {
            terms.insert(t.to_string());
        }
    }
    c.prepare_cached("INSERT INTO notes_fts (rowid, body, names, pt) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, body, names, pt])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn audit(
    c: &Connection,
    uuid: &str,
    at: &str,
    actor: &str,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    detail: &Value,
) -> Result<i64, InboxError> {
    c.prepare_cached(
        "INSERT INTO audit_events (note_uuid, at, actor, action, from_status, to_status, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        uuid,
        at,
        actor,
        action,
        from,
        to,
        detail.to_string()
    ])?;
    Ok(c.last_insert_rowid())
}

fn write_sync_state(
    c: &Connection,
    pairs: &[(String, String)],
    now: &str,
) -> Result<(), InboxError> {
    let mut st = c.prepare_cached(
        "INSERT INTO sync_state (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?;
    for (k, v) in pairs {
        st.execute(params![k, v, now])?;
    }
    Ok(())
}

struct Existing {
    id: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_at_raw: String,
    status: Status,
    patient_uuid: Option<String>,
    verified: bool,
}

fn ingest_blocking(
    c: &mut Connection,
    notes: Vec<askara::Note>,
    origin: Origin,
    sync_state: Vec<(String, String)>,
) -> Result<IngestReport, InboxError> {
    let source = origin.source;
    let mut report = IngestReport::default();

    // Dedupe within the batch: one note per uuid, the latest updatedAt (first on ties).
    let mut batch: Vec<askara::Note> = Vec::with_capacity(notes.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(notes.len());
    for note in notes {
        match seen.get(&note.uuid).and_then(|&i| batch.get_mut(i)) {
            Some(kept) => match note.updated_at.cmp(&kept.updated_at) {
                std::cmp::Ordering::Greater => {
                    *kept = note;
                    report.stale += 1;
                }
                std::cmp::Ordering::Equal => report.unchanged += 1,
                std::cmp::Ordering::Less => report.stale += 1,
            },
            None => {
                seen.insert(note.uuid.clone(), batch.len());
                batch.push(note);
            }
        }
    }

    let now = ts(Utc::now());
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut touched_patients: BTreeSet<String> = BTreeSet::new();
    let mut terms: HashSet<String> = HashSet::new();
    let source_detail = json!({ "source": source.as_str() });

    for note in batch {
        if note.uuid.trim().is_empty() {
            return Err(InboxError::InvalidNote {
                uuid: note.uuid,
                reason: "its uuid is empty".into(),
            });
        }
        let existing = tx
            .prepare_cached(
                "SELECT id, created_at, updated_at, updated_at_raw, status, patient_uuid, verified
                   FROM notes WHERE uuid = ?1",
            )?
            .query_row([&note.uuid], |r| {
                Ok(Existing {
                    id: r.get(0)?,
                    created_at: ts_col(r, 1)?,
                    updated_at: ts_col(r, 2)?,
                    updated_at_raw: r.get(3)?,
                    status: r.get(4)?,
                    patient_uuid: r.get(5)?,
                    verified: r.get(6)?,
                })
            })
            .optional()?;
        let author = origin.authors.get(&note.uuid);

        let created_raw = raw_or_rfc3339(note.created_at_raw(), note.created_at);
        let updated_raw = raw_or_rfc3339(note.updated_at_raw(), note.updated_at);
        let patient = note.patient.clone().unwrap_or_default();

        match existing {
            None => {
                let id = free_key(&tx, &note.uuid, note.created_at)?;
                index_note(&tx, id, &note, &mut terms)?;
                let (raw, elided) = elide_content(note.raw, &note.content);
                tx.prepare_cached(
                    "INSERT INTO notes (id, uuid, note_type, content, created_at, updated_at,
                        created_at_raw, updated_at_raw, has_patient, patient_uuid,
                        patient_first_name, patient_last_name, patient_external_id, status,
                        status_changed_at, raw, raw_content_elided, first_seen_at, source,
                        verified, author_user_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'new',
                        ?14, ?15, ?16, ?14, ?17, ?18, ?19)",
                )?
                .execute(params![
                    id,
                    note.uuid,
                    note.note_type,
                    note.content,
                    ts(note.created_at),
                    ts(note.updated_at),
                    created_raw,
                    updated_raw,
                    note.patient.is_some(),
                    patient.uuid,
                    patient.first_name,
                    patient.last_name,
                    patient.external_id,
                    now,
                    raw,
                    elided,
                    source,
                    origin.verified,
                    author,
                ])?;
                audit(
                    &tx,
                    &note.uuid,
                    &now,
                    "sync",
                    "received",
                    None,
                    Some(Status::New),
                    &source_detail,
                )?;
                report.inserted.push(note.uuid);
            }
            // A payload nobody confirmed never changes what Askara's API gave us.
            Some(old) if old.verified && !origin.verified => {
                report.stale += 1;
                continue;
            }
            // Askara's API confirms an unverified payload as it is: only the mark changes.
            Some(old)
                if !old.verified
                    && origin.verified
                    && note.updated_at == old.updated_at
                    && same_content(&tx, old.id, &note)? =>
            {
                tx.prepare_cached(
                    "UPDATE notes SET verified = 1, author_user_id = coalesce(?2, author_user_id)
                      WHERE id = ?1",
                )?
                .execute(params![old.id, author])?;
                report.unchanged += 1;
                continue;
            }
            // Otherwise Askara's version replaces the unverified one whatever its `updatedAt`
            // (a forged far-future one included), kept as an earlier version.
            Some(old) if note.updated_at == old.updated_at && old.verified == origin.verified => {
                report.unchanged += 1;
                continue;
            }
            Some(old) if note.updated_at < old.updated_at && old.verified == origin.verified => {
                report.stale += 1;
                continue;
            }
            Some(old) => {
                tx.prepare_cached(
                    "INSERT INTO note_versions (note_uuid, note_type, content, created_at,
                        updated_at, created_at_raw, updated_at_raw, has_patient, patient_uuid,
                        patient_first_name, patient_last_name, patient_external_id, status, raw,
                        raw_content_elided, replaced_at)
                     SELECT uuid, note_type, content, created_at, updated_at, created_at_raw,
                        updated_at_raw, has_patient, patient_uuid, patient_first_name,
                        patient_last_name, patient_external_id, status, raw, raw_content_elided,
                        ?2
                       FROM notes WHERE id = ?1",
                )?
                .execute(params![old.id, now])?;
                let id = if note.created_at == old.created_at {
                    old.id
                } else {
                    free_key(&tx, &note.uuid, note.created_at)?
                };
                tx.prepare_cached("DELETE FROM notes_fts WHERE rowid = ?1")?
                    .execute([old.id])?;
                index_note(&tx, id, &note, &mut terms)?;
                let (raw, elided) = elide_content(note.raw, &note.content);
                tx.prepare_cached(
                    "UPDATE notes SET id = ?2, note_type = ?3, content = ?4, created_at = ?5,
                        updated_at = ?6, created_at_raw = ?7, updated_at_raw = ?8,
                        has_patient = ?9, patient_uuid = ?10, patient_first_name = ?11,
                        patient_last_name = ?12, patient_external_id = ?13, status = 'revised',
                        status_changed_at = ?14, raw = ?15, raw_content_elided = ?16,
                        verified = ?17, author_user_id = coalesce(?18, author_user_id)
                      WHERE id = ?1",
                )?
                .execute(params![
                    old.id,
                    id,
                    note.note_type,
                    note.content,
                    ts(note.created_at),
                    ts(note.updated_at),
                    created_raw,
                    updated_raw,
                    note.patient.is_some(),
                    patient.uuid,
                    patient.first_name,
                    patient.last_name,
                    patient.external_id,
                    now,
                    raw,
                    elided,
                    origin.verified,
                    author,
                ])?;
                let mut detail = json!({
                    "source": source.as_str(),
                    "previousUpdatedAt": old.updated_at_raw,
                    "updatedAt": updated_raw,
                });
                if !old.verified && origin.verified {
                    detail["replacedUnverified"] = json!(true);
                }
                audit(
                    &tx,
                    &note.uuid,
                    &now,
                    "sync",
                    "revised",
                    Some(old.status),
                    Some(Status::Revised),
                    &detail,
                )?;
                if let Some(p) = old.patient_uuid {
                    touched_patients.insert(p);
                }
                report.revised.push(note.uuid);
            }
        }

        // Reached for inserted and revised notes only.
        if let Some(puuid) = &patient.uuid {
            tx.prepare_cached(
                "INSERT INTO patients (uuid, first_name, last_name, external_id, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (uuid) DO UPDATE SET
                    first_name = coalesce(excluded.first_name, first_name),
                    last_name = coalesce(excluded.last_name, last_name),
                    external_id = coalesce(excluded.external_id, external_id),
                    updated_at = excluded.updated_at",
            )?
            .execute(params![
                puuid,
                patient.first_name,
                patient.last_name,
                patient.external_id,
                now
            ])?;
            touched_patients.insert(puuid.clone());
        }
    }

    for puuid in &touched_patients {
        refresh_patient(&tx, puuid)?;
    }
    {
        let mut st = tx.prepare_cached("INSERT OR IGNORE INTO fts_terms (term) VALUES (?1)")?;
        for t in &terms {
            st.execute([t])?;
        }
    }
    write_sync_state(&tx, &sync_state, &now)?;
    tx.commit()?;
    tracing::debug!(
        inserted = report.inserted.len(),
        revised = report.revised.len(),
        unchanged = report.unchanged,
        stale = report.stale,
        source = source.as_str(),
        "inbox ingest committed"
    );
    Ok(report)
}

/// Whether the stored note `id` has `note`'s content, type and patient.
fn same_content(c: &Connection, id: i64, note: &askara::Note) -> Result<bool, InboxError> {
    let patient = note.patient.clone().unwrap_or_default();
    let same: Option<i64> = c
        .prepare_cached(
            "SELECT 1 FROM notes WHERE id = ?1 AND content = ?2 AND note_type IS ?3
                AND has_patient = ?4 AND patient_uuid IS ?5 AND patient_first_name IS ?6
                AND patient_last_name IS ?7",
        )?
        .query_row(
            params![
                id,
                note.content,
                note.note_type,
                note.patient.is_some(),
                patient.uuid,
                patient.first_name,
                patient.last_name
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(same.is_some())
}

/// Recomputes a patient's note count, latest note time and search text.
fn refresh_patient(c: &Connection, uuid: &str) -> Result<(), InboxError> {
    let names: Option<(Option<String>, Option<String>, Option<String>)> = c
        .prepare_cached("SELECT first_name, last_name, external_id FROM patients WHERE uuid = ?1")?
        .query_row([uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((first, last, ext)) = names else {
        return Ok(());
    };
    let folded = [first, last, ext, Some(uuid.to_string())]
        .into_iter()
        .flatten()
        .map(|s| fold(&s))
        .collect::<Vec<_>>()
        .join(" ");
    c.prepare_cached(
        "UPDATE patients SET
            note_count = (SELECT count(*) FROM notes WHERE patient_uuid = ?1),
            latest_note_at = (SELECT created_at FROM notes WHERE patient_uuid = ?1
                               ORDER BY id DESC LIMIT 1),
            search_folded = ?2
          WHERE uuid = ?1",
    )?
    .execute(params![uuid, folded])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reads and state changes

fn get_blocking(c: &Connection, uuid: &str) -> Result<Option<NoteRecord>, InboxError> {
    let sql = format!("SELECT {NOTE_COLS}, {RECORD_TAIL} FROM notes n WHERE n.uuid = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row([uuid], note_from_row)
        .optional()?)
}

fn list_blocking(c: &Connection, q: &ListQuery) -> Result<Vec<NoteRecord>, InboxError> {
    let mut sql = format!("SELECT {NOTE_COLS}, {RECORD_TAIL} FROM notes n WHERE 1");
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(s) = q.status {
        sql.push_str(" AND n.status = ?");
        args.push(Box::new(s));
    }
    if let Some(p) = &q.patient_uuid {
        sql.push_str(" AND n.patient_uuid = ?");
        args.push(Box::new(p.clone()));
    }
    sql.push_str(" ORDER BY n.id DESC LIMIT ? OFFSET ?");
    args.push(Box::new(limit_param(q.limit)));
    args.push(Box::new(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args.iter()), note_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn search_blocking(
    c: &Connection,
    text: &str,
    q: &SearchQuery,
) -> Result<SearchResults, InboxError> {
    let terms = search_terms(text);
    let expansion = match terms.last() {
        Some(last) => expand_prefix(c, last)?,
        None => None,
    };
    let Some(mut expr) = build_fts_query(&terms, expansion.as_deref()) else {
        return Ok(SearchResults {
            notes: Vec::new(),
            order: q.order,
        });
    };
    if let Some(tok) = q.patient_uuid.as_deref().and_then(patient_token) {
        expr = format!("({expr}) AND (pt : \"{tok}\")");
    }
    let mut order = q.order;
    if order == SearchOrder::Relevance {
        let matches: i64 = c
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM notes_fts WHERE notes_fts MATCH ?1 LIMIT ?2)",
            )?
            .query_row(
                params![
                    expr,
                    i64::try_from(RELEVANCE_MAX_MATCHES + 1).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )?;
        if usize::try_from(matches).unwrap_or(usize::MAX) > RELEVANCE_MAX_MATCHES {
            order = SearchOrder::Newest;
        }
    }
    let (sql, args) = search_ids_sql(expr, q, order);
    let ids: Vec<i64> = c
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut by_id = c.prepare_cached(&format!(
        "SELECT {NOTE_COLS}, {RECORD_TAIL} FROM notes n WHERE n.id = ?1"
    ))?;
    let mut notes = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(n) = by_id.query_row([id], note_from_row).optional()? {
            notes.push(n);
        }
    }
    Ok(SearchResults { notes, order })
}

/// Most exact terms a last-word prefix is expanded into; beyond it the FTS5 prefix query runs.
const MAX_PREFIX_EXPANSION: usize = 24;

/// The indexed terms starting with `prefix`, when it is one token and they are few; `None`
/// means "let FTS5 do the prefix match".
fn expand_prefix(c: &Connection, prefix: &str) -> Result<Option<Vec<String>>, InboxError> {
    if prefix.is_empty() || !prefix.chars().all(char::is_alphanumeric) {
        return Ok(None);
    }
    let upper = format!("{prefix}\u{10FFFF}");
    let found: Vec<String> = c
        .prepare_cached(
            "SELECT term FROM fts_terms WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3",
        )?
        .query_map(
            params![
                prefix,
                upper,
                i64::try_from(MAX_PREFIX_EXPANSION + 1).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    Ok((!found.is_empty() && found.len() <= MAX_PREFIX_EXPANSION).then_some(found))
}

/// Phase one of a search: the matching ids, in order. CROSS JOIN keeps notes_fts the outer
/// loop, so FTS5 yields matches already in rowid (= createdAt) order and the LIMIT stops it
/// early; filters touch only the small leading columns of `notes`. Phase two reads the rows.
fn search_ids_sql(
    expr: String,
    q: &SearchQuery,
    order: SearchOrder,
) -> (String, Vec<Box<dyn ToSql>>) {
    let mut sql = String::from("SELECT notes_fts.rowid FROM notes_fts");
    if q.status.is_some() || q.patient_uuid.is_some() {
        sql.push_str(" CROSS JOIN notes n ON n.id = notes_fts.rowid");
    }
    sql.push_str(" WHERE notes_fts MATCH ?");
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(expr)];
    if let Some(s) = q.status {
        sql.push_str(" AND n.status = ?");
        args.push(Box::new(s));
    }
    if let Some(p) = &q.patient_uuid {
        sql.push_str(" AND n.patient_uuid = ?");
        args.push(Box::new(p.clone()));
    }
    sql.push_str(match order {
        SearchOrder::Newest => " ORDER BY notes_fts.rowid DESC LIMIT ?",
        SearchOrder::Relevance => " ORDER BY notes_fts.rank, notes_fts.rowid DESC LIMIT ?",
    });
    args.push(Box::new(limit_param(Some(q.limit))));
    (sql, args)
}

pub(crate) fn note_status(c: &Connection, uuid: &str) -> Result<Option<Status>, InboxError> {
    Ok(
        c.prepare_cached("SELECT status FROM notes WHERE uuid = ?1")?
            .query_row([uuid], |r| r.get(0))
            .optional()?,
    )
}

fn set_status_blocking(
    c: &mut Connection,
    uuid: String,
    to: Status,
    actor: &str,
) -> Result<StatusChange, InboxError> {
    let now = Utc::now();
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(from) = note_status(&tx, &uuid)? else {
        return Err(InboxError::NotFound { uuid });
    };
    if from == to {
        return Ok(StatusChange {
            uuid,
            from,
            to,
            changed: false,
            at: now,
            audit_id: None,
        });
    }
    if let Err(reason) = from.can_change_to(to) {
        return Err(InboxError::InvalidTransition {
            uuid,
            from,
            to,
            reason,
        });
    }
    let at = ts(now);
    tx.prepare_cached("UPDATE notes SET status = ?2, status_changed_at = ?3 WHERE uuid = ?1")?
        .execute(params![uuid, to, at])?;
    let id = audit(
        &tx,
        &uuid,
        &at,
        actor,
        "status_changed",
        Some(from),
        Some(to),
        &json!({}),
    )?;
    tx.commit()?;
    Ok(StatusChange {
        uuid,
        from,
        to,
        changed: true,
        at: now,
        audit_id: Some(id),
    })
}

fn audit_log_blocking(
    c: &Connection,
    uuid: Option<&str>,
    limit: usize,
) -> Result<Vec<AuditEvent>, InboxError> {
    let sql = format!(
        "SELECT id, note_uuid, at, actor, action, from_status, to_status, detail
           FROM audit_events {} ORDER BY id DESC LIMIT ?2",
        if uuid.is_some() {
            "WHERE note_uuid = ?1"
        } else {
            "WHERE ?1 IS NULL"
        }
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![uuid, limit_param(Some(limit))], |r| {
        Ok(AuditEvent {
            id: r.get(0)?,
            note_uuid: r.get(1)?,
            at: ts_col(r, 2)?,
            actor: r.get(3)?,
            action: r.get(4)?,
            from_status: r.get(5)?,
            to_status: r.get(6)?,
            detail: json_col(r, 7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn versions_blocking(c: &Connection, uuid: &str) -> Result<Vec<NoteVersion>, InboxError> {
    let sql = format!(
        "SELECT {}, n.replaced_at FROM note_versions n WHERE n.note_uuid = ?1 ORDER BY n.id",
        NOTE_COLS.replacen("n.uuid", "n.note_uuid", 1)
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map([uuid], version_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn patients_blocking(
    c: &Connection,
    text: Option<&str>,
    limit: usize,
) -> Result<Vec<PatientSummary>, InboxError> {
    let terms = text.map(search_terms).unwrap_or_default();
    let mut sql = String::from(
        "SELECT uuid, first_name, last_name, external_id, note_count, latest_note_at
           FROM patients WHERE 1",
    );
    for _ in &terms {
        sql.push_str(" AND instr(search_folded, ?) > 0");
    }
    sql.push_str(" ORDER BY latest_note_at DESC, uuid LIMIT ?");
    let mut args: Vec<Box<dyn ToSql>> = terms
        .into_iter()
        .map(|t| Box::new(t) as Box<dyn ToSql>)
        .collect();
    args.push(Box::new(limit_param(Some(limit))));
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args.iter()), |r| {
        Ok(PatientSummary {
            uuid: r.get(0)?,
            first_name: r.get(1)?,
            last_name: r.get(2)?,
            external_id: r.get(3)?,
            note_count: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            latest_note_at: opt_ts_col(r, 5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// For tests and benchmarks: the query plan of a search's first phase, one line per step.
#[doc(hidden)]
pub fn explain_search(path: &Path, text: &str, q: &SearchQuery) -> Result<Vec<String>, InboxError> {
    let c = db::connect(path)?;
    let expr = fts_query(text).unwrap_or_default();
    let (sql, args) = search_ids_sql(expr, q, q.order);
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = st.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
