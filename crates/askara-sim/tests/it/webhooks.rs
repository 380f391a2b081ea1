//! `POST/GET/DELETE /webhooks` and deliveries with Askara's retry schedule (time-scaled).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askara_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};

use crate::{assert_problem, client, get, start, token};

async fn send(
    sim: &SimHandle,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client()
        .request(method, format!("{}{}", sim.base_url(), path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// A receiver that records every body and answers with the statuses in `script` (then 200).
async fn recorder(script: Vec<u16>) -> (String, Arc<Mutex<Vec<(Instant, Value)>>>) {
    let got: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let g = g.clone();
            let script = script.clone();
            async move {
                g.lock().unwrap().push((Instant::now(), body));
                let code = script.lock().unwrap().next().unwrap_or(200);
                axum::http::StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn scaled() -> SimConfig {
    SimConfig {
        webhook_retry_scale: 0.01,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn register_list_delete_and_validation() {
    let sim = start(scaled()).await;
    let t = token(&sim).await;
    let (status, _, body) = send(
        &sim,
        &t,
        reqwest::Method::POST,
        "/webhooks",
        Some(json!({"url": "https://clinic.example/askara/webhook/s", "events": ["new_note"], "active": true})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["events"], json!(["new_note"]));
    assert_eq!(body["active"], true);

    let (status, _, list) = get(&sim, &t, "/webhooks").await;
    assert_eq!(status, 200);
    assert_eq!(list["hydra:member"][0]["id"], id.as_str());
    assert_eq!(list["hydra:totalItems"], 1);

    for bad in [
        json!({"events": ["new_note"]}),
        json!({"url": "not a url"}),
        json!({"url": "ftp://x/y"}),
        json!({"url": "https://x/y", "events": ["nope"]}),
        json!({"url": "https://x/y", "events": []}),
    ] {
        let (status, headers, body) = send(
            &sim,
            &t,
            reqwest::Method::POST,
            "/webhooks",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 422, "{bad}");
        assert_problem(&headers, &body, 422);
    }

    let path = format!("/webhooks/{id}");
    let (status, _, _) = send(&sim, &t, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, headers, body) = send(&sim, &t, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 404);
    assert_problem(&headers, &body, 404);
    assert!(sim.webhooks().is_empty());
    // Without a token: 401, like every resource.
    let resp = client()
        .get(format!("{}/webhooks", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_configured_scope_is_required() {
    let sim = start(SimConfig {
        webhooks_scope: Some("write:webhooks".into()),
        ..SimConfig::default()
    })
    .await;
    let t = token(&sim).await;
    let (status, headers, body) = get(&sim, &t, "/webhooks").await;
    assert_eq!(status, 403);
    assert!(body["detail"].as_str().unwrap().contains("write:webhooks"));
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}

#[tokio::test]
async fn deliveries_carry_askaras_payload_and_batch_notes_added_together() {
    let sim = start(scaled()).await;
    let (url, got) = recorder(vec![]).await;
    let id = sim.register_webhook(&url);
    let uuids = sim.add_generated(3, 5);
    wait_until("a delivered batch", || {
        sim.webhook_stats().delivered >= 1 && sim.webhook_stats().in_flight == 0
    })
    .await;
    let bodies: Vec<Value> = got.lock().unwrap().iter().map(|(_, b)| b.clone()).collect();
    let events: Vec<&Value> = bodies
        .iter()
        .flat_map(|b| b["events"].as_array().unwrap().iter())
        .collect();
    assert_eq!(events.len(), 3);
    assert!(bodies
        .iter()
        .all(|b| b["meta"]["webhook_id"] == id.as_str()));
    let e = events[0];
    assert_eq!(e["resource_type"], "note");
    assert_eq!(e["action"], "new_note");
    assert_eq!(e["id"], e["metadata"]["note"]["uuid"]);
    assert!(e["resource_metadata"]["user_id"].is_string());
    assert!(e["resource_metadata"]["organization_id"].is_string());
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut want = uuids.clone();
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(
        e["metadata"]["note"],
        sim.note(e["id"].as_str().unwrap()).unwrap()
    );
    assert!(bodies.len() < 3, "notes added together share a delivery");
}

#[tokio::test]
async fn failures_are_retried_after_5_10_20_scaled_then_queued() {
    let sim = start(scaled()).await;
    // Fails the first two attempts of the first delivery: delivered on the third.
    let (url, got) = recorder(vec![500, 404]).await;
    sim.register_webhook(&url);
    sim.add_generated(1, 6);
    wait_until("the retried delivery", || {
        sim.webhook_stats().delivered == 1
    })
    .await;
    let times: Vec<Instant> = got.lock().unwrap().iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 3);
    let gap1 = times[1] - times[0];
    let gap2 = times[2] - times[1];
    assert!(gap1 >= Duration::from_millis(50), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(100), "{gap2:?}");
    let s = sim.webhook_stats();
    assert_eq!((s.attempts, s.retries, s.failed), (3, 2, 0));

    // A receiver that is down: one attempt, three retries, then the failure queue.
    let sim = start(scaled()).await;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/hook", l.local_addr().unwrap());
    drop(l);
    sim.register_webhook(&dead);
    let uuid = sim.add_generated(1, 7).remove(0);
    let started = Instant::now();
    wait_until("the failure queue", || sim.webhook_stats().failed == 1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "5+10+20 s scaled by 0.01"
    );
    let f = sim.webhook_failures();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].attempts, f[0].event_ids.clone()), (4, vec![uuid]));
    assert_eq!(f[0].last_error, "could not connect");
    let s = sim.webhook_stats();
    assert_eq!(
        (s.attempts, s.retries, s.delivered, s.in_flight),
        (4, 3, 0, 0)
    );
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let sim = start(SimConfig {
        // 5 s timeout scaled to 50 ms.
        webhook_retry_scale: 0.01,
        ..SimConfig::default()
    })
    .await;
    let calls = Arc::new(Mutex::new(0u32));
    let c = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let c = c.clone();
            async move {
                let n = {
                    let mut g = c.lock().unwrap();
                    *g += 1;
                    *g
                };
                if n == 1 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                "OK"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sim.register_webhook(&url);
    sim.add_generated(1, 8);
    wait_until("the retried delivery", || {
        sim.webhook_stats().delivered == 1
    })
    .await;
    assert_eq!(*calls.lock().unwrap(), 2);
    assert_eq!(sim.webhook_stats().retries, 1);
}
