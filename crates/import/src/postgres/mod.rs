//! PostgreSQL target: tokio-postgres over rustls, one connection per target (reconnected
//! when lost), one transaction per import or batch, statements pipelined within a batch.
//!
//! [`errors`]: driver errors in words; [`connect`]: opening, schema, prepared statements;
//! [`validate`]: a mapping checked against the live table; the writes are here.

use crate::mapping::{Ident, Kind, Mapping, Source};
use crate::row::{decide, Decision, Existing, NoteRow};
use crate::schema::{self, SCHEMA_VERSION};
use crate::spec::{PgSpec, SslMode};
use crate::sql::Statements;
use crate::tls::{Negotiated, TlsPlan};
use crate::value::{is_pg_text, pg_readable, PgTime, Val};
use crate::{
    ConnectOptions, ImportContext, ImportError, ImportOutcome, ImportResult, ImportTarget,
    PatientCandidate,
};
use futures_util::future::join_all;
use guard::AuthGuard;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement};

struct Prepared {
    claim_insert: Statement,
    claim_select: Statement,
    claim_update: Option<Statement>,
    patient_select: Option<Statement>,
    data_insert: Option<Statement>,
    data_update: Statement,
    lookup: Option<Statement>,
    search: Option<Statement>,
}

struct Conn {
    client: Client,
    st: Prepared,
}

pub(crate) struct PgTarget {
    spec: PgSpec,
    describe: String,
    opts: ConnectOptions,
    tls: Option<TlsPlan>,
    mapping: Mapping,
    sources: Vec<(Ident, Source)>,
    sql: Statements,
    conn: tokio::sync::Mutex<Option<Conn>>,
}

mod connect;
mod errors;
mod guard;
mod validate;

#[allow(unused_imports)]
use connect::*;
pub(crate) use connect::{open as open_client, open_with_notifications};
pub(crate) use errors::pg_err;
use errors::*;
use validate::*;

impl PgTarget {
    pub(crate) async fn connect(
        spec: PgSpec,
        describe: String,
        mapping: Option<Mapping>,
        opts: ConnectOptions,
    ) -> Result<PgTarget, ImportError> {
        let tls = crate::tls::client_config(&spec)?;
        let mapped = mapping.is_some();
        let mut client = open(&spec, &tls, &opts).await?;
        ensure_schema(&spec, &client, mapped).await?;
        let mapping = match mapping {
            Some(m) => validate(&spec, &client, m).await?,
            None => Mapping::default_schema(),
        };
        if let Some(s) = &mapping.patient_search {
            crate::search::check_reads_only(&s.query, "patient_search")?;
            check_search_reads_only(&spec, &mut client, &s.query_for(true), &opts).await?;
        }
        let sources = mapping.sources();
        let sql = Statements::new(&mapping, &sources, mapped, true);
        let st = prepare(&spec, &client, &sql).await?;
        if let Some(lookup) = &st.lookup {
            check_lookup_types(&mapping, &sources, lookup, &st.data_insert)?;
        }
        if let Some(search) = &st.search {
            check_search_types(search)?;
        }
        let target = PgTarget {
            spec,
            describe,
            opts,
            tls,
            mapping,
            sources,
            sql,
            conn: tokio::sync::Mutex::new(Some(Conn { client, st })),
        };
        Ok(target)
    }

    /// A live connection, reconnecting first if the old one was lost.
    async fn live(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Conn>>, ImportError> {
        let mut guard = self.conn.lock().await;
        if guard.as_ref().is_none_or(|c| c.client.is_closed()) {
            *guard = None;
            let client = open(&self.spec, &self.tls, &self.opts).await?;
            let st = prepare(&self.spec, &client, &self.sql).await?;
            *guard = Some(Conn { client, st });
        }
        Ok(guard)
    }

    async fn import_one(
        &self,
        note: &askara::Note,
        ctx: &ImportContext,
    ) -> Result<ImportOutcome, ImportError> {
        let mut row = NoteRow::new(note, ctx, &self.mapping, &self.sources);
        let mut guard = self.live().await?;
        let Some(conn) = guard.as_mut() else {
            return Err(no_conn());
        };
        let fut = async {
            let spec = &self.spec;
            let tx = conn
                .client
                .transaction()
                .await
                .map_err(|e| pg_err(spec, "starting the import", &e))?;
            self.lookup(&tx, &conn.st, &mut row).await?;
            if ctx.dry_run {
                let out = row.dry_run(&self.sources, ctx);
                tx.rollback()
                    .await
                    .map_err(|e| pg_err(spec, "ending the dry run", &e))?;
                return Ok(out);
            }
            let out = self.write_note(&tx, &conn.st, &row, ctx).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err(spec, "committing the import", &e))?;
            Ok(out)
        };
        let res = tokio::time::timeout(self.opts.operation_timeout, fut).await;
        self.settle(&mut guard, res)
    }

    fn settle<T>(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, Option<Conn>>,
        res: Result<Result<T, ImportError>, tokio::time::error::Elapsed>,
    ) -> Result<T, ImportError> {
        match res {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if e.is_connection_loss() || guard.as_ref().is_none_or(|c| c.client.is_closed()) {
                    **guard = None;
                }
                Err(e)
            }
            Err(_) => {
                **guard = None;
                Err(ImportError::Timeout(format!(
                    "the database server at {} did not finish the import within {} s; nothing was committed, try again",
                    where_(&self.spec),
                    self.opts.operation_timeout.as_secs()
                )))
            }
        }
    }

    /// One transaction for the chunk, statements pipelined. `Err` when any note hit a
    /// database error (the transaction is then rolled back).
    async fn import_chunk(
        &self,
        notes: &[askara::Note],
        ctx: &ImportContext,
    ) -> Result<Vec<Result<ImportOutcome, ImportError>>, ImportError> {
        let mut rows: Vec<NoteRow> = notes
            .iter()
            .map(|n| NoteRow::new(n, ctx, &self.mapping, &self.sources))
            .collect();
        let mut guard = self.live().await?;
        let Some(conn) = guard.as_mut() else {
            return Err(no_conn());
        };
        let fut = async {
            let spec = &self.spec;
            let tx = conn
                .client
                .transaction()
                .await
                .map_err(|e| pg_err(spec, "starting the import", &e))?;
            let st = &conn.st;
            let looked: Vec<Result<(), ImportError>> =
                join_all(rows.iter_mut().map(|r| self.lookup(&tx, st, r))).await;
            let mut out: Vec<Option<Result<ImportOutcome, ImportError>>> =
                Vec::with_capacity(rows.len());
            for l in looked {
                match l {
                    Ok(()) => out.push(None),
                    Err(
                        e @ (ImportError::PatientNotFound(_) | ImportError::PatientAmbiguous(_)),
                    ) => out.push(Some(Err(e))),
                    Err(e) => return Err(e),
                }
            }
            if ctx.dry_run {
                let res = rows
                    .iter()
                    .zip(out)
                    .map(|(r, o)| o.unwrap_or_else(|| Ok(r.dry_run(&self.sources, ctx))))
                    .collect();
                tx.rollback()
                    .await
                    .map_err(|e| pg_err(spec, "ending the dry run", &e))?;
                return Ok(res);
            }
            let todo: Vec<usize> = (0..rows.len()).filter(|i| out[*i].is_none()).collect();
            let written = join_all(
                todo.iter()
                    .map(|i| self.write_note(&tx, st, &rows[*i], ctx)),
            )
            .await;
            for (i, w) in todo.into_iter().zip(written) {
                out[i] = Some(Ok(w?));
            }
            tx.commit()
                .await
                .map_err(|e| pg_err(spec, "committing the import", &e))?;
            Ok(out
                .into_iter()
                .map(|o| o.unwrap_or_else(|| Err(no_conn())))
                .collect())
        };
        let res = tokio::time::timeout(self.opts.operation_timeout, fut).await;
        self.settle(&mut guard, res)
    }

    async fn lookup(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        st: &Prepared,
        row: &mut NoteRow,
    ) -> Result<(), ImportError> {
        if row.settle_patient(&self.mapping, &self.sources)? {
            return Ok(());
        }
        let (Some(stmt), Some(key)) = (&st.lookup, &row.lookup_key) else {
            return Ok(());
        };
        let param_ty = stmt.params().first().cloned().unwrap_or(Type::TEXT);
        // A key that cannot even be expressed in the lookup's parameter type matches nobody.
        let found = if *key == Val::Null || !key.fits_pg(&param_ty) {
            Vec::new()
        } else {
            let rows = tx
                .query(stmt, &[key])
                .await
                .map_err(|e| pg_err(&self.spec, "looking up the patient", &e))?;
            rows.iter()
                .take(2)
                .map(|r| r.try_get::<_, Val>(0))
                .collect::<Result<Vec<Val>, _>>()
                .map_err(|e| pg_err(&self.spec, "reading the patient id", &e))?
        };
        row.set_patient(&self.mapping, &self.sources, found)
    }

    async fn write_note(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        st: &Prepared,
        row: &NoteRow,
        ctx: &ImportContext,
    ) -> Result<ImportOutcome, ImportError> {
        let spec = &self.spec;
        let err = |e: tokio_postgres::Error| pg_err(spec, "writing the note", &e);
        let vals: Vec<&(dyn ToSql + Sync)> =
            row.vals.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let table = self.mapping.table.display();
        let now = Val::Time(row.now);
        let log_params: [&(dyn ToSql + Sync); 6] = [
            &row.uuid,
            &row.sha,
            &now,
            &ctx.user,
            &ctx.workstation,
            &table,
        ];
        let claimed = if self.sql.mapped {
            let n = tx
                .execute(&st.claim_insert, &log_params)
                .await
                .map_err(err)?;
            if n == 1 {
                self.insert_data(tx, st, row, &vals).await?;
            }
            n == 1
        } else {
            tx.execute(&st.claim_insert, &vals).await.map_err(err)? == 1
        };
        if claimed {
            return Ok(row.outcome(ImportResult::Imported, ctx));
        }
        let r = tx
            .query_one(&st.claim_select, &[&row.uuid])
            .await
            .map_err(err)?;
        let mut existing = Existing {
            sha: r.try_get(0).map_err(err)?,
            imported_at: r.try_get::<_, PgTime>(1).map_err(err)?.0,
            imported_by: r.try_get(2).map_err(err)?,
            patient: None,
        };
        if let Some(q) = &st.patient_select {
            // The practice table's uuid column may be `uuid`: bound as a value that fits it.
            let key = Val::Text(row.uuid.clone());
            existing.patient = match tx.query_opt(q, &[&key]).await.map_err(err)? {
                Some(r) => Some(r.try_get::<_, Option<String>>(0).map_err(err)?),
                None => None,
            };
        }
        if let Decision::Settled(done) = decide(&existing, row, ctx) {
            return Ok(done);
        }
        if let Some(u) = &st.claim_update {
            tx.execute(u, &log_params).await.map_err(err)?;
        }
        let key = Val::Text(row.uuid.clone());
        let mut params = vals.clone();
        params.push(&key);
        let n = tx.execute(&st.data_update, &params).await.map_err(err)?;
        if n == 0 && self.sql.mapped {
            self.insert_data(tx, st, row, &vals).await?;
        }
        Ok(row.outcome(ImportResult::Updated, ctx))
    }

    async fn insert_data(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        st: &Prepared,
        row: &NoteRow,
        vals: &[&(dyn ToSql + Sync)],
    ) -> Result<(), ImportError> {
        let Some(ins) = &st.data_insert else {
            return Ok(());
        };
        match tx.execute(ins, vals).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(crate::row::already_there(&row.uuid, &self.mapping))
            }
            Err(e) => Err(pg_err(&self.spec, "writing the note", &e)),
        }
    }
}

#[async_trait::async_trait]
impl ImportTarget for PgTarget {
    async fn import(
        &self,
        note: &askara::Note,
        ctx: &ImportContext,
    ) -> Result<ImportOutcome, ImportError> {
        self.import_one(note, ctx).await
    }

    async fn import_batch(
        &self,
        notes: &[askara::Note],
        ctx: &ImportContext,
    ) -> Result<Vec<Result<ImportOutcome, ImportError>>, ImportError> {
        let mut results = Vec::with_capacity(notes.len());
        for chunk in notes.chunks(self.opts.batch_size.max(1)) {
            match self.import_chunk(chunk, ctx).await {
                Ok(r) => results.extend(r),
                Err(e) if e.is_connection_loss() => return Err(e),
                Err(e) => {
                    tracing::warn!(
                        code = e.code(),
                        notes = chunk.len(),
                        "batch rolled back; importing its notes one by one"
                    );
                    for note in chunk {
                        match self.import_one(note, ctx).await {
                            Err(e) if e.is_connection_loss() => return Err(e),
                            r => results.push(r),
                        }
                    }
                }
            }
        }
        Ok(results)
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn can_search_patients(&self) -> bool {
        self.sql.search.is_some()
    }

    fn requires_patient(&self) -> bool {
        self.mapping.requires_patient()
    }

    async fn search_patients(&self, text: &str) -> Result<Vec<PatientCandidate>, ImportError> {
        if self.sql.search.is_none() {
            return Err(crate::search::not_configured());
        }
        let mut guard = self.live().await?;
        let Some(conn) = guard.as_mut() else {
            return Err(no_conn());
        };
        let fut = async {
            let Some(stmt) = &conn.st.search else {
                return Err(crate::search::not_configured());
            };
            let err = |e: tokio_postgres::Error| {
                pg_err(&self.spec, "searching the practice's patients", &e)
            };
            // READ ONLY and rolled back: whatever the query is, a search never writes. The
            // connection is this target's, held (the mutex) until the transaction ends; one
            // dropped by the timeout is rolled back by tokio-postgres and the connection
            // replaced (`settle`).
            let tx = conn
                .client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(err)?;
            let rows = tx.query(stmt, &[&text]).await.map_err(err)?;
            tx.rollback().await.map_err(err)?;
            let mut out = Vec::new();
            for r in rows.iter() {
                let cells = (0..r.len().min(4))
                    .map(|i| r.try_get::<_, Cell>(i).map(|c| c.0))
                    .collect::<Result<Vec<Val>, _>>()
                    .map_err(|e| pg_err(&self.spec, "reading the practice's patients", &e))?;
                if let Some(c) = crate::search::candidate(cells) {
                    out.push(c);
                }
                if out.len() >= crate::MAX_CANDIDATES {
                    break;
                }
            }
            Ok(out)
        };
        let res = tokio::time::timeout(self.opts.operation_timeout, fut).await;
        self.settle(&mut guard, res)
    }
}

/// A `[patient_search]` cell: what a lookup reads, and a `date` (a date of birth).
pub(super) struct Cell(pub Val);

/// Days from 1970-01-01 to PostgreSQL's date epoch, 2000-01-01.
const PG_DATE_EPOCH_DAYS: i64 = 10_957;

impl<'a> tokio_postgres::types::FromSql<'a> for Cell {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::DATE {
            let days = i32::from_sql(&Type::INT4, raw)?;
            let d = chrono::DateTime::from_timestamp(
                (i64::from(days) + PG_DATE_EPOCH_DAYS) * 86_400,
                0,
            )
            .ok_or("date out of range")?;
            return Ok(Cell(Val::Text(d.format("%Y-%m-%d").to_string())));
        }
        Val::from_sql(ty, raw).map(Cell)
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Cell(Val::Null))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE || pg_readable(ty)
    }
}
