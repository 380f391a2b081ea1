#![allow(clippy::unwrap_used)]

//! Against a real, throwaway PostgreSQL (see `import::pg_harness`). Fails, never skips, when
//! the server binaries are missing.

mod support;

use import::pg_harness::TestPostgres;
use import::{connect, ConnectOptions, ImportResult, Mapping, TargetSpec};
use std::time::{Duration, Instant};
use support::{count, ctx, note, pg_client, uuid};

fn server() -> TestPostgres {
    TestPostgres::start().unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e}"))
}

fn spec(pg: &TestPostgres) -> TargetSpec {
    TargetSpec::parse(&pg.url_without_password)
        .unwrap()
        .with_password(&pg.password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_schema_idempotency_conflicts_auth_and_injection() {
    let pg = server();
    // Password: none given → auth; wrong → auth; right (from the URL or with_password) → ok.
    let bare = TargetSpec::parse(&pg.url_without_password).unwrap();
    if std::env::var_os("PGPASSWORD").is_none() {
        let e = connect(&bare, None, ConnectOptions::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), "auth", "{e}");
    }
    let e = connect(
        &bare.clone().with_password("wrong"),
        None,
        ConnectOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.code(), "auth", "{e}");
    assert!(!e.to_string().contains("wrong"));
    // A password inside the URL is refused before anything is sent (it comes from the
    // keyring, `with_password` or PGPASSWORD).
    let e = TargetSpec::parse(&pg.url).unwrap_err();
    assert!(e.to_string().contains("PGPASSWORD"), "{e}");
    assert!(!e.to_string().contains(&pg.password), "{e}");
    // sslmode=require against a server without TLS: a clear TLS error.
    let req = TargetSpec::parse(&pg.url_with("127.0.0.1", "sslmode=require"))
        .unwrap()
        .with_password(&pg.password);
    let e = connect(&req, None, ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "tls");
    assert!(e.to_string().contains("does not accept TLS"), "{e}");
    // prefer falls back to plain text.
    let pref = TargetSpec::parse(&pg.url_with("127.0.0.1", "sslmode=prefer"))
        .unwrap()
        .with_password(&pg.password);
    connect(&pref, None, ConnectOptions::default())
        .await
        .unwrap();

    let t = connect(&spec(&pg), None, ConnectOptions::default())
        .await
        .unwrap();
    assert!(!t.describe().contains(&pg.password));
    let n = note(&uuid(1), "Patient presents with cough.", Some("E1"));
    let a = t.import(&n, &ctx("alice")).await.unwrap();
    assert_eq!(a.result, ImportResult::Imported);
    let b = t.import(&n, &ctx("bob")).await.unwrap();
    assert_eq!(
        (b.result, b.imported_by.as_str(), b.imported_at),
        (ImportResult::Unchanged, "alice", a.imported_at)
    );
    let revised = note(
        &uuid(1),
        "Patient presents with cough. Revised.",
        Some("E1"),
    );
    let c = t.import(&revised, &ctx("bob")).await.unwrap();
    assert_eq!(
        (c.result, c.imported_by.as_str(), c.imported_at),
        (ImportResult::Conflict, "alice", a.imported_at)
    );
    let mut allow = ctx("bob");
    allow.allow_update = true;
    assert_eq!(
        t.import(&revised, &allow).await.unwrap().result,
        ImportResult::Updated
    );

    let evil = "'); DROP TABLE askara_notes; -- $1 ? \\ ünïcödé";
    let mut hostile = note(&uuid(2), evil, None);
    hostile.patient.as_mut().unwrap().first_name = Some("Robert'); DROP TABLE students;--".into());
    let mut dry = ctx("alice");
    dry.dry_run = true;
    let d = t.import(&hostile, &dry).await.unwrap();
    assert_eq!(d.result, ImportResult::DryRun);
    assert!(d
        .row
        .unwrap()
        .iter()
        .any(|(c, v)| c == "content" && v == evil));
    let db = pg_client(&pg.url).await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM askara_notes").await,
        1,
        "dry run wrote nothing"
    );
    assert_eq!(
        t.import(&hostile, &ctx("alice")).await.unwrap().result,
        ImportResult::Imported
    );
    let r = db
        .query_one("SELECT content, patient_first_name, patient_uuid, created_at::text FROM askara_notes WHERE uuid = $1", &[&uuid(2)])
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>(0), evil);
    assert_eq!(r.get::<_, String>(1), "Robert'); DROP TABLE students;--");
    assert_eq!(r.get::<_, String>(2), format!("p-{}", uuid(2)));
    assert_eq!(r.get::<_, String>(3), "2026-02-24 09:30:00+00");
    let v: String = db
        .query_one(
            "SELECT value FROM askara_import_meta WHERE key = 'schema_version'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "1");
}

const PRACTICE: &str = "
    CREATE SCHEMA practice;
    CREATE TABLE practice.patients (id serial PRIMARY KEY, ext_ref text UNIQUE, name text);
    INSERT INTO practice.patients (id, ext_ref, name) VALUES (4411, 'EXT-4411', 'x'), (4412, 'EXT-4412', 'y');
    CREATE TABLE practice.consultation_notes (
        id bigserial PRIMARY KEY,
        askara_uuid uuid NOT NULL UNIQUE,
        body text NOT NULL CHECK (body <> 'poison'),
        written_at timestamptz,
        patient_id integer REFERENCES practice.patients(id),
        author varchar(80),
        source text NOT NULL,
        visits integer,
        plain_uuid text);";

const MAPPING: &str = r#"
table = "practice.consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
created_at = "written_at"
imported_by = "author"
[constants]
source = "askara"
[patient_lookup]
query = "SELECT id FROM practice.patients WHERE ext_ref = $1"
key = "external_id"
column = "patient_id"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_onto_practice_table_lookup_dry_run_batch_and_bad_mappings() {
    let pg = server();
    let db = pg_client(&pg.url).await;
    db.batch_execute(PRACTICE).await.unwrap();
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let t = connect(
        &spec(&pg),
        Some(m),
        ConnectOptions {
            batch_size: 8,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let n = note(&uuid(3), "Body.", Some("EXT-4411"));
    let mut dry = ctx("alice");
    dry.dry_run = true;
    let row = t.import(&n, &dry).await.unwrap().row.unwrap();
    let cols: Vec<&str> = row.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        cols,
        [
            "askara_uuid",
            "body",
            "written_at",
            "author",
            "patient_id",
            "source"
        ]
    );
    assert_eq!(row[4].1, serde_json::json!(4411));
    assert_eq!(row[0].1, serde_json::json!(uuid(3)));
    assert_eq!(
        count(&db, "SELECT count(*) FROM practice.consultation_notes").await,
        0,
        "dry run wrote nothing"
    );
    assert_eq!(
        t.import(&n, &ctx("alice")).await.unwrap().result,
        ImportResult::Imported
    );
    assert_eq!(
        t.import(&n, &ctx("bob")).await.unwrap().result,
        ImportResult::Unchanged
    );
    let revised = note(&uuid(3), "Body, revised.", Some("EXT-4411"));
    let c = t.import(&revised, &ctx("bob")).await.unwrap();
    assert_eq!(
        (c.result, c.imported_by.as_str()),
        (ImportResult::Conflict, "alice")
    );
    let mut allow = ctx("bob");
    allow.allow_update = true;
    assert_eq!(
        t.import(&revised, &allow).await.unwrap().result,
        ImportResult::Updated
    );
    let r = db
        .query_one("SELECT body, patient_id, author, source, askara_uuid::text FROM practice.consultation_notes", &[])
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "Body, revised.");
    assert_eq!(r.get::<_, i32>(1), 4411);
    assert_eq!(r.get::<_, String>(2), "bob");
    assert_eq!(r.get::<_, String>(3), "askara");
    assert_eq!(r.get::<_, String>(4), uuid(3));
    let log = db
        .query_one(
            "SELECT imported_by, target_table FROM askara_import_log",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (log.get::<_, String>(0), log.get::<_, String>(1)),
        ("bob".into(), "practice.consultation_notes".into())
    );

    let e = t
        .import(&note(&uuid(4), "x", Some("EXT-NOPE")), &ctx("alice"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "patient_not_found");
    assert!(e.to_string().contains("externalId"), "{e}");

    // Batch: one note breaks a CHECK (batch rolled back, retried note by note), one has no patient.
    let mut notes: Vec<_> = (10..30)
        .map(|i| note(&uuid(i), &format!("note {i}"), Some("EXT-4412")))
        .collect();
    notes[5] = note(&uuid(15), "poison", Some("EXT-4412"));
    notes[7] = note(&uuid(17), "fine", Some("EXT-NOPE"));
    notes[9] = notes[8].clone(); // the same note twice in one batch
    let res = t.import_batch(&notes, &ctx("alice")).await.unwrap();
    for (i, r) in res.iter().enumerate() {
        match i {
            5 => {
                let e = r.as_ref().unwrap_err();
                assert_eq!(e.code(), "database");
                assert!(!e.to_string().contains("poison"), "{e}");
            }
            7 => assert_eq!(r.as_ref().unwrap_err().code(), "patient_not_found"),
            9 => assert_eq!(r.as_ref().unwrap().result, ImportResult::Unchanged),
            _ => assert_eq!(
                r.as_ref().unwrap().result,
                ImportResult::Imported,
                "note {i}"
            ),
        }
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM practice.consultation_notes").await,
        1 + 17
    );
    let logged: i64 = db
        .query_one("SELECT count(*) FROM askara_import_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 18, "log and practice table stay in step");

    // Bad mappings, each refused at connect with the column named.
    let cases: Vec<(String, &str)> = vec![
        (
            MAPPING.replace("practice.consultation_notes", "practice.nope"),
            "nope",
        ),
        (
            MAPPING.replace("content = \"body\"", "content = \"bodyy\""),
            "bodyy",
        ),
        (
            MAPPING.replace("content = \"body\"", "content = \"visits\""),
            "visits",
        ),
        (
            MAPPING.replace("created_at = \"written_at\"", "created_at = \"visits\""),
            "visits",
        ),
        (
            MAPPING.replace(
                "uuid = \"askara_uuid\"",
                "uuid = \"plain_uuid\"\nworkstation = \"author2\"",
            ),
            "author2",
        ),
        (
            MAPPING.replace(
                "uuid = \"askara_uuid\"",
                "uuid = \"plain_uuid\"\npatient_uuid = \"askara_uuid\"",
            ),
            "plain_uuid",
        ),
        (MAPPING.replace("source = \"askara\"", ""), "source"),
        (
            MAPPING.replace(
                "source = \"askara\"",
                "source = \"askara\"\nvisits = \"many\"",
            ),
            "visits",
        ),
        (
            MAPPING.replace(
                "table = \"practice.consultation_notes\"",
                "table = \"notes; DROP TABLE x\"",
            ),
            "DROP",
        ),
        (
            MAPPING.replace(
                "imported_by = \"author\"",
                "imported_by = \"author\\\"; --\"",
            ),
            "author",
        ),
        (
            MAPPING.replace("SELECT id FROM", "SELECT name FROM"),
            "patient_id",
        ),
        (
            MAPPING.replace("practice.patients WHERE", "practice.no_patients WHERE"),
            "patient_lookup",
        ),
    ];
    for (toml, needle) in cases {
        let err = match Mapping::from_toml_str(&toml) {
            Err(e) => e,
            Ok(m) => match connect(&spec(&pg), Some(m), ConnectOptions::default()).await {
                Err(e) => e,
                Ok(_) => panic!("mapping accepted: {toml}"),
            },
        };
        assert_eq!(err.code(), "bad_mapping", "{err}");
        assert!(
            err.to_string().contains(needle),
            "{err} should name {needle}"
        );
    }
    let still: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'consultation_notes'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(still, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workstations_import_the_same_50_notes_at_once() {
    let pg = server();
    let notes: Vec<_> = (0..50)
        .map(|i| note(&uuid(100 + i), &format!("content {i}"), None))
        .collect();
    let mut targets = Vec::new();
    for _ in 0..4 {
        targets.push(
            connect(&spec(&pg), None, ConnectOptions::default())
                .await
                .unwrap(),
        );
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(4));
    let mut tasks = Vec::new();
    for (w, t) in targets.into_iter().enumerate() {
        let (notes, barrier) = (notes.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let c = ctx(&format!("ws{w}"));
            let mut out = Vec::new();
            // Half the workers go one by one, half in a batch.
            if w % 2 == 0 {
                for n in &notes {
                    out.push(t.import(n, &c).await.unwrap());
                }
            } else {
                for r in t.import_batch(&notes, &c).await.unwrap() {
                    out.push(r.unwrap());
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    let db = pg_client(&pg.url).await;
    for (i, n) in notes.iter().enumerate() {
        let row = db
            .query_one(
                "SELECT imported_by, count(*) OVER () FROM askara_notes WHERE uuid = $1",
                &[&n.uuid],
            )
            .await
            .unwrap();
        let winner: String = row.get(0);
        assert_eq!(row.get::<_, i64>(1), 1);
        let outcomes: Vec<_> = all.iter().map(|w| &w[i]).collect();
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| o.result == ImportResult::Imported)
                .count(),
            1,
            "note {i}"
        );
        for o in outcomes {
            assert_eq!(o.imported_by, winner, "everyone is told who won");
            assert!(matches!(
                o.result,
                ImportResult::Imported | ImportResult::Unchanged
            ));
        }
    }
    let total: i64 = db
        .query_one("SELECT count(*) FROM askara_notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stopped_mid_import_leaves_nothing_and_recovers() {
    let mut pg = server();
    let db = pg_client(&pg.url).await;
    db.batch_execute(PRACTICE).await.unwrap();
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let opts = ConnectOptions {
        operation_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let t = connect(&spec(&pg), Some(m), opts).await.unwrap();
    // Hold the practice table so the import blocks after writing its log entry.
    db.batch_execute("BEGIN; LOCK TABLE practice.consultation_notes IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let n = note(&uuid(7), "Body.", Some("EXT-4411"));
    let (n2, c) = (n.clone(), ctx("alice"));
    let t = std::sync::Arc::new(t);
    let t2 = t.clone();
    let task = tokio::spawn(async move { t2.import(&n2, &c).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!task.is_finished(), "import should be blocked on the lock");
    let stopped = Instant::now();
    tokio::task::block_in_place(|| pg.stop());
    let e = task.await.unwrap().unwrap_err();
    assert!(stopped.elapsed() < Duration::from_secs(10));
    assert!(matches!(e.code(), "unreachable" | "database"), "{e}");
    assert!(e.to_string().contains("try again"), "{e}");
    // While down: fails fast.
    let e = t.import(&n, &ctx("alice")).await.unwrap_err();
    assert_eq!(e.code(), "unreachable", "{e}");

    tokio::task::block_in_place(|| pg.start_again());
    let db = pg_client(&pg.url).await;
    let partial: i64 = db
        .query_one(
            "SELECT (SELECT count(*) FROM askara_import_log) + (SELECT count(*) FROM practice.consultation_notes)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(partial, 0, "nothing partial in the target");
    // The same target object reconnects by itself.
    assert_eq!(
        t.import(&n, &ctx("alice")).await.unwrap().result,
        ImportResult::Imported
    );
    assert_eq!(
        t.import(&n, &ctx("bob")).await.unwrap().result,
        ImportResult::Unchanged
    );
}

#[tokio::test]
async fn closed_or_silent_ports_fail_fast_as_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = TargetSpec::parse(&format!("postgres://u@127.0.0.1:{port}/db?sslmode=disable"))
        .unwrap()
        .with_password("pw");
    let started = Instant::now();
    let e = connect(&s, None, ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "unreachable", "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(!e.to_string().contains("pw"));

    // A port that accepts but never answers: the connect timeout applies.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut keep = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            keep.push(s);
        }
    });
    let s = TargetSpec::parse(&format!("postgres://u@127.0.0.1:{port}/db?sslmode=prefer")).unwrap();
    let started = Instant::now();
    let opts = ConnectOptions {
        connect_timeout: Duration::from_millis(800),
        ..Default::default()
    };
    let e = connect(&s, None, opts).await.err().unwrap();
    assert_eq!(e.code(), "unreachable", "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_against_a_self_signed_server() {
    let pg = TestPostgres::start_tls()
        .unwrap_or_else(|e| panic!("cannot start the TLS test PostgreSQL: {e}"));
    let ca = pg.ca_cert.clone().unwrap();
    let ca = ca.display();
    let try_ = |host: &str, q: String| {
        let s = TargetSpec::parse(&pg.url_with(host, &q))
            .unwrap()
            .with_password(&pg.password);
        async move {
            connect(&s, None, ConnectOptions::default())
                .await
                .map(|_| ())
        }
    };
    try_("127.0.0.1", "sslmode=require".into()).await.unwrap();
    try_("localhost", format!("sslmode=verify-full&sslrootcert={ca}"))
        .await
        .unwrap();
    try_("127.0.0.1", format!("sslmode=verify-ca&sslrootcert={ca}"))
        .await
        .unwrap();
    let e = try_("127.0.0.1", format!("sslmode=verify-full&sslrootcert={ca}"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    // No sslrootcert: the system roots (or ~/.postgresql/root.crt), which do not hold the
    // throwaway CA.
    let e = try_("localhost", "sslmode=verify-full".into())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls");
    assert!(e.to_string().contains("sslrootcert"), "{e}");
    // A CA that did not sign the server's certificate.
    let e = try_("localhost", "sslmode=verify-ca&sslrootcert=system".into())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");
    // Imports work over TLS.
    let s = TargetSpec::parse(&pg.url_with(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap()
    .with_password(&pg.password);
    let t = connect(&s, None, ConnectOptions::default()).await.unwrap();
    assert_eq!(
        t.import(&note(&uuid(9), "x", None), &ctx("a"))
            .await
            .unwrap()
            .result,
        ImportResult::Imported
    );
}
