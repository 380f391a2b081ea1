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

/// The data dir holds patient data and keys: readable by its owner only (0700, and each of
/// our files in it 0600; SQLite gives `-wal`/`-shm` the database's mode). Tightens what an
/// earlier version left readable by every local account. A `--data-dir` that holds none of
/// our files yet (a home directory given by mistake, say) is left as it is: only our files
/// are ever touched.
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
    let entries: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| AppError::Io(format!("cannot read the data dir {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    let ours: Vec<&std::path::PathBuf> = entries
        .iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_ours))
        .collect();
    if entries.is_empty() || !ours.is_empty() {
        set(dir, 0o700)?;
    }
    for path in ours {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            set(path, meta.permissions().mode() & 0o700)?;
        }
    }
    Ok(())
}

/// The files Askara Inbox keeps in its data dir.
#[cfg(unix)]
fn is_ours(name: &str) -> bool {
    name.starts_with("inbox.")
        || matches!(
            name,
            "settings.json"
                | "settings.json.tmp"
                | "desktop.json"
                | "tokens.json"
                | "tokens.json.tmp"
                | "refresh.lock"
                | "lock.json"
                | "erase-requested"
                | "desktop.lock"
                | "desktop.sock"
                | "poll.lock"
        )
}

#[cfg(not(unix))]
fn restrict(_dir: &std::path::Path) -> Result<(), AppError> {
    // Windows: the per-user data dir (%APPDATA%) is private to its owner by its ACL.
    Ok(())
}

/// The local inbox's file name: in the data dir, or in the folder a `sqlite:DIR/inbox.sqlite3`
/// inbox URL names (`crate::inbox_store`).
pub const INBOX_FILE: &str = "inbox.sqlite3";

/// The inbox database in `data_dir`.
pub fn inbox_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join(INBOX_FILE)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn our_files_become_private_and_a_foreign_dir_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let fresh = data_dir(Some(root.path().join("new"))).unwrap();
        assert_eq!(mode(&fresh), 0o700);

        let old = root.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        for f in ["settings.json", "inbox.sqlite3-wal", "notes.txt"] {
            std::fs::write(old.join(f), "x").unwrap();
            std::fs::set_permissions(old.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        data_dir(Some(old.clone())).unwrap();
        assert_eq!(mode(&old), 0o700);
        assert_eq!(mode(&old.join("settings.json")), 0o600);
        assert_eq!(mode(&old.join("inbox.sqlite3-wal")), 0o600);
        assert_eq!(mode(&old.join("notes.txt")), 0o644, "not ours: untouched");

        let home = root.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(home.join(".bashrc"), "x").unwrap();
        data_dir(Some(home.clone())).unwrap();
        assert_eq!(
            mode(&home),
            0o755,
            "a dir holding none of our files keeps its mode"
        );
    }
}
