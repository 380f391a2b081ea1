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
    Ok(dir)
}

/// The inbox database in `data_dir`.
pub fn inbox_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("inbox.sqlite3")
}
