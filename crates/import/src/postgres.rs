//! PostgreSQL target: tokio-postgres over rustls, one connection per target (reconnected
//! when lost), one transaction per import or batch, statements pipelined within a batch.

use crate::mapping::{Ident, Kind, Mapping, Source};
use crate::row::{decide, existing_outcome, Decision, Existing, NoteRow};
use crate::schema::{self, SCHEMA_VERSION};
use crate::spec::{PgSpec, SslMode};
use crate::sql::Statements;
use crate::value::{is_pg_text, pg_readable, PgTime, Val};
use crate::{
    ConnectOptions, ImportContext, ImportError, ImportOutcome, ImportResult, ImportTarget,
};
use futures_util::future::join_all;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

struct Prepared {
    claim_insert: Statement,
    claim_select: Statement,
    claim_update: Option<Statement>,
    data_insert: Option<Statement>,
    data_update: Statement,
    lookup: Option<Statement>,
}

struct Conn {
    client: Client,
    st: Prepared,
}

pub(crate) struct PgTarget {
    spec: PgSpec,
    describe: String,
    opts: ConnectOptions,
    tls: Option<Arc<rustls::ClientConfig>>,
    mapping: Mapping,
    sources: Vec<(Ident, Source)>,
    sql: Statements,
    conn: tokio::sync::Mutex<Option<Conn>>,
}

fn no_conn() -> ImportError {
    ImportError::Unreachable("no connection to the database server; try again".into())
}

fn where_(spec: &PgSpec) -> String {
    format!("{}:{}", spec.host, spec.port)
}

/// Maps a driver error to ours, naming SQLSTATE and objects but never values.
pub(crate) fn pg_err(spec: &PgSpec, context: &str, e: &tokio_postgres::Error) -> ImportError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let objects: Vec<String> = [
            ("table", db.table()),
            ("column", db.column()),
            ("constraint", db.constraint()),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
        .collect();
        let objects = if objects.is_empty() {
            String::new()
        } else {
            format!(" on {}", objects.join(", "))
        };
        return match code {
            c if *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                ImportError::Auth(format!(
                    "the server at {} refused user `{}`: check the user name and password (keyring or PGPASSWORD) and pg_hba.conf",
                    where_(spec),
                    spec.user
                ))
            }
            c if *c == SqlState::INVALID_CATALOG_NAME => ImportError::Database(format!(
                "database `{}` does not exist on {}: check the target URL",
                spec.dbname,
                where_(spec)
            )),
            c if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
            {
                ImportError::Unreachable(format!(
                    "the database server at {} is shutting down, starting up or full while {context} (SQLSTATE {}); nothing was half-written, try again in a moment",
                    where_(spec),
                    code.code()
                ))
            }
            c if *c == SqlState::QUERY_CANCELED => ImportError::Timeout(format!(
                "{context}: the server cancelled the statement (statement timeout); try again"
            )),
            c if *c == SqlState::INSUFFICIENT_PRIVILEGE => ImportError::Database(format!(
                "{context}: user `{}` lacks a privilege{objects} (SQLSTATE 42501): {}",
                spec.user,
                db.message()
            )),
            c if code.code().starts_with("42") => {
                // Syntax / undefined object: the message names objects, not values.
                ImportError::Database(format!("{context}: {} (SQLSTATE {})", db.message(), c.code()))
            }
            c => ImportError::Database(format!(
                "{context}: the database refused the statement{objects} (SQLSTATE {}); check the mapping and the table's constraints",
                c.code()
            )),
        };
    }
    let text = match std::error::Error::source(e) {
        Some(src) => format!("{e}: {src}"),
        None => e.to_string(),
    };
    if text.contains("TLS") || text.contains("tls") {
        let source = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let hint = if source.contains("does not support TLS") {
            format!(
                "the server at {} does not accept TLS but sslmode={} requires it: enable ssl on the server, or use sslmode=prefer",
                where_(spec),
                spec.sslmode.as_str()
            )
        } else {
            format!(
                "TLS with {} failed ({source}) under sslmode={}: check sslrootcert and that the certificate names this host",
                where_(spec),
                spec.sslmode.as_str()
            )
        };
        return ImportError::Tls(hint);
    }
    if text.contains("password missing") {
        return ImportError::Auth(format!(
            "the server at {} asks for a password for user `{}` and none was given: store it in the keyring or set PGPASSWORD",
            where_(spec),
            spec.user
        ));
    }
    if e.is_closed()
        || text.contains("connect")
        || text.contains("closed")
        || text.contains("timeout")
    {
        let source = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| text.clone());
        return ImportError::Unreachable(format!(
            "lost or could not open the connection to the database server at {} while {context} ({source}); \
             nothing was half-written: check that the server runs and the network, then try again",
            where_(spec)
        ));
    }
    if text.contains("serializing parameter") {
        return ImportError::Database(format!(
            "{context}: a value does not fit its column's type ({text}); check the mapping"
        ));
    }
    ImportError::Database(format!("{context}: {text}"))
}

impl PgTarget {
    pub(crate) async fn connect(
        spec: PgSpec,
        describe: String,
        mapping: Option<Mapping>,
        opts: ConnectOptions,
    ) -> Result<PgTarget, ImportError> {
        let tls = crate::tls::client_config(&spec)?;
        let mapped = mapping.is_some();
        let client = open(&spec, &tls, &opts).await?;
        ensure_schema(&spec, &client, mapped).await?;
        let mapping = match mapping {
            Some(m) => validate(&spec, &client, m).await?,
            None => Mapping::default_schema(),
        };
        let sources = mapping.sources();
        let sql = Statements::new(&mapping, &sources, mapped, true);
        let st = prepare(&spec, &client, &sql).await?;
        if let Some(lookup) = &st.lookup {
            check_lookup_types(&mapping, &sources, lookup, &st.data_insert)?;
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
        let existing = Existing {
            sha: r.try_get(0).map_err(err)?,
            imported_at: r.try_get::<_, PgTime>(1).map_err(err)?.0,
            imported_by: r.try_get(2).map_err(err)?,
        };
        match decide(&existing, row, ctx) {
            Decision::Unchanged => Ok(existing_outcome(row, ImportResult::Unchanged, &existing)),
            Decision::Conflict => Ok(existing_outcome(row, ImportResult::Conflict, &existing)),
            Decision::Update => {
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
        }
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

async fn open(
    spec: &PgSpec,
    tls: &Option<Arc<rustls::ClientConfig>>,
    opts: &ConnectOptions,
) -> Result<Client, ImportError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&spec.host)
        .port(spec.port)
        .user(&spec.user)
        .dbname(&spec.dbname)
        .application_name(&spec.application_name)
        .connect_timeout(opts.connect_timeout)
        .keepalives(true)
        .keepalives_idle(std::time::Duration::from_secs(30));
    let password = spec
        .password
        .as_ref()
        .map(|p| p.expose().to_string())
        .or_else(|| std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()));
    if let Some(p) = password {
        cfg.password(p);
    }
    cfg.ssl_mode(match spec.sslmode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let too_slow = || {
        ImportError::Unreachable(format!(
            "the database server at {} did not answer within {} s: check host, port, firewall and that the server runs",
            where_(spec),
            opts.connect_timeout.as_secs_f32()
        ))
    };
    let client = match tls {
        None => {
            let (client, connection) =
                tokio::time::timeout(opts.connect_timeout, cfg.connect(NoTls))
                    .await
                    .map_err(|_| too_slow())?
                    .map_err(|e| pg_err(spec, "connecting", &e))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
            client
        }
        Some(c) => {
            let (client, connection) = tokio::time::timeout(
                opts.connect_timeout,
                cfg.connect(crate::tls::MakeRustls(c.clone())),
            )
            .await
            .map_err(|_| too_slow())?
            .map_err(|e| pg_err(spec, "connecting", &e))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
            client
        }
    };
    Ok(client)
}

async fn ensure_schema(spec: &PgSpec, client: &Client, mapped: bool) -> Result<(), ImportError> {
    let err = |e: tokio_postgres::Error| pg_err(spec, "creating the import tables", &e);
    // Several workstations may connect at once: serialise the CREATE TABLEs.
    client
        .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7242011)")
        .await
        .map_err(err)?;
    let res = async {
        client.batch_execute(schema::PG_META).await.map_err(err)?;
        let row = client
            .query_opt(
                "SELECT value FROM askara_import_meta WHERE key = 'schema_version'",
                &[],
            )
            .await
            .map_err(err)?;
        if let Some(v) = row
            .and_then(|r| r.get::<_, Option<String>>(0))
            .and_then(|v| v.parse::<i64>().ok())
        {
            if v > SCHEMA_VERSION {
                return Err(schema::too_new(v));
            }
        }
        client
            .batch_execute(if mapped {
                schema::PG_LOG
            } else {
                schema::PG_NOTES
            })
            .await
            .map_err(err)?;
        client
            .execute(
                "INSERT INTO askara_import_meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&SCHEMA_VERSION.to_string()],
            )
            .await
            .map_err(err)?;
        Ok(())
    }
    .await;
    match res {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(err),
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn prepare(
    spec: &PgSpec,
    client: &Client,
    sql: &Statements,
) -> Result<Prepared, ImportError> {
    let p = |q: &str| {
        let q = q.to_string();
        async move {
            client
                .prepare(&q)
                .await
                .map_err(|e| pg_err(spec, "preparing the import statements", &e))
        }
    };
    Ok(Prepared {
        claim_insert: p(&sql.claim_insert).await?,
        claim_select: p(&sql.claim_select).await?,
        claim_update: if sql.mapped {
            Some(p(&sql.claim_update).await?)
        } else {
            None
        },
        data_insert: if sql.mapped {
            Some(p(&sql.data_insert).await?)
        } else {
            None
        },
        data_update: p(&sql.data_update).await?,
        lookup: match &sql.lookup {
            Some(q) => Some(client.prepare(q).await.map_err(|e| {
                let inner = pg_err(spec, "preparing patient_lookup.query", &e);
                ImportError::BadMapping(format!(
                    "patient_lookup.query does not run on this database: {inner}"
                ))
            })?),
            None => None,
        },
    })
}

fn pg_kind_fits(kind: Kind, ty: &Type) -> bool {
    match kind {
        Kind::Text => is_pg_text(ty),
        Kind::Uuid => is_pg_text(ty) || *ty == Type::UUID,
        Kind::Time => is_pg_text(ty) || *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP,
        Kind::Int => {
            is_pg_text(ty)
                || matches!(
                    *ty,
                    Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8
                )
        }
        Kind::Float => is_pg_text(ty) || matches!(*ty, Type::FLOAT4 | Type::FLOAT8),
        Kind::Bool => is_pg_text(ty) || *ty == Type::BOOL,
    }
}

/// Resolves the table and columns as the catalog spells them, and checks every column.
async fn validate(spec: &PgSpec, client: &Client, mut m: Mapping) -> Result<Mapping, ImportError> {
    let err = |e: tokio_postgres::Error| pg_err(spec, "reading the target table's definition", &e);
    let tables = client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND lower(c.relname) = lower($2)
               AND CASE WHEN $1::text IS NULL THEN pg_table_is_visible(c.oid) ELSE lower(n.nspname) = lower($1) END
             ORDER BY (c.relname = $2) DESC, (n.nspname = coalesce($1, n.nspname)) DESC",
            &[&m.table.schema, &m.table.name],
        )
        .await
        .map_err(err)?;
    let Some(t) = tables.first() else {
        return Err(ImportError::BadMapping(format!(
            "table `{}` does not exist in database `{}` (or user `{}` cannot see it): fix `table` in the mapping",
            m.table.display(),
            spec.dbname,
            spec.user
        )));
    };
    let oid: u32 = t.get(0);
    m.table = Ident {
        schema: Some(t.get(1)),
        name: t.get(2),
    };
    let table_name = m.table.display();
    let cols = client
        .query(
            "SELECT a.attname::text, a.atttypid, a.attnotnull,
                    a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', format_type(a.atttypid, a.atttypmod), a.attnum
             FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
            &[&oid],
        )
        .await
        .map_err(err)?;
    struct Col {
        name: String,
        ty: Option<Type>,
        notnull: bool,
        has_default: bool,
        type_name: String,
        attnum: i16,
    }
    let cols: Vec<Col> = cols
        .iter()
        .map(|r| Col {
            name: r.get(0),
            ty: Type::from_oid(r.get(1)),
            notnull: r.get(2),
            has_default: r.get(3),
            type_name: r.get(4),
            attnum: r.get(5),
        })
        .collect();
    let find = |c: &Ident| -> Result<&Col, ImportError> {
        cols.iter()
            .find(|x| x.name == c.name)
            .or_else(|| cols.iter().find(|x| x.name.eq_ignore_ascii_case(&c.name)))
            .ok_or_else(|| {
                ImportError::BadMapping(format!(
                    "column `{}` does not exist in table `{table_name}`: fix the mapping",
                    c.name
                ))
            })
    };
    let resolve = |c: &mut Ident| -> Result<(), ImportError> {
        c.name = find(c)?.name.clone();
        Ok(())
    };
    for (_, c) in m.columns.iter_mut() {
        resolve(c)?;
    }
    for (c, _) in m.constants.iter_mut() {
        resolve(c)?;
    }
    if let Some(l) = m.patient_lookup.as_mut() {
        resolve(&mut l.column)?;
    }
    for (col, src) in m.sources() {
        let c = find(&col)?;
        let kind = match &src {
            Source::Field(f) => Some(f.kind()),
            Source::Const(v) => Some(match v {
                Val::Text(_) => Kind::Text,
                Val::Int(_) => Kind::Int,
                Val::Float(_) => Kind::Float,
                Val::Bool(_) => Kind::Bool,
                _ => Kind::Text,
            }),
            Source::PatientId => None, // checked against the lookup's result type later
        };
        if let Some(kind) = kind {
            if !c.ty.as_ref().is_some_and(|ty| pg_kind_fits(kind, ty)) {
                let what = match &src {
                    Source::Field(f) => format!("the note's {}", f.name()),
                    _ => "the constant".to_string(),
                };
                return Err(ImportError::BadMapping(format!(
                    "column `{}` of table `{table_name}` has type {} and cannot take {what}: map a column of a fitting type",
                    c.name, c.type_name
                )));
            }
        }
    }
    let mapped: Vec<&str> = m
        .columns
        .iter()
        .map(|(_, c)| c.name.as_str())
        .chain(m.constants.iter().map(|(c, _)| c.name.as_str()))
        .chain(m.patient_lookup.iter().map(|l| l.column.name.as_str()))
        .collect();
    if let Some(c) = cols
        .iter()
        .find(|c| c.notnull && !c.has_default && !mapped.contains(&c.name.as_str()))
    {
        return Err(ImportError::BadMapping(format!(
            "column `{}` of table `{table_name}` is NOT NULL without a default and the mapping gives it no value: map it or add a constant",
            c.name
        )));
    }
    let uuid_col = find(m.uuid_column())?;
    let unique: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique
                AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = $2)",
            &[&oid, &uuid_col.attnum],
        )
        .await
        .map_err(err)?
        .get(0);
    if !unique {
        return Err(ImportError::BadMapping(format!(
            "column `{}` of table `{table_name}` has no unique constraint or unique index, so a note could be imported twice: \
             add one (ALTER TABLE {table_name} ADD UNIQUE ({})) first",
            uuid_col.name, uuid_col.name
        )));
    }
    if let Some(l) = &m.patient_lookup {
        let q = l.query.trim_start().to_ascii_lowercase();
        if !(q.starts_with("select") || q.starts_with("with")) {
            return Err(ImportError::BadMapping(
                "patient_lookup.query must be a SELECT".into(),
            ));
        }
    }
    Ok(m)
}

fn check_lookup_types(
    m: &Mapping,
    sources: &[(Ident, Source)],
    lookup: &Statement,
    data_insert: &Option<Statement>,
) -> Result<(), ImportError> {
    if lookup.params().len() != 1 || lookup.columns().is_empty() {
        return Err(ImportError::BadMapping(
            "patient_lookup.query must take exactly one parameter and return the patient id as its first column".into(),
        ));
    }
    let out = lookup.columns()[0].type_();
    if !pg_readable(out) {
        return Err(ImportError::BadMapping(format!(
            "patient_lookup.query returns a {} id; return an integer, text or uuid",
            out.name()
        )));
    }
    let (Some(ins), Some(pos), Some(l)) = (
        data_insert,
        sources.iter().position(|(_, s)| *s == Source::PatientId),
        &m.patient_lookup,
    ) else {
        return Ok(());
    };
    let col_ty = &ins.params()[pos];
    let fits = col_ty == out
        || is_pg_text(col_ty)
        || (matches!(*out, Type::INT2 | Type::INT4 | Type::INT8)
            && matches!(*col_ty, Type::INT2 | Type::INT4 | Type::INT8))
        || (is_pg_text(out) && *col_ty == Type::UUID);
    if !fits {
        return Err(ImportError::BadMapping(format!(
            "column `{}` has type {} but patient_lookup.query returns {}: make them match",
            l.column.name,
            col_ty.name(),
            out.name()
        )));
    }
    Ok(())
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
}
