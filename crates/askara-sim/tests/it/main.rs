//! Real HTTP against simulators started on port 0. One test binary (modules below) keeps
//! link time down on a small machine.

// Helpers outside #[test] functions are test code too; a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod faults;
mod generator;
mod notes;
mod oauth;
mod webhooks;

use askara_sim::{SimConfig, SimHandle};
use serde_json::Value;

pub async fn start(cfg: SimConfig) -> SimHandle {
    SimHandle::start(cfg).await.expect("sim starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client-credentials access token.
pub async fn token(sim: &SimHandle) -> String {
    let cfg = sim.config();
    let resp = client()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .json(&serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// GET `path_and_query` with a bearer token; returns status, headers and JSON body.
pub async fn get(
    sim: &SimHandle,
    token: &str,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = client()
        .get(format!("{}{}", sim.base_url(), path_and_query))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, headers, body)
}

pub fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| v.to_str().unwrap().to_string())
}

/// Asserts an API Platform problem body with `status`.
pub fn assert_problem(headers: &reqwest::header::HeaderMap, body: &Value, status: u16) {
    assert_eq!(
        header(headers, "content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(body["@type"], "hydra:Error");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string());
    assert!(body["detail"].is_string());
}
