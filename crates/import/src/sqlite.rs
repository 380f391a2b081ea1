//! SQLite file target: WAL, busy_timeout, `BEGIN IMMEDIATE`, all work in `spawn_blocking`.

use crate::error::sqlite_err;
use crate::mapping::{Ident, Kind, Mapping, Source};
use crate::row::{decide, existing_outcome, Decision, Existing, NoteRow};
use crate::schema::{self, SCHEMA_VERSION};
use crate::sql::Statements;
use crate::value::{parse_time, sqlite_val, Val};
use crate::{
    ConnectOptions, ImportContext, ImportError, ImportOutcome, ImportResult, ImportTarget,
};
use rusqlite::{params, params_from_iter, Connection, OpenFlags, TransactionBehavior};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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

fn open_blocking(
    path: PathBuf,
    mapping: Option<Mapping>,
    opts: ConnectOptions,
) -> Result<Inner, ImportError> {
    let mapped = mapping.is_some();
    // A mapping targets an existing practice database: never create an empty file by accident.
    let flags = if mapped {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::default()
    };
    if mapped && !path.exists() {
        return Err(ImportError::Unreachable(format!(
            "SQLite file {} does not exist; check the target path",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(&path, flags)
        .map_err(|e| sqlite_err("opening the SQLite file", e))?;
    conn.busy_timeout(opts.busy_timeout)
        .map_err(|e| sqlite_err("configuring SQLite", e))?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| sqlite_err("switching SQLite to WAL", e))?;
    ensure_schema(&conn, mapped)?;
    let mapping = match mapping {
        Some(m) => {
            validate(&conn, &m)?;
            m
        }
        None => Mapping::default_schema(),
    };
    let sources = mapping.sources();
    let sql = Statements::new(&mapping, &sources, mapped, false);
    Ok(Inner {
        conn: Mutex::new(conn),
        mapping,
        sources,
        sql,
        batch_size: opts.batch_size.max(1),
    })
}

fn ensure_schema(conn: &Connection, mapped: bool) -> Result<(), ImportError> {
    let err = |e| sqlite_err("creating the import tables", e);
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    let res = (|| -> Result<(), ImportError> {
        conn.execute_batch(schema::SQLITE_META).map_err(err)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM askara_import_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(err)?;
        if let Some(v) = found.as_deref().and_then(|v| v.parse::<i64>().ok()) {
            if v > SCHEMA_VERSION {
                return Err(schema::too_new(v));
            }
        }
        conn.execute_batch(if mapped {
            schema::SQLITE_LOG
        } else {
            schema::SQLITE_NOTES
        })
        .map_err(err)?;
        conn.execute(
            "INSERT INTO askara_import_meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![SCHEMA_VERSION.to_string()],
        )
        .map_err(err)?;
        Ok(())
    })();
    match res {
        Ok(()) => conn.execute_batch("COMMIT").map_err(err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// SQLite type affinity of a declared column type (section 3.1 of SQLite's datatype docs).
fn affinity(decl: &str) -> &'static str {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        "INTEGER"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "TEXT"
    } else if d.is_empty() || d.contains("BLOB") {
        "BLOB"
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

fn kind_fits(kind: Option<Kind>, decl: &str) -> bool {
    let a = affinity(decl);
    match kind {
        // Text in an INTEGER/REAL/NUMERIC column would be silently converted when it looks
        // like a number ("123" → 123): refuse.
        Some(Kind::Text) | Some(Kind::Uuid) => matches!(a, "TEXT" | "BLOB"),
        // RFC 3339 text never looks like a number, so DATETIME (NUMERIC) columns are fine.
        Some(Kind::Time) => matches!(a, "TEXT" | "BLOB" | "NUMERIC"),
        Some(Kind::Int) | Some(Kind::Float) | Some(Kind::Bool) => true,
        None => true, // patient id: whatever the lookup returns
    }
}

struct ColInfo {
    name: String,
    decl: String,
    notnull: bool,
    has_default: bool,
    pk: i64,
}

fn validate(conn: &Connection, m: &Mapping) -> Result<(), ImportError> {
    let err = |e| sqlite_err("reading the target table's definition", e);
    let schema = m.table.schema.clone().unwrap_or_else(|| "main".to_string());
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?1, ?2)")
        .map_err(err)?;
    let cols: Vec<ColInfo> = stmt
        .query_map(params![m.table.name, schema], |r| {
            Ok(ColInfo {
                name: r.get(0)?,
                decl: r.get(1)?,
                notnull: r.get(2)?,
                has_default: r.get(3)?,
                pk: r.get(4)?,
            })
        })
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    if cols.is_empty() {
        return Err(ImportError::BadMapping(format!(
            "table `{}` does not exist in the SQLite file: fix `table` in the mapping",
            m.table.display()
        )));
    }
    let table_name = m.table.display();
    let find = |c: &Ident| cols.iter().find(|ci| ci.name.eq_ignore_ascii_case(&c.name));
    for (col, src) in m.sources() {
        let ci = find(&col).ok_or_else(|| {
            ImportError::BadMapping(format!(
                "column `{}` does not exist in table `{table_name}`: fix the mapping",
                col.name
            ))
        })?;
        let kind = match &src {
            Source::Field(f) => Some(f.kind()),
            Source::PatientId => None,
            Source::Const(v) => Some(match v {
                Val::Text(_) => Kind::Text,
                _ => Kind::Int,
            }),
        };
        if !kind_fits(kind, &ci.decl) {
            return Err(ImportError::BadMapping(format!(
                "column `{}` of table `{table_name}` is declared {} and cannot hold {}: map a text column",
                ci.name,
                if ci.decl.is_empty() { "without a type" } else { ci.decl.as_str() },
                match &src {
                    Source::Field(f) => f.name().to_string(),
                    _ => "this value".to_string(),
                }
            )));
        }
    }
    let mapped: Vec<String> = m
        .sources()
        .iter()
        .map(|(c, _)| c.name.to_ascii_lowercase())
        .collect();
    let int_pk = cols.iter().filter(|c| c.pk > 0).count() == 1;
    for c in &cols {
        let rowid_alias = int_pk && c.pk > 0 && c.decl.eq_ignore_ascii_case("INTEGER");
        if c.notnull
            && !c.has_default
            && !rowid_alias
            && !mapped.contains(&c.name.to_ascii_lowercase())
        {
            return Err(ImportError::BadMapping(format!(
                "column `{}` of table `{table_name}` is NOT NULL without a default and the mapping gives it no value: map it or add a constant",
                c.name
            )));
        }
    }
    // The uuid column must carry a unique constraint or a unique index of its own.
    let uuid_col = m.uuid_column();
    let mut idx = conn
        .prepare("SELECT name FROM pragma_index_list(?1, ?2) WHERE \"unique\" = 1 AND partial = 0")
        .map_err(err)?;
    let indexes: Vec<String> = idx
        .query_map(params![m.table.name, schema], |r| r.get(0))
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let mut unique = false;
    for name in indexes {
        let mut info = conn
            .prepare("SELECT name FROM pragma_index_info(?1, ?2)")
            .map_err(err)?;
        let icols: Vec<Option<String>> = info
            .query_map(params![name, schema], |r| r.get(0))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        if icols.len() == 1
            && icols[0]
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&uuid_col.name))
        {
            unique = true;
        }
    }
    if !unique {
        return Err(ImportError::BadMapping(format!(
            "column `{}` of table `{table_name}` has no unique constraint or unique index, so a note could be imported twice: \
             CREATE UNIQUE INDEX ON {table_name} ({}) first",
            uuid_col.name, uuid_col.name
        )));
    }
    if let Some(l) = &m.patient_lookup {
        let q = l.query_for(false);
        let stmt = conn.prepare(&q).map_err(|e| {
            ImportError::BadMapping(format!(
                "patient_lookup.query does not run on this database: {e}"
            ))
        })?;
        if stmt.parameter_count() != 1 || stmt.column_count() < 1 || !stmt.readonly() {
            return Err(ImportError::BadMapping(
                "patient_lookup.query must be a read-only SELECT with exactly one parameter that returns the patient id".into(),
            ));
        }
    }
    Ok(())
}

fn lookup(conn: &Connection, inner: &Inner, row: &mut NoteRow) -> Result<(), ImportError> {
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
    let existing = conn
        .prepare_cached(&sql.claim_select)
        .and_then(|mut s| {
            s.query_row(params![row.uuid], |r| {
                let at: String = r.get(1)?;
                Ok(Existing {
                    sha: r.get(0)?,
                    imported_at: parse_time(&at).unwrap_or_default(),
                    imported_by: r.get(2)?,
                })
            })
        })
        .map_err(err)?;
    match decide(&existing, row, ctx) {
        Decision::Unchanged => Ok(existing_outcome(row, ImportResult::Unchanged, &existing)),
        Decision::Conflict => Ok(existing_outcome(row, ImportResult::Conflict, &existing)),
        Decision::Update => {
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
    }
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
}
