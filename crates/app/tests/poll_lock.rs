//! One poller per data dir across processes: two `Syncing`s on one poll lock (as the desktop
//! app and `askara-inbox sync` would be), against the simulator.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use app::sync::{PollLock, Syncing, ANOTHER_POLLER};
use askara::Sensitive;
use inbox::sync::{SyncConfig, SyncStatus};
use inbox::Inbox;
use tokio::sync::watch;

fn api_for(sim: &askara_sim::SimHandle) -> Arc<askara::ApiClient> {
    let cfg = sim.config();
    let c = askara::ClientConfig::new(&sim.base_url(), &cfg.client_id)
        .unwrap()
        .with_secret(Some(Sensitive::new(cfg.client_secret.clone())));
    Arc::new(
        askara::ApiClient::new(
            c,
            Arc::new(askara::MemoryTokenStore::default()),
            Arc::new(askara::SystemClock),
        )
        .unwrap(),
    )
}

fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}

/// `GET /notes…` requests the simulator has seen.
fn note_requests(sim: &askara_sim::SimHandle) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/notes"))
        .count()
}

/// The first status `until` accepts (at most 20 s).
async fn wait_for(
    status: &mut watch::Receiver<SyncStatus>,
    until: impl Fn(&SyncStatus) -> bool,
) -> SyncStatus {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            {
                let s = status.borrow_and_update();
                if until(&s) {
                    return s.clone();
                }
            }
            status.changed().await.unwrap();
        }
    })
    .await
    .expect("the awaited status")
}

#[tokio::test]
async fn a_second_poller_waits_for_the_lock_and_takes_over_when_the_first_stops() {
    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig::default())
        .await
        .unwrap();
    sim.add_generated(12, 5);
    let dir = tempfile::tempdir().unwrap();
    // Two inboxes, so that which one polled shows; one lock, as in one data dir.
    let first_inbox = Inbox::open(dir.path().join("inbox-a.sqlite3"), &test_key()).unwrap();
    let second_inbox = Inbox::open(dir.path().join("inbox-b.sqlite3"), &test_key()).unwrap();
    let cfg = SyncConfig {
        interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let lock = PollLock::at(dir.path()).retry_every(Duration::from_millis(100));

    let first = Syncing::start(
        api_for(&sim),
        Arc::new(first_inbox),
        cfg.clone(),
        Some(lock.clone()),
    );
    let report = wait_for(&mut first.status(), |s| s.last_report.is_some()).await;
    assert_eq!(report.last_report.as_ref().unwrap().new, 12);
    assert!(report.error_code.is_none());
    let polled = note_requests(&sim);
    assert!(polled > 0);

    // The second cannot take the lock: it says so and does not poll.
    let second = Syncing::start(
        api_for(&sim),
        Arc::new(second_inbox),
        cfg.clone(),
        Some(lock.clone()),
    );
    let mut second_status = second.status();
    let waiting = wait_for(&mut second_status, |s| s.error_code.is_some()).await;
    assert_eq!(waiting.error_code.as_deref(), Some(ANOTHER_POLLER));
    assert!(
        waiting
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("another Askara Inbox")),
        "{waiting:?}"
    );
    assert!(waiting.last_report.is_none());
    // Several retries later it still waits, and Askara saw no poll from it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let still = second_status.borrow().clone();
    assert_eq!(still.error_code.as_deref(), Some(ANOTHER_POLLER));
    assert!(still.last_report.is_none());
    assert_eq!(note_requests(&sim), polled, "only the lock holder polls");

    // A third standby stops at once, in the middle of its (long) wait.
    let third = Syncing::start(
        api_for(&sim),
        Arc::new(Inbox::open(dir.path().join("inbox-c.sqlite3"), &test_key()).unwrap()),
        cfg.clone(),
        Some(lock.clone().retry_every(Duration::from_secs(3600))),
    );
    wait_for(&mut third.status(), |s| s.error_code.is_some()).await;
    let t = std::time::Instant::now();
    assert!(third.stop(Some(Duration::from_secs(5))).await);
    assert!(t.elapsed() < Duration::from_secs(2));

    // The first stops: the second takes over and polls its own inbox full.
    assert!(first.stop(Some(Duration::from_secs(10))).await);
    let took_over = wait_for(&mut second_status, |s| s.last_report.is_some()).await;
    assert_eq!(took_over.last_report.as_ref().unwrap().new, 12);
    assert!(took_over.error_code.is_none(), "{took_over:?}");
    assert!(note_requests(&sim) > polled);
    assert!(lock.try_take().unwrap().is_none(), "the second holds it");

    // Dropping a poller frees the lock at once (the desktop's "Sync now" restarts it).
    drop(second);
    assert!(lock.try_take().unwrap().is_some());
    assert!(lock.path().exists());
    sim.shutdown().await;
}
