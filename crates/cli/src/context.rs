//! What every command needs: the data dir, remembered settings, the inbox, and an API client
//! with the right credentials.

use crate::error::CliError;
use crate::settings::Settings;
use askara::{ApiClient, MemoryTokenStore, Sensitive, SharedClock, SystemClock, TokenStore};
use std::path::PathBuf;
use std::sync::Arc;

pub struct Context {
    pub data_dir: PathBuf,
    pub settings: Settings,
}

impl Context {
    pub fn new(data_dir: Option<PathBuf>) -> Result<Context, CliError> {
        let data_dir = match data_dir {
            Some(d) => d,
            None => dirs::data_dir()
                .map(|d| d.join("askara-inbox"))
                .ok_or_else(|| {
                    CliError::config(
                        "no OS data dir: pass --data-dir DIR or set ASKARA_INBOX_DATA_DIR",
                    )
                })?,
        };
        std::fs::create_dir_all(&data_dir).map_err(|e| {
            CliError::io(format!(
                "cannot create the data dir {}: {e}; pass a writable --data-dir",
                data_dir.display()
            ))
        })?;
        let settings = Settings::load(&data_dir)?;
        Ok(Context { data_dir, settings })
    }

    pub fn inbox(&self) -> Result<inbox::Inbox, CliError> {
        Ok(inbox::Inbox::open(self.data_dir.join("inbox.sqlite3"))?)
    }

    /// Remembers `--base-url` / `--client-id` given on this run.
    pub fn remember(&mut self, server: &crate::args::ServerArgs) -> Result<(), CliError> {
        if let Some(b) = &server.base_url {
            askara::ClientConfig::new(b, "x")?;
        }
        if self
            .settings
            .remember(server.base_url.as_deref(), server.client_id.as_deref())
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

    /// The sign-in store for the configured account. With a client secret from the
    /// environment and no keyring, tokens stay in memory: nothing to persist.
    pub fn token_store(&self, for_login: bool) -> Result<Arc<dyn TokenStore>, CliError> {
        let cfg = self.settings.client_config(None)?;
        let base = cfg.base_url.as_str().to_string();
        if !for_login && Self::client_secret().is_some() {
            return Ok(
                match crate::tokens::open_store_quiet(&self.data_dir, &base, &cfg.client_id) {
                    Some(s) => Arc::from(s),
                    None => Arc::new(MemoryTokenStore::default()),
                },
            );
        }
        crate::tokens::open_store(&self.data_dir, &base, &cfg.client_id)
            .map(Arc::from)
            .map_err(|message| CliError::Credentials { message })
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

/// Who is acting, for the audit log: the OS user.
pub fn actor() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
