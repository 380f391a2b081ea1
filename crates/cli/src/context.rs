//! What every command needs: the data dir, the settings, the inbox (local or a clinic's, as
//! `--inbox` says), and an API client with the right credentials, all through the application
//! layer (`crates/app`).

use crate::error::CliError;
use app::credentials::{self, StorePolicy};
use app::inbox_key::KeyPolicy;
use app::inbox_store::{InboxLocation, OpenedStore};
use app::Settings;
use askara::{ApiClient, MemoryTokenStore, Sensitive, SharedClock, SystemClock, TokenStore};
use std::path::PathBuf;
use std::sync::Arc;

pub struct Context {
    pub data_dir: PathBuf,
    pub settings: Settings,
    /// `--inbox` / `ASKARA_INBOX_URL`, else the inbox chosen in the desktop's Settings (the
    /// same data dir's `inboxUrl`): which inbox the commands work in (see `app::inbox_store`);
    /// `None`: the local one in the data dir.
    pub inbox_url: Option<String>,
}

impl Context {
    pub fn new(data_dir: Option<PathBuf>, inbox_url: Option<String>) -> Result<Context, CliError> {
        let data_dir = app::paths::data_dir(data_dir)?;
        let (settings, _) = Settings::load(&data_dir)?;
        let inbox_url = inbox_url
            .filter(|u| !u.trim().is_empty())
            .or_else(|| Some(settings.inbox_url.clone()).filter(|u| !u.trim().is_empty()));
        Ok(Context {
            data_dir,
            settings,
            inbox_url,
        })
    }

    /// Where the inbox is, as `--inbox` says (read, not opened).
    pub fn location(&self) -> Result<InboxLocation, CliError> {
        Ok(InboxLocation::parse(self.inbox_url.as_deref())?)
    }

    /// The inbox: the local one opened with its key (made on first use; see
    /// `app::inbox_key`), or the clinic's shared inbox, connected.
    pub async fn store(&self) -> Result<OpenedStore, CliError> {
        let policy = if Self::force_token_file() {
            KeyPolicy::File
        } else {
            KeyPolicy::KeyringElseFile
        };
        let opened = self.location()?.open(&self.data_dir, policy).await?;
        if let Some(w) = &opened.warning {
            eprintln!("WARNING: {w}");
        }
        Ok(opened)
    }

    /// Where the poll lock of this inbox is: the folder of a local inbox (the data dir unless
    /// `--inbox sqlite:DIR/inbox.sqlite3`); for a clinic inbox, the data dir for now.
    pub fn poll_lock(&self) -> Result<app::sync::PollLock, CliError> {
        let dir = self
            .location()?
            .local_dir(&self.data_dir)
            .unwrap_or_else(|| self.data_dir.clone());
        Ok(app::sync::PollLock::at(&dir))
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
