//! Retention: imported and dismissed notes leave the inbox with their versions, index entries,
//! vocabulary and lone patients; notes someone still has to look at never do.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use inbox::webhook_queue::{DeliveryState, NewDelivery};
use inbox::{Inbox, InboxKey, ListQuery, SearchQuery, Source, Status};
use serde_json::json;

fn note(uuid: &str, patient: (&str, &str), content: &str, updated: &str) -> askara::Note {
    askara::Note::from_json(json!({
        "uuid": uuid,
        "type": "consultation_summary",
        "content": content,
        "createdAt": "2026-11-01T09:00:00+00:00",
        "updatedAt": updated,
        "patient": {"uuid": patient.0, "firstName": patient.1, "lastName": "Testesen"},
    }))
    .unwrap()
}

const T0: &str = "2026-11-01T09:00:00+00:00";

#[tokio::test]
async fn done_notes_leave_with_their_text_and_open_ones_stay() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("inbox.sqlite3"), &test_key()).unwrap();
    let notes = vec![
        note(
            "imp",
            ("p-gone", "Vanishia"),
            "Gallbladder uniqueterm ultrasound.",
            T0,
        ),
        note("dis", ("p-kept", "Keepera"), "Dismissed draft.", T0),
        note("new", ("p-kept", "Keepera"), "Awaiting review.", T0),
        note("rev", ("p-new", "Reviewa"), "Reviewed text.", T0),
        note("rvd", ("p-rvd", "Revisa"), "First text.", T0),
    ];
    inbox.ingest(notes, Source::Poll, vec![]).await.unwrap();
    // A revision of the note that will be imported, so it has an earlier version to remove.
    inbox
        .ingest(
            vec![note(
                "imp",
                ("p-gone", "Vanishia"),
                "Gallbladder uniqueterm ultrasound, revised.",
                "2026-11-02T09:00:00+00:00",
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    inbox
        .ingest(
            vec![note(
                "rvd",
                ("p-rvd", "Revisa"),
                "Second text.",
                "2026-11-02T09:00:00+00:00",
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inbox.versions("imp").await.unwrap().len(), 1);
    inbox
        .set_status("imp", Status::Reviewed, "t")
        .await
        .unwrap();
    inbox
        .set_status("imp", Status::Imported, "t")
        .await
        .unwrap();
    inbox
        .set_status("dis", Status::Dismissed, "t")
        .await
        .unwrap();
    inbox
        .set_status("rev", Status::Reviewed, "t")
        .await
        .unwrap();
    let id = inbox
        .enqueue_delivery(NewDelivery {
            body: "{\"data\":[]}".into(),
            webhook_id: None,
            event_count: 0,
            received_at: Utc::now(),
        })
        .await
        .unwrap();
    inbox
        .mark_processed(vec![(id, DeliveryState::Failed, json!({}))])
        .await
        .unwrap();

    // Nothing changed before a cutoff in the past.
    let none = inbox
        .prune(Utc::now() - Duration::days(30), "retention")
        .await
        .unwrap();
    assert_eq!(none, inbox::PruneReport::default());
    assert_eq!(inbox.list(ListQuery::default()).await.unwrap().len(), 5);

    let report = inbox
        .prune(Utc::now() + Duration::seconds(1), "retention")
        .await
        .unwrap();
    assert_eq!(report.notes, 2);
    assert_eq!(report.versions, 1);
    assert_eq!(report.patients, 1, "p-kept still has a note");
    assert_eq!(report.deliveries, 1);
    assert!(report.terms > 0);

    let mut left: Vec<String> = inbox
        .list(ListQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.uuid)
        .collect();
    left.sort();
    assert_eq!(left, ["new", "rev", "rvd"]);
    assert!(inbox.get("imp").await.unwrap().is_none());
    assert!(inbox.versions("imp").await.unwrap().is_empty());
    // Its words, full and typed-ahead, and its patient's name are gone from search.
    for q in ["uniqueterm", "uniqu", "vanishia", "gallbladder"] {
        assert!(
            inbox
                .search(q, SearchQuery::default())
                .await
                .unwrap()
                .is_empty(),
            "{q} still found"
        );
    }
    assert!(inbox
        .patients(Some("Vanishia".into()), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        inbox
            .patients(Some("Keepera".into()), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // What stays is still searchable.
    assert_eq!(
        inbox
            .search("awaiting", SearchQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
    // The trail says the note was removed, and by what.
    let trail = inbox.audit_log(Some("imp".into()), 10).await.unwrap();
    assert_eq!(trail[0].action, "removed");
    assert_eq!(trail[0].actor, "retention");
    assert_eq!(inbox.delivery_counts().await.unwrap().failed, 0);

    // Below the API: no row of the vocabulary or the index still holds the removed words.
    let c = rusqlite::Connection::open(inbox.path()).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", test_key().to_hex()))
        .unwrap();
    c.execute_batch("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, 'notes_fts', 'row');")
        .unwrap();
    for word in ["uniqueterm", "vanishia", "gallbladder"] {
        let in_terms: i64 = c
            .query_row(
                "SELECT count(*) FROM fts_terms WHERE term = ?1",
                [word],
                |r| r.get(0),
            )
            .unwrap();
        let in_index: i64 = c
            .query_row("SELECT count(*) FROM temp.v WHERE term = ?1", [word], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!((in_terms, in_index), (0, 0), "{word}");
    }
    let kept: i64 = c
        .query_row(
            "SELECT count(*) FROM fts_terms WHERE term = 'awaiting'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1, "words of kept notes stay");
}

fn test_key() -> InboxKey {
    InboxKey::from_bytes([7; 32])
}
