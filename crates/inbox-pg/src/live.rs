//! What makes clinic mode live: every committed change to a note (or to the sync state) is
//! announced with NOTIFY, and a desk listening re-reads what it shows ([`ChangeFeed`]); one
//! poller per clinic, chosen by a session advisory lock ([`PollLease`]).

use inbox::InboxError;
use tokio_postgres::Client;

use crate::error::{from_connect, pg_error};
use crate::pool::{connect_options, PgInbox};

/// The channel the schema's triggers notify on.
pub const CHANNEL: &str = "askara_inbox_changed";

/// The poll lock's key (any 64-bit number no other program uses).
const POLL_LOCK: i64 = 0x6173_6b61_7261_0003;

/// A change announced by the server: the note's uuid, or `None` for the sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub uuid: Option<String>,
}

/// Changes as they commit, on a connection of its own.
pub struct ChangeFeed {
    _client: Client,
    rx: tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
}

impl ChangeFeed {
    /// The next change; `None` once the connection is lost (the server restarted, the network
    /// went): listen again, then re-read everything shown, as changes in between were missed.
    pub async fn next(&mut self) -> Option<Change> {
        let n = self.rx.recv().await?;
        let payload = n.payload();
        Some(Change {
            uuid: (!payload.is_empty()).then(|| payload.to_string()),
        })
    }
}

/// Polling is this process's while the lease lives (its own connection holds the lock; the
/// server frees it when that connection ends, so a poller that dies hands over at once).
pub struct PollLease {
    client: Client,
}

impl PollLease {
    /// Whether the lock is still held (its connection is open).
    pub fn is_held(&self) -> bool {
        !self.client.is_closed()
    }
}

impl PgInbox {
    /// Starts listening for changes.
    pub async fn listen(&self) -> Result<ChangeFeed, InboxError> {
        let (client, rx) = import::pg_listener(self.spec(), &connect_options())
            .await
            .map_err(from_connect)?;
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(|e| pg_error(self.display(), "listening for changes", &e))?;
        Ok(ChangeFeed {
            _client: client,
            rx,
        })
    }

    /// The clinic's poll lock if it is free now; `None` while another poller holds it.
    pub async fn try_poll_lease(&self) -> Result<Option<PollLease>, InboxError> {
        let client = import::pg_client(self.spec(), &connect_options())
            .await
            .map_err(from_connect)?;
        // A desk's role may take advisory locks too: refuse before it could hold the clinic's
        // polling hostage.
        let may: bool = client
            .query_one(
                "SELECT has_table_privilege('askara_inbox.notes', 'INSERT')",
                &[],
            )
            .await
            .map_err(|e| pg_error(self.display(), "checking the poller's rights", &e))?
            .get(0);
        if !may {
            return Err(InboxError::Server(format!(
                "role {} may not poll the clinic inbox at {}: polling is the clinic server's job (a role in askara_inbox_poller); desks only read and review",
                self.role(),
                self.display()
            )));
        }
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&POLL_LOCK])
            .await
            .map_err(|e| pg_error(self.display(), "taking the poll lock", &e))?
            .get(0);
        Ok(got.then_some(PollLease { client }))
    }
}
