//! Which inbox this process works in, chosen by one URL (the CLI's `--inbox` /
//! `ASKARA_INBOX_URL`):
//!
//! - none, empty or `sqlite:`: the local inbox in the data dir, opened as always
//!   ([`crate::inbox_key::open_inbox`]: encrypted, its key in the keyring or a 0600 file);
//! - `sqlite:DIR/inbox.sqlite3`: a local inbox in another folder, opened the same way with
//!   that folder in the data dir's place (its key is kept per folder: a keyring account of its
//!   own, or `inbox.key` beside it), so its file name is always `inbox.sqlite3`;
//! - `postgres://user@host:5432/database?sslmode=…`: a clinic's shared inbox
//!   ([`inbox_pg::PgInbox`], "clinic mode"), with the import targets' rules (read by
//!   [`import::TargetSpec`]: `verify-full` TLS by default, no password in the URL). Its
//!   password comes from the OS keyring, kept there for the server as displayed, as for an
//!   import target ([`crate::importing::stored_password`]; [`crate::importing::remember_password`]
//!   stores it), else `PGPASSWORD`.
//!
//! In clinic mode whoever acts is the connected role ([`OpenedStore::identity`]): the server's
//! audit trigger refuses any other actor.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use import::{PgEnv, PgSpec, TargetSpec};
use inbox::{Inbox, ReceiverStore};
pub use inbox_pg::{InitReport, PgInbox, PollLease as ClinicLease, POLLER_ROLE, STAFF_ROLE};

use crate::error::AppError;
use crate::identity::Identity;
use crate::inbox_key::KeyPolicy;
use crate::paths::INBOX_FILE;

/// What an unusable inbox URL's error lists.
const ACCEPTED: &str = "use sqlite: (the local inbox in the data dir), sqlite:DIR/inbox.sqlite3 (a local inbox in DIR) or postgres://user@host:5432/database (a clinic's shared inbox; the password from the OS keyring or PGPASSWORD)";

/// Where the inbox is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxLocation {
    /// A local, encrypted SQLite inbox: the data dir's (`None`), or the `inbox.sqlite3` at
    /// `path`.
    Local { path: Option<PathBuf> },
    /// A clinic's shared inbox on PostgreSQL; `display` is the server without a password.
    Clinic { spec: PgSpec, display: String },
}

impl InboxLocation {
    /// Reads an inbox URL (see the module); `None` or blank is the data dir's local inbox.
    /// PostgreSQL URLs honour `PGSSLMODE`, `PGSSLROOTCERT` and `PGUSER` as import targets do.
    pub fn parse(url: Option<&str>) -> Result<InboxLocation, AppError> {
        Self::parse_with_env(url, &PgEnv::from_process())
    }

    /// [`InboxLocation::parse`] with the libpq environment given.
    pub fn parse_with_env(url: Option<&str>, env: &PgEnv) -> Result<InboxLocation, AppError> {
        let url = url.map(str::trim).unwrap_or_default();
        if url.is_empty() {
            return Ok(InboxLocation::Local { path: None });
        }
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(AppError::Config(format!(
                "the inbox URL has no scheme: {ACCEPTED}"
            )));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => local(rest),
            "postgres" | "postgresql" => match TargetSpec::parse_with_env(url, env) {
                Ok(TargetSpec::Postgres(spec)) => {
                    let display = TargetSpec::Postgres(spec.clone()).display();
                    Ok(InboxLocation::Clinic { spec, display })
                }
                Ok(TargetSpec::Sqlite { .. }) => Err(AppError::Config(format!(
                    "the inbox URL is not a PostgreSQL URL: {ACCEPTED}"
                ))),
                Err(e) => Err(AppError::Config(format!("the inbox URL: {e}"))),
            },
            other => {
                // Never echo the whole URL: it may hold a password.
                let shown: String = other.chars().take(20).collect();
                Err(AppError::Config(format!(
                    "unsupported inbox URL scheme `{shown}`: {ACCEPTED}"
                )))
            }
        }
    }

    /// Whether this is a clinic's shared inbox (PostgreSQL).
    pub fn is_clinic(&self) -> bool {
        matches!(self, InboxLocation::Clinic { .. })
    }

    /// The folder a local inbox keeps its key, locks and erase marker in (the data dir, or the
    /// folder of `sqlite:DIR/inbox.sqlite3`); `None` for a clinic inbox.
    pub fn local_dir(&self, data_dir: &Path) -> Option<PathBuf> {
        match self {
            InboxLocation::Local { path: None } => Some(data_dir.to_path_buf()),
            InboxLocation::Local { path: Some(p) } => Some(
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            ),
            InboxLocation::Clinic { .. } => None,
        }
    }

    /// For people: `the local inbox PATH` or `the clinic inbox at SERVER` (no password).
    pub fn describe(&self, data_dir: &Path) -> String {
        match (self, self.local_dir(data_dir)) {
            (InboxLocation::Clinic { display, .. }, _) => format!("the clinic inbox at {display}"),
            (_, Some(dir)) => format!(
                "the local inbox {}",
                crate::paths::inbox_path(&dir).display()
            ),
            (_, None) => "the local inbox".into(),
        }
    }

    /// Opens the inbox: a local one with its key (made on first use, see
    /// [`crate::inbox_key`]), a clinic one by connecting (an error saying to run `inbox init`
    /// when its schema is missing).
    pub async fn open(&self, data_dir: &Path, policy: KeyPolicy) -> Result<OpenedStore, AppError> {
        match self {
            InboxLocation::Local { path } => {
                let mut dir = self
                    .local_dir(data_dir)
                    .unwrap_or_else(|| data_dir.to_path_buf());
                if path.is_some() {
                    // Another folder: created (0700) like a data dir when new.
                    dir = crate::paths::data_dir(Some(dir))?;
                }
                let opened =
                    tokio::task::spawn_blocking(move || crate::inbox_key::open_inbox(&dir, policy))
                        .await
                        .map_err(|e| AppError::Inbox(inbox::InboxError::Task(e.to_string())))??;
                let store: Arc<dyn ReceiverStore> = Arc::new(opened.inbox.clone());
                Ok(OpenedStore {
                    store,
                    local: Some(opened.inbox),
                    clinic: None,
                    warning: opened.warning,
                })
            }
            InboxLocation::Clinic { spec, display } => {
                let pg =
                    PgInbox::connect(with_stored_password(spec.clone(), display), display.clone())
                        .await?;
                let store: Arc<dyn ReceiverStore> = Arc::new(pg.clone());
                Ok(OpenedStore {
                    store,
                    local: None,
                    clinic: Some(pg),
                    warning: None,
                })
            }
        }
    }
}

/// `sqlite:` / `sqlite://` and what follows.
fn local(rest: &str) -> Result<InboxLocation, AppError> {
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Ok(InboxLocation::Local { path: None });
    }
    let path = PathBuf::from(path);
    if path.file_name().and_then(|n| n.to_str()) != Some(INBOX_FILE) {
        return Err(AppError::Config(format!(
            "a local inbox file is always named {INBOX_FILE} (its key is kept per folder): write sqlite:DIR/{INBOX_FILE}, or sqlite: for the one in the data dir"
        )));
    }
    Ok(InboxLocation::Local { path: Some(path) })
}

/// The password kept in the OS keyring for this server, as for an import target; without one,
/// `PGPASSWORD` is read when connecting. (The fallback to a password kept before verify-full
/// was the default applies when no sslmode was written, in the URL or `PGSSLMODE`.)
fn with_stored_password(mut spec: PgSpec, display: &str) -> PgSpec {
    if spec.password.is_none() {
        if let Some(p) = crate::importing::stored_password(display, spec.sslmode_explicit) {
            spec.password = Some(import::Password::new(p));
        }
    }
    spec
}

/// An opened inbox: the store every workflow uses, and the concrete one behind it.
pub struct OpenedStore {
    /// The inbox and its webhook queue, whichever kind it is.
    pub store: Arc<dyn ReceiverStore>,
    /// The local SQLite inbox (`None` in clinic mode).
    pub local: Option<Inbox>,
    /// The clinic's shared inbox (`None` for a local one).
    pub clinic: Option<PgInbox>,
    /// To show once: a local inbox's key had to go to a file.
    pub warning: Option<String>,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("local", &self.local.is_some())
            .field("clinic", &self.clinic)
            .field("warning", &self.warning)
            .finish()
    }
}

impl OpenedStore {
    pub fn is_clinic(&self) -> bool {
        self.clinic.is_some()
    }

    /// The connected role in clinic mode: the audit actor of everything this desk does.
    pub fn clinic_role(&self) -> Option<&str> {
        self.clinic.as_ref().map(PgInbox::role)
    }

    /// Who acts, for the audit log and imports: in clinic mode the connected role (the server
    /// refuses any other actor); else [`Identity::resolve`] (the signed-in Askara user, else
    /// the OS account).
    pub async fn identity(&self, api: Option<&askara::ApiClient>) -> Identity {
        match self.clinic_role() {
            Some(role) => Identity::clinic_role(role),
            None => Identity::resolve(api).await,
        }
    }
}

/// Opens the inbox `url` names (see [`InboxLocation::parse`]) for `data_dir`.
pub async fn open_store(
    data_dir: &Path,
    url: Option<&str>,
    policy: KeyPolicy,
) -> Result<OpenedStore, AppError> {
    InboxLocation::parse(url)?.open(data_dir, policy).await
}

/// `inbox init`: creates or upgrades a clinic's shared inbox on PostgreSQL (schema, group
/// roles, grants). A local inbox needs none, and is refused in one line.
pub async fn init_clinic(url: &str) -> Result<InitReport, AppError> {
    match InboxLocation::parse(Some(url))? {
        InboxLocation::Local { .. } => Err(AppError::Config(
            "a local inbox (sqlite:) needs no init: it is made the first time it is opened; `inbox init` sets up a clinic's shared inbox, given as postgres://user@host:5432/database".into(),
        )),
        InboxLocation::Clinic { spec, display } => {
            let spec = with_stored_password(spec, &display);
            Ok(inbox_pg::init(spec, display).await?)
        }
    }
}

/// Keeps a clinic inbox's password in the OS keyring for `url` (where every command and the
/// desktop look first), once the server has accepted it; answers the role it logs in as.
pub async fn remember_clinic_password(
    url: &str,
    password: askara::Sensitive<String>,
) -> Result<String, AppError> {
    match InboxLocation::parse(Some(url))? {
        InboxLocation::Local { .. } => Err(AppError::Config(
            "a local inbox has no password (its key is kept for you); `inbox password` is for a clinic's shared inbox, given as --inbox postgres://user@host:5432/database".into(),
        )),
        InboxLocation::Clinic { mut spec, display } => {
            if password.expose().is_empty() {
                return Err(AppError::Config(
                    "no password given: write it on standard input, one line".into(),
                ));
            }
            spec.password = Some(import::Password::new(password.expose().clone()));
            let role = inbox_pg::login_role(&spec, &display).await?;
            crate::importing::remember_password(url, &password)?;
            Ok(role)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(url: Option<&str>) -> Result<InboxLocation, AppError> {
        InboxLocation::parse_with_env(url, &PgEnv::default())
    }

    #[test]
    fn no_url_or_a_bare_sqlite_is_the_data_dirs_inbox() {
        for url in [
            None,
            Some(""),
            Some("  "),
            Some("sqlite:"),
            Some("sqlite://"),
        ] {
            assert_eq!(
                parse(url).unwrap(),
                InboxLocation::Local { path: None },
                "{url:?}"
            );
        }
        let dir = Path::new("/data/askara-inbox");
        let here = parse(None).unwrap();
        assert_eq!(here.local_dir(dir).as_deref(), Some(dir));
        assert!(!here.is_clinic());
        assert_eq!(
            here.describe(dir),
            "the local inbox /data/askara-inbox/inbox.sqlite3"
        );
    }

    #[test]
    fn a_sqlite_path_names_an_inbox_file_in_its_folder() {
        for url in [
            "sqlite:/srv/clinic/inbox.sqlite3",
            "sqlite:///srv/clinic/inbox.sqlite3",
            " SQLite:/srv/clinic/inbox.sqlite3 ",
        ] {
            let loc = parse(Some(url)).unwrap();
            assert_eq!(
                loc,
                InboxLocation::Local {
                    path: Some(PathBuf::from("/srv/clinic/inbox.sqlite3"))
                },
                "{url}"
            );
            assert_eq!(
                loc.local_dir(Path::new("/elsewhere")).as_deref(),
                Some(Path::new("/srv/clinic"))
            );
        }
        let relative = parse(Some("sqlite:inbox.sqlite3")).unwrap();
        assert_eq!(
            relative.local_dir(Path::new("/elsewhere")).as_deref(),
            Some(Path::new("."))
        );
        let other = parse(Some("sqlite:/srv/clinic/notes.db")).unwrap_err();
        assert_eq!(other.code(), "config");
        assert!(
            other.to_string().contains("sqlite:DIR/inbox.sqlite3"),
            "{other}"
        );
    }

    #[test]
    fn a_postgres_url_is_a_clinic_inbox_verified_by_default() {
        for url in [
            "postgres://staff@db.clinic.example:5432/askara",
            "postgresql://staff@db.clinic.example/askara",
        ] {
            let InboxLocation::Clinic { spec, display } = parse(Some(url)).unwrap() else {
                panic!("{url} is a clinic inbox");
            };
            assert_eq!(spec.host, "db.clinic.example");
            assert_eq!(spec.port, 5432);
            assert_eq!(spec.user, "staff");
            assert_eq!(spec.dbname, "askara");
            assert_eq!(spec.sslmode, import::SslMode::VerifyFull);
            assert!(spec.password.is_none());
            assert_eq!(
                display,
                "postgres://staff@db.clinic.example:5432/askara?sslmode=verify-full"
            );
        }
        let loc = parse(Some("postgres://staff@localhost/askara?sslmode=disable")).unwrap();
        assert!(loc.is_clinic());
        assert_eq!(loc.local_dir(Path::new("/d")), None);
        assert_eq!(
            loc.describe(Path::new("/d")),
            "the clinic inbox at postgres://staff@localhost:5432/askara?sslmode=disable"
        );
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        for url in [
            "postgres://staff:s3cret-pw@db.clinic.example/askara",
            "postgres://staff:@db.clinic.example/askara",
            "postgres://staff@db.clinic.example/askara?password=s3cret-pw",
        ] {
            let e = parse(Some(url)).unwrap_err();
            assert_eq!(e.code(), "config", "{url}");
            let msg = e.to_string();
            assert!(msg.contains("password"), "{msg}");
            assert!(!msg.contains("s3cret-pw"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn other_schemes_say_what_is_accepted() {
        for url in [
            "mysql://staff:s3cret-pw@db/askara",
            "https://inbox.clinic.example",
            "/var/lib/askara-inbox/inbox.sqlite3",
        ] {
            let e = parse(Some(url)).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.code(), "config", "{url}");
            assert!(
                msg.contains("sqlite:") && msg.contains("postgres://"),
                "{msg}"
            );
            assert!(!msg.contains("s3cret-pw"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[tokio::test]
    async fn init_refuses_a_local_inbox() {
        for url in ["", "sqlite:", "sqlite:/srv/clinic/inbox.sqlite3"] {
            let e = init_clinic(url).await.unwrap_err();
            assert_eq!(e.code(), "config");
            assert!(e.to_string().contains("needs no init"), "{e}");
        }
    }
}
