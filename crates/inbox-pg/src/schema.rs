//! The schema `askara_inbox`: versioned migrations, applied by `inbox init` (never by a desk, whose
//! role may not create), and the group roles desks and the clinic server are members of.

use import::PgSpec;
use inbox::InboxError;
use tokio_postgres::Client;

use crate::error::pg_error;
use crate::pool::open_client;

/// The schema every table lives in.
pub const SCHEMA: &str = "askara_inbox";
/// Desks: read the inbox, change review states, record reads and imports, assign patients.
pub const STAFF_ROLE: &str = "askara_inbox_staff";
/// The clinic server: everything staff may, and ingest notes, sync state, webhook deliveries
/// and retention.
pub const POLLER_ROLE: &str = "askara_inbox_poller";
/// Optional: staff roles granted this one see only the notes they recorded (see migration 2).
pub const AUTHOR_ONLY_ROLE: &str = "askara_inbox_author_only";

/// Migrations, in order; version N = the first N applied. Never edit a released one: append.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_author_only.sql"),
    include_str!("../migrations/0003_notify_assignments.sql"),
    include_str!("../migrations/0004_policies_per_role.sql"),
    include_str!("../migrations/0005_bulk_insert.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Serializes `inbox init`s run at once (any 64-bit number no other program uses).
const MIGRATE_LOCK: i64 = 0x6173_6b61_7261_0001;

/// What `inbox init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The schema version found (0: none).
    pub from_version: i64,
    pub to_version: i64,
    /// Group roles made now (they existed already when empty).
    pub created_roles: Vec<String>,
}

/// The version of the schema at the server (0 when there is none).
async fn version(c: &impl tokio_postgres::GenericClient, at: &str) -> Result<i64, InboxError> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('askara_inbox.schema_migrations') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| pg_error(at, "reading the schema version", &e))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let v: Option<i64> = c
        .query_one(
            "SELECT max(version)::bigint FROM askara_inbox.schema_migrations",
            &[],
        )
        .await
        .map_err(|e| pg_error(at, "reading the schema version", &e))?
        .get(0);
    Ok(v.unwrap_or(0))
}

/// Refuses a server whose schema is missing, older or newer than this build.
pub(crate) async fn check_version(c: &Client, at: &str) -> Result<(), InboxError> {
    match version(c, at).await? {
        v if v == SCHEMA_VERSION => Ok(()),
        v if v > SCHEMA_VERSION => Err(InboxError::ClinicSchemaTooNew {
            at: at.to_string(),
            found: v,
            known: SCHEMA_VERSION,
        }),
        0 => Err(InboxError::Server(format!(
            "the database at {at} has no Askara Inbox yet: run `askara-inbox --inbox <URL> inbox init` once, as a role that may create schemas and roles"
        ))),
        v => Err(InboxError::Server(format!(
            "the clinic inbox at {at} has schema version {v}, this build needs {SCHEMA_VERSION}: run `askara-inbox --inbox <URL> inbox init` once with this version (as the role that created it)"
        ))),
    }
}

/// Creates or upgrades the schema and the group roles, and grants them what they need; safe to
/// run again (and by two at once: they take turns). Needs a role that may create schemas and
/// roles (the database owner with CREATEROLE, or a superuser).
pub async fn init(spec: PgSpec, display: String) -> Result<InitReport, InboxError> {
    let mut c = open_client(&spec, &display).await?;
    let at = display.as_str();
    let err = |doing: &'static str| move |e: tokio_postgres::Error| pg_error(at, doing, &e);
    let tx = c.transaction().await.map_err(err("starting init"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(err("waiting for another init"))?;
    let mut created_roles = Vec::new();
    for role in [STAFF_ROLE, POLLER_ROLE, AUTHOR_ONLY_ROLE] {
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                &[&role],
            )
            .await
            .map_err(err("looking up roles"))?
            .get(0);
        if !exists {
            tx.batch_execute(&format!("CREATE ROLE {role} NOLOGIN"))
                .await
                .map_err(err("creating the group roles (the role needs CREATEROLE)"))?;
            created_roles.push(role.to_string());
        }
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
         SET LOCAL search_path TO {SCHEMA};
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    bigint PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now(),
             applied_by text NOT NULL DEFAULT current_user
         );"
    ))
    .await
    .map_err(err(
        "creating the schema (the role needs CREATE on the database)",
    ))?;
    let from_version = version(&tx, at).await?;
    if from_version > SCHEMA_VERSION {
        return Err(InboxError::ClinicSchemaTooNew {
            at: at.to_string(),
            found: from_version,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from_version as usize) {
        let v = i as i64 + 1;
        tx.batch_execute(sql)
            .await
            .map_err(err("applying a schema migration"))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
            .await
            .map_err(err("recording a schema migration"))?;
        tracing::info!(version = v, "clinic inbox schema migrated");
    }
    tx.batch_execute(&grants())
        .await
        .map_err(err("granting the group roles"))?;
    tx.commit().await.map_err(err("committing init"))?;
    Ok(InitReport {
        from_version,
        to_version: SCHEMA_VERSION,
        created_roles,
    })
}

/// The grants of both group roles, re-applied by every init (new tables get theirs).
fn grants() -> String {
    format!(
        "GRANT USAGE ON SCHEMA {SCHEMA} TO {STAFF_ROLE}, {POLLER_ROLE};
         GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {STAFF_ROLE}, {POLLER_ROLE};
         REVOKE SELECT ON webhook_deliveries FROM {STAFF_ROLE};
         GRANT UPDATE (status, status_changed_at, status_changed_by, patient_unmatched,
                       patient_external_id, patient_date_of_birth)
             ON notes TO {STAFF_ROLE};
         GRANT INSERT ON audit_events TO {STAFF_ROLE};
         GRANT UPDATE ON audit_head TO {STAFF_ROLE};
         GRANT INSERT, UPDATE ON patient_assignments TO {STAFF_ROLE};
         GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {POLLER_ROLE};
         REVOKE UPDATE, DELETE ON audit_events FROM {POLLER_ROLE};
         GRANT EXECUTE ON FUNCTION merge_search_pending() TO {POLLER_ROLE};"
    )
}
