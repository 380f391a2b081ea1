//! Opening a connection (TLS per sslmode), creating or checking the default schema, and
//! preparing the statements a target reuses.

#[allow(unused_imports)]
use super::*;

/// Opens a connection: TCP (or a local socket), TLS as `sslmode` asks, negotiated here
/// rather than by tokio-postgres so that [`AuthGuard`] can watch the authentication on the
/// decrypted stream; then tokio-postgres's startup and authentication over it.
pub(crate) async fn open(
    spec: &PgSpec,
    tls: &Option<TlsPlan>,
    opts: &ConnectOptions,
) -> Result<Client, ImportError> {
    open_with_notifications(spec, tls, opts, None).await
}

/// [`open`], forwarding the server's notifications (LISTEN) to `notify`; the sender is
/// dropped when the connection ends, so the receiver learns it.
///
/// A multi-host spec tries its servers in order, as libpq does: the first that answers (with
/// `read_write`, the first that accepts writes) is used; every one failing is the last error,
/// or one line naming them all when they answered read-only.
pub(crate) async fn open_with_notifications(
    spec: &PgSpec,
    tls: &Option<TlsPlan>,
    opts: &ConnectOptions,
    notify: Option<tokio::sync::mpsc::UnboundedSender<tokio_postgres::Notification>>,
) -> Result<Client, ImportError> {
    let hosts = spec.hosts();
    if hosts.len() == 1 && !spec.read_write {
        return open_host(spec, tls, opts, notify).await;
    }
    let mut last = None;
    let mut read_only = Vec::new();
    for (host, port) in &hosts {
        let one = spec.for_host(host, *port);
        match open_host(&one, tls, opts, notify.clone()).await {
            Ok(client) if !spec.read_write => return Ok(client),
            Ok(client) => {
                let ro = client
                    .query_one("SHOW transaction_read_only", &[])
                    .await
                    .map_err(|e| pg_err(&one, "checking the server accepts writes", &e))?;
                if ro.get::<_, String>(0) == "off" {
                    return Ok(client);
                }
                read_only.push(format!("{host}:{port}"));
            }
            Err(e) => {
                tracing::info!(host = %host, port, error = %e, "server not usable; trying the next");
                last = Some(e);
            }
        }
    }
    match last {
        Some(e) if read_only.is_empty() => Err(e),
        _ => Err(ImportError::Unreachable(format!(
            "no server in the list accepts writes ({} answered read-only, the others did not answer): wait for the standby's promotion, or check the list of servers in the URL",
            read_only.join(", ")
        ))),
    }
}

/// [`open_with_notifications`] for one server (`spec.host`).
async fn open_host(
    spec: &PgSpec,
    tls: &Option<TlsPlan>,
    opts: &ConnectOptions,
    notify: Option<tokio::sync::mpsc::UnboundedSender<tokio_postgres::Notification>>,
) -> Result<Client, ImportError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.user(&spec.user)
        .dbname(&spec.dbname)
        .application_name(&spec.application_name)
        // TLS is already negotiated (see `tls::Negotiated`): tokio-postgres only wraps.
        .ssl_mode(tokio_postgres::config::SslMode::Require)
        .ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
    let password = spec
        .password
        .as_ref()
        .map(|p| p.expose().to_string())
        .or_else(|| std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()));
    if let Some(p) = password {
        cfg.password(p);
    }
    let too_slow = || {
        ImportError::Unreachable(format!(
            "the database server at {} did not answer within {} s: check host, port, firewall and that the server runs",
            where_(spec),
            opts.connect_timeout.as_secs_f32()
        ))
    };
    let (socket, verified, channel_binding) =
        tokio::time::timeout(opts.connect_timeout, negotiate(spec, tls))
            .await
            .map_err(|_| too_slow())??;
    let (guarded, refused) = AuthGuard::new(socket, verified);
    // Boxed with its `Send` stated: rustc cannot prove it for the bare future (a known
    // limitation with higher-ranked lifetimes in nested async code).
    let startup: StartupFuture<'_> =
        Box::pin(cfg.connect_raw(guarded, Negotiated { channel_binding }));
    let connected = tokio::time::timeout(opts.connect_timeout, startup)
        .await
        .map_err(|_| too_slow())?;
    let (client, connection) = match connected {
        Ok(c) => c,
        Err(e) => {
            return Err(match refused.load(std::sync::atomic::Ordering::SeqCst) {
                0 => pg_err(spec, "connecting", &e),
                code => unverified_password(spec, code),
            })
        }
    };
    match notify {
        None => {
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
        }
        Some(tx) => {
            let mut connection = connection;
            tokio::spawn(async move {
                loop {
                    let msg = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                    match msg {
                        Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                            if tx.send(n).is_err() {
                                break;
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "postgres connection ended");
                            break;
                        }
                        None => break,
                    }
                }
            });
        }
    }
    Ok(client)
}

type Guarded = AuthGuard<Box<dyn Socket>>;
type StartupFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    (
                        Client,
                        tokio_postgres::Connection<Guarded, crate::tls::NegotiatedStream<Guarded>>,
                    ),
                    tokio_postgres::Error,
                >,
            > + Send
            + 'a,
    >,
>;

/// A byte stream to the server: TCP, TLS over TCP, or a local socket.
pub(super) trait Socket:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Socket for T {}

/// The stream to hand to tokio-postgres, whether it is verified, and its TLS channel binding.
type Negotiation = (Box<dyn Socket>, bool, Option<Vec<u8>>);

async fn negotiate(spec: &PgSpec, tls: &Option<TlsPlan>) -> Result<Negotiation, ImportError> {
    #[cfg(unix)]
    if spec.host.starts_with('/') {
        // A local socket never leaves the machine: no TLS (the server offers none there, and
        // libpq ignores sslmode for it) and nothing on the path to impersonate the server.
        let path = format!("{}/.s.PGSQL.{}", spec.host, spec.port);
        let s = tokio::net::UnixStream::connect(&path)
            .await
            .map_err(|e| cannot_open(spec, &e))?;
        return Ok((Box::new(s), true, None));
    }
    let mut tcp = tcp_connect(spec).await?;
    let Some(plan) = tls else {
        return Ok((Box::new(tcp), false, None));
    };
    // SSLRequest: length 8, code 80877103; the server answers one byte, S or N.
    tcp.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .map_err(|e| cannot_open(spec, &e))?;
    let mut answer = [0u8];
    tcp.read_exact(&mut answer)
        .await
        .map_err(|e| cannot_open(spec, &e))?;
    match answer[0] {
        b'S' => {}
        b'N' if spec.sslmode == SslMode::Prefer => return Ok((Box::new(tcp), false, None)),
        b'N' => return Err(no_tls_on_server(spec)),
        _ => {
            return Err(ImportError::Unreachable(format!(
                "the server at {} does not speak the PostgreSQL protocol: check host and port",
                where_(spec)
            )))
        }
    }
    let (stream, binding) = crate::tls::handshake(plan.config.clone(), &spec.host, tcp)
        .await
        .map_err(|e| tls_failed(spec, &e))?;
    Ok((Box::new(stream), plan.verified, binding))
}

async fn tcp_connect(spec: &PgSpec) -> Result<tokio::net::TcpStream, ImportError> {
    let addrs = tokio::net::lookup_host((spec.host.as_str(), spec.port))
        .await
        .map_err(|e| cannot_open(spec, &e))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                // A connection silently dropped by a firewall is noticed within minutes, so
                // the next import reconnects instead of waiting on a dead socket.
                let keepalive =
                    socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(30));
                let _ = socket2::SockRef::from(&s).set_tcp_keepalive(&keepalive);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(cannot_open(spec, &last))
}

fn cannot_open(spec: &PgSpec, e: &io::Error) -> ImportError {
    ImportError::Unreachable(format!(
        "could not open the connection to the database server at {} ({e}); nothing was half-written: check that the server runs and the network, then try again",
        where_(spec)
    ))
}

fn no_tls_on_server(spec: &PgSpec) -> ImportError {
    ImportError::Tls(if spec.sslmode_explicit {
        format!(
            "the server at {} does not accept TLS but sslmode={} requires it: turn on ssl in the server's postgresql.conf",
            where_(spec),
            spec.sslmode.as_str()
        )
    } else {
        format!(
            "the server at {} does not accept TLS, and a verified TLS connection is the default: turn on ssl in the server's postgresql.conf (with a certificate for {}), or, on a network you trust, add sslmode=disable to the target",
            where_(spec),
            spec.host
        )
    })
}

fn tls_failed(spec: &PgSpec, e: &io::Error) -> ImportError {
    let reason = e.to_string();
    let hint = if reason.contains("UnknownIssuer") || reason.contains("issuer") {
        format!(
            "its certificate is not signed by a trusted CA: add sslrootcert=/path/to/ca.crt (the CA that signed the server's certificate) to the target{}",
            if spec.sslrootcert.is_some() { " or check the one given" } else { "" }
        )
    } else if reason.contains("NotValidForName") || reason.contains("name") {
        format!(
            "its certificate is not for `{}`: connect with the host name the certificate names",
            spec.host
        )
    } else if reason.contains("Expired") || reason.contains("expired") {
        "its certificate has expired: renew it on the server".to_string()
    } else {
        "check sslrootcert and that the certificate names this host".to_string()
    };
    ImportError::Tls(format!(
        "TLS with the database server at {} failed under sslmode={} ({reason}): {hint}",
        where_(spec),
        spec.sslmode.as_str()
    ))
}

fn unverified_password(spec: &PgSpec, code: u32) -> ImportError {
    if code == super::guard::WEAK_SCRAM {
        return ImportError::Tls(format!(
            "the server at {} asked for SCRAM with fewer than {} iterations over a connection whose certificate is not verified (sslmode={}), so no proof was sent: use sslmode=verify-full (with sslrootcert), or check who answers at that address",
            where_(spec),
            super::guard::MIN_SCRAM_ITERATIONS,
            spec.sslmode.as_str()
        ));
    }
    let how = if code == super::guard::AUTH_MD5 {
        "as MD5"
    } else {
        "in clear text"
    };
    ImportError::Tls(format!(
        "the server at {} asked for the password {how} over a connection whose certificate is not verified (sslmode={}), so it was not sent: use sslmode=verify-full (with sslrootcert) on a server with ssl on, or switch the server to SCRAM (password_encryption = scram-sha-256 and scram-sha-256 in pg_hba.conf)",
        where_(spec),
        spec.sslmode.as_str()
    ))
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
        patient_select: match &sql.patient_select {
            Some(q) => Some(p(q).await?),
            None => None,
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
        search: match &sql.search {
            Some(q) => Some(client.prepare(q).await.map_err(|e| {
                let inner = pg_err(spec, "preparing patient_search.query", &e);
                ImportError::BadMapping(format!(
                    "patient_search.query does not run on this database: {inner}"
                ))
            })?),
            None => None,
        },
    })
}
