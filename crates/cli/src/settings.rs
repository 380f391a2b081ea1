//! Settings given once on the command line and remembered in the data dir. No secrets here:
//! tokens live in the OS keyring (or, on a server without one, a 0600 file that says so).

use crate::error::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_body: Option<askara::TokenBodyFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u64>,
}

pub const DEFAULT_CLIENT_ID: &str = "askara-inbox";

impl Settings {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("settings.json")
    }

    pub fn load(data_dir: &Path) -> Result<Settings, CliError> {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CliError::config(format!(
                    "{} is not valid settings JSON ({e}); fix or delete it",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(CliError::config(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    pub fn save(&self, data_dir: &Path) -> Result<(), CliError> {
        let path = Self::path(data_dir);
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self)
            .map_err(|e| CliError::config(format!("settings: {e}")))?;
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| CliError::config(format!("cannot write {}: {e}", path.display())))
    }

    /// Merges flags into the remembered settings; returns whether anything changed.
    pub fn remember(&mut self, base_url: Option<&str>, client_id: Option<&str>) -> bool {
        let before = self.clone();
        if let Some(b) = base_url {
            self.base_url = Some(b.trim_end_matches('/').to_string());
        }
        if let Some(c) = client_id {
            self.client_id = Some(c.to_string());
        }
        *self != before
    }

    pub fn client_config(
        &self,
        secret: Option<askara::Sensitive<String>>,
    ) -> Result<askara::ClientConfig, CliError> {
        let base = self
            .base_url
            .as_deref()
            .unwrap_or(askara::config::DEFAULT_BASE_URL);
        let client_id = self.client_id.as_deref().unwrap_or(DEFAULT_CLIENT_ID);
        let mut cfg = askara::ClientConfig::new(base, client_id)?.with_secret(secret);
        let parse = |s: &str, what: &str| {
            url::Url::parse(s)
                .map_err(|e| CliError::config(format!("{what} `{s}` is not a URL: {e}")))
        };
        if let Some(t) = &self.token_url {
            cfg.token_url = parse(t, "token URL")?;
        }
        if let Some(d) = &self.device_url {
            cfg.device_url = parse(d, "device URL")?;
        }
        if let Some(s) = &self.scopes {
            cfg.scopes = s.clone();
        }
        if let Some(b) = self.token_body {
            cfg.token_body = b;
        }
        Ok(cfg)
    }
}
