//! Connections, pragmas, migrations and the small connection pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::encryption::{apply_key, InboxKey};
use crate::error::InboxError;

/// Schema migrations, in order. Version N = the first N applied (`PRAGMA user_version`).
/// Never edit a released one: append.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_webhook_queue.sql"),
    include_str!("../migrations/0003_note_origin.sql"),
    include_str!("../migrations/0004_audit_chain.sql"),
    include_str!("../migrations/0005_fts_secure_delete.sql"),
    include_str!("../migrations/0006_note_filters.sql"),
    include_str!("../migrations/0007_patient_identifiers.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens one connection, keyed, with the inbox's pragmas.
pub(crate) fn connect(path: &Path, key: &InboxKey) -> Result<Connection, InboxError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    apply_key(&conn, key, path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer nor each other, across processes.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "inbox database is not in WAL mode");
    }
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;
         PRAGMA secure_delete = ON;",
    )?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

pub(crate) fn user_version(conn: &Connection) -> Result<i64, InboxError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the schema up to date. Each migration runs in its own `BEGIN IMMEDIATE` transaction
/// and re-reads the version inside it, so two processes opening a fresh file at once are safe.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), InboxError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let v = user_version(&tx)?;
        if v > SCHEMA_VERSION {
            return Err(InboxError::SchemaTooNew {
                found: v,
                known: SCHEMA_VERSION,
            });
        }
        let Some(sql) = usize::try_from(v).ok().and_then(|i| MIGRATIONS.get(i)) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        finish_migration(&tx, v + 1)?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
        tracing::info!(version = v + 1, "inbox schema migrated");
    }
}

/// The Rust step that completes a migration, in its transaction, by the version it makes.
fn finish_migration(tx: &Connection, version: i64) -> Result<(), InboxError> {
    match version {
        4 => crate::audit_chain::chain_legacy_rows(tx),
        _ => Ok(()),
    }
}

/// A capped pool: at most `cap` connections exist; callers wait for a permit first (async), so
/// a thousand concurrent requests queue on the semaphore instead of flooding the blocking pool.
pub(crate) struct Pool {
    path: PathBuf,
    key: InboxKey,
    /// Held shared while this inbox is open (see `encryption::hold_open_lock`).
    _open_lock: std::fs::File,
    idle: Mutex<Vec<Connection>>,
    pub(crate) permits: Arc<tokio::sync::Semaphore>,
}

impl Pool {
    pub(crate) fn new(
        path: PathBuf,
        key: InboxKey,
        open_lock: std::fs::File,
        first: Connection,
        cap: usize,
    ) -> Pool {
        Pool {
            path,
            key,
            _open_lock: open_lock,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(tokio::sync::Semaphore::new(cap.max(1))),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// An idle connection, or a new one. Call only while holding a permit.
    pub(crate) fn take(&self) -> Result<Connection, InboxError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(c) => Ok(c),
            None => connect(&self.path, &self.key),
        }
    }

    /// Returns a connection; one left inside a transaction (after a panic) is dropped instead.
    pub(crate) fn put(&self, conn: Connection) {
        if conn.is_autocommit() {
            if let Ok(mut v) = self.idle.lock() {
                v.push(conn);
            }
        }
    }
}
