//! The one settings model, in `DIR/settings.json`, read and written by the CLI and the desktop
//! alike, so a setting made in one is honoured by the other. No secrets: tokens and database
//! passwords live in the OS keyring.
//!
//! Earlier desktop versions wrote `desktop.json` (every field) beside the CLI's `settings.json`
//! (the fields given on the command line); when both exist, each key comes from the file that
//! last wrote it, and the next save folds them into `settings.json` and removes the old one.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use askara::TokenBodyFormat;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const DEFAULT_CLIENT_ID: &str = "askara-inbox";
const FILE: &str = "settings.json";
const LEGACY_DESKTOP_FILE: &str = "desktop.json";

/// How the desktop signs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum SignInMethod {
    /// A code to enter on any device: Askara's recommendation for practice software.
    #[default]
    Device,
    /// Authorization code with PKCE in the system browser, loopback redirect.
    Browser,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
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
    pub sign_in_method: SignInMethod,
    /// Space- or list-separated.
    pub scopes: Vec<String>,
    /// Token requests as JSON (Askara's documentation) or as a form (RFC 6749, some proxies).
    #[ts(type = "\"json\" | \"form\"")]
    pub token_body: TokenBodyFormat,
    pub interval_secs: u64,
    /// `sqlite:/path/practice.db` or `postgres://user@host/db?sslmode=verify-full` (no password).
    pub import_target: String,
    /// A mapping TOML onto an existing practice table; empty: the default `askara_notes` table.
    pub mapping_file: String,
    /// A desktop notification when notes arrive (how many, never whose).
    pub notify_new_notes: bool,

    /// Days an imported or dismissed note stays in the local inbox (`crate::retention`).
    pub retention_days: u32,

    // The idle lock (`crate::idle_lock`).
    /// Minutes without activity before the desktop locks (1–240; an IT policy file wins).
    pub idle_lock_minutes: u32,

    // All day in the background (desktop).
    /// Closing the window hides it to the tray; polling, notifications and imports go on.
    /// `false`: closing the window quits.
    pub close_to_tray: bool,
    /// Start the desktop app (hidden in the tray) when this user logs in (`crate::autostart`).
    pub start_at_login: bool,

    // Where the inbox is (`crate::inbox_store`), for the desktop; the CLI's `--inbox` /
    // `ASKARA_INBOX_URL` and the desktop's win over it.
    /// Empty: this computer's own inbox in the data dir (the default). A clinic's shared inbox:
    /// `postgres://user@host:5432/database?sslmode=verify-full` (no password: it goes to the
    /// keyring, as an import target's).
    pub inbox_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_url: askara::config::DEFAULT_BASE_URL.to_string(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            token_url: String::new(),
            device_url: String::new(),
            authorize_url: String::new(),
            sign_in_method: SignInMethod::Device,
            scopes: vec![askara::config::DEFAULT_SCOPE.to_string()],
            token_body: TokenBodyFormat::Json,
            interval_secs: 45,
            import_target: String::new(),
            mapping_file: String::new(),
            notify_new_notes: true,
            retention_days: crate::retention::DEFAULT_DAYS,

            idle_lock_minutes: crate::idle_lock::DEFAULT_MINUTES,
            close_to_tray: true,
            start_at_login: false,
            inbox_url: String::new(),
        }
    }
}

/// A settings file's keys and when it was last written.
type SettingsFile = (serde_json::Map<String, serde_json::Value>, SystemTime);

/// A settings file, or `None` when there is none.
fn read(path: &Path) -> Result<Option<SettingsFile>, AppError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AppError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let bad = |e: &dyn std::fmt::Display| {
        AppError::Config(format!(
            "{} is not valid settings JSON ({e}); fix or delete it",
            path.display()
        ))
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e))?;
    // Each file must hold settings of the right types on its own, so an error names its file.
    serde_json::from_value::<Settings>(v.clone()).map_err(|e| bad(&e))?;
    let serde_json::Value::Object(map) = v else {
        return Err(bad(&"not an object"));
    };
    let written = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(Some((map, written)))
}

impl Settings {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE)
    }

    /// The settings, and whether a settings file existed (a first run when not).
    ///
    /// With both files (an earlier desktop wrote `desktop.json`, the CLI `settings.json`), a
    /// key either holds comes from it, and a key both hold from the one written last: what
    /// was set most recently, wherever, wins.
    pub fn load(data_dir: &Path) -> Result<(Settings, bool), AppError> {
        let main = read(&Self::path(data_dir))?;
        let legacy = read(&data_dir.join(LEGACY_DESKTOP_FILE))?;
        let existed = main.is_some() || legacy.is_some();
        let mut files: Vec<_> = [main, legacy].into_iter().flatten().collect();
        files.sort_by_key(|(_, written)| *written);
        let mut merged = serde_json::Map::new();
        for (map, _) in files {
            merged.extend(map);
        }
        let s = serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| {
            AppError::Config(format!(
                "{} holds a setting of the wrong type ({e}); fix or delete it",
                Self::path(data_dir).display()
            ))
        })?;
        Ok((s, existed))
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    pub fn save(&self, data_dir: &Path) -> Result<(), AppError> {
        let path = Self::path(data_dir);
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self)
            .map_err(|e| AppError::Config(format!("settings: {e}")))?;
        secrets::write_private(&tmp, &body)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| AppError::Io(format!("cannot write {}: {e}", path.display())))?;
        match std::fs::remove_file(data_dir.join(LEGACY_DESKTOP_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AppError::Io(format!(
                "cannot remove the old {LEGACY_DESKTOP_FILE}: {e}"
            ))),
        }
    }

    /// Merges `--base-url` / `--client-id`; returns whether anything changed.
    pub fn remember(
        &mut self,
        base_url: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<bool, AppError> {
        let before = self.clone();
        if let Some(b) = base_url {
            askara::ClientConfig::new(b, "x")?;
            self.base_url = b.trim().trim_end_matches('/').to_string();
        }
        if let Some(c) = client_id {
            self.client_id = c.trim().to_string();
        }
        Ok(*self != before)
    }

    /// Checks every field; the error names the field and what is wrong with it.
    pub fn validate(&self) -> Result<(), AppError> {
        self.client_config(None)?;
        if self.client_id.trim().is_empty() {
            return Err(AppError::Config("the client id is empty".into()));
        }
        if !(5..=3600).contains(&self.interval_secs) {
            return Err(AppError::Config(
                "the polling interval must be between 5 and 3600 seconds (Askara recommends 30–60)"
                    .into(),
            ));
        }
        crate::retention::check_days(self.retention_days)?;
        if !crate::idle_lock::MINUTES.contains(&self.idle_lock_minutes) {
            return Err(AppError::Config(format!(
                "the idle lock must be between {} and {} minutes (the default is {})",
                crate::idle_lock::MINUTES.start(),
                crate::idle_lock::MINUTES.end(),
                crate::idle_lock::DEFAULT_MINUTES
            )));
        }
        if !self.import_target.trim().is_empty() {
            // Also refuses a password inside the URL (it belongs in the keyring).
            import::TargetSpec::parse(&self.import_target)?;
        }
        if !self.mapping_file.trim().is_empty() {
            import::Mapping::load(self.mapping_file.trim())?;
        }
        // Also refuses a password inside the URL (it belongs in the keyring).
        self.inbox_location()?;
        Ok(())
    }

    /// Where the inbox is, as `inboxUrl` says (read, not opened): empty or `sqlite:` is this
    /// computer's own inbox, `postgres://…` a clinic's shared one (see
    /// [`crate::inbox_store::InboxLocation::parse`], whose rules and errors apply).
    pub fn inbox_location(&self) -> Result<crate::inbox_store::InboxLocation, AppError> {
        crate::inbox_store::InboxLocation::parse(Some(&self.inbox_url))
    }

    /// The client configuration every field of which is honoured: URLs, scopes, token body;
    /// `secret` for client credentials (`ASKARA_CLIENT_SECRET` on a server).
    pub fn client_config(
        &self,
        secret: Option<askara::Sensitive<String>>,
    ) -> Result<askara::ClientConfig, AppError> {
        let mut cfg = askara::ClientConfig::new(self.base_url.trim(), self.client_id.trim())?
            .with_secret(secret);
        let parse = |s: &str, what: &str| {
            url::Url::parse(s.trim())
                .map_err(|e| AppError::Config(format!("the {what} `{s}` is not a URL: {e}")))
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
        cfg.token_body = self.token_body;
        cfg.check_endpoints()?;
        Ok(cfg)
    }

    /// Whether saving `next` over these settings must sign out first: a sign-in was made
    /// through the token, device and authorize URLs in force, and is not carried over to
    /// other ones (a changed authorize page could be someone else's).
    pub fn needs_sign_out(&self, next: &Settings) -> bool {
        match (self.client_config(None), next.client_config(None)) {
            (Ok(a), Ok(b)) => {
                a.token_url != b.token_url
                    || a.device_url != b.device_url
                    || a.authorize_url != b.authorize_url
            }
            // Settings that give no client have no sign-in to keep.
            _ => false,
        }
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
    fn one_file_for_both_front_ends_and_the_old_desktop_file_is_folded_in() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Settings::load(dir.path()).unwrap(),
            (Settings::default(), false)
        );
        // An earlier desktop wrote every field; the CLI later set a scope and the token body.
        std::fs::write(
            dir.path().join("desktop.json"),
            r#"{"baseUrl":"http://127.0.0.1:9","clientId":"desk","signInMethod":"browser","intervalSecs":30,"scopes":["read:notes"],"importTarget":"sqlite:/tmp/p.db"}"#,
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(
            dir.path().join("settings.json"),
            r#"{"baseUrl":"http://127.0.0.1:9","clientId":"desk","scopes":["read:notes","write:webhooks"],"tokenBody":"form"}"#,
        )
        .unwrap();
        let (s, existed) = Settings::load(dir.path()).unwrap();
        assert!(existed);
        // The CLI's later choices win; what only the desktop set is kept.
        assert_eq!(s.scopes, ["read:notes", "write:webhooks"]);
        assert_eq!(s.token_body, TokenBodyFormat::Form);
        assert_eq!(s.sign_in_method, SignInMethod::Browser);
        assert_eq!(s.interval_secs, 30);
        assert_eq!(s.import_target, "sqlite:/tmp/p.db");
        // And the other way round: a desktop change made after the CLI's wins.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(
            dir.path().join("desktop.json"),
            r#"{"clientId":"desk-2","scopes":["read:notes"]}"#,
        )
        .unwrap();
        let (s2, _) = Settings::load(dir.path()).unwrap();
        assert_eq!((s2.client_id.as_str(), s2.scopes.len()), ("desk-2", 1));
        assert_eq!(s2.token_body, TokenBodyFormat::Form);
        s.save(dir.path()).unwrap();
        assert!(!dir.path().join("desktop.json").exists());
        assert_eq!(Settings::load(dir.path()).unwrap().0, s);
        // A wrong type is reported in the file that holds it.
        std::fs::write(
            dir.path().join("desktop.json"),
            r#"{"intervalSecs":"soon"}"#,
        )
        .unwrap();
        let e = Settings::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("desktop.json"), "{e}");
    }

    #[test]
    fn every_field_reaches_the_client_config() {
        let s = Settings {
            scopes: vec!["read:notes profile".into()],
            token_body: TokenBodyFormat::Form,
            authorize_url: "https://login.example/authorize".into(),
            ..Settings::default()
        };
        let cfg = s.client_config(None).unwrap();
        assert_eq!(cfg.scopes, ["read:notes", "profile"]);
        assert_eq!(cfg.token_body, TokenBodyFormat::Form);
        assert_eq!(
            cfg.authorize_url.as_str(),
            "https://login.example/authorize"
        );
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut s = Settings::default();
        assert!(s.validate().is_ok());
        s.interval_secs = 1;
        assert!(s.validate().unwrap_err().to_string().contains("interval"));
        s.interval_secs = 45;
        s.idle_lock_minutes = 0;
        assert!(s.validate().unwrap_err().to_string().contains("idle lock"));
        s.idle_lock_minutes = 241;
        assert!(s.validate().is_err());
        s.idle_lock_minutes = 240;
        assert!(s.validate().is_ok());
        s.import_target = "mysql://x".into();
        assert_eq!(s.validate().unwrap_err().code(), "unsupported_target");
        s.import_target = "postgres://clinic:s3cret@db.local/practice".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("password field") && !e.contains("s3cret"), "{e}");
        assert!(e.contains("PGPASSWORD") && !e.contains('\n'), "{e}");
        s.import_target = "postgres://clinic@db.local/practice".into();
        assert!(s.validate().is_ok());
        s.import_target.clear();
        s.base_url = "not a url".into();
        assert_eq!(s.validate().unwrap_err().code(), "config");
        let mut s = Settings::default();
        assert!(s.remember(Some("not a url"), None).is_err());
        assert!(s.remember(Some("http://127.0.0.1:9/"), None).unwrap());
        assert_eq!(s.base_url, "http://127.0.0.1:9");
        assert!(!s.remember(Some("http://127.0.0.1:9"), None).unwrap());
    }

    #[test]
    fn endpoints_are_checked_and_moving_them_signs_out() {
        let mut s = Settings {
            base_url: "http://192.168.1.5:8080".into(),
            ..Settings::default()
        };
        let e = s.validate().unwrap_err();
        assert_eq!(e.code(), "config");
        assert!(e.to_string().contains("https://"), "{e}");
        s.base_url = "https://api.askara.ai".into();
        s.token_url = "https://tokens.example/oauth2/token".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.contains("token URL") && e.contains("https://api.askara.ai"),
            "{e}"
        );
        s.token_url = "https://api.askara.ai/oauth2/token".into();
        s.device_url = "http://api.askara.ai/oauth2/device-code".into();
        assert!(s.validate().is_err());
        s.device_url.clear();
        s.validate().unwrap();

        // The token URL written out as its default, the scopes, the interval: no sign-out.
        let before = Settings::default();
        let mut same = before.clone();
        same.token_url = "https://api.askara.ai/oauth2/token".into();
        same.interval_secs = 60;
        same.scopes = vec!["read:notes".into(), "write:webhooks".into()];
        assert!(!before.needs_sign_out(&same));
        // Another authorize page (or base URL, which moves every endpoint): sign out first.
        let mut moved = before.clone();
        moved.authorize_url = "https://login.example/authorize".into();
        assert!(before.needs_sign_out(&moved));
        let mut rebased = before.clone();
        rebased.base_url = "https://staging.askara.ai".into();
        assert!(before.needs_sign_out(&rebased));
    }

    #[test]
    fn the_inbox_is_this_computers_unless_a_clinic_server_is_given() {
        use crate::inbox_store::InboxLocation;
        // Older settings files have no inboxUrl: this computer's inbox, as before.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("settings.json"), r#"{"clientId":"desk"}"#).unwrap();
        let (s, _) = Settings::load(dir.path()).unwrap();
        assert_eq!(s.inbox_url, "");
        assert_eq!(
            s.inbox_location().unwrap(),
            InboxLocation::Local { path: None }
        );

        let clinic = Settings {
            inbox_url: "postgres://reception@db.clinic.example/askara".into(),
            ..Settings::default()
        };
        clinic.validate().unwrap();
        let loc = clinic.inbox_location().unwrap();
        assert!(loc.is_clinic());
        clinic.save(dir.path()).unwrap();
        let body = std::fs::read_to_string(Settings::path(dir.path())).unwrap();
        assert!(
            body.contains(r#""inboxUrl": "postgres://reception@db.clinic.example/askara""#),
            "{body}"
        );
        assert_eq!(Settings::load(dir.path()).unwrap().0, clinic);

        // A password belongs in the keyring: refused, and never echoed.
        let with_pw = Settings {
            inbox_url: "postgres://reception:s3cret-pw@db.clinic.example/askara".into(),
            ..Settings::default()
        };
        let e = with_pw.validate().unwrap_err();
        assert_eq!(e.code(), "config");
        let msg = e.to_string();
        assert!(
            msg.contains("password") && !msg.contains("s3cret-pw"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
        // Anything else says what is accepted.
        let other = Settings {
            inbox_url: "mysql://db.clinic.example/askara".into(),
            ..Settings::default()
        };
        let msg = other.validate().unwrap_err().to_string();
        assert!(
            msg.contains("postgres://") && msg.contains("sqlite:"),
            "{msg}"
        );
    }

    #[test]
    fn a_bad_file_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("settings.json"), "{not json").unwrap();
        let e = Settings::load(dir.path()).unwrap_err();
        assert_eq!(e.code(), "config");
        assert!(e.to_string().contains("fix or delete it"), "{e}");
    }
}
