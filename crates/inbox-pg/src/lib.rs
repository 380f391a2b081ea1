//! The clinic's shared inbox on PostgreSQL ("clinic mode"): the same [`inbox::InboxStore`] and
//! [`inbox::WebhookQueue`] as the SQLite inbox, in the schema `askara_inbox` of the clinic's
//! server, so every desk reads and changes one inbox.
//!
//! - [`schema`]: versioned migrations and `inbox init` (schema, group roles, grants).
//! - [`pool`]: a few connections (TLS and password rules of the import targets), reconnected
//!   when the server comes back.
//! - [`ingest`], [`notes`], [`audit`], [`patients`], [`queue`], [`retention`]: the store.
//! - [`live`]: LISTEN/NOTIFY, so a desk sees another desk's change at once, and the advisory
//!   lock that lets one poller per clinic poll.
//!
//! Who did something is the connected role (`current_user`): the audit trigger refuses any
//! other name, so no desk can write an audit row for someone else. Nothing here logs note
//! content or patient names.

mod audit;
mod codec;
mod error;
mod ingest;
pub mod live;
mod notes;
mod patients;
mod pool;
mod queue;
mod retention;
pub mod schema;
mod store;

pub use error::pg_error;
pub use live::{Change, ChangeFeed, PollLease};
pub use pool::{login_role, PgInbox};
pub use schema::{
    init, InitReport, AUTHOR_ONLY_ROLE, POLLER_ROLE, SCHEMA, SCHEMA_VERSION, STAFF_ROLE,
};
