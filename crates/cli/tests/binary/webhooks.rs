//! The real `askara-inbox serve` and `webhooks` commands against the simulator on loopback,
//! including a receiver killed with SIGKILL right after its acknowledgements.

#![allow(clippy::unwrap_used)]

use askara_sim::{SimConfig, SimHandle};
use inbox::{ListQuery, Source};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{self, Run, BIN};

fn command(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data).args(args);
    cmd.env_remove("ASKARA_CLIENT_SECRET")
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .env_remove("ASKARA_INBOX_WEBHOOK_SECRET")
        // No keyring in these tests: a stored sign-in would be a file.
        .env("ASKARA_INBOX_TOKEN_FILE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

async fn run(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let r = Run::from(command(data, args, env).output().await.unwrap());
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn one_line_error(r: &Run) -> &str {
    assert_ne!(r.code, 0, "expected failure, got: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {:?}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    lines[0]
}

/// A running `serve`: the child and the address it printed.
struct Serve {
    child: Child,
    url: String,
}

async fn serve(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Serve {
    // Without credentials most tests here store payloads as delivered (unverified).
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--trust-payloads"];
    args.extend_from_slice(extra);
    serve_args(data, &args, env).await
}

async fn serve_args(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
    let mut child = command(data, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("serve prints its address")
        .unwrap()
        .unwrap_or_default();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Serve { child, url }
}

impl Serve {
    /// SIGTERM, then the exit status and everything it wrote to stderr.
    async fn terminate(mut self) -> (i32, String) {
        let pid = self.child.id().unwrap().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("serve stops on SIGTERM")
            .unwrap();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            use tokio::io::AsyncReadExt;
            e.read_to_string(&mut stderr).await.unwrap();
        }
        (status.code().unwrap_or(-1), stderr)
    }

    async fn sigkill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn fast_sim() -> SimConfig {
    SimConfig {
        webhook_retry_scale: 0.01,
        ..SimConfig::default()
    }
}

async fn stored(data: &Path) -> Vec<inbox::NoteRecord> {
    let inbox = support::inbox_of(data);
    inbox.list(ListQuery::default()).await.unwrap()
}

async fn wait_until<F, Fut>(secs: u64, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_for_notes(data: &Path, n: usize) {
    wait_until(30, &format!("{n} notes in the inbox"), || async move {
        stored(data).await.len() >= n
    })
    .await;
}

fn delivery(notes: &[Value]) -> String {
    let events: Vec<Value> = notes
        .iter()
        .map(|n| {
            json!({"id": n["uuid"], "resource_type": "note", "action": "new_note",
                   "metadata": {"note": n},
                   "resource_metadata": {"user_id": "u", "organization_id": "o"}})
        })
        .collect();
    json!({"events": events, "meta": {"webhook_id": "wh"}}).to_string()
}

#[tokio::test]
async fn serve_behind_a_secret_receives_the_simulators_deliveries_and_reports_health() {
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = "Zk3-v9_q";
    let s = serve(
        dir.path(),
        &["--webhook-secret", secret],
        &[("ASKARA_LOG", "debug")],
    )
    .await;
    let hook = format!("{}/askara/webhook/{secret}", s.url);
    // Registration through the real CLI, with client credentials.
    let r = run(
        dir.path(),
        &[
            "webhooks",
            "register",
            "--url",
            &hook,
            "--base-url",
            &sim.base_url(),
            "--client-id",
            "askara-inbox-demo",
            "--json",
        ],
        &[("ASKARA_CLIENT_SECRET", "sim-secret")],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reg: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(reg["url"], hook.as_str());
    assert_eq!(reg["events"], json!(["new_note"]));
    let uuids = sim.add_generated(4, 31);
    wait_for_notes(dir.path(), 4).await;
    let notes = stored(dir.path()).await;
    assert!(notes.iter().all(|n| n.source == Source::Webhook));
    let got: BTreeSet<_> = notes.iter().map(|n| n.uuid.clone()).collect();
    assert_eq!(got, uuids.iter().cloned().collect());
    // The path without the secret, or with another, is refused.
    let body = delivery(&[sim.note(&uuids[0]).unwrap()]);
    for bad in [
        format!("{}/askara/webhook", s.url),
        format!("{}/askara/webhook/wrong", s.url),
    ] {
        let resp = http().post(&bad).body(body.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 404);
    }
    let h: Value = http()
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
    assert!(h["lastDeliveryAgeSecs"].as_f64().unwrap() < 60.0, "{h}");
    assert!(h["lastPollAgeSecs"].is_null());
    assert_eq!(h["pollEnabled"], false);
    // The notes are listed as any other.
    let r = run(dir.path(), &["notes", "list", "--json"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let (code, stderr) = s.terminate().await;
    assert_eq!(code, 0, "{stderr}");
    // Debug logs carry neither the secret nor note content nor patient names.
    assert!(!stderr.contains(secret), "{stderr}");
    for u in &uuids {
        let n = sim.note(u).unwrap();
        let content = n["content"].as_str().unwrap();
        assert!(!stderr.contains(&content[..content.len().min(40)]));
        if let Some(last) = n["patient"]["lastName"].as_str() {
            assert!(!stderr.contains(last), "{stderr}");
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn webhooks_register_list_delete_as_json_and_a_missing_scope_is_clear() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = sim.base_url();
    let env = [("ASKARA_CLIENT_SECRET", "sim-secret")];
    let server = [
        "--base-url",
        base.as_str(),
        "--client-id",
        "askara-inbox-demo",
    ];
    let mut args = vec![
        "webhooks",
        "register",
        "--url",
        "https://clinic.example/askara/webhook/k",
    ];
    args.extend_from_slice(&server);
    args.push("--json");
    let r = run(dir.path(), &args, &env).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = serde_json::from_str::<Value>(&r.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Settings were remembered: no --base-url from here on.
    let r = run(dir.path(), &["webhooks", "list", "--json"], &env).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["active"], true);
    let r = run(dir.path(), &["webhooks", "list"], &env).await;
    assert!(
        r.stdout.contains(&id) && r.stdout.contains("active"),
        "{}",
        r.stdout
    );
    let r = run(dir.path(), &["webhooks", "delete", &id, "--json"], &env).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).unwrap(),
        json!({"id": id, "deleted": true})
    );
    let r = run(dir.path(), &["webhooks", "list", "--json"], &env).await;
    assert_eq!(r.stdout.trim(), "[]");
    let r = run(dir.path(), &["webhooks", "delete", &id], &env).await;
    assert_eq!(r.code, 2);
    assert!(
        one_line_error(&r).contains(&format!("webhook {id}")),
        "{}",
        r.stderr
    );
    let r = run(
        dir.path(),
        &["webhooks", "register", "--url", "not a url"],
        &env,
    )
    .await;
    assert_eq!(r.code, 2);
    one_line_error(&r);
    let r = run(dir.path(), &["webhooks", "list"], &[]).await;
    assert_eq!(r.code, 3, "no credentials: {}", r.stderr);

    // A client without the webhooks scope is told which scope it lacks.
    let scoped = SimHandle::start(SimConfig {
        webhooks_scope: Some("write:webhooks".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = scoped.base_url();
    let r = run(
        dir.path(),
        &[
            "webhooks",
            "list",
            "--base-url",
            &base,
            "--client-id",
            "askara-inbox-demo",
        ],
        &env,
    )
    .await;
    assert_eq!(r.code, 3);
    let line = one_line_error(&r);
    assert!(line.contains("`write:webhooks` scope"), "{line}");
    sim.shutdown().await;
    scoped.shutdown().await;
}

/// Sends `bodies` from `senders` concurrent connections; every answer must be 200.
async fn blast(url: &str, bodies: Vec<String>, senders: usize) {
    let queue = Arc::new(Mutex::new(bodies));
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let queue = queue.clone();
            let url = url.to_string();
            tokio::spawn(async move {
                let client = http();
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let resp = client.post(&url).body(body).send().await.unwrap();
                    assert_eq!(resp.status(), 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn sigkill_right_after_the_acknowledgements_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let notes: Vec<Value> = (0..120)
        .map(|i| askara_sim::generate_note(41, i, chrono::Utc::now()))
        .collect();
    let want: BTreeSet<String> = notes
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect();
    // 1. Acknowledged but not yet processed: the worker is held, then the process is killed.
    let bodies: Vec<String> = notes[..60].chunks(2).map(delivery).collect();
    let s = serve(dir.path(), &["--hold-queue"], &[]).await;
    blast(&format!("{}/askara/webhook", s.url), bodies, 16).await;
    s.sigkill().await;
    let inbox = support::inbox_of(dir.path());
    assert_eq!(inbox.delivery_counts().await.unwrap().pending, 30);
    assert!(stored(dir.path()).await.is_empty());
    // 2. With the worker running, killed at once after the last 200 (mid-processing).
    let bodies: Vec<String> = notes[60..].chunks(3).map(delivery).collect();
    let s = serve(dir.path(), &[], &[]).await;
    blast(&format!("{}/askara/webhook", s.url), bodies, 16).await;
    s.sigkill().await;
    // 3. A restart drains whatever is left.
    let s = serve(dir.path(), &[], &[]).await;
    wait_for_notes(dir.path(), 120).await;
    wait_until(20, "an empty queue", || {
        let inbox = inbox.clone();
        async move { inbox.delivery_counts().await.unwrap().pending == 0 }
    })
    .await;
    let got: Vec<String> = stored(dir.path())
        .await
        .into_iter()
        .map(|n| n.uuid)
        .collect();
    assert_eq!(got.len(), 120, "nothing doubled");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    assert_eq!(inbox.delivery_counts().await.unwrap().processed, 50);
    let (code, stderr) = s.terminate().await;
    assert_eq!(code, 0, "{stderr}");
}

#[tokio::test]
async fn serve_with_poll_catches_a_delivery_that_failed_every_retry() {
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    sim.register_webhook(&format!("http://{addr}/askara/webhook"));
    let lost = sim.add_generated(3, 51);
    wait_until(20, "the failure queue", || {
        let sim = sim.clone();
        async move { sim.webhook_stats().failed == 1 }
    })
    .await;
    let base = sim.base_url();
    let s = serve_args(
        dir.path(),
        &[
            "serve",
            "--listen",
            &addr,
            "--poll",
            "--base-url",
            &base,
            "--client-id",
            "askara-inbox-demo",
            "--interval",
            "1",
        ],
        &[("ASKARA_CLIENT_SECRET", "sim-secret")],
    )
    .await;
    wait_for_notes(dir.path(), 3).await;
    let notes = stored(dir.path()).await;
    assert!(notes.iter().all(|n| n.source == Source::Poll));
    let got: BTreeSet<_> = notes.iter().map(|n| n.uuid.clone()).collect();
    assert_eq!(got, lost.into_iter().collect());
    // Live deliveries reach the same process.
    let live = sim.add_generated(1, 52).remove(0);
    wait_for_notes(dir.path(), 4).await;
    let n = support::inbox_of(dir.path())
        .get(&live)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.uuid, live);
    let h: Value = http()
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["pollEnabled"], true);
    assert!(h["lastPollAgeSecs"].as_f64().is_some(), "{h}");
    let (code, stderr) = s.terminate().await;
    assert_eq!(code, 0, "{stderr}");
    sim.shutdown().await;
}

#[tokio::test]
async fn serve_usage_and_credential_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &["serve", "--listen", "nowhere"], &[]).await;
    assert_eq!(r.code, 2);
    assert!(one_line_error(&r).contains("--listen"));
    let r = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--webhook-secret",
            "a/b",
        ],
        &[],
    )
    .await;
    assert_eq!(r.code, 2);
    one_line_error(&r);
    let r = run(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0", "--poll"],
        &[],
    )
    .await;
    assert_eq!(r.code, 3);
    assert!(one_line_error(&r).contains("ASKARA_CLIENT_SECRET"));
}

#[tokio::test]
async fn serve_refuses_a_public_address_without_a_strong_secret() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve", "--listen", "0.0.0.0:0"],
        vec![
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--webhook-secret",
            "hunter2",
        ],
    ] {
        let out = command(dir.path(), &args, &[]).output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<_> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains("openssl rand -hex 16"), "{err}");
    }
}

/// `serve` with Askara credentials (client credentials against the simulator).
async fn serve_with_askara(data: &Path, sim: &SimHandle, extra: &[&str]) -> Serve {
    let base = sim.base_url();
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--base-url",
        &base,
        "--client-id",
        "askara-inbox-demo",
    ];
    args.extend_from_slice(extra);
    serve_args(data, &args, &[("ASKARA_CLIENT_SECRET", "sim-secret")]).await
}

fn forged(uuid: &str, org: &str, content: &str, updated: &str) -> String {
    json!({"events": [{
        "id": uuid, "resource_type": "note", "action": "new_note",
        "metadata": {"note": {
            "uuid": uuid, "type": "consultation_summary", "content": content,
            "createdAt": "2026-02-24T10:30:00+00:00", "updatedAt": updated,
            "patient": {"uuid": "p-x", "firstName": "Mallory", "lastName": "Forger"}}},
        "resource_metadata": {"user_id": "u-forger", "organization_id": org}}],
        "meta": {"webhook_id": "wh"}})
    .to_string()
}

async fn post_status(url: &str, body: String) -> u16 {
    http()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The queue's deliveries per state, read from the inbox file.
async fn queue(data: &Path) -> inbox::webhook_queue::QueueCounts {
    support::inbox_of(data).delivery_counts().await.unwrap()
}

#[tokio::test]
async fn forged_deliveries_change_nothing_in_the_real_binary() {
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    let real = sim.add_generated(2, 61);
    let org = {
        let cfg = sim.config();
        let c = askara::ClientConfig::new(&sim.base_url(), &cfg.client_id)
            .unwrap()
            .with_secret(Some(askara::Sensitive::new(cfg.client_secret.clone())));
        let clock: askara::SharedClock = Arc::new(askara::SystemClock);
        let store = Arc::new(askara::MemoryTokenStore::default());
        let api = askara::ApiClient::new(c, store, clock).unwrap();
        api.organization_id().await.unwrap().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let s = serve_with_askara(dir.path(), &sim, &[]).await;
    let url = format!("{}/askara/webhook", s.url);
    // Honest: the real note, as Askara has it.
    let honest = sim.note(&real[0]).unwrap();
    let body = json!({"events": [{"id": real[0], "resource_type": "note", "action": "new_note",
        "metadata": {"note": honest},
        "resource_metadata": {"user_id": "u-7", "organization_id": org}}]})
    .to_string();
    assert_eq!(post_status(&url, body).await, 200);
    // Forgeries: unknown uuid; real uuid with other content and a far-future updatedAt;
    // real uuid named by another organisation.
    for body in [
        forged(
            "00000000-0000-4000-8000-000000000000",
            &org,
            "Invented.",
            "2026-02-24T10:30:00+00:00",
        ),
        forged(&real[0], &org, "Rewritten.", "2099-01-01T00:00:00+00:00"),
        forged(
            &real[1],
            "another-org",
            "Other org.",
            "2099-01-01T00:00:00+00:00",
        ),
    ] {
        assert_eq!(post_status(&url, body).await, 200);
    }
    wait_until(30, "four deliveries processed", || async {
        let q = queue(dir.path()).await;
        q.pending == 0 && q.processed == 4
    })
    .await;
    let notes = stored(dir.path()).await;
    assert_eq!(notes.len(), 1, "only the honestly delivered real note");
    let n = &notes[0];
    assert_eq!(n.uuid, real[0]);
    assert_eq!(Value::String(n.content.clone()), honest["content"]);
    assert_eq!(Value::String(n.updated_at_raw.clone()), honest["updatedAt"]);
    assert!(n.verified);
    assert_eq!(n.status, inbox::Status::New);
    // `notes show` tells it from an unverified one by saying nothing about it.
    let r = run(dir.path(), &["notes", "show", &real[0]], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("UNVERIFIED"), "{}", r.stdout);
    assert!(!r.stdout.contains("Rewritten."), "{}", r.stdout);
    let (code, stderr) = s.terminate().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stderr.contains("Mallory") && !stderr.contains("Rewritten"),
        "{stderr}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_real_binary_cuts_off_slow_headers_and_answers_503_past_the_queue_cap() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    // Askara answers 503 to everything: no delivery can be confirmed, so they stay queued.
    sim.faults().fail_next(100_000, 503);
    let dir = tempfile::tempdir().unwrap();
    let s = serve_with_askara(dir.path(), &sim, &["--max-pending", "3"]).await;
    let url = format!("{}/askara/webhook", s.url);

    // Headers one byte a second: cut off by the 10 s header timeout.
    let addr = s.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut cut_off = false;
    for b in b"POST /askara/webhook HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa"
        .iter()
    {
        if slow.write_all(&[*b]).await.is_err() {
            cut_off = true;
            break;
        }
        let mut buf = [0u8; 256];
        // A closed connection reads as EOF (or an error) at once; an open one times out.
        match tokio::time::timeout(Duration::from_secs(1), slow.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => {
                cut_off = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(
        cut_off,
        "a client sending a byte a second kept its connection"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "cut off only after {took:?}"
    );

    // Three acknowledged and queued; the fourth and fifth refused with 503 (Askara retries).
    let mut codes = Vec::new();
    let mut sent = Vec::new();
    for i in 0..5 {
        let uuid = format!("00000000-0000-4000-8000-00000000000{i}");
        sent.push(uuid.clone());
        codes.push(
            post_status(
                &url,
                forged(&uuid, "o", "Queued.", "2026-02-24T10:30:00+00:00"),
            )
            .await,
        );
    }
    assert_eq!(codes, vec![200, 200, 200, 503, 503]);
    let (code, stderr) = s.terminate().await;
    assert_eq!(code, 0, "{stderr}");
    // Everything acknowledged is on disk, waiting; nothing refused was kept.
    let q = queue(dir.path()).await;
    assert_eq!((q.pending, q.processed, q.failed), (3, 0, 0));
    assert!(stored(dir.path()).await.is_empty());
    sim.shutdown().await;
}
