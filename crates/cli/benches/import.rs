//! `notes import --all-reviewed` through the real binary: 10,000 reviewed notes into a throwaway
//! PostgreSQL on loopback and into a SQLite file, plus single-note imports (whole process, and
//! the target's own latency is in `cargo bench -p import`).
//!
//! Run: `cargo bench -p askara-inbox-cli --bench import`

#![allow(clippy::unwrap_used)]

use import::pg_harness::TestPostgres;
use inbox::{Inbox, Source, Status};
use std::process::Command;
use std::time::{Duration, Instant};

const NOTES: usize = 10_000;
const BIN: &str = env!("CARGO_BIN_EXE_askara-inbox");

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn reviewed_inbox(dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> Vec<String> {
    let inbox = Inbox::open(dir.join("inbox.sqlite3"), &test_key()).unwrap();
    let now = chrono::Utc::now();
    let notes: Vec<askara::Note> = (0..NOTES as u64)
        .map(|i| askara::Note::from_json(askara_sim::generate_note(42, i, now)).unwrap())
        .collect();
    let uuids: Vec<String> = notes.iter().map(|n| n.uuid.clone()).collect();
    rt.block_on(async {
        for chunk in notes.chunks(1000) {
            inbox
                .ingest(chunk.to_vec(), Source::Poll, vec![])
                .await
                .unwrap();
        }
        for u in &uuids {
            inbox
                .set_status(u, Status::Reviewed, "bench")
                .await
                .unwrap();
        }
    });
    uuids
}

fn import_all(data: &std::path::Path, to: &str) -> f64 {
    let start = Instant::now();
    let out = Command::new(BIN)
        // A target URL may not hold the password.
        .env("PGPASSWORD", import::pg_harness::PASSWORD)
        .arg("--data-dir")
        .arg(data)
        .args(["notes", "import", "--all-reviewed", "--to", to])
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if std::env::var_os("ASKARA_LOG").is_some() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let imported = String::from_utf8_lossy(&out.stdout)
        .matches(": imported")
        .count();
    assert_eq!(imported, NOTES);
    secs
}

fn single_imports(data: &std::path::Path, to: &str, uuids: &[String]) -> (Duration, Duration) {
    let mut t = Vec::new();
    for u in uuids {
        let start = Instant::now();
        let out = Command::new(BIN)
            .env("PGPASSWORD", import::pg_harness::PASSWORD)
            .arg("--data-dir")
            .arg(data)
            .args(["notes", "import", u, "--to", to])
            .output()
            .unwrap();
        t.push(start.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    t.sort();
    (percentile(&t, 0.5), percentile(&t, 0.95))
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pg = TestPostgres::start_durable().unwrap();
    for (name, to) in [
        ("postgres", pg.url_without_password.clone()),
        ("sqlite", String::new()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let to = if to.is_empty() {
            format!("sqlite:{}", dir.path().join("practice.sqlite3").display())
        } else {
            to
        };
        let uuids = reviewed_inbox(dir.path(), &rt);
        let secs = import_all(dir.path(), &to);
        println!(
            "{name}: --all-reviewed {NOTES} notes in {secs:.2} s = {:.0} notes/s (whole process, inbox audit included)",
            NOTES as f64 / secs
        );
        // Fresh notes for single imports: a second inbox so each is a real insert.
        let dir2 = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(dir2.path().join("inbox.sqlite3"), &test_key()).unwrap();
        let now = chrono::Utc::now();
        let singles: Vec<String> = rt.block_on(async {
            let notes: Vec<askara::Note> = (0..100u64)
                .map(|i| askara::Note::from_json(askara_sim::generate_note(7, i, now)).unwrap())
                .collect();
            let ids = notes.iter().map(|n| n.uuid.clone()).collect();
            inbox.ingest(notes, Source::Poll, vec![]).await.unwrap();
            ids
        });
        let (p50, p95) = single_imports(dir2.path(), &to, &singles);
        println!("{name}: one note per process, p50 {p50:?} p95 {p95:?} (process start included)");
        drop(uuids);
    }
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
