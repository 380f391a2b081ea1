//! PostgreSQL's errors in the inbox's words: what happened and what to do, one line, never a
//! statement or a value (they may hold patient data).

use inbox::InboxError;
use tokio_postgres::error::SqlState;

/// `e`, met while `doing`, as an [`InboxError`] for the inbox at `at` (shown without password).
pub fn pg_error(at: &str, doing: &str, e: &tokio_postgres::Error) -> InboxError {
    let Some(db) = e.as_db_error() else {
        let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
        if e.is_closed() || io {
            return InboxError::Unreachable(format!(
                "the clinic inbox at {at} stopped answering while {doing}: check that the clinic server runs and this computer reaches it; nothing was lost, try again"
            ));
        }
        return InboxError::Server(format!(
            "the clinic inbox at {at} failed while {doing} ({}); if it persists, tell IT",
            first_line(&e.to_string())
        ));
    };
    let code = db.code();
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        return InboxError::Server(format!(
            "the clinic inbox at {at} refused this role while {doing}: ask IT to make it a member of askara_inbox_staff (desks) or askara_inbox_poller (the clinic server)"
        ));
    }
    if *code == SqlState::UNDEFINED_TABLE
        || *code == SqlState::INVALID_SCHEMA_NAME
        || *code == SqlState::UNDEFINED_FUNCTION
    {
        return InboxError::Server(format!(
            "the database at {at} has no Askara Inbox (schema askara_inbox): run `askara-inbox --inbox <URL> inbox init` as a role that may create"
        ));
    }
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::QUERY_CANCELED
    {
        return InboxError::Unreachable(format!(
            "the clinic inbox at {at} was busy while {doing}; try again in a moment"
        ));
    }
    if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        return InboxError::Unreachable(format!(
            "the clinic inbox at {at} is a read-only standby: list every server in the URL (host=a,b) with target_session_attrs=read-write, or wait for the primary"
        ));
    }
    if code.code().starts_with("08") || code.code().starts_with("57P") {
        return InboxError::Unreachable(format!(
            "the clinic inbox at {at} went away while {doing} (server restarting or shutting down); nothing was lost, try again"
        ));
    }
    if *code == SqlState::RAISE_EXCEPTION && db.message().contains("append-only") {
        return InboxError::Server(format!(
            "the clinic inbox at {at} refused to change the audit trail: audit rows are append-only"
        ));
    }
    InboxError::Server(format!(
        "the clinic inbox at {at} failed while {doing}: {} ({}); if it persists, tell IT",
        first_line(db.message()),
        code.code()
    ))
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// An import-crate connection error (TLS, password, unreachable) as the inbox's.
pub(crate) fn from_connect(e: import::ImportError) -> InboxError {
    let msg = first_line(&e.to_string()).replace("the database server", "the clinic inbox");
    match e.code() {
        "unreachable" | "timeout" => InboxError::Unreachable(msg),
        _ => InboxError::Server(msg),
    }
}
