//! What the status strip shows: last sync, next poll, sign-in and token expiry, the import
//! target, and the current problem in words with its fix. Pure functions of the poller's
//! `SyncStatus`, so they are tested without a window.

use chrono::{DateTime, Utc};
use inbox::sync::SyncStatus;
use serde::Serialize;

/// One problem, said the way a person at the front desk can act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub code: String,
    /// What is wrong, in words.
    pub summary: String,
    /// What to do about it.
    pub fix: String,
    /// `rate_limited`: Askara accepts requests again at this instant (the UI shows it in the
    /// user's timezone). `unreachable` and server errors: the next attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub until: Option<DateTime<Utc>>,
    /// The UI offers "Sign in again" for these.
    pub needs_sign_in: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub demo: bool,
    pub signed_in: bool,
    /// Who the tokens act for, when Askara said (`GET /me`).
    pub account: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub token_storage: TokenStorage,
    pub syncing: bool,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_new: usize,
    /// The import target as displayed (never a password); empty when none is set.
    pub target: String,
    pub problem: Option<Problem>,
}

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum TokenStorage {
    #[default]
    Keyring,
    /// Demo mode without a keyring: said out loud in the status strip.
    Memory,
}

/// The problem in `status`, if the last poll failed.
pub fn problem(status: &SyncStatus) -> Option<Problem> {
    let code = status.error_code.as_deref()?;
    let message = status.error_message.clone().unwrap_or_default();
    let (summary, fix, until, needs_sign_in): (String, String, Option<DateTime<Utc>>, bool) =
        match code {
            "auth_expired" => (
                "Askara sign-in expired or was revoked".into(),
                "Sign in again".into(),
                None,
                true,
            ),
            "missing_scope" => (
                "Askara refused access: this client lacks the read:notes permission".into(),
                "Ask Askara to grant read:notes to this client, then sign in again".into(),
                None,
                true,
            ),
            "invalid_client" => (
                "Askara does not recognise this client".into(),
                "Check the client id in Settings with your Askara administrator".into(),
                None,
                false,
            ),
            "rate_limited" => (
                "Askara's rate limit is reached".into(),
                "Nothing to do: syncing resumes by itself".into(),
                status.next_poll_at,
                false,
            ),
            "unreachable" => (
                "Askara is unreachable".into(),
                "Check the network connection; retrying automatically".into(),
                status.next_poll_at,
                false,
            ),
            "server_error" => (
                "Askara had a server error".into(),
                "Nothing was lost; retrying automatically".into(),
                status.next_poll_at,
                false,
            ),
            "storage" | "keyring" => (
                "The OS keyring is locked or missing".into(),
                format!(
                    "{KEYRING_FIX_SHORT} ({})",
                    crate::error::desktop_words(&message)
                ),
                None,
                true,
            ),
            "incomplete" => (
                "Askara's notes could not all be read: some may be missing from the inbox".into(),
                crate::error::desktop_words(&message),
                status.next_poll_at,
                false,
            ),
            "another_poller" => (
                "Another Askara Inbox on this computer is syncing this inbox".into(),
                "Nothing to do: this app takes over syncing when the other stops (`askara-inbox sync`, or another copy of the app)".into(),
                None,
                false,
            ),
            "inbox" => (
                "The local inbox database failed".into(),
                crate::error::desktop_words(&message),
                status.next_poll_at,
                false,
            ),
            _ => (
                "Syncing failed".into(),
                crate::error::desktop_words(&message),
                status.next_poll_at,
                false,
            ),
        };
    Some(Problem {
        code: code.to_string(),
        summary,
        fix,
        until,
        needs_sign_in,
    })
}

const KEYRING_FIX_SHORT: &str =
    "Unlock your desktop keyring (GNOME Keyring or KWallet), then sign in again";

/// The window title: the number of new notes first, so it shows in the task bar.
pub fn window_title(new: u64, demo: bool) -> String {
    let base = if demo {
        "Askara Inbox (demo)"
    } else {
        "Askara Inbox"
    };
    match new {
        0 => base.to_string(),
        n => format!("({n} new) {base}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn failed(code: &str) -> SyncStatus {
        SyncStatus {
            error_code: Some(code.into()),
            error_message: Some("detail".into()),
            next_poll_at: Some(Utc::now()),
            ..Default::default()
        }
    }

    #[test]
    fn no_problem_after_a_good_poll() {
        assert_eq!(problem(&SyncStatus::default()), None);
    }

    #[test]
    fn every_sync_error_code_gets_words_and_a_fix() {
        let p = problem(&failed("auth_expired")).unwrap();
        assert!(p.needs_sign_in && p.fix.contains("Sign in again"));
        let p = problem(&failed("missing_scope")).unwrap();
        assert!(p.fix.contains("read:notes"));
        let p = problem(&failed("rate_limited")).unwrap();
        assert!(p.until.is_some() && !p.needs_sign_in);
        let p = problem(&failed("unreachable")).unwrap();
        assert!(p.until.is_some() && p.fix.contains("retrying"));
        let p = problem(&failed("storage")).unwrap();
        assert!(p.fix.contains("keyring"));
        let p = problem(&failed(app::sync::ANOTHER_POLLER)).unwrap();
        assert!(p.summary.contains("Another Askara Inbox") && !p.needs_sign_in);
        assert!(p.fix.contains("takes over"));
        assert!(problem(&failed("something_new")).is_some());
    }

    #[test]
    fn the_title_counts_new_notes() {
        assert_eq!(window_title(0, false), "Askara Inbox");
        assert_eq!(window_title(12, true), "(12 new) Askara Inbox (demo)");
    }
}
