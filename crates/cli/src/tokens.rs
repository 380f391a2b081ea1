//! Where `login` keeps tokens: the OS keyring (Secret Service, Keychain, Credential Manager).
//! A headless server with no keyring service falls back to a 0600 file and says so loudly.
//! Refreshes are serialised across processes with a lock file, because Askara's refresh tokens
//! are single-use.

use askara::{RefreshLock, TokenSet, TokenStore};
use std::path::{Path, PathBuf};

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
compile_error!("no OS keyring store for this platform: refusing to build with an in-memory one");

const SERVICE: &str = "askara-inbox";

pub struct KeyringStore {
    entry: keyring::Entry,
    lock_path: PathBuf,
}

pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
}

/// The account key: one sign-in per Askara environment and client.
fn account(base_url: &str, client_id: &str) -> String {
    format!("{}|{client_id}", base_url.trim_end_matches('/'))
}

/// The keyring when one answers, else the file (with a warning), for this account.
pub fn open_store(
    data_dir: &Path,
    base_url: &str,
    client_id: &str,
) -> Result<Box<dyn TokenStore>, String> {
    let lock_path = data_dir.join("refresh.lock");
    let file = FileStore {
        path: data_dir.join("tokens.json"),
        lock_path: lock_path.clone(),
    };
    if std::env::var_os("ASKARA_INBOX_TOKEN_FILE").is_some() {
        return Ok(Box::new(file));
    }
    let entry = keyring::Entry::new(SERVICE, &account(base_url, client_id))
        .map_err(|e| format!("keyring: {e}"))?;
    match entry.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(Box::new(KeyringStore { entry, lock_path })),
        Err(e) => {
            eprintln!(
                "WARNING: no OS keyring is available ({}); tokens are kept in {} (mode 0600). \
                 Start a Secret Service (e.g. gnome-keyring) to keep them in the keyring.",
                one_line(&e.to_string()),
                file.path.display()
            );
            Ok(Box::new(file))
        }
    }
}

/// The keyring only if it answers and holds a sign-in; never the file, never a warning.
pub fn open_store_quiet(
    data_dir: &Path,
    base_url: &str,
    client_id: &str,
) -> Option<Box<dyn TokenStore>> {
    let lock_path = data_dir.join("refresh.lock");
    let file = FileStore {
        path: data_dir.join("tokens.json"),
        lock_path: lock_path.clone(),
    };
    if file.path.exists() {
        return Some(Box::new(file));
    }
    let entry = keyring::Entry::new(SERVICE, &account(base_url, client_id)).ok()?;
    match entry.get_password() {
        Ok(_) => Some(Box::new(KeyringStore { entry, lock_path })),
        Err(_) => None,
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect()
}

fn lock(path: &Path) -> Result<Box<dyn RefreshLock>, String> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(Box::new(f))
}

impl TokenStore for KeyringStore {
    fn load(&self) -> Result<Option<TokenSet>, String> {
        match self.entry.get_password() {
            Ok(s) => serde_json::from_str(&s).map(Some).map_err(|_| {
                "the stored sign-in is unreadable: run `askara-inbox logout`, then `login`".into()
            }),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(format!(
                "keyring unavailable ({}): unlock it or sign in again",
                one_line(&e.to_string())
            )),
        }
    }
    fn save(&self, tokens: &TokenSet) -> Result<(), String> {
        let s = serde_json::to_string(tokens).map_err(|e| e.to_string())?;
        self.entry.set_password(&s).map_err(|e| {
            format!(
                "cannot write to the keyring ({}): unlock it and retry",
                one_line(&e.to_string())
            )
        })
    }
    fn clear(&self) -> Result<(), String> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(format!(
                "cannot remove the sign-in from the keyring: {}",
                one_line(&e.to_string())
            )),
        }
    }
    fn lock_refresh(&self) -> Result<Box<dyn RefreshLock>, String> {
        lock(&self.lock_path)
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<TokenSet>, String> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|_| {
                format!(
                    "{} is unreadable: run `askara-inbox logout`, then `login`",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }
    fn save(&self, tokens: &TokenSet) -> Result<(), String> {
        let body = serde_json::to_vec(tokens).map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("json.tmp");
        write_private(&tmp, &body)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
    fn clear(&self) -> Result<(), String> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove {}: {e}", self.path.display())),
        }
    }
    fn lock_refresh(&self) -> Result<Box<dyn RefreshLock>, String> {
        lock(&self.lock_path)
    }
}

fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).truncate(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(body)?;
    f.sync_all()
}
