//! Target URLs: `sqlite:PATH`, `sqlite://PATH`, `postgres://user@host:port/db?sslmode=…`.
//!
//! PostgreSQL is verified TLS unless told otherwise: with no `sslmode` in the URL nor in
//! `PGSSLMODE`, it is `verify-full` (see `tls.rs` for where the root certificates come from).
//! A password is never part of a target URL: URLs end up in settings files, shell histories
//! and process lists; it comes from the keyring or `PGPASSWORD`.

use crate::ImportError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

const SUPPORTED: &str =
    "supported targets are sqlite:PATH and postgres://user@host:port/database (MySQL is planned)";

/// A password that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(p: impl Into<String>) -> Password {
        Password(p.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// libpq's `sslmode`, all six values honoured (`allow` is treated as `prefer`). The default is
/// `verify-full`; the weaker modes apply only when written in the URL or `PGSSLMODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// libpq's spelling, `allow` read as `prefer`; `None` for anything else.
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Where the server's CA certificate comes from, for `verify-ca` / `verify-full`
/// (and `require`, which then verifies like `verify-ca`, as libpq does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    File(PathBuf),
    /// `sslrootcert=system`: the Mozilla root set bundled with the app.
    System,
}

impl RootCert {
    fn parse(v: &str) -> RootCert {
        if v == "system" {
            RootCert::System
        } else {
            RootCert::File(PathBuf::from(v))
        }
    }
}

/// The libpq environment variables a target honours, read once so that parsing is a pure
/// function of the URL and these (tests pass their own instead of changing the process's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgEnv {
    /// `PGSSLMODE`: the sslmode when the URL has none.
    pub sslmode: Option<String>,
    /// `PGSSLROOTCERT`: the root certificate(s) when the URL has no `sslrootcert`.
    pub sslrootcert: Option<String>,
    /// `PGUSER`: the user when the URL has none.
    pub user: Option<String>,
}

impl PgEnv {
    /// This process's `PGSSLMODE`, `PGSSLROOTCERT` and `PGUSER` (empty values count as unset).
    pub fn from_process() -> PgEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        PgEnv {
            sslmode: var("PGSSLMODE"),
            sslrootcert: var("PGSSLROOTCERT"),
            user: var("PGUSER"),
        }
    }
}

/// A parsed PostgreSQL target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub sslmode: SslMode,
    /// Whether `sslmode` was written (URL or `PGSSLMODE`) rather than the default: errors
    /// then say how to get a verified connection instead of repeating a choice.
    pub sslmode_explicit: bool,
    /// From the URL or `PGSSLROOTCERT`; `None`: libpq's `~/.postgresql/root.crt` when it
    /// exists, else the system roots (`tls.rs`).
    pub sslrootcert: Option<RootCert>,
    /// Never from the URL (refused there): from the keyring or the caller, see
    /// [`TargetSpec::with_password`]; `PGPASSWORD` is read when connecting.
    pub password: Option<Password>,
    pub application_name: String,
    /// Further servers to try in order after `host:port`, as libpq does with a multi-host URL
    /// (`postgres://user@primary:5432,standby:5432/db`): a clinic's primary and its standby.
    pub fallback_hosts: Vec<(String, u16)>,
    /// `target_session_attrs=read-write` (or `primary`): only a server that accepts writes will
    /// do, so after a failover the promoted standby is found and the old primary, if it comes
    /// back read-only, is passed over.
    pub read_write: bool,
}

impl PgSpec {
    /// Every server to try, in order: `host:port` first, then the fallbacks.
    pub fn hosts(&self) -> Vec<(String, u16)> {
        std::iter::once((self.host.clone(), self.port))
            .chain(self.fallback_hosts.iter().cloned())
            .collect()
    }

    /// This spec for one of its servers only.
    pub fn for_host(&self, host: &str, port: u16) -> PgSpec {
        PgSpec {
            host: host.to_string(),
            port,
            fallback_hosts: Vec::new(),
            ..self.clone()
        }
    }
}

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Sqlite { path: PathBuf },
    Postgres(PgSpec),
}

impl TargetSpec {
    /// Parses a target URL, honouring this process's `PGSSLMODE`, `PGSSLROOTCERT` and
    /// `PGUSER`. Anything but SQLite or PostgreSQL is `unsupported_target`, and so is a
    /// PostgreSQL URL that holds a password.
    pub fn parse(url: &str) -> Result<TargetSpec, ImportError> {
        Self::parse_with_env(url, &PgEnv::from_process())
    }

    /// [`TargetSpec::parse`] with the libpq environment given.
    pub fn parse_with_env(url: &str, env: &PgEnv) -> Result<TargetSpec, ImportError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once(':').ok_or_else(|| {
            ImportError::UnsupportedTarget(format!("target has no scheme; {SUPPORTED}"))
        })?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(ImportError::UnsupportedTarget(
                        "sqlite target has no file path; write sqlite:/path/to/practice.db".into(),
                    ));
                }
                Ok(TargetSpec::Sqlite {
                    path: PathBuf::from(path),
                })
            }
            "postgres" | "postgresql" => parse_pg(url, env).map(TargetSpec::Postgres),
            other => {
                // Never echo the whole URL: it may hold a password.
                let shown: String = other.chars().take(20).collect();
                Err(ImportError::UnsupportedTarget(format!(
                    "unsupported target scheme `{shown}`; {SUPPORTED}"
                )))
            }
        }
    }

    /// The target for display and logs: never includes the password.
    pub fn display(&self) -> String {
        match self {
            TargetSpec::Sqlite { path } => format!("sqlite:{}", path.display()),
            TargetSpec::Postgres(p) => {
                let hosts: Vec<String> = p
                    .hosts()
                    .into_iter()
                    .map(|(h, port)| {
                        if h.contains(':') {
                            format!("[{h}]:{port}")
                        } else {
                            format!("{h}:{port}")
                        }
                    })
                    .collect();
                format!(
                    "postgres://{}@{}/{}?sslmode={}{}",
                    p.user,
                    hosts.join(","),
                    p.dbname,
                    p.sslmode.as_str(),
                    if p.read_write {
                        "&target_session_attrs=read-write"
                    } else {
                        ""
                    }
                )
            }
        }
    }

    /// Sets the password (from the OS keyring, say). No effect on SQLite targets.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        if let TargetSpec::Postgres(p) = &mut self {
            p.password = Some(Password::new(password));
        }
        self
    }

    /// Which kind of database this is: `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSpec::Sqlite { .. } => "sqlite",
            TargetSpec::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// The one line for a password written into a target URL (the URL itself is not echoed).
const PASSWORD_IN_URL: &str = "a password in the target URL is not accepted: take it out of the URL and type it in the password field of the desktop's Settings (kept in the OS keyring, where the CLI finds it too) or set PGPASSWORD";

fn parse_pg(raw: &str, env: &PgEnv) -> Result<PgSpec, ImportError> {
    let bad = |what: &str| {
        ImportError::UnsupportedTarget(format!(
            "PostgreSQL target {what}; write postgres://user@host:5432/database?sslmode=verify-full"
        ))
    };
    // A multi-host authority (`primary:5432,standby:5432`): the url crate reads one host, so the
    // others are taken out here and tried after it (see `PgSpec::fallback_hosts`).
    let (single, mut fallback_hosts) =
        split_hosts(raw).ok_or_else(|| bad("has a bad host list"))?;
    let raw = single.as_str();
    let url = url::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err(bad("has no host")),
    };
    let decode = percent_decode;
    // `postgres://user:@host` (an empty password) is refused too: it is still a password field.
    if url.password().is_some() || raw.split('?').next().is_some_and(has_userinfo_colon) {
        return Err(ImportError::UnsupportedTarget(PASSWORD_IN_URL.into()));
    }
    let mut user = decode(url.username());
    let mut dbname = decode(url.path().trim_start_matches('/'));
    let mut port = url.port().unwrap_or(5432);
    let mut host = host;
    let mut sslmode = None;
    let mut sslrootcert = None;
    let mut application_name = "askara-inbox".to_string();
    let mut read_write = false;
    let unknown_sslmode = |from: &str| {
        ImportError::UnsupportedTarget(format!(
            "{from} has an unknown sslmode: use disable, prefer, require, verify-ca or verify-full (the default)"
        ))
    };
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                sslmode = Some(SslMode::parse(&v).ok_or_else(|| unknown_sslmode("the target URL"))?)
            }
            "sslrootcert" => sslrootcert = Some(RootCert::parse(&v)),
            "user" => user = v.into_owned(),
            "dbname" => dbname = v.into_owned(),
            "host" => host = v.into_owned(),
            "port" => port = v.parse().map_err(|_| bad("has a bad port"))?,
            "application_name" => application_name = v.into_owned(),
            "password" => return Err(ImportError::UnsupportedTarget(PASSWORD_IN_URL.into())),
            "target_session_attrs" => {
                read_write = match v.as_ref() {
                    "read-write" | "primary" => true,
                    "any" => false,
                    _ => {
                        return Err(bad(
                            "has an unsupported target_session_attrs (use read-write or any)",
                        ))
                    }
                }
            }
            "connect_timeout" | "channel_binding" | "sslnegotiation" => {}
            _ => {} // other libpq parameters are accepted and ignored
        }
    }
    // The environment fills in what the URL leaves out, as libpq does.
    let sslmode_explicit = sslmode.is_some() || env.sslmode.is_some();
    let sslmode = match (sslmode, env.sslmode.as_deref()) {
        (Some(m), _) => m,
        (None, Some(e)) => SslMode::parse(e.trim()).ok_or_else(|| unknown_sslmode("PGSSLMODE"))?,
        (None, None) => SslMode::VerifyFull,
    };
    if sslrootcert.is_none() {
        sslrootcert = env
            .sslrootcert
            .as_deref()
            .map(|v| RootCert::parse(v.trim()));
    }
    if user.is_empty() {
        user = env.user.clone().unwrap_or_default();
    }
    if user.is_empty() {
        return Err(bad("has no user name"));
    }
    if dbname.is_empty() {
        dbname = user.clone();
    }
    Ok(PgSpec {
        host,
        port,
        user,
        dbname,
        sslmode,
        sslmode_explicit,
        sslrootcert,
        password: None,
        application_name,
        fallback_hosts: {
            // A fallback without a port takes the first host's.
            for h in &mut fallback_hosts {
                if h.1 == 0 {
                    h.1 = port;
                }
            }
            fallback_hosts
        },
        read_write,
    })
}

/// `raw` with only the first host of a multi-host authority, and the others (port 0 when
/// none is written); `None` for an empty host in the list.
fn split_hosts(raw: &str) -> Option<(String, Vec<(String, u16)>)> {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Some((raw.to_string(), Vec::new()));
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if !hosts.contains(',') {
        return Some((raw.to_string(), Vec::new()));
    }
    let mut parts = hosts.split(',');
    let first = parts.next().filter(|h| !h.is_empty())?;
    let mut others = Vec::new();
    for h in parts {
        let (host, port) = if let Some(inner) = h.strip_prefix('[') {
            let (addr, after) = inner.split_once(']')?;
            match after.strip_prefix(':') {
                Some(p) => (addr, p.parse().ok()?),
                None if after.is_empty() => (addr, 0),
                None => return None,
            }
        } else {
            match h.split_once(':') {
                Some((a, p)) => (a, p.parse().ok()?),
                None => (h, 0),
            }
        };
        if host.is_empty() {
            return None;
        }
        others.push((host.to_string(), port));
    }
    let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    Some((format!("{scheme}://{userinfo}{first}{tail}"), others))
}

/// Whether the part of `scheme://userinfo@host…` before `@` holds a `:` (a password field,
/// even an empty one, which `url` reports as no password).
fn has_userinfo_colon(before_query: &str) -> bool {
    let after_scheme = before_query
        .split_once("://")
        .map_or(before_query, |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// How to connect and how big import batches are.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Give up connecting after this long (default 5 s): `unreachable`.
    pub connect_timeout: Duration,
    /// Give up on one import (or one batch) after this long (default 60 s): `timeout`,
    /// and the transaction is rolled back by the server when the connection is dropped.
    pub operation_timeout: Duration,
    /// Notes per transaction in `import_batch` (default 500).
    pub batch_size: usize,
    /// SQLite: how long to wait for another writer (default 5 s).
    pub busy_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(60),
            batch_size: 500,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hi = (b[i + 1] as char).to_digit(16);
            let lo = (b[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod multi_host_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pg(url: &str) -> PgSpec {
        match TargetSpec::parse_with_env(url, &PgEnv::default()).unwrap() {
            TargetSpec::Postgres(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_host_list_is_tried_in_order_with_each_hosts_port_or_the_first_ones() {
        let p =
            pg("postgres://staff@db1:5433,db2,[::1]:6000/clinic?target_session_attrs=read-write");
        assert_eq!(
            p.hosts(),
            vec![
                ("db1".to_string(), 5433),
                ("db2".to_string(), 5433),
                ("::1".to_string(), 6000)
            ]
        );
        assert!(p.read_write);
        assert_eq!(
            TargetSpec::Postgres(p).display(),
            "postgres://staff@db1:5433,db2:5433,[::1]:6000/clinic?sslmode=verify-full&target_session_attrs=read-write"
        );
        let one = pg("postgres://staff@db1/clinic");
        assert_eq!(one.hosts(), vec![("db1".to_string(), 5432)]);
        assert!(!one.read_write);
        // A single server displays as it always did (keyring entries are keyed by it).
        assert_eq!(
            TargetSpec::Postgres(one).display(),
            "postgres://staff@db1:5432/clinic?sslmode=verify-full"
        );
        for bad in [
            "postgres://staff@db1,,db2/clinic",
            "postgres://staff@db1,db2:x/clinic",
            "postgres://staff@db1/clinic?target_session_attrs=standby",
        ] {
            assert!(
                TargetSpec::parse_with_env(bad, &PgEnv::default()).is_err(),
                "{bad}"
            );
        }
    }
}
