//! "Erase this workstation's copy": the inbox file (with its WAL and any migration leftovers),
//! its key and the sign-in, for a PC that is handed on or retired. Notes already imported stay
//! in the practice database; everything else is fetched again from Askara after a new sign-in.

use std::path::Path;

use askara::ClientConfig;
use inbox::encryption::{encrypting_path, wal_files};

use crate::error::AppError;

/// Removes the inbox, its key and the sign-in. Nothing in this process may hold the inbox open
/// (the desktop restarts after it). The returned notes say what could not be removed (a
/// keyring that did not answer); an `Err` means the inbox file itself could not be removed.
pub fn erase_workstation(data_dir: &Path, cfg: &ClientConfig) -> Result<Vec<String>, AppError> {
    let inbox = crate::paths::inbox_path(data_dir);
    let mut files = vec![inbox.clone(), encrypting_path(&inbox)];
    files.extend(wal_files(&inbox));
    for f in &files {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::Io(format!(
                    "cannot remove {} ({e}); close every Askara Inbox window and command, then try again",
                    f.display()
                )))
            }
        }
    }
    let mut notes = Vec::new();
    notes.extend(crate::inbox_key::erase_key(data_dir)?);
    notes.extend(crate::credentials::sign_out(data_dir, cfg)?);
    tracing::info!("this workstation's copy of the inbox was erased");
    Ok(notes)
}
