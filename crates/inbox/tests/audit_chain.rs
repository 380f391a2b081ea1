//! The tamper-evident audit trail: append-only triggers, the hash chain that `verify_audit`
//! recomputes, what a raw SQLite editor holding the key can and cannot hide, the migration that
//! chains an existing trail, and audited reads.

#![allow(clippy::unwrap_used)]

use inbox::{AuditBreak, AuditCheck, AuditProblem, Inbox, Source, Status, AUDIT_GENESIS};
use serde_json::json;
use std::path::Path;

fn note(uuid: &str) -> askara::Note {
    askara::Note::from_json(json!({
        "uuid": uuid, "type": "consultation_summary", "content": "Synthetic.",
        "createdAt": "2026-02-24T10:30:00+00:00", "patient": null
    }))
    .unwrap()
}

/// What a raw SQLite editor holding the key opens.
fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", test_key().to_hex()))
        .unwrap();
    conn
}

/// An inbox with a trail of 6 rows: 3 received, a status change, a read, an event.
async fn with_trail() -> (tempfile::TempDir, std::path::PathBuf, Inbox) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    let inbox = Inbox::open(&path, &test_key()).unwrap();
    inbox
        .ingest(vec![note("a"), note("b"), note("c")], Source::Poll, vec![])
        .await
        .unwrap();
    inbox
        .set_status("b", Status::Reviewed, "os:staff")
        .await
        .unwrap();
    assert!(inbox.record_read("b", "os:staff").await.unwrap());
    inbox
        .record_event("c", "os:staff", "import", json!({"result": "imported"}))
        .await
        .unwrap();
    (dir, path, inbox)
}

fn intact(check: AuditCheck) -> (u64, String) {
    match check {
        AuditCheck::Intact { rows, head } => (rows, head),
        AuditCheck::Broken(b) => panic!("expected an intact trail, got: {b}"),
    }
}

fn broken(check: AuditCheck) -> AuditBreak {
    match check {
        AuditCheck::Broken(b) => b,
        AuditCheck::Intact { rows, .. } => panic!("expected a break, the {rows} rows verify"),
    }
}

#[tokio::test]
async fn a_fresh_trail_verifies_with_its_row_count_and_head_hash() {
    let (_d, path, inbox) = with_trail().await;
    let (rows, head) = intact(inbox.verify_audit().await.unwrap());
    assert_eq!(rows, 6);
    let last: String = raw(&path)
        .query_row(
            "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(head, last);
    assert_eq!(head.len(), 64);
    assert!(head.bytes().all(|b| b.is_ascii_hexdigit()));
    // The chain starts at the genesis value and links every row to the one before.
    let conn = raw(&path);
    let mut st = conn
        .prepare("SELECT id, prev_hash, hash FROM audit_events ORDER BY id")
        .unwrap();
    let links: Vec<(i64, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(links[0].0, 1);
    assert_eq!(links[0].1, AUDIT_GENESIS);
    for w in links.windows(2) {
        assert_eq!(w[1].0, w[0].0 + 1);
        assert_eq!(w[1].1, w[0].2);
    }
    // An empty trail is intact too, its head the genesis value.
    let empty = Inbox::open(path.with_file_name("empty.sqlite3"), &test_key()).unwrap();
    assert_eq!(
        intact(empty.verify_audit().await.unwrap()),
        (0, AUDIT_GENESIS.to_string())
    );
}

#[tokio::test]
async fn update_and_delete_on_audit_rows_are_refused() {
    let (_d, path, inbox) = with_trail().await;
    let conn = raw(&path);
    let err = conn
        .execute("UPDATE audit_events SET actor = 'dr.x' WHERE id = 2", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute("DELETE FROM audit_events WHERE id = 2", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let n: i64 = conn
        .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 6);
    intact(inbox.verify_audit().await.unwrap());
}

#[tokio::test]
async fn a_row_altered_with_a_raw_editor_is_named() {
    let (_d, path, inbox) = with_trail().await;
    let conn = raw(&path);
    conn.execute_batch(
        "DROP TRIGGER audit_events_no_update;
         UPDATE audit_events SET detail = '{\"result\":\"conflict\"}' WHERE id = 6;",
    )
    .unwrap();
    let b = broken(inbox.verify_audit().await.unwrap());
    assert_eq!((b.id, &b.problem), (6, &AuditProblem::Altered));
    assert!(b.to_string().contains("audit row 6 was altered"), "{b}");

    // A forged actor in an earlier row is caught at that row, not later.
    conn.execute("UPDATE audit_events SET actor = 'os:dr.x' WHERE id = 4", [])
        .unwrap();
    let b = broken(inbox.verify_audit().await.unwrap());
    assert_eq!((b.id, b.problem), (4, AuditProblem::Altered));
}

#[tokio::test]
async fn a_row_deleted_from_the_middle_or_the_end_is_named() {
    let (_d, path, inbox) = with_trail().await;
    let conn = raw(&path);
    conn.execute_batch(
        "DROP TRIGGER audit_events_no_delete;
         DELETE FROM audit_events WHERE id = 3;",
    )
    .unwrap();
    let b = broken(inbox.verify_audit().await.unwrap());
    assert_eq!((b.id, &b.problem), (3, &AuditProblem::Missing { last: 3 }));
    assert!(b.to_string().contains("audit row 3 is missing"), "{b}");

    // The last rows, with the sequence left as it was: the gap at the end shows.
    let (_d2, path2, inbox2) = with_trail().await;
    let conn2 = raw(&path2);
    conn2
        .execute_batch(
            "DROP TRIGGER audit_events_no_delete;
             DELETE FROM audit_events WHERE id >= 5;",
        )
        .unwrap();
    let b = broken(inbox2.verify_audit().await.unwrap());
    assert_eq!(
        (b.id, b.problem),
        (5, AuditProblem::MissingAtEnd { last: 6 })
    );
    // A new row never reuses a removed id, so the gap stays visible.
    assert!(inbox2.record_read("a", "os:staff").await.unwrap());
    let b = broken(inbox2.verify_audit().await.unwrap());
    assert_eq!((b.id, b.problem), (5, AuditProblem::Missing { last: 6 }));

    // ... and with the sequence lowered too: the sequence itself is named.
    let (_d3, path3, inbox3) = with_trail().await;
    raw(&path3)
        .execute_batch("UPDATE sqlite_sequence SET seq = 4 WHERE name = 'audit_events';")
        .unwrap();
    let b = broken(inbox3.verify_audit().await.unwrap());
    assert_eq!(
        (b.id, b.problem),
        (6, AuditProblem::SequenceAltered { seq: 4 })
    );

    // The first row: the chain must start at the genesis value.
    let (_d4, path4, inbox4) = with_trail().await;
    raw(&path4)
        .execute_batch(
            "DROP TRIGGER audit_events_no_delete;
             DELETE FROM audit_events WHERE id = 1;",
        )
        .unwrap();
    let b = broken(inbox4.verify_audit().await.unwrap());
    assert_eq!((b.id, b.problem), (1, AuditProblem::Missing { last: 1 }));
}

#[tokio::test]
async fn a_row_moved_into_a_gap_breaks_the_chain() {
    // Deleting row 3 and renumbering row 4 to 3 (no gap left) changes row 3's hashed id.
    let (_d, path, inbox) = with_trail().await;
    raw(&path)
        .execute_batch(
            "DROP TRIGGER audit_events_no_delete;
             DROP TRIGGER audit_events_no_update;
             DELETE FROM audit_events WHERE id = 3;
             UPDATE audit_events SET id = id - 1 WHERE id > 3;
             UPDATE sqlite_sequence SET seq = 5 WHERE name = 'audit_events';",
        )
        .unwrap();
    let b = broken(inbox.verify_audit().await.unwrap());
    assert_eq!((b.id, b.problem), (3, AuditProblem::Altered));
}

#[tokio::test]
async fn reads_are_audited_once_per_viewing() {
    let (_d, _path, inbox) = with_trail().await;
    // Read again at once by the same person: the same viewing, nothing written.
    assert!(!inbox.record_read("b", "os:staff").await.unwrap());
    // Someone else, or the same person after something else happened to the note: a new read.
    assert!(inbox
        .record_read("b", "askara:anne@example.test")
        .await
        .unwrap());
    assert!(inbox.record_read("b", "os:staff").await.unwrap());
    let log = inbox.audit_log(Some("b".into()), 10).await.unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("received", "sync"),
            ("status_changed", "os:staff"),
            ("read", "os:staff"),
            ("read", "askara:anne@example.test"),
            ("read", "os:staff"),
        ]
    );
    assert!(log
        .iter()
        .all(|e| e.action != "read" || e.detail == json!({})));
    let err = inbox.record_read("nope", "os:staff").await.unwrap_err();
    assert_eq!(err.code().as_str(), "not_found");
    intact(inbox.verify_audit().await.unwrap());
}

/// Builds an inbox file at schema version 3 (before the chain) with a trail, as an older build
/// left it.
fn version_3_inbox(path: &Path, seq_beyond_last: Option<i64>) {
    let conn = raw(path);
    conn.execute_batch(include_str!("../migrations/0001_init.sql"))
        .unwrap();
    conn.execute_batch(include_str!("../migrations/0002_webhook_queue.sql"))
        .unwrap();
    conn.execute_batch(include_str!("../migrations/0003_note_origin.sql"))
        .unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    conn.execute_batch(
        "INSERT INTO notes (id, uuid, created_at, updated_at, created_at_raw, updated_at_raw,
                            status_changed_at, first_seen_at, source, content, raw)
         VALUES (1, 'old-1', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z',
                 '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000000000Z',
                 '2026-01-01T00:00:00.000000000Z', 'poll', 'Synthetic.', '{}');
         INSERT INTO audit_events (note_uuid, at, actor, action, from_status, to_status, detail)
         VALUES ('old-1', '2026-01-01T00:00:00.000000000Z', 'sync', 'received', NULL, 'new',
                 '{\"source\":\"poll\"}'),
                ('old-1', '2026-01-02T00:00:00.000000000Z', 'reception', 'status_changed',
                 'new', 'reviewed', '{}'),
                ('old-1', '2026-01-03T00:00:00.000000000Z', 'reception', 'import', 'reviewed',
                 'imported', '{\"result\":\"imported\"}');",
    )
    .unwrap();
    if let Some(seq) = seq_beyond_last {
        conn.execute(
            "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'audit_events'",
            [seq],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn migrating_chains_the_existing_trail_and_drops_the_note_foreign_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    version_3_inbox(&path, None);

    let inbox = Inbox::open(&path, &test_key()).unwrap();
    let (rows, head) = intact(inbox.verify_audit().await.unwrap());
    assert_eq!(rows, 3);
    let log = inbox.audit_log(Some("old-1".into()), 10).await.unwrap();
    let kept: Vec<(i64, &str, &str)> = log
        .iter()
        .rev()
        .map(|e| (e.id, e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            (1, "sync", "received"),
            (2, "reception", "status_changed"),
            (3, "reception", "import")
        ]
    );
    assert_eq!(log[0].detail, json!({"result": "imported"}));

    let conn = raw(&path);
    // The old table is gone, the index and the triggers are there.
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE tbl_name LIKE 'audit_events%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        names,
        [
            "audit_events",
            "audit_events_no_delete",
            "audit_events_no_update",
            "audit_events_note"
        ]
    );
    // A note can leave the inbox (retention) and keep its trail.
    conn.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM notes WHERE uuid = 'old-1';")
        .unwrap();
    assert_eq!(
        inbox
            .audit_log(Some("old-1".into()), 10)
            .await
            .unwrap()
            .len(),
        3
    );

    // New rows continue the chain from the migrated head.
    inbox
        .ingest(vec![note("new-1")], Source::Poll, vec![])
        .await
        .unwrap();
    let prev: String = conn
        .query_row("SELECT prev_hash FROM audit_events WHERE id = 4", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(prev, head);
    assert_eq!(intact(inbox.verify_audit().await.unwrap()).0, 4);
}

#[tokio::test]
async fn migrating_keeps_the_id_sequence_so_rows_removed_before_still_show() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    // The sequence says 5 rows were written; 3 are left (the last two were deleted).
    version_3_inbox(&path, Some(5));
    let inbox = Inbox::open(&path, &test_key()).unwrap();
    let b = broken(inbox.verify_audit().await.unwrap());
    assert_eq!(
        (b.id, b.problem),
        (4, AuditProblem::MissingAtEnd { last: 5 })
    );
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
