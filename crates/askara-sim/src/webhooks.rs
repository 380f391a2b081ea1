//! Webhooks: `POST /webhooks`, `GET /webhooks`, `DELETE /webhooks/{id}`, and deliveries.
//!
//! Every note added to the simulator is delivered to each active webhook subscribed to
//! `new_note`, as Askara documents: `POST` with `{"events": [...], "meta": {"webhook_id"}}`,
//! answered 2xx within 5 s, else retried after 5, 10 and 20 s; after the third failed retry
//! the delivery goes to the failure queue. Notes added together travel in one delivery (up to
//! [`MAX_EVENTS_PER_DELIVERY`] events). Delays and the timeout are multiplied by
//! `SimConfig::webhook_retry_scale`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

use crate::collection::{json_response, Page};
use crate::guard::Caller;
use crate::problem::problem;
use crate::server::SimHandle;
use crate::state::{lock, AppState};
use crate::store::{derived_uuid, format_instant};

/// Askara's retry delays after the first attempt.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(20),
];
/// How long Askara waits for a 2xx.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_EVENTS_PER_DELIVERY: usize = 10;
const KNOWN_EVENTS: [&str; 3] = ["new_note", "new_document", "document_synchronize"];

#[derive(Debug, Clone)]
struct Registration {
    id: String,
    url: String,
    events: Vec<String>,
    active: bool,
    created_at: String,
}

impl Registration {
    fn to_json(&self) -> Value {
        json!({
            "@id": format!("/webhooks/{}", self.id),
            "@type": "Webhook",
            "id": self.id,
            "url": self.url,
            "events": self.events,
            "active": self.active,
            "createdAt": self.created_at,
        })
    }
}

/// A delivery that failed every attempt: what Askara's failure queue holds.
#[derive(Debug, Clone, Serialize)]
pub struct FailedDelivery {
    pub webhook_id: String,
    pub url: String,
    /// The note uuids the delivery carried.
    pub event_ids: Vec<String>,
    pub attempts: u32,
    pub last_error: String,
    pub payload: Value,
}

/// Delivery counters, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStats {
    /// Deliveries started (one per webhook per batch of notes).
    pub deliveries: u64,
    /// HTTP attempts, first tries and retries.
    pub attempts: u64,
    pub retries: u64,
    /// Deliveries answered 2xx (on any attempt).
    pub delivered: u64,
    /// Deliveries moved to the failure queue.
    pub failed: u64,
    /// Events (notes) in deliveries started.
    pub events: u64,
    /// Notes missed because the dispatcher fell behind the note stream.
    pub lagged: u64,
    /// Deliveries started but not yet finished (delivered or failed).
    pub in_flight: u64,
}

#[derive(Default)]
pub(crate) struct WebhookState {
    registrations: Mutex<Vec<Registration>>,
    failures: Mutex<Vec<FailedDelivery>>,
    deliveries: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    events: AtomicU64,
    lagged: AtomicU64,
}

impl WebhookState {
    fn stats(&self) -> WebhookStats {
        let l = |a: &AtomicU64| a.load(Ordering::SeqCst);
        let deliveries = l(&self.deliveries);
        let delivered = l(&self.delivered);
        let failed = l(&self.failed);
        WebhookStats {
            deliveries,
            attempts: l(&self.attempts),
            retries: l(&self.retries),
            delivered,
            failed,
            events: l(&self.events),
            lagged: l(&self.lagged),
            in_flight: deliveries.saturating_sub(delivered + failed),
        }
    }

    fn add(&self, url: String, events: Vec<String>) -> Registration {
        let n = lock(&self.registrations).len();
        let reg = Registration {
            id: derived_uuid(&format!(
                "webhook:{n}:{url}:{}",
                Utc::now().timestamp_nanos_opt().unwrap_or_default()
            )),
            url,
            events,
            active: true,
            created_at: format_instant(Utc::now()),
        };
        lock(&self.registrations).push(reg.clone());
        reg
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", delete(remove).get(show))
}

fn require(st: &AppState, caller: &Caller) -> Result<(), Response> {
    match &st.config.webhooks_scope {
        Some(scope) => caller.require(scope),
        None => Ok(()),
    }
}

fn validation(detail: &str) -> Response {
    problem(StatusCode::UNPROCESSABLE_ENTITY, detail)
}

async fn create(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(resp) = require(&st, &caller) {
        return resp;
    }
    let Ok(Json(body)) = body else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Syntax error: the body is not JSON",
        );
    };
    let Some(url) = body.get("url").and_then(Value::as_str) else {
        return validation("url: This value should not be blank.");
    };
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return validation("url: This value is not a valid URL."),
    }
    let events: Vec<String> = match body.get("events") {
        None => vec!["new_note".to_string()],
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for e in a {
                match e.as_str() {
                    Some(s) if KNOWN_EVENTS.contains(&s) => out.push(s.to_string()),
                    _ => return validation("events: One or more of the given values is invalid."),
                }
            }
            if out.is_empty() {
                return validation("events: This collection should contain 1 element or more.");
            }
            out
        }
        Some(_) => return validation("events: This value should be of type array."),
    };
    let mut reg = st.webhooks.add(url.to_string(), events);
    if body.get("active").and_then(Value::as_bool) == Some(false) {
        reg.active = false;
        if let Some(r) = lock(&st.webhooks.registrations)
            .iter_mut()
            .find(|r| r.id == reg.id)
        {
            r.active = false;
        }
    }
    let mut json = reg.to_json();
    json["@context"] = json!("/contexts/Webhook");
    let mut resp = json_response(st.config.collection_format, &json);
    *resp.status_mut() = StatusCode::CREATED;
    resp
}

async fn list(State(st): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if let Err(resp) = require(&st, &caller) {
        return resp;
    }
    let members: Vec<Value> = lock(&st.webhooks.registrations)
        .iter()
        .map(Registration::to_json)
        .collect();
    let total = members.len();
    let page = Page {
        path: "/webhooks",
        context: "/contexts/Webhook",
        members,
        total,
        page: 1,
        items_per_page: total.max(1),
        query: &[],
    };
    json_response(
        st.config.collection_format,
        &page.render(st.config.collection_format, st.config.include_totals),
    )
}

async fn show(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    if let Err(resp) = require(&st, &caller) {
        return resp;
    }
    let found = lock(&st.webhooks.registrations)
        .iter()
        .find(|r| r.id == id)
        .map(Registration::to_json);
    match found {
        Some(j) => json_response(st.config.collection_format, &j),
        None => problem(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn remove(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    if let Err(resp) = require(&st, &caller) {
        return resp;
    }
    let mut regs = lock(&st.webhooks.registrations);
    let before = regs.len();
    regs.retain(|r| r.id != id);
    if regs.len() == before {
        return problem(StatusCode::NOT_FOUND, "Not Found");
    }
    StatusCode::NO_CONTENT.into_response()
}

fn scaled(st: &AppState, d: Duration) -> Duration {
    let scale = st.config.webhook_retry_scale;
    if scale.is_finite() && scale > 0.0 {
        d.mul_f64(scale)
    } else {
        d
    }
}

/// The body Askara sends for these notes to `webhook_id`.
fn payload(st: &AppState, notes: &[Value], webhook_id: &str) -> Value {
    let org = derived_uuid(&format!("organization:{}", st.config.client_id));
    let user = derived_uuid("user:0");
    let events: Vec<Value> = notes
        .iter()
        .map(|n| {
            let uuid = n.get("uuid").cloned().unwrap_or(Value::Null);
            let note = if st.config.webhook_slim_payload {
                json!({ "uuid": uuid })
            } else {
                n.clone()
            };
            json!({
                "id": uuid,
                "resource_type": "note",
                "action": "new_note",
                "metadata": { "note": note },
                "resource_metadata": { "user_id": user, "organization_id": org },
            })
        })
        .collect();
    json!({ "events": events, "meta": { "webhook_id": webhook_id } })
}

/// Starts delivering every note added from now on. Subscribes before returning, so a note
/// added right after start is delivered too.
pub(crate) fn spawn_dispatcher(st: AppState, shutdown: watch::Receiver<bool>) {
    let mut rx = st.note_events.subscribe();
    let http = match reqwest::Client::builder()
        .timeout(scaled(&st, DELIVERY_TIMEOUT))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Askara-Webhooks (simulated)")
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "askara-sim cannot build its webhook HTTP client");
            return;
        }
    };
    let mut stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                r = rx.recv() => r,
                _ = stop.wait_for(|s| *s) => break,
            };
            let first = match first {
                Ok(n) => n,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    st.webhooks.lagged.fetch_add(n, Ordering::SeqCst);
                    tracing::warn!(missed = n, "askara-sim webhook dispatcher fell behind");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_EVENTS_PER_DELIVERY {
                match rx.try_recv() {
                    Ok(n) => batch.push(n),
                    Err(_) => break,
                }
            }
            let targets: Vec<Registration> = lock(&st.webhooks.registrations)
                .iter()
                .filter(|r| r.active && r.events.iter().any(|e| e == "new_note"))
                .cloned()
                .collect();
            for reg in targets {
                let body = payload(&st, &batch, &reg.id);
                st.webhooks.deliveries.fetch_add(1, Ordering::SeqCst);
                st.webhooks
                    .events
                    .fetch_add(batch.len() as u64, Ordering::SeqCst);
                tokio::spawn(deliver(
                    st.clone(),
                    http.clone(),
                    reg,
                    body,
                    shutdown.clone(),
                ));
            }
        }
    });
}

async fn attempt(http: &reqwest::Client, url: &str, body: &Value) -> Result<(), String> {
    match http.post(url).json(body).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("timed out".into()),
        Err(e) if e.is_connect() => Err("could not connect".into()),
        Err(_) => Err("network error".into()),
    }
}

async fn deliver(
    st: AppState,
    http: reqwest::Client,
    reg: Registration,
    body: Value,
    mut stop: watch::Receiver<bool>,
) {
    let w = &st.webhooks;
    let mut last_error = String::new();
    for n in 0..=RETRY_DELAYS.len() {
        if n > 0 {
            w.retries.fetch_add(1, Ordering::SeqCst);
            tokio::select! {
                _ = tokio::time::sleep(scaled(&st, RETRY_DELAYS[n - 1])) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        w.attempts.fetch_add(1, Ordering::SeqCst);
        match attempt(&http, &reg.url, &body).await {
            Ok(()) => {
                w.delivered.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Err(e) => {
                tracing::debug!(webhook = %reg.id, attempt = n + 1, error = %e, "askara-sim delivery failed");
                last_error = e;
            }
        }
    }
    let event_ids = body["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    lock(&w.failures).push(FailedDelivery {
        webhook_id: reg.id,
        url: reg.url,
        event_ids,
        attempts: RETRY_DELAYS.len() as u32 + 1,
        last_error,
        payload: body,
    });
    w.failed.fetch_add(1, Ordering::SeqCst);
}

impl SimHandle {
    /// Registers a webhook directly (as `POST /webhooks` would), returning its id.
    pub fn register_webhook(&self, url: &str) -> String {
        self.st()
            .webhooks
            .add(url.to_string(), vec!["new_note".to_string()])
            .id
    }

    /// The registered webhooks, as `GET /webhooks` lists them.
    pub fn webhooks(&self) -> Vec<Value> {
        lock(&self.st().webhooks.registrations)
            .iter()
            .map(Registration::to_json)
            .collect()
    }

    /// Delivery counters.
    pub fn webhook_stats(&self) -> WebhookStats {
        self.st().webhooks.stats()
    }

    /// Askara's failure queue: deliveries that failed every attempt.
    pub fn webhook_failures(&self) -> Vec<FailedDelivery> {
        lock(&self.st().webhooks.failures).clone()
    }
}
