//! The poller against the real simulator on loopback: every collection shape, collisions in one
//! second, servers that ignore filters, faults, revisions, and a property test over all of it.

#![allow(clippy::unwrap_used)]

mod common;

use askara::{ApiClient, ApiError, ClientConfig, ManualClock, MemoryTokenStore, SharedClock};
use askara_sim::{CollectionFormat, RetryAfter, SimConfig, SimHandle};
use chrono::{TimeZone, Utc};
use common::{inbox_uuids, rig_with, Rig};
use inbox::sync::{Poller, SyncConfig, SyncError};
use inbox::{Inbox, Status};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn sim_config(format: CollectionFormat) -> SimConfig {
    SimConfig {
        collection_format: format,
        device_auto_approve: true,
        device_poll_interval_secs: 0,
        ..SimConfig::default()
    }
}

/// Exactly the server's set: nothing missing, nothing doubled.
async fn assert_same_set(rig: &Rig) {
    let got = inbox_uuids(&rig.inbox).await;
    let set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "a note was stored twice");
    let want: BTreeSet<_> = rig.sim.note_uuids().into_iter().collect();
    assert_eq!(set, want);
}

#[tokio::test]
async fn catch_up_in_every_collection_shape_then_idle_poll_costs_one_request() {
    for format in [
        CollectionFormat::Hydra,
        CollectionFormat::JsonLd,
        CollectionFormat::Plain,
    ] {
        let mut rig = rig_with(sim_config(format), 100).await;
        rig.sim.add_generated(250, 3);
        let first = rig.poller.try_once().await.unwrap();
        assert_eq!(first.new, 250, "{format:?}");
        assert_same_set(&rig).await;

        // Hydra says the page is the last; a plain array says nothing, so it takes the
        // empty page after it.
        let idle = rig.poller.try_once().await.unwrap();
        let cost = if format == CollectionFormat::Plain {
            2
        } else {
            1
        };
        assert_eq!((idle.new, idle.requests), (0, cost), "{format:?}: {idle:?}");

        rig.sim.add_generated_at(3, 4, Utc::now());
        let more = rig.poller.try_once().await.unwrap();
        assert_eq!(more.new, 3, "{format:?}");
        assert_same_set(&rig).await;
    }
}

#[tokio::test]
async fn hundreds_of_notes_in_one_second_across_page_boundaries() {
    let mut rig = rig_with(sim_config(CollectionFormat::Hydra), 40).await;
    let t = Utc.with_ymd_and_hms(2026, 2, 24, 10, 30, 0).unwrap();
    rig.sim.add_generated_at(130, 11, t);
    rig.poller.try_once().await.unwrap();
    // More arrive in the watermark's own second after the first sync.
    rig.sim.add_generated_at(57, 12, t);
    let r = rig.poller.try_once().await.unwrap();
    assert_eq!(r.new, 57);
    assert_same_set(&rig).await;
}

#[tokio::test]
async fn a_server_that_ignores_the_filter_costs_requests_never_notes() {
    let cfg = SimConfig {
        honour_created_filter: false,
        honour_updated_filter: false,
        ..sim_config(CollectionFormat::JsonLd)
    };
    let mut rig = rig_with(cfg, 50).await;
    rig.sim.add_generated(120, 5);
    rig.poller.try_once().await.unwrap();
    let again = rig.poller.try_once().await.unwrap();
    assert_eq!(again.new, 0);
    assert!(again.filter_ignored);
    assert!(
        again.requests > 1,
        "ignoring the filter means re-reading: {again:?}"
    );
    assert_same_set(&rig).await;
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_with_backoff() {
    let mut rig = rig_with(sim_config(CollectionFormat::Hydra), 100).await;
    rig.sim.add_generated(30, 1);
    rig.sim.faults().fail_next(2, 503);
    rig.sim.faults().drop_next(1);
    let r = rig.poller.try_once().await.unwrap();
    assert_eq!(r.new, 30);
    let sleeps = rig.clock.sleeps();
    assert!(
        sleeps.len() >= 3,
        "each failure waits before retrying: {sleeps:?}"
    );
    assert!(
        sleeps[1] > sleeps[0] / 2,
        "backoff does not shrink: {sleeps:?}"
    );
}

#[tokio::test]
async fn persistent_server_errors_end_in_server_error_and_the_next_poll_recovers() {
    let mut rig = rig_with(sim_config(CollectionFormat::Hydra), 10).await;
    rig.sim.add_generated(25, 1);
    // The first page succeeds (after a token), then every retry of page 2 fails.
    rig.poller.try_once().await.unwrap();
    rig.sim.add_generated_at(25, 2, Utc::now());
    rig.sim.faults().fail_next(100, 500);
    let err = rig.poller.try_once().await.unwrap_err();
    assert_eq!(err.code(), "server_error");
    rig.sim.faults().clear();
    rig.poller.try_once().await.unwrap();
    assert_same_set(&rig).await;
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after_or_the_reset() {
    let mut rig = rig_with(sim_config(CollectionFormat::Hydra), 100).await;
    rig.sim.add_generated(5, 1);
    rig.sim.faults().rate_limit_next(1, RetryAfter::Seconds(7));
    rig.poller.try_once().await.unwrap();
    assert!(
        rig.clock.sleeps().contains(&Duration::from_secs(7)),
        "{:?}",
        rig.clock.sleeps()
    );

    rig.sim.faults().rate_limit_next(1, RetryAfter::Absent);
    rig.poller.try_once().await.unwrap();

    // Longer than the client will wait inline: reported, with when to retry.
    rig.sim
        .faults()
        .rate_limit_next(1, RetryAfter::Seconds(3600));
    let err = rig.poller.try_once().await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    let delay = rig.poller.next_delay(&Err(err));
    assert!(delay >= Duration::from_secs(3500), "{delay:?}");
}

#[tokio::test]
async fn expired_access_token_is_renewed_once_and_the_request_retried() {
    let mut rig = rig_with(sim_config(CollectionFormat::Hydra), 100).await;
    rig.sim.add_generated(5, 1);
    rig.poller.try_once().await.unwrap();
    let before = rig.sim.token_requests();
    rig.sim.faults().expire_access_tokens();
    rig.sim.add_generated_at(2, 2, Utc::now());
    let r = rig.poller.try_once().await.unwrap();
    assert_eq!(r.new, 2);
    assert_eq!(rig.sim.token_requests(), before + 1);
}

#[tokio::test]
async fn missing_scope_names_read_notes() {
    let cfg = SimConfig {
        granted_scopes: vec!["profile".into()],
        ..sim_config(CollectionFormat::Hydra)
    };
    let mut rig = rig_with(cfg, 100).await;
    let err = rig.poller.try_once().await.unwrap_err();
    assert_eq!(err.code(), "missing_scope");
    assert!(err.to_string().contains("read:notes"), "{err}");
}

#[tokio::test]
async fn wrong_client_secret_says_so() {
    let sim = SimHandle::start(sim_config(CollectionFormat::Hydra))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("i.sqlite3"), &test_key()).unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(Utc::now()));
    let cfg = ClientConfig::new(&sim.base_url(), "askara-inbox-demo")
        .unwrap()
        .with_secret(Some("wrong".into()));
    let api = Arc::new(
        ApiClient::new(cfg, Arc::new(MemoryTokenStore::default()), clock.clone()).unwrap(),
    );
    let mut poller = Poller::new(api, inbox, SyncConfig::default(), clock);
    let err = poller.try_once().await.unwrap_err();
    assert!(
        matches!(err, SyncError::Api(ApiError::InvalidClient)),
        "{err:?}"
    );
    assert!(err.to_string().contains("client credentials"), "{err}");
}

#[tokio::test]
async fn unreachable_host_is_reported_as_such() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("i.sqlite3"), &test_key()).unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(Utc::now()));
    let cfg = ClientConfig::new(&format!("http://127.0.0.1:{port}"), "x")
        .unwrap()
        .with_secret(Some("s".into()));
    let api = Arc::new(
        ApiClient::new(cfg, Arc::new(MemoryTokenStore::default()), clock.clone()).unwrap(),
    );
    let mut poller = Poller::new(api, inbox, SyncConfig::default(), clock);
    let err = poller.try_once().await.unwrap_err();
    assert_eq!(err.code(), "unreachable");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn revised_notes_are_found_by_the_slower_pass_and_keep_the_old_content() {
    for honour_updated in [true, false] {
        let cfg = SimConfig {
            honour_updated_filter: honour_updated,
            ..sim_config(CollectionFormat::Hydra)
        };
        let mut rig = rig_with(cfg, 100).await;
        let uuids = rig.sim.add_generated(10, 1);
        rig.poller.try_once().await.unwrap();
        let before = rig.inbox.get(&uuids[3]).await.unwrap().unwrap();
        rig.sim
            .revise_note(&uuids[3], "Revised: synthetic follow-up text.");
        // Not yet due: the fast poll does not see revisions.
        let r = rig.poller.try_once().await.unwrap();
        assert!(!r.revision_pass);
        rig.clock.advance(Duration::from_secs(301));
        let r = rig.poller.try_once().await.unwrap();
        assert!(r.revision_pass);
        assert_eq!(r.revised, 1, "honour_updated={honour_updated}: {r:?}");
        let after = rig.inbox.get(&uuids[3]).await.unwrap().unwrap();
        assert_eq!(after.status, Status::Revised);
        assert_eq!(after.content, "Revised: synthetic follow-up text.");
        let versions = rig.inbox.versions(&uuids[3]).await.unwrap();
        assert_eq!(
            versions.last().map(|v| v.content.clone()),
            Some(before.content)
        );
    }
}

#[tokio::test]
async fn concurrent_requests_with_an_expired_token_refresh_once() {
    // Signed in by device code, so renewals go through the single-use refresh token.
    let sim = SimHandle::start(sim_config(CollectionFormat::Hydra))
        .await
        .unwrap();
    sim.add_generated(5, 1);
    let clock: SharedClock = Arc::new(ManualClock::new(Utc::now()));
    let cfg = ClientConfig::new(&sim.base_url(), "askara-inbox-demo").unwrap();
    let store = Arc::new(MemoryTokenStore::default());
    let api = Arc::new(ApiClient::new(cfg, store.clone(), clock).unwrap());
    let device = api.auth().start_device().await.unwrap();
    api.auth().finish_device(&device).await.unwrap();
    let saves = store.saves();
    sim.faults().expire_access_tokens();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.list_notes(&[]).await.map(|p| p.item_count) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 5);
    }
    assert_eq!(
        sim.refresh_reuse_detected(),
        0,
        "a spent refresh token was presented"
    );
    assert_eq!(store.saves(), saves + 1, "exactly one refresh, saved");

    // Revoked sign-in: the user is told to sign in again, and the dead tokens are forgotten.
    sim.faults().revoke_all_tokens();
    let err = api.list_notes(&[]).await.unwrap_err();
    assert_eq!(err.code(), askara::ErrorCode::AuthExpired);
    assert!(askara::TokenStore::load(&*store).unwrap().is_none());
}

#[tokio::test]
async fn the_loop_waits_30_to_60_s_and_backs_off_while_askara_fails() {
    let mut rig = rig_with(sim_config(CollectionFormat::Hydra), 100).await;
    for _ in 0..50 {
        let d = rig.poller.next_delay(&Ok(Default::default()));
        assert!(
            d >= Duration::from_secs(30) && d <= Duration::from_secs(60),
            "{d:?}"
        );
    }
    let fail = || Err(SyncError::Api(ApiError::ServerError { status: 503 }));
    let waits: Vec<Duration> = (0..12).map(|_| rig.poller.next_delay(&fail())).collect();
    assert!(waits[3] > waits[0] * 4, "backoff grows: {waits:?}");
    assert!(
        waits
            .iter()
            .all(|w| *w <= Duration::from_secs(900 * 12 / 10)),
        "capped: {waits:?}"
    );
    // Success resets the backoff.
    let d = rig.poller.next_delay(&Ok(Default::default()));
    assert!(d <= Duration::from_secs(60));
    let after = rig.poller.next_delay(&fail());
    assert!(after <= Duration::from_secs(60), "{after:?}");
    // A person must act: retry slowly, not hammer.
    let d = rig
        .poller
        .next_delay(&Err(SyncError::Api(ApiError::AuthExpired)));
    assert_eq!(d, Duration::from_secs(300));
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
