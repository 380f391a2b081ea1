//! Storage tests against real SQLite files in temporary folders.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use askara::Note;
use inbox::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn note(uuid: &str, created: &str, updated: &str, content: &str, patient: Value) -> Note {
    Note::from_json(json!({
        "uuid": uuid, "type": "consultation_summary", "content": content,
        "createdAt": created, "updatedAt": updated, "patient": patient,
        "audio": {"uuid": "a-1"},
    }))
    .unwrap()
}

fn odegard() -> Value {
    json!({"uuid": "p-odegard", "firstName": "Bjørn", "lastName": "Ødegård", "externalId": "4411"})
}

fn open_temp() -> (tempfile::TempDir, Inbox) {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("nested/dir/inbox.sqlite"), &test_key()).unwrap();
    (dir, inbox)
}

async fn seed(inbox: &Inbox) {
    let notes = vec![
        note(
            "n1",
            "2026-02-24T10:30:00+00:00",
            "2026-02-24T10:30:00+00:00",
            "Patient presents with chest pain. Café visit.",
            odegard(),
        ),
        note(
            "n2",
            "2026-02-24T11:00:00Z",
            "2026-02-24T11:00:00Z",
            "Referral letter for physiotherapy.",
            json!({"uuid": "p-nunez", "firstName": "Zoë", "lastName": "Núñez"}),
        ),
        note(
            "n3",
            "2026-02-24T09:00:00Z",
            "2026-02-24T09:00:00Z",
            "Follow-up: blood pressure stable. Straße Łódź Đorđe.",
            Value::Null,
        ),
        note(
            "n4",
            "2026-02-24T12:00:00+02:00",
            "2026-02-24T12:00:00+02:00",
            "Knee pain after football.",
            odegard(),
        ),
    ];
    let r = inbox.ingest(notes, Source::Poll, vec![]).await.unwrap();
    assert_eq!(r.inserted.len(), 4);
}

fn uuids(v: &[NoteRecord]) -> Vec<&str> {
    v.iter().map(|n| n.uuid.as_str()).collect()
}

#[tokio::test]
async fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    {
        let inbox = Inbox::open(&path, &test_key()).unwrap();
        seed(&inbox).await;
    }
    for _ in 0..3 {
        let inbox = Inbox::open(&path, &test_key()).unwrap();
        assert_eq!(inbox.list(ListQuery::default()).await.unwrap().len(), 4);
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", test_key().to_hex()))
        .unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // A file from a newer build is refused with a clear code.
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Inbox::open(&path, &test_key()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SchemaTooNew);
}

#[tokio::test]
async fn ingest_inserts_then_unchanged_then_revised_with_versions_and_audit() {
    let (_d, inbox) = open_temp();
    let v1 = note(
        "n1",
        "2026-02-24T10:30:00+00:00",
        "2026-02-24T10:30:00+00:00",
        "first draft",
        odegard(),
    );
    let r = inbox
        .ingest(vec![v1.clone()], Source::Webhook, vec![])
        .await
        .unwrap();
    assert_eq!(r.inserted, vec!["n1"]);
    let rec = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!(rec.status, Status::New);
    assert_eq!(rec.source, Source::Webhook);
    assert_eq!(rec.raw, v1.raw, "raw JSON survives exactly");
    assert_eq!(rec.to_note(), v1);

    // Same updatedAt written with another offset: the same instant, so unchanged.
    let same = note(
        "n1",
        "2026-02-24T10:30:00Z",
        "2026-02-24T11:30:00+01:00",
        "first draft",
        odegard(),
    );
    let r = inbox
        .ingest(vec![same], Source::Poll, vec![])
        .await
        .unwrap();
    assert_eq!(
        (r.inserted.len(), r.revised.len(), r.unchanged, r.stale),
        (0, 0, 1, 0)
    );

    inbox
        .set_status("n1", Status::Imported, "dr.martin")
        .await
        .unwrap();
    let v2 = note(
        "n1",
        "2026-02-24T10:30:00+00:00",
        "2026-02-24T12:00:00+00:00",
        "second draft",
        odegard(),
    );
    let r = inbox.ingest(vec![v2], Source::Poll, vec![]).await.unwrap();
    assert_eq!(r.revised, vec!["n1"]);
    let rec = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!(rec.status, Status::Revised);
    assert_eq!(rec.content, "second draft");
    assert_eq!(rec.updated_at_raw, "2026-02-24T12:00:00+00:00");
    let counts = inbox.counts().await.unwrap();
    assert_eq!(
        (
            counts[&Status::Revised],
            counts[&Status::Imported],
            counts[&Status::New]
        ),
        (1, 0, 0)
    );
    let versions = inbox.versions("n1").await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].content, "first draft");
    assert_eq!(versions[0].status, Status::Imported);
    assert_eq!(versions[0].raw, v1.raw);

    let log = inbox.audit_log(Some("n1".into()), 10).await.unwrap();
    let actions: Vec<_> = log
        .iter()
        .map(|e| (e.action.as_str(), e.from_status, e.to_status))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("revised", Some(Status::Imported), Some(Status::Revised)),
            ("status_changed", Some(Status::New), Some(Status::Imported)),
            ("received", None, Some(Status::New)),
        ]
    );
    assert_eq!(log[2].detail, json!({"source": "webhook"}));
    assert_eq!(log[2].actor, "sync");
    assert_eq!(log[1].actor, "dr.martin");

    // Old content found no more, new content found.
    assert!(inbox
        .search("first", SearchQuery::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        uuids(
            &inbox
                .search("second", SearchQuery::default())
                .await
                .unwrap()
        ),
        vec!["n1"]
    );
    // A second revision keeps both old versions, oldest first.
    let v3 = note(
        "n1",
        "2026-02-24T10:30:00+00:00",
        "2026-02-24T13:00:00+00:00",
        "third draft",
        odegard(),
    );
    inbox.ingest(vec![v3], Source::Poll, vec![]).await.unwrap();
    let contents: Vec<_> = inbox
        .versions("n1")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.content)
        .collect();
    assert_eq!(contents, vec!["first draft", "second draft"]);
}

#[tokio::test]
async fn older_updated_at_is_ignored() {
    let (_d, inbox) = open_temp();
    let new = note(
        "n1",
        "2026-02-24T10:00:00Z",
        "2026-02-24T12:00:00Z",
        "newer",
        Value::Null,
    );
    let old = note(
        "n1",
        "2026-02-24T10:00:00Z",
        "2026-02-24T11:00:00Z",
        "older",
        Value::Null,
    );
    inbox.ingest(vec![new], Source::Poll, vec![]).await.unwrap();
    let r = inbox
        .ingest(vec![old], Source::Webhook, vec![])
        .await
        .unwrap();
    assert_eq!(
        (r.inserted.len(), r.revised.len(), r.unchanged, r.stale),
        (0, 0, 0, 1)
    );
    let rec = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!(rec.content, "newer");
    assert_eq!(rec.status, Status::New);
    assert!(inbox.versions("n1").await.unwrap().is_empty());
}

#[tokio::test]
async fn duplicates_within_a_batch_count_once() {
    let (_d, inbox) = open_temp();
    let a = note(
        "n1",
        "2026-02-24T10:00:00Z",
        "2026-02-24T10:00:00Z",
        "v1",
        Value::Null,
    );
    let b = note(
        "n1",
        "2026-02-24T10:00:00Z",
        "2026-02-24T11:00:00Z",
        "v2",
        Value::Null,
    );
    let r = inbox
        .ingest(
            vec![a.clone(), b.clone(), a.clone(), b],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(r.inserted, vec!["n1"]);
    assert!(r.revised.is_empty());
    assert_eq!(r.unchanged + r.stale, 3);
    let rec = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!((rec.content.as_str(), rec.status), ("v2", Status::New));
    assert_eq!(inbox.audit_log(None, 100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn ingest_and_sync_state_are_atomic() {
    let (_d, inbox) = open_temp();
    inbox
        .set_sync_state(vec![("watermark".into(), "w0".into())])
        .await
        .unwrap();
    let good = note(
        "n1",
        "2026-02-24T10:00:00Z",
        "2026-02-24T10:00:00Z",
        "ok",
        odegard(),
    );
    let mut bad = note(
        "n2",
        "2026-02-24T10:00:00Z",
        "2026-02-24T10:00:00Z",
        "bad",
        Value::Null,
    );
    bad.uuid = String::new(); // invalid item after a valid one
    let err = inbox
        .ingest(
            vec![good.clone(), bad],
            Source::Poll,
            vec![("watermark".into(), "w1".into())],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        inbox.get("n1").await.unwrap().is_none(),
        "no note from the failed batch"
    );
    assert_eq!(
        inbox.sync_state("watermark").await.unwrap().as_deref(),
        Some("w0")
    );
    assert!(inbox.patients(None, 10).await.unwrap().is_empty());
    assert!(inbox
        .search("ok", SearchQuery::default())
        .await
        .unwrap()
        .is_empty());

    // A createdAt the time key cannot hold fails the same way.
    let mut far = good.clone();
    far.uuid = "n9".into();
    far.created_at = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let err = inbox
        .ingest(
            vec![good.clone(), far],
            Source::Poll,
            vec![("watermark".into(), "w1".into())],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(inbox.get("n1").await.unwrap().is_none());

    let r = inbox
        .ingest(
            vec![good],
            Source::Poll,
            vec![
                ("watermark".into(), "w1".into()),
                ("page".into(), "3".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.inserted, vec!["n1"]);
    assert_eq!(
        inbox.sync_state("watermark").await.unwrap().as_deref(),
        Some("w1")
    );
    assert_eq!(
        inbox.sync_state("page").await.unwrap().as_deref(),
        Some("3")
    );
    assert_eq!(inbox.sync_state("missing").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_write_and_read_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    let a = Inbox::open(&path, &test_key()).unwrap();
    let b = Inbox::open(&path, &test_key()).unwrap(); // a second "process": its own pool and connections
    let mut tasks = Vec::new();
    for (w, inbox) in [(0, a.clone()), (1, b.clone())] {
        tasks.push(tokio::spawn(async move {
            for batch in 0..20 {
                let notes = (0..25)
                    .map(|i| {
                        let n = batch * 25 + i;
                        note(
                            &format!("w{w}-{n}"),
                            &format!("2026-02-{:02}T10:00:{:02}Z", 1 + n % 28, n % 60),
                            "2026-03-01T00:00:00Z",
                            "shared word",
                            odegard(),
                        )
                    })
                    .collect();
                inbox
                    .ingest(
                        notes,
                        Source::Poll,
                        vec![(format!("w{w}"), batch.to_string())],
                    )
                    .await
                    .unwrap();
                // Both also change statuses on notes the other wrote.
                let _ = inbox
                    .set_status(&format!("w{}-{}", 1 - w, batch), Status::Reviewed, "t")
                    .await;
            }
        }));
    }
    for inbox in [a.clone(), b.clone()] {
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                inbox
                    .list(ListQuery {
                        limit: Some(20),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                inbox
                    .search("shared", SearchQuery::default())
                    .await
                    .unwrap();
                inbox.counts().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total: u64 = b.counts().await.unwrap().values().sum();
    assert_eq!(total, 1000);
    assert_eq!(a.sync_state("w1").await.unwrap().as_deref(), Some("19"));
    let p = a.patients(None, 10).await.unwrap();
    assert_eq!(p[0].note_count, 1000);
}

#[tokio::test]
async fn search_folds_accents_and_case() {
    let (_d, inbox) = open_temp();
    seed(&inbox).await;
    for q in [
        "Odegard",
        "odegard",
        "ØDEGÅRD",
        "Ødegård",
        "odeg",
        "bjorn odegard",
        "BJØRN",
    ] {
        assert_eq!(
            uuids(&inbox.search(q, SearchQuery::default()).await.unwrap()),
            vec!["n1", "n4"],
            "{q}"
        );
    }
    for (q, want) in [
        ("nunez", "n2"),
        ("ZOE", "n2"),
        ("cafe", "n1"),
        ("CAFÉ", "n1"),
        ("strasse", "n3"),
        ("lodz", "n3"),
        ("dorde", "n3"),
        ("4411", "n1"),
        ("referral letter", "n2"),
        ("physio", "n2"),
        ("CHEST pain", "n1"),
    ] {
        let got = inbox.search(q, SearchQuery::default()).await.unwrap();
        assert!(uuids(&got).contains(&want), "{q}: {:?}", uuids(&got));
    }
    // Terms are ANDed.
    assert_eq!(
        uuids(
            &inbox
                .search("pain knee", SearchQuery::default())
                .await
                .unwrap()
        ),
        vec!["n4"]
    );
    // Only the last term is a prefix.
    assert!(inbox
        .search("kne pain", SearchQuery::default())
        .await
        .unwrap()
        .is_empty());
    // Relevance: a name match outranks content.
    let r = inbox
        .search_detailed(
            "pain",
            SearchQuery {
                order: SearchOrder::Relevance,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.order, SearchOrder::Relevance);
    assert_eq!(r.notes.len(), 2);
}

#[tokio::test]
async fn last_word_prefix_matches_with_few_or_many_completions() {
    let (_d, inbox) = open_temp();
    // 40 words sharing the prefix "zz" (more than are expanded into exact terms), plus O'Brien.
    let notes: Vec<_> = (0..40)
        .map(|i| {
            note(
                &format!("z{i}"),
                &format!("2026-01-01T00:00:{i:02}Z"),
                &format!("2026-01-01T00:00:{i:02}Z"),
                &format!("word zz{i:02}x"),
                json!({"uuid": "p-ob", "lastName": "O'Brien"}),
            )
        })
        .collect();
    inbox.ingest(notes, Source::Poll, vec![]).await.unwrap();
    let q = || SearchQuery {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(inbox.search("zz", q()).await.unwrap().len(), 40); // FTS5 prefix query
    assert_eq!(inbox.search("zz1", q()).await.unwrap().len(), 10); // expanded: zz10x..zz19x
    assert_eq!(uuids(&inbox.search("ZZ05", q()).await.unwrap()), vec!["z5"]);
    assert_eq!(inbox.search("zz05x", q()).await.unwrap().len(), 1);
    assert!(inbox.search("zz05xy", q()).await.unwrap().is_empty());
    assert_eq!(inbox.search("o'bri", q()).await.unwrap().len(), 40); // phrase prefix
    assert_eq!(inbox.search("word zz1", q()).await.unwrap().len(), 10);
    assert!(inbox.search("zz1 word", q()).await.unwrap().is_empty()); // only the last word is a prefix
    for order in [SearchOrder::Newest, SearchOrder::Relevance] {
        let r = inbox
            .search("zz0", SearchQuery { order, ..q() })
            .await
            .unwrap();
        assert_eq!(r.len(), 10, "{order:?}");
    }
}

#[tokio::test]
async fn hostile_queries_are_ok() {
    let (_d, inbox) = open_temp();
    seed(&inbox).await;
    for q in [
        "\"unbalanced ( AND OR *",
        "NEAR(",
        "col:",
        "body:pain",
        "^",
        "-",
        "pain -",
        "*",
        "\"\"",
        "AND",
        "OR NOT",
        "((((",
        "{body}",
        "pt:x",
        "'",
        "\0",
        "  ",
        "",
        "a\"b",
        "pain*",
        "🅰",
        "NEAR(pain knee, 2)",
    ] {
        let r = inbox.search(q, SearchQuery::default()).await;
        assert!(r.is_ok(), "{q:?}: {r:?}");
        for order in [SearchOrder::Newest, SearchOrder::Relevance] {
            let q2 = SearchQuery {
                order,
                patient_uuid: Some("p-odegard".into()),
                status: Some(Status::New),
                limit: 5,
                ..Default::default()
            };
            assert!(inbox.search(q, q2).await.is_ok(), "{q:?}");
        }
    }
    assert!(inbox
        .search("( * ^", SearchQuery::default())
        .await
        .unwrap()
        .is_empty());
    // Operators are plain words: "AND" finds nothing here rather than being syntax.
    assert!(inbox
        .search("pain AND", SearchQuery::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn patient_filter_for_list_and_search() {
    let (_d, inbox) = open_temp();
    seed(&inbox).await;
    let pq = |p: &str| SearchQuery {
        patient_uuid: Some(p.into()),
        ..Default::default()
    };
    assert_eq!(
        uuids(&inbox.search("pain", pq("p-odegard")).await.unwrap()),
        vec!["n1", "n4"]
    );
    assert!(inbox
        .search("pain", pq("p-nunez"))
        .await
        .unwrap()
        .is_empty());
    assert!(inbox
        .search("pain", pq("p-unknown"))
        .await
        .unwrap()
        .is_empty());
    // Patient uuids differing only in punctuation share an FTS token; the SQL filter separates them.
    assert!(inbox
        .search("pain", pq("P-ODEGARD"))
        .await
        .unwrap()
        .is_empty());
    assert!(inbox.search("pain", pq("---")).await.unwrap().is_empty());

    let list = inbox
        .list(ListQuery {
            patient_uuid: Some("p-odegard".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(uuids(&list), vec!["n1", "n4"]);
    // Newest first by instant: n4 is 10:00Z (12:00+02:00), n2 11:00Z, n1 10:30Z, n3 09:00Z.
    let all = inbox.list(ListQuery::default()).await.unwrap();
    assert_eq!(uuids(&all), vec!["n2", "n1", "n4", "n3"]);
    let page = inbox
        .list(ListQuery {
            limit: Some(2),
            offset: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(uuids(&page), vec!["n1", "n4"]);

    let patients = inbox.patients(None, 10).await.unwrap();
    assert_eq!(patients.len(), 2);
    let o = patients.iter().find(|p| p.uuid == "p-odegard").unwrap();
    assert_eq!(o.note_count, 2);
    assert_eq!(o.external_id.as_deref(), Some("4411"));
    assert_eq!(o.display_name(), "Ødegård, Bjørn");
    assert_eq!(
        o.latest_note_at.unwrap().to_rfc3339(),
        "2026-02-24T10:30:00+00:00"
    );
    let found = inbox.patients(Some("ODEGÅRD bj".into()), 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].uuid, "p-odegard");
    assert!(inbox
        .patients(Some("zzz".into()), 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn same_instant_notes_keep_a_stable_order() {
    let (_d, inbox) = open_temp();
    let notes: Vec<_> = (0..50)
        .map(|i| {
            note(
                &format!("s{i:02}"),
                "2026-02-24T10:30:00Z",
                "2026-02-24T10:30:00Z",
                "same second",
                Value::Null,
            )
        })
        .collect();
    inbox.ingest(notes, Source::Poll, vec![]).await.unwrap();
    let later = note(
        "later",
        "2026-02-24T10:30:00.5Z",
        "2026-02-24T10:30:00.5Z",
        "same second",
        Value::Null,
    );
    let earlier = note(
        "earlier",
        "2026-02-24T10:29:59Z",
        "2026-02-24T10:29:59Z",
        "same second",
        Value::Null,
    );
    inbox
        .ingest(vec![later, earlier], Source::Poll, vec![])
        .await
        .unwrap();
    let list = inbox.list(ListQuery::default()).await.unwrap();
    let mut want: Vec<String> = vec!["later".into()];
    want.extend((0..50).rev().map(|i| format!("s{i:02}")));
    want.push("earlier".into());
    assert_eq!(
        list.iter().map(|n| n.uuid.clone()).collect::<Vec<_>>(),
        want
    );
    let found = inbox
        .search(
            "same",
            SearchQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|n| n.uuid.clone()).collect::<Vec<_>>(),
        want
    );
    // A revision that moves createdAt moves the note in the order.
    let moved = note(
        "s00",
        "2026-02-25T00:00:00Z",
        "2026-02-25T00:00:00Z",
        "same second",
        Value::Null,
    );
    inbox
        .ingest(vec![moved], Source::Poll, vec![])
        .await
        .unwrap();
    let first = inbox
        .list(ListQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first[0].uuid, "s00");
    assert_eq!(
        uuids(
            &inbox
                .search(
                    "same",
                    SearchQuery {
                        limit: 1,
                        ..Default::default()
                    }
                )
                .await
                .unwrap()
        ),
        vec!["s00"]
    );
}

#[tokio::test]
async fn status_transitions_are_audited() {
    let (_d, inbox) = open_temp();
    seed(&inbox).await;
    let c = inbox
        .set_status("n1", Status::Reviewed, "anne")
        .await
        .unwrap();
    assert!(c.changed);
    assert_eq!((c.from, c.to), (Status::New, Status::Reviewed));
    let same = inbox
        .set_status("n1", Status::Reviewed, "anne")
        .await
        .unwrap();
    assert!(!same.changed);
    assert_eq!(same.audit_id, None);
    let err = inbox
        .set_status("n1", Status::Revised, "anne")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    assert_eq!(err.code().as_str(), "invalid_transition");
    let err = inbox
        .set_status("nope", Status::Reviewed, "anne")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.to_string().contains("nope"));
    inbox
        .set_status("n1", Status::Imported, "anne")
        .await
        .unwrap();
    let err = inbox
        .set_status("n1", Status::New, "anne")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    inbox
        .set_status("n2", Status::Dismissed, "bob")
        .await
        .unwrap();
    inbox.set_status("n2", Status::New, "bob").await.unwrap(); // restored

    inbox
        .record_event(
            "n1",
            "anne",
            "import_attempt",
            json!({"target": "practice-db", "result": "ok"}),
        )
        .await
        .unwrap();
    let err = inbox
        .record_event("nope", "anne", "import_attempt", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);

    let log = inbox.audit_log(Some("n1".into()), 10).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "import_attempt",
            "status_changed",
            "status_changed",
            "received"
        ]
    );
    assert_eq!(log[0].detail["target"], "practice-db");
    assert_eq!(inbox.audit_log(None, 3).await.unwrap().len(), 3);
    assert_eq!(
        inbox
            .list(ListQuery {
                status: Some(Status::Imported),
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    let by_status = inbox
        .search(
            "pain",
            SearchQuery {
                status: Some(Status::New),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(uuids(&by_status), vec!["n4"]);
}

#[tokio::test]
async fn counts_include_every_status() {
    let (_d, inbox) = open_temp();
    let empty = inbox.counts().await.unwrap();
    assert_eq!(empty.len(), 5);
    assert!(empty.values().all(|n| *n == 0));
    seed(&inbox).await;
    inbox
        .set_status("n1", Status::Dismissed, "x")
        .await
        .unwrap();
    let c = inbox.counts().await.unwrap();
    assert_eq!(c[&Status::New], 3);
    assert_eq!(c[&Status::Dismissed], 1);
    assert_eq!(c[&Status::Revised], 0);
}

#[tokio::test]
async fn askara_json_shape() {
    let (_d, inbox) = open_temp();
    seed(&inbox).await;
    let n3 = inbox.get("n3").await.unwrap().unwrap();
    assert_eq!(
        n3.to_askara_json(),
        json!({"uuid": "n3", "type": "consultation_summary",
               "content": "Follow-up: blood pressure stable. Straße Łódź Đorđe.",
               "createdAt": "2026-02-24T09:00:00Z", "updatedAt": "2026-02-24T09:00:00Z",
               "patient": null, "status": "new", "verified": true})
    );
    let keys: Vec<_> = n3
        .to_askara_json()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "uuid",
            "type",
            "content",
            "createdAt",
            "updatedAt",
            "patient",
            "status",
            "verified"
        ]
    );
    let n1 = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!(
        n1.to_askara_json()["patient"],
        // Askara's field names; the date of birth is null until the patient is fetched.
        json!({"uuid": "p-odegard", "firstName": "Bjørn", "lastName": "Ødegård",
               "dateOfBirth": null, "externalId": "4411"})
    );
    assert_eq!(
        n1.to_askara_json()["createdAt"],
        "2026-02-24T10:30:00+00:00"
    );
}

#[test]
fn status_parses_with_a_helpful_error() {
    assert_eq!("Reviewed".parse::<Status>().unwrap(), Status::Reviewed);
    assert_eq!(
        serde_json::to_value(Status::Imported).unwrap(),
        json!("imported")
    );
    let err = "done".parse::<Status>().unwrap_err();
    assert!(err
        .to_string()
        .contains("new, reviewed, imported, dismissed, revised"));
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!("webhook".parse::<Source>().unwrap(), Source::Webhook);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_reads_do_not_starve_the_runtime() {
    let (_d, inbox) = open_temp();
    seed(&inbox).await;
    let ticker = tokio::spawn(async {
        let start = std::time::Instant::now();
        let mut worst = std::time::Duration::ZERO;
        for _ in 0..40 {
            let t = std::time::Instant::now();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            worst = worst.max(t.elapsed());
        }
        (worst, start.elapsed())
    });
    let reads: Vec<_> = (0..1000)
        .map(|i| {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    inbox
                        .search("pain", SearchQuery::default())
                        .await
                        .map(|v| v.len())
                } else {
                    inbox.list(ListQuery::default()).await.map(|v| v.len())
                }
            })
        })
        .collect();
    for r in reads {
        assert!(r.await.unwrap().unwrap() >= 2);
    }
    let (worst, _) = ticker.await.unwrap();
    assert!(
        worst < std::time::Duration::from_millis(500),
        "timer starved for {worst:?}"
    );
}

#[test]
fn inbox_is_send_sync_and_cheap_to_clone() {
    fn is<T: Send + Sync + Clone + 'static>() {}
    is::<Inbox>();
}

#[test]
fn newest_first_search_is_driven_by_fts_rowid_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    drop(Inbox::open(&path, &test_key()).unwrap());
    for q in [
        SearchQuery::default(),
        SearchQuery {
            status: Some(Status::New),
            patient_uuid: Some("p".into()),
            ..Default::default()
        },
    ] {
        let plan = explain_search(&path, &test_key(), "pain", &q)
            .unwrap()
            .join(" | ");
        assert!(plan.starts_with("SCAN notes_fts"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_breaks_fts(text in any::<String>(), text2 in "[\"()*^:{}\\-+ a-zA-ZøØæß]{0,20}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let inbox = INBOX.with(|(_, i)| i.clone());
        rt.block_on(async {
            for t in [&text, &text2] {
                for order in [SearchOrder::Newest, SearchOrder::Relevance] {
                    let q = SearchQuery { order, patient_uuid: Some(t.clone()), ..Default::default() };
                    prop_assert!(inbox.search(t, q).await.is_ok());
                }
                prop_assert!(inbox.patients(Some(t.clone()), 5).await.is_ok());
            }
            Ok(())
        })?;
    }

    #[test]
    fn fold_is_idempotent_and_lowercase(text in any::<String>()) {
        let f = fold(&text);
        prop_assert_eq!(fold(&f), f.clone());
        let terms: HashSet<String> = search_terms(&text).into_iter().collect();
        for t in terms {
            prop_assert!(!t.contains('"'));
        }
    }
}

thread_local! {
    /// One seeded inbox per proptest thread (the folder goes when the thread ends).
    static INBOX: (tempfile::TempDir, Inbox) = {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(dir.path().join("prop.sqlite"), &test_key()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(seed(&inbox));
        (dir, inbox)
    };
}

#[tokio::test]
async fn an_unverified_payload_never_changes_a_verified_note_and_askara_replaces_it() {
    let (_d, inbox) = open_temp();
    let real = note(
        "v1",
        "2026-02-24T09:00:00Z",
        "2026-02-24T09:00:00Z",
        "Real content.",
        odegard(),
    );
    inbox
        .ingest(vec![real.clone()], Source::Poll, Vec::new())
        .await
        .unwrap();
    // A forged payload: later updatedAt, other content, other patient name.
    let forged = note(
        "v1",
        "2026-02-24T09:00:00Z",
        "2099-01-01T00:00:00Z",
        "Forged content.",
        json!({"uuid": "p-odegard", "firstName": "Mallory", "lastName": "Forger"}),
    );
    let r = inbox
        .ingest_from(
            vec![forged.clone()],
            Origin::unverified_webhook(),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!((r.inserted.len(), r.revised.len(), r.stale), (0, 0, 1));
    let stored = inbox.get("v1").await.unwrap().unwrap();
    assert_eq!(stored.content, "Real content.");
    assert!(stored.verified);
    assert_eq!(stored.status, Status::New);

    // A note only a payload brought is stored, marked unverified, with its author.
    let mut origin = Origin::unverified_webhook();
    origin.authors.insert("u1".into(), "user-7".into());
    let payload = note(
        "u1",
        "2026-02-24T10:00:00Z",
        "2099-01-01T00:00:00Z",
        "Payload.",
        Value::Null,
    );
    inbox
        .ingest_from(vec![payload], origin, Vec::new())
        .await
        .unwrap();
    let stored = inbox.get("u1").await.unwrap().unwrap();
    assert!(!stored.verified);
    assert_eq!(stored.author_user_id.as_deref(), Some("user-7"));

    // Askara's own version replaces it, although its updatedAt is older than the payload's;
    // the payload is kept as an earlier version, the author stays.
    let askara = note(
        "u1",
        "2026-02-24T10:00:00Z",
        "2026-02-24T10:00:00Z",
        "Askara's.",
        Value::Null,
    );
    let r = inbox
        .ingest(vec![askara.clone()], Source::Poll, Vec::new())
        .await
        .unwrap();
    assert_eq!(r.revised, vec!["u1".to_string()]);
    let stored = inbox.get("u1").await.unwrap().unwrap();
    assert_eq!(stored.content, "Askara's.");
    assert!(stored.verified);
    assert_eq!(stored.author_user_id.as_deref(), Some("user-7"));
    assert_eq!(inbox.versions("u1").await.unwrap().len(), 1);

    // A payload confirmed as delivered only loses its mark.
    let same = note(
        "c1",
        "2026-02-24T11:00:00Z",
        "2026-02-24T11:00:00Z",
        "Same.",
        Value::Null,
    );
    inbox
        .ingest_from(vec![same.clone()], Origin::unverified_webhook(), Vec::new())
        .await
        .unwrap();
    let r = inbox
        .ingest(vec![same], Source::Webhook, Vec::new())
        .await
        .unwrap();
    assert_eq!((r.revised.len(), r.unchanged), (0, 1));
    let stored = inbox.get("c1").await.unwrap().unwrap();
    assert!(stored.verified);
    assert_eq!(stored.status, Status::New);
}

#[tokio::test]
async fn notes_sharing_a_created_instant_keep_arrival_order_among_neighbours() {
    let (_dir, inbox) = open_temp();
    let at = |t: &str| format!("2026-02-24T10:30:{t}+00:00");
    // A note at .9 first, then three at .5 in separate batches, then one more at .9.
    for (uuid, t) in [
        ("late-1", "00.900"),
        ("same-1", "00.500"),
        ("same-2", "00.500"),
        ("same-3", "00.500"),
        ("late-2", "00.900"),
    ] {
        inbox
            .ingest(
                vec![note(uuid, &at(t), &at(t), "Synthetic.", Value::Null)],
                Source::Poll,
                Vec::new(),
            )
            .await
            .unwrap();
    }
    let order: Vec<String> = inbox
        .list(ListQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.uuid)
        .collect();
    // Newest first: the .9 notes (latest arrival first), then the .5 ones the same way.
    assert_eq!(order, ["late-2", "late-1", "same-3", "same-2", "same-1"]);
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
