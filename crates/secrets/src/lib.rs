//! Secrets in the OS keyring (Secret Service on Linux, Keychain, Credential Manager): Askara
//! sign-ins (as an [`askara::TokenStore`]), import-target passwords and the desktop's unlock PIN
//! (its Argon2id hash, a [`KeyringValue`]).
//!
//! There is no in-memory fallback: a platform without a keyring store does not build, and a
//! keyring that is locked or missing is an error that says how to fix it. A headless server
//! without a keyring service may keep its sign-in in a 0600 [`FileTokenStore`] instead, which
//! the caller chooses and announces. Values never reach a log line or an error message.

use askara::{RefreshLock, TokenSet, TokenStore};
use std::path::{Path, PathBuf};

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
compile_error!("no OS keyring store for this platform: refusing to build with an in-memory one");

/// The keyring service name every entry is stored under.
pub const SERVICE: &str = "askara-inbox";

/// What the user should do when the keyring does not answer.
pub const KEYRING_FIX: &str = "start and unlock your desktop keyring (GNOME Keyring or KWallet \
    with the Secret Service API), then try again";

/// The account key for a sign-in: one per Askara environment and client.
pub fn token_account(base_url: &str, client_id: &str) -> String {
    format!("{}|{client_id}", base_url.trim_end_matches('/'))
}

/// The account key for a database password: one per target (as displayed, without password).
pub fn password_account(target: &str) -> String {
    format!("import-target|{target}")
}

/// An error message on one line, at most 120 characters (keyring errors can be long).
fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect()
}

fn unavailable(e: &keyring::Error) -> String {
    format!(
        "The OS keyring is not available or locked ({}): {KEYRING_FIX}",
        one_line(&e.to_string())
    )
}

/// Whether the keyring answers for `account` and holds an entry there: `Ok(false)` for none,
/// `Err` (saying what to do) when the keyring does not answer.
pub fn has_entry(account: &str) -> Result<bool, String> {
    let entry = keyring::Entry::new(SERVICE, account).map_err(|e| unavailable(&e))?;
    match entry.get_password() {
        Ok(_) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(unavailable(&e)),
    }
}

/// Checks that the keyring answers (an absent entry is fine). `Err` says what to do.
pub fn probe() -> Result<(), String> {
    let entry = keyring::Entry::new(SERVICE, "probe").map_err(|e| unavailable(&e))?;
    match entry.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(&e)),
    }
}

/// For tests that need a real keyring: `true` when one answers; otherwise says why and gives
/// `false` (the test passes as skipped), unless `ASKARA_REQUIRE_KEYRING` is set (as in CI),
/// where a missing keyring fails the test.
#[cfg(any(test, feature = "test-support"))]
pub fn keyring_or_skip() -> bool {
    match probe() {
        Ok(()) => true,
        Err(e) => {
            assert!(
                std::env::var_os("ASKARA_REQUIRE_KEYRING").is_none(),
                "a keyring is required here: {e}"
            );
            eprintln!("skipped: {e}");
            false
        }
    }
}

/// Checks that the keyring accepts a write (a locked collection answers reads but refuses
/// writes): stores and removes a probe entry.
pub fn probe_write() -> Result<(), String> {
    let entry = keyring::Entry::new(SERVICE, "probe-write").map_err(|e| unavailable(&e))?;
    entry.set_password("probe").map_err(|e| unavailable(&e))?;
    match entry.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(&e)),
    }
}

/// Askara tokens in the keyring. Refreshes are serialised across processes with a lock file,
/// because Askara's refresh tokens are single-use.
pub struct KeyringTokenStore {
    entry: keyring::Entry,
    lock_path: PathBuf,
}

impl KeyringTokenStore {
    /// The store for `account` (see [`token_account`]); `lock_dir` holds the refresh lock.
    pub fn open(account: &str, lock_dir: &Path) -> Result<Self, String> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(|e| unavailable(&e))?;
        Ok(KeyringTokenStore {
            entry,
            lock_path: refresh_lock_path(lock_dir),
        })
    }
}

impl TokenStore for KeyringTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, String> {
        match self.entry.get_password() {
            Ok(s) => serde_json::from_str(&s).map(Some).map_err(|_| {
                "the stored sign-in is unreadable: sign out, then sign in again".into()
            }),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), String> {
        let s = serde_json::to_string(tokens).map_err(|e| e.to_string())?;
        self.entry.set_password(&s).map_err(|e| unavailable(&e))
    }

    fn clear(&self) -> Result<(), String> {
        self.clear_entry()
    }

    fn lock_refresh(&self) -> Result<Box<dyn RefreshLock>, String> {
        refresh_lock(&self.lock_path)
    }
}

impl KeyringTokenStore {
    /// Removes the entry without taking the refresh lock (for a caller that holds it).
    pub fn clear_entry(&self) -> Result<(), String> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(&e)),
        }
    }
}

/// The refresh lock every store of a data dir takes: one file, so a CLI and a desktop on one
/// machine never spend the same single-use refresh token.
pub fn refresh_lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("refresh.lock")
}

fn refresh_lock(path: &Path) -> Result<Box<dyn RefreshLock>, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
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

/// Askara tokens in a 0600 file, for a headless server with no keyring service. Whoever opens
/// one must say so loudly: a file is weaker than the keyring.
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl FileTokenStore {
    /// `DIR/tokens.json`, locking with the data dir's refresh lock.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        FileTokenStore {
            path: Self::path(data_dir),
            lock_path: refresh_lock_path(data_dir),
        }
    }

    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("tokens.json")
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, String> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|_| {
                format!(
                    "{} is unreadable: sign out, then sign in again",
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
        refresh_lock(&self.lock_path)
    }
}

/// Writes `body` to a new or truncated file readable by its owner only (0600), synced.
pub fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
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

/// A database password in the keyring, for the import target `account` (see
/// [`password_account`]).
pub struct KeyringPassword {
    entry: keyring::Entry,
}

impl KeyringPassword {
    pub fn open(account: &str) -> Result<Self, String> {
        Ok(KeyringPassword {
            entry: keyring::Entry::new(SERVICE, account).map_err(|e| unavailable(&e))?,
        })
    }

    pub fn get(&self) -> Result<Option<askara::Sensitive<String>>, String> {
        match self.entry.get_password() {
            Ok(p) => Ok(Some(askara::Sensitive::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    pub fn set(&self, password: &askara::Sensitive<String>) -> Result<(), String> {
        self.entry
            .set_password(password.expose())
            .map_err(|e| unavailable(&e))
    }

    pub fn clear(&self) -> Result<(), String> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(&e)),
        }
    }
}

/// The account key for the desktop's unlock PIN (its Argon2id hash): one per data dir, so two
/// inboxes on one computer have a PIN each.
pub fn pin_account(data_dir: &Path) -> String {
    format!("unlock-pin|{}", data_dir.display())
}

/// One string value in the keyring (the unlock PIN's hash, see [`pin_account`]). Never
/// printed: reads come back [`askara::Sensitive`].
pub struct KeyringValue {
    entry: keyring::Entry,
}

impl KeyringValue {
    pub fn open(account: &str) -> Result<Self, String> {
        Ok(KeyringValue {
            entry: keyring::Entry::new(SERVICE, account).map_err(|e| unavailable(&e))?,
        })
    }

    /// The value, or `None` when there is none; `Err` says what to do.
    pub fn get(&self) -> Result<Option<askara::Sensitive<String>>, String> {
        match self.entry.get_password() {
            Ok(v) => Ok(Some(askara::Sensitive::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    pub fn set(&self, value: &str) -> Result<(), String> {
        self.entry.set_password(value).map_err(|e| unavailable(&e))
    }

    /// Removes it; removing what is not there is fine.
    pub fn clear(&self) -> Result<(), String> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_ignore_a_trailing_slash() {
        assert_eq!(
            token_account("https://api.askara.ai/", "c"),
            token_account("https://api.askara.ai", "c")
        );
        assert_eq!(password_account("sqlite:/x"), "import-target|sqlite:/x");
        assert_eq!(
            pin_account(Path::new("/home/a/.local/share/askara-inbox")),
            "unlock-pin|/home/a/.local/share/askara-inbox"
        );
    }

    #[test]
    fn long_keyring_errors_become_one_short_line() {
        let s = one_line(&format!("{}\nsecond line", "x".repeat(500)));
        assert_eq!(s.len(), 120);
    }
}
