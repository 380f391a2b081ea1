//! Sync benchmarks: catch-up of 10,000 notes from the simulator on loopback into an empty
//! inbox, and the CPU cost of an idle poll. The simulator runs as a separate process (the real
//! `askara-inbox sim`), so the CPU measured here is the client's alone.
//!
//! Run: `cargo bench -p askara-inbox-cli --bench sync`

#![allow(clippy::unwrap_used)]

use askara::{ApiClient, ClientConfig, MemoryTokenStore, SharedClock, SystemClock};
use cpu_time::ProcessTime;
use inbox::sync::{Poller, SyncConfig};
use inbox::Inbox;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOTES: usize = 10_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn poller(base: &str, dir: &std::path::Path) -> Poller {
    let clock: SharedClock = Arc::new(SystemClock);
    let cfg = ClientConfig::new(base, "askara-inbox-demo")
        .expect("config")
        .with_secret(Some("sim-secret".into()));
    let api = Arc::new(
        ApiClient::new(cfg, Arc::new(MemoryTokenStore::default()), clock.clone()).expect("client"),
    );
    let inbox = Inbox::open(dir.join("inbox.sqlite3"), &test_key()).expect("inbox");
    Poller::new(
        api,
        inbox,
        SyncConfig {
            seed: Some(1),
            ..SyncConfig::default()
        },
        clock,
    )
}

fn main() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_askara-inbox"))
        .args(["sim", "--listen", &addr, "--notes", &NOTES.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the simulator");
    let mut first = String::new();
    BufReader::new(sim.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("simulator output");
    let base = format!("http://{addr}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut rates = Vec::new();
    let mut last_dir = None;
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = poller(&base, dir.path());
        let start = Instant::now();
        let report = rt.block_on(p.try_once()).expect("catch-up");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(report.new, NOTES, "catch-up must fetch every note");
        rates.push(NOTES as f64 / secs);
        println!(
            "catch-up {NOTES} notes: {:.2} s, {:.0} notes/s, {} requests",
            secs,
            NOTES as f64 / secs,
            report.requests
        );
        last_dir = Some((dir, p));
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    println!("catch-up median: {:.0} notes/s (target >= 2000)", rates[1]);

    let (_dir, mut p) = last_dir.expect("a run");
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..300 {
        let cpu = ProcessTime::now();
        let wall = Instant::now();
        let r = rt.block_on(p.try_once()).expect("idle poll");
        walls.push(wall.elapsed());
        cpus.push(cpu.elapsed());
        assert_eq!((r.new, r.requests), (0, 1), "an idle poll is one request");
    }
    walls.sort();
    cpus.sort();
    println!(
        "idle poll (1 request): wall p50 {:?} p95 {:?}; client CPU p50 {:?} p95 {:?} (target < 5 ms)",
        percentile(&walls, 0.5),
        percentile(&walls, 0.95),
        percentile(&cpus, 0.5),
        percentile(&cpus, 0.95)
    );
    let _ = sim.kill();
    let _ = sim.wait();
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
