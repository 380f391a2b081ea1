//! The desktop's behaviour without a window: the demo core against its embedded simulator,
//! through the same methods the commands call. Events and the window title are recorded.
#![allow(clippy::unwrap_used)]

use askara_inbox_desktop::core::{Core, Shell, SignInView};
use askara_inbox_desktop::notify::Notification;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, Value)>>,
    title: Mutex<String>,
    notifications: Mutex<Vec<Notification>>,
}

impl Shell for Recorder {
    fn emit(&self, event: &str, payload: Value) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.push((event.to_string(), payload));
    }
    fn set_title(&self, title: &str) {
        *self.title.lock().unwrap_or_else(|e| e.into_inner()) = title.to_string();
    }
    fn notify(&self, n: &Notification) {
        let mut shown = self.notifications.lock().unwrap_or_else(|e| e.into_inner());
        shown.push(n.clone());
    }
    fn restart(&self) {}
}

impl Recorder {
    fn title(&self) -> String {
        self.title.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn notifications(&self) -> Vec<Notification> {
        self.notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
    let SignInView::Device(device) = core.sign_in_start().await.unwrap() else {
        panic!("the device code is the default sign-in")
    };
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

    // The catch-up at sign-in is not notified; a note arriving later is, without whose it is.
    assert!(shell.notifications().is_empty());
    let sim = &core.demo().unwrap().sim;
    let arrived = sim.add_generated(1, 77);
    let patient_of_new = sim.note(&arrived[0]).unwrap()["patient"]["lastName"]
        .as_str()
        .unwrap()
        .to_string();
    core.sync_now().await.unwrap();
    eventually("the notification", || async {
        !shell.notifications().is_empty()
    })
    .await;
    let shown = shell.notifications();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].title, "1 new note");
    assert!(!format!("{:?}", shown[0]).contains(&patient_of_new));

    // Accent- and case-insensitive search, and the patient view.
    let hits = core.search("ODEGARD", None, None, 50).await.unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h.patient_name.contains("Ødegård")),
        "{hits:?}"
    );
    // Search results come with the matched words marked (the UI shows them as <mark>s).
    for h in &hits {
        let marked: Vec<&str> = h
            .name_parts
            .iter()
            .flatten()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(marked, ["Ødegård"], "{h:?}");
    }
    let opened = core.get(&hits[0].uuid, Some("odegard")).await.unwrap();
    assert!(
        opened.content_parts.is_none()
            || opened.content_parts.as_ref().unwrap().iter().any(|p| p.hit)
    );
    assert!(core
        .get(&hits[0].uuid, None)
        .await
        .unwrap()
        .content_parts
        .is_none());
    let patient = hits[0].patient_uuid.clone().unwrap();
    let theirs = core
        .list(None, Some(patient.clone()), 0, 100)
        .await
        .unwrap();
    let hits_of_patient = hits
        .iter()
        .filter(|h| h.patient_uuid.as_deref() == Some(&patient));
    assert_eq!(theirs.len(), hits_of_patient.count());

    // Review, import (idempotent), with the audit shown on the note.
    let uuid = page[0].uuid.clone();
    assert_eq!(core.set_status(&uuid, "reviewed").await.unwrap(), "new");
    let first = core.import_note(&uuid, false).await.unwrap();
    assert_eq!(
        first.result,
        app::importing::AttemptResult::Imported,
        "{first:?}"
    );
    let again = core.import_note(&uuid, false).await.unwrap();
    assert_eq!(again.result, app::importing::AttemptResult::Unchanged);
    assert_eq!(again.imported_by, first.imported_by);
    let note = core.get(&uuid, None).await.unwrap();
    assert_eq!(
        note.status,
        askara_inbox_desktop::views::NoteStatus::Imported
    );
    assert_eq!(
        note.last_import.unwrap().result,
        app::importing::AttemptResult::Unchanged
    );
    assert!(shell.last("import-result").is_some());

    // Dismiss and undo.
    let other = page[1].uuid.clone();
    let before = core.set_status(&other, "dismissed").await.unwrap();
    assert_eq!(core.counts().await.unwrap().dismissed, 1);
    core.set_status(&other, &before).await.unwrap();
    assert_eq!(
        core.get(&other, None).await.unwrap().status,
        askara_inbox_desktop::views::NoteStatus::New
    );
    // An imported note cannot be dismissed; the error is {code, message}.
    let e = core.set_status(&uuid, "dismissed").await.unwrap_err();
    assert_eq!(e.code, "invalid_transition");

    // Askara revises a note: it becomes `revised`, the earlier content kept for the pane.
    let revised = page[2].uuid.clone();
    let imported_before = core.get(&uuid, None).await.unwrap().content;
    assert!(core
        .demo()
        .unwrap()
        .sim
        .revise_note(&revised, "Revised content\nline two"));
    let amended = format!("{imported_before}\nAddendum: allergy to penicillin.");
    assert!(core.demo().unwrap().sim.revise_note(&uuid, &amended));
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
        core.get(&revised, None).await.unwrap().status
            == askara_inbox_desktop::views::NoteStatus::Revised
    })
    .await;
    let note = core.get(&revised, None).await.unwrap();
    assert_eq!(
        (note.content.as_str(), note.versions),
        ("Revised content\nline two", 1)
    );
    let earlier = core.versions(&revised).await.unwrap();
    assert_eq!(earlier.len(), 1);
    assert_ne!(earlier[0].content, note.content);
    // Never imported: the changes are since the previous version.
    let changes = note.changes.expect("changes of a revised note");
    assert_eq!(
        changes.since,
        askara_inbox_desktop::views::ChangesSince::Previous
    );
    let added: String = changes
        .parts
        .iter()
        .filter(|p| p.kind == askara_inbox_desktop::views::DiffKind::Added)
        .map(|p| p.text.as_str())
        .collect();
    assert!(added.contains("Revised"), "{added:?}");
    // The imported note, revised: the changes are since the imported version, word by word.
    eventually("the imported note's revision", || async {
        core.get(&uuid, None).await.unwrap().status
            == askara_inbox_desktop::views::NoteStatus::Revised
    })
    .await;
    let changes = core
        .get(&uuid, None)
        .await
        .unwrap()
        .changes
        .expect("changes");
    assert_eq!(
        changes.since,
        askara_inbox_desktop::views::ChangesSince::Imported
    );
    let kinds: Vec<(&str, &str)> = changes
        .parts
        .iter()
        .filter(|p| p.kind != askara_inbox_desktop::views::DiffKind::Same)
        .map(|p| (p.kind.as_str(), p.text.as_str()))
        .collect();
    assert_eq!(kinds, [("added", "\nAddendum: allergy to penicillin.")]);
    assert_eq!(core.counts().await.unwrap().revised, 2);

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
    core.sign_out(false).await.unwrap();
    assert!(!core.status_view().await.signed_in);
    core.shutdown().await;
}

#[tokio::test]
async fn errors_reach_the_ui_as_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path().to_path_buf(), Arc::new(Recorder::default()))
        .await
        .unwrap();
    assert!(core.info().first_run);
    let e = core.get("no-such-note", None).await.unwrap_err();
    assert_eq!(e.code, "not_found");
    let e = core.set_status("x", "bogus").await.unwrap_err();
    assert_eq!(e.code, "invalid_input");
    // No import target yet: the result says so, with the fix.
    let e = core.import_note("x", false).await.unwrap_err();
    assert_eq!(e.code, "not_found");
    let mut s = core.settings();
    s.interval_secs = 2;
    let e = core.save_settings(s, None, None).await.unwrap_err();
    assert_eq!(e.code, "config");
}

/// The system browser's part of a PKCE sign-in: follows Askara's redirect to the loopback.
async fn browse(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_with_pkce_through_a_loopback_redirect() {
    let shell = Arc::new(Recorder::default());
    let core = Core::open_demo(Duration::from_secs(3600), 5, shell.clone())
        .await
        .unwrap();
    core.start().await;
    let mut settings = core.settings();
    settings.sign_in_method = app::settings::SignInMethod::Browser;
    core.save_settings(settings, None, None).await.unwrap();

    // Refused in the browser: the loopback hears it, the UI is told in words.
    let SignInView::Browser { authorize_url } = core.sign_in_start().await.unwrap() else {
        panic!("the browser sign-in was configured")
    };
    let url = url::Url::parse(&authorize_url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(core.verification_url().unwrap(), authorize_url);
    let redirect = url::Url::parse(&q["redirect_uri"]).unwrap();
    assert_eq!(
        (redirect.scheme(), redirect.host_str()),
        ("http", Some("127.0.0.1"))
    );
    let denied = format!("{redirect}?error=access_denied&state={}", q["state"]);
    let (status, page) = browse(&denied).await;
    assert_eq!(status, 200);
    assert!(page.contains("not completed"), "{page}");
    eventually("the refusal", || async {
        shell
            .last("sign-in")
            .is_some_and(|p| p["state"] == "failed" && p["error"]["code"] == "access_denied")
    })
    .await;
    assert!(!core.status_view().await.signed_in);

    // Approved: Askara redirects to the loopback with a code; the app redeems it with its
    // verifier, keeps the tokens and starts syncing.
    let SignInView::Browser { authorize_url } = core.sign_in_start().await.unwrap() else {
        panic!("the browser sign-in was configured")
    };
    let (status, page) = browse(&authorize_url).await;
    assert_eq!(status, 200);
    assert!(page.contains("You are signed in"), "{page}");
    eventually("the sign-in", || async {
        shell
            .last("sign-in")
            .is_some_and(|p| p["state"] == "signed_in")
    })
    .await;
    eventually("the first sync", || async {
        core.counts().await.unwrap().all == 5
    })
    .await;
    assert!(core.status_view().await.signed_in);
    // The redirect listener is gone once used.
    let url = url::Url::parse(&authorize_url).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    assert!(reqwest::get(format!("{redirect}?code=replayed"))
        .await
        .is_err());
    core.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_lets_the_poll_in_progress_commit() {
    let shell = Arc::new(Recorder::default());
    let core = Core::open_demo(Duration::from_secs(3600), 5, shell.clone())
        .await
        .unwrap();
    core.start().await;
    core.sign_in_start().await.unwrap();
    eventually("the first sync", || async {
        core.counts().await.unwrap().all == 5
    })
    .await;
    let sim = core.demo().unwrap().sim.clone();
    sim.add_generated(3, 8);
    sim.clear_requests();
    sim.faults().slow_next(1, Duration::from_millis(1500));
    core.sync_now().await.unwrap();
    eventually("the slow poll to be in flight", || async {
        sim.requests().iter().any(|r| r.path == "/notes")
    })
    .await;
    let t = Instant::now();
    core.drain().await;
    // The app waited for the poll rather than cutting it off: its notes are in.
    assert_eq!(core.counts().await.unwrap().all, 8);
    assert!(t.elapsed() < askara_inbox_desktop::core::DRAIN_TIMEOUT);
    // And nothing polls any more.
    sim.clear_requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sim.requests().is_empty());
    core.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_by_another_askara_user_does_not_open_the_idle_lock() {
    let shell = Arc::new(Recorder::default());
    let core = Core::open_demo(Duration::from_secs(3600), 5, shell.clone())
        .await
        .unwrap();
    core.start().await;
    core.sign_in_start().await.unwrap();
    eventually("the first sync", || async {
        core.counts().await.unwrap().all == 5
    })
    .await;
    let sim = core.demo().unwrap().sim.clone();
    core.lock_now();
    assert_eq!(
        core.list(None, None, 0, 10).await.unwrap_err().code,
        "locked"
    );

    // Someone else at the locked window signs in with their own account.
    sim.set_user(1);
    core.sign_in_start().await.unwrap();
    eventually("the other user's sign-in to finish", || async {
        shell
            .last("sign-in")
            .is_some_and(|p| p["state"] == "failed" && p["error"]["code"] == "locked")
    })
    .await;
    assert_eq!(
        core.list(None, None, 0, 10).await.unwrap_err().code,
        "locked"
    );

    // The person who was signed in signs in again: that unlocks.
    sim.set_user(0);
    core.sign_in_start().await.unwrap();
    eventually("the unlock by the same user", || async {
        core.list(None, None, 0, 10).await.is_ok()
    })
    .await;
    core.shutdown().await;
}
