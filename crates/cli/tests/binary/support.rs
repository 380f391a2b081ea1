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
