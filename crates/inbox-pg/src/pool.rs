//! [`PgInbox`]: a handful of connections to the clinic's server. A connection the server closed
//! (restart, failover, network) is dropped and the next call opens a new one, so a desk catches
//! up by itself when the server is back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use import::{ConnectOptions, PgSpec};
use inbox::InboxError;
use tokio_postgres::Client;

use crate::error::{from_connect, pg_error};
use crate::schema;

/// Connections kept per [`PgInbox`] (and so the most statements that run at once).
pub const POOL_SIZE: usize = 4;

/// The shared inbox on the clinic's PostgreSQL. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct PgInbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) spec: PgSpec,
    /// The server as shown to people and logs: never the password.
    pub(crate) display: String,
    /// `current_user` of the connections: the audit actor of everything done through them.
    pub(crate) role: String,
    idle: Mutex<Vec<Client>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for PgInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgInbox")
            .field("server", &self.inner.display)
            .field("role", &self.inner.role)
            .finish()
    }
}

pub(crate) fn connect_options() -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    }
}

/// One new connection with the inbox's session settings.
pub(crate) async fn open_client(spec: &PgSpec, display: &str) -> Result<Client, InboxError> {
    let client = import::pg_client(spec, &connect_options())
        .await
        .map_err(from_connect)?;
    client
        .batch_execute(&format!(
            "SET search_path TO {}; SET statement_timeout = '30s'; SET lock_timeout = '10s'",
            schema::SCHEMA
        ))
        .await
        .map_err(|e| pg_error(display, "opening a session", &e))?;
    Ok(client)
}

/// The role `spec` logs in as, proving its password, before or after `init` (no schema read).
pub async fn login_role(spec: &PgSpec, display: &str) -> Result<String, InboxError> {
    let client = open_client(spec, display).await?;
    let row = client
        .query_one("SELECT current_user::text", &[])
        .await
        .map_err(|e| pg_error(display, "reading the connected role", &e))?;
    Ok(row.get(0))
}

impl PgInbox {
    /// Connects to the shared inbox and checks its schema: missing or older than this build is
    /// an error that says to run `inbox init`; newer is [`InboxError::ClinicSchemaTooNew`].
    pub async fn connect(spec: PgSpec, display: String) -> Result<PgInbox, InboxError> {
        let client = open_client(&spec, &display).await?;
        schema::check_version(&client, &display).await?;
        let role: String = client
            .query_one("SELECT current_user::text", &[])
            .await
            .map_err(|e| pg_error(&display, "reading the connected role", &e))?
            .get(0);
        Ok(PgInbox {
            inner: Arc::new(Inner {
                spec,
                display,
                role,
                idle: Mutex::new(vec![client]),
                permits: Arc::new(tokio::sync::Semaphore::new(POOL_SIZE)),
            }),
        })
    }

    /// The server as shown to people (no password).
    pub fn display(&self) -> &str {
        &self.inner.display
    }

    /// The role this inbox acts as (`current_user`): the audit actor of this desk.
    pub fn role(&self) -> &str {
        &self.inner.role
    }

    pub(crate) fn spec(&self) -> &PgSpec {
        &self.inner.spec
    }

    /// A pooled connection; at most [`POOL_SIZE`] are out at once, the rest wait. One the
    /// server closed is replaced by a new one here and never returned to the pool.
    pub(crate) async fn client(&self) -> Result<Pooled<'_>, InboxError> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| InboxError::Task(e.to_string()))?;
        let idle = self
            .inner
            .idle
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .filter(|c| !c.is_closed());
        let client = match idle {
            Some(c) => c,
            None => open_client(&self.inner.spec, &self.inner.display).await?,
        };
        Ok(Pooled {
            inner: &self.inner,
            client: Some(client),
            _permit: permit,
        })
    }

    /// `pg_error` for this inbox.
    pub(crate) fn err(
        &self,
        doing: &'static str,
    ) -> impl Fn(tokio_postgres::Error) -> InboxError + '_ {
        move |e| pg_error(&self.inner.display, doing, &e)
    }
}

/// A connection out of the pool; back in when dropped (unless the server closed it).
pub(crate) struct Pooled<'a> {
    inner: &'a Inner,
    client: Option<Client>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take().filter(|c| !c.is_closed()) {
            if let Ok(mut v) = self.inner.idle.lock() {
                v.push(c);
            }
        }
    }
}
