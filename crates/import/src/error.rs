//! The one error type of the crate. Messages are one line, say what to do, and never carry
//! note content, patient names or passwords.

/// Everything that can go wrong while connecting to a target or importing into it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// The target URL names a scheme we do not speak, or is malformed.
    #[error("{0}")]
    UnsupportedTarget(String),
    /// The target could not be reached (refused, timed out, connection lost).
    #[error("{0}")]
    Unreachable(String),
    /// TLS could not be set up as `sslmode` asks.
    #[error("{0}")]
    Tls(String),
    /// The server refused our credentials.
    #[error("{0}")]
    Auth(String),
    /// The mapping does not fit the target table (or the TOML is invalid).
    #[error("{0}")]
    BadMapping(String),
    /// The patient lookup found nobody and the mapping says not to import without a patient.
    #[error("{0}")]
    PatientNotFound(String),
    /// The patient lookup found more than one patient.
    #[error("{0}")]
    PatientAmbiguous(String),
    /// A row with this note's uuid exists that this import cannot reconcile.
    #[error("{0}")]
    Conflict(String),
    /// The target's import schema was written by a newer version of the app.
    #[error("{0}")]
    SchemaVersion(String),
    /// Any other database error (message carries the SQLSTATE and object names only).
    #[error("{0}")]
    Database(String),
    /// The import did not finish within the configured time.
    #[error("{0}")]
    Timeout(String),
}

impl ImportError {
    /// A small stable code, for JSON output and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::UnsupportedTarget(_) => "unsupported_target",
            ImportError::Unreachable(_) => "unreachable",
            ImportError::Tls(_) => "tls",
            ImportError::Auth(_) => "auth",
            ImportError::BadMapping(_) => "bad_mapping",
            ImportError::PatientNotFound(_) => "patient_not_found",
            ImportError::PatientAmbiguous(_) => "patient_ambiguous",
            ImportError::Conflict(_) => "conflict",
            ImportError::SchemaVersion(_) => "schema_version",
            ImportError::Database(_) => "database",
            ImportError::Timeout(_) => "timeout",
        }
    }

    /// Whether the connection is gone: a batch stops instead of retrying note by note.
    pub fn is_connection_loss(&self) -> bool {
        matches!(
            self,
            ImportError::Unreachable(_)
                | ImportError::Timeout(_)
                | ImportError::Auth(_)
                | ImportError::Tls(_)
        )
    }
}

impl serde::Serialize for ImportError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ImportError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

pub(crate) fn sqlite_err(context: &str, e: rusqlite::Error) -> ImportError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => ImportError::Timeout(format!(
                "{context}: the SQLite file stayed locked by another program; try again"
            )),
            ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly | ErrorCode::SystemIoFailure | ErrorCode::DiskFull => {
                ImportError::Unreachable(format!(
                    "{context}: cannot use the SQLite file ({:?}); check the path, permissions and free space",
                    f.code
                ))
            }
            // SQLite's constraint messages name the constraint or column, never the value.
            ErrorCode::ConstraintViolation => ImportError::Database(format!(
                "{context}: the target table refused the row ({}); check the mapping and the table's constraints",
                match &e {
                    rusqlite::Error::SqliteFailure(_, Some(m)) => m.as_str(),
                    _ => "constraint failed",
                }
            )),
            _ => ImportError::Database(format!(
                "{context}: SQLite error {:?} (extended code {})",
                f.code, f.extended_code
            )),
        },
        // Other rusqlite errors (type conversions, wrong column counts) are about our SQL or
        // the schema, never about the data; their text names no values.
        _ => ImportError::Database(format!("{context}: {e}")),
    }
}
