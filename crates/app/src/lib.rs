//! Askara Inbox's application layer: each workflow once, for every front-end. The CLI
//! (`crates/cli`) and the desktop (`src-tauri`) parse, print and draw; what they do is here.
//!
//! - [`settings`]: the one settings model both read and write (`settings.json`).
//! - [`credentials`]: where a sign-in is kept (keyring, or a 0600 file on a headless server),
//!   with the one refresh lock.
//! - [`importing`]: connecting the practice database (password from the keyring, the URL or
//!   `PGPASSWORD`) and importing notes with a typed audit record.
//! - [`identity`]: who acts (the signed-in Askara user, else the OS account by user id) and
//!   from which workstation, for the audit log.
//! - [`audit`]: a note's audit history, and checking the hash-chained trail; [`history`]: that
//!   history in words.
//! - [`note_text`]: a note's Markdown as a small typed tree (never HTML); [`provenance`]: who
//!   recorded a note and how it reached the inbox, as far as anyone said.
//! - [`shutdown`]: the signals that stop a long-running command (Ctrl-C and SIGTERM).
//! - [`sync`]: the polling loop, started, watched and stopped the same way everywhere.
//! - [`inbox_key`]: the inbox's encryption key (keyring, or a 0600 file) and opening the inbox.
//! - [`inbox_store`]: which inbox to work in (the local SQLite file, or a clinic's shared
//!   inbox on PostgreSQL), chosen by one URL, and opening it.
//! - [`retention`]: how long done notes stay, and the daily job that removes them.
//! - [`erase`]: removing this workstation's inbox, key and sign-in.
//! - [`paths`]: the data dir (0700, its files 0600).
//! - [`patients`]: notes that need a patient, searching the practice's patients, assigning
//!   one (audited, undoable until the import).

pub mod audit;
pub mod autostart;
pub mod credentials;
pub mod erase;
pub mod error;
pub mod history;
pub mod identity;
pub mod idle_lock;
pub mod importing;
pub mod inbox_key;
pub mod inbox_store;
pub mod instance;
pub mod note_text;
pub mod paths;
pub mod patients;
pub mod provenance;
pub mod retention;
pub mod settings;
pub mod shutdown;
pub mod sync;

pub use error::{AppError, ErrorCode};
pub use identity::Identity;
pub use settings::Settings;
