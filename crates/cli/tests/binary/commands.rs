//! The real `askara-inbox` binary against the simulator on loopback.

#![allow(clippy::unwrap_used)]

use askara_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::support::{Run, BIN};

async fn run(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("--data-dir").arg(data).args(args);
    cmd.env_remove("ASKARA_CLIENT_SECRET")
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .envs(crate::support::store_env(data));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let r = Run::from(cmd.output().await.unwrap());
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"),
        "{}",
        r.stderr
    );
    r
}

fn secret() -> [(&'static str, &'static str); 1] {
    [("ASKARA_CLIENT_SECRET", "sim-secret")]
}

fn one_line_error(r: &Run) -> &str {
    assert_ne!(r.code, 0, "expected failure, got: {}", r.stdout);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("WARNING"))
        .collect();
    assert_eq!(lines.len(), 1, "not one line: {:?}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    lines[0]
}

async fn synced(notes: usize) -> (SimHandle, tempfile::TempDir) {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(notes, 9);
    let dir = tempfile::tempdir().unwrap();
    let r = sync_once(dir.path(), &sim.base_url()).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("{notes} new")), "{}", r.stdout);
    (sim, dir)
}

fn uuids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sync_once_then_list_everything_newest_first_in_askaras_field_names() {
    let (sim, dir) = synced(130).await;
    let r = run(dir.path(), &["notes", "list", "--json"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let got = uuids(&v);
    assert_eq!(got.len(), 130, "list without --limit lists everything");
    let want: BTreeSet<_> = sim.note_uuids().into_iter().collect();
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    let created: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| askara::parse_instant(n["createdAt"].as_str().unwrap()).unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    let first = &v[0];
    for key in [
        "uuid",
        "type",
        "content",
        "createdAt",
        "updatedAt",
        "patient",
        "status",
    ] {
        assert!(first.get(key).is_some(), "missing {key}: {first}");
    }
    assert_eq!(first["status"], "new");
    assert!(
        v.as_array().unwrap().iter().any(|n| n["patient"].is_null()),
        "null patients stay null"
    );

    let r = run(
        dir.path(),
        &["notes", "list", "--limit", "7", "--json"],
        &[],
    )
    .await;
    assert_eq!(
        uuids(&serde_json::from_str(&r.stdout).unwrap()),
        got[..7].to_vec()
    );

    // Settings were remembered: no --base-url the second time.
    let r = run(dir.path(), &["sync", "--once"], &secret()).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("0 new"), "{}", r.stdout);
}

#[tokio::test]
async fn search_ignores_accents_and_case_and_hostile_syntax() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(20, 2);
    sim.add_note(json!({
        "uuid": "11111111-2222-3333-4444-555555555555", "type": "referral_letter",
        "content": "Synthetic: knee pain after skiing, refer to physiotherapy.",
        "createdAt": "2026-02-24T10:30:00+00:00", "updatedAt": "2026-02-24T10:30:00+00:00",
        "patient": {"uuid": "p-odegard", "firstName": "Bjørn", "lastName": "Ødegård"}
    }));
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
        &secret(),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for q in ["odegard", "ØDEGÅRD", "bjorn", "physiotherapy", "KNEE"] {
        let r = run(dir.path(), &["notes", "search", q, "--json"], &[]).await;
        assert_eq!(r.code, 0, "{q}: {}", r.stderr);
        let got = uuids(&serde_json::from_str(&r.stdout).unwrap());
        assert!(
            got.contains(&"11111111-2222-3333-4444-555555555555".to_string()),
            "{q}: {got:?}"
        );
    }
    let r = run(
        dir.path(),
        &[
            "notes",
            "search",
            "odegard",
            "--patient",
            "p-nobody",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(uuids(&serde_json::from_str(&r.stdout).unwrap()).len(), 0);
    let r = run(
        dir.path(),
        &["notes", "list", "--patient", "p-odegard", "--json"],
        &[],
    )
    .await;
    assert_eq!(uuids(&serde_json::from_str(&r.stdout).unwrap()).len(), 1);
    for hostile in ["\"unbalanced ( AND OR *", "NEAR(", "content:x", "-", "^*"] {
        let r = run(dir.path(), &["notes", "search", hostile, "--json"], &[]).await;
        assert_eq!(r.code, 0, "{hostile}: {}", r.stderr);
    }
}

#[tokio::test]
async fn show_review_dismiss_and_unknown_uuid() {
    let (_sim, dir) = synced(3).await;
    let r = run(dir.path(), &["notes", "list", "--json"], &[]).await;
    let ids = uuids(&serde_json::from_str(&r.stdout).unwrap());
    let r = run(dir.path(), &["notes", "show", &ids[0], "--json"], &[]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["uuid"], ids[0].as_str());
    let r = run(dir.path(), &["notes", "review", &ids[0]], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(dir.path(), &["notes", "dismiss", &ids[1]], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        dir.path(),
        &["notes", "list", "--status", "reviewed", "--json"],
        &[],
    )
    .await;
    assert_eq!(
        uuids(&serde_json::from_str(&r.stdout).unwrap()),
        vec![ids[0].clone()]
    );
    let r = run(
        dir.path(),
        &["notes", "list", "--status", "dismissed", "--json"],
        &[],
    )
    .await;
    assert_eq!(
        uuids(&serde_json::from_str(&r.stdout).unwrap()),
        vec![ids[1].clone()]
    );

    let r = run(dir.path(), &["notes", "show", "no-such-note"], &[]).await;
    assert!(one_line_error(&r).contains("no-such-note"));
    let r = run(dir.path(), &["notes", "list", "--status", "urgent"], &[]).await;
    assert!(one_line_error(&r).contains("expected one of"));
}

#[tokio::test]
async fn errors_are_one_line_that_say_what_to_do() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let base = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
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
        &[("ASKARA_CLIENT_SECRET", "wrong")],
    )
    .await;
    assert!(
        one_line_error(&r).contains("client credentials"),
        "{}",
        r.stderr
    );

    let scoped = SimHandle::start(SimConfig {
        granted_scopes: vec!["profile".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let base2 = scoped.base_url();
    let r = run(
        dir.path(),
        &["sync", "--once", "--base-url", &base2],
        &secret(),
    )
    .await;
    assert!(one_line_error(&r).contains("read:notes"), "{}", r.stderr);

    let r = run(
        dir.path(),
        &["sync", "--once", "--base-url", "http://127.0.0.1:9"],
        &secret(),
    )
    .await;
    assert!(one_line_error(&r).contains("unreachable"), "{}", r.stderr);

    let empty = tempfile::tempdir().unwrap();
    let r = run(
        empty.path(),
        &["sync", "--once", "--base-url", &base],
        &[("ASKARA_INBOX_TOKEN_FILE", "1")],
    )
    .await;
    assert!(one_line_error(&r).contains("login"), "{}", r.stderr);

    let r = run(
        dir.path(),
        &["sync", "--once", "--base-url", "not a url"],
        &secret(),
    )
    .await;
    assert!(one_line_error(&r).contains("base URL"), "{}", r.stderr);
}

#[tokio::test]
async fn device_login_then_sync_with_stored_tokens_then_logout() {
    let sim = SimHandle::start(SimConfig {
        device_auto_approve: true,
        device_poll_interval_secs: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.add_generated(12, 4);
    let base = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        &[
            "login",
            "--base-url",
            &base,
            "--client-id",
            "askara-inbox-demo",
        ],
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("/device"), "{}", r.stdout);
    let keyring = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
    // With a Secret Service running (CI), no token may touch the disk.
    assert_eq!(
        dir.path().join("tokens.json").exists(),
        !keyring,
        "keyring={keyring}"
    );
    let r = run(dir.path(), &["sync", "--once"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("12 new"), "{}", r.stdout);
    let r = run(dir.path(), &["logout"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(dir.path(), &["sync", "--once"], &[]).await;
    assert!(one_line_error(&r).contains("login"), "{}", r.stderr);
}

#[tokio::test]
async fn a_sync_killed_at_random_points_loses_and_doubles_nothing() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(1500, 21);
    let base = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let mut kills = 0;
    for delay_ms in [40u64, 90, 150, 230, 320] {
        // Slow pages widen the window in which the kill lands mid-sync.
        sim.faults().slow_next(4, Duration::from_millis(25));
        let mut child = tokio::process::Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "sync",
                "--once",
                "--base-url",
                &base,
                "--client-id",
                "askara-inbox-demo",
            ])
            .env("ASKARA_CLIENT_SECRET", "sim-secret")
            .envs(crate::support::store_env(dir.path()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.start_kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().await.unwrap();
        sim.add_generated_at(5, 100 + delay_ms, chrono::Utc::now());
    }
    assert!(
        kills > 0,
        "no sync was killed mid-way; the test proves nothing"
    );
    let r = run(dir.path(), &["sync", "--once"], &secret()).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(dir.path(), &["notes", "list", "--json"], &[]).await;
    let got = uuids(&serde_json::from_str(&r.stdout).unwrap());
    let set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "doubled");
    assert_eq!(set, sim.note_uuids().into_iter().collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn sim_command_serves_the_api() {
    let (mut sim, base) = sim_process(&["--notes", "7"]).await;
    let dir = tempfile::tempdir().unwrap();
    let r = sync_once(dir.path(), &base).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("7 new"), "{}", r.stdout);
    sim.kill().await.unwrap();
}

/// A running `askara-inbox sim`; its stdout stays open (it prints after its first line).
struct SimProcess {
    child: tokio::process::Child,
    _stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl SimProcess {
    async fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill().await
    }
}

/// Starts `askara-inbox sim` with `flags` and returns it with its base URL.
async fn sim_process(flags: &[&str]) -> (SimProcess, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(BIN)
        .args(["sim", "--listen", &addr])
        .args(flags)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains(&addr), "{first}");
    (
        SimProcess {
            child,
            _stdout: lines,
        },
        format!("http://{addr}"),
    )
}

async fn sync_once(dir: &Path, base: &str) -> Run {
    run(
        dir,
        &[
            "sync",
            "--once",
            "--base-url",
            base,
            "--client-id",
            "askara-inbox-demo",
        ],
        &secret(),
    )
    .await
}

#[tokio::test]
async fn one_sync_reads_a_capped_plain_array_server_to_the_end() {
    // The reported case: a bare JSON array, at most 50 notes a page whatever is asked, and
    // more notes in one second than a page holds.
    let (mut child, base) = sim_process(&[
        "--plain",
        "--page-cap",
        "50",
        "--notes",
        "0",
        "--burst",
        "157",
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let r = sync_once(dir.path(), &base).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("157 new"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Askara pages hold 50 notes"),
        "{}",
        r.stdout
    );
    let list = run(dir.path(), &["notes", "list", "--json"], &[]).await;
    let v: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 157);
    child.kill().await.unwrap();

    // API Platform's own defaults: itemsPerPage ignored, 30 a page, another offset.
    let (mut child, base) = sim_process(&[
        "--format",
        "jsonld",
        "--no-totals",
        "--ignore-items-per-page",
        "--utc-offset",
        "-05:30",
        "--notes",
        "40",
        "--burst",
        "250",
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let r = sync_once(dir.path(), &base).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("290 new"), "{}", r.stdout);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_server_ignoring_page_fails_the_sync_with_one_line() {
    let (mut child, base) = sim_process(&[
        "--plain",
        "--ignore-page",
        "--page-cap",
        "20",
        "--notes",
        "45",
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let r = sync_once(dir.path(), &base).await;
    assert_eq!(r.code, 4, "{} {}", r.stdout, r.stderr);
    let line = one_line_error(&r);
    assert!(line.contains("ignores the `page` parameter"), "{line}");
    assert!(!r.stdout.contains("synced"), "{}", r.stdout);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn sync_stops_cleanly_on_sigterm_as_on_ctrl_c() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(3, 7);
    let dir = tempfile::tempdir().unwrap();
    let base = sim.base_url();
    for signal in ["-TERM", "-INT"] {
        let mut child = tokio::process::Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "sync",
                "--base-url",
                &base,
                "--client-id",
                "askara-inbox-demo",
            ])
            .env_remove("ASKARA_INBOX_DATA_DIR")
            .env("ASKARA_CLIENT_SECRET", "sim-secret")
            .envs(crate::support::store_env(dir.path()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        // The first poll's line, then the signal.
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("sync reports its first poll")
            .unwrap()
            .unwrap_or_default();
        assert!(first.starts_with("synced:"), "{first}");
        let pid = child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("sync stops after the signal")
            .unwrap();
        let mut rest = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            rest.push(l);
        }
        assert_eq!(status.code(), Some(0), "{signal}: {rest:?}");
        assert_eq!(
            rest.last().map(String::as_str),
            Some("sync stopped"),
            "{signal}"
        );
    }
    sim.shutdown().await;
}
