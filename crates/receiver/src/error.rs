//! The receiver's errors: a stable code and one line that says what to do.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Config,
    Listen,
    Inbox,
    Askara,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Config => "config",
            ErrorCode::Listen => "listen",
            ErrorCode::Inbox => "inbox",
            ErrorCode::Askara => "askara",
            ErrorCode::Internal => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error("receiver configuration: {0}")]
    Config(String),
    #[error(
        "the webhook receiver cannot serve on {addr}: {reason}; pick another --listen address"
    )]
    Listen { addr: String, reason: String },
    #[error(transparent)]
    Inbox(#[from] inbox::InboxError),
    #[error(transparent)]
    Api(#[from] askara::ApiError),
    #[error("a receiver task failed ({0}); restart the receiver (queued deliveries are kept)")]
    Task(String),
}

impl ReceiverError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ReceiverError::Config(_) => ErrorCode::Config,
            ReceiverError::Listen { .. } => ErrorCode::Listen,
            ReceiverError::Inbox(_) => ErrorCode::Inbox,
            ReceiverError::Api(_) => ErrorCode::Askara,
            ReceiverError::Task(_) => ErrorCode::Internal,
        }
    }
}
