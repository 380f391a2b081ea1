//! Who the audit log names (the signed-in Askara user, else the OS account by user id), and a
//! note's history as the front-ends show it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::Identity;
use askara::Sensitive;
use inbox::{Inbox, Source, Status};
use serde_json::json;

fn api(base_url: &str, client_id: &str, secret: &str) -> askara::ApiClient {
    let mut cfg = askara::ClientConfig::new(base_url, client_id)
        .unwrap()
        .with_secret(Some(Sensitive::new(secret.to_string())));
    cfg.connect_timeout = Duration::from_millis(500);
    askara::ApiClient::new(
        cfg,
        Arc::new(askara::MemoryTokenStore::default()),
        Arc::new(askara::SystemClock),
    )
    .unwrap()
}

#[tokio::test]
async fn the_signed_in_askara_user_is_the_actor_else_the_os_account() {
    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig::default())
        .await
        .unwrap();
    let cfg = sim.config();
    let signed_in = api(&sim.base_url(), &cfg.client_id, &cfg.client_secret);
    let who = Identity::resolve(Some(&signed_in)).await;
    assert_eq!(who.actor, "askara:ingrid.solberg@example.test");
    assert_eq!(who.workstation, Identity::from_os().workstation);

    let os = Identity::resolve(None).await;
    assert_eq!(os, Identity::from_os());
    assert!(os.actor.starts_with("os:"), "{}", os.actor);

    // Askara refusing the credentials: the OS account, not an error.
    let refused = api(&sim.base_url(), &cfg.client_id, "wrong-secret");
    assert_eq!(Identity::resolve(Some(&refused)).await, Identity::from_os());
}

#[tokio::test]
async fn an_unreachable_askara_falls_back_to_the_os_account_in_bounded_time() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = api(&format!("http://127.0.0.1:{port}"), "c", "s");
    let started = Instant::now();
    assert_eq!(Identity::resolve(Some(&down)).await, Identity::from_os());
    assert!(
        started.elapsed() <= app::identity::RESOLVE_TIMEOUT + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn history_is_oldest_first_and_an_unknown_note_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("inbox.sqlite3"), &test_key()).unwrap();
    let note = askara::Note::from_json(json!({
        "uuid": "n1", "type": "consultation_summary", "content": "Synthetic.",
        "createdAt": "2026-02-24T10:30:00+00:00", "patient": null
    }))
    .unwrap();
    inbox
        .ingest(vec![note], Source::Poll, vec![])
        .await
        .unwrap();
    inbox.record_read("n1", "os:staff").await.unwrap();
    inbox
        .set_status("n1", Status::Dismissed, "os:staff")
        .await
        .unwrap();
    let h = app::audit::history(&inbox, "n1").await.unwrap();
    let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["received", "read", "status_changed"]);
    let err = app::audit::history(&inbox, "nope").await.unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert!(matches!(
        app::audit::verify(&inbox).await.unwrap(),
        inbox::AuditCheck::Intact { rows: 3, .. }
    ));
}

/// A fixed key: these tests are about the workflows, not the inbox's encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
