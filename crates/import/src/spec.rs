//! Target URLs: `sqlite:PATH`, `sqlite://PATH`, `postgres://user@host:port/db?sslmode=…`.

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

/// libpq's `sslmode`, all six values honoured (`allow` is treated as `prefer`).
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
}

/// Where the server's CA certificate comes from, for `verify-ca` / `verify-full`
/// (and `require`, which then verifies like `verify-ca`, as libpq does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    File(PathBuf),
    /// `sslrootcert=system`: the Mozilla root set bundled with the app.
    System,
}

/// A parsed PostgreSQL target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<RootCert>,
    pub password: Option<Password>,
    pub application_name: String,
}

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Sqlite { path: PathBuf },
    Postgres(PgSpec),
}

impl TargetSpec {
    /// Parses a target URL. Anything but SQLite or PostgreSQL is `unsupported_target`.
    pub fn parse(url: &str) -> Result<TargetSpec, ImportError> {
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
            "postgres" | "postgresql" => parse_pg(url).map(TargetSpec::Postgres),
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
                let host = if p.host.contains(':') {
                    format!("[{}]", p.host)
                } else {
                    p.host.clone()
                };
                format!(
                    "postgres://{}@{}:{}/{}?sslmode={}",
                    p.user,
                    host,
                    p.port,
                    p.dbname,
                    p.sslmode.as_str()
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

fn parse_pg(raw: &str) -> Result<PgSpec, ImportError> {
    let bad = |what: &str| {
        ImportError::UnsupportedTarget(format!(
            "PostgreSQL target {what}; write postgres://user@host:5432/database?sslmode=require"
        ))
    };
    let url = url::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err(bad("has no host")),
    };
    let decode = percent_decode;
    let mut user = decode(url.username());
    let password = url.password().map(|p| Password::new(decode(p)));
    let mut dbname = decode(url.path().trim_start_matches('/'));
    let mut port = url.port().unwrap_or(5432);
    let mut host = host;
    let mut sslmode = SslMode::Prefer;
    let mut sslrootcert = None;
    let mut application_name = "askara-inbox".to_string();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                sslmode = match v.as_ref() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    _ => {
                        return Err(bad(
                            "has an unknown sslmode (use disable, prefer, require, verify-ca or verify-full)",
                        ))
                    }
                }
            }
            "sslrootcert" => {
                sslrootcert = Some(if v == "system" {
                    RootCert::System
                } else {
                    RootCert::File(PathBuf::from(v.as_ref()))
                })
            }
            "user" => user = v.into_owned(),
            "dbname" => dbname = v.into_owned(),
            "host" => host = v.into_owned(),
            "port" => port = v.parse().map_err(|_| bad("has a bad port"))?,
            "application_name" => application_name = v.into_owned(),
            "password" => {
                return Err(bad("carries password= in its query; pass the password separately"))
            }
            "connect_timeout" | "channel_binding" | "sslnegotiation" => {}
            _ => {} // other libpq parameters are accepted and ignored
        }
    }
    if user.is_empty() {
        user = std::env::var("PGUSER").unwrap_or_default();
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
        sslrootcert,
        password,
        application_name,
    })
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
