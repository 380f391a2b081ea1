//! Settings: validate, save (a password to the keyring), and test the connections.

#[allow(unused_imports)]
use super::*;

impl Core {
    /// Validates and saves; a new password goes to the keyring (`password` the import
    /// target's, `inbox_password` the clinic server's). Reconnects and restarts syncing with
    /// the new settings. A new place for the inbox (or a new password for it) takes a restart:
    /// the app restarts itself once saved.
    pub async fn save_settings(
        self: &Arc<Self>,
        settings: Settings,
        password: Option<String>,
        inbox_password: Option<String>,
    ) -> Result<(), CmdError> {
        self.unlocked()?;
        settings.validate()?;
        let inbox_password = inbox_password.filter(|p| !p.is_empty());
        let clinic_url = settings.inbox_location()?.is_clinic();
        if inbox_password.is_some() && !clinic_url {
            return Err(CmdError::config(
                "a password is only used for a clinic server: choose \"Clinic server\" and enter its postgres:// URL, or leave the password empty",
            ));
        }
        // Moving the token, device or authorize URL signs out first: a sign-in made through
        // one set of endpoints is not carried over to another.
        if self.settings().needs_sign_out(&settings) {
            self.sign_out(false).await?;
        }
        if let Some(pw) = password.filter(|p| !p.is_empty()) {
            importing::remember_password(&settings.import_target, &Sensitive::new(pw))?;
        }
        // Kept where `app::inbox_store` looks for it, as an import target's password.
        let new_inbox_password = inbox_password.is_some();
        if let Some(pw) = inbox_password {
            importing::remember_password(&settings.inbox_url, &Sensitive::new(pw))?;
        }
        let restart = self.demo.is_none()
            && self.inbox_set_by.is_none()
            && (settings.inbox_url.trim() != self.settings().inbox_url.trim()
                || new_inbox_password);
        // Start at login: the entry first, so a system that refuses it saves nothing. The
        // demo never writes one (its data dir is temporary).
        if settings.start_at_login != self.settings().start_at_login && self.demo.is_none() {
            let exe = std::env::current_exe().map_err(|e| {
                CmdError::new(
                    "io",
                    format!("cannot tell where this app is installed: {e}"),
                )
            })?;
            app::autostart::set(
                &app::autostart::user_config_dir()?,
                settings.start_at_login,
                &exe,
                Some(&self.data_dir),
            )?;
        }
        settings.save(&self.data_dir)?;
        let was_syncing = lock(&self.sync).is_some();
        let idle_minutes = settings.idle_lock_minutes;
        *lock(&self.settings) = settings;
        self.apply_idle_setting(idle_minutes);
        lock(&self.api).take();
        self.target.lock().await.take();
        if was_syncing {
            let signed_in = match self.api() {
                Ok(api) => api.auth().has_credentials().await.unwrap_or(false),
                Err(_) => false,
            };
            if signed_in {
                self.start_sync()?;
            } else {
                self.stop_sync();
            }
        }
        if restart {
            tracing::info!("the inbox's place changed; restarting to open it");
            self.shell.restart();
        }
        self.publish_status().await;
        Ok(())
    }

    /// Whether Askara answers at the base URL, and whether the import target accepts a
    /// connection (for SQLite this creates the file and schema if missing).
    pub async fn test_connection(
        &self,
        settings: Settings,
        password: Option<String>,
    ) -> Result<ConnectionReport, CmdError> {
        self.unlocked()?;
        let cfg = settings.client_config(None)?;
        let askara = match probe_http(cfg.base_url.as_str()).await {
            Ok(status) => Check {
                ok: true,
                message: format!("Askara answered at {} (HTTP {status})", cfg.host()),
            },
            Err(e) => Check {
                ok: false,
                message: format!("Askara did not answer at {}: {e}", cfg.host()),
            },
        };
        let target = if settings.import_target.trim().is_empty() {
            None
        } else {
            Some(
                match importing::connect(
                    &settings.import_target,
                    Some(Path::new(settings.mapping_file.trim())),
                    password.map(Sensitive::new),
                )
                .await
                {
                    Ok(t) => Check {
                        ok: true,
                        message: format!("Connected to {}", t.describe()),
                    },
                    Err(e) => Check {
                        ok: false,
                        message: CmdError::from(e).message,
                    },
                },
            )
        };
        Ok(ConnectionReport { askara, target })
    }
}

/// Any HTTP answer means Askara is reachable (a 404 at the root is fine).
async fn probe_http(url: &str) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    client
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| askara::network::describe_reqwest(&e))
}
