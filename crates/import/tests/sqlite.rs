#![allow(clippy::unwrap_used)]

mod support;

use import::{connect, ConnectOptions, ImportResult, Mapping, TargetSpec};
use support::{ctx, note, uuid};

fn spec(dir: &tempfile::TempDir) -> TargetSpec {
    TargetSpec::parse(&format!(
        "sqlite://{}",
        dir.path().join("practice.db").display()
    ))
    .unwrap()
}

#[test]
fn target_urls_parse_and_never_show_passwords() {
    let s = TargetSpec::parse("sqlite:/tmp/x.db").unwrap();
    assert_eq!(s.display(), "sqlite:/tmp/x.db");
    assert_eq!(
        TargetSpec::parse("sqlite:///tmp/x.db").unwrap().display(),
        "sqlite:/tmp/x.db"
    );
    let p = TargetSpec::parse(
        "postgresql://dr%40x@db.lan:6543/practice?sslmode=verify-full&sslrootcert=/ca.pem",
    )
    .unwrap()
    .with_password("p@ss");
    let shown = p.display();
    assert!(
        !shown.contains("p@ss") && !shown.contains("p%40ss"),
        "{shown}"
    );
    assert!(!format!("{p:?}").contains("p@ss"));
    assert_eq!(
        shown,
        "postgres://dr@x@db.lan:6543/practice?sslmode=verify-full"
    );
    match &p {
        TargetSpec::Postgres(pg) => {
            assert_eq!(pg.password.as_ref().map(|p| p.expose()), Some("p@ss"));
            assert_eq!(pg.sslmode, import::SslMode::VerifyFull);
        }
        _ => panic!("not postgres"),
    }
    let p = TargetSpec::parse("postgres://u@h/db")
        .unwrap()
        .with_password("kr");
    assert!(!p.display().contains("kr"));
    for bad in [
        "mysql://u:pw@h/db",
        "http://x",
        "nonsense",
        "oracle:whatever",
    ] {
        let e = TargetSpec::parse(bad).unwrap_err();
        assert_eq!(e.code(), "unsupported_target", "{bad}");
        assert!(
            e.to_string().contains("sqlite:") && e.to_string().contains("postgres://"),
            "{e}"
        );
        assert!(!e.to_string().contains("pw"));
    }
    assert_eq!(
        TargetSpec::parse("postgres://u@h/db?sslmode=maybe")
            .unwrap_err()
            .code(),
        "unsupported_target"
    );
}

#[tokio::test]
async fn default_schema_is_idempotent_and_never_overwrites_silently() {
    let dir = tempfile::tempdir().unwrap();
    let t = connect(&spec(&dir), None, ConnectOptions::default())
        .await
        .unwrap();
    let n = note(&uuid(1), "Patient presents with cough.", None);
    let a = t.import(&n, &ctx("alice")).await.unwrap();
    assert_eq!(a.result, ImportResult::Imported);
    let b = t.import(&n, &ctx("bob")).await.unwrap();
    assert_eq!(b.result, ImportResult::Unchanged);
    assert_eq!(
        (b.imported_by.as_str(), b.imported_at),
        ("alice", a.imported_at)
    );
    let revised = note(&uuid(1), "Patient presents with cough. Revised.", None);
    let c = t.import(&revised, &ctx("bob")).await.unwrap();
    assert_eq!(
        (c.result, c.imported_by.as_str()),
        (ImportResult::Conflict, "alice")
    );
    let mut allow = ctx("bob");
    allow.allow_update = true;
    let d = t.import(&revised, &allow).await.unwrap();
    assert_eq!(
        (d.result, d.imported_by.as_str()),
        (ImportResult::Updated, "bob")
    );

    // Reconnecting finds the schema (versioned) and the row.
    drop(t);
    let t = connect(&spec(&dir), None, ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(
        t.import(&revised, &ctx("carol")).await.unwrap().result,
        ImportResult::Unchanged
    );
    // Askara moved the note to another patient without changing a word: the row's patient
    // differs, so it is a patient conflict, not `unchanged`.
    let mut moved = revised.clone();
    if let Some(p) = moved.patient.as_mut() {
        p.uuid = Some("p-someone-else".into());
    }
    let m = t.import(&moved, &ctx("carol")).await.unwrap();
    assert_eq!(
        (m.result, m.conflict, m.held_patient.as_deref()),
        (
            ImportResult::Conflict,
            Some(import::ConflictKind::Patient),
            Some(format!("p-{}", uuid(1)).as_str())
        )
    );
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    let (content, by, ver, mode): (String, String, String, String) = db
        .query_row(
            "SELECT content, imported_by, (SELECT value FROM askara_import_meta WHERE key='schema_version'),
                    (SELECT journal_mode FROM pragma_journal_mode) FROM askara_notes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (content.as_str(), by.as_str(), ver.as_str(), mode.as_str()),
        (revised.content.as_str(), "bob", "1", "wal")
    );
}

#[tokio::test]
async fn hostile_content_is_stored_verbatim_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = connect(&spec(&dir), None, ConnectOptions::default())
        .await
        .unwrap();
    let evil = "'); DROP TABLE askara_notes; -- \" ? $1 \u{0} ünïcödé";
    let mut n = note(&uuid(2), evil, None);
    n.patient.as_mut().unwrap().last_name = Some("O'Brien\"; DELETE FROM askara_notes; --".into());
    let mut dry = ctx("alice");
    dry.dry_run = true;
    let out = t.import(&n, &dry).await.unwrap();
    assert_eq!(out.result, ImportResult::DryRun);
    let row = out.row.unwrap();
    assert!(row.iter().any(|(c, v)| c == "content" && v == evil));
    assert!(row
        .iter()
        .any(|(c, v)| c == "patient_uuid" && v == &format!("p-{}", uuid(2))));
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    let count = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT count(*) FROM askara_notes", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&db), 0);
    assert_eq!(
        t.import(&n, &ctx("alice")).await.unwrap().result,
        ImportResult::Imported
    );
    let (c, l): (String, String) = db
        .query_row(
            "SELECT content, patient_last_name FROM askara_notes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(c, evil);
    assert_eq!(l, "O'Brien\"; DELETE FROM askara_notes; --");
    assert_eq!(count(&db), 1);
}

const PRACTICE: &str = "
    CREATE TABLE patients (id INTEGER PRIMARY KEY, ext_ref TEXT UNIQUE, name TEXT);
    INSERT INTO patients (id, ext_ref, name) VALUES (4411, 'EXT-4411', 'x'), (4412, 'EXT-4412', 'y');
    CREATE TABLE consultation_notes (
        id INTEGER PRIMARY KEY,
        askara_uuid TEXT NOT NULL,
        body TEXT NOT NULL CHECK (body <> 'poison'),
        written_at DATETIME,
        patient_id INTEGER REFERENCES patients(id),
        author VARCHAR(80),
        source TEXT NOT NULL,
        visits INTEGER);
    CREATE UNIQUE INDEX consultation_notes_uuid ON consultation_notes (askara_uuid);";

const MAPPING: &str = r#"
table = "consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
created_at = "written_at"
imported_by = "author"
[constants]
source = "askara"
[patient_lookup]
query = "SELECT id FROM patients WHERE ext_ref = ?"
key = "external_id"
column = "patient_id"
"#;

fn practice_db(dir: &tempfile::TempDir) -> TargetSpec {
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    db.execute_batch(PRACTICE).unwrap();
    spec(dir)
}

#[tokio::test]
async fn mapping_onto_practice_table_with_patient_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let s = practice_db(&dir);
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let t = connect(&s, Some(m), ConnectOptions::default())
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
    assert_eq!(row[2].1, serde_json::json!("2026-02-24T09:30:00.000000Z"));
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

    let missing = t
        .import(&note(&uuid(4), "x", Some("EXT-NOPE")), &ctx("alice"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "patient_not_found");
    assert!(!missing.to_string().contains("Ødegård"));
    let no_patient = t
        .import(&note(&uuid(5), "x", None), &ctx("alice"))
        .await
        .unwrap_err();
    assert_eq!(no_patient.code(), "patient_not_found");

    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    let (body, pid, author, source): (String, i64, String, String) = db
        .query_row(
            "SELECT body, patient_id, author, source FROM consultation_notes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (body.as_str(), pid, author.as_str(), source.as_str()),
        ("Body, revised.", 4411, "bob", "askara")
    );
    let log: i64 = db
        .query_row("SELECT count(*) FROM askara_import_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(log, 1);

    // on_missing = "null": imported without a patient.
    let m = Mapping::from_toml_str(&MAPPING.replace(
        "column = \"patient_id\"",
        "column = \"patient_id\"\non_missing = \"null\"",
    ))
    .unwrap();
    let t = connect(&s, Some(m), ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(
        t.import(&note(&uuid(4), "x", Some("EXT-NOPE")), &ctx("alice"))
            .await
            .unwrap()
            .result,
        ImportResult::Imported
    );

    // Batch: one note poisons its batch (CHECK constraint), one has no patient; the rest land.
    let mut notes: Vec<_> = (10..30)
        .map(|i| note(&uuid(i), &format!("note {i}"), Some("EXT-4412")))
        .collect();
    notes[5] = note(&uuid(15), "poison", Some("EXT-4412"));
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let t = connect(
        &s,
        Some(m),
        ConnectOptions {
            batch_size: 8,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    notes[7] = note(&uuid(17), "fine", Some("EXT-NOPE"));
    let res = t.import_batch(&notes, &ctx("alice")).await.unwrap();
    assert_eq!(res.len(), 20);
    for (i, r) in res.iter().enumerate() {
        match i {
            5 => assert_eq!(r.as_ref().unwrap_err().code(), "database"),
            7 => assert_eq!(r.as_ref().unwrap_err().code(), "patient_not_found"),
            _ => assert_eq!(
                r.as_ref().unwrap().result,
                ImportResult::Imported,
                "note {i}"
            ),
        }
    }
    let n: i64 = db
        .query_row("SELECT count(*) FROM consultation_notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2 + 18);
    let logged: i64 = db
        .query_row("SELECT count(*) FROM askara_import_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, n, "log and practice table stay in step");
}

#[tokio::test]
async fn bad_mappings_are_refused_at_connect() {
    let dir = tempfile::tempdir().unwrap();
    let s = practice_db(&dir);
    let cases: Vec<(String, &str)> = vec![
        (
            MAPPING.replace("table = \"consultation_notes\"", "table = \"nope\""),
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
            MAPPING.replace(
                "uuid = \"askara_uuid\"",
                "uuid = \"author\"\nworkstation = \"askara_uuid\"",
            ),
            "author",
        ),
        (MAPPING.replace("source = \"askara\"", ""), "source"),
        (
            MAPPING.replace(
                "table = \"consultation_notes\"",
                "table = \"notes; DROP TABLE x\"",
            ),
            "DROP",
        ),
        (
            MAPPING.replace("content = \"body\"", "content = \"body\\\" text\""),
            "body",
        ),
        (
            MAPPING.replace("ext_ref = ?", "ext_ref = ? AND name = ?"),
            "patient_lookup",
        ),
        (
            MAPPING.replace("SELECT id FROM patients", "SELECT id FROM no_such_patients"),
            "patient_lookup",
        ),
    ];
    for (toml, needle) in cases {
        let err = match Mapping::from_toml_str(&toml) {
            Err(e) => e,
            Ok(m) => match connect(&s, Some(m), ConnectOptions::default()).await {
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
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    let tables: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'consultation_notes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[tokio::test]
async fn missing_sqlite_file_for_a_mapping_is_unreachable() {
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let s = TargetSpec::parse("sqlite:/nonexistent/dir/practice.db").unwrap();
    let e = connect(&s, Some(m), ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "unreachable");
    let e = connect(&s, None, ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "unreachable", "{e}");
}
