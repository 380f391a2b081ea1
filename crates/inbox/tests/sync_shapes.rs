//! The poller against every page shape a real Askara (API Platform) may serve: plain arrays,
//! Hydra with and without totals, `member` vs `hydra:member`, `itemsPerPage` honoured, capped
//! or ignored, `page` ignored, seconds holding 1, 60 and 250 notes, notes arriving mid-walk,
//! and timestamps in offsets other than UTC. The invariant: after one full sync that returns
//! Ok, the inbox holds exactly the server's set of notes.

#![allow(clippy::unwrap_used)]

mod common;

use askara_sim::{CollectionFormat, SimConfig, SimHandle};
use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use common::{inbox_uuids, rig_with, Rig};
use inbox::sync::{Incomplete, PollReport, SyncError};
use std::collections::BTreeSet;

/// How the server pages.
#[derive(Debug, Clone, Copy)]
enum Paging {
    /// `itemsPerPage` honoured up to 100.
    Honoured,
    /// `itemsPerPage` honoured up to this cap.
    Capped(usize),
    /// `itemsPerPage` ignored: every page holds this many (API Platform's default is 30).
    Fixed(usize),
}

fn shape(format: CollectionFormat, totals: bool, paging: Paging, offset: i32) -> SimConfig {
    let mut cfg = SimConfig {
        collection_format: format,
        include_totals: totals,
        utc_offset_minutes: offset,
        rate_limit: None,
        ..SimConfig::default()
    };
    match paging {
        Paging::Honoured => {}
        Paging::Capped(n) => cfg.max_items_per_page = n,
        Paging::Fixed(n) => {
            cfg.honour_items_per_page = false;
            cfg.default_items_per_page = n;
        }
    }
    cfg
}

async fn assert_exactly_the_servers_notes(rig: &Rig, what: &str) {
    assert_exactly(rig, &BTreeSet::new(), what).await;
}

/// The inbox holds the server's notes but `except`, each once.
async fn assert_exactly(rig: &Rig, except: &BTreeSet<String>, what: &str) {
    let got = inbox_uuids(&rig.inbox).await;
    let set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "{what}: a note was stored twice");
    let want: BTreeSet<_> = rig
        .sim
        .note_uuids()
        .into_iter()
        .filter(|u| !except.contains(u))
        .collect();
    let missing = want.difference(&set).count();
    let extra = set.difference(&want).count();
    assert!(
        missing == 0 && extra == 0,
        "{what}: {missing} of {} notes missing, {extra} extra",
        want.len()
    );
}

#[tokio::test]
async fn a_second_of_250_notes_as_a_plain_array_capped_at_30_arrives_in_one_sync() {
    let mut rig = rig_with(
        shape(CollectionFormat::Plain, true, Paging::Fixed(30), 0),
        100,
    )
    .await;
    rig.sim.add_generated(40, 1);
    let second = Utc::now() - ChronoDuration::seconds(30);
    rig.sim.add_generated_at(250, 2, second);
    let report = rig.poller.try_full().await.unwrap();
    assert_eq!(report.new, 290, "{report:?}");
    assert_eq!(report.server_page_size, Some(30), "{report:?}");
    assert_exactly_the_servers_notes(&rig, "plain, 30 a page").await;

    // The next poll re-reads the watermark's second (more than a page) to its end, and still
    // finds nothing new: no note is fetched twice into the inbox, none is skipped.
    rig.sim.add_generated_at(7, 3, second);
    let again = rig.poller.try_full().await.unwrap();
    assert_eq!(again.new, 7, "{again:?}");
    assert_exactly_the_servers_notes(&rig, "plain, 30 a page, again").await;
}

#[tokio::test]
async fn the_reported_case_plain_array_capped_at_50_with_157_in_one_second() {
    let mut rig = rig_with(
        shape(CollectionFormat::Plain, true, Paging::Capped(50), 0),
        100,
    )
    .await;
    let now = Utc::now();
    let second = now - ChronoDuration::nanoseconds(i64::from(now.timestamp_subsec_nanos()));
    rig.sim.add_generated_at(157, 5, second);
    let report = rig.poller.try_full().await.unwrap();
    assert_eq!(report.new, 157, "{report:?}");
    assert_exactly_the_servers_notes(&rig, "plain, cap 50").await;
}

#[tokio::test]
async fn every_shape_every_collision_every_offset() {
    let formats = [
        CollectionFormat::Hydra,
        CollectionFormat::JsonLd,
        CollectionFormat::Plain,
    ];
    let pagings = [
        Paging::Honoured,
        Paging::Capped(20),
        Paging::Fixed(30),
        Paging::Capped(50),
    ];
    let offsets = [0, 120, -330];
    let base = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
    let mut case = 0u64;
    for format in formats {
        for totals in [true, false] {
            for paging in pagings {
                for per_second in [1usize, 60, 250] {
                    case += 1;
                    let offset = offsets[case as usize % offsets.len()];
                    let what = format!(
                        "{format:?} totals={totals} {paging:?} {per_second}/s offset={offset}"
                    );
                    let mut rig = rig_with(shape(format, totals, paging, offset), 100).await;
                    // Older notes a minute apart, then three seconds holding `per_second`
                    // notes each.
                    for k in 0..25u64 {
                        rig.sim.add_generated_at(
                            1,
                            case * 100 + k,
                            base - ChronoDuration::minutes(30 - k as i64),
                        );
                    }
                    for s in 0..3u64 {
                        rig.sim.add_generated_at(
                            per_second,
                            case * 100 + 50 + s,
                            base + ChronoDuration::seconds(s as i64),
                        );
                    }
                    // While the sync pages, more notes arrive in the newest second and later.
                    let mid_walk = [
                        (
                            1,
                            rig.sim.add_generated_after_lists(
                                1,
                                9,
                                case * 100 + 60,
                                base + ChronoDuration::seconds(2),
                            ),
                        ),
                        (
                            2,
                            rig.sim.add_generated_after_lists(
                                2,
                                4,
                                case * 100 + 61,
                                base + ChronoDuration::seconds(3),
                            ),
                        ),
                    ];
                    let report: PollReport = rig
                        .poller
                        .try_full()
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert!(report.new > 0, "{what}");
                    // Notes that arrived after a sync had read its last note are the next
                    // sync's (the watermark's second is re-read). A plain array's walk ends
                    // with an empty page: what arrived after the page before it came late.
                    for round in 1..=3 {
                        let mut served = last_catch_up_listing(&rig.sim);
                        if format == CollectionFormat::Plain {
                            served -= 1;
                        }
                        let late: BTreeSet<String> = mid_walk
                            .iter()
                            .filter(|(after, _)| *after >= served)
                            .flat_map(|(_, u)| u.iter().cloned())
                            .collect();
                        assert_exactly(&rig, &late, &format!("{what}, sync {round}")).await;
                        if late.is_empty() {
                            break;
                        }
                        rig.poller
                            .try_full()
                            .await
                            .unwrap_or_else(|e| panic!("{what}, sync {}: {e}", round + 1));
                    }
                    rig.sim.shutdown().await;
                }
            }
        }
    }
}

#[tokio::test]
async fn a_server_ignoring_page_is_reported_never_looped_on() {
    for format in [CollectionFormat::Plain, CollectionFormat::Hydra] {
        let mut cfg = shape(format, false, Paging::Fixed(30), 0);
        cfg.honour_page = false;
        let mut rig = rig_with(cfg, 100).await;
        rig.sim.add_generated(95, 8);
        let err = rig.poller.try_full().await.unwrap_err();
        assert!(
            matches!(
                err,
                SyncError::Incomplete(Incomplete::PageIgnored { page: 2 })
            ),
            "{format:?}: {err:?}"
        );
        assert_eq!(err.code(), "incomplete");
        let msg = err.to_string();
        assert!(msg.contains("ignores the `page` parameter"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        // Two listings, not a loop; the first page is kept.
        assert_eq!(rig.sim.lists_served(), 2, "{format:?}");
        assert_eq!(inbox_uuids(&rig.inbox).await.len(), 30, "{format:?}");
    }
}

#[tokio::test]
async fn a_short_page_without_metadata_is_not_the_end_but_an_empty_one_is() {
    let mut rig = rig_with(
        shape(CollectionFormat::Plain, true, Paging::Capped(20), 0),
        100,
    )
    .await;
    rig.sim.add_generated(45, 9);
    let r = rig.poller.try_full().await.unwrap();
    assert_eq!(r.new, 45);
    assert_eq!(r.server_page_size, Some(20), "{r:?}");

    // Now that the server's page size is known: 20 + 20 + the rest (with the re-read
    // watermark second), then the empty page that ends the walk. Nothing else.
    let before = rig.sim.lists_served();
    rig.sim.add_generated_at(45, 10, Utc::now());
    let r = rig.poller.try_once().await.unwrap();
    assert_eq!(r.new, 45);
    assert_eq!(rig.sim.lists_served() - before, 4, "{r:?}");

    // With Hydra totals the last page says so: no empty page needed.
    let mut rig = rig_hydra_capped().await;
    rig.sim.add_generated(45, 9);
    rig.poller.try_full().await.unwrap();
    assert_eq!(rig.sim.lists_served(), 3);
}

async fn rig_hydra_capped() -> Rig {
    rig_with(
        shape(CollectionFormat::Hydra, true, Paging::Capped(20), 0),
        100,
    )
    .await
}

/// The number of `GET /notes` listings answered up to the last one of a catch-up walk (ordered
/// by `createdAt`; the revision pass orders by `updatedAt`).
fn last_catch_up_listing(sim: &SimHandle) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/notes")
        .enumerate()
        .filter(|(_, r)| {
            r.query.as_deref().is_some_and(|q| {
                q.contains("order%5BcreatedAt%5D") || q.contains("order[createdAt]")
            })
        })
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0)
}

/// An inbox store that fails its `fail_at`-th ingest, as a shared store that goes away in the
/// middle of a walk would; everything else goes to the real inbox.
struct FailingStore {
    inner: inbox::Inbox,
    ingests: std::sync::atomic::AtomicUsize,
    fail_at: usize,
}

#[async_trait::async_trait]
impl inbox::InboxStore for FailingStore {
    async fn ingest_from(
        &self,
        notes: Vec<askara::Note>,
        origin: inbox::Origin,
        sync_state: Vec<(String, String)>,
    ) -> Result<inbox::IngestReport, inbox::InboxError> {
        let n = self
            .ingests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if n == self.fail_at {
            return Err(inbox::InboxError::Task("the store went away".into()));
        }
        self.inner.ingest_from(notes, origin, sync_state).await
    }
    async fn sync_state(&self, key: &str) -> Result<Option<String>, inbox::InboxError> {
        self.inner.sync_state(key).await
    }
    async fn set_sync_state(&self, pairs: Vec<(String, String)>) -> Result<(), inbox::InboxError> {
        self.inner.set_sync_state(pairs).await
    }
    async fn list(&self, q: inbox::ListQuery) -> Result<Vec<inbox::NoteRecord>, inbox::InboxError> {
        self.inner.list(q).await
    }
    async fn search_detailed(
        &self,
        text: &str,
        q: inbox::SearchQuery,
    ) -> Result<inbox::SearchResults, inbox::InboxError> {
        self.inner.search_detailed(text, q).await
    }
    async fn get(&self, uuid: &str) -> Result<Option<inbox::NoteRecord>, inbox::InboxError> {
        self.inner.get(uuid).await
    }
    async fn set_status(
        &self,
        uuid: &str,
        to: inbox::Status,
        actor: &str,
    ) -> Result<inbox::StatusChange, inbox::InboxError> {
        self.inner.set_status(uuid, to, actor).await
    }
    async fn set_statuses(
        &self,
        uuids: Vec<String>,
        to: inbox::Status,
        actor: &str,
    ) -> Result<Vec<Result<inbox::StatusChange, inbox::InboxError>>, inbox::InboxError> {
        self.inner.set_statuses(uuids, to, actor).await
    }
    async fn note_facets(&self) -> Result<inbox::NoteFacets, inbox::InboxError> {
        self.inner.note_facets().await
    }
    async fn record_imports(
        &self,
        attempts: Vec<inbox::ImportAttempt>,
        actor: &str,
    ) -> Result<usize, inbox::InboxError> {
        self.inner.record_imports(attempts, actor).await
    }
    async fn record_read(&self, uuid: &str, actor: &str) -> Result<bool, inbox::InboxError> {
        self.inner.record_read(uuid, actor).await
    }
    async fn record_bulk_read(
        &self,
        uuids: Vec<String>,
        actor: &str,
    ) -> Result<usize, inbox::InboxError> {
        self.inner.record_bulk_read(uuids, actor).await
    }
    async fn verify_audit(&self) -> Result<inbox::AuditCheck, inbox::InboxError> {
        self.inner.verify_audit().await
    }
    async fn audit_log(
        &self,
        uuid: Option<String>,
        limit: usize,
    ) -> Result<Vec<inbox::AuditEvent>, inbox::InboxError> {
        self.inner.audit_log(uuid, limit).await
    }
    async fn counts(
        &self,
    ) -> Result<std::collections::BTreeMap<inbox::Status, u64>, inbox::InboxError> {
        self.inner.counts().await
    }
    async fn versions(&self, uuid: &str) -> Result<Vec<inbox::NoteVersion>, inbox::InboxError> {
        self.inner.versions(uuid).await
    }
    async fn patients(
        &self,
        text: Option<String>,
        limit: usize,
    ) -> Result<Vec<inbox::PatientSummary>, inbox::InboxError> {
        self.inner.patients(text, limit).await
    }
    async fn prune(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
        actor: &str,
    ) -> Result<inbox::PruneReport, inbox::InboxError> {
        self.inner.prune(cutoff, actor).await
    }
}

#[tokio::test]
async fn a_store_failing_mid_walk_loses_nothing_and_the_next_poll_completes() {
    let rig = common::rig_with_store(SimConfig::default(), 50, |inbox| {
        std::sync::Arc::new(FailingStore {
            inner: inbox,
            ingests: Default::default(),
            fail_at: 3,
        })
    })
    .await;
    let all: BTreeSet<String> = rig.sim.add_generated(250, 91).into_iter().collect();
    let mut poller = rig.poller;
    // Pages 1 and 2 are stored, page 3 fails: the poll says so, and only whole pages are in.
    let e = poller.try_full().await.unwrap_err();
    assert!(matches!(e, SyncError::Inbox(_)), "{e}");
    let after_failure = inbox_uuids(&rig.inbox).await;
    assert_eq!(after_failure.len(), 100);
    // The next poll (the store is back) reads on from what was stored, to exactly the set.
    poller.try_full().await.unwrap();
    let got: BTreeSet<String> = inbox_uuids(&rig.inbox).await.into_iter().collect();
    assert_eq!(got, all);
}
