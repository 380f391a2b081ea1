//! One walk over Askara's notes: pages read oldest first until paging metadata says the
//! last page or a page is empty, the server's real page size learned, a page that repeats
//! page 1 reported, and the newest second re-read when notes arrived mid-walk.

#[allow(unused_imports)]
use super::*;

/// A walk longer than this is taken as a server that never ends its pages.
pub(super) const MAX_PAGES: usize = 100_000;
/// Re-reads from the newest second after notes arrived mid-walk, at most.
pub(super) const MAX_TAIL_PASSES: usize = 4;

/// What a walk carries from one pass to the next.
pub(super) struct WalkState {
    seen: HashSet<String>,
    ordered: bool,
    high: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub(super) struct PassOutcome {
    /// The pass read to the end the server gave.
    complete: bool,
    /// Notes not seen before in this walk.
    fresh: usize,
    /// A short page was followed by more notes: some arrived while paging, and page offsets
    /// may have stepped over others.
    stepped_over: bool,
}

impl Poller {
    /// Pages through one query oldest first, ingesting each page with the watermark it reached.
    ///
    /// It stops only when the server says a page is the last (paging metadata without a next
    /// link, or the total reached) or a page comes back empty: a page without metadata that is
    /// shorter than asked is not the end, since servers cap page sizes and ignore
    /// `itemsPerPage`. A page repeating the first one means the server ignores `page`: that is
    /// an error, never a loop or a silent truncation. When a short page was followed by more
    /// notes (notes arrived while paging, and page offsets may have stepped over some), the
    /// walk reads on from the newest second it reached, until a pass finds nothing new.
    pub(super) async fn walk(
        &self,
        base_query: &[(String, String)],
        watermark_key: Option<&str>,
        from: Option<DateTime<Utc>>,
        key: fn(&Note) -> DateTime<Utc>,
        stop_if_filter_ignored: bool,
        report: &mut PollReport,
    ) -> Result<(), SyncError> {
        let mut w = WalkState {
            seen: HashSet::new(),
            ordered: true,
            high: match watermark_key {
                Some(k) => self.read_instant(k).await?,
                None => None,
            },
        };
        let start_second = w.high.map(|h| h.trunc_subsecs(0));
        let filter_key = base_query
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| *k == self.cfg.created_filter || *k == self.cfg.updated_filter)
            .unwrap_or(&self.cfg.created_filter)
            .to_string();
        let mut query = base_query.to_vec();
        let mut pass_from = from;
        let mut complete = false;
        for pass in 0..MAX_TAIL_PASSES {
            let outcome = self
                .walk_pass(
                    &query,
                    watermark_key,
                    pass_from,
                    start_second.filter(|_| pass == 0),
                    key,
                    stop_if_filter_ignored,
                    &mut w,
                    report,
                )
                .await?;
            complete = outcome.complete;
            let reread =
                outcome.complete && outcome.stepped_over && (pass == 0 || outcome.fresh > 0);
            let (Some(high), true) = (w.high, reread) else {
                break;
            };
            let second = high.trunc_subsecs(0);
            query.retain(|(k, _)| *k != filter_key);
            query.push((filter_key.clone(), fmt_instant(second)));
            pass_from = Some(second);
        }
        if complete && !w.ordered {
            if let (Some(h), Some(k)) = (w.high, watermark_key) {
                // The walk read to its end, so every note up to `high` is in.
                self.inbox
                    .set_sync_state(vec![(k.to_string(), fmt_instant_precise(h))])
                    .await?;
            }
        }
        if report.filter_ignored {
            tracing::warn!(
                filter = %self.cfg.created_filter,
                "Askara returned notes outside the requested filter; polling costs more requests"
            );
        }
        Ok(())
    }

    /// One pass of [`Poller::walk`]: one query, page after page.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn walk_pass(
        &self,
        query: &[(String, String)],
        watermark_key: Option<&str>,
        from: Option<DateTime<Utc>>,
        start_second: Option<DateTime<Utc>>,
        key: fn(&Note) -> DateTime<Utc>,
        stop_if_filter_ignored: bool,
        w: &mut WalkState,
        report: &mut PollReport,
    ) -> Result<PassOutcome, SyncError> {
        let size = self.cfg.page_size;
        let mut seen_in_run = 0u64;
        let mut last: Option<DateTime<Utc>> = None;
        let mut first_page: Vec<String> = Vec::new();
        let mut out = PassOutcome::default();
        let mut previous_items = 0usize;
        let mut previous_short = false;
        let mut max_items = 0usize;
        let fetch = |page: usize| {
            let mut query = query.to_vec();
            query.push(("itemsPerPage".into(), size.to_string()));
            query.push(("page".into(), page.to_string()));
            let api = self.api.clone();
            tokio::spawn(async move { api.list_notes(&query).await })
        };
        let mut pending = fetch(1);
        for page in 1usize.. {
            let p = (&mut pending)
                .await
                .map_err(|e| ApiError::bad_response(format!("page fetch task: {e}")))??;
            report.pages += 1;
            if p.item_count == 0 {
                out.complete = true;
                break;
            }
            let uuids: Vec<String> = p.notes.iter().map(|n| n.uuid.clone()).collect();
            if page == 1 {
                first_page = uuids.clone();
            } else if !uuids.is_empty() && uuids == first_page {
                return Err(SyncError::Incomplete(Incomplete::PageIgnored { page }));
            }
            if page >= MAX_PAGES {
                return Err(SyncError::Incomplete(Incomplete::TooManyPages {
                    pages: page,
                }));
            }
            out.fresh += uuids
                .into_iter()
                .filter(|u| w.seen.insert(u.clone()))
                .count();
            if previous_short {
                out.stepped_over = true;
            }
            // A page without metadata short of a full one (the fullest yet, the server's
            // learned size, else what we ask) was the end when served: notes after it arrived
            // while paging. (Metadata would have said it was the last.)
            max_items = max_items.max(p.item_count);
            previous_short =
                !p.paginated && (p.item_count < max_items || p.item_count < self.full_page_size());
            seen_in_run += p.item_count as u64;
            report.unreadable += p.unreadable;
            for n in &p.notes {
                let k = key(n);
                if last.is_some_and(|l| k < l) {
                    w.ordered = false;
                }
                if from.is_some_and(|f| k < f) {
                    report.filter_ignored = true;
                }
                last = Some(last.map_or(k, |l| l.max(k)));
                w.high = Some(w.high.map_or(k, |h| h.max(k)));
            }
            if page > 1 {
                // The page before this one was followed by more: it was a full page.
                self.learn_page_size(previous_items);
            }
            previous_items = p.item_count;
            let more = if p.paginated {
                let said_more = p.next.is_some() || p.total.is_some_and(|t| seen_in_run < t);
                // Metadata that says "last" while the walk never left the second it started
                // in, on a full page, is not trusted: the rest of that second is read too.
                let stalled = start_second.is_some()
                    && w.high.map(|h| h.trunc_subsecs(0)) == start_second
                    && p.item_count >= self.full_page_size();
                said_more || stalled
            } else {
                true
            };
            // Out of order pages could hide older notes behind later pages: only move the
            // watermark once the whole walk is done.
            let state = match (w.ordered, w.high, watermark_key) {
                (true, Some(h), Some(k)) => vec![(k.to_string(), fmt_instant_precise(h))],
                _ => Vec::new(),
            };
            let stop = !more || (stop_if_filter_ignored && report.filter_ignored);
            // The next page downloads while this one is written.
            if !stop {
                pending = fetch(page + 1);
            }
            let ingested = self
                .inbox
                .ingest_from(p.notes, Origin::verified(Source::Poll), state)
                .await;
            let ingested = match ingested {
                Ok(r) => r,
                Err(e) => {
                    pending.abort();
                    return Err(e.into());
                }
            };
            report.add(&ingested);
            if stop {
                out.complete = !more;
                break;
            }
        }
        Ok(out)
    }

    /// Records that the server put `items` notes on a page that was not its last.
    pub(super) fn learn_page_size(&self, items: usize) {
        if items > 0 {
            self.server_page.fetch_max(items, Ordering::Relaxed);
        }
    }

    /// The most notes the server was seen to put on one page, if it ever filled one.
    pub fn learned_page_size(&self) -> Option<usize> {
        Some(self.server_page.load(Ordering::Relaxed)).filter(|n| *n > 0)
    }

    /// What counts as a full page: the server's own page size once learned, else what we ask.
    pub(super) fn full_page_size(&self) -> usize {
        self.learned_page_size()
            .unwrap_or(self.cfg.page_size)
            .min(self.cfg.page_size)
    }
}
