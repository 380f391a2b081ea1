//! The inbox is a SQLCipher database keyed with a random 256-bit raw key (no passphrase KDF on
//! every open: the key is already random). This module holds the key type, keys connections,
//! tells a plaintext file from an encrypted one, and encrypts a plaintext inbox in place.
//!
//! Migration is crash-safe: the encrypted copy is written beside the plaintext
//! (`inbox.sqlite3.encrypting`), synced, and only then renamed over it; a crash at any point
//! leaves either the untouched plaintext (the next start redoes the copy) or the complete
//! encrypted file.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rand::RngCore;
use rusqlite::Connection;

use crate::error::InboxError;

/// The inbox's raw key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct InboxKey([u8; 32]);

impl fmt::Debug for InboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InboxKey(<redacted>)")
    }
}

impl InboxKey {
    /// A new key from the OS's random source.
    pub fn generate() -> InboxKey {
        let mut k = [0u8; 32];
        // ThreadRng is a CSPRNG seeded from the OS.
        rand::rng().fill_bytes(&mut k);
        InboxKey(k)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> InboxKey {
        InboxKey(bytes)
    }

    /// The 64-hex-digit form kept in the keyring or the key file.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the stored form; `None` for anything but 64 hex digits (surrounding blanks ok).
    pub fn from_hex(s: &str) -> Option<InboxKey> {
        let s = s.trim();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut k = [0u8; 32];
        for (i, byte) in k.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(InboxKey(k))
    }

    /// SQLCipher's raw-key literal: `x'…'` (64 hex digits = key, no KDF).
    fn literal(&self) -> String {
        format!("\"x'{}'\"", self.to_hex())
    }
}

/// What is at the inbox's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// No file, or an empty one: a new inbox.
    Missing,
    /// A plain SQLite database (its header is readable): to be encrypted.
    Plaintext,
    /// Anything else: an encrypted database (or not a database at all; the key check says).
    Encrypted,
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Reads the first 16 bytes: a plaintext SQLite file starts with its magic string, a
/// SQLCipher file with a random salt.
pub fn file_kind(path: &Path) -> std::io::Result<FileKind> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(e),
    };
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(match n {
        0 => FileKind::Missing,
        _ if n == 16 && &head == SQLITE_HEADER => FileKind::Plaintext,
        _ => FileKind::Encrypted,
    })
}

/// Keys a fresh connection (must be its first statement) and proves the key opens the file:
/// SQLCipher only fails on the first read, with "file is not a database".
pub(crate) fn apply_key(conn: &Connection, key: &InboxKey, path: &Path) -> Result<(), InboxError> {
    conn.execute_batch(&format!("PRAGMA key = {};", key.literal()))?;
    // SQLCipher writes its own errors (a failed HMAC on a wrong key) to stderr; ours say
    // what to do, in one line. After the key: keying is what sets SQLCipher's default level.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(InboxError::WrongKey {
                path: path.to_path_buf(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The file the encrypted copy is written to during a migration.
pub fn encrypting_path(path: &Path) -> PathBuf {
    sibling(path, ".encrypting")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// The `-wal` and `-shm` files SQLite keeps beside `path`.
pub fn wal_files(path: &Path) -> [PathBuf; 2] {
    [sibling(path, "-wal"), sibling(path, "-shm")]
}

/// Makes `path` ready to open with `key`: a missing file is created 0600, a plaintext one is
/// encrypted in place (under a lock file, so two processes starting at once migrate once),
/// an encrypted one has its permissions tightened.
pub(crate) fn prepare(path: &Path, key: &InboxKey) -> Result<(), InboxError> {
    if file_kind(path).map_err(|e| access_err(path, e))? == FileKind::Plaintext {
        let lock_path = sibling(path, ".migrate-lock");
        let lock = File::create(&lock_path).map_err(|e| access_err(&lock_path, e))?;
        lock.lock().map_err(|e| access_err(&lock_path, e))?;
        // Another process may have finished the migration while this one waited.
        if file_kind(path).map_err(|e| access_err(path, e))? == FileKind::Plaintext {
            tracing::info!("encrypting the plaintext inbox in place");
            encrypt_in_place(path, key)?;
            tracing::info!("inbox encrypted");
        }
        drop(lock);
        let _ = std::fs::remove_file(&lock_path);
    }
    restrict_file(path)?;
    for f in wal_files(path) {
        if f.exists() {
            restrict_file(&f)?;
        }
    }
    Ok(())
}

/// Encrypts the plaintext inbox at `path` in place with `key`. The caller holds the
/// migration lock, so no other process of this version opens the file meanwhile.
pub fn encrypt_in_place(path: &Path, key: &InboxKey) -> Result<(), InboxError> {
    let tmp = encrypting_path(path);
    remove_if_exists(&tmp)?;
    {
        let plain = Connection::open(path)?;
        plain.busy_timeout(crate::db::BUSY_TIMEOUT)?;
        // Everything committed into the main file first, so the export reads it all and the
        // plaintext WAL can go.
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = plain.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tmp_str = tmp.to_str().ok_or_else(|| {
            InboxError::Migration(format!("{} is not valid UTF-8", tmp.display()))
        })?;
        plain.execute(
            &format!("ATTACH DATABASE ?1 AS encrypted KEY {}", key.literal()),
            [tmp_str],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))?;
        // Out of WAL mode: SQLite then deletes the -wal file itself on close.
        plain.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    }
    restrict_file(&tmp)?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(&tmp, e))?;
    for f in wal_files(path) {
        remove_if_exists(&f)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    sync_dir(path);
    Ok(())
}

/// Creates an empty inbox file readable by its owner only (SQLite gives its `-wal` and
/// `-shm` the same mode), or tightens an existing one.
pub(crate) fn restrict_file(path: &Path) -> Result<(), InboxError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)))
            .map_err(|e| access_err(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<(), InboxError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn access_err(path: &Path, e: std::io::Error) -> InboxError {
    InboxError::FileAccess(format!("{}: {e}", path.display()))
}

/// The lock every open inbox holds shared for its lifetime, so an erase can tell that a
/// process (a `sync`, a `serve`, a window) still has the file open.
pub fn open_lock_path(path: &Path) -> PathBuf {
    sibling(path, ".lock")
}

/// Takes the open lock shared (blocking only while an erase holds it).
pub(crate) fn hold_open_lock(path: &Path) -> Result<File, InboxError> {
    let lock_path = open_lock_path(path);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| access_err(&lock_path, e))?;
    restrict_file(&lock_path)?;
    f.lock_shared().map_err(|e| access_err(&lock_path, e))?;
    Ok(f)
}

/// The open lock taken exclusively, or `None` while any process has the inbox open.
pub fn try_lock_unopened(path: &Path) -> std::io::Result<Option<File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(open_lock_path(path))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> InboxError {
    InboxError::Migration(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_round_trip_through_hex_and_never_print() {
        let k = InboxKey::generate();
        assert_eq!(
            InboxKey::from_hex(&format!(" {}\n", k.to_hex())),
            Some(k.clone())
        );
        assert_eq!(format!("{k:?}"), "InboxKey(<redacted>)");
        assert!(InboxKey::from_hex("abc").is_none());
        assert!(InboxKey::from_hex(&"g".repeat(64)).is_none());
        assert_ne!(InboxKey::generate(), k);
    }

    #[test]
    fn tells_plaintext_from_encrypted_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.sqlite3");
        assert_eq!(file_kind(&p).unwrap(), FileKind::Missing);
        std::fs::write(&p, b"").unwrap();
        assert_eq!(file_kind(&p).unwrap(), FileKind::Missing);
        std::fs::remove_file(&p).unwrap();
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert_eq!(file_kind(&p).unwrap(), FileKind::Plaintext);
        encrypt_in_place(&p, &InboxKey::generate()).unwrap();
        assert_eq!(file_kind(&p).unwrap(), FileKind::Encrypted);
    }
}
