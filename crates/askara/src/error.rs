//! Errors of the Askara client. Each carries an [`ErrorCode`] the UI and CLI branch on; the
//! message is one line that says what to do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    AuthExpired,
    MissingScope,
    InvalidClient,
    RateLimited,
    Unreachable,
    ServerError,
    BadResponse,
    NotFound,
    AccessDenied,
    Config,
    Storage,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthExpired => "auth_expired",
            ErrorCode::MissingScope => "missing_scope",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::BadResponse => "bad_response",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::Config => "config",
            ErrorCode::Storage => "storage",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Askara sign-in has expired or was revoked: sign in again (askara-inbox login)")]
    AuthExpired,
    #[error("Askara refused access: the client lacks the `{scope}` scope; ask Askara to grant `{scope}` to this client, then sign in again")]
    MissingScope { scope: String },
    #[error("Askara rejected the client credentials (client id or ASKARA_CLIENT_SECRET): check them with your Askara administrator")]
    InvalidClient,
    #[error("Askara rate limit reached: retrying after {}", retry_at.format("%H:%M:%S UTC"))]
    RateLimited { retry_at: DateTime<Utc> },
    #[error(
        "Askara is unreachable at {host}: check the network connection and the base URL ({reason})"
    )]
    Unreachable { host: String, reason: String },
    #[error("Askara had a server error (HTTP {status}); it will be retried, nothing was lost")]
    ServerError { status: u16 },
    #[error(
        "Askara sent a response this version does not understand ({detail}); report it to support"
    )]
    BadResponse { detail: String },
    #[error("Askara has no {what}")]
    NotFound { what: String },
    #[error("Sign-in was {0}: start the sign-in again")]
    AccessDenied(&'static str),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("token storage failed: {0}")]
    Storage(String),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::AuthExpired => ErrorCode::AuthExpired,
            ApiError::MissingScope { .. } => ErrorCode::MissingScope,
            ApiError::InvalidClient => ErrorCode::InvalidClient,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Unreachable { .. } => ErrorCode::Unreachable,
            ApiError::ServerError { .. } => ErrorCode::ServerError,
            ApiError::BadResponse { .. } => ErrorCode::BadResponse,
            ApiError::NotFound { .. } => ErrorCode::NotFound,
            ApiError::AccessDenied(_) => ErrorCode::AccessDenied,
            ApiError::Config(_) => ErrorCode::Config,
            ApiError::Storage(_) => ErrorCode::Storage,
        }
    }

    /// Worth trying again later without anyone doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::RateLimited | ErrorCode::Unreachable | ErrorCode::ServerError
        )
    }

    pub fn bad_response(detail: impl Into<String>) -> Self {
        ApiError::BadResponse {
            detail: detail.into(),
        }
    }
}
