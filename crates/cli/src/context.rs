//! What every command needs: the data dir, the settings, the inbox, and an API client with
//! the right credentials, all through the application layer (`crates/app`).

use crate::error::CliError;
use app::credentials::{self, StorePolicy};
use app::inbox_key::KeyPolicy;
use app::Settings;
use askara::{ApiClient, MemoryTokenStore, Sensitive, SharedClock, SystemClock, TokenStore};
use std::path::PathBuf;
use std::sync::Arc;

pub struct Context {
    pub data_dir: PathBuf,
    pub settings: Settings,
}

impl Context {
    pub fn new(data_dir: Option<PathBuf>) -> Result<Context, CliError> {
        let data_dir = app::paths::data_dir(data_dir)?;
        let (settings, _) = Settings::load(&data_dir)?;
        Ok(Context { data_dir, settings })
    }

    /// The inbox, opened with its key (made on first use; see `app::inbox_key`).
    pub fn inbox(&self) -> Result<inbox::Inbox, CliError> {
        let policy = if Self::force_token_file() {
            KeyPolicy::File
        } else {
            KeyPolicy::KeyringElseFile
        };
        let opened = app::inbox_key::open_inbox(&self.data_dir, policy)?;
        if let Some(w) = &opened.warning {
            eprintln!("WARNING: {w}");
        }
        Ok(opened.inbox)
    }

    /// Remembers `--base-url` / `--client-id` given on this run.
    pub fn remember(&mut self, server: &crate::args::ServerArgs) -> Result<(), CliError> {
        if self
            .settings
            .remember(server.base_url.as_deref(), server.client_id.as_deref())?
        {
            self.settings.save(&self.data_dir)?;
        }
        Ok(())
    }

    pub fn client_secret() -> Option<Sensitive<String>> {
        std::env::var("ASKARA_CLIENT_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .map(Sensitive::new)
    }

    /// `ASKARA_INBOX_TOKEN_FILE=1` (or `true`/`yes`): keep the sign-in in the 0600 file even
    /// where a keyring answers (a server whose keyring is not meant for it).
    fn force_token_file() -> bool {
        std::env::var("ASKARA_INBOX_TOKEN_FILE")
            .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
            .unwrap_or(false)
    }

    /// The sign-in store for the configured account. With a client secret from the
    /// environment and no stored sign-in, tokens stay in memory: nothing to persist.
    pub fn token_store(&self, for_login: bool) -> Result<Arc<dyn TokenStore>, CliError> {
        let cfg = self.settings.client_config(None)?;
        let force_file = Self::force_token_file();
        if !for_login && Self::client_secret().is_some() {
            let policy = StorePolicy::Existing { force_file };
            return Ok(
                match credentials::open_token_store(&self.data_dir, &cfg, policy)? {
                    Some(s) => s.store,
                    None => Arc::new(MemoryTokenStore::default()),
                },
            );
        }
        let policy = if for_login {
            StorePolicy::SignIn { force_file }
        } else {
            StorePolicy::KeyringElseFile { force_file }
        };
        let opened =
            credentials::open_token_store(&self.data_dir, &cfg, policy)?.ok_or_else(|| {
                CliError::Credentials {
                    message: "no sign-in store could be opened".into(),
                }
            })?;
        if let Some(w) = &opened.warning {
            eprintln!("WARNING: {w}");
        }
        Ok(opened.store)
    }

    /// A stored sign-in, if there is one anywhere; never a warning, never a new store.
    pub fn existing_token_store(&self) -> Result<Option<Arc<dyn TokenStore>>, CliError> {
        let cfg = self.settings.client_config(None)?;
        let policy = StorePolicy::Existing {
            force_file: Self::force_token_file(),
        };
        Ok(credentials::open_token_store(&self.data_dir, &cfg, policy)?.map(|s| s.store))
    }

    pub fn api(&self, for_login: bool) -> Result<Arc<ApiClient>, CliError> {
        let cfg = self.settings.client_config(Self::client_secret())?;
        let clock: SharedClock = Arc::new(SystemClock);
        Ok(Arc::new(ApiClient::new(
            cfg,
            self.token_store(for_login)?,
            clock,
        )?))
    }
}
