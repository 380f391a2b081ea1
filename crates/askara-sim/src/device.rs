//! The device authorization grant (RFC 8628), which Askara recommends for desktop software:
//! `POST /oauth2/device-code` issues codes, `/device` is the page where the user approves,
//! and the token endpoint answers polls through [`poll`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng as _;
use serde::Deserialize;
use serde_json::json;

use crate::oauth::{check_client, client_auth, grant_scopes, params};
use crate::state::{lock, AppState};
use crate::tokens::random_b64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the code cannot be redeemed again.
    Consumed,
}

struct DeviceEntry {
    user_code: String,
    client_id: String,
    scopes: Vec<String>,
    expires_at: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    status: Status,
}

#[derive(Default)]
pub(crate) struct DeviceStore {
    by_device_code: HashMap<String, DeviceEntry>,
}

pub(crate) enum PollError {
    Pending,
    SlowDown,
    Expired,
    Denied,
    Invalid,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/device-code", post(device_code))
        .route("/device", get(page).post(decide))
}

/// RFC 8628 §6.1: consonants only (no words, no vowel/digit confusion), `XXXX-XXXX`.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    }
    s
}

/// Users type codes in any case, with or without the dash.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

async fn device_code(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let p = params(&headers, &body);
    let auth = client_auth(&headers, &p);
    if let Err(resp) = check_client(&st, &auth) {
        return resp;
    }
    let scopes = grant_scopes(&st, p.get("scope").map(String::as_str));
    let cfg = &st.config;
    let device_code = random_b64(32);
    let user_code = user_code();
    let status = if cfg.device_auto_approve {
        Status::Approved
    } else {
        Status::Pending
    };
    lock(&st.devices).by_device_code.insert(
        device_code.clone(),
        DeviceEntry {
            user_code: user_code.clone(),
            client_id: cfg.client_id.clone(),
            scopes,
            expires_at: Instant::now() + cfg.device_code_ttl,
            interval: Duration::from_secs(cfg.device_poll_interval_secs),
            last_poll: None,
            status,
        },
    );
    // The page lives on whatever host the client reached us by.
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| st.base_url.clone(), |h| format!("http://{h}"));
    let verification_uri = format!("{base}/device");
    Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
        "expires_in": cfg.device_code_ttl.as_secs(),
        "interval": cfg.device_poll_interval_secs,
    }))
    .into_response()
}

/// One poll of the token endpoint with a device code. Every poll restarts the interval, so
/// a client that keeps hammering keeps getting `slow_down`.
pub(crate) fn poll(
    st: &AppState,
    device_code: &str,
    client_id: &str,
) -> Result<Vec<String>, PollError> {
    let mut store = lock(&st.devices);
    let entry = store
        .by_device_code
        .get_mut(device_code)
        .ok_or(PollError::Invalid)?;
    if entry.client_id != client_id {
        return Err(PollError::Invalid);
    }
    let now = Instant::now();
    if now >= entry.expires_at {
        return Err(PollError::Expired);
    }
    let too_fast = entry
        .last_poll
        .is_some_and(|last| now.saturating_duration_since(last) < entry.interval);
    entry.last_poll = Some(now);
    if too_fast {
        return Err(PollError::SlowDown);
    }
    match entry.status {
        Status::Pending => Err(PollError::Pending),
        Status::Denied => Err(PollError::Denied),
        Status::Consumed => Err(PollError::Invalid),
        Status::Approved => {
            entry.status = Status::Consumed;
            Ok(entry.scopes.clone())
        }
    }
}

/// Approves or denies a pending, unexpired code. `false` if there is none.
pub(crate) fn decide_code(st: &AppState, user_code: &str, approve: bool) -> bool {
    let wanted = normalise(user_code);
    let now = Instant::now();
    let mut store = lock(&st.devices);
    let entry = store.by_device_code.values_mut().find(|e| {
        normalise(&e.user_code) == wanted && e.status == Status::Pending && now < e.expires_at
    });
    match entry {
        Some(e) => {
            e.status = if approve {
                Status::Approved
            } else {
                Status::Denied
            };
            true
        }
        None => false,
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn html_page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Askara (simulated) - connect a device</title></head>\
         <body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\">\
         <h1>Connect a device</h1>{body}</body></html>"
    ))
}

#[derive(Deserialize)]
struct PageQuery {
    user_code: Option<String>,
}

async fn page(Query(q): Query<PageQuery>) -> Html<String> {
    let code = escape(q.user_code.as_deref().unwrap_or_default());
    html_page(&format!(
        "<p>Enter the code shown by the application.</p>\
         <form method=\"post\" action=\"/device\">\
         <input name=\"user_code\" value=\"{code}\" autocomplete=\"off\" autofocus> \
         <button name=\"action\" value=\"approve\">Approve</button> \
         <button name=\"action\" value=\"deny\">Deny</button></form>"
    ))
}

#[derive(Deserialize)]
struct Decision {
    user_code: String,
    action: Option<String>,
}

async fn decide(State(st): State<AppState>, Form(d): Form<Decision>) -> Html<String> {
    let approve = d.action.as_deref() != Some("deny");
    let done = decide_code(&st, &d.user_code, approve);
    let msg = match (done, approve) {
        (true, true) => "Device approved. You can return to the application.",
        (true, false) => "Request denied.",
        (false, _) => "That code is unknown, expired or already used.",
    };
    html_page(&format!("<p>{msg}</p>"))
}
