//! The one error shape the UI sees: `{code, message}`. The code is what the UI branches on; the
//! message is one line that says what to do. Never note content, patient names or secrets.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct CmdError {
    pub code: String,
    pub message: String,
}

impl CmdError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        CmdError {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The OS keyring is locked or missing; the message says how to fix it.
    pub fn keyring(message: impl Into<String>) -> Self {
        CmdError::new("keyring", message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        CmdError::new("config", message)
    }
}

impl From<askara::ApiError> for CmdError {
    fn from(e: askara::ApiError) -> Self {
        match &e {
            // The client's storage errors come from the keyring store.
            askara::ApiError::Storage(m) => CmdError::keyring(m.clone()),
            _ => CmdError::new(e.code().as_str(), desktop_words(&e.to_string())),
        }
    }
}

impl From<inbox::InboxError> for CmdError {
    fn from(e: inbox::InboxError) -> Self {
        CmdError::new(e.code().as_str(), e.to_string())
    }
}

impl From<import::ImportError> for CmdError {
    fn from(e: import::ImportError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

impl From<app::AppError> for CmdError {
    fn from(e: app::AppError) -> Self {
        match e {
            app::AppError::Api(a) => a.into(),
            e => CmdError::new(e.code(), desktop_words(&e.to_string())),
        }
    }
}

impl From<inbox::sync::SyncError> for CmdError {
    fn from(e: inbox::sync::SyncError) -> Self {
        match e {
            inbox::sync::SyncError::Api(a) => a.into(),
            inbox::sync::SyncError::Inbox(i) => i.into(),
            inbox::sync::SyncError::Incomplete(i) => CmdError::new("incomplete", i.to_string()),
        }
    }
}

/// The core crates speak to CLI users; the desktop has buttons instead of commands.
pub fn desktop_words(message: &str) -> String {
    message
        .replace(" (askara-inbox login)", "")
        .replace("ASKARA_CLIENT_SECRET", "client secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_their_code_and_lose_cli_hints() {
        let e: CmdError = askara::ApiError::AuthExpired.into();
        assert_eq!(e.code, "auth_expired");
        assert!(!e.message.contains("askara-inbox login"), "{}", e.message);
        let e: CmdError = askara::ApiError::Storage("keyring locked".into()).into();
        assert_eq!(e.code, "keyring");
        let json = serde_json::to_value(CmdError::config("x")).unwrap_or_default();
        assert_eq!(json, serde_json::json!({"code": "config", "message": "x"}));
    }
}
