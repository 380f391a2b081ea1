//! Desktop latencies, measured in the real app through its webview (run by
//! `bench/desktop-latency.sh`, which builds the release app and provides Xvfb, D-Bus and the
//! keyring):
//!
//! - arrival: a note created in the simulator → its row in the list. Reported from creation
//!   and from the poll that fetched it (the simulator logs when each `GET /notes` arrived; the
//!   webview stamps the row with `Date.now()`, the same clock).
//! - search as you type with 100,000 notes in the inbox: the search box's `input` event → the
//!   results painted (the list title says "found", then one animation frame), and the bare
//!   `search_notes` IPC round trip.
//!
//! `ARRIVALS` (default 20) and `NOTES` (default 100000) size the runs.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use askara_inbox_e2e::{click, prerequisites, wait_js, Driver};
use chrono::{DateTime, Utc};
use fantoccini::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, v: &mut [f64]) {
    println!(
        "{name}: n={} p50={:.1} ms p95={:.1} ms max={:.1} ms",
        v.len(),
        pct(v, 0.5),
        pct(v, 0.95),
        pct(v, 1.0)
    );
}

async fn sim_with(notes: usize) -> askara_sim::SimHandle {
    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig {
        device_auto_approve: true,
        device_poll_interval_secs: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    // 50 a second, going back from ten minutes ago: bursts like a busy clinic's, and distinct
    // enough for the poller's createdAt watermark.
    let start = Utc::now() - chrono::Duration::minutes(10);
    for (i, made) in (0..notes).step_by(50).enumerate() {
        let at = start - chrono::Duration::seconds(i as i64);
        sim.add_generated_at((notes - made).min(50), 11, at);
    }
    sim
}

async fn signed_in_app(
    driver: &Driver,
    app: &std::path::Path,
    data_dir: &std::path::Path,
    sim: &askara_sim::SimHandle,
    interval: u64,
) -> Client {
    std::fs::write(
        data_dir.join("desktop.json"),
        serde_json::to_vec_pretty(&json!({
            "baseUrl": sim.base_url(),
            "clientId": sim.config().client_id,
            "intervalSecs": interval,
            "notifyNewNotes": false,
        }))
        .unwrap(),
    )
    .unwrap();
    let c = driver.session(app, &[]).await;
    wait_js(
        &c,
        "the sign-in screen",
        "!document.getElementById('signin').hidden",
    )
    .await;
    click(&c, "#btn-signin").await;
    // Signed in; with many notes the first sync takes a while (the caller waits for it).
    wait_js(&c, "the inbox", "!document.getElementById('app').hidden").await;
    c
}

/// Resolves with `Date.now()` when the row of `uuid` is in the list.
const ROW_APPEARS: &str = r#"
const [uuid, done] = arguments;
const sel = `.row[data-uuid='${uuid}']`;
// The person is reading elsewhere (pointer not over the list, which would otherwise keep its
// place and show "↑ 1 new" instead), at the top of the list.
const list = document.getElementById('list');
list.dispatchEvent(new MouseEvent('mouseleave'));
list.scrollTop = 0;
const found = () => { if (document.querySelector(sel)) { done(Date.now()); return true; } return false; };
if (found()) return;
const obs = new MutationObserver(() => { if (found()) obs.disconnect(); });
obs.observe(list, { subtree: true, childList: true, attributes: true });
"#;

/// Clears the search, then types `q` at once and resolves with the milliseconds from the
/// `input` event to the results painted.
const TYPE_AND_PAINT: &str = r#"
const [q, done] = arguments;
const input = document.getElementById('search');
const title = document.getElementById('list-title');
const waitFor = (pred) => new Promise((resolve) => {
  if (pred()) return resolve();
  const obs = new MutationObserver(() => { if (pred()) { obs.disconnect(); resolve(); } });
  obs.observe(title, { subtree: true, childList: true, characterData: true });
});
(async () => {
  input.value = '';
  input.dispatchEvent(new Event('input'));
  await waitFor(() => !title.textContent.includes('found'));
  // Let the cleared search finish (its patient list and note reload), so this measures one
  // keystroke's round trip rather than a queue behind the previous one.
  await new Promise((r) => setTimeout(r, 250));
  const t0 = performance.now();
  input.value = q;
  input.dispatchEvent(new Event('input'));
  await waitFor(() => title.textContent.includes('found') && document.getElementById('list').dataset.query === q.trim());
  await new Promise((r) => requestAnimationFrame(() => r()));
  done(performance.now() - t0);
})();
"#;

const IPC_SEARCH: &str = r#"
const [q, done] = arguments;
const t0 = performance.now();
window.__TAURI_INTERNALS__.invoke('search_notes', { text: q, status: null, patient: null, limit: 200 })
  .then((rows) => done([performance.now() - t0, rows.length]));
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let paths = match prerequisites() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("desktop bench: {e}");
            std::process::exit(2);
        }
    };
    let arrivals = env_usize("ARRIVALS", 20);
    let notes = env_usize("NOTES", 100_000);

    // Arrival latency, in a small inbox, polling every 5 s.
    {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let sim = sim_with(200).await;
        let driver = Driver::start(&paths, tmp.path(), &data_dir);
        let c = signed_in_app(&driver, &paths.app, &data_dir, &sim, 5).await;
        wait_js(
            &c,
            "the first sync",
            "document.querySelectorAll('.row[data-uuid]').length > 0",
        )
        .await;
        let (mut from_created, mut from_poll) = (Vec::new(), Vec::new());
        for i in 0..arrivals {
            // Not in step with the poll: created at a different point of its 5 s cycle each time.
            tokio::time::sleep(Duration::from_millis(700 + (i as u64 * 1_300) % 4_000)).await;
            let created = Utc::now();
            let uuid = sim.add_generated_at(1, 5_000 + i as u64, created).remove(0);
            let row_ms = c
                .execute_async(ROW_APPEARS, vec![json!(uuid)])
                .await
                .unwrap();
            let row_at = DateTime::<Utc>::from_timestamp_millis(row_ms.as_i64().unwrap()).unwrap();
            // The poll that fetched it: the last `GET /notes` that arrived before the row did.
            let poll_at = sim
                .requests()
                .into_iter()
                .filter(|r| {
                    r.method == "GET" && r.path == "/notes" && r.at >= created && r.at <= row_at
                })
                .map(|r| r.at)
                .max()
                .unwrap_or(created);
            from_created.push((row_at - created).num_microseconds().unwrap() as f64 / 1000.0);
            from_poll.push((row_at - poll_at).num_microseconds().unwrap() as f64 / 1000.0);
        }
        println!("arrival (polling every 5 s, {arrivals} notes):");
        summary("  created in Askara -> row in the list", &mut from_created);
        summary("  poll that fetched it -> row in the list", &mut from_poll);
        c.close().await.unwrap();
    }

    // Search as you type at `notes` notes.
    {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let t = Instant::now();
        let sim = sim_with(notes).await;
        eprintln!(
            "desktop bench: {notes} notes generated in {:?}",
            t.elapsed()
        );
        let driver = Driver::start(&paths, tmp.path(), &data_dir);
        let c = signed_in_app(&driver, &paths.app, &data_dir, &sim, 3600).await;
        let t = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let all = c
                .execute(
                    "return Number(document.querySelector('[data-count=all]').textContent)",
                    vec![],
                )
                .await
                .unwrap();
            if all.as_u64() == Some(notes as u64) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the inbox did not reach {notes} notes ({all})"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!("desktop bench: synced into the app in {:?}", t.elapsed());
        // What staff type: first letters of a last name, a whole name, accents left out, a
        // word of the content, a clinical word found in many notes, two words.
        let queries = [
            "o",
            "od",
            "ode",
            "odeg",
            "odegard",
            "ØDEGÅRD",
            "n",
            "nu",
            "nun",
            "nunez",
            "s",
            "sm",
            "smi",
            "smith",
            "knee",
            "pain",
            "blood pressure",
            "amox",
            "zzzz",
            "müll",
        ];
        let (mut paint, mut ipc, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        let mut worst: Vec<(f64, &str)> = Vec::new();
        for round in 0..3 {
            for q in queries {
                let ms = c
                    .execute_async(TYPE_AND_PAINT, vec![json!(q)])
                    .await
                    .unwrap();
                paint.push(ms.as_f64().unwrap());
                worst.push((ms.as_f64().unwrap(), q));
                let v: Value = c.execute_async(IPC_SEARCH, vec![json!(q)]).await.unwrap();
                ipc.push(v[0].as_f64().unwrap());
                if round == 0 {
                    counts.push(format!("{q}={}", v[1]));
                }
            }
        }
        println!(
            "search as you type ({notes} notes in the inbox, {} queries x 3):",
            queries.len()
        );
        println!(
            "  results per query (limit 200, as the UI asks): {}",
            counts.join(" ")
        );
        summary("  input event -> results painted", &mut paint);
        summary("  search_notes IPC round trip", &mut ipc);
        worst.sort_by(|a, b| b.0.total_cmp(&a.0));
        let worst: Vec<String> = worst
            .iter()
            .take(6)
            .map(|(ms, q)| format!("{q}={ms:.0}"))
            .collect();
        println!("  slowest paints (ms): {}", worst.join(" "));
        c.close().await.unwrap();
    }
}
