//! The data dir: the inbox, settings, the refresh lock and (without a keyring) the token file.

use std::path::PathBuf;

use crate::error::AppError;

/// `given` (a flag or `ASKARA_INBOX_DATA_DIR`), else the OS data dir's `askara-inbox`; created.
pub fn data_dir(given: Option<PathBuf>) -> Result<PathBuf, AppError> {
    let dir = match given {
        Some(d) => d,
        None => dirs::data_dir()
            .map(|d| d.join("askara-inbox"))
            .ok_or_else(|| {
                AppError::Config(
                    "no OS data dir: pass --data-dir DIR or set ASKARA_INBOX_DATA_DIR".into(),
                )
            })?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        AppError::Io(format!(
            "cannot create the data dir {}: {e}; pass a writable --data-dir",
            dir.display()
        ))
    })?;
    restrict(&dir)?;
    Ok(dir)
}

/// The data dir holds patient data and keys: readable by its owner only (0700, and each file
/// directly in it 0600; SQLite gives `-wal`/`-shm` the database's mode). Tightens what an
/// earlier version left readable by every local account.
#[cfg(unix)]
fn restrict(dir: &std::path::Path) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            AppError::Io(format!(
                "cannot make {} private ({e}); check who owns the data dir",
                p.display()
            ))
        })
    };
    set(dir, 0o700)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| AppError::Io(format!("cannot read the data dir {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            set(&path, meta.permissions().mode() & 0o700)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_dir: &std::path::Path) -> Result<(), AppError> {
    // Windows: the per-user data dir (%APPDATA%) is private to its owner by its ACL.
    Ok(())
}

/// The inbox database in `data_dir`.
pub fn inbox_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("inbox.sqlite3")
}
