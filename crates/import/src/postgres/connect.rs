//! Opening a connection (TLS per sslmode), creating or checking the default schema, and
//! preparing the statements a target reuses.

#[allow(unused_imports)]
use super::*;

pub(super) async fn open(
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

pub(super) async fn ensure_schema(
    spec: &PgSpec,
    client: &Client,
    mapped: bool,
) -> Result<(), ImportError> {
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

pub(super) async fn prepare(
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
