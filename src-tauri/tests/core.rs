//! The desktop's behaviour without a window: the demo core against its embedded simulator,
//! through the same methods the commands call. Events and the window title are recorded.
#![allow(clippy::unwrap_used)]

use askara_inbox_desktop::core::{Core, Shell};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, Value)>>,
    title: Mutex<String>,
}

impl Shell for Recorder {
    fn emit(&self, event: &str, payload: Value) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.push((event.to_string(), payload));
    }
    fn set_title(&self, title: &str) {
        *self.title.lock().unwrap_or_else(|e| e.into_inner()) = title.to_string();
    }
}

impl Recorder {
    fn title(&self) -> String {
        self.title.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn last(&self, event: &str) -> Option<Value> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events
            .iter()
            .rev()
            .find(|(e, _)| e == event)
            .map(|(_, p)| p.clone())
    }
}

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_signs_in_syncs_reviews_imports_and_reports_problems() {
    let shell = Arc::new(Recorder::default());
    let core = Core::open_demo(Duration::from_secs(3600), 60, shell.clone())
        .await
        .unwrap();
    core.start().await;
    assert!(core.info().demo);
    assert!(!core.status_view().await.signed_in);

    // Device sign-in, approved by the simulator; syncing starts by itself.
    let device = core.sign_in_start().await.unwrap();
    assert!(!device.user_code.is_empty());
    assert!(core
        .verification_url()
        .unwrap()
        .starts_with("http://127.0.0.1"));
    eventually("the sign-in", || async {
        shell
            .last("sign-in")
            .is_some_and(|p| p["state"] == "signed_in")
    })
    .await;
    eventually("the first sync", || async {
        core.counts().await.unwrap().all == 60
    })
    .await;
    let status = core.status_view().await;
    assert!(status.signed_in && status.token_expires_at.is_some() && status.problem.is_none());
    assert!(status.target.starts_with("sqlite:"));
    // The title follows the counts, right after the sync's notes-changed.
    eventually("the title", || async {
        shell.title() == "(60 new) Askara Inbox (demo)"
    })
    .await;

    // Newest first, paged.
    let page = core.list(None, None, 0, 10).await.unwrap();
    let next = core.list(None, None, 10, 10).await.unwrap();
    assert_eq!((page.len(), next.len()), (10, 10));
    assert!(page.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    assert!(page[9].created_at >= next[0].created_at);

    // Accent- and case-insensitive search, and the patient view.
    let hits = core.search("ODEGARD", None, None, 50).await.unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h.patient_name.contains("Ødegård")),
        "{hits:?}"
    );
    let patient = hits[0].patient_uuid.clone().unwrap();
    let theirs = core.list(None, Some(patient), 0, 100).await.unwrap();
    assert_eq!(theirs.len(), hits.len());

    // Review, import (idempotent), with the audit shown on the note.
    let uuid = page[0].uuid.clone();
    assert_eq!(core.set_status(&uuid, "reviewed").await.unwrap(), "new");
    let first = core.import_note(&uuid, false).await.unwrap();
    assert_eq!(first.result, "imported", "{first:?}");
    let again = core.import_note(&uuid, false).await.unwrap();
    assert_eq!(again.result, "unchanged");
    assert_eq!(again.imported_by, first.imported_by);
    let note = core.get(&uuid).await.unwrap();
    assert_eq!(note.status, "imported");
    assert_eq!(note.last_import.unwrap().result, "unchanged");
    assert!(shell.last("import-result").is_some());

    // Dismiss and undo.
    let other = page[1].uuid.clone();
    let before = core.set_status(&other, "dismissed").await.unwrap();
    assert_eq!(core.counts().await.unwrap().dismissed, 1);
    core.set_status(&other, &before).await.unwrap();
    assert_eq!(core.get(&other).await.unwrap().status, "new");
    // An imported note cannot be dismissed; the error is {code, message}.
    let e = core.set_status(&uuid, "dismissed").await.unwrap_err();
    assert_eq!(e.code, "invalid_transition");

    // Askara revises a note: it becomes `revised`, the earlier content kept for the pane.
    let revised = page[2].uuid.clone();
    assert!(core
        .demo()
        .unwrap()
        .sim
        .revise_note(&revised, "Revised content\nline two"));
    // The revision pass runs every 5 minutes; make it due now.
    core.inbox()
        .set_sync_state(vec![(
            inbox::sync::LAST_REVISION_PASS.to_string(),
            "2000-01-01T00:00:00Z".to_string(),
        )])
        .await
        .unwrap();
    core.sync_now().await.unwrap();
    eventually("the revision", || async {
        core.get(&revised).await.unwrap().status == "revised"
    })
    .await;
    let note = core.get(&revised).await.unwrap();
    assert_eq!(
        (note.content.as_str(), note.versions),
        ("Revised content\nline two", 1)
    );
    let earlier = core.versions(&revised).await.unwrap();
    assert_eq!(earlier.len(), 1);
    assert_ne!(earlier[0].content, note.content);
    assert_eq!(core.counts().await.unwrap().revised, 1);

    // A 429, then a revoked sign-in, in the status strip.
    let faults = core.demo().unwrap().sim.faults();
    faults.rate_limit_next(20, askara_sim::RetryAfter::Seconds(900));
    core.sync_now().await.unwrap();
    eventually("the rate-limit problem", || async {
        core.status_view()
            .await
            .problem
            .is_some_and(|p| p.code == "rate_limited" && p.until.is_some())
    })
    .await;
    assert!(
        core.status_view().await.last_sync_at.is_some(),
        "the last success is kept"
    );
    faults.clear();
    faults.revoke_all_tokens();
    core.sync_now().await.unwrap();
    eventually("the revoked sign-in", || async {
        core.status_view()
            .await
            .problem
            .is_some_and(|p| p.code == "auth_expired" && p.needs_sign_in)
    })
    .await;

    // Askara gone: unreachable, with the next attempt for "retrying in N s".
    core.demo().unwrap().sim.clone().shutdown().await;
    core.sync_now().await.unwrap();
    eventually("the unreachable problem", || async {
        core.status_view()
            .await
            .problem
            .is_some_and(|p| p.code == "unreachable" && p.until.is_some() && !p.needs_sign_in)
    })
    .await;

    // Signing out forgets the sign-in.
    core.sign_out().await.unwrap();
    assert!(!core.status_view().await.signed_in);
    core.shutdown().await;
}

#[tokio::test]
async fn errors_reach_the_ui_as_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path().to_path_buf(), Arc::new(Recorder::default())).unwrap();
    assert!(core.info().first_run);
    let e = core.get("no-such-note").await.unwrap_err();
    assert_eq!(e.code, "not_found");
    let e = core.set_status("x", "bogus").await.unwrap_err();
    assert_eq!(e.code, "invalid_input");
    // No import target yet: the result says so, with the fix.
    let e = core.import_note("x", false).await.unwrap_err();
    assert_eq!(e.code, "not_found");
    let mut s = core.settings();
    s.interval_secs = 2;
    let e = core.save_settings(s, None).await.unwrap_err();
    assert_eq!(e.code, "config");
}
