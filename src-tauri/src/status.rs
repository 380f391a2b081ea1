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
    /// Clinic mode: the shared inbox this desk works in. The sync figures above are then the
    /// clinic server's poller's, as it published them; this desk never polls Askara.
    pub clinic: Option<ClinicView>,
}

/// The clinic's shared inbox, as the status strip shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ClinicView {
    /// The server, as displayed (never a password).
    pub server: String,
    /// The PostgreSQL role this desk acts as (the audit trail's name for it), once connected.
    pub role: Option<String>,
    /// Listening for the server's changes: what the window shows is current.
    pub connected: bool,
    /// The clinic server that polls Askara (`role@host`), as it last said.
    pub poller: Option<String>,
    /// When that poller last wrote its status.
    pub poller_written_at: Option<DateTime<Utc>>,
    /// The poller stopped writing: the clinic server's sync is not running.
    pub stale: bool,
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

/// Clinic mode: this desk is not connected to the clinic's shared inbox (retrying at
/// `retry_at`): the server does not answer (`code` `busy`, `unreachable`, `timeout`), or it
/// answers and refuses (a password, the role's rights, no inbox in that database).
pub fn clinic_unreachable(code: &str, error: &str, retry_at: DateTime<Utc>) -> Problem {
    let error = error.trim_end_matches('.');
    let (code, summary, fix) = match code {
        "busy" | "unreachable" | "timeout" => (
            "clinic_unreachable",
            format!("The clinic server is unreachable: {error}"),
            "Nothing was lost; if it lasts, check this computer's network or ask IT whether the clinic server runs",
        ),
        _ => (
            "clinic_refused",
            format!("The clinic inbox cannot be opened: {error}"),
            "Check the clinic server's URL and password in Settings (Where the inbox is), or tell IT",
        ),
    };
    Problem {
        code: code.into(),
        summary,
        fix: fix.into(),
        until: Some(retry_at),
        needs_sign_in: false,
    }
}

/// Clinic mode: the poller `poller` stopped writing its status.
pub fn clinic_sync_stopped(poller: &str) -> Problem {
    Problem {
        code: "clinic_sync_stopped".into(),
        summary: format!(
            "The clinic server's sync is not running ({poller} stopped reporting)"
        ),
        fix: "New notes from Askara arrive only once it runs again: ask IT to start `askara-inbox serve --poll` or `askara-inbox sync` on the clinic server".into(),
        until: None,
        needs_sign_in: false,
    }
}

/// Clinic mode: connected, but no clinic server ever synced this inbox.
pub fn clinic_no_poller() -> Problem {
    Problem {
        code: "clinic_no_poller".into(),
        summary: "No clinic server has synced this inbox with Askara yet".into(),
        fix:
            "Ask IT to run `askara-inbox serve --poll` or `askara-inbox sync` on the clinic server"
                .into(),
        until: None,
        needs_sign_in: false,
    }
}

/// Clinic mode: the poller's own problem, which the clinic server (not this desk) must fix.
pub fn clinic_poller_problem(status: &SyncStatus) -> Option<Problem> {
    let mut p = problem(status)?;
    p.summary = format!("The clinic server's sync: {}", p.summary);
    if p.needs_sign_in {
        p.fix = "Tell IT: the clinic server must sign in to Askara again (`askara-inbox login` on it), or be given the client secret".into();
        p.needs_sign_in = false;
    } else {
        p.fix = format!("{} (on the clinic server)", p.fix.trim_end_matches('.'));
    }
    Some(p)
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
