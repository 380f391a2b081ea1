//! A note's audit trail in words, for people: what [`crate::audit::history`] returns (and
//! `askara-inbox notes history` prints), each step as "arrived", "reviewed", "dismissed",
//! "undone", "imported into …", "read", "removed". The recorded action and actor stay beside
//! the words, so nothing is lost in the telling. Never note content or patient names: the
//! audit rows hold none.

use chrono::{DateTime, Utc};
use inbox::{AuditEvent, Status};
use serde::Serialize;
use serde_json::Value;

use crate::importing::{AttemptResult, ImportDetail};

/// One step of a note's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryStep {
    pub at: DateTime<Utc>,
    /// As recorded: `askara:<email or id>`, `os:<account>`, `sync`, `retention`.
    pub actor: String,
    /// The actor for people: the Askara user or OS account without its prefix, or what the
    /// app did by itself.
    pub actor_label: String,
    /// As recorded (`received`, `status_changed`, `import`, `read`, ...).
    pub action: String,
    /// What happened, in words.
    pub words: String,
}

/// `events` oldest first (as [`crate::audit::history`] gives them), in words.
pub fn steps(events: &[AuditEvent]) -> Vec<HistoryStep> {
    // The status a note had before its latest dismissal: moving back to it is the undo.
    let mut before_dismissal: Option<Status> = None;
    events
        .iter()
        .map(|e| {
            let words = words(e, before_dismissal);
            if e.action == "status_changed" {
                before_dismissal = match (e.from_status, e.to_status) {
                    (Some(from), Some(Status::Dismissed)) => Some(from),
                    _ => None,
                };
            }
            HistoryStep {
                at: e.at,
                actor: e.actor.clone(),
                actor_label: actor_label(&e.actor),
                action: e.action.clone(),
                words,
            }
        })
        .collect()
}

/// `askara:dr.martin@example.test` → `dr.martin@example.test`; `os:staff` → `staff (this
/// computer's account)`; `sync` and `retention` say what the app did by itself.
pub fn actor_label(actor: &str) -> String {
    if let Some(user) = actor.strip_prefix("askara:") {
        return user.to_string();
    }
    if let Some(account) = actor.strip_prefix("os:") {
        return format!("{account} (computer account)");
    }
    match actor {
        "sync" => "Askara Inbox (sync)".into(),
        crate::retention::ACTOR => "Askara Inbox (retention)".into(),
        other => other.to_string(),
    }
}

fn words(e: &AuditEvent, before_dismissal: Option<Status>) -> String {
    let source = |d: &Value| match d.get("source").and_then(Value::as_str) {
        Some("poll") => " (polled from Askara)",
        Some("webhook") => " (webhook from Askara)",
        _ => "",
    };
    match e.action.as_str() {
        "received" => format!("arrived{}", source(&e.detail)),
        "revised" => {
            let mut w = format!("revised by Askara{}", source(&e.detail));
            if e.detail.get("replacedUnverified") == Some(&Value::Bool(true)) {
                w.push_str(", replacing the unconfirmed copy");
            }
            w
        }
        "status_changed" => match (e.from_status, e.to_status) {
            (Some(Status::Dismissed), Some(to)) if Some(to) == before_dismissal => {
                format!("undone: the dismissal (back to {to})")
            }
            (_, Some(Status::Reviewed)) => "reviewed".into(),
            (_, Some(Status::Dismissed)) => "dismissed".into(),
            (_, Some(Status::New)) => "marked new again".into(),
            (Some(from), Some(to)) => format!("status {from} → {to}"),
            _ => "status changed".into(),
        },
        "import" => import_words(&e.detail),
        "patient_identifiers_updated" => {
            let fields: Vec<&str> = e
                .detail
                .get("fields")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| match f.as_str() {
                            Some("dateOfBirth") => Some("date of birth"),
                            Some("externalId") => Some("practice patient id"),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            match fields.as_slice() {
                [] => "patient identifiers updated from Askara's patient record".into(),
                f => format!(
                    "patient's {} updated from Askara's patient record",
                    f.join(" and ")
                ),
            }
        }
        "read" if e.detail.get("bulk") == Some(&Value::Bool(true)) => {
            "read (with other notes, in a list with their content)".into()
        }
        "read" => "read".into(),
        "removed" => match e.detail.get("reason").and_then(Value::as_str) {
            Some("retention") => "removed from this workstation (retention period over)".into(),
            _ => "removed from this workstation".into(),
        },
        other => other.replace('_', " "),
    }
}

fn import_words(detail: &Value) -> String {
    let Some(d) = ImportDetail::from_json(detail) else {
        return "import attempted".into();
    };
    let target = if d.target.is_empty() {
        "the practice database".to_string()
    } else {
        d.target.clone()
    };
    match d.result {
        AttemptResult::Imported => format!("imported into {target}"),
        AttemptResult::Updated => format!("imported into {target}, updating the earlier version"),
        AttemptResult::Unchanged => {
            format!("import attempted: already in {target}, unchanged")
        }
        AttemptResult::Conflict => match (d.conflict, d.held_patient.as_deref()) {
            (Some(crate::importing::ConflictReason::Patient), Some(held)) => format!(
                "import attempted: {target} holds this note under another patient ({held}) (conflict, nothing written)"
            ),
            (Some(crate::importing::ConflictReason::Patient), None) => format!(
                "import attempted: {target} holds this note under another patient (conflict, nothing written)"
            ),
            _ => format!(
                "import attempted: {target} holds an earlier version (conflict, nothing written)"
            ),
        },
        AttemptResult::DryRun => format!("import tried without writing (dry run) into {target}"),
        AttemptResult::Error => match d.error.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => format!("import attempted into {target}: failed ({m})"),
            None => format!("import attempted into {target}: failed"),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn ev(
        action: &str,
        actor: &str,
        from: Option<Status>,
        to: Option<Status>,
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            id: 0,
            note_uuid: Some("n1".into()),
            at: Utc::now(),
            actor: actor.into(),
            action: action.into(),
            from_status: from,
            to_status: to,
            detail,
        }
    }

    fn words_of(events: &[AuditEvent]) -> Vec<String> {
        steps(events).into_iter().map(|s| s.words).collect()
    }

    use Status::*;

    #[test]
    fn a_note_s_life_in_words() {
        let me = "askara:ingrid.solberg@example.test";
        let events = [
            ev(
                "received",
                "sync",
                None,
                Some(New),
                json!({"source": "poll"}),
            ),
            ev("read", me, None, None, json!({})),
            ev("status_changed", me, Some(New), Some(Reviewed), json!({})),
            ev(
                "status_changed",
                me,
                Some(Reviewed),
                Some(Dismissed),
                json!({}),
            ),
            ev(
                "status_changed",
                me,
                Some(Dismissed),
                Some(Reviewed),
                json!({}),
            ),
            ev(
                "import",
                me,
                Some(Reviewed),
                Some(Imported),
                json!({"target": "sqlite:/srv/practice.db", "result": "imported"}),
            ),
            ev(
                "revised",
                "sync",
                Some(Imported),
                Some(Revised),
                json!({"source": "webhook", "updatedAt": "2026-02-24T11:00:00Z"}),
            ),
            ev(
                "import",
                me,
                None,
                None,
                json!({"target": "sqlite:/srv/practice.db", "result": "error", "code": "target_unreachable", "error": "database is locked"}),
            ),
            ev("read", "os:staff", None, None, json!({"bulk": true})),
            ev(
                "removed",
                "retention",
                None,
                None,
                json!({"reason": "retention", "status": "imported"}),
            ),
        ];
        assert_eq!(
            words_of(&events),
            vec![
                "arrived (polled from Askara)",
                "read",
                "reviewed",
                "dismissed",
                "undone: the dismissal (back to reviewed)",
                "imported into sqlite:/srv/practice.db",
                "revised by Askara (webhook from Askara)",
                "import attempted into sqlite:/srv/practice.db: failed (database is locked)",
                "read (with other notes, in a list with their content)",
                "removed from this workstation (retention period over)",
            ]
        );
        let s = steps(&events);
        assert_eq!(s[2].actor, me);
        assert_eq!(s[2].actor_label, "ingrid.solberg@example.test");
        assert_eq!(s[2].action, "status_changed");
        assert_eq!(s[0].actor_label, "Askara Inbox (sync)");
        assert_eq!(s[8].actor_label, "staff (computer account)");
        assert_eq!(s[9].actor_label, "Askara Inbox (retention)");
    }

    #[test]
    fn only_a_return_to_the_status_before_the_dismissal_is_an_undo() {
        let events = [
            ev(
                "status_changed",
                "os:a",
                Some(New),
                Some(Dismissed),
                json!({}),
            ),
            // Reviewed straight from dismissed (the CLI's `notes review`): not an undo.
            ev(
                "status_changed",
                "os:a",
                Some(Dismissed),
                Some(Reviewed),
                json!({}),
            ),
            ev(
                "status_changed",
                "os:a",
                Some(Reviewed),
                Some(New),
                json!({}),
            ),
        ];
        assert_eq!(
            words_of(&events),
            vec!["dismissed", "reviewed", "marked new again"]
        );
    }

    #[test]
    fn every_import_result_reads_as_words_and_unknown_actions_pass_through() {
        let import = |result: &str| {
            ev(
                "import",
                "os:a",
                None,
                None,
                json!({"target": "postgres://db/practice", "result": result}),
            )
        };
        assert_eq!(
            words_of(&[
                import("unchanged"),
                import("conflict"),
                import("updated"),
                ev("import", "os:a", None, None, json!("not a detail")),
                ev("note_assigned", "os:a", None, None, json!({})),
                ev(
                    "import",
                    "os:a",
                    None,
                    None,
                    json!({"target": "sqlite:/p.db", "result": "conflict",
                           "conflict": "patient", "heldPatient": "41"})
                ),
                ev(
                    "patient_identifiers_updated",
                    "sync",
                    None,
                    None,
                    json!({"fields": ["externalId"]})
                ),
            ]),
            vec![
                "import attempted: already in postgres://db/practice, unchanged",
                "import attempted: postgres://db/practice holds an earlier version (conflict, nothing written)",
                "imported into postgres://db/practice, updating the earlier version",
                "import attempted",
                "note assigned",
                "import attempted: sqlite:/p.db holds this note under another patient (41) (conflict, nothing written)",
                "patient's practice patient id updated from Askara's patient record",
            ]
        );
    }
}
