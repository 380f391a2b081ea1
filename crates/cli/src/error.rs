//! The CLI's errors: one line that says what to do, a stable code, and an exit status.

use askara::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Inbox(#[from] inbox::InboxError),
    #[error("{0}")]
    Import(#[from] import::ImportError),
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    Usage { message: String },
    #[error("{message}")]
    Config { message: String },
    #[error("{message}")]
    Credentials { message: String },
    #[error("{message}")]
    Io { message: String },
    /// Askara's notes could not be read to the end (see `inbox::sync::Incomplete`).
    #[error("sync incomplete: {message}")]
    Incomplete { message: String },
    /// `audit verify` found a row that is not as it was written.
    #[error("{message}")]
    AuditBroken { message: String },
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage {
            message: message.into(),
        }
    }
    pub fn config(message: impl Into<String>) -> Self {
        CliError::Config {
            message: message.into(),
        }
    }
    pub fn io(message: impl Into<String>) -> Self {
        CliError::Io {
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            CliError::Api(e) => e.code().as_str(),
            CliError::Inbox(e) => e.code().as_str(),
            CliError::Import(e) => e.code(),
            CliError::Conflict { .. } => "conflict",
            CliError::Usage { .. } => "usage",
            CliError::Config { .. } => "config",
            CliError::Credentials { .. } => "credentials",
            CliError::Io { .. } => "io",
            CliError::Incomplete { .. } => "incomplete",
            CliError::AuditBroken { .. } => "audit_broken",
        }
    }

    /// Exit statuses scripts can branch on: 2 usage, 3 sign-in/credentials, 4 Askara unreachable
    /// or failing, 5 local storage, 6 import conflict, 7 the audit trail was tampered with,
    /// 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self.code() {
            "usage" | "not_found" | "config" => 2,
            "auth_expired" | "missing_scope" | "invalid_client" | "access_denied"
            | "credentials" => 3,
            "rate_limited" | "unreachable" | "server_error" | "bad_response" | "incomplete" => 4,
            "io" | "storage" | "database" | "busy" => 5,
            "conflict" => 6,
            "audit_broken" => 7,
            "unsupported_target" | "bad_mapping" | "schema_version" => 2,
            _ => 1,
        }
    }
}

impl From<inbox::sync::SyncError> for CliError {
    fn from(e: inbox::sync::SyncError) -> Self {
        match e {
            inbox::sync::SyncError::Api(a) => CliError::Api(a),
            inbox::sync::SyncError::Inbox(i) => CliError::Inbox(i),
            inbox::sync::SyncError::Incomplete(i) => CliError::Incomplete {
                message: i.to_string(),
            },
        }
    }
}

impl From<app::AppError> for CliError {
    fn from(e: app::AppError) -> Self {
        match e {
            app::AppError::Api(a) => CliError::Api(a),
            app::AppError::Inbox(i) => CliError::Inbox(i),
            app::AppError::Import(i) => CliError::Import(i),
            app::AppError::Config(message) => CliError::Config { message },
            app::AppError::Keyring(message) => CliError::Credentials { message },
            app::AppError::Io(message) => CliError::Io { message },
            e @ (app::AppError::Dismissed { .. } | app::AppError::NoTarget) => CliError::Usage {
                message: e.to_string(),
            },
        }
    }
}
