//! What every module of this test binary shares: the binary under test and a finished run.

pub const BIN: &str = env!("CARGO_BIN_EXE_askara-inbox");

/// A finished run of the binary: exit status (-1 when killed by a signal) and its output.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The inbox of `data_dir` opened the way the binary opens it (its key from the keyring, or
/// made there first), so a test reads what the binary wrote, or seeds what it will read.
#[allow(clippy::unwrap_used)]
pub fn inbox_of(data_dir: &std::path::Path) -> inbox::Inbox {
    app::inbox_key::open_inbox(data_dir, app::inbox_key::KeyPolicy::KeyringElseFile)
        .unwrap()
        .inbox
}

/// Writes, at `path`, an inbox as a version before encryption left it: plain SQLite, this
/// schema, holding `notes` (made encrypted with a throwaway key, then exported in the clear).
#[allow(clippy::unwrap_used)]
pub async fn plaintext_inbox(path: &std::path::Path, notes: Vec<askara::Note>) {
    let seed_dir = tempfile::tempdir().unwrap();
    let seed = seed_dir.path().join("seed.sqlite3");
    let key = inbox::InboxKey::generate();
    let inbox = inbox::Inbox::open(&seed, &key).unwrap();
    for chunk in notes.chunks(1000) {
        inbox
            .ingest(chunk.to_vec(), inbox::Source::Poll, vec![])
            .await
            .unwrap();
    }
    drop(inbox);
    let c = rusqlite::Connection::open(&seed).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))
        .unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    c.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [path.to_str().unwrap()],
    )
    .unwrap();
    c.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    c.execute_batch(&format!("PRAGMA plain.user_version = {v}; DETACH plain;"))
        .unwrap();
}

/// `ASKARA_TEST_INBOX=postgres`: every data dir's commands run against a shared inbox on a
/// throwaway PostgreSQL (clinic mode; one server for the test binary, one database per data
/// dir, made and `inbox init`ed by the binary on first use) instead of the data dir's SQLite
/// file. `scripts/test.sh` runs the commands, filters, import and audit modules both ways. It
/// needs a keyring (the password goes there with `inbox password`), as `scripts/test.sh` has.
pub fn clinic_mode() -> bool {
    std::env::var("ASKARA_TEST_INBOX").is_ok_and(|v| v == "postgres")
}

struct SharedServer {
    pg: import::pg_harness::TestPostgres,
    /// data dir → its database's URL.
    urls: std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, String>>,
}

#[allow(clippy::unwrap_used)]
fn shared_server() -> &'static SharedServer {
    static SERVER: std::sync::OnceLock<SharedServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        let mut pg = import::pg_harness::TestPostgres::start().unwrap();
        pg.outlive(std::process::id()).unwrap();
        SharedServer {
            pg,
            urls: Default::default(),
        }
    })
}

/// The environment that points the binary at `data_dir`'s inbox: nothing in SQLite mode;
/// `ASKARA_INBOX_URL` of its own initialised database in clinic mode (its password in the
/// keyring, put there by `inbox password`).
#[allow(clippy::unwrap_used)]
pub fn store_env(data_dir: &std::path::Path) -> Vec<(String, String)> {
    if !clinic_mode() {
        return Vec::new();
    }
    let server = shared_server();
    let mut urls = server.urls.lock().unwrap();
    let n = urls.len();
    let url = urls
        .entry(data_dir.to_path_buf())
        .or_insert_with(|| {
            let db = format!("inbox_{n}");
            server.pg.run_sql(&format!("CREATE DATABASE {db}")).unwrap();
            let url = server
                .pg
                .url_with("127.0.0.1", "sslmode=disable")
                .replace(import::pg_harness::DATABASE, &db);
            let out = std::process::Command::new(BIN)
                .args(["--inbox", &url, "inbox", "init"])
                .env("PGPASSWORD", &server.pg.password)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // The password into the keyring, as a clinic's IT would: PGPASSWORD stays free for
            // an import target's.
            let mut child = std::process::Command::new(BIN)
                .args(["--inbox", &url, "inbox", "password"])
                .env_remove("PGPASSWORD")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{}", server.pg.password).unwrap();
            drop(stdin);
            let out = child.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && said.contains("kept in the OS keyring"),
                "{said} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            url
        })
        .clone();
    vec![("ASKARA_INBOX_URL".into(), url)]
}

/// Who the audit trail and imports name for a person: `signed_in` (the Askara user, as the
/// simulator's `GET /me` says) on a local inbox; on a shared one the role the binary connects
/// as, whatever Askara or the OS say.
pub fn person(signed_in: &str) -> String {
    if clinic_mode() {
        import::pg_harness::USER.to_string()
    } else {
        signed_in.to_string()
    }
}

/// A superuser's session on `data_dir`'s shared inbox (clinic mode), schema on the path: what
/// someone with the database's admin password could do behind the desks' backs.
#[allow(clippy::unwrap_used)]
pub async fn clinic_admin(data_dir: &std::path::Path) -> tokio_postgres::Client {
    let env = store_env(data_dir);
    let (_, url) = env.iter().find(|(k, _)| k == "ASKARA_INBOX_URL").unwrap();
    let db = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let admin = shared_server()
        .pg
        .url
        .replace(import::pg_harness::DATABASE, db);
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("SET search_path TO askara_inbox")
        .await
        .unwrap();
    client
}

/// The inbox the binary uses for `data_dir` (see [`store_env`]), for a test to seed or read.
#[allow(clippy::unwrap_used)]
pub async fn store_of(data_dir: &std::path::Path) -> std::sync::Arc<dyn inbox::ReceiverStore> {
    let env = store_env(data_dir);
    let Some((_, url)) = env.iter().find(|(k, _)| k == "ASKARA_INBOX_URL") else {
        return std::sync::Arc::new(inbox_of(data_dir));
    };
    let spec = match import::TargetSpec::parse(url)
        .unwrap()
        .with_password(shared_server().pg.password.clone())
    {
        import::TargetSpec::Postgres(p) => p,
        other => panic!("not postgres: {other:?}"),
    };
    std::sync::Arc::new(
        inbox_pg::PgInbox::connect(spec, "test".into())
            .await
            .unwrap(),
    )
}
