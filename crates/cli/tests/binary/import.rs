//! `notes import` through the real binary: SQLite and a throwaway PostgreSQL, exactly once across
//! workstations, revisions refused unless `--update`, and clear one-line errors.

#![allow(clippy::unwrap_used)]

use askara_sim::{SimConfig, SimHandle};
use import::pg_harness::TestPostgres;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{self, Run, BIN};

/// Who the simulator's `GET /me` says is signed in, as the audit log and the target name them
/// on a local inbox (on a shared one, the connected role: [`support::person`]).
const SIM_USER: &str = "askara:ingrid.solberg@example.test";

async fn run(data: &Path, args: &[&str]) -> Run {
    run_with_pgpassword(data, args, None).await
}

async fn run_with_pgpassword(data: &Path, args: &[&str], pgpassword: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_remove("PGPASSWORD");
    if let Some(pw) = pgpassword {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(support::store_env(data))
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .env("USER", "reception-1")
        .output()
        .await
        .unwrap();
    let r = Run::from(out);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn one_line_error(r: &Run) -> String {
    assert_ne!(r.code, 0, "expected failure: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stderr);
    lines[0].to_string()
}

/// A workstation: its own data dir, synced from the shared simulator.
async fn workstation(sim: &SimHandle) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let base = sim.base_url();
    let r = run(
        dir.path(),
        &[
            "sync",
            "--once",
            "--base-url",
            &base,
            "--client-id",
            "askara-inbox-demo",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(dir.path(), &["notes", "list", "--json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let ids = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect();
    (dir, ids)
}

async fn status(dir: &Path, uuid: &str) -> String {
    let r = run(dir, &["notes", "show", uuid, "--json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sqlite_import_is_exactly_once_and_revisions_need_update() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(6, 3);
    let (dir, ids) = workstation(&sim).await;
    let db = dir.path().join("practice.sqlite3");
    let to = format!("sqlite:{}", db.display());

    run(dir.path(), &["notes", "review", &ids[0]]).await;
    let r = run(
        dir.path(),
        &["notes", "import", &ids[0], "--to", &to, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["uuid"], ids[0].as_str());
    assert_eq!(v["result"], "imported");
    // The signed-in Askara user (the simulator's), not `USER`.
    assert_eq!(v["importedBy"], support::person(SIM_USER));
    assert!(v["target"].as_str().unwrap().contains("practice.sqlite3"));
    assert!(askara::parse_instant(v["importedAt"].as_str().unwrap()).is_some());
    assert_eq!(status(dir.path(), &ids[0]).await, "imported");

    let r = run(
        dir.path(),
        &["notes", "import", &ids[0], "--to", &to, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).unwrap()["result"],
        "unchanged"
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, content): (i64, String) = conn
        .query_row(
            "SELECT count(*), max(content) FROM askara_notes WHERE uuid = ?1",
            [&ids[0]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, 1);

    // Revised in Askara after the import: refused as a conflict, then overwritten on request.
    assert!(sim.revise_note(&ids[0], "Synthetic revision: dosage corrected."));
    let r = run(dir.path(), &["sync", "--once"]).await;
    assert!(r.stdout.contains("1 revised"), "{}", r.stdout);
    assert_eq!(status(dir.path(), &ids[0]).await, "revised");
    let r = run(dir.path(), &["notes", "import", &ids[0], "--to", &to]).await;
    let err = one_line_error(&r);
    assert!(
        err.contains("--update") && err.contains(&support::person(SIM_USER)),
        "{err}"
    );
    let still: String = conn
        .query_row(
            "SELECT content FROM askara_notes WHERE uuid = ?1",
            [&ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(still, content, "a conflict must not touch the row");
    let r = run(
        dir.path(),
        &[
            "notes", "import", &ids[0], "--to", &to, "--update", "--json",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).unwrap()["result"],
        "updated"
    );
    let now: String = conn
        .query_row(
            "SELECT content FROM askara_notes WHERE uuid = ?1",
            [&ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(now, "Synthetic revision: dosage corrected.");
    assert_eq!(status(dir.path(), &ids[0]).await, "imported");

    // Every attempt is in the inbox's audit log, with target and result.
    let inbox = support::store_of(dir.path()).await;
    let results: Vec<String> = inbox
        .audit_log(Some(ids[0].clone()), 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "import")
        .map(|e| e.detail["result"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(
        results,
        vec!["updated", "conflict", "unchanged", "imported"]
    );
    // Each committed attempt names the note version it wrote, so the desktop can show what
    // Askara changed since the imported version (the CLI once left it out), and who did it.
    let note = inbox.get(&ids[0]).await.unwrap().unwrap();
    let log = inbox.audit_log(Some(ids[0].clone()), 50).await.unwrap();
    let newest = log.iter().find(|e| e.action == "import").unwrap();
    let at: chrono::DateTime<chrono::Utc> = newest.detail["noteUpdatedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(at, note.updated_at);
    assert!(!newest.actor.is_empty());

    // A dry run shows the row and writes nothing.
    let r = run(
        dir.path(),
        &[
            "notes",
            "import",
            &ids[1],
            "--to",
            &to,
            "--dry-run",
            "--json",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["result"], "dry_run");
    assert_eq!(v["row"]["uuid"], ids[1].as_str());
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM askara_notes WHERE uuid = ?1",
            [&ids[1]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(status(dir.path(), &ids[1]).await, "new");
}

#[tokio::test]
async fn four_workstations_import_the_same_notes_into_postgres_at_once() {
    let pg = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap()
        .unwrap();
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(40, 8);
    let mut stations = Vec::new();
    for _ in 0..4 {
        let (dir, ids) = workstation(&sim).await;
        for id in &ids {
            run(dir.path(), &["notes", "review", id]).await;
        }
        stations.push(dir);
    }
    // Four processes at once, each from its own workstation inbox.
    let handles: Vec<_> = stations
        .iter()
        .map(|d| {
            // The password from PGPASSWORD: a target URL may not hold one.
            let (url, path) = (pg.url_without_password.clone(), d.path().to_path_buf());
            let pw = pg.password.clone();
            tokio::spawn(async move {
                run_with_pgpassword(
                    &path,
                    &["notes", "import", "--all-reviewed", "--to", &url, "--json"],
                    Some(pw.as_str()),
                )
                .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let mut imported = 0;
    for r in &results {
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 40);
        for o in arr {
            match o["result"].as_str().unwrap() {
                "imported" => imported += 1,
                "unchanged" => assert_eq!(
                    o["importedBy"],
                    support::person(SIM_USER),
                    "the loser is told who"
                ),
                other => panic!("unexpected {other}"),
            }
        }
        assert!(
            !r.stdout.contains(&pg.password),
            "password leaked into output"
        );
    }
    assert_eq!(
        imported, 40,
        "each note imported exactly once across the four workstations"
    );
    let (client, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT uuid) FROM askara_notes",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (40, 40));
    for d in &stations {
        let r = run(
            d.path(),
            &["notes", "list", "--status", "imported", "--json"],
        )
        .await;
        assert_eq!(
            serde_json::from_str::<Value>(&r.stdout)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            40
        );
    }
}

#[tokio::test]
async fn import_errors_are_one_line_and_leave_the_note_as_it_was() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(2, 5);
    let (dir, ids) = workstation(&sim).await;
    run(dir.path(), &["notes", "review", &ids[0]]).await;

    let r = run(
        dir.path(),
        &["notes", "import", &ids[0], "--to", "ftp://example/db"],
    )
    .await;
    assert!(one_line_error(&r).contains("sqlite:"), "{}", r.stderr);
    assert_eq!(r.code, 2);

    let r = run(
        dir.path(),
        &[
            "notes",
            "import",
            "no-such-uuid",
            "--to",
            "sqlite:/tmp/x.db",
        ],
    )
    .await;
    assert!(one_line_error(&r).contains("no-such-uuid"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A password in the URL is refused before anything is sent, in one line.
    let r = run(
        dir.path(),
        &[
            "notes",
            "import",
            &ids[0],
            "--to",
            &format!("postgres://u:p@127.0.0.1:{port}/db"),
        ],
    )
    .await;
    assert!(one_line_error(&r).contains("PGPASSWORD"), "{}", r.stderr);
    assert!(!r.stderr.contains(":p@"), "password in error: {}", r.stderr);
    let started = Instant::now();
    let r = run(
        dir.path(),
        &[
            "notes",
            "import",
            &ids[0],
            "--to",
            &format!("postgres://u@127.0.0.1:{port}/db"),
        ],
    )
    .await;
    assert!(
        one_line_error(&r).contains(&format!("127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 4, "unreachable target");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(!r.stderr.contains(":p@"), "password in error: {}", r.stderr);
    assert_eq!(status(dir.path(), &ids[0]).await, "reviewed");

    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "table = \"consults\"\n[columns]\nuuid = \"askara_uuid\"\ncontent = \"no_such_column\"\n",
    )
    .unwrap();
    let db = dir.path().join("practice.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE consults (id INTEGER PRIMARY KEY, askara_uuid TEXT UNIQUE NOT NULL, body TEXT)").unwrap();
    let r = run(
        dir.path(),
        &[
            "notes",
            "import",
            &ids[0],
            "--to",
            &format!("sqlite:{}", db.display()),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        one_line_error(&r).contains("no_such_column"),
        "{}",
        r.stderr
    );
    assert_eq!(status(dir.path(), &ids[0]).await, "reviewed");

    // The mapping fixed: the note lands in the practice's own table.
    std::fs::write(
        &mapping,
        "table = \"consults\"\n[columns]\nuuid = \"askara_uuid\"\ncontent = \"body\"\n",
    )
    .unwrap();
    let r = run(
        dir.path(),
        &[
            "notes",
            "import",
            &ids[0],
            "--to",
            &format!("sqlite:{}", db.display()),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM consults WHERE askara_uuid = ?1",
            [&ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}
