//! The inbox at rest: encrypted with SQLCipher, no marker word readable in any file of the data
//! dir (WAL included), a wrong key refused without touching the file, and a plaintext inbox
//! from an earlier version encrypted in place without losing a note.

#![allow(clippy::unwrap_used)]

mod common;

use askara_sim::SimConfig;
use inbox::encryption::{encrypting_path, file_kind, wal_files, FileKind};
use inbox::{ErrorCode, Inbox, InboxKey, ListQuery, SearchQuery, Source};
use serde_json::json;
use std::path::Path;

const MARKERS: [&str; 3] = ["Xylofonkvist", "Brannmaursen", "Quokkalunge"];

/// Every byte of every file under `dir`, searched for each marker in the forms the inbox
/// keeps them (as written, folded to lower case for the search index).
fn files_containing_markers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            for m in MARKERS {
                for form in [m.to_string(), m.to_lowercase()] {
                    if bytes.windows(form.len()).any(|w| w == form.as_bytes()) {
                        found.push(format!("{} holds {form}", p.display()));
                    }
                }
            }
        }
    }
    found
}

fn marker_note(uuid: &str, i: usize) -> serde_json::Value {
    json!({
        "uuid": uuid,
        "type": "consultation_summary",
        "content": format!("Seen for {} follow-up number {i}.", MARKERS[0]),
        "createdAt": "2026-11-30T10:00:00+00:00",
        "updatedAt": "2026-11-30T10:00:00+00:00",
        "patient": {"uuid": format!("p-{i}"), "firstName": MARKERS[1], "lastName": MARKERS[2]},
    })
}

#[tokio::test]
async fn after_a_sync_no_file_holds_a_marker_word_and_search_still_finds_them() {
    let rig = common::rig_with(SimConfig::default(), 50).await;
    for i in 0..120 {
        rig.sim.add_note(marker_note(&format!("m-{i}"), i));
    }
    let mut poller = rig.poller;
    poller.try_full().await.unwrap();
    assert_eq!(
        rig.inbox
            .list(ListQuery {
                limit: Some(500),
                ..ListQuery::default()
            })
            .await
            .unwrap()
            .len(),
        120
    );
    // The WAL holds the latest pages now (nothing checkpointed it yet): it must be
    // encrypted too.
    let path = rig.inbox.path().to_path_buf();
    assert!(wal_files(&path)[0].metadata().unwrap().len() > 0);
    assert_eq!(
        files_containing_markers(rig._dir.path()),
        Vec::<String>::new()
    );
    assert_eq!(file_kind(&path).unwrap(), FileKind::Encrypted);
    for m in MARKERS {
        let hits = rig
            .inbox
            .search(&m.to_lowercase(), SearchQuery::default())
            .await
            .unwrap();
        assert!(!hits.is_empty(), "{m} not found by search");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [path.clone(), wal_files(&path)[0].clone()] {
            let mode = f.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", f.display());
        }
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_the_file_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    let inbox = Inbox::open(&path, &test_key()).unwrap();
    let n = askara::Note::from_json(marker_note("w-1", 1)).unwrap();
    inbox.ingest(vec![n], Source::Poll, vec![]).await.unwrap();
    drop(inbox);
    let before = std::fs::read(&path).unwrap();
    let err = Inbox::open(&path, &InboxKey::from_bytes([8; 32])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongKey);
    let msg = err.to_string();
    assert!(msg.contains("restore the inbox key"), "{msg}");
    assert!(!msg.contains('\n'));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // The right key still opens it, note and all.
    let again = Inbox::open(&path, &test_key()).unwrap();
    assert!(again.get("w-1").await.unwrap().is_some());
}

/// An inbox as an earlier version left it: plain SQLite with the same schema and notes.
fn plaintext_copy(encrypted: &Path, key: &InboxKey, plain: &Path) {
    let c = rusqlite::Connection::open(encrypted).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))
        .unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    c.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [plain.to_str().unwrap()],
    )
    .unwrap();
    c.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    c.execute_batch(&format!("PRAGMA plain.user_version = {v}; DETACH plain;"))
        .unwrap();
    drop(c);
    let p = rusqlite::Connection::open(plain).unwrap();
    p.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
}

#[tokio::test]
async fn a_plaintext_inbox_of_10000_notes_is_encrypted_in_place_without_losing_one() {
    let dir = tempfile::tempdir().unwrap();
    let seed_path = dir.path().join("seed.sqlite3");
    let key = test_key();
    let seed = Inbox::open(&seed_path, &key).unwrap();
    for chunk in (0..10_000).collect::<Vec<usize>>().chunks(1000) {
        let notes = chunk
            .iter()
            .map(|i| askara::Note::from_json(marker_note(&format!("n-{i:05}"), *i)).unwrap())
            .collect();
        seed.ingest(notes, Source::Poll, vec![]).await.unwrap();
    }
    drop(seed);
    let path = dir.path().join("data/inbox.sqlite3");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    plaintext_copy(&seed_path, &key, &path);
    assert_eq!(file_kind(&path).unwrap(), FileKind::Plaintext);
    assert!(!files_containing_markers(path.parent().unwrap()).is_empty());
    // A crash during an earlier attempt left a half-written copy: it is redone, not used.
    std::fs::write(encrypting_path(&path), b"half a copy").unwrap();

    let inbox = Inbox::open(&path, &key).unwrap();
    assert_eq!(file_kind(&path).unwrap(), FileKind::Encrypted);
    assert!(!encrypting_path(&path).exists());
    let counts = inbox.counts().await.unwrap();
    assert_eq!(counts.values().sum::<u64>(), 10_000);
    assert!(inbox.get("n-00000").await.unwrap().is_some());
    assert!(inbox.get("n-09999").await.unwrap().is_some());
    let hits = inbox
        .search(&MARKERS[2].to_lowercase(), SearchQuery::default())
        .await
        .unwrap();
    assert!(!hits.is_empty());
    assert_eq!(
        files_containing_markers(path.parent().unwrap()),
        Vec::<String>::new()
    );
}

/// A fixed key: the file's key is what these tests are about, not where it is kept.
fn test_key() -> InboxKey {
    InboxKey::from_bytes([7; 32])
}
