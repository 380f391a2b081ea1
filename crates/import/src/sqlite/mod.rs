//! SQLite file target: WAL, busy_timeout, `BEGIN IMMEDIATE`, all work in `spawn_blocking`.

use crate::error::sqlite_err;
use crate::mapping::{Ident, Kind, Mapping, Source};
use crate::row::{decide, Decision, Existing, NoteRow};
use crate::schema::{self, SCHEMA_VERSION};
use crate::sql::Statements;
use crate::value::{parse_time, sqlite_val, Val};
use crate::{
    ConnectOptions, ImportContext, ImportError, ImportOutcome, ImportResult, ImportTarget,
    PatientCandidate,
};
use rusqlite::{
    params, params_from_iter, Connection, OpenFlags, OptionalExtension, TransactionBehavior,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod connect;
mod validate;

use connect::*;
#[allow(unused_imports)]
use validate::*;

struct Inner {
    conn: Mutex<Connection>,
    mapping: Mapping,
    sources: Vec<(Ident, Source)>,
    sql: Statements,
    batch_size: usize,
}

pub(crate) struct SqliteTarget {
    inner: Arc<Inner>,
    describe: String,
}

const CONSTRAINT_UNIQUE: i32 = 2067;
const CONSTRAINT_PRIMARYKEY: i32 = 1555;

impl SqliteTarget {
    pub(crate) async fn open(
        path: PathBuf,
        mapping: Option<Mapping>,
        opts: ConnectOptions,
    ) -> Result<SqliteTarget, ImportError> {
        let describe = format!("sqlite:{}", path.display());
        let inner = tokio::task::spawn_blocking(move || open_blocking(path, mapping, opts))
            .await
            .map_err(|_| {
                ImportError::Database("the SQLite worker stopped unexpectedly; try again".into())
            })??;
        Ok(SqliteTarget {
            inner: Arc::new(inner),
            describe,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> T + Send + 'static,
    ) -> Result<T, ImportError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|_| {
                ImportError::Database("the SQLite worker stopped unexpectedly; try again".into())
            })
    }
}

fn lookup(conn: &Connection, inner: &Inner, row: &mut NoteRow) -> Result<(), ImportError> {
    if row.settle_patient(&inner.mapping, &inner.sources)? {
        return Ok(());
    }
    let (Some(q), Some(key)) = (&inner.sql.lookup, &row.lookup_key) else {
        return Ok(());
    };
    let found: Vec<Val> = if *key == Val::Null {
        Vec::new()
    } else {
        let mut stmt = conn
            .prepare_cached(q)
            .map_err(|e| sqlite_err("looking up the patient", e))?;
        let mut rows = stmt
            .query(params![key])
            .map_err(|e| sqlite_err("looking up the patient", e))?;
        let mut found = Vec::new();
        while let Some(r) = rows
            .next()
            .map_err(|e| sqlite_err("looking up the patient", e))?
        {
            found.push(sqlite_val(
                r.get_ref(0)
                    .map_err(|e| sqlite_err("looking up the patient", e))?,
            ));
            if found.len() > 1 {
                break;
            }
        }
        found
    };
    row.set_patient(&inner.mapping, &inner.sources, found)
}

/// Writes one note inside the caller's transaction. Decides by what the database holds.
fn write_note(
    conn: &Connection,
    inner: &Inner,
    row: &NoteRow,
    ctx: &ImportContext,
) -> Result<ImportOutcome, ImportError> {
    let sql = &inner.sql;
    let err = |e| sqlite_err("writing the note", e);
    let table = inner.mapping.table.display();
    let claimed = if sql.mapped {
        let n = conn
            .prepare_cached(&sql.claim_insert)
            .and_then(|mut s| {
                s.execute(params![
                    row.uuid,
                    row.sha,
                    Val::Time(row.now),
                    ctx.user,
                    ctx.workstation,
                    table
                ])
            })
            .map_err(err)?;
        if n == 1 {
            insert_data(conn, inner, row)?;
        }
        n == 1
    } else {
        conn.prepare_cached(&sql.claim_insert)
            .and_then(|mut s| s.execute(params_from_iter(row.vals.iter())))
            .map_err(err)?
            == 1
    };
    if claimed {
        return Ok(row.outcome(ImportResult::Imported, ctx));
    }
    let mut existing = conn
        .prepare_cached(&sql.claim_select)
        .and_then(|mut s| {
            s.query_row(params![row.uuid], |r| {
                let at: String = r.get(1)?;
                Ok(Existing {
                    sha: r.get(0)?,
                    imported_at: parse_time(&at).unwrap_or_default(),
                    imported_by: r.get(2)?,
                    patient: None,
                })
            })
        })
        .map_err(err)?;
    if let Some(q) = &sql.patient_select {
        existing.patient = conn
            .prepare_cached(q)
            .and_then(|mut s| {
                s.query_row(params![row.uuid], |r| r.get::<_, Option<String>>(0))
                    .optional()
            })
            .map_err(err)?;
    }
    if let Decision::Settled(done) = decide(&existing, row, ctx) {
        return Ok(done);
    }
    if sql.mapped {
        conn.prepare_cached(&sql.claim_update)
            .and_then(|mut s| {
                s.execute(params![
                    row.uuid,
                    row.sha,
                    Val::Time(row.now),
                    ctx.user,
                    ctx.workstation,
                    table
                ])
            })
            .map_err(err)?;
    }
    let mut params: Vec<&dyn rusqlite::ToSql> =
        row.vals.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
    params.push(&row.uuid);
    let n = conn
        .prepare_cached(&sql.data_update)
        .and_then(|mut s| s.execute(params.as_slice()))
        .map_err(err)?;
    if n == 0 && sql.mapped {
        // The practice row was deleted since: write it again.
        insert_data(conn, inner, row)?;
    }
    Ok(row.outcome(ImportResult::Updated, ctx))
}

fn insert_data(conn: &Connection, inner: &Inner, row: &NoteRow) -> Result<(), ImportError> {
    conn.prepare_cached(&inner.sql.data_insert)
        .and_then(|mut s| s.execute(params_from_iter(row.vals.iter())))
        .map(|_| ())
        .map_err(|e| match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == CONSTRAINT_UNIQUE
                    || f.extended_code == CONSTRAINT_PRIMARYKEY =>
            {
                crate::row::already_there(&row.uuid, &inner.mapping)
            }
            _ => sqlite_err("writing the note", e),
        })
}

fn import_one(
    inner: &Inner,
    note: &askara::Note,
    ctx: &ImportContext,
) -> Result<ImportOutcome, ImportError> {
    let mut conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
    let behavior = if ctx.dry_run {
        TransactionBehavior::Deferred
    } else {
        TransactionBehavior::Immediate
    };
    let tx = conn
        .transaction_with_behavior(behavior)
        .map_err(|e| sqlite_err("starting the import", e))?;
    let mut row = NoteRow::new(note, ctx, &inner.mapping, &inner.sources);
    lookup(&tx, inner, &mut row)?;
    if ctx.dry_run {
        return Ok(row.dry_run(&inner.sources, ctx)); // dropping tx rolls back
    }
    let out = write_note(&tx, inner, &row, ctx)?;
    tx.commit()
        .map_err(|e| sqlite_err("committing the import", e))?;
    Ok(out)
}

type BatchResult = Result<Vec<Result<ImportOutcome, ImportError>>, ImportError>;

/// One transaction for the chunk; `Err` when a database error hit one of its notes.
fn import_chunk(inner: &Inner, notes: &[askara::Note], ctx: &ImportContext) -> BatchResult {
    let mut conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
    let behavior = if ctx.dry_run {
        TransactionBehavior::Deferred
    } else {
        TransactionBehavior::Immediate
    };
    let tx = conn
        .transaction_with_behavior(behavior)
        .map_err(|e| sqlite_err("starting the import", e))?;
    let mut out = Vec::with_capacity(notes.len());
    for note in notes {
        let mut row = NoteRow::new(note, ctx, &inner.mapping, &inner.sources);
        match lookup(&tx, inner, &mut row) {
            Ok(()) => {}
            Err(e @ (ImportError::PatientNotFound(_) | ImportError::PatientAmbiguous(_))) => {
                out.push(Err(e));
                continue;
            }
            Err(e) => return Err(e),
        }
        if ctx.dry_run {
            out.push(Ok(row.dry_run(&inner.sources, ctx)));
            continue;
        }
        out.push(Ok(write_note(&tx, inner, &row, ctx)?));
    }
    if !ctx.dry_run {
        tx.commit()
            .map_err(|e| sqlite_err("committing the import", e))?;
    }
    Ok(out)
}

fn import_batch_blocking(
    inner: &Inner,
    notes: &[askara::Note],
    ctx: &ImportContext,
) -> BatchResult {
    let mut results = Vec::with_capacity(notes.len());
    for chunk in notes.chunks(inner.batch_size) {
        match import_chunk(inner, chunk, ctx) {
            Ok(r) => results.extend(r),
            Err(e) if e.is_connection_loss() => return Err(e),
            Err(e) => {
                tracing::warn!(
                    code = e.code(),
                    notes = chunk.len(),
                    "batch rolled back; importing its notes one by one"
                );
                for note in chunk {
                    match import_one(inner, note, ctx) {
                        Err(e) if e.is_connection_loss() => return Err(e),
                        r => results.push(r),
                    }
                }
            }
        }
    }
    Ok(results)
}

#[async_trait::async_trait]
impl ImportTarget for SqliteTarget {
    async fn import(
        &self,
        note: &askara::Note,
        ctx: &ImportContext,
    ) -> Result<ImportOutcome, ImportError> {
        let (note, ctx) = (note.clone(), ctx.clone());
        self.run(move |inner| import_one(inner, &note, &ctx))
            .await?
    }

    async fn import_batch(
        &self,
        notes: &[askara::Note],
        ctx: &ImportContext,
    ) -> Result<Vec<Result<ImportOutcome, ImportError>>, ImportError> {
        let (notes, ctx) = (notes.to_vec(), ctx.clone());
        self.run(move |inner| import_batch_blocking(inner, &notes, &ctx))
            .await?
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn can_search_patients(&self) -> bool {
        self.inner.sql.search.is_some()
    }

    fn requires_patient(&self) -> bool {
        self.inner.mapping.requires_patient()
    }

    async fn search_patients(&self, text: &str) -> Result<Vec<PatientCandidate>, ImportError> {
        if self.inner.sql.search.is_none() {
            return Err(crate::search::not_configured());
        }
        let text = text.to_string();
        self.run(move |inner| search_blocking(inner, &text)).await?
    }
}

/// Runs `[patient_search]` (capped, its own short transaction) for `text`, the connection
/// read-only meanwhile (`PRAGMA query_only`; validation refused a statement that writes).
fn search_blocking(inner: &Inner, text: &str) -> Result<Vec<PatientCandidate>, ImportError> {
    let Some(q) = &inner.sql.search else {
        return Err(crate::search::not_configured());
    };
    let err = |e| sqlite_err("searching the practice's patients", e);
    let conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
    conn.pragma_update(None, "query_only", true).map_err(err)?;
    let read_only = QueryOnly(&conn);
    let out = search_rows(read_only.0, q, text);
    drop(read_only);
    out
}

/// Turns `query_only` off again when dropped (an error or a panic included): the connection
/// imports next.
struct QueryOnly<'a>(&'a Connection);

impl Drop for QueryOnly<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.pragma_update(None, "query_only", false) {
            tracing::warn!(error = %e, "could not make the SQLite target writable again after a patient search");
        }
    }
}

fn search_rows(
    conn: &Connection,
    q: &str,
    text: &str,
) -> Result<Vec<PatientCandidate>, ImportError> {
    let err = |e| sqlite_err("searching the practice's patients", e);
    let mut stmt = conn.prepare_cached(q).map_err(err)?;
    let width = stmt.column_count().min(4);
    let mut rows = stmt.query(params![text]).map_err(err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(err)? {
        let cells = (0..width)
            .map(|i| r.get_ref(i).map(sqlite_val))
            .collect::<Result<Vec<Val>, _>>()
            .map_err(err)?;
        if let Some(c) = crate::search::candidate(cells) {
            out.push(c);
        }
        if out.len() >= crate::MAX_CANDIDATES {
            break;
        }
    }
    Ok(out)
}
