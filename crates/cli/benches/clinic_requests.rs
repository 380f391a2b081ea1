//! Askara requests per hour in clinic mode, for 1 and for 20 desks (they must be the same):
//! the simulator counts every request it serves while the real binary runs against one shared
//! inbox on a throwaway PostgreSQL.
//!
//! - "1 poller": one `askara-inbox sync` (the clinic server).
//! - "1 poller + 20 desks": the same, and 20 desks each listing and searching the shared inbox
//!   every second (`notes list`, `notes search`), as people at 20 workstations would.
//! - "20 pollers": every one of 20 workstations misconfigured to run `sync` against the shared
//!   inbox: one holds the poll lock, the others stand by.
//!
//! Each scenario runs WINDOW seconds (default 60) with `sync --interval INTERVAL` (default 2 s;
//! the product's default is 45 s ± 33 %: requests per hour scale with 1/interval, the ratio
//! between scenarios does not). Prints requests by endpoint, per hour, and PASS/MISS for
//! "20 desks cost no more Askara requests than 1" (within the poll jitter, ±20 %).
//!
//! Run: `cargo bench -p askara-inbox-cli --bench clinic_requests`

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use askara_sim::{SimConfig, SimHandle};
use import::pg_harness::TestPostgres;

const BIN: &str = env!("CARGO_BIN_EXE_askara-inbox");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn binary(pg: &TestPostgres, url: &str, data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data)
        .args(["--inbox", url])
        .env("PGPASSWORD", &pg.password)
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .env_remove("ASKARA_INBOX_URL")
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn spawn_sync(pg: &TestPostgres, url: &str, data: &Path, base: &str, interval: u64) -> Child {
    binary(pg, url, data)
        .args([
            "sync",
            "--interval",
            &interval.to_string(),
            "--base-url",
            base,
        ])
        .args(["--client-id", "askara-inbox-demo"])
        .spawn()
        .unwrap()
}

/// A desk: lists and searches the shared inbox about once a second until `until`.
fn spawn_desk(
    pg: &TestPostgres,
    url: &str,
    data: &Path,
    until: Instant,
) -> std::thread::JoinHandle<usize> {
    let mut list = binary(pg, url, data);
    list.args(["notes", "list", "--limit", "50"]);
    let mut search = binary(pg, url, data);
    search.args(["notes", "search", "pain"]);
    std::thread::spawn(move || {
        let mut runs = 0;
        while Instant::now() < until {
            for cmd in [&mut list, &mut search] {
                assert!(cmd.status().unwrap().success(), "a desk's command failed");
                runs += 1;
            }
            std::thread::sleep(Duration::from_millis(800));
        }
        runs
    })
}

struct Counted {
    by_endpoint: BTreeMap<String, usize>,
    total: usize,
    desk_commands: usize,
}

async fn scenario(
    sim: &SimHandle,
    pg: &TestPostgres,
    url: &str,
    pollers: usize,
    desks: usize,
    window: Duration,
    interval: u64,
) -> Counted {
    let dirs: Vec<tempfile::TempDir> = (0..pollers.max(desks))
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    sim.clear_requests();
    let base = sim.base_url();
    let started = Instant::now();
    let until = started + window;
    let mut children: Vec<Child> = (0..pollers)
        .map(|i| spawn_sync(pg, url, dirs[i].path(), &base, interval))
        .collect();
    let desk_threads: Vec<_> = (0..desks)
        .map(|i| spawn_desk(pg, url, dirs[i].path(), until))
        .collect();
    tokio::time::sleep(window).await;
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let desk_commands = desk_threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut by_endpoint = BTreeMap::new();
    let requests = sim.requests();
    for r in &requests {
        // `/notes/<uuid>` and `/patients/<uuid>` counted together.
        let path: Vec<&str> = r
            .path
            .split('/')
            .map(|p| {
                if p.len() >= 16 && p.contains('-') {
                    "{uuid}"
                } else {
                    p
                }
            })
            .collect();
        *by_endpoint
            .entry(format!("{} {}", r.method, path.join("/")))
            .or_insert(0) += 1;
    }
    Counted {
        by_endpoint,
        total: requests.len(),
        desk_commands,
    }
}

#[tokio::main]
async fn main() {
    let window = Duration::from_secs(env_or("WINDOW", 60));
    let interval = env_or("INTERVAL", 2);
    let pg = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap()
        .unwrap();
    let url = pg.url_with("127.0.0.1", "sslmode=disable");
    let init = Command::new(BIN)
        .args(["--inbox", &url, "inbox", "init"])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(200, 7);
    // Caught up first, so every window counts routine polls only.
    let first = tempfile::tempdir().unwrap();
    let caught_up = binary(&pg, &url, first.path())
        .args(["sync", "--once", "--base-url", &sim.base_url()])
        .args(["--client-id", "askara-inbox-demo"])
        .status()
        .unwrap();
    assert!(caught_up.success(), "the first sync failed");

    println!(
        "Askara requests in clinic mode: {}-s windows, sync --interval {interval} (product default 45 s)",
        window.as_secs()
    );
    let per_hour = |n: usize| n as f64 * 3600.0 / window.as_secs_f64();
    let mut totals = Vec::new();
    for (name, pollers, desks) in [
        ("1 poller", 1, 0),
        ("1 poller + 20 desks", 1, 20),
        ("20 pollers (every desk runs sync)", 20, 0),
    ] {
        let c = scenario(&sim, &pg, &url, pollers, desks, window, interval).await;
        println!(
            "\n{name}: {} requests → {:.0}/h at this interval, {:.0}/h at 45 s{}",
            c.total,
            per_hour(c.total),
            per_hour(c.total) * interval as f64 / 45.0,
            if desks > 0 {
                format!(" ({} desk commands run)", c.desk_commands)
            } else {
                String::new()
            }
        );
        for (endpoint, n) in &c.by_endpoint {
            println!("    {endpoint:<28} {n:>6}");
        }
        let note_polls = c
            .by_endpoint
            .iter()
            .filter(|(e, _)| e.starts_with("GET ") && e.ends_with("/notes"))
            .map(|(_, n)| n)
            .sum::<usize>();
        totals.push((name, note_polls, c.total));
    }
    // Compare the note polls (GET …/notes); a token request or a patient read may fall in
    // one window and not another.
    let polls: Vec<usize> = totals.iter().map(|t| t.1).collect();
    let base = polls[0].max(1) as f64;
    let worst = polls
        .iter()
        .map(|&p| (p as f64 - base).abs() / base)
        .fold(0.0, f64::max);
    println!(
        "\n{} Askara note polls independent of the number of desks (1 poller {}, +20 desks {}, 20 pollers {}; largest difference {:.0} %, poll jitter allows 20 %)",
        if worst <= 0.2 { "PASS" } else { "MISS" },
        polls[0],
        polls[1],
        polls[2],
        worst * 100.0
    );
    sim.shutdown().await;
}
