//! Import attempts in the inbox: every attempt audited, only committed ones move the note.

#![allow(clippy::unwrap_used)]

use inbox::{ImportAttempt, Inbox, Source, Status};
use serde_json::json;

fn note(uuid: &str) -> askara::Note {
    askara::Note::from_json(json!({
        "uuid": uuid, "type": "consultation_summary", "content": "Synthetic.",
        "createdAt": "2026-02-24T10:30:00+00:00", "patient": null
    }))
    .unwrap()
}

#[tokio::test]
async fn only_committed_attempts_move_notes_and_every_attempt_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("i.sqlite3"), &test_key()).unwrap();
    inbox
        .ingest(vec![note("a"), note("b")], Source::Poll, vec![])
        .await
        .unwrap();
    inbox
        .set_status("a", Status::Reviewed, "staff")
        .await
        .unwrap();
    let attempt = |uuid: &str, committed: bool| ImportAttempt {
        uuid: uuid.into(),
        committed,
        detail: json!({"target": "sqlite:/x", "result": if committed { "imported" } else { "conflict" }}),
    };
    let moved = inbox
        .record_imports(vec![attempt("a", true), attempt("b", false)], "staff")
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(
        inbox.get("a").await.unwrap().unwrap().status,
        Status::Imported
    );
    assert_eq!(inbox.get("b").await.unwrap().unwrap().status, Status::New);
    let a_log = inbox.audit_log(Some("a".into()), 10).await.unwrap();
    let imp = a_log.iter().find(|e| e.action == "import").unwrap();
    assert_eq!(
        (imp.from_status, imp.to_status),
        (Some(Status::Reviewed), Some(Status::Imported))
    );
    assert_eq!(imp.actor, "staff");
    let b_log = inbox.audit_log(Some("b".into()), 10).await.unwrap();
    assert!(b_log
        .iter()
        .any(|e| e.action == "import" && e.detail["result"] == "conflict"));
    assert_eq!(inbox.counts().await.unwrap()[&Status::Imported], 1);

    // Again: audited, but nothing moves; an unknown uuid records nothing at all.
    assert_eq!(
        inbox
            .record_imports(vec![attempt("a", true)], "staff")
            .await
            .unwrap(),
        0
    );
    let err = inbox
        .record_imports(vec![attempt("b", true), attempt("nope", true)], "staff")
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "not_found");
    assert_eq!(
        inbox.get("b").await.unwrap().unwrap().status,
        Status::New,
        "rolled back"
    );
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
