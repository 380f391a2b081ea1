//! Where an Askara sign-in is kept, chosen once for every front-end. The OS keyring is the
//! place; a headless server with no keyring service may use a 0600 file, which is announced.
//! Every store of a data dir takes the same refresh lock, because Askara's refresh tokens are
//! single-use: a CLI and a desktop on one machine must never both spend one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use askara::{ClientConfig, TokenStore};
use secrets::{FileTokenStore, KeyringTokenStore};

use crate::error::AppError;

/// Which stores a front-end accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorePolicy {
    /// The desktop: the keyring, or an error saying how to make it usable.
    KeyringOnly,
    /// `login`: a new sign-in goes to the keyring when it answers; to the 0600 file when no
    /// keyring answers (with a warning) or the operator asked for the file
    /// (`ASKARA_INBOX_TOKEN_FILE=1`).
    SignIn { force_file: bool },
    /// `sync`, `webhooks`: the stored sign-in wherever it is (see [`open_token_store`]); with
    /// none, where `login` would put one.
    KeyringElseFile { force_file: bool },
    /// A sign-in that already exists, or none (`serve` without `--poll`, client credentials).
    Existing { force_file: bool },
}

/// Where the sign-in lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    Keyring,
    File(PathBuf),
}

pub struct OpenedStore {
    pub store: Arc<dyn TokenStore>,
    pub storage: Storage,
    /// Set when the file was chosen because no keyring answered: show it to the operator.
    pub warning: Option<String>,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("storage", &self.storage)
            .field("warning", &self.warning)
            .finish_non_exhaustive()
    }
}

fn keyring(account: &str, data_dir: &Path) -> Result<OpenedStore, AppError> {
    Ok(OpenedStore {
        store: Arc::new(KeyringTokenStore::open(account, data_dir).map_err(AppError::Keyring)?),
        storage: Storage::Keyring,
        warning: None,
    })
}

fn file(data_dir: &Path, warning: Option<String>) -> OpenedStore {
    OpenedStore {
        store: Arc::new(FileTokenStore::in_data_dir(data_dir)),
        storage: Storage::File(FileTokenStore::path(data_dir)),
        warning,
    }
}

/// The sign-in store for `cfg`'s account under `policy`; `None` only for
/// [`StorePolicy::Existing`] when there is no sign-in anywhere.
///
/// One order for every command that uses a sign-in: the token file when the operator asked
/// for it; else a sign-in in the keyring; else one in the token file (made while no keyring
/// answered). A new sign-in goes to the keyring when it answers.
pub fn open_token_store(
    data_dir: &Path,
    cfg: &ClientConfig,
    policy: StorePolicy,
) -> Result<Option<OpenedStore>, AppError> {
    let account = secrets::token_account(cfg.base_url.as_str(), &cfg.client_id);
    let file_exists = FileTokenStore::path(data_dir).exists();
    let no_keyring = |e: String| {
        format!(
            "no OS keyring is available ({}); tokens are kept in {} (mode 0600). Start a Secret Service (e.g. gnome-keyring) to keep them in the keyring.",
            e.lines().next().unwrap_or_default(),
            FileTokenStore::path(data_dir).display()
        )
    };
    match policy {
        StorePolicy::KeyringOnly => {
            secrets::probe().map_err(AppError::Keyring)?;
            keyring(&account, data_dir).map(Some)
        }
        StorePolicy::SignIn { force_file: true }
        | StorePolicy::KeyringElseFile { force_file: true } => Ok(Some(file(data_dir, None))),
        StorePolicy::Existing { force_file: true } => Ok(file_exists.then(|| file(data_dir, None))),
        StorePolicy::SignIn { force_file: false } => match secrets::probe() {
            Ok(()) => keyring(&account, data_dir).map(Some),
            Err(e) => Ok(Some(file(data_dir, Some(no_keyring(e))))),
        },
        StorePolicy::KeyringElseFile { force_file: false } => match secrets::has_entry(&account) {
            Ok(true) => keyring(&account, data_dir).map(Some),
            Ok(false) if file_exists => Ok(Some(file(data_dir, None))),
            Ok(false) => keyring(&account, data_dir).map(Some),
            Err(_) if file_exists => Ok(Some(file(data_dir, None))),
            Err(e) => Ok(Some(file(data_dir, Some(no_keyring(e))))),
        },
        StorePolicy::Existing { force_file: false } => match secrets::has_entry(&account) {
            Ok(true) => keyring(&account, data_dir).map(Some),
            _ if file_exists => Ok(Some(file(data_dir, None))),
            _ => Ok(None),
        },
    }
}

/// Removes the sign-in wherever it is kept (keyring and token file), holding the refresh lock
/// so a refresh under way in another process cannot write it back. `Ok(Some(note))`: the token
/// file is gone but no keyring answered, so a sign-in kept there (by a desktop session) could
/// not be removed; say so.
pub fn sign_out(data_dir: &Path, cfg: &ClientConfig) -> Result<Option<String>, AppError> {
    let file = FileTokenStore::in_data_dir(data_dir);
    let _lock = file.lock_refresh().map_err(AppError::Io)?;
    file.clear().map_err(AppError::Io)?;
    let account = secrets::token_account(cfg.base_url.as_str(), &cfg.client_id);
    match secrets::has_entry(&account) {
        Ok(false) => Ok(None),
        Ok(true) => {
            secrets::KeyringTokenStore::open(&account, data_dir)
                .and_then(|k| k.clear_entry())
                .map_err(AppError::Keyring)?;
            Ok(None)
        }
        Err(e) => Ok(Some(format!(
            "the OS keyring did not answer ({}), so a sign-in kept there (e.g. by the desktop app) was not removed; sign out in the desktop app or unlock the keyring and run logout again",
            e.lines().next().unwrap_or_default()
        ))),
    }
}
