//! Clinic mode with the real binary: one shared inbox on a throwaway PostgreSQL, two servers
//! running `sync` (one polls, the other stands by and takes over) and two desks, each its own
//! PostgreSQL role, seeing each other's reviews, with the role as the audit actor.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use askara_sim::{SimConfig, SimHandle};
use import::pg_harness::TestPostgres;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Run, BIN};

/// The shared inbox's URL for `role` (password `pw-<role>`, given as PGPASSWORD).
fn url(pg: &TestPostgres, role: &str) -> String {
    pg.url_with("127.0.0.1", "sslmode=disable")
        .replacen(import::pg_harness::USER, role, 1)
}

fn command(pg: &TestPostgres, role: &str, data: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    let pw = if role == import::pg_harness::USER {
        pg.password.clone()
    } else {
        format!("pw-{role}")
    };
    cmd.arg("--data-dir")
        .arg(data)
        .args(["--inbox", &url(pg, role)])
        .env("PGPASSWORD", pw)
        .env("USER", "forged-os-user")
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .env_remove("ASKARA_INBOX_URL");
    cmd
}

async fn run(pg: &TestPostgres, role: &str, data: &Path, args: &[&str]) -> Run {
    let r = Run::from(command(pg, role, data).args(args).output().await.unwrap());
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

async fn listed(pg: &TestPostgres, role: &str, data: &Path) -> Vec<Value> {
    let r = run(pg, role, data, &["notes", "list", "--json"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str::<Value>(&r.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (at most 60 s) until the shared inbox lists `n` notes.
async fn until_listed(pg: &TestPostgres, data: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = listed(pg, "reception", data).await.len();
        if got == n {
            return;
        }
        assert!(Instant::now() < deadline, "{got} notes listed, not {n}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn spawn_sync(pg: &TestPostgres, role: &str, data: &Path, base: &str) -> tokio::process::Child {
    command(pg, role, data)
        .args(["sync", "--interval", "1", "--base-url", base])
        .args(["--client-id", "askara-inbox-demo"])
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The first stderr line of `child` containing `needle`, within `secs`.
async fn line_with(child: &mut tokio::process::Child, needle: &str, secs: u64) -> Option<String> {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let found = tokio::time::timeout(Duration::from_secs(secs), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains(needle) {
                return Some(l);
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    // Keep draining, so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    found
}

#[tokio::test]
async fn two_servers_one_polls_two_desks_see_each_other_as_their_roles() {
    let pg = TestPostgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let owner = import::pg_harness::USER;
    let r = run(&pg, owner, dir.path(), &["inbox", "init"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (role, group) in [
        ("server_a", "askara_inbox_poller"),
        ("server_b", "askara_inbox_poller"),
        ("reception", "askara_inbox_staff"),
        ("dr_lund", "askara_inbox_staff"),
    ] {
        pg.run_sql(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE {group}"
        ))
        .unwrap();
    }
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(12, 5);
    let base = sim.base_url();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let mut a = spawn_sync(&pg, "server_a", a_dir.path(), &base);
    assert!(
        line_with(&mut a, "synced:", 30).await.is_some(),
        "server a never polled"
    );
    let mut b = spawn_sync(&pg, "server_b", b_dir.path(), &base);
    let waiting = line_with(&mut b, "waiting:", 30).await;
    assert!(
        waiting
            .as_deref()
            .is_some_and(|l| l.contains("hot standby")),
        "server b did not stand by: {waiting:?}"
    );
    until_listed(&pg, dir.path(), 12).await;
    // The desks read the poller's status from the shared inbox (they never poll Askara).
    let shared = inbox_pg::PgInbox::connect(
        match import::TargetSpec::parse(&url(&pg, "reception"))
            .unwrap()
            .with_password("pw-reception")
        {
            import::TargetSpec::Postgres(p) => p,
            _ => unreachable!(),
        },
        "test".into(),
    )
    .await
    .unwrap();
    let published = app::sync::clinic_poller_status(&shared)
        .await
        .unwrap()
        .unwrap();
    assert!(
        published.poller.starts_with("server_a@"),
        "{}",
        published.poller
    );
    assert!(published.status.last_success_at.is_some());
    assert!(!published.is_stale(chrono::Utc::now(), Duration::from_secs(60)));

    // A review at reception is what dr_lund's desk shows, and the trail names reception.
    let notes = listed(&pg, "dr_lund", dir.path()).await;
    let uuid = notes[0]["uuid"].as_str().unwrap().to_string();
    let r = run(&pg, "reception", dir.path(), &["notes", "review", &uuid]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        &pg,
        "dr_lund",
        dir.path(),
        &["notes", "show", &uuid, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shown: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(shown["status"], "reviewed");
    let r = run(&pg, "dr_lund", dir.path(), &["notes", "history", &uuid]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("reception"), "{}", r.stdout);
    assert!(!r.stdout.contains("forged-os-user"), "{}", r.stdout);
    // A desk cannot poll: the poll lock and the notes belong to the servers' role.
    let out = command(&pg, "dr_lund", dir.path())
        .args(["sync", "--once", "--base-url", &base])
        .args(["--client-id", "askara-inbox-demo"])
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .output()
        .await
        .unwrap();
    let r = Run::from(out);
    assert_ne!(r.code, 0, "a desk polled");
    assert!(r.stderr.contains("askara_inbox_poller"), "{}", r.stderr);

    // The poller stops; the standby takes over and brings Askara's next notes.
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    sim.add_generated_at(3, 77, chrono::Utc::now());
    until_listed(&pg, dir.path(), 15).await;
    let r = run(&pg, owner, dir.path(), &["audit", "verify"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    b.start_kill().unwrap();
}

/// `serve --poll` for `role`: the child and its base URL.
async fn spawn_serve(
    pg: &TestPostgres,
    role: &str,
    data: &Path,
    base: &str,
) -> (tokio::process::Child, String) {
    let mut child = command(pg, role, data)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--poll",
            "--interval",
            "1",
        ])
        .args(["--base-url", base, "--client-id", "askara-inbox-demo"])
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(u) = l.strip_prefix("listening on ") {
                return u.to_string();
            }
        }
        panic!("serve ended before listening");
    })
    .await
    .expect("serve prints its address");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

async fn health(url: &str) -> Value {
    reqwest::get(format!("{url}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_clinic_server_may_serve_with_poll_one_polls_and_the_other_stands_by() {
    let pg = TestPostgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &pg,
        import::pg_harness::USER,
        dir.path(),
        &["inbox", "init"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for role in ["server_a", "server_b"] {
        pg.run_sql(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE askara_inbox_poller"
        ))
        .unwrap();
    }
    pg.run_sql("CREATE ROLE reception LOGIN PASSWORD 'pw-reception' IN ROLE askara_inbox_staff")
        .unwrap();
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(4, 8);
    let base = sim.base_url();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, a_url) = spawn_serve(&pg, "server_a", a_dir.path(), &base).await;
    until_listed(&pg, dir.path(), 4).await;
    let (mut b, b_url) = spawn_serve(&pg, "server_b", b_dir.path(), &base).await;
    // Within a lease check, the second reports it stands by; the first polls.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ha, hb) = (health(&a_url).await, health(&b_url).await);
        if hb["pollStandby"] == true {
            assert_eq!(ha["pollStandby"], false, "{ha}");
            break;
        }
        assert!(Instant::now() < deadline, "b never stood by: {hb}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    sim.add_generated_at(2, 99, chrono::Utc::now());
    until_listed(&pg, dir.path(), 6).await;
    assert_eq!(health(&b_url).await["pollStandby"], false);
    b.start_kill().unwrap();
}

#[tokio::test]
async fn a_clinician_limited_to_own_notes_lists_only_those_through_the_binary() {
    let pg = TestPostgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let owner = import::pg_harness::USER;
    let r = run(&pg, owner, dir.path(), &["inbox", "init"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    pg.run_sql(
        "CREATE ROLE dr_lund LOGIN PASSWORD 'pw-dr_lund' IN ROLE askara_inbox_staff, askara_inbox_author_only;
         CREATE ROLE reception LOGIN PASSWORD 'pw-reception' IN ROLE askara_inbox_staff;
         INSERT INTO askara_inbox.clinician_authors VALUES ('dr_lund', 'user-lund');",
    )
    .unwrap();
    let spec = match import::TargetSpec::parse(&url(&pg, owner))
        .unwrap()
        .with_password(pg.password.clone())
    {
        import::TargetSpec::Postgres(p) => p,
        _ => unreachable!(),
    };
    let server = inbox_pg::PgInbox::connect(spec, "test".into())
        .await
        .unwrap();
    let note = |uuid: &str| {
        askara::Note::from_json(serde_json::json!({
            "uuid": uuid, "type": "consultation_note", "content": "Synthetic note.",
            "createdAt": "2026-12-01T08:00:00Z", "updatedAt": "2026-12-01T08:00:00Z",
        }))
        .unwrap()
    };
    use inbox::InboxStore;
    server
        .ingest_from(
            vec![note("mine"), note("theirs")],
            inbox::Origin {
                source: inbox::Source::Webhook,
                verified: true,
                authors: [("mine", "user-lund"), ("theirs", "user-berg")]
                    .into_iter()
                    .map(|(n, a)| (n.to_string(), a.to_string()))
                    .collect(),
            },
            vec![],
        )
        .await
        .unwrap();
    let uuids = |v: Vec<Value>| -> Vec<String> {
        let mut u: Vec<String> = v
            .iter()
            .map(|n| n["uuid"].as_str().unwrap().to_string())
            .collect();
        u.sort();
        u
    };
    assert_eq!(
        uuids(listed(&pg, "dr_lund", dir.path()).await),
        vec!["mine"]
    );
    assert_eq!(
        uuids(listed(&pg, "reception", dir.path()).await),
        vec!["mine", "theirs"]
    );
    let r = run(&pg, "dr_lund", dir.path(), &["notes", "show", "theirs"]).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains("Synthetic"), "{}", r.stdout);
}

#[tokio::test]
async fn after_the_clinic_database_restarts_the_poller_and_the_desks_carry_on_with_nothing_lost() {
    let mut pg = TestPostgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &pg,
        import::pg_harness::USER,
        dir.path(),
        &["inbox", "init"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    pg.run_sql(
        "CREATE ROLE server_a LOGIN PASSWORD 'pw-server_a' IN ROLE askara_inbox_poller;
         CREATE ROLE reception LOGIN PASSWORD 'pw-reception' IN ROLE askara_inbox_staff;",
    )
    .unwrap();
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(5, 3);
    let base = sim.base_url();
    let a_dir = tempfile::tempdir().unwrap();
    let mut a = spawn_sync(&pg, "server_a", a_dir.path(), &base);
    let mut lines = BufReader::new(a.stderr.take().unwrap()).lines();
    until_listed(&pg, dir.path(), 5).await;

    pg.stop();
    // A desk is told in one line, with what to do.
    let r = run(&pg, "reception", dir.path(), &["notes", "list"]).await;
    assert_ne!(r.code, 0);
    let err: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("WARNING"))
        .collect();
    assert_eq!(err.len(), 1, "{}", r.stderr);
    assert!(err[0].contains("clinic"), "{}", err[0]);
    // Askara gets new notes while the database is down; the poller says it cannot store them.
    sim.add_generated_at(4, 31, chrono::Utc::now());
    let failed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("failed") || l.contains("clinic inbox") {
                return l;
            }
        }
        String::new()
    })
    .await
    .expect("the poller reports the database down");
    assert!(!failed.is_empty());
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    pg.start_again();
    until_listed(&pg, dir.path(), 9).await;
    let r = run(&pg, "reception", dir.path(), &["audit", "verify"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    a.start_kill().unwrap();
}

/// `inbox password` once, then no PGPASSWORD anywhere: the password is proven with the server
/// before it is kept, a wrong one is refused in one line and keeps nothing, and a local inbox
/// has none to keep.
#[tokio::test]
async fn inbox_password_is_proven_with_the_server_then_kept_in_the_keyring() {
    if !secrets::keyring_or_skip() {
        return;
    }
    let pg = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let owner = import::pg_harness::USER;
    assert_eq!(run(&pg, owner, d, &["inbox", "init"]).await.code, 0);
    pg.run_sql("CREATE ROLE desk_kv LOGIN PASSWORD 'pw-desk_kv' IN ROLE askara_inbox_staff")
        .unwrap();
    let without_pgpassword = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = command(&pg, "desk_kv", d);
        cmd.env_remove("PGPASSWORD").args(args);
        let stdin = stdin.map(str::to_string);
        async move {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let mut pipe = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                use tokio::io::AsyncWriteExt;
                pipe.write_all(s.as_bytes()).await.unwrap();
            }
            drop(pipe);
            Run::from(child.wait_with_output().await.unwrap())
        }
    };

    let r = without_pgpassword(&["inbox", "password"], Some("not-her-password\n")).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("not-her-password"), "{}", r.stderr);
    let r = without_pgpassword(&["notes", "list"], None).await;
    assert_ne!(r.code, 0, "a refused password was kept: {}", r.stdout);

    let r = without_pgpassword(&["inbox", "password"], Some("pw-desk_kv\n")).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("kept in the OS keyring (logs in as desk_kv)"),
        "{}",
        r.stdout
    );
    let r = without_pgpassword(&["notes", "list", "--json"], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "[]");

    let r = Run::from(
        tokio::process::Command::new(BIN)
            .args(["--data-dir", d.to_str().unwrap(), "--inbox", "sqlite:"])
            .args(["inbox", "password"])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("postgres://"), "{}", r.stderr);
}
