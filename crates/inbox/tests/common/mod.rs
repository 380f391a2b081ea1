//! The poller rig the sync tests share: a simulator, a fresh inbox, and a poller signed in
//! with client credentials on a manual clock.

#![allow(dead_code, clippy::unwrap_used)]

use askara::{ApiClient, ClientConfig, ManualClock, MemoryTokenStore, SharedClock};
use askara_sim::{SimConfig, SimHandle};
use chrono::Utc;
use inbox::sync::{Poller, SyncConfig};
use inbox::{Inbox, InboxStore, ListQuery};
use std::sync::Arc;

pub struct Rig {
    pub sim: SimHandle,
    pub inbox: Inbox,
    pub poller: Poller,
    pub clock: ManualClock,
    pub _dir: tempfile::TempDir,
}

pub async fn rig_with(cfg: SimConfig, page_size: usize) -> Rig {
    rig_with_store(cfg, page_size, |inbox| Arc::new(inbox)).await
}

/// The rig with the poller writing through `store` (given the rig's inbox to wrap).
pub async fn rig_with_store(
    cfg: SimConfig,
    page_size: usize,
    store: impl FnOnce(Inbox) -> Arc<dyn InboxStore>,
) -> Rig {
    let sim = SimHandle::start(cfg.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("inbox.sqlite3"), &test_key()).unwrap();
    let clock = ManualClock::new(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let api_cfg = ClientConfig::new(&sim.base_url(), &cfg.client_id)
        .unwrap()
        .with_secret(Some(cfg.client_secret.clone().into()));
    let api = Arc::new(
        ApiClient::new(
            api_cfg,
            Arc::new(MemoryTokenStore::default()),
            shared.clone(),
        )
        .unwrap(),
    );
    let sync_cfg = SyncConfig {
        page_size,
        seed: Some(7),
        ..SyncConfig::default()
    };
    let poller = Poller::with_store(api, store(inbox.clone()), sync_cfg, shared);
    Rig {
        sim,
        inbox,
        poller,
        clock,
        _dir: dir,
    }
}

pub async fn inbox_uuids(inbox: &Inbox) -> Vec<String> {
    inbox
        .list(ListQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.uuid)
        .collect()
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
