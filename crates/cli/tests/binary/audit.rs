//! The tamper-evident audit trail through the real binary: who the rows name (never `$USER`),
//! `notes history`, and `audit verify` before and after someone alters a row behind the app's
//! back (a SQLite editor holding the inbox key; on a shared inbox, the database's superuser).

#![allow(clippy::unwrap_used)]

use askara_sim::{SimConfig, SimHandle};
use serde_json::Value;
use std::path::Path;

use crate::support::{self, Run, BIN};

/// Who the simulator's `GET /me` says is signed in.
const SIM_USER: &str = "askara:ingrid.solberg@example.test";

/// Runs the binary with `USER`, `LOGNAME` and `USERNAME` forged: none may reach the audit log.
async fn run(data: &Path, args: &[&str], client_secret: bool) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(support::store_env(data))
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .env("USER", "forged")
        .env("LOGNAME", "forged")
        .env("USERNAME", "forged");
    if client_secret {
        cmd.env("ASKARA_CLIENT_SECRET", "sim-secret");
    } else {
        cmd.env_remove("ASKARA_CLIENT_SECRET");
    }
    let r = Run::from(cmd.output().await.unwrap());
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn stderr_lines(r: &Run) -> Vec<&str> {
    r.stderr
        .lines()
        .filter(|l| !l.starts_with("WARNING"))
        .collect()
}

async fn synced(sim: &SimHandle) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let base = sim.base_url();
    let args = [
        "sync",
        "--once",
        "--base-url",
        &base,
        "--client-id",
        "askara-inbox-demo",
    ];
    let r = run(dir.path(), &args, true).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // From the simulator: `notes list --json` would itself be audited as reading them all.
    let ids = sim.note_uuids();
    (dir, ids)
}

async fn history(dir: &Path, uuid: &str) -> Vec<Value> {
    let r = run(dir, &["notes", "history", uuid, "--json"], false).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str::<Value>(&r.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn verify_line(r: &Run) -> (u64, String) {
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stdout);
    let rest = lines[0]
        .strip_prefix("audit trail intact: ")
        .unwrap_or_else(|| panic!("{}", lines[0]));
    let (rows, head) = rest.split_once(" rows, head ").unwrap();
    assert_eq!(head.len(), 64, "{head}");
    (rows.parse().unwrap(), head.to_string())
}

#[tokio::test]
async fn reads_and_changes_are_audited_under_the_real_identity_and_history_lists_them() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(3, 4);
    let (dir, ids) = synced(&sim).await;
    let d = dir.path();

    // Not signed in: the OS account by user id, whatever USER says.
    let r = run(d, &["notes", "show", &ids[0]], false).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // With Askara credentials: the signed-in user.
    let r = run(d, &["notes", "review", &ids[0]], true).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(d, &["notes", "show", &ids[0], "--json"], true).await;
    assert_eq!(r.code, 0, "{}", r.stderr);

    let h = history(d, &ids[0]).await;
    let rows: Vec<(&str, &str)> = h
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    let signed_in = support::person(SIM_USER);
    assert_eq!(rows.len(), 4, "{h:?}");
    assert_eq!(rows[0], ("received", "sync"));
    assert_eq!(rows[1].0, "read");
    if support::clinic_mode() {
        // On a shared inbox a person is the role they connect as, signed in to Askara or not.
        assert_eq!(rows[1].1, signed_in);
    } else {
        assert!(rows[1].1.starts_with("os:"), "{}", rows[1].1);
    }
    assert_eq!(rows[2], ("status_changed", signed_in.as_str()));
    assert_eq!(rows[3], ("read", signed_in.as_str()));
    assert!(
        h.iter()
            .all(|e| !e["actor"].as_str().unwrap().contains("forged")),
        "USER reached the audit log: {h:?}"
    );
    // Oldest first, with the columns people read; never the note's content.
    let at: Vec<&str> = h.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert_eq!(h[2]["fromStatus"], "new");
    assert_eq!(h[2]["toStatus"], "reviewed");
    let note = sim.note(&ids[0]).unwrap();
    let content = note["content"].as_str().unwrap();
    let r = run(d, &["notes", "history", &ids[0]], false).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    assert!(r.stdout.contains("status_changed") && r.stdout.contains(&signed_in));
    assert!(!r.stdout.contains(content), "{}", r.stdout);
    if let Some(last) = note["patient"]["lastName"].as_str() {
        assert!(!r.stdout.contains(last), "{}", r.stdout);
    }

    // The table (names, no content) is not a read; `--json` prints every note's text, so it
    // is one read row per note printed.
    run(d, &["notes", "list"], false).await;
    run(d, &["notes", "search", "zzznomatch", "--json"], true).await;
    assert_eq!(history(d, &ids[0]).await.len(), 4);
    let r = run(d, &["notes", "list", "--json"], true).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // ids[0]: this user's read a moment ago is its last row, so it is the same read.
    assert_eq!(history(d, &ids[0]).await.len(), 4);
    for id in &ids[1..] {
        let h = history(d, id).await;
        let last = h.last().unwrap();
        assert_eq!(
            (last["action"].as_str(), last["actor"].as_str()),
            (Some("read"), Some(signed_in.as_str())),
            "{h:?}"
        );
        assert_eq!(last["detail"]["bulk"], true, "{h:?}");
    }

    // An unknown note: one line, exit 2.
    let r = run(d, &["notes", "history", "no-such-note"], false).await;
    assert_eq!(r.code, 2);
    assert_eq!(stderr_lines(&r).len(), 1, "{}", r.stderr);
}

#[tokio::test]
async fn audit_verify_passes_then_names_the_row_a_raw_editor_altered() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(2, 5);
    let (dir, ids) = synced(&sim).await;
    let d = dir.path();
    assert_eq!(run(d, &["notes", "show", &ids[1]], false).await.code, 0);
    assert_eq!(run(d, &["notes", "dismiss", &ids[1]], false).await.code, 0);

    let (rows, head) = verify_line(&run(d, &["audit", "verify"], false).await);
    assert_eq!(rows, 4, "2 received, a read, a dismissal");

    let id = if support::clinic_mode() {
        // The database's superuser, who can switch the trigger off.
        let admin = support::clinic_admin(d).await;
        let refused = admin
            .execute(
                "UPDATE audit_events SET actor = 'dr.x' WHERE action = 'status_changed'",
                &[],
            )
            .await
            .unwrap_err();
        let refused = refused.as_db_error().unwrap().message().to_string();
        assert!(refused.contains("append-only"), "{refused}");
        let id: i64 = admin
            .query_one(
                "SELECT id FROM audit_events WHERE action = 'status_changed'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        admin
            .batch_execute(
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
                 UPDATE audit_events SET actor = 'dr.x' WHERE action = 'status_changed';",
            )
            .await
            .unwrap();
        id
    } else {
        // Someone with the inbox key opens the file in a SQLite editor, drops the trigger that
        // refuses updates, and rewrites who dismissed the note.
        let key = app::inbox_key::existing_key(d).unwrap().unwrap();
        let conn = rusqlite::Connection::open(app::paths::inbox_path(d)).unwrap();
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))
            .unwrap();
        let refused = conn
            .execute(
                "UPDATE audit_events SET actor = 'dr.x' WHERE action = 'status_changed'",
                [],
            )
            .unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
        let id: i64 = conn
            .query_row(
                "SELECT id FROM audit_events WHERE action = 'status_changed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_events_no_update;
             UPDATE audit_events SET actor = 'dr.x' WHERE action = 'status_changed';",
        )
        .unwrap();
        id
    };

    let r = run(d, &["audit", "verify"], false).await;
    assert_eq!(r.code, 7, "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let lines = stderr_lines(&r);
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(
        lines[0].starts_with(&format!("error: audit row {id} was altered")),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains(&head));
}
