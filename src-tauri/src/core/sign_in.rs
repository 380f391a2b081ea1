//! Signing in (device code or browser with PKCE) and out.

#[allow(unused_imports)]
use super::*;

pub(super) struct PendingSignIn {
    /// The page to open, or why it is not opened (its text then carries the code and URL).
    verification_url: Result<String, CmdError>,
    task: JoinHandle<()>,
}

/// How long the browser sign-in waits for the redirect before giving up.
const BROWSER_SIGN_IN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

impl Core {
    /// Starts a device sign-in and waits for approval in the background; the outcome arrives
    /// as a `sign-in` event (`signed_in` or `failed` with `{code, message}`).
    /// Starts the configured sign-in: the device code (shown large by the UI), or the system
    /// browser with PKCE and a loopback redirect. Either finishes in the background and
    /// announces itself with a `sign-in` event.
    pub async fn sign_in_start(self: &Arc<Self>) -> Result<SignInView, CmdError> {
        self.sign_in_cancel();
        let api = self.api()?;
        let auth = api.auth().clone();
        if self.settings().sign_in_method == SignInMethod::Browser {
            let loopback = crate::loopback::Loopback::bind().await.map_err(|e| {
                CmdError::new(
                    "io",
                    format!("cannot listen on 127.0.0.1 for the sign-in: {e}"),
                )
            })?;
            let session = auth.start_pkce(loopback.redirect.clone())?;
            // Callbacks with another state are answered 400 and the listener keeps waiting.
            loopback.expect_state(session.state.clone());
            let url = session.authorize_url.to_string();
            let checked = checked_url(auth.config(), &url, None);
            let finish = async move {
                let cb = tokio::time::timeout(BROWSER_SIGN_IN_TIMEOUT, loopback.wait())
                    .await
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        CmdError::new(
                            "sign_in_expired",
                            "The browser sign-in was not completed in time: start it again",
                        )
                    })?;
                match (cb.code, cb.error) {
                    (Some(code), None) => {
                        let state = cb.state.unwrap_or_default();
                        auth.finish_pkce(session, &code, &state).await?;
                        Ok(())
                    }
                    (_, error) => Err(CmdError::from(askara::ApiError::AccessDenied(match error
                        .as_deref()
                    {
                        Some("access_denied") => "refused in the browser",
                        _ => "not completed in the browser",
                    }))),
                }
            };
            self.finish_sign_in_in_background(checked, finish);
            return Ok(SignInView::Browser { authorize_url: url });
        }
        let device = auth.start_device().await?;
        let view = DeviceView {
            user_code: device.user_code.clone(),
            verification_uri: device.verification_uri.clone(),
            verification_uri_complete: device.verification_uri_complete.clone(),
            expires_at: chrono::Utc::now()
                + chrono::Duration::from_std(device.expires_in).unwrap_or_default(),
        };
        let url = view
            .verification_uri_complete
            .clone()
            .unwrap_or_else(|| view.verification_uri.clone());
        let checked = checked_url(auth.config(), &url, Some(&view.user_code));
        self.finish_sign_in_in_background(checked, async move {
            auth.finish_device(&device).await?;
            Ok(())
        });
        Ok(SignInView::Device(view))
    }

    pub(super) fn finish_sign_in_in_background(
        self: &Arc<Self>,
        verification_url: Result<String, CmdError>,
        finish: impl std::future::Future<Output = Result<(), CmdError>> + Send + 'static,
    ) {
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            let outcome = finish.await;
            lock(&me.sign_in).take();
            match outcome {
                Ok(()) => {
                    // A full sign-in is the other way to unlock the idle lock, by the person
                    // who was signed in when it locked: someone else's Askara account does
                    // not open the previous user's inbox (the PIN still does).
                    let before = me.who();
                    me.fetch_account().await;
                    let after = me.who().actor;
                    let someone_else = before.actor.starts_with("askara:") && before.actor != after;
                    let refused = if someone_else && me.is_locked() {
                        tracing::warn!(
                            "a sign-in by another Askara user does not unlock the idle lock"
                        );
                        // The lock still belongs to the person signed in when it locked: it
                        // is their sign-in that opens it.
                        *lock(&me.who) = before;
                        Some(CmdError::new(
                            "locked",
                            "Signed in as another Askara user: the inbox stays locked until the person who was signed in enters the PIN or signs in",
                        ))
                    } else {
                        me.unlock_after_sign_in();
                        None
                    };
                    lock(&me.notifier).reset();
                    if let Err(e) = me.start_sync() {
                        tracing::warn!(code = %e.code, "cannot start syncing after sign-in");
                    }
                    me.publish_status().await;
                    let event = match refused {
                        Some(error) => SignInEvent::Failed { error },
                        None => SignInEvent::SignedIn,
                    };
                    me.shell.emit("sign-in", event_json(&event));
                }
                Err(e) => {
                    me.shell
                        .emit("sign-in", event_json(&SignInEvent::Failed { error: e }));
                }
            }
        });
        *lock(&self.sign_in) = Some(PendingSignIn {
            verification_url,
            task,
        });
    }

    /// The verification page of the sign-in in progress (the UI cannot open arbitrary URLs);
    /// an error, which shows the code and the URL as text, when the page is not on the
    /// configured Askara addresses.
    pub fn verification_url(&self) -> Result<String, CmdError> {
        lock(&self.sign_in)
            .as_ref()
            .map(|p| p.verification_url.clone())
            .ok_or_else(|| CmdError::new("no_sign_in", "No sign-in is in progress: start one"))?
    }

    pub fn sign_in_cancel(&self) {
        if let Some(p) = lock(&self.sign_in).take() {
            p.task.abort();
        }
    }

    /// Stops syncing and removes the tokens from the keyring. With `erase`, this workstation's
    /// copy (the inbox and its key) goes too: the app asks for the erase and restarts, and the
    /// erase is finished before the inbox is opened again (`app::erase`).
    pub async fn sign_out(&self, erase: bool) -> Result<(), CmdError> {
        self.unlocked()?;
        self.sign_in_cancel();
        self.stop_sync();
        *lock(&self.last_sync) = SyncStatus::default();
        *lock(&self.account) = None;
        lock(&self.notifier).reset();
        let api = self.api()?;
        let result = api.auth().sign_out().await;
        // Also a token file the CLI left in this data dir, so no command keeps signing in.
        if result.is_ok() && self.memory_tokens.is_none() {
            let (dir, cfg) = (self.data_dir.clone(), api.config().clone());
            let cleared =
                tokio::task::spawn_blocking(move || app::credentials::sign_out(&dir, &cfg))
                    .await
                    .map_err(|e| CmdError::new("internal", e.to_string()))?;
            if let Err(e) = cleared {
                tracing::warn!(code = e.code(), "the CLI's token file could not be removed");
            }
        }
        *lock(&self.who) = Identity::from_os();
        result?;
        if erase {
            app::erase::request_erase(&self.data_dir)?;
            self.shell.restart();
        }
        self.publish_status().await;
        Ok(())
    }
}

/// The sign-in page if it may be opened (https, or loopback http, on the API's or the
/// authorize page's origin); otherwise the line the UI shows instead, with the URL and the
/// code as text, so the person can still decide for themselves.
fn checked_url(
    cfg: &askara::ClientConfig,
    url: &str,
    user_code: Option<&str>,
) -> Result<String, CmdError> {
    cfg.check_verification_url(url)
        .map(|u| u.to_string())
        .map_err(|e| {
            tracing::warn!(error = %e, "sign-in page not opened");
            let code = user_code
                .map(|c| format!(" and enter the code {c}"))
                .unwrap_or_default();
            CmdError::new(
                "unsafe_url",
                format!(
                    "The sign-in page {url} is not on the Askara address in Settings, so it was not opened: open it yourself{code} only if you trust it, or check the base URL in Settings"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Restarts(AtomicUsize);
    impl Shell for Restarts {
        fn emit(&self, _: &str, _: Value) {}
        fn set_title(&self, _: &str) {}
        fn notify(&self, _: &crate::notify::Notification) {}
        fn restart(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn sign_out_with_erase_restarts_and_the_next_start_finds_an_empty_new_inbox() {
        // Signing out goes through the keyring: skipped (and said) where none answers.
        if !secrets::keyring_or_skip() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let shell = Arc::new(Restarts::default());
        let core = Core::open(dir.path().to_path_buf(), shell.clone())
            .await
            .unwrap();
        let note = askara::Note::from_json(serde_json::json!({
            "uuid": "e-1", "type": "consultation_summary", "content": "Synthetic.",
            "createdAt": "2026-11-30T10:00:00+00:00", "updatedAt": "2026-11-30T10:00:00+00:00",
            "patient": null
        }))
        .unwrap();
        core.inbox
            .ingest_from(
                vec![note],
                inbox::Origin::verified(inbox::Source::Poll),
                vec![],
            )
            .await
            .unwrap();
        let key_before = app::inbox_key::existing_key(dir.path()).unwrap().unwrap();

        core.sign_out(false).await.unwrap();
        assert_eq!(
            shell.0.load(Ordering::SeqCst),
            0,
            "a plain sign-out keeps the inbox"
        );
        core.sign_out(true).await.unwrap();
        assert_eq!(shell.0.load(Ordering::SeqCst), 1);
        assert!(app::erase::marker(dir.path()).exists());
        drop(core);

        let again = Core::open(dir.path().to_path_buf(), shell.clone())
            .await
            .unwrap();
        assert!(!app::erase::marker(dir.path()).exists());
        assert!(again.inbox.get("e-1").await.unwrap().is_none());
        let key_after = app::inbox_key::existing_key(dir.path()).unwrap().unwrap();
        assert_ne!(key_before, key_after, "a new inbox gets a new key");
    }
}
