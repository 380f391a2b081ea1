//! Load generator for webhook receivers: acknowledgement latency (p50/p99) and throughput
//! under concurrent senders on loopback, several receivers side by side on the same payloads.
//!
//! ```text
//! cargo bench -p receiver --bench webhook_load -- \
//!     --target rust=http://127.0.0.1:8090/askara/webhook \
//!     --target reference=http://127.0.0.1:8091/api/askara/webhook \
//!     [--count rust=notesInserted@http://127.0.0.1:8090/healthz] \
//!     [--senders 32] [--requests 20000] [--warmup 1000] [--rounds 2] [--baseline NAME]
//! ```
//! With `--count NAME=KEY@URL` (a JSON document whose field KEY counts the notes the target
//! has stored), a run also waits until every acknowledged note is stored and reports the
//! drain time after the last acknowledgement and the end-to-end rate (notes stored per second
//! from the first request). A receiver that stores before it answers drains in no time; one
//! that queues shows here what its acknowledgements promised.
//! Each delivery carries one `new_note` event with a distinct synthetic note (about 1.5 KB of
//! clinical text, a patient with accented names), so every request is a real insert. Each
//! sender keeps one keep-alive connection and sends its next delivery when the previous one
//! was answered (closed loop). Rounds alternate the targets, so drift (another build on the
//! machine) hits both.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Args {
    targets: Vec<(String, String)>,
    senders: usize,
    requests: usize,
    warmup: usize,
    rounds: usize,
    baseline: Option<String>,
    /// Target name → (JSON field, URL) counting the notes it has stored.
    counts: Vec<(String, String, String)>,
}

fn parse_args() -> Args {
    let mut a = Args {
        targets: Vec::new(),
        senders: 32,
        requests: 20_000,
        warmup: 1_000,
        rounds: 2,
        baseline: None,
        counts: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().expect("flag needs a value");
        match arg.as_str() {
            "--target" => {
                let v = val();
                let (name, url) = v.split_once('=').expect("--target NAME=URL");
                a.targets.push((name.to_string(), url.to_string()));
            }
            "--senders" => a.senders = val().parse().unwrap(),
            "--requests" => a.requests = val().parse().unwrap(),
            "--warmup" => a.warmup = val().parse().unwrap(),
            "--rounds" => a.rounds = val().parse().unwrap(),
            "--baseline" => a.baseline = Some(val()),
            "--count" => {
                let v = val();
                let (name, rest) = v.split_once('=').expect("--count NAME=KEY@URL");
                let (key, url) = rest.split_once('@').expect("--count NAME=KEY@URL");
                a.counts
                    .push((name.to_string(), key.to_string(), url.to_string()));
            }
            // `cargo bench` passes --bench; ignore it and anything else unknown.
            _ => {}
        }
    }
    a
}

fn payloads(prefix: u64, n: usize) -> Vec<String> {
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| {
            let note = askara_sim::generate_note(prefix, i as u64, now);
            json!({
                "events": [{
                    "id": note["uuid"],
                    "resource_type": "note",
                    "action": "new_note",
                    "metadata": { "note": note },
                    "resource_metadata": { "user_id": "u-1", "organization_id": "o-1" },
                }],
                "meta": { "webhook_id": "wh-bench" },
            })
            .to_string()
        })
        .collect()
}

/// Per target, the figures of each round.
struct Summary {
    name: String,
    p50: Vec<f64>,
    p99: Vec<f64>,
    rps: Vec<f64>,
    drain: Vec<f64>,
    e2e: Vec<f64>,
}

/// The target's stored-note count, read from field `key` of the JSON at `url`.
async fn stored(client: &reqwest::Client, key: &str, url: &str) -> u64 {
    let v: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{url} has no numeric field {key}"))
}

/// Waits until the target has stored `goal` notes; returns when it got there.
async fn stored_at(client: &reqwest::Client, key: &str, url: &str, goal: u64) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if stored(client, key, url).await >= goal {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "{url}: notes not stored within 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct RunResult {
    latencies: Vec<Duration>,
    errors: usize,
    wall: Duration,
    started: Instant,
}

async fn run(url: &str, bodies: Arc<Vec<String>>, senders: usize) -> RunResult {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let next = next.clone();
            let bodies = bodies.clone();
            let url = url.to_string();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .tcp_nodelay(true)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut lat = Vec::new();
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let ok = match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let ok = r.status().as_u16() == 200;
                            let _ = r.bytes().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    lat.push(t.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    RunResult {
        latencies,
        errors,
        wall: started.elapsed(),
        started,
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx].as_secs_f64() * 1000.0
}

fn main() {
    let args = parse_args();
    if args.targets.is_empty() {
        eprintln!("usage: webhook_load --target NAME=URL [--target NAME=URL ...] [--senders 32] [--requests 20000] [--warmup 1000] [--rounds 2]");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "webhook_load: {} senders, {} deliveries per run (+{} warm-up), {} round(s), 1 event per delivery",
            args.senders, args.requests, args.warmup, args.rounds
        );
        let sample: Value = serde_json::from_str(&payloads(1, 1)[0]).unwrap();
        println!("payload size: {} bytes", sample.to_string().len());
        println!(
            "{:<12} {:>5} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>11}",
            "target", "round", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "req/s", "drain s", "e2e notes/s"
        );
        let mut summary: Vec<Summary> = args
            .targets
            .iter()
            .map(|(n, _)| Summary {
                name: n.clone(),
                p50: Vec::new(),
                p99: Vec::new(),
                rps: Vec::new(),
                drain: Vec::new(),
                e2e: Vec::new(),
            })
            .collect();
        let counter = reqwest::Client::new();
        for round in 1..=args.rounds {
            for (ti, (name, url)) in args.targets.iter().enumerate() {
                // The same payloads for every target in a round, fresh uuids in each round.
                let round = round as u64;
                let count = args.counts.iter().find(|c| &c.0 == name);
                let warm = Arc::new(payloads(9000 + round, args.warmup));
                let _ = run(url, warm, args.senders).await;
                let before = match count {
                    // The warm-up stored first, so it neither counts nor competes.
                    Some((_, key, curl)) => {
                        let mut last = stored(&counter, key, curl).await;
                        loop {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            let n = stored(&counter, key, curl).await;
                            if n == last {
                                break n;
                            }
                            last = n;
                        }
                    }
                    None => 0,
                };
                let bodies = Arc::new(payloads(1000 + round, args.requests));
                let r = run(url, bodies, args.senders).await;
                let mut l = r.latencies.clone();
                l.sort();
                let rps = l.len() as f64 / r.wall.as_secs_f64();
                let (drain, e2e) = match count {
                    Some((_, key, curl)) => {
                        let goal = before + (l.len() - r.errors) as u64;
                        let at = stored_at(&counter, key, curl, goal).await;
                        let last_ack = r.started + r.wall;
                        let drain = at.saturating_duration_since(last_ack).as_secs_f64();
                        let e2e = (goal - before) as f64 / (at - r.started).as_secs_f64();
                        (drain, e2e)
                    }
                    None => (f64::NAN, f64::NAN),
                };
                println!(
                    "{:<12} {:>5} {:>8} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10.0} {:>9.2} {:>11.0}",
                    name,
                    round,
                    l.len(),
                    r.errors,
                    pct(&l, 0.50),
                    pct(&l, 0.90),
                    pct(&l, 0.99),
                    pct(&l, 0.999),
                    l.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or_default(),
                    rps,
                    drain,
                    e2e
                );
                let s = &mut summary[ti];
                s.p50.push(pct(&l, 0.50));
                s.p99.push(pct(&l, 0.99));
                s.rps.push(rps);
                s.drain.push(drain);
                s.e2e.push(e2e);
            }
        }
        println!();
        println!("median over rounds:");
        let med = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(|a, b| a.total_cmp(b));
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        let base_name = args
            .baseline
            .clone()
            .or_else(|| args.targets.last().map(|t| t.0.clone()))
            .unwrap_or_default();
        let base = summary
            .iter()
            .find(|s| s.name == base_name)
            .map(|s| med(&s.rps))
            .unwrap_or(1.0);
        for s in &summary {
            let stored = if med(&s.e2e).is_nan() {
                String::new()
            } else {
                format!(
                    "   stored {:>5.2} s after the last ack, {:>6.0} notes/s end to end",
                    med(&s.drain),
                    med(&s.e2e)
                )
            };
            println!(
                "{:<12} p50 {:>7.2} ms   p99 {:>7.2} ms   {:>8.0} req/s   ({:.1}x {base_name}){stored}",
                s.name,
                med(&s.p50),
                med(&s.p99),
                med(&s.rps),
                med(&s.rps) / base.max(1e-9)
            );
        }
    });
}
