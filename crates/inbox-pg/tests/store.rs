//! The shared inbox against a real PostgreSQL the test starts: init, the store's rules, roles as
//! audit actors, the audit chain, search, live changes and the one-poller lock.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use import::pg_harness::TestPostgres;
use import::{PgSpec, TargetSpec};
use inbox::{
    AuditCheck, AuditProblem, InboxError, InboxStore, ListQuery, Origin, SearchQuery, Source,
    Status, WebhookQueue,
};
use inbox_pg::PgInbox;

fn spec(pg: &TestPostgres, user: &str, password: &str) -> PgSpec {
    let url = pg
        .url_without_password
        .replacen(import::pg_harness::USER, user, 1);
    match TargetSpec::parse(&url).unwrap().with_password(password) {
        TargetSpec::Postgres(p) => p,
        other => panic!("not postgres: {other:?}"),
    }
}

async fn owner(pg: &TestPostgres) -> PgInbox {
    let s = spec(pg, import::pg_harness::USER, &pg.password);
    inbox_pg::init(s.clone(), "test".into()).await.unwrap();
    PgInbox::connect(s, "test".into()).await.unwrap()
}

/// A login role that is a member of `group`, connected.
async fn member(pg: &TestPostgres, name: &str, group: &str) -> PgInbox {
    pg.run_sql(&format!(
        "CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}' IN ROLE {group}"
    ))
    .unwrap();
    PgInbox::connect(spec(pg, name, &format!("pw-{name}")), "test".into())
        .await
        .unwrap()
}

fn note(uuid: &str, updated: &str, content: &str) -> askara::Note {
    let v = serde_json::json!({
        "uuid": uuid, "type": "consultation_note", "content": content,
        "createdAt": "2026-12-01T08:00:00Z", "updatedAt": updated,
        "patient": {"uuid": format!("p-{uuid}"), "firstName": "Åse", "lastName": "Ødegård",
                    "externalId": "EXT-1"}
    });
    askara::Note::from_json(v).unwrap()
}

fn poll() -> Origin {
    Origin::verified(Source::Poll)
}

#[tokio::test]
async fn init_is_idempotent_and_a_desk_without_it_is_told_what_to_run() {
    let pg = TestPostgres::start().unwrap();
    let s = spec(&pg, import::pg_harness::USER, &pg.password);
    let e = PgInbox::connect(s.clone(), "clinic".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("inbox init"), "{e}");
    assert!(!e.to_string().contains('\n'));
    let first = inbox_pg::init(s.clone(), "clinic".into()).await.unwrap();
    assert_eq!(
        (first.from_version, first.to_version),
        (0, inbox_pg::SCHEMA_VERSION)
    );
    assert_eq!(first.created_roles.len(), 3);
    let again = inbox_pg::init(s.clone(), "clinic".into()).await.unwrap();
    assert_eq!(again.from_version, inbox_pg::SCHEMA_VERSION);
    assert!(again.created_roles.is_empty());
    PgInbox::connect(s.clone(), "clinic".into()).await.unwrap();

    // A desk older than the server's schema: told to update itself, naming the server.
    pg.run_sql("INSERT INTO askara_inbox.schema_migrations (version) VALUES (99)")
        .unwrap();
    for e in [
        PgInbox::connect(s.clone(), "clinic-db:5432/askara".into())
            .await
            .unwrap_err(),
        inbox_pg::init(s, "clinic-db:5432/askara".into())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), inbox::ErrorCode::SchemaTooNew);
        let m = e.to_string();
        assert!(m.contains("clinic inbox at clinic-db:5432/askara"), "{m}");
        assert!(
            m.contains("version 99") && m.contains("update Askara Inbox"),
            "{m}"
        );
    }
}

#[tokio::test]
async fn ingest_is_idempotent_keeps_versions_and_search_folds_accents() {
    let pg = TestPostgres::start().unwrap();
    let inbox = owner(&pg).await;
    let n1 = note("n1", "2026-12-01T08:00:00Z", "Blood pressure reviewed.");
    let r = inbox
        .ingest_from(
            vec![n1.clone(), n1.clone()],
            poll(),
            vec![("cursor".into(), "a".into())],
        )
        .await
        .unwrap();
    assert_eq!(r.inserted, vec!["n1".to_string()]);
    assert_eq!(r.unchanged, 1);
    let again = inbox.ingest_from(vec![n1], poll(), vec![]).await.unwrap();
    assert!(!again.changed());
    assert_eq!(
        inbox.sync_state("cursor").await.unwrap().as_deref(),
        Some("a")
    );

    inbox
        .set_status("n1", Status::Reviewed, "ignored")
        .await
        .unwrap();
    let n1b = note(
        "n1",
        "2026-12-01T09:00:00.123456789Z",
        "Blood pressure high: hypertension.",
    );
    let r = inbox.ingest_from(vec![n1b], poll(), vec![]).await.unwrap();
    assert_eq!(r.revised, vec!["n1".to_string()]);
    let got = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!(got.status, Status::Revised);
    assert_eq!(got.updated_at_raw, "2026-12-01T09:00:00.123456789Z");
    let older = note("n1", "2026-12-01T08:30:00Z", "older");
    assert_eq!(
        inbox
            .ingest_from(vec![older], poll(), vec![])
            .await
            .unwrap()
            .stale,
        1
    );
    let versions = inbox.versions("n1").await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].content, "Blood pressure reviewed.");
    // Nanoseconds survive, so the same revision again is unchanged, not revised again.
    let same = note(
        "n1",
        "2026-12-01T09:00:00.123456789Z",
        "Blood pressure high: hypertension.",
    );
    assert_eq!(
        inbox
            .ingest_from(vec![same], poll(), vec![])
            .await
            .unwrap()
            .unchanged,
        1
    );

    inbox
        .ingest_from(
            vec![note("n2", "2026-12-01T08:00:00Z", "Knee pain.")],
            poll(),
            vec![],
        )
        .await
        .unwrap();
    let q = SearchQuery::default();
    let by = |t: &'static str| {
        let inbox = inbox.clone();
        let q = q.clone();
        async move {
            let mut u: Vec<String> = inbox
                .search_detailed(t, q)
                .await
                .unwrap()
                .notes
                .into_iter()
                .map(|n| n.uuid)
                .collect();
            u.sort();
            u
        }
    };
    assert_eq!(by("HYPERTENS").await, vec!["n1"]);
    assert_eq!(by("odegard knee").await, vec!["n2"]);
    assert_eq!(by("ØDEGÅRD").await, vec!["n1", "n2"]);
    assert_eq!(by("ase hyp").await, vec!["n1"]);
    assert!(by("nothing-like-this").await.is_empty());
    assert!(by("'&|!:*").await.is_empty());
    let patients = inbox.patients(Some("odeg".into()), 10).await.unwrap();
    assert_eq!(patients.len(), 2);
    let counts = inbox.counts().await.unwrap();
    assert_eq!(counts[&Status::Revised], 1);
    assert_eq!(counts[&Status::New], 1);
    let list = inbox
        .list(ListQuery {
            patient_uuid: Some("p-n2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert!(
        matches!(inbox.verify_audit().await.unwrap(), AuditCheck::Intact { rows, .. } if rows >= 4)
    );
}

#[tokio::test]
async fn a_desk_acts_as_its_role_and_cannot_forge_or_rewrite_the_trail() {
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    server
        .ingest_from(
            vec![note("n1", "2026-12-01T08:00:00Z", "text")],
            poll(),
            vec![],
        )
        .await
        .unwrap();
    let desk = member(&pg, "dr_hansen", inbox_pg::STAFF_ROLE).await;
    assert_eq!(desk.role(), "dr_hansen");
    // The actor passed is ignored: the database says who it is.
    let change = desk
        .set_status("n1", Status::Reviewed, "os:someone-else")
        .await
        .unwrap();
    assert!(change.changed);
    let log = server.audit_log(Some("n1".into()), 10).await.unwrap();
    assert_eq!(log[0].actor, "dr_hansen");
    assert_eq!(log[0].action, "status_changed");
    assert!(desk.record_read("n1", "x").await.unwrap());
    assert!(
        !desk.record_read("n1", "x").await.unwrap(),
        "a repeat read within the window"
    );

    // Staff cannot ingest (only the clinic server's poller may).
    let e = desk
        .ingest_from(
            vec![note("n9", "2026-12-01T08:00:00Z", "x")],
            poll(),
            vec![],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("askara_inbox_poller"), "{e}");
    // Nor rewrite or delete audit rows, nor write one in another's name.
    let raw = tokio_postgres_client(&pg, "dr_hansen", "pw-dr_hansen").await;
    for sql in [
        "UPDATE askara_inbox.audit_events SET actor = 'x' WHERE id = 1",
        "DELETE FROM askara_inbox.audit_events WHERE id = 1",
        "INSERT INTO askara_inbox.audit_events (id, at, actor, action, prev_hash, hash)
         VALUES (999, 'x', 'dr_olsen', 'read', 'x', 'x')",
    ] {
        assert!(raw.batch_execute(sql).await.is_err(), "{sql}");
    }
    // The owner, with triggers off, can alter a row: verify names it.
    pg.run_sql(
        "ALTER TABLE askara_inbox.audit_events DISABLE TRIGGER audit_events_no_update;
         UPDATE askara_inbox.audit_events SET actor = 'dr_olsen' WHERE action = 'status_changed';",
    )
    .unwrap();
    match server.verify_audit().await.unwrap() {
        AuditCheck::Broken(b) => assert_eq!(b.problem, AuditProblem::Altered),
        other => panic!("tampering not found: {other:?}"),
    }
}

async fn tokio_postgres_client(pg: &TestPostgres, user: &str, pw: &str) -> tokio_postgres::Client {
    let url = format!(
        "postgres://{user}:{pw}@127.0.0.1:{}/{}?sslmode=disable",
        pg.port,
        import::pg_harness::DATABASE
    );
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c
}

#[tokio::test]
async fn two_desks_at_once_get_one_change_and_every_desk_hears_it() {
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    server
        .ingest_from(
            vec![note("n1", "2026-12-01T08:00:00Z", "text")],
            poll(),
            vec![],
        )
        .await
        .unwrap();
    let a = member(&pg, "reception", inbox_pg::STAFF_ROLE).await;
    let b = member(&pg, "dr_berg", inbox_pg::STAFF_ROLE).await;
    let mut feed = b.listen().await.unwrap();
    let (x, y) = tokio::join!(
        a.set_status("n1", Status::Dismissed, ""),
        b.set_status("n1", Status::Dismissed, "")
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(
        x.changed ^ y.changed,
        "exactly one desk changed it: {x:?} {y:?}"
    );
    let heard = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heard.uuid.as_deref(), Some("n1"));
    let log = server.audit_log(Some("n1".into()), 10).await.unwrap();
    assert_eq!(
        log.iter().filter(|e| e.action == "status_changed").count(),
        1
    );

    // A page of new notes (one INSERT) is heard note by note, and a revision too.
    let page = vec![
        note("n2", "2026-12-01T08:00:00Z", "text"),
        note("n3", "2026-12-01T08:00:00Z", "text"),
        note("n1", "2026-12-01T10:00:00Z", "revised text"),
    ];
    server.ingest_from(page, poll(), vec![]).await.unwrap();
    let mut heard = Vec::new();
    while heard.len() < 3 {
        let c = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .unwrap()
            .unwrap();
        heard.push(c.uuid.unwrap());
    }
    heard.sort();
    assert_eq!(heard, ["n1", "n2", "n3"]);
}

#[tokio::test]
async fn one_poller_holds_the_lock_and_hands_over_when_it_goes() {
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    let other = member(&pg, "server2", inbox_pg::POLLER_ROLE).await;
    let lease = server
        .try_poll_lease()
        .await
        .unwrap()
        .expect("free at first");
    assert!(lease.is_held());
    assert!(other.try_poll_lease().await.unwrap().is_none());
    drop(lease);
    let mut took = None;
    for _ in 0..50 {
        if let Some(l) = other.try_poll_lease().await.unwrap() {
            took = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(took.is_some(), "the standby took over");

    // The poller may merge the search index's pending list (what ingest does after a routine
    // poll); a desk may not.
    let as_poller = tokio_postgres_client(&pg, "server2", "pw-server2").await;
    as_poller
        .execute("SELECT askara_inbox.merge_search_pending()", &[])
        .await
        .unwrap();
    member(&pg, "desk3", inbox_pg::STAFF_ROLE).await;
    let as_desk = tokio_postgres_client(&pg, "desk3", "pw-desk3").await;
    let refused = as_desk
        .execute("SELECT askara_inbox.merge_search_pending()", &[])
        .await
        .unwrap_err();
    assert!(
        refused
            .as_db_error()
            .unwrap()
            .message()
            .contains("permission denied"),
        "{refused}"
    );
}

#[tokio::test]
async fn deliveries_queue_and_retention_prunes_with_audit() {
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    let ids = server
        .enqueue_deliveries(vec![inbox::webhook_queue::NewDelivery {
            body: "{}".into(),
            webhook_id: Some("w".into()),
            event_count: 1,
            received_at: chrono::Utc::now(),
        }])
        .await
        .unwrap();
    let pending = server
        .pending_deliveries(10, 1 << 20, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(pending.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    server
        .mark_processed(vec![(
            ids[0],
            inbox::webhook_queue::DeliveryState::Processed,
            serde_json::json!({}),
        )])
        .await
        .unwrap();
    assert_eq!(server.delivery_counts().await.unwrap().processed, 1);

    server
        .ingest_from(
            vec![note("n1", "2026-12-01T08:00:00Z", "text")],
            poll(),
            vec![],
        )
        .await
        .unwrap();
    server
        .set_status("n1", Status::Dismissed, "")
        .await
        .unwrap();
    let report = server
        .prune(
            chrono::Utc::now() + chrono::Duration::seconds(1),
            "retention",
        )
        .await
        .unwrap();
    assert_eq!(report.notes, 1);
    assert_eq!(report.patients, 1);
    assert!(server.get("n1").await.unwrap().is_none());
    let log = server.audit_log(Some("n1".into()), 10).await.unwrap();
    assert_eq!(log[0].action, "removed");
    assert!(matches!(
        server.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));
    assert!(matches!(
        server.set_status("n1", Status::New, "").await,
        Err(InboxError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_multi_host_url_finds_the_writable_server_and_carries_on_when_one_stops() {
    // Two servers stand in for a primary and its standby (no replication between them: what is
    // tested is how a desk picks and changes server, not PostgreSQL's replication).
    let mut a = TestPostgres::start().unwrap();
    let b = TestPostgres::start().unwrap();
    owner(&a).await;
    owner(&b).await;
    let read_only = |on: &str| {
        b.run_sql(&format!(
            "ALTER SYSTEM SET default_transaction_read_only = {on}"
        ))
        .unwrap();
        b.run_sql("SELECT pg_reload_conf()").unwrap();
    };
    read_only("on");
    let url = format!(
        "postgres://{}@127.0.0.1:{},127.0.0.1:{}/{}?sslmode=disable&target_session_attrs=read-write",
        import::pg_harness::USER,
        b.port,
        a.port,
        import::pg_harness::DATABASE
    );
    let spec = match TargetSpec::parse(&url).unwrap().with_password(&a.password) {
        TargetSpec::Postgres(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(spec.hosts().len(), 2);
    let desk = PgInbox::connect(spec, "clinic".into()).await.unwrap();
    desk.ingest_from(
        vec![note("n1", "2026-12-01T08:00:00Z", "x")],
        poll(),
        vec![],
    )
    .await
    .unwrap();
    let on_a = tokio_postgres_client_at(&a).await;
    let n: i64 = on_a
        .query_one("SELECT count(*) FROM askara_inbox.notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        n, 1,
        "written to the writable server, not the read-only one listed first"
    );

    // The primary stops: with the standby still read-only the desk is told so in one line…
    a.stop();
    let e = loop {
        match desk.get("n1").await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => break e,
        }
    };
    assert!(matches!(e, InboxError::Unreachable(_)), "{e:?}");
    let e = desk.get("n1").await.unwrap_err();
    assert!(e.to_string().contains("read-only"), "{e}");
    assert!(!e.to_string().contains('\n'));
    // …and once it is promoted, the same desk carries on there without being restarted.
    read_only("off");
    desk.ingest_from(
        vec![note("n2", "2026-12-01T08:00:00Z", "x")],
        poll(),
        vec![],
    )
    .await
    .unwrap();
    assert!(desk.get("n2").await.unwrap().is_some());
}

async fn tokio_postgres_client_at(pg: &TestPostgres) -> tokio_postgres::Client {
    tokio_postgres_client(pg, import::pg_harness::USER, &pg.password).await
}

#[tokio::test]
async fn a_clinician_limited_to_own_notes_sees_only_those_and_reception_sees_all() {
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    let origin = Origin {
        source: Source::Webhook,
        verified: true,
        authors: [("mine", "user-lund"), ("theirs", "user-berg")]
            .into_iter()
            .map(|(n, a)| (n.to_string(), a.to_string()))
            .collect(),
    };
    server
        .ingest_from(
            vec![
                note("mine", "2026-12-01T08:00:00Z", "Shoulder pain."),
                note(
                    "theirs",
                    "2026-12-01T09:00:00Z",
                    "Shoulder pain, other clinician.",
                ),
                note(
                    "unknown",
                    "2026-12-01T10:00:00Z",
                    "Shoulder pain, author unknown.",
                ),
            ],
            origin,
            vec![],
        )
        .await
        .unwrap();
    let lund = member(&pg, "dr_lund", inbox_pg::STAFF_ROLE).await;
    let reception = member(&pg, "reception", inbox_pg::STAFF_ROLE).await;
    let all = |s: &PgInbox| {
        let s = s.clone();
        async move {
            let mut u: Vec<String> = s
                .list(ListQuery::default())
                .await
                .unwrap()
                .into_iter()
                .map(|n| n.uuid)
                .collect();
            u.sort();
            u
        }
    };
    // Off by default: every desk sees every note.
    assert_eq!(all(&lund).await.len(), 3);
    pg.run_sql(&format!(
        "GRANT {} TO dr_lund; INSERT INTO askara_inbox.clinician_authors VALUES ('dr_lund', 'user-lund');",
        inbox_pg::AUTHOR_ONLY_ROLE
    ))
    .unwrap();
    let lund = PgInbox::connect(spec(&pg, "dr_lund", "pw-dr_lund"), "test".into())
        .await
        .unwrap();
    assert_eq!(all(&lund).await, vec!["mine"]);
    let found: Vec<String> = lund
        .search_detailed("shoulder", SearchQuery::default())
        .await
        .unwrap()
        .notes
        .into_iter()
        .map(|n| n.uuid)
        .collect();
    assert_eq!(found, vec!["mine"]);
    assert!(lund.get("theirs").await.unwrap().is_none());
    assert!(matches!(
        lund.set_status("theirs", Status::Dismissed, "").await,
        Err(InboxError::NotFound { .. })
    ));
    assert_eq!(lund.counts().await.unwrap().values().sum::<u64>(), 1);
    assert_eq!(lund.patients(None, 10).await.unwrap().len(), 1);
    assert_eq!(all(&reception).await, vec!["mine", "theirs", "unknown"]);
}

#[tokio::test]
async fn a_desks_search_can_use_the_search_index_under_the_row_policies() {
    // Policy conditions are a security barrier: a condition on every role's rows kept the GIN
    // index from serving a desk's search (0.5 s at 100,000 notes). The author-only policy
    // applies to its role alone, so a desk's search plan uses `notes_search`.
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    server
        .ingest_from(
            vec![note("n1", "2026-12-01T08:00:00Z", "zolmitriptan")],
            poll(),
            vec![],
        )
        .await
        .unwrap();
    member(&pg, "reception", inbox_pg::STAFF_ROLE).await;
    let desk = tokio_postgres_client(&pg, "reception", "pw-reception").await;
    desk.batch_execute("SET enable_seqscan = off; SET enable_indexscan = off")
        .await
        .unwrap();
    let plan: Vec<String> = desk
        .query(
            "EXPLAIN SELECT uuid FROM askara_inbox.notes n
              WHERE n.search_doc @@ '''zolmi'':*'::tsquery
              ORDER BY n.created_at DESC, n.id DESC LIMIT 50",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("notes_search")),
        "{}",
        plan.join("\n")
    );
}

/// A note's patient: uuid (`None`: none given), last name, external id, date of birth.
type Named<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

/// A synthetic note naming `patient` (`None`: no patient at all).
fn note_of(uuid: &str, updated: &str, patient: Option<Named<'_>>) -> askara::Note {
    let mut v = serde_json::json!({
        "uuid": uuid, "type": "consultation_note", "content": format!("Synthetic note {uuid}."),
        "createdAt": "2026-12-01T08:00:00Z", "updatedAt": updated,
    });
    if let Some((puuid, last, ext, dob)) = patient {
        v["patient"] = serde_json::json!({
            "uuid": puuid, "firstName": "Kari", "lastName": last,
            "externalId": ext, "dateOfBirth": dob,
        });
    }
    askara::Note::from_json(v).unwrap()
}

/// Everything ingest decides, as comparable text: reports, notes with the identifiers kept
/// with them, patients with their counts, who is to be fetched, and the audit rows per note
/// (sorted: the two stores may order one batch's rows differently, each chain intact).
async fn outcome(store: &dyn InboxStore, reports: &[inbox::IngestReport]) -> Vec<String> {
    let mut out: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "report +{:?} ~{:?} ={} stale {}",
                r.inserted, r.revised, r.unchanged, r.stale
            )
        })
        .collect();
    let mut notes = store
        .list(ListQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    notes.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    for n in notes {
        let p = n.patient.unwrap_or_default();
        out.push(format!(
            "note {} {:?} verified {} author {:?} patient {:?} {:?} {:?} ext {:?} dob {:?}",
            n.uuid,
            n.status,
            n.verified,
            n.author_user_id,
            p.uuid,
            p.first_name,
            p.last_name,
            p.external_id,
            p.date_of_birth
        ));
        for v in store.versions(&n.uuid).await.unwrap() {
            out.push(format!("  version {} {:?}", v.content, v.status));
        }
        if let Some(a) = store.patient_assignment(&n.uuid).await.unwrap() {
            out.push(format!(
                "  assigned to {} by {}",
                a.practice_patient_id, a.assigned_by
            ));
        }
    }
    let mut patients = store.patients(None, 100).await.unwrap();
    patients.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    for p in patients {
        out.push(format!(
            "patient {} {:?} {:?} ext {:?} dob {:?} notes {} latest {:?}",
            p.uuid,
            p.first_name,
            p.last_name,
            p.external_id,
            p.date_of_birth,
            p.note_count,
            p.latest_note_at
        ));
    }
    for q in ["odeg", "berg", "e3", "1980", "p3"] {
        let mut found: Vec<String> = store
            .patients(Some(q.into()), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.uuid)
            .collect();
        found.sort();
        out.push(format!("patients matching {q}: {found:?}"));
    }
    let mut fetch = store.patients_to_fetch(100).await.unwrap();
    fetch.sort();
    out.push(format!("to fetch {fetch:?}"));
    let mut audit: Vec<String> = store
        .audit_log(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            format!(
                "audit {:?} {} {} {:?}→{:?} {}",
                e.note_uuid, e.actor, e.action, e.from_status, e.to_status, e.detail
            )
        })
        .collect();
    audit.sort();
    out.extend(audit);
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));
    out
}

/// The shared inbox writes a batch's new notes set-based (a handful of statements per page);
/// it must decide exactly what the SQLite inbox decides note by note, including a batch that
/// describes one patient several ways, revisions next to new notes of the same patient,
/// patients without uuid, a delivery not yet confirmed and then confirmed.
#[tokio::test]
async fn the_same_batches_leave_the_shared_inbox_as_they_leave_a_local_one() {
    let pg = TestPostgres::start().unwrap();
    let shared = owner(&pg).await;
    let dir = tempfile::tempdir().unwrap();
    let local = inbox::Inbox::open(
        dir.path().join("inbox.sqlite3"),
        &inbox::InboxKey::from_bytes([7; 32]),
    )
    .unwrap();
    let t1 = "2026-12-01T08:00:00Z";
    let t2 = "2026-12-01T09:00:00Z";
    let webhook = {
        let mut o = Origin::unverified_webhook();
        o.authors.insert("w1".into(), "user-1".into());
        o
    };
    let batches: Vec<(Vec<askara::Note>, Origin)> = vec![
        (
            vec![
                note_of("a1", t1, Some((Some("P1"), "Ødegård", Some("E1"), None))),
                note_of(
                    "a2",
                    t1,
                    Some((Some("P1"), "Ødegård", None, Some("1980-01-01"))),
                ),
                note_of("a3", t1, Some((Some("P1"), "Odegaard", Some("E2"), None))),
                note_of("a4", t1, None),
                note_of("a5", t1, Some((None, "Nilsen", Some("E9"), None))),
                note_of("a6", t1, Some((Some("P2"), "Berg", None, None))),
            ],
            poll(),
        ),
        (
            vec![
                // P2 again, as stored: nothing new to ask Askara about P2 from this one.
                note_of("b1", t1, Some((Some("P2"), "Berg", None, None))),
                // a1 revised onto P2, a new note of P1 after it, a6 unchanged, a2 stale.
                note_of("a1", t2, Some((Some("P2"), "Berg", Some("E3"), None))),
                note_of("b2", t1, Some((Some("P1"), "Odegaard", None, None))),
                note_of("a6", t1, Some((Some("P2"), "Berg", None, None))),
                note_of("a2", "2026-12-01T07:00:00Z", None),
            ],
            poll(),
        ),
        (
            vec![note_of("w1", t1, Some((Some("P3"), "Dahl", None, None)))],
            webhook,
        ),
        (
            vec![
                note_of("w1", t1, Some((Some("P3"), "Dahl", None, None))),
                note_of("a5", t2, Some((None, "Nilsen", None, Some("1990-02-02")))),
            ],
            poll(),
        ),
    ];
    let (mut from_local, mut from_shared) = (Vec::new(), Vec::new());
    for (i, (notes, origin)) in batches.into_iter().enumerate() {
        from_local.push(
            local
                .ingest_from(notes.clone(), origin.clone(), vec![])
                .await
                .unwrap(),
        );
        from_shared.push(shared.ingest_from(notes, origin, vec![]).await.unwrap());
        if i == 0 {
            // P2 fetched from Askara as the note gave it: not asked again until a note differs.
            let found = askara::Patient {
                uuid: Some("P2".into()),
                first_name: Some("Kari".into()),
                last_name: Some("Berg".into()),
                ..Default::default()
            };
            for s in [&local as &dyn InboxStore, &shared] {
                s.record_patient_fetches(
                    vec![("P2".into(), inbox::PatientFetch::Found(found.clone()))],
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
                // a1 and a3 assigned by hand: a1's revision names another patient (its
                // assignment is cleared in the middle of the batch), a3's stays.
                for uuid in ["a1", "a3"] {
                    let choice = inbox::NewAssignment {
                        practice_patient_id: format!("PR-{uuid}"),
                        patient_name: None,
                        date_of_birth: None,
                        external_id: None,
                        target: "sqlite:/practice.db".into(),
                    };
                    // The shared inbox names the connected role whatever is passed.
                    s.assign_patient(uuid, choice, import::pg_harness::USER)
                        .await
                        .unwrap();
                }
            }
        }
    }
    let (l, s) = (
        outcome(&local, &from_local).await,
        outcome(&shared, &from_shared).await,
    );
    assert_eq!(l.join("\n"), s.join("\n"));
    // Not two empty mirrors: the batches did what they say.
    let all = l.join("\n");
    assert!(
        all.contains("+[\"a1\", \"a2\", \"a3\", \"a4\", \"a5\", \"a6\"]"),
        "{all}"
    );
    assert!(all.contains("~[\"a1\"]"), "{all}");
    assert!(all.contains("note a2 New verified true author None patient Some(\"P1\") Some(\"Kari\") Some(\"Ødegård\") ext Some(\"E1\") dob Some(\"1980-01-01\")"), "{all}");
    assert!(all.contains("to fetch [\"P1\", \"P2\", \"P3\"]"), "{all}");
    assert!(all.contains("patients matching e3: [\"P2\"]"), "{all}");
    assert!(all.contains("assignment_cleared"), "{all}");
    assert!(all.contains("assigned to PR-a3"), "{all}");
    assert!(!all.contains("assigned to PR-a1"), "{all}");
    assert!(
        all.contains("note w1 New verified true author Some(\"user-1\")"),
        "{all}"
    );
}

/// Ingest, patient fetches and retention all lock the audit trail's end and patients: in the
/// same order, so a note about a patient being fetched at that moment never deadlocks.
#[tokio::test]
async fn ingest_beside_patient_fetches_of_the_same_patients_never_deadlocks() {
    let pg = TestPostgres::start().unwrap();
    let a = owner(&pg).await;
    let b = PgInbox::connect(
        spec(&pg, import::pg_harness::USER, &pg.password),
        "test".into(),
    )
    .await
    .unwrap();
    let patients: Vec<String> = (0..8).map(|i| format!("P{i}")).collect();
    let named = |i: usize, updated: &str| -> Vec<askara::Note> {
        patients
            .iter()
            .enumerate()
            .map(|(k, p)| {
                note_of(
                    &format!("n{i}-{k}"),
                    updated,
                    Some((Some(p.as_str()), "Berg", Some("E1"), None)),
                )
            })
            .collect()
    };
    a.ingest_from(named(0, "2026-12-01T08:00:00Z"), poll(), vec![])
        .await
        .unwrap();
    for i in 1..40 {
        let found: Vec<(String, inbox::PatientFetch)> = patients
            .iter()
            .rev()
            .map(|p| {
                let patient = askara::Patient {
                    uuid: Some(p.clone()),
                    first_name: Some("Kari".into()),
                    last_name: Some(format!("Berg{i}")),
                    ..Default::default()
                };
                (p.clone(), inbox::PatientFetch::Found(patient))
            })
            .collect();
        let (x, y) = tokio::join!(
            a.ingest_from(named(i, "2026-12-01T08:00:00Z"), poll(), vec![]),
            b.record_patient_fetches(found, chrono::Utc::now())
        );
        x.unwrap();
        y.unwrap();
    }
    assert!(matches!(
        a.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));
}

/// A desk reviewing notes while the poller revises the same ones: one waits for the other
/// (every writer takes the audit trail's end first), neither is told the inbox was busy.
#[tokio::test]
async fn a_desk_reviewing_notes_the_poller_is_revising_never_deadlocks() {
    let pg = TestPostgres::start().unwrap();
    let server = owner(&pg).await;
    let desk = member(&pg, "reception", inbox_pg::STAFF_ROLE).await;
    let uuids: Vec<String> = (0..8).map(|k| format!("r{k}")).collect();
    let page = |minute: usize| -> Vec<askara::Note> {
        uuids
            .iter()
            .map(|u| {
                note(
                    u,
                    &format!("2026-12-01T08:{minute:02}:00Z"),
                    &format!("v{minute}"),
                )
            })
            .collect()
    };
    server.ingest_from(page(0), poll(), vec![]).await.unwrap();
    for minute in 1..30 {
        let to = if minute % 2 == 0 {
            Status::Reviewed
        } else {
            Status::Dismissed
        };
        let mut reversed = uuids.clone();
        reversed.reverse();
        let (x, y) = tokio::join!(
            server.ingest_from(page(minute), poll(), vec![]),
            desk.set_statuses(reversed, to, "")
        );
        x.unwrap();
        // A refused transition is an answer per note; a busy (deadlocked) inbox fails it all.
        y.unwrap();
    }
    assert!(matches!(
        server.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));
}
