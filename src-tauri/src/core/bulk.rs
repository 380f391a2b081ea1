//! Filtering the list (dates, type, author, with status and search) and acting on many notes
//! at once: review or dismiss in one inbox transaction, import through the one import path
//! (`app::importing`), each note exactly once with its own result.

#[allow(unused_imports)]
use super::*;
use app::importing::BulkImport;
use inbox::{DateBound, NoteFilter};

/// The list's filters as the UI sends them: dates as `YYYY-MM-DD` (a local day, `until`
/// included) or RFC 3339, type and author exactly as [`FacetsView`] gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct FilterArgs {
    pub since: Option<String>,
    pub until: Option<String>,
    pub note_type: Option<String>,
    pub author: Option<String>,
    /// Only notes in "Needs patient".
    #[serde(default)]
    pub needs_patient: bool,
}

impl FilterArgs {
    fn to_filter(&self) -> Result<NoteFilter, CmdError> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let (since, until) = (given(&self.since), given(&self.until));
        let (since, before) = DateBound::range(since.as_deref(), until.as_deref(), &chrono::Local)
            .map_err(|e| {
                // The inbox speaks of the CLI's flags; the window has "From" and "To".
                let m = e.to_string();
                CmdError::new(
                    "invalid_date",
                    m.replace("--since", "From").replace("--until", "To"),
                )
            })?;
        Ok(NoteFilter {
            since,
            before,
            note_type: given(&self.note_type),
            author: given(&self.author),
            needs_patient: self.needs_patient,
        })
    }
}

/// One choice of the type filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TypeChoice {
    /// As Askara names it, what the filter matches.
    pub value: String,
    /// As the list shows it.
    pub label: String,
}

/// What the type and author filters can choose from: the values of the notes present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct FacetsView {
    pub note_types: Vec<TypeChoice>,
    /// Askara user ids.
    pub authors: Vec<String>,
}

/// One note's outcome in a bulk review or dismissal.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BulkStatusView {
    pub uuid: String,
    /// The status before (what undo restores); `None` when the note was not found.
    pub from: Option<views::NoteStatus>,
    /// False when it already had that status, or was refused (`error`).
    pub changed: bool,
    pub error: Option<CmdError>,
}

impl Core {
    /// The list, filtered by dates, type and author as well as status and patient.
    pub async fn list_filtered(
        &self,
        status: Option<String>,
        patient: Option<String>,
        filter: Option<FilterArgs>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<NoteRow>, CmdError> {
        self.unlocked()?;
        let q = ListQuery {
            status: super::notes::parse_status(status)?,
            patient_uuid: patient,
            limit: Some(limit.min(1000)),
            offset,
            filter: filter.unwrap_or_default().to_filter()?,
        };
        Ok(self
            .inbox
            .list(q)
            .await?
            .iter()
            .map(NoteRow::from)
            .collect())
    }

    /// Search, filtered by dates, type and author as well as status and patient.
    pub async fn search_filtered(
        &self,
        text: &str,
        status: Option<String>,
        patient: Option<String>,
        filter: Option<FilterArgs>,
        limit: usize,
    ) -> Result<Vec<NoteRow>, CmdError> {
        self.unlocked()?;
        let matcher = inbox::Matcher::new(text);
        let q = SearchQuery {
            status: super::notes::parse_status(status)?,
            patient_uuid: patient,
            limit: limit.min(1000),
            filter: filter.unwrap_or_default().to_filter()?,
            ..Default::default()
        };
        Ok(self
            .inbox
            .search_detailed(text, q)
            .await?
            .notes
            .iter()
            .map(|n| match &matcher {
                Some(m) => NoteRow::found(n, m),
                None => NoteRow::from(n),
            })
            .collect())
    }

    /// The note types and authors present, for the filter choices.
    pub async fn facets(&self) -> Result<FacetsView, CmdError> {
        self.unlocked()?;
        let f = self.inbox.note_facets().await?;
        Ok(FacetsView {
            note_types: f
                .note_types
                .into_iter()
                .map(|t| TypeChoice {
                    label: views::type_label(Some(&t)),
                    value: t,
                })
                .collect(),
            authors: f.authors,
        })
    }

    /// Reviewed, dismissed, or back (undo) for many notes in one inbox transaction, one audit
    /// row per note; each note's previous status comes back for undo.
    pub async fn set_statuses(
        &self,
        uuids: Vec<String>,
        status: &str,
    ) -> Result<Vec<BulkStatusView>, CmdError> {
        self.unlocked()?;
        let to: Status = status.parse()?;
        let mut distinct = std::collections::HashSet::new();
        let uuids: Vec<String> = uuids
            .into_iter()
            .filter(|u| distinct.insert(u.clone()))
            .collect();
        let results = self
            .inbox
            .set_statuses(uuids.clone(), to, &self.who().actor)
            .await?;
        self.notes_changed("status").await;
        // One result per distinct uuid, in the order given.
        let views: Vec<BulkStatusView> = uuids
            .into_iter()
            .zip(results)
            .map(|(uuid, r)| match r {
                Ok(c) => BulkStatusView {
                    uuid,
                    from: Some(c.from.into()),
                    changed: c.changed,
                    error: None,
                },
                Err(e) => BulkStatusView {
                    uuid,
                    from: match &e {
                        inbox::InboxError::InvalidTransition { from, .. } => Some((*from).into()),
                        _ => None,
                    },
                    changed: false,
                    error: Some(e.into()),
                },
            })
            .collect();
        tracing::info!(
            notes = views.len(),
            changed = views.iter().filter(|v| v.changed).count(),
            to = to.as_str(),
            "bulk status change"
        );
        Ok(views)
    }

    /// Imports many notes into the practice database through the one import path
    /// (`app::importing::import_by_uuid` → `import_notes`): each note exactly once, every
    /// attempt audited, one result per note (imported, unchanged, conflict or error with its
    /// message). A conflict is never overwritten here: that is the single note's choice.
    pub async fn import_notes(&self, uuids: Vec<String>) -> Result<Vec<ImportView>, CmdError> {
        self.unlocked()?;
        let _in_flight = self.imports.read().await;
        let failed =
            |uuid: String, target: &str, e: CmdError| ImportView::failed(uuid, target.into(), e);
        let mut distinct = std::collections::HashSet::new();
        let uuids: Vec<String> = uuids
            .into_iter()
            .filter(|u| distinct.insert(u.clone()))
            .collect();
        let views: Vec<ImportView> = match self.target().await {
            Err(e) => {
                let shown = TargetSpec::parse(&self.settings().import_target)
                    .map(|t| t.display())
                    .unwrap_or_default();
                uuids
                    .into_iter()
                    .map(|u| failed(u, &shown, e.clone()))
                    .collect()
            }
            Ok((shown, target)) => {
                let opts = ImportOptions {
                    allow_update: false,
                    dry_run: false,
                };
                match importing::import_by_uuid(
                    self.inbox.as_ref(),
                    target.as_ref(),
                    &uuids,
                    opts,
                    &self.who(),
                )
                .await
                {
                    Ok(items) => {
                        let lost = items.iter().any(|i| {
                            matches!(i, BulkImport::Attempted(a)
                                if a.outcome.as_ref().is_err_and(|e| e.is_connection_loss()))
                        });
                        if lost {
                            // Reconnect next time, as a single import does.
                            self.target.lock().await.take();
                        }
                        items
                            .into_iter()
                            .map(|item| match item {
                                BulkImport::Attempted(a) => ImportView::from_attempt(a),
                                BulkImport::Skipped { uuid, error } => {
                                    failed(uuid, &shown, error.into())
                                }
                            })
                            .collect()
                    }
                    // The target could not take the batch at all (the connection went): each
                    // note says so; importing again shows what reached it as `unchanged`.
                    Err(e) => {
                        let e: CmdError = e.into();
                        self.target.lock().await.take();
                        uuids
                            .into_iter()
                            .map(|u| failed(u, &shown, e.clone()))
                            .collect()
                    }
                }
            }
        };
        tracing::info!(
            notes = views.len(),
            imported = views
                .iter()
                .filter(|v| v.result == app::importing::AttemptResult::Imported)
                .count(),
            "bulk import"
        );
        for v in &views {
            self.shell
                .emit("import-result", serde_json::to_value(v).unwrap_or_default());
        }
        self.notes_changed("import").await;
        Ok(views)
    }
}

/// 50 notes of one type are found by the type filter, reviewed in one action, imported once
/// each and imported again (50 unchanged); the idle lock refuses every one of these commands.
/// The demo core against its simulator, without a window.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{Core, FilterArgs, Shell};
    use crate::notify::Notification;
    use crate::views::NoteStatus;
    use app::importing::AttemptResult;
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    #[derive(Default)]
    struct Recorder {
        events: Mutex<Vec<(String, Value)>>,
    }

    impl Shell for Recorder {
        fn emit(&self, event: &str, payload: Value) {
            let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            events.push((event.to_string(), payload));
        }
        fn set_title(&self, _: &str) {}
        fn notify(&self, _: &Notification) {}
        fn restart(&self) {}
    }

    impl Recorder {
        fn count(&self, event: &str) -> usize {
            let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            events.iter().filter(|(e, _)| e == event).count()
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

    fn note(uuid: &str, ty: &str, created: &str) -> Value {
        json!({
            "uuid": uuid,
            "type": ty,
            "content": format!("Letter {uuid}: follow-up in two weeks."),
            "createdAt": created,
            "updatedAt": created,
            "patient": {"uuid": format!("p-{uuid}"), "firstName": "Åse", "lastName": "Brønstad"},
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_notes_filtered_reviewed_and_imported_once_each() {
        let shell = Arc::new(Recorder::default());
        let core = Core::open_demo(Duration::from_secs(3600), 5, shell.clone())
            .await
            .unwrap();
        // Before the first sync, so it reads them all: 50 letters of one type today, 3 old ones.
        let sim = core.demo().unwrap().sim.clone();
        let today = chrono::Utc::now() - chrono::Duration::hours(1);
        for i in 0..50 {
            let at = (today - chrono::Duration::minutes(i)).format("%Y-%m-%dT%H:%M:%S+00:00");
            sim.add_note(note(
                &format!("bulk-{i:02}"),
                "bulk_letter",
                &at.to_string(),
            ));
        }
        for (i, day) in ["2019-06-03", "2019-06-14", "2019-06-28"]
            .iter()
            .enumerate()
        {
            sim.add_note(note(
                &format!("old-{i}"),
                "old_letter",
                &format!("{day}T12:00:00Z"),
            ));
        }
        core.start().await;
        core.sign_in_start().await.unwrap();
        eventually("the first sync", || async {
            core.counts().await.map(|c| c.all).unwrap_or(0) == 58
        })
        .await;

        // The type filter offers what is present, and finds exactly the 50.
        let facets = core.facets().await.unwrap();
        let bulk = facets
            .note_types
            .iter()
            .find(|t| t.value == "bulk_letter")
            .unwrap();
        assert_eq!(bulk.label, "Bulk letter");
        let of_type = FilterArgs {
            note_type: Some("bulk_letter".into()),
            ..Default::default()
        };
        let rows = core
            .list_filtered(None, None, Some(of_type.clone()), 0, 1000)
            .await
            .unwrap();
        assert_eq!(rows.len(), 50);
        let uuids: Vec<String> = rows.iter().map(|r| r.uuid.clone()).collect();
        assert!(uuids.iter().all(|u| u.starts_with("bulk-")));
        // With search, and with status.
        let found = core
            .search_filtered("follow", None, None, Some(of_type.clone()), 1000)
            .await
            .unwrap();
        assert_eq!(found.len(), 50);
        assert!(core
            .list_filtered(
                Some("reviewed".into()),
                None,
                Some(of_type.clone()),
                0,
                1000
            )
            .await
            .unwrap()
            .is_empty());
        // A date range narrows the list; a date that cannot be read is an error with its code.
        let june = FilterArgs {
            since: Some("2019-06-01".into()),
            until: Some("2019-06-20".into()),
            ..Default::default()
        };
        let old = core
            .list_filtered(None, None, Some(june), 0, 1000)
            .await
            .unwrap();
        assert_eq!(
            old.iter().map(|r| r.uuid.as_str()).collect::<Vec<_>>(),
            ["old-1", "old-0"]
        );
        let bad = FilterArgs {
            since: Some("June".into()),
            ..Default::default()
        };
        let e = core
            .list_filtered(None, None, Some(bad), 0, 10)
            .await
            .unwrap_err();
        assert_eq!(e.code, "invalid_date");
        assert!(e.message.starts_with("From `June`"), "{}", e.message);

        // Locked: every filter and bulk command refuses, and nothing moves.
        core.set_pin("2468".into()).await.unwrap();
        core.lock_now();
        for code in [
            core.facets().await.unwrap_err().code,
            core.list_filtered(None, None, Some(of_type.clone()), 0, 10)
                .await
                .unwrap_err()
                .code,
            core.set_statuses(uuids.clone(), "reviewed")
                .await
                .unwrap_err()
                .code,
            core.import_notes(uuids.clone()).await.unwrap_err().code,
        ] {
            assert_eq!(code, "locked");
        }
        core.unlock("2468".into()).await.unwrap();
        assert_eq!(core.counts().await.unwrap().reviewed, 0);

        // Review all 50 in one action: one result and one audit row each.
        let reviewed = core.set_statuses(uuids.clone(), "reviewed").await.unwrap();
        assert_eq!(reviewed.len(), 50);
        assert!(reviewed
            .iter()
            .all(|r| r.changed && r.from == Some(NoteStatus::New) && r.error.is_none()));
        assert_eq!(core.counts().await.unwrap().reviewed, 50);
        let audit = core
            .inbox()
            .audit_log(Some(uuids[7].clone()), 50)
            .await
            .unwrap();
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "status_changed")
                .count(),
            1
        );

        // Dismiss five, then undo by restoring what each had.
        let five = uuids[..5].to_vec();
        let dismissed = core.set_statuses(five.clone(), "dismissed").await.unwrap();
        assert!(dismissed
            .iter()
            .all(|r| r.from == Some(NoteStatus::Reviewed)));
        assert_eq!(core.counts().await.unwrap().dismissed, 5);
        core.set_statuses(five, "reviewed").await.unwrap();
        assert_eq!(core.counts().await.unwrap().reviewed, 50);

        // Import the 50 (one of them listed twice): 50 results, 50 rows.
        let mut asked = uuids.clone();
        asked.push(uuids[3].clone());
        let before = shell.count("import-result");
        let first = core.import_notes(asked).await.unwrap();
        assert_eq!(first.len(), 50);
        assert!(
            first.iter().all(|v| v.result == AttemptResult::Imported),
            "{first:?}"
        );
        assert_eq!(shell.count("import-result") - before, 50);
        assert!(first
            .iter()
            .all(|v| v.target.starts_with("sqlite:") && v.error.is_none()));
        assert_eq!(core.counts().await.unwrap().imported, 50);
        // Again: unchanged, each once, still 50 rows.
        let again = core.import_notes(uuids.clone()).await.unwrap();
        assert_eq!(again.len(), 50);
        assert!(again.iter().all(|v| v.result == AttemptResult::Unchanged));
        // Each note's audit trail has its two attempts, no more (the end-to-end test counts the
        // practice database's rows).
        let attempts = core
            .inbox()
            .audit_log(Some(uuids[3].clone()), 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "import")
            .count();
        assert_eq!(attempts, 2);

        // A dismissed note and an unknown uuid in a batch are errors of their own; the rest go on.
        core.set_statuses(vec!["old-2".into()], "dismissed")
            .await
            .unwrap();
        let mixed = core
            .import_notes(vec!["old-2".into(), "nope".into(), "old-0".into()])
            .await
            .unwrap();
        let results: Vec<_> = mixed.iter().map(|v| (v.uuid.as_str(), v.result)).collect();
        assert_eq!(
            results,
            [
                ("old-2", AttemptResult::Error),
                ("nope", AttemptResult::Error),
                ("old-0", AttemptResult::Imported)
            ]
        );
        assert_eq!(mixed[0].error.as_ref().unwrap().code, "invalid_transition");
        assert_eq!(mixed[1].error.as_ref().unwrap().code, "not_found");
        core.shutdown().await;
    }
}
