//! The HTTP side: `POST /askara/webhook[/{secret}]` and `GET /healthz`.
//!
//! A delivery is checked for shape (a JSON object with an `events` list), stored raw in the
//! queue, and only then answered 200. Malformed JSON or shape: 400. Over the body limit: 413.
//! A wrong or missing secret, or any other path: 404, the same answer as for a path that does
//! not exist, and the path is never echoed or logged. Storage failing: 503 (Askara retries).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use inbox::webhook_queue::NewDelivery;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;

use crate::writer::WriteRequest;
use crate::Receiver;

/// The webhook path without a secret; with one it is `{WEBHOOK_PATH}/{secret}`.
pub const WEBHOOK_PATH: &str = "/askara/webhook";
pub const HEALTH_PATH: &str = "/healthz";

pub(crate) fn router(r: Receiver) -> Router {
    let hook = if r.shared.cfg.secret.is_some() {
        Router::new().route("/askara/webhook/{secret}", post(with_secret))
    } else {
        Router::new().route(WEBHOOK_PATH, post(without_secret))
    };
    hook.route(HEALTH_PATH, get(health))
        .fallback(fallback)
        .with_state(r)
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found\n")
}

/// Any other path. A POST there is counted as a refused delivery (a misconfigured URL shows
/// in `/healthz`); the path itself is never logged, since it may hold a mistyped secret.
async fn fallback(State(r): State<Receiver>, method: axum::http::Method) -> Response {
    if method == axum::http::Method::POST {
        r.shared.status.update(|s| s.deliveries_rejected += 1);
    }
    not_found().await
}

/// Compares digests, so the time taken depends on neither the secret's length nor on how
/// many leading bytes of a guess are right.
fn secret_matches(expected: &str, given: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

async fn with_secret(
    State(r): State<Receiver>,
    Path(given): Path<String>,
    req: Request,
) -> Response {
    let ok = r
        .shared
        .cfg
        .secret
        .as_ref()
        .is_some_and(|s| secret_matches(s.expose(), &given));
    drop(given);
    if !ok {
        r.shared.status.update(|s| s.deliveries_rejected += 1);
        return not_found().await;
    }
    accept(r, req.into_body()).await
}

async fn without_secret(State(r): State<Receiver>, req: Request) -> Response {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > r.shared.cfg.body_limit {
            r.shared.status.update(|s| s.deliveries_rejected += 1);
            return too_large();
        }
    }
    accept(r, req.into_body()).await
}

fn too_large() -> Response {
    text(StatusCode::PAYLOAD_TOO_LARGE, "delivery body too large\n")
}

#[derive(Deserialize)]
struct Envelope {
    events: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    meta: Option<Value>,
}

fn busy(body: &'static str) -> Response {
    let mut resp = text(StatusCode::SERVICE_UNAVAILABLE, body);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}

/// Counts a request in flight for as long as it lives.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn accept(r: Receiver, body: Body) -> Response {
    let limit = r.shared.cfg.body_limit;
    let reject = |resp: Response| {
        r.shared.status.update(|s| s.deliveries_rejected += 1);
        resp
    };
    let in_flight = r.shared.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
    let _counted = InFlight(&r.shared.in_flight);
    if in_flight > r.shared.cfg.max_in_flight {
        return reject(busy("too many deliveries at once; retry\n"));
    }
    // Beyond the cap the disk is not filled further: Askara retries, and the poll catches up.
    if r.shared.pending.load(Ordering::Acquire) >= r.shared.cfg.max_pending {
        return reject(busy("the delivery queue is full; retry\n"));
    }
    // Reading stops at the limit, whatever Content-Length claimed, and at the body timeout.
    let read = tokio::time::timeout(r.shared.cfg.body_timeout, axum::body::to_bytes(body, limit));
    let bytes = match read.await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return reject(too_large()),
        Err(_) => {
            return reject(text(
                StatusCode::REQUEST_TIMEOUT,
                "the delivery body took too long to arrive\n",
            ))
        }
    };
    let Ok(body) = std::str::from_utf8(&bytes) else {
        return reject(text(StatusCode::BAD_REQUEST, "body is not UTF-8 JSON\n"));
    };
    let envelope: Envelope = match serde_json::from_str(body) {
        Ok(e) => e,
        Err(e) if e.is_data() => {
            return reject(text(
                StatusCode::BAD_REQUEST,
                "body is not a webhook delivery: expected an object with an `events` list\n",
            ))
        }
        Err(_) => return reject(text(StatusCode::BAD_REQUEST, "body is not valid JSON\n")),
    };
    let webhook_id = envelope
        .meta
        .as_ref()
        .and_then(|m| m.get("webhook_id"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let received_at = Utc::now();
    let (reply, answer) = oneshot::channel();
    let request = WriteRequest {
        delivery: NewDelivery {
            body: body.to_string(),
            webhook_id,
            event_count: envelope.events.len(),
            received_at,
        },
        reply,
    };
    let stored = match r.shared.writes.send(request).await {
        Ok(()) => answer
            .await
            .unwrap_or_else(|_| Err("writer stopped".into())),
        Err(_) => Err("writer stopped".into()),
    };
    match stored {
        Ok(_) => {
            r.shared.status.update(|s| {
                s.deliveries_accepted += 1;
                s.last_delivery_at = Some(received_at);
            });
            text(StatusCode::OK, "OK\n")
        }
        Err(_) => reject(busy("cannot store the delivery now; retry\n")),
    }
}

/// Whether a request comes from this machine directly (not through a proxy).
fn from_loopback(req: &Request) -> bool {
    let peer = req
        .extensions()
        .get::<crate::conn::Peer>()
        .is_some_and(|p| p.0.ip().is_loopback());
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    peer && !proxied
}

async fn health(State(r): State<Receiver>, req: Request) -> Response {
    let s = r.status().await;
    let degraded = s.poll_enabled && s.last_poll_ok == Some(false);
    let status = if degraded { "degraded" } else { "ok" };
    // Counts and times tell an outsider when notes arrive: only this machine sees them.
    let body = if !from_loopback(&req) {
        json!({ "status": status })
    } else {
        json!({
        "status": status,
        "lastDeliveryAgeSecs": s.last_delivery_age_secs,
        "lastPollAgeSecs": s.last_poll_age_secs,
        "lastDeliveryAt": s.last_delivery_at,
        "lastPollAt": s.last_poll_at,
        "pollEnabled": s.poll_enabled,
        "pollStandby": s.poll_standby,
        "pollError": s.poll_error_code,
        "deliveriesAccepted": s.deliveries_accepted,
        "deliveriesRejected": s.deliveries_rejected,
        "notesInserted": s.notes_inserted,
        "eventsSkipped": s.events_skipped,
        "queue": s.queue,
        })
    };
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::secret_matches;

    #[test]
    fn secrets_match_exactly() {
        assert!(secret_matches("s3cret-value", "s3cret-value"));
        assert!(!secret_matches("s3cret-value", "s3cret-valuE"));
        assert!(!secret_matches("s3cret-value", "s3cret"));
        assert!(!secret_matches("s3cret-value", ""));
    }
}
