//! What stands in front of every resource endpoint, in the order a real deployment applies
//! it: injected faults (they model the network and the gateway), bearer authentication,
//! then the client's rate-limit bucket. Scopes are checked by each handler, since each
//! resource needs its own.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tokio::sync::Notify;

use crate::faults::{Fault, RetryAfter};
use crate::problem::{problem, problem_code};
use crate::rate_limit::{unix_secs_in, Quota};
use crate::state::{lock, AppState};
use crate::tokens::AccessError;

/// Lets a handler close its own connection without answering; set by the accept loop.
#[derive(Clone)]
pub(crate) struct ConnAbort(pub Arc<Notify>);

/// The authenticated client behind a resource request.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub client_id: String,
    pub scopes: Vec<String>,
}

impl Caller {
    pub(crate) fn require(&self, scope: &str) -> Result<(), Response> {
        if self.scopes.iter().any(|s| s == scope) {
            return Ok(());
        }
        let mut resp = problem(
            StatusCode::FORBIDDEN,
            format!("Insufficient scope: this token lacks {scope}"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
        )) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        Err(resp)
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

fn add_quota(resp: &mut Response, q: Option<Quota>) {
    if let Some(q) = q {
        let h = resp.headers_mut();
        set(h, "x-ratelimit-limit", q.limit);
        set(h, "x-ratelimit-remaining", q.remaining);
        set(h, "x-ratelimit-reset", q.reset);
    }
}

fn unauthorized(detail: &str) -> Response {
    let mut resp = problem(StatusCode::UNAUTHORIZED, detail);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    resp
}

fn authenticate(st: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("Missing bearer token"))?;
    let token = auth
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| unauthorized("Authorization header is not a bearer token"))?;
    match lock(&st.tokens).check_access(token) {
        Ok(e) => Ok(Caller {
            client_id: e.client_id,
            scopes: e.scopes,
        }),
        Err(AccessError::Expired) => Err(unauthorized("Access token has expired")),
        Err(AccessError::Revoked) => Err(unauthorized("Access token has been revoked")),
        Err(AccessError::Unknown) => Err(unauthorized("Access token could not be verified")),
    }
}

fn http_date_in(d: std::time::Duration) -> String {
    let at = Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn injected_429(st: &AppState, retry_after: RetryAfter) -> Response {
    let mut resp = problem(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
    let limit = st.config.rate_limit.map(|r| r.capacity).unwrap_or(5000);
    let (reset, header_value) = match retry_after {
        RetryAfter::Seconds(s) => (
            unix_secs_in(std::time::Duration::from_secs(s)),
            Some(s.to_string()),
        ),
        RetryAfter::HttpDate(d) => (unix_secs_in(d), Some(http_date_in(d))),
        RetryAfter::Absent => (unix_secs_in(std::time::Duration::from_secs(1)), None),
    };
    let h = resp.headers_mut();
    set(h, "x-ratelimit-limit", limit);
    set(h, "x-ratelimit-remaining", 0);
    set(h, "x-ratelimit-reset", reset);
    if let Some(v) = header_value {
        set(h, "retry-after", v);
    }
    resp
}

async fn drop_connection(abort: Option<ConnAbort>) -> Response {
    match abort {
        Some(ConnAbort(abort)) => {
            abort.notify_one();
            // The accept loop drops this future together with the connection.
            std::future::pending::<Response>().await
        }
        None => {
            tracing::debug!("drop fault outside the simulator's accept loop; answering 502");
            problem(StatusCode::BAD_GATEWAY, "Simulated connection drop")
        }
    }
}

fn peek_quota(st: &AppState, client: &str) -> Option<Quota> {
    lock(&st.rate).peek(client)
}

pub(crate) async fn resource_guard(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match st.faults.take_resource() {
        Some(Fault::Drop) => {
            return drop_connection(req.extensions().get::<ConnAbort>().cloned()).await
        }
        Some(Fault::Fail(status)) => {
            let mut resp = problem_code(status, "Simulated upstream failure");
            add_quota(&mut resp, peek_quota(&st, &st.config.client_id));
            return resp;
        }
        Some(Fault::RateLimited(ra)) => return injected_429(&st, ra),
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let caller = match authenticate(&st, req.headers()) {
        Ok(c) => c,
        Err(mut resp) => {
            // Unauthenticated requests are charged to nobody but still report the quota of
            // the simulator's one client, so "every response carries the headers" holds.
            add_quota(&mut resp, peek_quota(&st, &st.config.client_id));
            return resp;
        }
    };
    let consumed = lock(&st.rate).consume(&caller.client_id);
    let quota = match consumed {
        Some(Err(q)) => {
            let mut resp = problem(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            add_quota(&mut resp, Some(q));
            set(resp.headers_mut(), "retry-after", q.retry_after);
            return resp;
        }
        Some(Ok(q)) => Some(q),
        None => None,
    };
    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await.into_response();
    add_quota(&mut resp, quota);
    resp
}
