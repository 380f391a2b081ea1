//! Events for the window, fetched by the window rather than pushed into it.
//!
//! Tauri delivers `emit` by evaluating a new script in the web view for every event: a status
//! every 5 s, all day. Scripts evaluated this way are a known source of WebKitGTK web-process
//! growth (tauri-apps/tauri#3921), and the 45 MiB/h we measured on 2026-11-30 was with every
//! event evaluated so (and drawing without compositing). Here the core's events go into this
//! queue and the UI takes them with a long-polling command (`next_events`), whose answer comes
//! back through the IPC protocol like any command result, so nothing is evaluated; the page
//! also cannot miss an event between loading and subscribing. The measured trends, before and
//! after: `bench/desktop-memory-results.md`.
//!
//! The queue is bounded. A status replaces the one before it still waiting (only the newest
//! counts), and a UI that fell more than [`CAPACITY`] events behind is told it `missed` some and
//! reloads what it shows.

use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Events kept for a UI that has not fetched them yet.
pub const CAPACITY: usize = 256;

/// How long one `next_events` waits for something to happen before answering empty.
pub const WAIT: Duration = Duration::from_secs(25);

/// Events of which only the newest matters: a newer one replaces a waiting one.
const LATEST_ONLY: &[&str] = &["sync-status", "lock-state"];

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct UiEvent {
    pub seq: u64,
    pub event: String,
    #[ts(type = "unknown")]
    pub payload: Value,
}

/// What one `next_events` returns: the events after the UI's `after`, oldest first, and the
/// `next` to ask after. `missed`: some were dropped, so what the UI shows must be reloaded.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EventBatch {
    pub events: Vec<UiEvent>,
    pub next: u64,
    pub missed: bool,
}

#[derive(Debug, Default)]
struct Buffer {
    events: VecDeque<UiEvent>,
    /// The newest event dropped for room (not replaced by a newer one of its kind): a UI
    /// behind it missed something.
    dropped_upto: u64,
}

#[derive(Debug)]
pub struct EventQueue {
    buf: Mutex<Buffer>,
    /// The sequence number of the newest event (0: none yet).
    last: watch::Sender<u64>,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue {
            buf: Mutex::new(Buffer::default()),
            last: watch::channel(0).0,
        }
    }
}

impl EventQueue {
    pub fn push(&self, event: &str, payload: Value) {
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        let seq = *self.last.borrow() + 1;
        if LATEST_ONLY.contains(&event) {
            buf.events.retain(|e| e.event != event);
        }
        if buf.events.len() == CAPACITY {
            if let Some(e) = buf.events.pop_front() {
                buf.dropped_upto = e.seq;
            }
        }
        buf.events.push_back(UiEvent {
            seq,
            event: event.to_string(),
            payload,
        });
        // Under the buffer's lock, so readers see the buffer and the number agree.
        self.last.send_replace(seq);
    }

    /// The events after `after`, waiting up to `wait` for the first. `None` (a page that just
    /// loaded, which reads everything itself) returns at once with where to start.
    pub async fn next(&self, after: Option<u64>, wait: Duration) -> EventBatch {
        let Some(after) = after else {
            return EventBatch {
                events: Vec::new(),
                next: *self.last.borrow(),
                missed: false,
            };
        };
        let mut rx = self.last.subscribe();
        // A number from before a restart of this process (a page kept across it cannot be,
        // but an old request can arrive late): start again from now.
        if after > *rx.borrow() {
            return EventBatch {
                events: Vec::new(),
                next: *rx.borrow(),
                missed: true,
            };
        }
        let _ = tokio::time::timeout(wait, rx.wait_for(|last| *last > after)).await;
        self.after(after)
    }

    fn after(&self, after: u64) -> EventBatch {
        let buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        EventBatch {
            events: buf
                .events
                .iter()
                .filter(|e| e.seq > after)
                .cloned()
                .collect(),
            next: *self.last.borrow(),
            missed: after < buf.dropped_upto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Duration = Duration::ZERO;

    fn names(b: &EventBatch) -> Vec<&str> {
        b.events.iter().map(|e| e.event.as_str()).collect()
    }

    #[tokio::test]
    async fn a_new_page_starts_after_what_happened_before_it() {
        let q = EventQueue::default();
        q.push("notes-changed", json!({"reason": "sync"}));
        let start = q.next(None, WAIT).await;
        assert!(start.events.is_empty());
        assert_eq!(start.next, 1);
        q.push("import-result", json!({"uuid": "n-1"}));
        let b = q.next(Some(start.next), NOW).await;
        assert_eq!(names(&b), ["import-result"]);
        assert_eq!(b.events[0].payload, json!({"uuid": "n-1"}));
        assert_eq!((b.next, b.missed), (2, false));
    }

    #[tokio::test]
    async fn waits_for_the_next_event() {
        let q = std::sync::Arc::new(EventQueue::default());
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.next(Some(0), Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        q.push("notes-changed", json!({"reason": "sync"}));
        let b = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken by the push")
            .expect("joined");
        assert_eq!(names(&b), ["notes-changed"]);
    }

    #[tokio::test]
    async fn nothing_within_the_wait_answers_empty_at_the_same_place() {
        let q = EventQueue::default();
        q.push("notes-changed", json!({}));
        let b = q.next(Some(1), Duration::from_millis(20)).await;
        assert!(b.events.is_empty());
        assert_eq!((b.next, b.missed), (1, false));
    }

    #[tokio::test]
    async fn only_the_newest_status_waits_and_order_is_kept() {
        let q = EventQueue::default();
        q.push("sync-status", json!({"n": 1}));
        q.push("notes-changed", json!({}));
        q.push("sync-status", json!({"n": 2}));
        q.push("lock-state", json!({"locked": true}));
        q.push("lock-state", json!({"locked": false}));
        let b = q.next(Some(0), NOW).await;
        assert_eq!(names(&b), ["notes-changed", "sync-status", "lock-state"]);
        assert_eq!(b.events[1].payload, json!({"n": 2}));
        assert_eq!(b.events[2].payload, json!({"locked": false}));
        // A replaced status is not a missed event.
        assert!(!b.missed);
        assert_eq!(b.next, 5);
    }

    #[tokio::test]
    async fn a_ui_far_behind_is_told_it_missed_events() {
        let q = EventQueue::default();
        for i in 0..CAPACITY + 3 {
            q.push("import-result", json!({ "i": i }));
        }
        let behind = q.next(Some(0), NOW).await;
        assert!(behind.missed);
        assert_eq!(behind.events.len(), CAPACITY);
        assert_eq!(behind.events[0].payload, json!({"i": 3}));
        let recent = q.next(Some(3), NOW).await;
        assert!(!recent.missed, "event 4 onwards are all kept");
        assert_eq!(recent.events.len(), CAPACITY);
    }

    #[tokio::test]
    async fn a_number_from_another_process_starts_again() {
        let q = EventQueue::default();
        q.push("notes-changed", json!({}));
        let b = q.next(Some(40), Duration::from_secs(30)).await;
        assert!(b.missed);
        assert_eq!(b.next, 1);
    }
}
