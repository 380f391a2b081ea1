//! A log of every request, so tests can assert how many calls a client made and with which
//! query strings. Entries are taken on arrival (so the order is arrival order) and get their
//! status when the response leaves; a dropped connection leaves status 0.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::state::{lock, AppState};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string, still percent-encoded; `None` without `?`.
    pub query: Option<String>,
    /// 0 when no response was sent (dropped connection, or still in flight).
    pub status: u16,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct RequestLog {
    entries: Vec<(u64, RequestRecord)>,
    next_id: u64,
}

impl RequestLog {
    fn push(&mut self, record: RequestRecord) -> u64 {
        self.next_id += 1;
        self.entries.push((self.next_id, record));
        self.next_id
    }

    fn finish(&mut self, id: u64, status: u16) {
        // Recent entries are the likely ones; search from the end.
        if let Some((_, r)) = self.entries.iter_mut().rev().find(|(i, _)| *i == id) {
            r.status = status;
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.entries.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

pub(crate) async fn record(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let id = lock(&st.requests).push(RequestRecord {
        method: method.clone(),
        path: path.clone(),
        query: req.uri().query().map(str::to_string),
        status: 0,
        at: Utc::now(),
    });
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    // Method, path and status only: queries may carry patient ids.
    tracing::debug!(%method, %path, status, "askara-sim request");
    lock(&st.requests).finish(id, status);
    resp
}
