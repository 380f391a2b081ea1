//! What the receiver has done, for `/healthz` and for a settings page. Counters only: never
//! note content, patient names or the secret.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use inbox::webhook_queue::QueueCounts;
use serde::Serialize;

/// A snapshot of the receiver's state.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    pub started_at: Option<DateTime<Utc>>,
    /// The newest delivery stored (also from before a restart).
    pub last_delivery_at: Option<DateTime<Utc>>,
    pub last_delivery_age_secs: Option<f64>,
    /// Deliveries stored and acknowledged since start.
    pub deliveries_accepted: u64,
    /// Deliveries refused since start (400, 404, 413, or 503 when the inbox failed).
    pub deliveries_rejected: u64,
    /// Notes ingested from deliveries since start: new, revised, already known.
    pub notes_inserted: u64,
    pub notes_revised: u64,
    pub notes_unchanged: u64,
    /// Notes fetched with `GET /notes/{uuid}` because a payload lacked fields.
    pub notes_fetched: u64,
    /// Events accepted but skipped (no note, unknown action, ...), recorded in the queue.
    pub events_skipped: u64,
    pub last_processed_at: Option<DateTime<Utc>>,
    pub worker_error: Option<String>,
    pub poll_enabled: bool,
    /// Another server holds the clinic's poll lease: this one stands by and takes over when it
    /// goes (webhooks are still received and stored here).
    pub poll_standby: bool,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_poll_age_secs: Option<f64>,
    pub last_poll_ok: Option<bool>,
    /// The last poll's error in words (and its code), if it failed.
    pub poll_error: Option<String>,
    pub poll_error_code: Option<String>,
    pub polled_notes_new: u64,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Deliveries in the durable queue, per state.
    pub queue: QueueCounts,
}

pub(crate) struct StatusCell(Mutex<ReceiverStatus>);

impl StatusCell {
    pub(crate) fn new(s: ReceiverStatus) -> Self {
        StatusCell(Mutex::new(s))
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut ReceiverStatus)) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g);
    }

    pub(crate) fn snapshot(&self) -> ReceiverStatus {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let now = Utc::now();
        let age = |t: Option<DateTime<Utc>>| {
            t.map(|t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0)
        };
        s.last_delivery_age_secs = age(s.last_delivery_at);
        s.last_poll_age_secs = age(s.last_poll_at);
        s
    }
}
