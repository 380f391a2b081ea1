//! The inbox's encryption key: made once per data dir, kept in the OS keyring beside the
//! sign-in, or (a headless server with no keyring, announced loudly) in a 0600 file. Opening
//! the inbox goes through here so every front-end finds the key the same way.
//!
//! A key is only ever created for a data dir whose inbox is new or still plaintext: an
//! encrypted inbox whose key is gone is an error that says what to do, never a silent new
//! empty inbox.

use std::path::{Path, PathBuf};

use inbox::encryption::{file_kind, FileKind};
use inbox::{Inbox, InboxKey};

use crate::error::AppError;

/// The key file's name in the data dir (only where no keyring answers).
pub const KEY_FILE: &str = "inbox.key";

pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// The keyring account of the data dir's inbox key: one per data dir (a clinic server may
/// run several).
pub fn key_account(data_dir: &Path) -> String {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    format!("inbox-key|{}", dir.display())
}

/// An opened inbox and, when its key had to go to a file, the warning to show.
#[derive(Debug)]
pub struct OpenedInbox {
    pub inbox: Inbox,
    pub warning: Option<String>,
}

/// Where a new key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// The keyring when it accepts a write; else the 0600 file, with a warning.
    KeyringElseFile,
    /// The 0600 file (`ASKARA_INBOX_TOKEN_FILE=1`: a server whose keyring is not meant for
    /// it); still announced.
    File,
}

/// Finds (or, for a new or plaintext inbox, creates) the key and opens the inbox with it,
/// encrypting a plaintext inbox in place; an erase asked for earlier is finished first.
/// Blocking.
pub fn open_inbox(data_dir: &Path, policy: KeyPolicy) -> Result<OpenedInbox, AppError> {
    crate::erase::finish_requested_erase(data_dir)?;
    let path = crate::paths::inbox_path(data_dir);
    // One process at a time looks for the key and makes one: two processes starting on a new
    // or plaintext inbox must not each make (and store) a key of their own.
    let _making = key_lock(data_dir)?;
    let (key, warning) = match existing_key(data_dir)? {
        Some(k) => (k, None),
        None => {
            let kind = file_kind(&path)
                .map_err(|e| AppError::Io(format!("cannot read {}: {e}", path.display())))?;
            if kind == FileKind::Encrypted {
                return Err(AppError::Keyring(format!(
                    "the inbox {} is encrypted but its key is in neither the OS keyring nor {}: unlock the keyring this inbox was made with (the same user session), or move the file away to start an empty inbox (notes are fetched again from Askara, local review states are lost)",
                    path.display(),
                    key_file(data_dir).display()
                )));
            }
            create_key(data_dir, policy)?
        }
    };
    let inbox = Inbox::open(&path, &key)?;
    Ok(OpenedInbox { inbox, warning })
}

fn key_lock(data_dir: &Path) -> Result<std::fs::File, AppError> {
    let path = data_dir.join("inbox.key.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .and_then(|f| f.lock().map(|_| f))
        .map_err(|e| AppError::Io(format!("cannot lock {}: {e}", path.display())))?;
    Ok(f)
}

/// The data dir's key, from the keyring or the key file; `None` if neither has one. A keyring
/// that does not answer is not an error when the file has the key.
pub fn existing_key(data_dir: &Path) -> Result<Option<InboxKey>, AppError> {
    let file = key_file(data_dir);
    match std::fs::read_to_string(&file) {
        Ok(s) => {
            return InboxKey::from_hex(&s).map(Some).ok_or_else(|| {
                AppError::Io(format!(
                    "{} is not an inbox key (64 hex digits); restore it from your backup",
                    file.display()
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AppError::Io(format!("cannot read {}: {e}", file.display()))),
    }
    let entry = secrets::KeyringPassword::open(&key_account(data_dir));
    match entry.and_then(|k| k.get()) {
        Ok(Some(hex)) => InboxKey::from_hex(hex.expose()).map(Some).ok_or_else(|| {
            AppError::Keyring(
                "the inbox key in the OS keyring is damaged; restore the keyring from a backup"
                    .into(),
            )
        }),
        Ok(None) => Ok(None),
        // No keyring and no key file: a new inbox may still be made (with a file).
        Err(_) => Ok(None),
    }
}

fn create_key(data_dir: &Path, policy: KeyPolicy) -> Result<(InboxKey, Option<String>), AppError> {
    let key = InboxKey::generate();
    let hex = askara::Sensitive::new(key.to_hex());
    if policy == KeyPolicy::KeyringElseFile {
        let stored = secrets::probe_write()
            .and_then(|_| secrets::KeyringPassword::open(&key_account(data_dir)))
            .and_then(|k| k.set(&hex));
        match stored {
            Ok(()) => return Ok((key, None)),
            Err(e) => {
                let file = write_key_file(data_dir, &key)?;
                return Ok((
                    key,
                    Some(format!(
                        "no OS keyring is available ({}); the inbox key is kept in {} (mode 0600), next to the inbox it opens. Start a Secret Service (e.g. gnome-keyring) to keep it in the keyring.",
                        e.lines().next().unwrap_or_default(),
                        file.display()
                    )),
                ));
            }
        }
    }
    let file = write_key_file(data_dir, &key)?;
    Ok((
        key,
        Some(format!(
            "the inbox key is kept in {} (mode 0600), next to the inbox it opens, as asked",
            file.display()
        )),
    ))
}

fn write_key_file(data_dir: &Path, key: &InboxKey) -> Result<PathBuf, AppError> {
    let file = key_file(data_dir);
    secrets::write_private(&file, key.to_hex().as_bytes())
        .map_err(|e| AppError::Io(format!("cannot write {}: {e}", file.display())))?;
    Ok(file)
}

/// Removes the key from the keyring and the key file. `Ok(Some(note))` when the keyring did
/// not answer, so a key kept there could not be removed.
pub fn erase_key(data_dir: &Path) -> Result<Option<String>, AppError> {
    let file = key_file(data_dir);
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(AppError::Io(format!(
                "cannot remove {}: {e}",
                file.display()
            )))
        }
    }
    let account = key_account(data_dir);
    match secrets::has_entry(&account) {
        Ok(false) => Ok(None),
        Ok(true) => {
            secrets::KeyringPassword::open(&account)
                .and_then(|k| k.clear())
                .map_err(AppError::Keyring)?;
            Ok(None)
        }
        Err(e) => Ok(Some(format!(
            "the OS keyring did not answer ({}), so an inbox key kept there was not removed",
            e.lines().next().unwrap_or_default()
        ))),
    }
}
