//! Property: whatever the collisions in `createdAt`, the page size we ask and the one the server
//! serves (honoured, capped, or `itemsPerPage` ignored), the collection shape with or without
//! totals, the offset timestamps are written in, whether the server honours the filter, and
//! whatever arrives while a sync is paging, the inbox ends with exactly the server's set of uuids.

#![allow(clippy::unwrap_used)]

use askara::{ApiClient, ClientConfig, ManualClock, MemoryTokenStore, SharedClock};
use askara_sim::{CollectionFormat, SimConfig, SimHandle};
use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use inbox::sync::{Poller, SyncConfig};
use inbox::{Inbox, ListQuery};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug, Clone)]
struct Case {
    batches: Vec<(u8, usize)>,
    arrivals: Vec<(u8, usize)>,
    page_size: usize,
    honour_filter: bool,
    format: u8,
    /// 0: itemsPerPage honoured; else the server's cap (odd: itemsPerPage ignored).
    server_page: usize,
    totals: bool,
    offset: i32,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0u8..6, 1usize..40), 1..5),
        prop::collection::vec((0u8..3, 1usize..15), 0..4),
        1usize..60,
        any::<bool>(),
        0u8..3,
        prop_oneof![Just(0usize), 1usize..60],
        any::<bool>(),
        prop_oneof![Just(0i32), Just(120), Just(-330), Just(345)],
    )
        .prop_map(
            |(batches, arrivals, page_size, honour_filter, format, server_page, totals, offset)| {
                Case {
                    batches,
                    arrivals,
                    page_size,
                    honour_filter,
                    format,
                    server_page,
                    totals,
                    offset,
                }
            },
        )
}

async fn run_case(c: Case) -> (BTreeSet<String>, Vec<String>) {
    let format = match c.format {
        0 => CollectionFormat::Hydra,
        1 => CollectionFormat::JsonLd,
        _ => CollectionFormat::Plain,
    };
    let sim = SimHandle::start(SimConfig {
        collection_format: format,
        honour_created_filter: c.honour_filter,
        honour_updated_filter: c.honour_filter,
        max_items_per_page: if c.server_page == 0 {
            100
        } else {
            c.server_page
        },
        honour_items_per_page: c.server_page.is_multiple_of(2),
        default_items_per_page: if c.server_page == 0 {
            20
        } else {
            c.server_page
        },
        include_totals: c.totals,
        utc_offset_minutes: c.offset,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // A handful of seconds only, so that many notes collide.
    let base = Utc.with_ymd_and_hms(2026, 2, 24, 10, 30, 0).unwrap();
    for (i, (sec, n)) in c.batches.iter().enumerate() {
        sim.add_generated_at(
            *n,
            i as u64,
            base + ChronoDuration::seconds(i64::from(*sec)),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("i.sqlite3"), &test_key()).unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(Utc::now()));
    let cfg = ClientConfig::new(&sim.base_url(), &sim.config().client_id)
        .unwrap()
        .with_secret(Some(sim.config().client_secret.into()));
    let api = Arc::new(
        ApiClient::new(cfg, Arc::new(MemoryTokenStore::default()), clock.clone()).unwrap(),
    );
    let mut poller = Poller::new(
        api,
        inbox.clone(),
        SyncConfig {
            page_size: c.page_size,
            seed: Some(1),
            ..SyncConfig::default()
        },
        clock,
    );
    // New notes arrive while the first sync pages: at the newest second or later.
    let arriving = {
        let sim = sim.clone();
        let arrivals = c.arrivals.clone();
        tokio::spawn(async move {
            for (i, (sec, n)) in arrivals.into_iter().enumerate() {
                tokio::task::yield_now().await;
                sim.add_generated_at(
                    n,
                    100 + i as u64,
                    base + ChronoDuration::seconds(5 + i64::from(sec)),
                );
            }
        })
    };
    poller.try_once().await.unwrap();
    arriving.await.unwrap();
    poller.try_once().await.unwrap();
    let got: Vec<String> = inbox
        .list(ListQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.uuid)
        .collect();
    let want = sim.note_uuids().into_iter().collect();
    sim.shutdown().await;
    (want, got)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn the_inbox_ends_with_exactly_the_servers_notes(c in case()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (want, got) = rt.block_on(run_case(c));
        let set: BTreeSet<String> = got.iter().cloned().collect();
        prop_assert_eq!(set.len(), got.len(), "a note was stored twice");
        prop_assert_eq!(set, want);
    }
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
