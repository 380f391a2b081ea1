//! PostgreSQL driver errors as ours: SQLSTATE and objects named, values never.

#[allow(unused_imports)]
use super::*;

pub(super) fn no_conn() -> ImportError {
    ImportError::Unreachable("no connection to the database server; try again".into())
}

pub(super) fn where_(spec: &PgSpec) -> String {
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
