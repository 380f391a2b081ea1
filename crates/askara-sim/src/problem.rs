//! Error bodies in the two dialects the API speaks: API Platform problem details on
//! resources, RFC 6749 `{"error": ...}` objects on the OAuth endpoints.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// An API Platform error as Askara sends it.
pub(crate) fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = json!({
        "@context": "/contexts/Error",
        "@type": "hydra:Error",
        "title": reason(status),
        "detail": detail.into(),
        "status": status.as_u16(),
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

/// Problem details for an arbitrary numeric status injected by a fault.
pub(crate) fn problem_code(status: u16, detail: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    problem(status, detail)
}

/// An OAuth 2 error response (RFC 6749 §5.2).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
