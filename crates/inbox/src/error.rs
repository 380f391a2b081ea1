//! The inbox's one error type. `code()` is what the UI branches on; the messages say what to do.

use std::path::PathBuf;

use serde::Serialize;

use crate::model::Status;

/// A short, stable code for each kind of failure, for the UI and the CLI's JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    Database,
    Busy,
    InvalidTransition,
    InvalidInput,
    SchemaTooNew,
    WrongKey,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::Database => "database",
            ErrorCode::Busy => "busy",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::SchemaTooNew => "schema_too_new",
            ErrorCode::WrongKey => "wrong_key",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the inbox can fail with. Messages never contain note content or patient names.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("note {uuid} is not in the inbox; refresh the list (it may have been removed or not synced yet)")]
    NotFound { uuid: String },

    #[error("cannot change note {uuid} from `{from}` to `{to}`: {reason}")]
    InvalidTransition {
        uuid: String,
        from: Status,
        to: Status,
        reason: &'static str,
    },

    #[error(
        "unknown note status `{0}`; expected one of: new, reviewed, imported, dismissed, revised"
    )]
    UnknownStatus(String),

    #[error("unknown note source `{0}`; expected `poll` or `webhook`")]
    UnknownSource(String),

    #[error("note {uuid} cannot be stored: {reason}; nothing from this batch was saved")]
    InvalidNote { uuid: String, reason: String },

    #[error("the inbox database is busy (another Askara Inbox process held it for more than 5 s); try again in a moment")]
    Busy(#[source] rusqlite::Error),

    #[error("inbox database error: {0}; if it persists, check free disk space and the inbox file's permissions")]
    Database(#[source] rusqlite::Error),

    #[error(
        "cannot create the inbox folder {path}: {source}; check that the location is writable"
    )]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the inbox file was written by a newer Askara Inbox (schema version {found}, this build knows up to {known}); update Askara Inbox")]
    SchemaTooNew { found: i64, known: i64 },

    #[error("the clinic inbox at {at} was set up by a newer Askara Inbox (schema version {found}, this build knows up to {known}); update Askara Inbox on this computer")]
    ClinicSchemaTooNew { at: String, found: i64, known: i64 },

    #[error("the inbox holds data this build cannot read ({0}); update Askara Inbox or restore the file from a backup")]
    Corrupt(String),

    #[error("the inbox {path} cannot be opened with the key this workstation holds (wrong or replaced key); restore the inbox key to the OS keyring, or move the file away to start an empty inbox (notes are fetched again from Askara, local review states are lost)")]
    WrongKey { path: PathBuf },

    #[error("cannot use the inbox file {0}; check that the data dir belongs to this user and the disk is writable")]
    FileAccess(String),

    #[error("cannot encrypt the inbox ({0}); nothing was lost: the plaintext inbox is untouched, fix the cause and start again")]
    Migration(String),

    #[error("an inbox background task failed ({0}); restart Askara Inbox")]
    Task(String),

    /// The clinic's shared inbox (PostgreSQL) refused or failed; the message says what to do.
    #[error("{0}")]
    Server(String),

    /// The clinic's shared inbox cannot be reached now; retrying later may succeed.
    #[error("{0}")]
    Unreachable(String),

    #[error("note {uuid} is already in the practice database: its patient can no longer be assigned or unassigned")]
    AssignmentClosed { uuid: String },
}

impl InboxError {
    pub fn code(&self) -> ErrorCode {
        match self {
            InboxError::NotFound { .. } => ErrorCode::NotFound,
            InboxError::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            InboxError::UnknownStatus(_)
            | InboxError::UnknownSource(_)
            | InboxError::InvalidNote { .. } => ErrorCode::InvalidInput,
            InboxError::Busy(_) => ErrorCode::Busy,
            InboxError::Database(_) | InboxError::CreateDir { .. } | InboxError::Corrupt(_) => {
                ErrorCode::Database
            }
            InboxError::SchemaTooNew { .. } | InboxError::ClinicSchemaTooNew { .. } => {
                ErrorCode::SchemaTooNew
            }
            InboxError::WrongKey { .. } => ErrorCode::WrongKey,
            InboxError::Migration(_) | InboxError::FileAccess(_) => ErrorCode::Database,
            InboxError::Task(_) => ErrorCode::Internal,
            InboxError::Server(_) => ErrorCode::Database,
            InboxError::Unreachable(_) => ErrorCode::Busy,
            InboxError::AssignmentClosed { .. } => ErrorCode::InvalidTransition,
        }
    }
}

impl From<rusqlite::Error> for InboxError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => InboxError::Busy(e),
            _ => InboxError::Database(e),
        }
    }
}
