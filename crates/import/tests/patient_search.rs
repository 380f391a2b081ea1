#![allow(clippy::unwrap_used)]

//! "Assign to patient…" against real practice databases: the mapping's `[patient_search]`
//! (text bound, never spliced; two patients of one name told apart by their identifiers; a
//! `date` column read as a date), an assigned patient written by the import and winning over
//! `patient_lookup`, and a note nobody assigned refused when the mapping requires a patient.
//! SQLite in a temp dir; PostgreSQL through `import::pg_harness` (fails, never skips, when
//! its binaries are missing).

mod support;

use import::pg_harness::TestPostgres;
use import::{
    connect, ConflictKind, ConnectOptions, ImportResult, Mapping, PatientCandidate, TargetSpec,
};
use support::{ctx, note, pg_client, uuid};

fn candidate(id: &str, name: &str, born: Option<&str>, ext: Option<&str>) -> PatientCandidate {
    PatientCandidate {
        id: id.into(),
        name: Some(name.into()),
        date_of_birth: born.map(str::to_string),
        external_id: ext.map(str::to_string),
    }
}

fn with_assignment(note_uuid: &str, patient: &str) -> import::ImportContext {
    let mut c = ctx("alice");
    c.patient_ids.insert(note_uuid.into(), patient.into());
    c
}

const SQLITE_PRACTICE: &str = "
    CREATE TABLE patients (id INTEGER PRIMARY KEY, ext_ref TEXT UNIQUE, last TEXT, first TEXT, born TEXT);
    INSERT INTO patients VALUES
        (4411, 'EXT-4411', 'Haugen', 'Ørjan', '1984-03-02'),
        (4412, NULL, 'Haugen', 'Ørjan', NULL),
        (4413, 'EXT-4413', 'García-Peña', 'José María', '1979-07-30');
    CREATE TABLE consultation_notes (
        id INTEGER PRIMARY KEY,
        askara_uuid TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        patient_id INTEGER REFERENCES patients(id));";

const SQLITE_SEARCH: &str = r#"
table = "consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
[patient_search]
query = "SELECT id, last || ', ' || first, born, ext_ref FROM patients WHERE last LIKE '%' || $1 || '%' OR CAST(id AS TEXT) = $1 ORDER BY id"
column = "patient_id"
"#;

fn sqlite_practice(dir: &tempfile::TempDir) -> TargetSpec {
    let path = dir.path().join("practice.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(SQLITE_PRACTICE).unwrap();
    TargetSpec::parse(&format!("sqlite://{}", path.display())).unwrap()
}

fn sqlite_patient_of(dir: &tempfile::TempDir, note_uuid: &str) -> Option<i64> {
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    db.query_row(
        "SELECT patient_id FROM consultation_notes WHERE askara_uuid = ?1",
        [note_uuid],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn sqlite_search_finds_two_identifiers_and_the_assignment_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_practice(&dir);
    let m = Mapping::from_toml_str(SQLITE_SEARCH).unwrap();
    let t = connect(&s, Some(m), ConnectOptions::default())
        .await
        .unwrap();
    assert!(t.can_search_patients());
    assert!(t.requires_patient());
    // Same name, two patients: the identifiers tell them apart; a missing one stays missing.
    assert_eq!(
        t.search_patients("Haugen").await.unwrap(),
        vec![
            candidate(
                "4411",
                "Haugen, Ørjan",
                Some("1984-03-02"),
                Some("EXT-4411")
            ),
            candidate("4412", "Haugen, Ørjan", None, None),
        ]
    );
    assert_eq!(t.search_patients("4413").await.unwrap().len(), 1);
    // The text is a bound value: quotes and SQL in it are searched for, not run.
    assert!(t.search_patients("x' OR '1'='1").await.unwrap().is_empty());
    assert!(t
        .search_patients("%'; DROP TABLE patients; --")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(t.search_patients("Haugen").await.unwrap().len(), 2);

    // Nobody assigned: refused with one line saying what to do; nothing written.
    let n = note(&uuid(1), "Body.", None);
    let e = t.import(&n, &ctx("alice")).await.unwrap_err();
    assert_eq!(e.code(), "patient_not_found");
    assert!(e.to_string().contains("assign"), "{e}");
    assert!(!e.to_string().contains('\n'));
    assert_eq!(sqlite_patient_of_count(&dir), 0);
    // Assigned: the dry run shows it, the import writes it.
    let mut dry = with_assignment(&uuid(1), "4412");
    dry.dry_run = true;
    let row = t.import(&n, &dry).await.unwrap().row.unwrap();
    assert_eq!(
        row.iter()
            .find(|(c, _)| c == "patient_id")
            .map(|(_, v)| v.clone()),
        Some(serde_json::json!("4412"))
    );
    let out = t
        .import(&n, &with_assignment(&uuid(1), "4412"))
        .await
        .unwrap();
    assert_eq!(out.result, ImportResult::Imported);
    assert_eq!(sqlite_patient_of(&dir, &uuid(1)), Some(4412));
    // In a batch too, and a batch's unassigned note fails alone.
    let a = note(&uuid(2), "A.", None);
    let b = note(&uuid(3), "B.", None);
    let res = t
        .import_batch(&[a, b], &with_assignment(&uuid(2), "4411"))
        .await
        .unwrap();
    assert_eq!(res[0].as_ref().unwrap().result, ImportResult::Imported);
    assert_eq!(res[1].as_ref().unwrap_err().code(), "patient_not_found");
    assert_eq!(sqlite_patient_of(&dir, &uuid(2)), Some(4411));

    // The same note and content, assigned to another patient at another desk: never
    // `unchanged` (the chart holds it under 4412); a conflict that names the patient held,
    // writing nothing until someone deliberately moves it.
    let again = t
        .import(&n, &with_assignment(&uuid(1), "4412"))
        .await
        .unwrap();
    assert_eq!(again.result, ImportResult::Unchanged);
    let other = t
        .import(&n, &with_assignment(&uuid(1), "4411"))
        .await
        .unwrap();
    assert_eq!(other.result, ImportResult::Conflict);
    assert_eq!(other.conflict, Some(ConflictKind::Patient));
    assert_eq!(other.held_patient.as_deref(), Some("4412"));
    assert_eq!(sqlite_patient_of(&dir, &uuid(1)), Some(4412));
    let res = t
        .import_batch(std::slice::from_ref(&n), &with_assignment(&uuid(1), "4411"))
        .await
        .unwrap();
    assert_eq!(
        res[0].as_ref().unwrap().conflict,
        Some(ConflictKind::Patient)
    );
    let mut moving = with_assignment(&uuid(1), "4411");
    moving.allow_update = true;
    assert_eq!(
        t.import(&n, &moving).await.unwrap().result,
        ImportResult::Updated
    );
    assert_eq!(sqlite_patient_of(&dir, &uuid(1)), Some(4411));
    // A revised note under the same patient stays a content conflict.
    let revised = note(&uuid(1), "Body, revised.", None);
    let c = t
        .import(&revised, &with_assignment(&uuid(1), "4411"))
        .await
        .unwrap();
    assert_eq!(c.conflict, Some(ConflictKind::Content));
    assert_eq!(c.held_patient, None);
}

fn sqlite_patient_of_count(dir: &tempfile::TempDir) -> i64 {
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    db.query_row("SELECT count(*) FROM consultation_notes", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn sqlite_assignment_wins_over_the_lookup_and_bad_searches_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_practice(&dir);
    let with_lookup = r#"
table = "consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
[patient_lookup]
query = "SELECT id FROM patients WHERE ext_ref = ?"
key = "external_id"
column = "patient_id"
[patient_search]
query = "SELECT id, last, born, ext_ref FROM patients WHERE last LIKE ?"
"#;
    let t = connect(
        &s,
        Some(Mapping::from_toml_str(with_lookup).unwrap()),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    // The note's external id looks up 4411; the person chose 4413: the person wins.
    let n = note(&uuid(7), "Body.", Some("EXT-4411"));
    t.import(&n, &with_assignment(&uuid(7), "4413"))
        .await
        .unwrap();
    assert_eq!(sqlite_patient_of(&dir, &uuid(7)), Some(4413));
    // Unassigned: the lookup as before.
    let n = note(&uuid(8), "Body.", Some("EXT-4411"));
    t.import(&n, &ctx("alice")).await.unwrap();
    assert_eq!(sqlite_patient_of(&dir, &uuid(8)), Some(4411));
    // A note whose patient has no external id is refused, saying so and offering to assign.
    let e = t
        .import(&note(&uuid(9), "Body.", None), &ctx("alice"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no externalId"), "{e}");
    assert!(e.to_string().contains("assign"), "{e}");

    let bad = |query: &str| {
        format!(
            "table = \"consultation_notes\"\n[columns]\nuuid = \"askara_uuid\"\ncontent = \"body\"\n[patient_search]\nquery = \"{query}\"\ncolumn = \"patient_id\"\n"
        )
    };
    for (query, says) in [
        (
            "SELECT id, last FROM patients WHERE last = ?",
            "returning the patient id",
        ),
        (
            "SELECT id, last, born, nope FROM patients WHERE last = ?",
            "does not run",
        ),
        (
            "DELETE FROM patients WHERE last = ? RETURNING id, last, born, ext_ref",
            "read-only",
        ),
    ] {
        let e = connect(
            &s,
            Some(Mapping::from_toml_str(&bad(query)).unwrap()),
            ConnectOptions::default(),
        )
        .await
        .err()
        .unwrap();
        assert_eq!(e.code(), "bad_mapping");
        assert!(e.to_string().contains(says), "{query}: {e}");
    }
    // Without [patient_search], searching says how to set it up.
    let plain = connect(
        &s,
        Some(
            Mapping::from_toml_str(
                "table = \"consultation_notes\"\n[columns]\nuuid = \"askara_uuid\"\ncontent = \"body\"\n",
            )
            .unwrap(),
        ),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    assert!(!plain.can_search_patients());
    let e = plain.search_patients("Haugen").await.unwrap_err();
    assert!(e.to_string().contains("[patient_search]"), "{e}");
}

const PG_PRACTICE: &str = "
    CREATE SCHEMA practice;
    CREATE TABLE practice.patients (id serial PRIMARY KEY, ext_ref text UNIQUE, last text, first text, born date);
    INSERT INTO practice.patients (id, ext_ref, last, first, born) VALUES
        (4411, 'EXT-4411', 'Haugen', 'Ørjan', '1984-03-02'),
        (4412, NULL, 'Haugen', 'Ørjan', NULL),
        (4413, 'EXT-4413', 'García-Peña', 'José María', '1979-07-30');
    CREATE TABLE practice.consultation_notes (
        id bigserial PRIMARY KEY,
        askara_uuid uuid NOT NULL UNIQUE,
        body text NOT NULL,
        patient_id integer REFERENCES practice.patients(id));";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_search_reads_dates_and_the_assignment_is_imported() {
    let pg =
        TestPostgres::start().unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e}"));
    let db = pg_client(&pg.url).await;
    db.batch_execute(PG_PRACTICE).await.unwrap();
    let spec = TargetSpec::parse(&pg.url_without_password)
        .unwrap()
        .with_password(&pg.password);
    let mapping = r#"
table = "practice.consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
[patient_search]
query = "SELECT id, last || ', ' || first, born, ext_ref FROM practice.patients WHERE last ILIKE '%' || $1 || '%' OR id::text = $1 ORDER BY id"
column = "patient_id"
"#;
    let t = connect(
        &spec,
        Some(Mapping::from_toml_str(mapping).unwrap()),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        t.search_patients("haugen").await.unwrap(),
        vec![
            candidate(
                "4411",
                "Haugen, Ørjan",
                Some("1984-03-02"),
                Some("EXT-4411")
            ),
            candidate("4412", "Haugen, Ørjan", None, None),
        ]
    );
    assert_eq!(
        t.search_patients("4413").await.unwrap(),
        vec![candidate(
            "4413",
            "García-Peña, José María",
            Some("1979-07-30"),
            Some("EXT-4413")
        )]
    );
    assert!(t.search_patients("x' OR '1'='1").await.unwrap().is_empty());

    let n = note(&uuid(1), "Body.", None);
    let e = t.import(&n, &ctx("alice")).await.unwrap_err();
    assert_eq!(e.code(), "patient_not_found");
    // The id comes as text and goes into an integer column.
    let out = t
        .import(&n, &with_assignment(&uuid(1), "4412"))
        .await
        .unwrap();
    assert_eq!(out.result, ImportResult::Imported);
    let pid: i32 = db
        .query_one(
            "SELECT patient_id FROM practice.consultation_notes WHERE askara_uuid::text = $1",
            &[&uuid(1)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pid, 4412);
    // Filed under 4412: the same note assigned to 4413 elsewhere is a patient conflict (the
    // integer column read back as text), never `unchanged`.
    let other = t
        .import(&n, &with_assignment(&uuid(1), "4413"))
        .await
        .unwrap();
    assert_eq!(other.result, ImportResult::Conflict);
    assert_eq!(other.conflict, Some(ConflictKind::Patient));
    assert_eq!(other.held_patient.as_deref(), Some("4412"));
    assert_eq!(
        t.import(&n, &with_assignment(&uuid(1), " 4412"))
            .await
            .unwrap()
            .result,
        ImportResult::Unchanged
    );

    // A parameter PostgreSQL takes as a number is refused up front, saying to compare text.
    let numeric = mapping.replace(
        "WHERE last ILIKE '%' || $1 || '%' OR id::text = $1",
        "WHERE id = $1",
    );
    let e = connect(
        &spec,
        Some(Mapping::from_toml_str(&numeric).unwrap()),
        ConnectOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.code(), "bad_mapping");
    assert!(e.to_string().contains("as text"), "{e}");
}

fn sqlite_mapping(query: &str) -> Mapping {
    Mapping::from_toml_str(&format!(
        "table = \"consultation_notes\"\n[columns]\nuuid = \"askara_uuid\"\ncontent = \"body\"\n[patient_search]\nquery = \"{query}\"\ncolumn = \"patient_id\"\n"
    ))
    .unwrap()
}

#[tokio::test]
async fn sqlite_a_search_that_writes_is_refused_up_front_and_rows_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_practice(&dir);
    for (query, says) in [
        (
            "UPDATE patients SET last = ? RETURNING id, last, born, ext_ref",
            "not UPDATE",
        ),
        (
            "WITH x AS (SELECT 1) DELETE FROM patients WHERE last = ? RETURNING id, last, born, ext_ref",
            "writes to the practice database",
        ),
        (
            "WITH x AS (SELECT 1) INSERT INTO patients (last) VALUES (?) RETURNING id, last, born, ext_ref",
            "writes to the practice database",
        ),
    ] {
        let e = connect(&s, Some(sqlite_mapping(query)), ConnectOptions::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), "bad_mapping", "{query}");
        assert!(e.to_string().contains(says), "{query}: {e}");
        assert!(e.to_string().contains("read-only"), "{query}: {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
    let db = rusqlite::Connection::open(dir.path().join("practice.db")).unwrap();
    let n: i64 = db
        .query_row("SELECT count(*) FROM patients", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3, "nothing was written");

    // Sixty patients match: a search returns the cap; a trailing comment does not lift it.
    db.execute_batch(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60)
         INSERT INTO patients (id, last, first) SELECT 5000 + i, 'Capped', 'P' || i FROM s;",
    )
    .unwrap();
    let t = connect(
        &s,
        Some(sqlite_mapping(
            "SELECT id, last, born, ext_ref FROM patients WHERE last = ? ORDER BY id -- by surname",
        )),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let found = t.search_patients("Capped").await.unwrap();
    assert_eq!(found.len(), import::MAX_CANDIDATES);
    assert_eq!(found[0].id, "5001");
    // The search left the connection writable: an import still writes.
    let n = note(&uuid(1), "Body.", None);
    let out = t
        .import(&n, &with_assignment(&uuid(1), "5001"))
        .await
        .unwrap();
    assert_eq!(out.result, ImportResult::Imported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_search_that_writes_is_refused_up_front_and_rows_are_capped() {
    let pg =
        TestPostgres::start().unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e}"));
    let db = pg_client(&pg.url).await;
    db.batch_execute(PG_PRACTICE).await.unwrap();
    let spec = TargetSpec::parse(&pg.url_without_password)
        .unwrap()
        .with_password(&pg.password);
    let mapping = |query: &str| {
        Mapping::from_toml_str(&format!(
            "table = \"practice.consultation_notes\"\n[columns]\nuuid = \"askara_uuid\"\ncontent = \"body\"\n[patient_search]\nquery = \"{query}\"\ncolumn = \"patient_id\"\n"
        ))
        .unwrap()
    };
    for (query, says) in [
        (
            "DELETE FROM practice.patients WHERE last = $1 RETURNING id, last, born, ext_ref",
            "not DELETE",
        ),
        (
            "WITH d AS (DELETE FROM practice.patients WHERE last = $1 RETURNING id, last, born, ext_ref) SELECT id, last, born, ext_ref FROM d",
            "writes to the practice database",
        ),
        (
            "SELECT id, last, born, ext_ref FROM practice.patients WHERE last = $1 FOR UPDATE",
            "writes to the practice database",
        ),
    ] {
        let e = connect(&spec, Some(mapping(query)), ConnectOptions::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), "bad_mapping", "{query}");
        assert!(e.to_string().contains(says), "{query}: {e}");
        assert!(e.to_string().contains("read-only"), "{query}: {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
    let n: i64 = db
        .query_one("SELECT count(*) FROM practice.patients", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3, "nothing was written");

    // Sixty patients match: a search returns the cap; a trailing comment does not lift it.
    db.batch_execute(
        "INSERT INTO practice.patients (id, last, first)
         SELECT 5000 + i, 'Capped', 'P' || i FROM generate_series(1, 60) AS i;",
    )
    .await
    .unwrap();
    let t = connect(
        &spec,
        Some(mapping(
            "SELECT id, last, born, ext_ref FROM practice.patients WHERE last = $1 ORDER BY id -- by surname",
        )),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let found = t.search_patients("Capped").await.unwrap();
    assert_eq!(found.len(), import::MAX_CANDIDATES);
    assert_eq!(found[0].id, "5001");
    // The search's READ ONLY transaction ended: an import on the same connection writes.
    let n = note(&uuid(1), "Body.", None);
    let out = t
        .import(&n, &with_assignment(&uuid(1), "5001"))
        .await
        .unwrap();
    assert_eq!(out.result, ImportResult::Imported);
}
