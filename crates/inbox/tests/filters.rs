//! The list and search filters (date range, note type, author), alone and combined with status,
//! patient and search text; the bulk status change; the filter choices (facets).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use askara::Note;
use chrono::{DateTime, Utc};
use inbox::*;
use serde_json::json;

fn test_key() -> InboxKey {
    InboxKey::from_bytes([7; 32])
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// (uuid, createdAt, type, author, content)
const NOTES: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "a1",
        "2026-03-01T08:00:00Z",
        "consultation_summary",
        Some("dr-lie"),
        "Knee pain, ice.",
    ),
    (
        "a2",
        "2026-03-01T23:59:59.500Z",
        "referral_letter",
        Some("dr-lie"),
        "Knee referral to physiotherapy.",
    ),
    (
        "a3",
        "2026-03-02T00:00:00Z",
        "consultation_summary",
        Some("dr-berg"),
        "Chest pain, ECG normal.",
    ),
    (
        "a4",
        "2026-03-02T12:00:00.250Z",
        "referral_letter",
        None,
        "Knee MRI referral.",
    ),
    (
        "a5",
        "2026-03-03T09:30:00Z",
        "consultation_summary",
        Some("dr-berg"),
        "Knee follow-up, better.",
    ),
    (
        "a6",
        "2026-03-05T10:00:00Z",
        "discharge_summary",
        Some("dr-lie"),
        "Discharged after knee surgery.",
    ),
];

async fn seeded() -> (tempfile::TempDir, Inbox) {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("inbox.sqlite"), &test_key()).unwrap();
    let notes: Vec<Note> = NOTES
        .iter()
        .map(|(uuid, created, ty, _, content)| {
            Note::from_json(json!({
                "uuid": uuid, "type": ty, "content": content,
                "createdAt": created, "updatedAt": created,
                "patient": {"uuid": if uuid.ends_with(['1', '3', '5']) { "p-odd" } else { "p-even" },
                            "firstName": "Åse", "lastName": "Ødegård"},
            }))
            .unwrap()
        })
        .collect();
    let authors: HashMap<String, String> = NOTES
        .iter()
        .filter_map(|(u, _, _, a, _)| a.map(|a| (u.to_string(), a.to_string())))
        .collect();
    let origin = Origin {
        source: Source::Webhook,
        verified: true,
        authors,
    };
    let r = inbox.ingest_from(notes, origin, vec![]).await.unwrap();
    assert_eq!(r.inserted.len(), NOTES.len());
    inbox.set_status("a5", Status::Reviewed, "t").await.unwrap();
    inbox.set_status("a1", Status::Reviewed, "t").await.unwrap();
    (dir, inbox)
}

fn uuids(v: &[NoteRecord]) -> Vec<&str> {
    v.iter().map(|n| n.uuid.as_str()).collect()
}

async fn list(inbox: &Inbox, status: Option<Status>, filter: NoteFilter) -> Vec<String> {
    let q = ListQuery {
        status,
        filter,
        ..Default::default()
    };
    uuids(&inbox.list(q).await.unwrap())
        .into_iter()
        .map(String::from)
        .collect()
}

async fn search(
    inbox: &Inbox,
    text: &str,
    status: Option<Status>,
    filter: NoteFilter,
) -> Vec<String> {
    let q = SearchQuery {
        status,
        filter,
        ..Default::default()
    };
    uuids(&inbox.search(text, q).await.unwrap())
        .into_iter()
        .map(String::from)
        .collect()
}

fn dates(since: Option<&str>, until: Option<&str>) -> NoteFilter {
    let (since, before) = DateBound::range(since, until, &Utc).unwrap();
    NoteFilter {
        since,
        before,
        ..Default::default()
    }
}

fn of_type(t: &str) -> NoteFilter {
    NoteFilter {
        note_type: Some(t.into()),
        ..Default::default()
    }
}

fn by(a: &str) -> NoteFilter {
    NoteFilter {
        author: Some(a.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_date_range_is_whole_days_until_inclusive() {
    let (_d, inbox) = seeded().await;
    // 1 March: both notes of the day, the one half a second before midnight included.
    assert_eq!(
        list(&inbox, None, dates(Some("2026-03-01"), Some("2026-03-01"))).await,
        ["a2", "a1"]
    );
    // From 2 March on.
    assert_eq!(
        list(&inbox, None, dates(Some("2026-03-02"), None)).await,
        ["a6", "a5", "a4", "a3"]
    );
    // Up to 2 March.
    assert_eq!(
        list(&inbox, None, dates(None, Some("2026-03-02"))).await,
        ["a4", "a3", "a2", "a1"]
    );
    // Nothing on 4 March.
    assert!(
        list(&inbox, None, dates(Some("2026-03-04"), Some("2026-03-04")))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn instants_inside_a_second_are_exact() {
    let (_d, inbox) = seeded().await;
    // a2 is at 23:59:59.500: a bound in the same second, before or after it.
    let f = |s: &str, b: &str| NoteFilter {
        since: Some(at(s)),
        before: Some(at(b)),
        ..Default::default()
    };
    assert_eq!(
        list(
            &inbox,
            None,
            f("2026-03-01T23:59:59.400Z", "2026-03-01T23:59:59.600Z")
        )
        .await,
        ["a2"]
    );
    assert!(list(
        &inbox,
        None,
        f("2026-03-01T23:59:59.600Z", "2026-03-02T00:00:00Z")
    )
    .await
    .is_empty());
    assert!(list(
        &inbox,
        None,
        f("2026-03-01T23:59:59Z", "2026-03-01T23:59:59.400Z")
    )
    .await
    .is_empty());
    // --until with an instant includes it.
    let until = DateBound::until("2026-03-02T12:00:00.250Z", &Utc).unwrap();
    let g = NoteFilter {
        since: Some(at("2026-03-02T12:00:00Z")),
        before: Some(until),
        ..Default::default()
    };
    assert_eq!(list(&inbox, None, g.clone()).await, ["a4"]);
    assert_eq!(search(&inbox, "knee", None, g).await, ["a4"]);
}

#[tokio::test]
async fn type_and_author_alone_and_with_status() {
    let (_d, inbox) = seeded().await;
    assert_eq!(
        list(&inbox, None, of_type("referral_letter")).await,
        ["a4", "a2"]
    );
    assert_eq!(
        list(&inbox, None, of_type("consultation_summary")).await,
        ["a5", "a3", "a1"]
    );
    assert!(
        list(&inbox, None, of_type("Referral letter"))
            .await
            .is_empty(),
        "exact value, not the label"
    );
    assert_eq!(list(&inbox, None, by("dr-lie")).await, ["a6", "a2", "a1"]);
    assert_eq!(list(&inbox, None, by("dr-berg")).await, ["a5", "a3"]);
    assert_eq!(
        list(
            &inbox,
            Some(Status::Reviewed),
            of_type("consultation_summary")
        )
        .await,
        ["a5", "a1"]
    );
    assert_eq!(list(&inbox, Some(Status::New), by("dr-berg")).await, ["a3"]);
    // Everything at once.
    let all = NoteFilter {
        note_type: Some("consultation_summary".into()),
        author: Some("dr-lie".into()),
        ..dates(Some("2026-03-01"), Some("2026-03-03"))
    };
    assert_eq!(
        list(&inbox, Some(Status::Reviewed), all.clone()).await,
        ["a1"]
    );
    assert!(list(&inbox, Some(Status::New), all).await.is_empty());
    // With the patient and paging.
    let q = ListQuery {
        patient_uuid: Some("p-odd".into()),
        filter: of_type("consultation_summary"),
        limit: Some(1),
        offset: 1,
        ..Default::default()
    };
    assert_eq!(uuids(&inbox.list(q).await.unwrap()), ["a3"]);
}

#[tokio::test]
async fn search_with_each_filter_and_with_status() {
    let (_d, inbox) = seeded().await;
    assert_eq!(
        search(&inbox, "knee", None, NoteFilter::default()).await,
        ["a6", "a5", "a4", "a2", "a1"]
    );
    assert_eq!(
        search(
            &inbox,
            "knee",
            None,
            dates(Some("2026-03-02"), Some("2026-03-03"))
        )
        .await,
        ["a5", "a4"]
    );
    assert_eq!(
        search(&inbox, "knee", None, of_type("referral_letter")).await,
        ["a4", "a2"]
    );
    assert_eq!(
        search(&inbox, "knee", None, by("dr-lie")).await,
        ["a6", "a2", "a1"]
    );
    assert_eq!(
        search(&inbox, "knee", Some(Status::Reviewed), by("dr-berg")).await,
        ["a5"]
    );
    assert_eq!(
        search(
            &inbox,
            "knee",
            Some(Status::New),
            of_type("referral_letter")
        )
        .await,
        ["a4", "a2"]
    );
    let combined = NoteFilter {
        author: Some("dr-lie".into()),
        ..dates(Some("2026-03-01"), Some("2026-03-01"))
    };
    assert_eq!(
        search(&inbox, "knee", None, combined.clone()).await,
        ["a2", "a1"]
    );
    assert_eq!(
        search(&inbox, "knee", Some(Status::Reviewed), combined).await,
        ["a1"]
    );
    // Names are searched too, and the filters still hold.
    assert_eq!(
        search(&inbox, "odegard", None, of_type("discharge_summary")).await,
        ["a6"]
    );
    // Relevance order keeps the filters.
    let q = SearchQuery {
        order: SearchOrder::Relevance,
        filter: of_type("referral_letter"),
        ..Default::default()
    };
    let mut got = uuids(&inbox.search("knee", q).await.unwrap())
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    got.sort();
    assert_eq!(got, ["a2", "a4"]);
}

#[tokio::test]
async fn a_date_range_bounds_the_fts_walk_and_uses_no_join() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    drop(Inbox::open(&path, &test_key()).unwrap());
    let q = SearchQuery {
        filter: dates(Some("2026-03-01"), Some("2026-03-02")),
        ..Default::default()
    };
    let plan = explain_search(&path, &test_key(), "knee", &q)
        .unwrap()
        .join(" | ");
    assert!(
        !plan.contains("SEARCH n "),
        "joined notes for a date range: {plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "sorted: {plan}");
    // A type filter joins `notes` by key (its primary key, or the covering (note_type, id)
    // index: one seek per match either way), FTS5 still the outer loop in rowid order.
    let q = SearchQuery {
        filter: of_type("referral_letter"),
        ..Default::default()
    };
    let plan = explain_search(&path, &test_key(), "knee", &q)
        .unwrap()
        .join(" | ");
    assert!(plan.contains("SEARCH n USING"), "{plan}");
    assert!(plan.find("notes_fts") < plan.find("SEARCH n "), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "sorted: {plan}");
}

#[tokio::test]
async fn set_statuses_moves_many_in_one_go_and_reports_each() {
    let (_d, inbox) = seeded().await;
    inbox.set_status("a6", Status::Imported, "t").await.unwrap();
    let before = inbox.audit_log(None, 1000).await.unwrap().len();
    let r = inbox
        .set_statuses(
            ["a2", "a3", "a5", "nope", "a6", "a2"]
                .map(String::from)
                .to_vec(),
            Status::Reviewed,
            "bulk",
        )
        .await
        .unwrap();
    // Each note once, in the order given.
    assert_eq!(r.len(), 5);
    let ok = |i: usize| r[i].as_ref().unwrap();
    assert_eq!(
        (ok(0).uuid.as_str(), ok(0).from, ok(0).changed),
        ("a2", Status::New, true)
    );
    assert_eq!(
        (ok(1).uuid.as_str(), ok(1).from, ok(1).changed),
        ("a3", Status::New, true)
    );
    assert_eq!(
        (ok(2).uuid.as_str(), ok(2).changed),
        ("a5", false),
        "already reviewed"
    );
    assert!(matches!(r[3], Err(InboxError::NotFound { .. })));
    assert!(matches!(r[4], Err(InboxError::InvalidTransition { .. })));
    // One audit row per note that moved, by the actor.
    let log = inbox.audit_log(None, 1000).await.unwrap();
    assert_eq!(log.len(), before + 2);
    assert!(log[..2]
        .iter()
        .all(|e| e.actor == "bulk" && e.action == "status_changed"));
    assert_eq!(
        list(&inbox, Some(Status::Reviewed), NoteFilter::default()).await,
        ["a5", "a3", "a2", "a1"]
    );
    assert_eq!(
        inbox.get("a6").await.unwrap().unwrap().status,
        Status::Imported
    );
    // And back (undo): the previous statuses.
    let back = inbox
        .set_statuses(vec!["a2".into(), "a3".into()], Status::New, "bulk")
        .await
        .unwrap();
    assert!(back.iter().all(|c| c.as_ref().unwrap().changed));
    assert_eq!(
        list(&inbox, Some(Status::New), NoteFilter::default()).await,
        ["a4", "a3", "a2"]
    );
    let counts = inbox.counts().await.unwrap();
    assert_eq!(counts[&Status::Reviewed], 2);
    assert_eq!(counts[&Status::New], 3);
}

#[tokio::test]
async fn facets_are_the_types_and_authors_present() {
    let (_d, inbox) = seeded().await;
    let f = inbox.note_facets().await.unwrap();
    assert_eq!(
        f.note_types,
        [
            "consultation_summary",
            "discharge_summary",
            "referral_letter"
        ]
    );
    assert_eq!(f.authors, ["dr-berg", "dr-lie"]);
    let dir = tempfile::tempdir().unwrap();
    let empty = Inbox::open(dir.path().join("e.sqlite"), &test_key()).unwrap();
    assert_eq!(empty.note_facets().await.unwrap(), NoteFacets::default());
}

#[tokio::test]
async fn the_list_walks_the_most_selective_index_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    drop(Inbox::open(&path, &test_key()).unwrap());
    let plan = |q: ListQuery| explain_list(&path, &test_key(), &q).unwrap().join(" | ");
    let year = || dates(Some("2026-01-01"), Some("2026-12-31"));
    let cases = [
        // A date range alone: a primary-key range.
        (
            ListQuery {
                filter: year(),
                ..Default::default()
            },
            "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        ),
        // Type with dates: its index, bounded by the key range.
        (
            ListQuery {
                filter: NoteFilter {
                    note_type: Some("t".into()),
                    ..year()
                },
                ..Default::default()
            },
            "notes_type_newest (note_type=? AND id>? AND id<?)",
        ),
        (
            ListQuery {
                status: Some(Status::New),
                filter: by("a"),
                ..Default::default()
            },
            "notes_author_newest (author_user_id=?)",
        ),
        // An author's notes before a type's.
        (
            ListQuery {
                filter: NoteFilter {
                    note_type: Some("t".into()),
                    author: Some("a".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "notes_author_newest (author_user_id=?)",
        ),
        // A patient's few notes before any type's or author's.
        (
            ListQuery {
                patient_uuid: Some("p".into()),
                filter: NoteFilter {
                    note_type: Some("t".into()),
                    author: Some("a".into()),
                    ..year()
                },
                ..Default::default()
            },
            "notes_patient_newest (patient_uuid=? AND id>? AND id<?)",
        ),
    ];
    for (q, want) in cases {
        let got = plan(q);
        assert!(got.contains(want), "want {want}: {got}");
        assert!(!got.contains("TEMP B-TREE"), "sorted: {got}");
    }
}
