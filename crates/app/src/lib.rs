//! Askara Inbox's application layer: each workflow once, for every front-end. The CLI
//! (`crates/cli`) and the desktop (`src-tauri`) parse, print and draw; what they do is here.
//!
//! - [`settings`]: the one settings model both read and write (`settings.json`).
//! - [`credentials`]: where a sign-in is kept (keyring, or a 0600 file on a headless server),
//!   with the one refresh lock.
//! - [`importing`]: connecting the practice database (password from the keyring, the URL or
//!   `PGPASSWORD`) and importing notes with a typed audit record.
//! - [`identity`]: who acts (the OS user) and from which workstation, for the audit log.
//! - [`shutdown`]: the signals that stop a long-running command (Ctrl-C and SIGTERM).
//! - [`sync`]: the polling loop, started, watched and stopped the same way everywhere.
//! - [`paths`]: the data dir.

pub mod credentials;
pub mod error;
pub mod identity;
pub mod importing;
pub mod paths;
pub mod settings;
pub mod shutdown;
pub mod sync;

pub use error::{AppError, ErrorCode};
pub use identity::Identity;
pub use settings::Settings;
