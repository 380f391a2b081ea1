//! One poller per data dir across processes: a second `askara-inbox sync` on the same data
//! dir waits while the first polls, and takes over when it stops.

#![allow(clippy::unwrap_used)]

use askara_sim::{SimConfig, SimHandle};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};

use crate::support::{Run, BIN};

type Stderr = Lines<BufReader<ChildStderr>>;

fn command(dir: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .kill_on_drop(true);
    cmd
}

fn sync_args(base: &str) -> Vec<&str> {
    vec![
        "sync",
        "--base-url",
        base,
        "--client-id",
        "askara-inbox-demo",
        "--interval",
        "3600",
    ]
}

fn spawn_sync(dir: &Path, base: &str) -> (Child, Stderr) {
    let mut child = command(dir, &sync_args(base))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

/// The next line on stderr, past the warning printed where no OS keyring is available.
async fn next_line(lines: &mut Stderr, what: &str) -> String {
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{what}"))
            .unwrap()
            .unwrap_or_default();
        if !line.starts_with("WARNING") {
            return line;
        }
    }
}

/// `GET /notes…` requests the simulator has seen.
fn note_requests(sim: &SimHandle) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/notes"))
        .count()
}

async fn terminate(mut child: Child) -> Option<i32> {
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("sync stops after SIGTERM")
        .unwrap()
        .code()
}

#[tokio::test]
async fn a_second_sync_on_one_data_dir_waits_and_takes_over_when_the_first_stops() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(3, 7);
    let dir = tempfile::tempdir().unwrap();
    let base = sim.base_url();

    let (first, mut first_err) = spawn_sync(dir.path(), &base);
    let line = next_line(&mut first_err, "the first sync polls").await;
    assert!(line.starts_with("synced: 3 new"), "{line}");
    let polled = note_requests(&sim);
    assert!(polled > 0);

    // The second says once that another is syncing, and does not poll.
    let (second, mut second_err) = spawn_sync(dir.path(), &base);
    let line = next_line(&mut second_err, "the second sync says it waits").await;
    assert!(line.starts_with("waiting: "), "{line}");
    assert!(line.contains("another Askara Inbox"), "{line}");
    assert!(line.contains("takes over"), "{line}");

    // Nor do a one-shot sync or `serve --poll` poll beside it.
    let once = Run::from(
        command(
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
        .output()
        .await
        .unwrap(),
    );
    assert_eq!(once.code, 6, "{} {}", once.stdout, once.stderr);
    assert!(
        once.stderr.contains("another Askara Inbox"),
        "{}",
        once.stderr
    );
    assert!(!once.stdout.contains("synced"), "{}", once.stdout);
    let serve = Run::from(
        command(
            dir.path(),
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--poll",
                "--base-url",
                &base,
                "--client-id",
                "askara-inbox-demo",
            ],
        )
        .output()
        .await
        .unwrap(),
    );
    assert_eq!(serve.code, 6, "{} {}", serve.stdout, serve.stderr);
    assert!(
        serve.stderr.contains("another Askara Inbox"),
        "{}",
        serve.stderr
    );

    // Past its first retry (every 5 s) it still waits, silently, and Askara saw no poll.
    let quiet = tokio::time::timeout(Duration::from_secs(6), second_err.next_line()).await;
    assert!(quiet.is_err(), "the waiting sync printed {quiet:?}");
    assert_eq!(note_requests(&sim), polled, "only the first polls");

    // The first stops: the second takes over and polls.
    assert_eq!(terminate(first).await, Some(0));
    let line = next_line(&mut second_err, "the second sync takes over").await;
    assert!(line.starts_with("synced:"), "{line}");
    assert!(note_requests(&sim) > polled);
    assert_eq!(terminate(second).await, Some(0));
    sim.shutdown().await;
}
