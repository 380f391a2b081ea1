//! The inbox at rest, through the real binary: a plaintext inbox from an earlier version is
//! encrypted in place even when the process is killed in the middle; a missing key is a clear
//! error, never a new empty inbox; `logout --erase` leaves nothing behind; retention is set,
//! shown and applied.

#![allow(clippy::unwrap_used)]

use inbox::encryption::{encrypting_path, file_kind, FileKind};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{self, Run, BIN};

const MARKER: &str = "Zanzibarquist";

async fn run(data: &Path, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("ASKARA_CLIENT_SECRET")
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .output()
        .await
        .unwrap();
    let r = Run::from(out);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn notes(n: usize) -> Vec<askara::Note> {
    (0..n)
        .map(|i| {
            askara::Note::from_json(json!({
                "uuid": format!("n-{i:05}"),
                "type": "consultation_summary",
                "content": format!("Follow-up {i} for {MARKER}."),
                "createdAt": "2026-11-30T10:00:00+00:00",
                "updatedAt": "2026-11-30T10:00:00+00:00",
                "patient": {"uuid": format!("p-{}", i % 500), "firstName": "Testa", "lastName": MARKER},
            }))
            .unwrap()
        })
        .collect()
}

fn listed(r: &Run) -> usize {
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str::<Value>(&r.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

fn holds_marker(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        let b = std::fs::read(e.path()).unwrap_or_default();
        b.windows(MARKER.len()).any(|w| w == MARKER.as_bytes())
    })
}

#[tokio::test]
async fn a_plaintext_inbox_killed_while_being_encrypted_loses_no_note() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.join("inbox.sqlite3");
    support::plaintext_inbox(&path, notes(10_000)).await;
    assert!(holds_marker(&data));

    // Kill the binary while it writes the encrypted copy (the `.encrypting` file exists only
    // then). A fast machine may finish before the kill lands: try a few times.
    let mut killed_midway = false;
    for _ in 0..5 {
        let mut child = tokio::process::Command::new(BIN)
            .arg("--data-dir")
            .arg(&data)
            .args(["notes", "list", "--limit", "1", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !encrypting_path(&path).exists() && started.elapsed() < Duration::from_secs(20) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        if file_kind(&path).unwrap() == FileKind::Plaintext {
            killed_midway = true;
            break;
        }
        // It finished: start again from a plaintext inbox.
        for f in std::fs::read_dir(&data).unwrap().flatten() {
            std::fs::remove_file(f.path()).unwrap();
        }
        app::inbox_key::erase_key(&data).unwrap();
        support::plaintext_inbox(&path, notes(10_000)).await;
    }
    assert!(killed_midway, "never caught the migration in the middle");

    // The next start redoes the migration from the untouched plaintext.
    let r = run(&data, &["notes", "list", "--limit", "20000", "--json"]).await;
    assert_eq!(listed(&r), 10_000);
    assert_eq!(file_kind(&path).unwrap(), FileKind::Encrypted);
    assert!(!encrypting_path(&path).exists());
    assert!(
        !holds_marker(&data),
        "a file in the data dir still holds note text"
    );
    let r = run(
        &data,
        &["notes", "search", &MARKER.to_lowercase(), "--json"],
    )
    .await;
    assert!(listed(&r) > 0);
}

#[tokio::test]
async fn a_missing_key_is_a_clear_error_and_the_inbox_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    {
        let inbox = support::inbox_of(data);
        inbox
            .ingest(notes(3), inbox::Source::Poll, vec![])
            .await
            .unwrap();
    }
    let path = data.join("inbox.sqlite3");
    app::inbox_key::erase_key(data).unwrap();
    let before = std::fs::read(&path).unwrap();
    let r = run(data, &["notes", "list", "--json"]).await;
    assert_ne!(r.code, 0);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("WARNING"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].contains("encrypted but its key"), "{}", lines[0]);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Another key (a restored key file from another PC): one line, nothing of SQLCipher's own.
    std::fs::write(data.join("inbox.key"), inbox::InboxKey::generate().to_hex()).unwrap();
    let r = run(data, &["notes", "list", "--json"]).await;
    assert_ne!(r.code, 0);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("restore the inbox key"), "{}", r.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn logout_erase_removes_the_inbox_its_key_and_the_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    {
        let inbox = support::inbox_of(data);
        inbox
            .ingest(notes(3), inbox::Source::Poll, vec![])
            .await
            .unwrap();
    }
    std::fs::write(data.join("tokens.json"), "{}").unwrap();
    assert!(app::inbox_key::existing_key(data).unwrap().is_some());
    let r = run(data, &["logout", "--erase"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("erased"));
    for f in [
        "inbox.sqlite3",
        "inbox.sqlite3-wal",
        "inbox.sqlite3-shm",
        "inbox.key",
        "tokens.json",
    ] {
        assert!(!data.join(f).exists(), "{f} is still there");
    }
    assert!(app::inbox_key::existing_key(data).unwrap().is_none());
    // A plain logout keeps the inbox.
    let r = run(data, &["notes", "list", "--json"]).await;
    assert_eq!(listed(&r), 0);
    run(data, &["logout"]).await;
    assert!(data.join("inbox.sqlite3").exists());
}

#[tokio::test]
async fn retention_is_set_shown_and_applied_to_done_notes_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let r = run(data, &["retention", "--days", "0"]).await;
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("between 1 and 3650 days"), "{}", r.stderr);
    let r = run(data, &["retention", "--days", "7"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(run(data, &["retention"])
        .await
        .stdout
        .contains("stay 7 days"));
    {
        let inbox = support::inbox_of(data);
        inbox
            .ingest(notes(3), inbox::Source::Poll, vec![])
            .await
            .unwrap();
        inbox
            .set_status("n-00000", inbox::Status::Dismissed, "t")
            .await
            .unwrap();
        inbox
            .set_status("n-00001", inbox::Status::Dismissed, "t")
            .await
            .unwrap();
    }
    // Dismissed 8 days ago (n-00000) and just now (n-00001): only the first goes.
    let key = app::inbox_key::existing_key(data).unwrap().unwrap();
    let c = rusqlite::Connection::open(data.join("inbox.sqlite3")).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))
        .unwrap();
    let eight_days_ago = (chrono::Utc::now() - chrono::Duration::days(8))
        .format("%Y-%m-%dT%H:%M:%S.000000000Z")
        .to_string();
    c.execute(
        "UPDATE notes SET status_changed_at = ?1 WHERE uuid = 'n-00000'",
        [eight_days_ago],
    )
    .unwrap();
    drop(c);
    let r = run(data, &["retention", "--apply"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Removed 1 notes"), "{}", r.stdout);
    let r = run(data, &["notes", "list", "--json"]).await;
    let uuids: Vec<String> = serde_json::from_str::<Vec<Value>>(&r.stdout)
        .unwrap()
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(uuids.len(), 2);
    assert!(!uuids.contains(&"n-00000".to_string()));
}
