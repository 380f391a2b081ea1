//! "Erase this workstation's copy": the inbox file (with its WAL and any migration leftovers),
//! its key and the sign-in, for a PC that is handed on or retired. Notes already imported stay
//! in the practice database; everything else is fetched again from Askara after a new sign-in.
//!
//! A running desktop holds the inbox open (and Windows refuses to delete an open file), so it
//! asks for the erase with a marker file and restarts: whichever front-end opens the inbox
//! next finishes the erase before anything else. A crash half-way leaves the marker, so the
//! erase is finished at the next start.

use std::path::{Path, PathBuf};

use askara::ClientConfig;
use inbox::encryption::{encrypting_path, open_lock_path, try_lock_unopened, wal_files};

use crate::error::AppError;

/// The marker a front-end leaves to have the local copy erased at the next start.
pub fn marker(data_dir: &Path) -> PathBuf {
    data_dir.join("erase-requested")
}

/// Asks for the inbox and its key to be erased before the inbox is next opened.
pub fn request_erase(data_dir: &Path) -> Result<(), AppError> {
    let m = marker(data_dir);
    secrets::write_private(&m, b"erase the local inbox and its key at the next start\n")
        .map_err(|e| AppError::Io(format!("cannot write {}: {e}", m.display())))
}

/// Finishes an erase asked for with [`request_erase`]; `true` when there was one.
pub fn finish_requested_erase(data_dir: &Path) -> Result<bool, AppError> {
    let m = marker(data_dir);
    if !m.exists() {
        return Ok(false);
    }
    // The app that asked restarts: its old process may still be exiting for a moment.
    let inbox = crate::paths::inbox_path(data_dir);
    for _ in 0..100 {
        match try_lock_unopened(&inbox) {
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(100)),
            _ => break,
        }
    }
    for note in erase_local_copy(data_dir)? {
        tracing::warn!("{note}");
    }
    remove(&m)?;
    Ok(true)
}

/// Removes the inbox (with its WAL and leftovers), its key and the desktop's unlock PIN.
/// Refused while any process has the inbox open (its open lock is held). The returned notes
/// say what could not be removed (a keyring that did not answer).
pub fn erase_local_copy(data_dir: &Path) -> Result<Vec<String>, AppError> {
    let inbox = crate::paths::inbox_path(data_dir);
    let lock = try_lock_unopened(&inbox)
        .map_err(|e| AppError::Io(format!("cannot lock the inbox to erase it: {e}")))?
        .ok_or_else(|| {
            AppError::Io(
                "another Askara Inbox (a sync, a serve or a window) has the inbox open: stop it, then erase again".into(),
            )
        })?;
    let mut files = vec![inbox.clone(), encrypting_path(&inbox)];
    files.extend(wal_files(&inbox));
    for f in &files {
        remove(f)?;
    }
    let mut notes: Vec<String> = crate::inbox_key::erase_key(data_dir)?.into_iter().collect();
    let pin = secrets::KeyringValue::open(&secrets::pin_account(data_dir)).and_then(|v| v.clear());
    if let Err(e) = pin {
        notes.push(format!(
            "the unlock PIN could not be removed from the OS keyring ({})",
            e.lines().next().unwrap_or_default()
        ));
    }
    drop(lock);
    remove(&open_lock_path(&inbox))?;
    tracing::info!("this workstation's copy of the inbox was erased");
    Ok(notes)
}

/// [`erase_local_copy`] and the sign-in (keyring and token file).
pub fn erase_workstation(data_dir: &Path, cfg: &ClientConfig) -> Result<Vec<String>, AppError> {
    let mut notes = erase_local_copy(data_dir)?;
    notes.extend(crate::credentials::sign_out(data_dir, cfg)?);
    Ok(notes)
}

fn remove(f: &Path) -> Result<(), AppError> {
    match std::fs::remove_file(f) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AppError::Io(format!(
            "cannot remove {} ({e}); close every Askara Inbox window and command, then try again",
            f.display()
        ))),
    }
}
