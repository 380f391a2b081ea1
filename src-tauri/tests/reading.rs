//! Reading a note with care, through the methods the commands call (no window): the note's
//! formatted text and provenance come with it, its history in words, refused while locked.
#![allow(clippy::unwrap_used)]

use askara_inbox_desktop::core::{Core, Shell};
use askara_inbox_desktop::notify::Notification;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Quiet;

impl Shell for Quiet {
    fn emit(&self, _: &str, _: Value) {}
    fn set_title(&self, _: &str) {}
    fn notify(&self, _: &Notification) {}
    fn restart(&self) {}
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

const CONTENT: &str =
    "# Assessment\n\n**Knee** pain after skiing.\n\n- Rest\n- Ice <img src=x onerror=alert(1)>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_reads_formatted_with_its_provenance_and_history() {
    let core = Core::open_demo(Duration::from_secs(3600), 3, Arc::new(Quiet))
        .await
        .unwrap();
    core.start().await;
    core.sign_in_start().await.unwrap();
    eventually("the first sync", || async {
        core.counts().await.unwrap().all == 3
    })
    .await;
    let created = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    core.demo().unwrap().sim.add_note(json!({
        "uuid": "read-1",
        "type": "consultation_summary",
        "content": CONTENT,
        "createdAt": created,
        "updatedAt": created,
        "patient": {"uuid": "p-read", "firstName": "Bjørn", "lastName": "Ødegård"},
        "user": {"uuid": "u-7", "firstName": "Amélie", "lastName": "Rousseau"},
        "audio": {"uuid": "a-7", "duration": 95, "createdAt": created},
    }));
    core.sync_now().await.unwrap();
    eventually("the new note", || async {
        core.counts().await.unwrap().all == 4
    })
    .await;

    let view = serde_json::to_value(core.get("read-1", None).await.unwrap()).unwrap();
    // The formatted text: Rust's tree, the markup in it as text.
    assert_eq!(
        view["text"][0],
        json!({"kind": "heading", "level": 1, "inlines": [{"kind": "text", "text": "Assessment"}]})
    );
    assert_eq!(
        view["text"][1]["inlines"][0],
        json!({"kind": "strong", "inlines": [{"kind": "text", "text": "Knee"}]})
    );
    assert_eq!(
        view["text"][2]["items"][1],
        json!([{"kind": "paragraph", "inlines": [{"kind": "text", "text": "Ice <img src=x onerror=alert(1)>"}]}])
    );
    // The plain text is the content as Askara sent it.
    assert_eq!(view["content"], CONTENT);
    // Provenance: what Askara gave, and how the note came (a poll, so confirmed).
    let p = &view["provenance"];
    assert_eq!(p["author"]["name"], "Amélie Rousseau");
    assert_eq!(p["author"]["uuid"], "u-7");
    assert_eq!(p["recording"]["durationSecs"], 95.0);
    assert!(p["recording"]["recordedAt"].is_string(), "{p}");
    assert_eq!(
        (&p["arrival"], &p["verified"]),
        (&json!("poll"), &json!(true))
    );
    assert!(p["arrivedAt"].is_string(), "{p}");

    // With a search, the formatted text is marked where the plain text is.
    let found = serde_json::to_value(core.get("read-1", Some("skiing")).await.unwrap()).unwrap();
    assert_eq!(
        found["text"][1]["inlines"][2],
        json!({"kind": "mark", "text": "skiing"})
    );

    // The history in words, oldest first, with who did it.
    core.set_status("read-1", "reviewed").await.unwrap();
    let steps = core.note_history("read-1").await.unwrap();
    let words: Vec<&str> = steps.iter().map(|s| s.words.as_str()).collect();
    // Two opens above, one read (the same person's repeat is one), unless who acts changed
    // in between (the OS account until Askara's /me answers).
    assert_eq!(
        words.first(),
        Some(&"arrived (polled from Askara)"),
        "{steps:?}"
    );
    assert_eq!(words.last(), Some(&"reviewed"), "{steps:?}");
    let between = &words[1..words.len() - 1];
    assert!(
        (1..=2).contains(&between.len()) && between.iter().all(|w| *w == "read"),
        "{steps:?}"
    );
    assert_eq!(steps[0].actor, "sync");
    assert_eq!(steps[0].actor_label, "Askara Inbox (sync)");
    let recorded = core
        .inbox()
        .audit_log(Some("read-1".into()), 1)
        .await
        .unwrap();
    assert_eq!(recorded[0].action, "status_changed");
    let reviewed = steps.last().unwrap();
    assert_eq!(reviewed.actor, recorded[0].actor);
    assert_eq!(reviewed.action, "status_changed");
    assert!(steps.windows(2).all(|w| w[0].at <= w[1].at));

    // A note nobody has heard of is said so; while locked, the history is refused.
    assert_eq!(
        core.note_history("no-such-note").await.unwrap_err().code,
        "not_found"
    );
    core.lock_now();
    assert_eq!(
        core.note_history("read-1").await.unwrap_err().code,
        "locked"
    );
    core.shutdown().await;
}
