//! The application layer's errors: one line that says what to do, and a stable code the
//! front-ends map to an exit status (CLI) or a `{code, message}` (desktop).

use askara::ApiError;
use import::ImportError;
use inbox::InboxError;

/// The codes this layer adds to those of the crates below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A setting or argument is wrong; the message names it.
    Config,
    /// The OS keyring (or the token file standing in for it) cannot be used.
    Keyring,
    /// A local file or directory cannot be read or written.
    Io,
    /// The note is in a state that does not allow this (a dismissed note to import).
    InvalidTransition,
    /// No practice database is configured.
    NoTarget,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Config => "config",
            ErrorCode::Keyring => "keyring",
            ErrorCode::Io => "io",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::NoTarget => "no_target",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Inbox(#[from] InboxError),
    #[error("{0}")]
    Import(#[from] ImportError),
    #[error("{0}")]
    Config(String),
    /// The message says how to make the keyring (or token file) usable.
    #[error("{0}")]
    Keyring(String),
    #[error("{0}")]
    Io(String),
    #[error(
        "note {uuid} is dismissed: mark it reviewed (or undo the dismissal) before importing it"
    )]
    Dismissed { uuid: String },
    #[error("no practice database is set: give the import target (sqlite:PATH or postgres://…) in the settings or with --to")]
    NoTarget,
}

impl AppError {
    /// The stable code: the wrapped crate's, or this layer's [`ErrorCode`].
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Api(e) => e.code().as_str(),
            AppError::Inbox(e) => e.code().as_str(),
            AppError::Import(e) => e.code(),
            AppError::Config(_) => ErrorCode::Config.as_str(),
            AppError::Keyring(_) => ErrorCode::Keyring.as_str(),
            AppError::Io(_) => ErrorCode::Io.as_str(),
            AppError::Dismissed { .. } => ErrorCode::InvalidTransition.as_str(),
            AppError::NoTarget => ErrorCode::NoTarget.as_str(),
        }
    }
}
