//! The receiver against raw HTTP (reqwest) and against the simulator's real deliveries, on
//! loopback with port 0. Waits are short polls of the inbox with a deadline, never fixed sleeps.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askara::{ApiClient, ClientConfig, MemoryTokenStore, Sensitive, SharedClock, SystemClock};
use askara_sim::{SimConfig, SimHandle};
use chrono::Utc;
use inbox::sync::SyncConfig;
use inbox::webhook_queue::NewDelivery;
use inbox::{Inbox, ListQuery, Source};
use receiver::{PollConfig, Receiver, ReceiverConfig, WorkerOutcome};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    url: String,
    receiver: Receiver,
    inbox: Inbox,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), receiver::ReceiverError>>>,
    dir: TempDir,
}

impl Running {
    async fn stop(mut self) -> TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
        self.dir
    }
}

async fn start_in(dir: TempDir, listener: tokio::net::TcpListener, cfg: ReceiverConfig) -> Running {
    let inbox = Inbox::open(dir.path().join("inbox.sqlite3"), &test_key()).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let receiver = Receiver::start(inbox.clone(), cfg);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(receiver.clone().serve(listener, async move {
        let _ = rx.await;
    }));
    Running {
        url,
        receiver,
        inbox,
        stop: Some(tx),
        task: Some(task),
        dir,
    }
}

/// Payloads without credentials are stored (unverified): what most tests here exercise.
fn trusting() -> ReceiverConfig {
    ReceiverConfig {
        trust_payloads: true,
        ..ReceiverConfig::default()
    }
}

async fn start(cfg: ReceiverConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_in(tempfile::tempdir().unwrap(), listener, cfg).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn note(i: u64) -> Value {
    askara_sim::generate_note(77, i, Utc::now() - chrono::Duration::seconds(i as i64))
}

fn event(note: &Value) -> Value {
    json!({
        "id": note["uuid"],
        "resource_type": "note",
        "action": "new_note",
        "metadata": { "note": note },
        "resource_metadata": { "user_id": "u-1", "organization_id": "o-1" },
    })
}

fn delivery(events: Vec<Value>) -> Value {
    json!({ "events": events, "meta": { "webhook_id": "wh-test" } })
}

async fn post(url: &str, body: impl Into<reqwest::Body>) -> u16 {
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

async fn all_notes(inbox: &Inbox) -> Vec<inbox::NoteRecord> {
    inbox.list(ListQuery::default()).await.unwrap()
}

/// Polls `cond` every 20 ms until it holds or `secs` pass.
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_drained(r: &Running) {
    let inbox = r.inbox.clone();
    wait_until(20, "the queue to drain", || {
        let inbox = inbox.clone();
        async move { inbox.delivery_counts().await.unwrap().pending == 0 }
    })
    .await;
}

fn api_for(sim: &SimHandle) -> Arc<ApiClient> {
    let cfg = sim.config();
    let c = ClientConfig::new(&sim.base_url(), &cfg.client_id)
        .unwrap()
        .with_secret(Some(Sensitive::new(cfg.client_secret.clone())));
    let clock: SharedClock = Arc::new(SystemClock);
    Arc::new(ApiClient::new(c, Arc::new(MemoryTokenStore::default()), clock).unwrap())
}

fn fast_sim() -> SimConfig {
    SimConfig {
        webhook_retry_scale: 0.01,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn several_events_in_one_delivery_and_its_retries_give_one_note_each() {
    let r = start(trusting()).await;
    let hook = format!("{}/askara/webhook", r.url);
    let notes: Vec<Value> = (0..3).map(note).collect();
    // A duplicate event inside the delivery too.
    let mut events: Vec<Value> = notes.iter().map(event).collect();
    events.push(event(&notes[1]));
    let body = delivery(events).to_string();
    for _ in 0..3 {
        assert_eq!(post(&hook, body.clone()).await, 200);
    }
    wait_drained(&r).await;
    let stored = all_notes(&r.inbox).await;
    let got: BTreeSet<_> = stored.iter().map(|n| n.uuid.clone()).collect();
    let want: BTreeSet<_> = notes
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    assert!(stored.iter().all(|n| n.source == Source::Webhook));
    let first = r
        .inbox
        .get(want.iter().next().unwrap())
        .await
        .unwrap()
        .unwrap();
    let sent = notes
        .iter()
        .find(|n| n["uuid"] == first.uuid.as_str())
        .unwrap();
    assert_eq!(first.content, sent["content"].as_str().unwrap());
    let s = r.receiver.status().await;
    assert_eq!((s.deliveries_accepted, s.notes_inserted), (3, 3));
    assert_eq!(s.queue.processed, 3);
    // Processed deliveries keep a summary, not the body.
    let recent = r.inbox.recent_deliveries(10).await.unwrap();
    assert_eq!(recent.len(), 3);
    assert!(recent
        .iter()
        .all(|d| d.event_count == 4 && d.state == "processed"));
    r.stop().await;
}

#[tokio::test]
async fn malformed_oversized_wrong_secret_and_noteless_bodies() {
    let r = start(ReceiverConfig {
        secret: Some(Sensitive::new("s3cr3t-Path_Segment".into())),
        ..trusting()
    })
    .await;
    let good = format!("{}/askara/webhook/s3cr3t-Path_Segment", r.url);
    let body = delivery(vec![event(&note(1))]).to_string();
    // Wrong secret, no secret, a prefix of it, other paths: all 404, like a path that is not there.
    for bad in [
        format!("{}/askara/webhook", r.url),
        format!("{}/askara/webhook/s3cr3t", r.url),
        format!("{}/askara/webhook/s3cr3t-Path_Segment/x", r.url),
        format!("{}/askara/webhook/S3CR3T-Path_Segment", r.url),
        format!("{}/webhook", r.url),
    ] {
        assert_eq!(post(&bad, body.clone()).await, 404, "{bad}");
    }
    // Malformed JSON, the wrong shape, not UTF-8: 400.
    assert_eq!(post(&good, "{\"events\": [").await, 400);
    assert_eq!(post(&good, "{\"note\": {}}").await, 400);
    assert_eq!(post(&good, "[1, 2]").await, 400);
    assert_eq!(post(&good, vec![0xff, 0xfe, 0x00]).await, 400);
    // Over 2 MB: 413.
    let big_note = json!({"uuid": "big", "createdAt": "2026-02-24T10:30:00Z",
                          "content": "x".repeat(3 * 1024 * 1024)});
    assert_eq!(
        post(&good, delivery(vec![event(&big_note)]).to_string()).await,
        413
    );
    // Accepted and skipped (recorded), never a 5xx: no note, unknown action, other resource.
    let noteless = delivery(vec![
        json!({"id": "e1", "resource_type": "note", "action": "new_note", "metadata": {}}),
        json!({"id": "e2", "resource_type": "note", "action": "note_deleted",
               "metadata": {"note": note(2)}}),
        json!({"id": "e3", "resource_type": "document", "action": "new_document"}),
        json!("not an event"),
        event(&note(3)),
    ]);
    assert_eq!(post(&good, noteless.to_string()).await, 200);
    assert_eq!(post(&good, "{\"events\": []}").await, 200);
    wait_drained(&r).await;
    let stored = all_notes(&r.inbox).await;
    assert_eq!(stored.len(), 1, "only the one complete new_note event");
    assert_eq!(stored[0].uuid, note(3)["uuid"].as_str().unwrap());
    let recent = r.inbox.recent_deliveries(10).await.unwrap();
    let with_skips = recent.iter().find(|d| d.event_count == 5).unwrap();
    let skipped = with_skips.outcome.as_ref().unwrap()["skipped"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    let reasons: Vec<&str> = skipped
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("no note")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("note_deleted")),
        "{reasons:?}"
    );
    // The outcome names events, never their content.
    let outcome = with_skips.outcome.as_ref().unwrap().to_string();
    assert!(!outcome.contains(note(3)["content"].as_str().unwrap()));
    // Health: JSON with the ages of the last delivery and poll.
    let h = health(&r.url, None).await;
    assert_eq!(h["status"], "ok");
    assert!(h["lastDeliveryAgeSecs"].as_f64().unwrap() < 60.0, "{h}");
    assert!(h["lastPollAgeSecs"].is_null());
    assert_eq!(h["deliveriesAccepted"], 2);
    assert_eq!(h["queue"]["pending"], 0);
    assert!(h["deliveriesRejected"].as_u64().unwrap() >= 10);
    assert!(!h.to_string().contains("s3cr3t"));
    r.stop().await;
}

#[tokio::test]
async fn two_hundred_concurrent_deliveries_from_32_senders_are_all_stored_once() {
    let r = start(trusting()).await;
    let hook = format!("{}/askara/webhook", r.url);
    // 150 distinct notes over 200 deliveries of 1 to 3 events: many notes arrive more than once.
    let pool: Vec<Value> = (0..150).map(|i| note(1000 + i)).collect();
    let bodies: Vec<String> = (0..200usize)
        .map(|d| {
            let events = (0..1 + d % 3)
                .map(|k| event(&pool[(d * 7 + k * 31) % pool.len()]))
                .collect();
            delivery(events).to_string()
        })
        .collect();
    let want: BTreeSet<String> = bodies
        .iter()
        .flat_map(|b| {
            let v: Value = serde_json::from_str(b).unwrap();
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let queue = Arc::new(Mutex::new(bodies));
    let senders: Vec<_> = (0..32)
        .map(|_| {
            let queue = queue.clone();
            let hook = hook.clone();
            tokio::spawn(async move {
                let client = http();
                let mut codes = Vec::new();
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let resp = client.post(&hook).body(body).send().await.unwrap();
                    codes.push(resp.status().as_u16());
                }
                codes
            })
        })
        .collect();
    let mut codes = Vec::new();
    for s in senders {
        codes.extend(s.await.unwrap());
    }
    assert_eq!(codes.len(), 200);
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    wait_drained(&r).await;
    let stored = all_notes(&r.inbox).await;
    let got: BTreeSet<String> = stored.iter().map(|n| n.uuid.clone()).collect();
    assert_eq!(stored.len(), got.len(), "a note stored twice");
    assert_eq!(got, want);
    let counts = r.inbox.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.processed, counts.pending, counts.failed),
        (200, 0, 0)
    );
    r.stop().await;
}

#[tokio::test]
async fn a_queue_left_by_a_killed_process_is_drained_by_try_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite3");
    let notes: Vec<Value> = (0..5).map(|i| note(500 + i)).collect();
    {
        // The first process stored deliveries (acknowledged them) and died before processing.
        let inbox = Inbox::open(&path, &test_key()).unwrap();
        for n in &notes {
            inbox
                .enqueue_delivery(NewDelivery {
                    body: delivery(vec![event(n)]).to_string(),
                    webhook_id: Some("wh".into()),
                    event_count: 1,
                    received_at: Utc::now(),
                })
                .await
                .unwrap();
        }
        assert_eq!(inbox.delivery_counts().await.unwrap().pending, 5);
    }
    let inbox = Inbox::open(&path, &test_key()).unwrap();
    let r = Receiver::start(
        inbox.clone(),
        ReceiverConfig {
            worker_batch: 2,
            ..trusting()
        },
    );
    let mut worker = r.worker();
    let mut inserted = 0;
    let mut steps = 0;
    while let WorkerOutcome::Processed(rep) = worker.try_once().await.unwrap() {
        assert!(rep.deliveries <= 2);
        inserted += rep.inserted;
        steps += 1;
    }
    assert_eq!((inserted, steps), (5, 3));
    assert_eq!(all_notes(&inbox).await.len(), 5);
    assert_eq!(worker.try_once().await.unwrap(), WorkerOutcome::Idle);
    // Old processed deliveries can be pruned; the notes stay.
    let pruned = inbox
        .prune_deliveries(Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(pruned, 5);
    assert_eq!(inbox.delivery_counts().await.unwrap().processed, 0);
    assert_eq!(all_notes(&inbox).await.len(), 5);
}

/// A proxy in front of the receiver that forwards every delivery but answers the first attempt
/// of each with 503, so Askara retries what the receiver already stored.
async fn flaky_proxy(target: String) -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    use axum::routing::post;
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let seen2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            let seen = seen2.clone();
            let target = target.clone();
            async move {
                let n = {
                    let mut s = seen.lock().unwrap();
                    let n = s.entry(body.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                let status = http()
                    .post(&target)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status();
                if n == 1 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::from_u16(status.as_u16()).unwrap()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn simulator_deliveries_retried_after_a_503_give_one_note_each() {
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    let r = start(trusting()).await;
    let (proxy, seen) = flaky_proxy(format!("{}/askara/webhook", r.url)).await;
    sim.register_webhook(&proxy);
    let mut uuids = sim.add_generated(5, 3);
    uuids.extend(sim.add_generated(1, 4));
    wait_until(20, "deliveries and their retries", || {
        let sim = sim.clone();
        async move {
            let s = sim.webhook_stats();
            s.deliveries > 0 && s.in_flight == 0
        }
    })
    .await;
    wait_drained(&r).await;
    let stats = sim.webhook_stats();
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(stats.delivered, stats.deliveries);
    assert!(
        stats.retries >= stats.deliveries,
        "every delivery was retried: {stats:?}"
    );
    assert!(seen.lock().unwrap().values().all(|n| *n == 2));
    let stored = all_notes(&r.inbox).await;
    let got: BTreeSet<_> = stored.iter().map(|n| n.uuid.clone()).collect();
    assert_eq!(got, uuids.iter().cloned().collect());
    assert_eq!(stored.len(), 6);
    // Notes added together travel together: some delivery carried several events.
    let recent = r.inbox.recent_deliveries(50).await.unwrap();
    assert!(recent.iter().any(|d| d.event_count > 1), "{recent:?}");
    let content = sim.note(&uuids[0]).unwrap()["content"].clone();
    let mine = r.inbox.get(&uuids[0]).await.unwrap().unwrap();
    assert_eq!(Value::String(mine.content), content);
    r.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_delivery_that_failed_every_retry_is_caught_by_the_reconciliation_poll() {
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    // The receiver is down: its port is reserved but nothing answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    sim.register_webhook(&format!("http://{addr}/askara/webhook"));
    let lost = sim.add_generated(2, 11);
    wait_until(20, "the sim's failure queue", || {
        let sim = sim.clone();
        async move { sim.webhook_stats().failed == 1 }
    })
    .await;
    let failures = sim.webhook_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].attempts, 4, "one attempt and three retries");
    assert_eq!(failures[0].event_ids.len(), 2);
    // The receiver comes back with polling on: the poll brings what no delivery did.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let r = start_in(
        tempfile::tempdir().unwrap(),
        listener,
        ReceiverConfig {
            api: Some(api_for(&sim)),
            poll: Some(PollConfig {
                sync: SyncConfig {
                    interval: Duration::from_millis(200),
                    ..SyncConfig::default()
                },
                ..PollConfig::default()
            }),
            ..trusting()
        },
    )
    .await;
    let inbox = r.inbox.clone();
    wait_until(20, "the reconciliation poll", || {
        let inbox = inbox.clone();
        async move { all_notes(&inbox).await.len() == 2 }
    })
    .await;
    let stored = all_notes(&r.inbox).await;
    assert!(stored.iter().all(|n| n.source == Source::Poll));
    let got: BTreeSet<_> = stored.iter().map(|n| n.uuid.clone()).collect();
    assert_eq!(got, lost.iter().cloned().collect());
    // New notes now arrive by webhook, and the poll still runs beside them.
    sim.add_generated(1, 12);
    wait_until(20, "a live delivery", || {
        let inbox = inbox.clone();
        async move {
            all_notes(&inbox)
                .await
                .iter()
                .any(|n| n.source == Source::Webhook)
        }
    })
    .await;
    let s = r.receiver.status().await;
    assert!(s.poll_enabled && s.last_poll_ok == Some(true), "{s:?}");
    assert!(s.last_poll_age_secs.is_some());
    r.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn slim_payloads_are_completed_with_get_note_when_credentials_exist() {
    let sim = SimHandle::start(SimConfig {
        webhook_slim_payload: true,
        ..fast_sim()
    })
    .await
    .unwrap();
    let with_api = start(ReceiverConfig {
        api: Some(api_for(&sim)),
        ..trusting()
    })
    .await;
    let without = start(trusting()).await;
    sim.register_webhook(&format!("{}/askara/webhook", with_api.url));
    sim.register_webhook(&format!("{}/askara/webhook", without.url));
    let uuids = sim.add_generated(3, 21);
    wait_until(20, "fetched notes", || {
        let inbox = with_api.inbox.clone();
        async move { all_notes(&inbox).await.len() == 3 }
    })
    .await;
    for u in &uuids {
        let n = with_api.inbox.get(u).await.unwrap().unwrap();
        assert_eq!(Value::String(n.content), sim.note(u).unwrap()["content"]);
    }
    // The status is updated after the notes are written: wait for it rather than race it.
    wait_until(20, "fetch count", || {
        let r = with_api.receiver.clone();
        async move { r.status().await.notes_fetched == 3 }
    })
    .await;
    // Without credentials the incomplete events are skipped and recorded, not guessed at.
    wait_until(20, "the other receiver", || {
        let r = without.receiver.clone();
        async move {
            let s = r.status().await;
            s.deliveries_accepted > 0 && s.queue.pending == 0
        }
    })
    .await;
    assert!(all_notes(&without.inbox).await.is_empty());
    assert_eq!(without.receiver.status().await.events_skipped, 3);
    with_api.stop().await;
    without.stop().await;
    sim.shutdown().await;
}

fn forged_delivery(uuid: &str, org: &str, content: &str, updated: &str) -> Value {
    let mut ev = event(&json!({
        "uuid": uuid, "type": "consultation_summary", "content": content,
        "createdAt": "2026-02-24T10:30:00+00:00", "updatedAt": updated,
        "patient": {"uuid": "p-x", "firstName": "Mallory", "lastName": "Forger"}
    }));
    ev["resource_metadata"] = json!({"user_id": "u-forger", "organization_id": org});
    delivery(vec![ev])
}

/// `GET /healthz`, with an `X-Forwarded-For` when `forwarded_for` is given.
async fn health(url: &str, forwarded_for: Option<&str>) -> Value {
    let mut req = http().get(format!("{url}/healthz"));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn forged_deliveries_change_nothing_when_askara_can_be_asked() {
    let sim = SimHandle::start(fast_sim()).await.unwrap();
    let real = sim.add_generated(2, 31);
    let api = api_for(&sim);
    let org = api.organization_id().await.unwrap().unwrap();
    let r = start(ReceiverConfig {
        api: Some(api),
        ..ReceiverConfig::default()
    })
    .await;
    let url = format!("{}/askara/webhook", r.url);
    let deliver = |body: Value| post(&url, body.to_string());
    // A real note delivered honestly arrives as Askara has it, with its author.
    let mut honest = forged_delivery(
        &real[0],
        &org,
        "whatever the payload says",
        "2026-02-24T10:30:00+00:00",
    );
    honest["events"][0]["metadata"]["note"] = sim.note(&real[0]).unwrap();
    assert_eq!(deliver(honest).await, 200);
    // Forgeries: an unknown uuid, a real uuid with other content and a far-future updatedAt,
    // and a real uuid from another organisation.
    assert_eq!(
        deliver(forged_delivery(
            "00000000-0000-4000-8000-000000000000",
            &org,
            "Invented.",
            "2026-02-24T10:30:00+00:00"
        ))
        .await,
        200
    );
    assert_eq!(
        deliver(forged_delivery(
            &real[0],
            &org,
            "Rewritten.",
            "2099-01-01T00:00:00+00:00"
        ))
        .await,
        200
    );
    assert_eq!(
        deliver(forged_delivery(
            &real[1],
            "another-org",
            "Other org.",
            "2099-01-01T00:00:00+00:00"
        ))
        .await,
        200
    );
    wait_until(20, "all four processed", || {
        let rc = r.receiver.clone();
        async move {
            let s = rc.status().await;
            s.queue.pending == 0 && s.queue.processed == 4
        }
    })
    .await;
    let notes = all_notes(&r.inbox).await;
    assert_eq!(notes.len(), 1, "only the real, honestly delivered note");
    let n = r.inbox.get(&real[0]).await.unwrap().unwrap();
    assert_eq!(
        Value::String(n.content.clone()),
        sim.note(&real[0]).unwrap()["content"]
    );
    assert!(n.verified);
    assert_eq!(n.status, inbox::Status::New);
    assert_eq!(n.author_user_id.as_deref(), Some("u-forger"));
    assert!(r.inbox.versions(&real[0]).await.unwrap().is_empty());
    assert!(r.inbox.get(&real[1]).await.unwrap().is_none());
    assert_eq!(r.receiver.status().await.events_skipped, 2);
    r.stop().await;

    // Without credentials and without --trust-payloads nothing is stored.
    let r = start(ReceiverConfig::default()).await;
    let url = format!("{}/askara/webhook", r.url);
    let forged = forged_delivery("n-1", &org, "Invented.", "2026-02-24T10:30:00+00:00");
    assert_eq!(post(&url, forged.to_string()).await, 200);
    wait_until(20, "processed", || {
        let rc = r.receiver.clone();
        async move { rc.status().await.queue.processed == 1 }
    })
    .await;
    assert!(all_notes(&r.inbox).await.is_empty());
    r.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_cut_off_and_a_full_queue_answers_503() {
    let r = start(ReceiverConfig {
        header_timeout: Duration::from_millis(300),
        max_pending: 2,
        run_worker: false,
        ..trusting()
    })
    .await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = r.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut cut_off = false;
    for b in b"POST /askara/webhook HTTP/1.1\r\nHost: x\r\n".iter() {
        if slow.write_all(&[*b]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !cut_off {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(2), slow.read(&mut buf)).await;
        cut_off = matches!(read, Ok(Ok(0)) | Ok(Err(_)) | Ok(Ok(_)));
    }
    assert!(cut_off, "a slow client kept its connection");

    let url = format!("{}/askara/webhook", r.url);
    let body = delivery(Vec::new()).to_string();
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(post(&url, body.clone()).await);
    }
    assert_eq!(codes, vec![200, 200, 503, 503]);
    assert_eq!(r.inbox.delivery_counts().await.unwrap().pending, 2);
    // Health tells loopback callers the counts.
    let h = health(&r.url, None).await;
    assert!(h.get("queue").is_some(), "{h}");
    let h = health(&r.url, Some("203.0.113.9")).await;
    assert_eq!(h, json!({"status": "ok"}));
    r.stop().await;
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
