//! The desktop's settings, in `DIR/desktop.json`. No secrets: tokens and the database password
//! live in the OS keyring. On first run it starts from the CLI's `settings.json` if there is one.

use crate::error::CmdError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DEFAULT_CLIENT_ID: &str = "askara-inbox";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub base_url: String,
    pub client_id: String,
    /// Empty: `{baseUrl}/oauth2/token`.
    pub token_url: String,
    /// Empty: `{baseUrl}/oauth2/device-code`.
    pub device_url: String,
    /// Empty: Askara's (`https://app.askara.ai/authorize` for production).
    pub authorize_url: String,
    /// `device` (a code to enter on any device; Askara's recommendation for practice software)
    /// or `browser` (authorization code with PKCE in the system browser, loopback redirect).
    pub sign_in_method: String,
    pub scopes: Vec<String>,
    pub interval_secs: u64,
    /// `sqlite:/path/practice.db` or `postgres://user@host/db?sslmode=verify-full` (no password).
    pub import_target: String,
    /// A mapping TOML onto an existing practice table; empty: the default `askara_notes` table.
    pub mapping_file: String,
    /// A desktop notification when notes arrive (how many, never whose).
    pub notify_new_notes: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_url: askara::config::DEFAULT_BASE_URL.to_string(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            token_url: String::new(),
            device_url: String::new(),
            authorize_url: String::new(),
            sign_in_method: "device".into(),
            scopes: vec![askara::config::DEFAULT_SCOPE.to_string()],
            interval_secs: 45,
            import_target: String::new(),
            mapping_file: String::new(),
            notify_new_notes: true,
        }
    }
}

impl Settings {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("desktop.json")
    }

    /// `desktop.json`, else the CLI's `settings.json` (same field names), else defaults.
    /// The second value says whether a settings file existed (first run when not).
    pub fn load(data_dir: &Path) -> Result<(Settings, bool), CmdError> {
        for path in [Self::path(data_dir), data_dir.join("settings.json")] {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let s = serde_json::from_slice(&bytes).map_err(|e| {
                        CmdError::config(format!(
                            "{} is not valid settings JSON ({e}); fix or delete it",
                            path.display()
                        ))
                    })?;
                    return Ok((s, true));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(CmdError::config(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )))
                }
            }
        }
        Ok((Settings::default(), false))
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    pub fn save(&self, data_dir: &Path) -> Result<(), CmdError> {
        let path = Self::path(data_dir);
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self)
            .map_err(|e| CmdError::config(format!("settings: {e}")))?;
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| CmdError::config(format!("cannot write {}: {e}", path.display())))
    }

    /// Checks every field; the error names the field and what is wrong with it.
    pub fn validate(&self) -> Result<(), CmdError> {
        self.client_config()?;
        if self.client_id.trim().is_empty() {
            return Err(CmdError::config("the client id is empty"));
        }
        if !matches!(self.sign_in_method.as_str(), "device" | "browser") {
            return Err(CmdError::config(
                "the sign-in method must be `device` (a code) or `browser` (the system browser)",
            ));
        }
        if !(5..=3600).contains(&self.interval_secs) {
            return Err(CmdError::config(
                "the polling interval must be between 5 and 3600 seconds (Askara recommends 30–60)",
            ));
        }
        if !self.import_target.trim().is_empty() {
            import::TargetSpec::parse(&self.import_target)?;
        }
        if !self.mapping_file.trim().is_empty() {
            import::Mapping::load(self.mapping_file.trim())?;
        }
        Ok(())
    }

    pub fn client_config(&self) -> Result<askara::ClientConfig, CmdError> {
        let mut cfg = askara::ClientConfig::new(self.base_url.trim(), self.client_id.trim())?;
        let parse = |s: &str, what: &str| {
            url::Url::parse(s.trim())
                .map_err(|e| CmdError::config(format!("the {what} `{s}` is not a URL: {e}")))
        };
        if !self.token_url.trim().is_empty() {
            cfg.token_url = parse(&self.token_url, "token URL")?;
        }
        if !self.device_url.trim().is_empty() {
            cfg.device_url = parse(&self.device_url, "device URL")?;
        }
        if !self.authorize_url.trim().is_empty() {
            cfg.authorize_url = parse(&self.authorize_url, "authorize URL")?;
        }
        let scopes: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_string)
            .collect();
        if !scopes.is_empty() {
            cfg.scopes = scopes;
        }
        Ok(cfg)
    }

    pub fn sync_config(&self) -> inbox::sync::SyncConfig {
        inbox::sync::SyncConfig {
            interval: std::time::Duration::from_secs(self.interval_secs.max(1)),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_falls_back_to_the_cli_settings() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Settings::load(dir.path()).unwrap(),
            (Settings::default(), false)
        );
        std::fs::write(
            dir.path().join("settings.json"),
            r#"{"baseUrl":"http://127.0.0.1:9","clientId":"cli","intervalSecs":30}"#,
        )
        .unwrap();
        let (s, existed) = Settings::load(dir.path()).unwrap();
        assert!(existed);
        assert_eq!((s.client_id.as_str(), s.interval_secs), ("cli", 30));
        let mut s = s;
        s.import_target = "sqlite:/tmp/p.db".into();
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap().0, s);
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut s = Settings::default();
        assert!(s.validate().is_ok());
        s.interval_secs = 1;
        assert!(s.validate().unwrap_err().message.contains("interval"));
        s.interval_secs = 45;
        s.import_target = "mysql://x".into();
        assert_eq!(s.validate().unwrap_err().code, "unsupported_target");
        s.import_target.clear();
        s.base_url = "not a url".into();
        assert_eq!(s.validate().unwrap_err().code, "config");
    }

    #[test]
    fn scopes_may_be_written_space_separated() {
        let s = Settings {
            scopes: vec!["read:notes profile".into()],
            ..Settings::default()
        };
        assert_eq!(s.client_config().unwrap().scopes, ["read:notes", "profile"]);
    }
}
