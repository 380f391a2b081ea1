//! Patients told apart and matched: identifiers read from `GET /patients/{uuid}` (few per
//! poll, cached, refetched when a note says the patient changed, failures never failing the
//! poll) kept with every note; notes assigned by hand to a practice patient (audited, undone
//! until imported); the "Needs patient" list.

#![allow(clippy::unwrap_used)]

mod common;

use askara::{Clock, Note};
use askara_sim::SimConfig;
use inbox::sync::PATIENTS_PER_POLL;
use inbox::*;
use serde_json::{json, Value};

fn note(uuid: &str, created: &str, patient: Value) -> Note {
    Note::from_json(json!({
        "uuid": uuid, "type": "consultation_summary", "content": "Knee pain.",
        "createdAt": created, "updatedAt": created, "patient": patient,
    }))
    .unwrap()
}

fn open_temp() -> (tempfile::TempDir, Inbox) {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(
        dir.path().join("inbox.sqlite3"),
        &InboxKey::from_bytes([7; 32]),
    )
    .unwrap();
    (dir, inbox)
}

fn choice(id: &str) -> NewAssignment {
    NewAssignment {
        practice_patient_id: id.into(),
        patient_name: Some("Haugen, Ørjan".into()),
        date_of_birth: Some("1984-03-02".into()),
        external_id: None,
        target: "sqlite:/practice.db".into(),
    }
}

fn patient_requests(sim: &askara_sim::SimHandle) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/patients/"))
        .map(|r| r.path)
        .collect()
}

/// Two patients named alike, as Askara's notes carry them (uuid and names only), with their
/// records (date of birth, external id) behind `GET /patients/{uuid}`.
fn two_haugens(sim: &askara_sim::SimHandle) {
    for (i, (p, born, ext)) in [
        ("p-haugen-1", "1984-03-02", Some("10023")),
        ("p-haugen-2", "1991-11-17", None),
    ]
    .into_iter()
    .enumerate()
    {
        sim.add_note(json!({
            "uuid": format!("n-{i}"), "type": "consultation_summary", "content": "Knee pain.",
            "createdAt": format!("2026-02-24T10:3{i}:00+00:00"),
            "updatedAt": format!("2026-02-24T10:3{i}:00+00:00"),
            "patient": {"uuid": p, "firstName": "Ørjan", "lastName": "Haugen"},
        }));
        let mut record = json!({"uuid": p, "firstName": "Ørjan", "lastName": "Haugen",
                                "dateOfBirth": format!("{born}T00:00:00+00:00")});
        if let Some(e) = ext {
            record["externalId"] = json!(e);
        }
        sim.set_patient(record);
    }
}

#[tokio::test]
async fn a_poll_reads_new_patients_once_and_keeps_their_identifiers_with_the_notes() {
    let mut rig = common::rig_with(SimConfig::default(), 100).await;
    two_haugens(&rig.sim);
    let report = rig.poller.try_once().await.unwrap();
    assert_eq!(report.new, 2);
    assert_eq!(report.patients.fetched, 2, "{report:?}");
    let born = |uuid: &str| {
        let inbox = rig.inbox.clone();
        let uuid = uuid.to_string();
        async move {
            let p = inbox.get(&uuid).await.unwrap().unwrap().patient.unwrap();
            (p.date_of_birth, p.external_id)
        }
    };
    // Same name, told apart by two identifiers; a missing external id stays missing.
    assert_eq!(
        born("n-0").await,
        (Some("1984-03-02".into()), Some("10023".into()))
    );
    assert_eq!(born("n-1").await, (Some("1991-11-17".into()), None));
    let ps = rig.inbox.patients(None, 10).await.unwrap();
    let mut dobs: Vec<_> = ps.iter().map(|p| p.date_of_birth.clone()).collect();
    dobs.sort();
    assert_eq!(
        dobs,
        vec![Some("1984-03-02".into()), Some("1991-11-17".into())]
    );
    assert!(ps.iter().all(|p| p.fetched_at.is_some()));
    // The patient list finds a patient by date of birth.
    let by_dob = rig.inbox.patients(Some("1991".into()), 10).await.unwrap();
    assert_eq!(by_dob.len(), 1);
    assert_eq!(by_dob[0].uuid, "p-haugen-2");

    // Cached: the next polls ask nothing while nothing changes.
    rig.sim.clear_requests();
    rig.poller.try_once().await.unwrap();
    assert!(patient_requests(&rig.sim).is_empty());

    // A note that names the patient differently makes the next poll ask again.
    rig.sim.add_note(json!({
        "uuid": "n-renamed", "type": "referral_letter", "content": "Referral.",
        "createdAt": "2026-02-24T10:40:00+00:00", "updatedAt": "2026-02-24T10:40:00+00:00",
        "patient": {"uuid": "p-haugen-1", "firstName": "Ørjan Kristian", "lastName": "Haugen"},
    }));
    rig.sim.clear_requests();
    let report = rig.poller.try_once().await.unwrap();
    assert_eq!(report.new, 1);
    assert_eq!(patient_requests(&rig.sim), vec!["/patients/p-haugen-1"]);
    // The new note shows the identifiers at once (kept from the patient), before any fetch.
    assert_eq!(born("n-renamed").await.0, Some("1984-03-02".into()));
}

#[tokio::test]
async fn patient_reads_are_bounded_per_poll_and_failures_never_fail_the_round() {
    let mut rig = common::rig_with(SimConfig::default(), 100).await;
    let n = PATIENTS_PER_POLL + 5;
    for i in 0..n {
        rig.sim.add_note(json!({
            "uuid": format!("n-{i}"), "type": "consultation_summary", "content": "x",
            "createdAt": format!("2026-02-24T10:{:02}:00+00:00", i),
            "updatedAt": format!("2026-02-24T10:{:02}:00+00:00", i),
            "patient": {"uuid": format!("p-{i}"), "firstName": "A", "lastName": format!("B{i}")},
        }));
    }
    let first = rig.poller.try_once().await.unwrap();
    assert_eq!(first.new, n);
    assert_eq!(first.patients.fetched, PATIENTS_PER_POLL);
    assert_eq!(patient_requests(&rig.sim).len(), PATIENTS_PER_POLL);

    // Askara fails (every retry of) the next patient read: the round is no error, stops
    // asking (the next request would fail alike), and the patients stay due.
    rig.sim.clear_requests();
    rig.sim.faults().fail_next(4, 503);
    let now = rig.clock.now();
    let round = inbox::sync::fetch_patients(rig.poller.api(), &rig.inbox, 10, now)
        .await
        .unwrap();
    assert_eq!(round.failed, 1, "{round:?}");
    assert_eq!(round.fetched, 0);
    assert_eq!(rig.inbox.patients_to_fetch(100).await.unwrap().len(), 5);
    rig.sim.faults().clear();

    // The next poll reads the rest; the one after asks nothing.
    let second = rig.poller.try_once().await.unwrap();
    assert_eq!(second.patients.fetched, 5, "{second:?}");
    rig.sim.clear_requests();
    let third = rig.poller.try_once().await.unwrap();
    assert_eq!(third.patients, Default::default());
    assert!(patient_requests(&rig.sim).is_empty());
}

#[tokio::test]
async fn a_failed_patient_read_is_retried_next_poll_without_failing_the_poll() {
    let (_d, inbox) = open_temp();
    inbox
        .ingest(
            vec![note(
                "n1",
                "2026-02-24T10:30:00Z",
                json!({"uuid": "p1", "firstName": "Ørjan", "lastName": "Haugen"}),
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inbox.patients_to_fetch(10).await.unwrap(), vec!["p1"]);
    let at = chrono::Utc::now();
    inbox
        .record_patient_fetches(vec![("p1".into(), PatientFetch::Failed)], at)
        .await
        .unwrap();
    assert_eq!(
        inbox.patients_to_fetch(10).await.unwrap(),
        vec!["p1"],
        "a failure is asked again"
    );
    let n = inbox.get("n1").await.unwrap().unwrap();
    assert_eq!(n.patient.unwrap().date_of_birth, None, "nothing is guessed");
    inbox
        .record_patient_fetches(vec![("p1".into(), PatientFetch::Gone)], at)
        .await
        .unwrap();
    assert!(inbox.patients_to_fetch(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn assignment_is_audited_undone_as_a_mark_and_closed_by_the_import() {
    let (_d, inbox) = open_temp();
    inbox
        .ingest(
            vec![
                note("n1", "2026-02-24T10:30:00Z", Value::Null),
                note(
                    "n2",
                    "2026-02-24T10:31:00Z",
                    json!({"uuid": "p2", "lastName": "Haugen"}),
                ),
                note(
                    "n3",
                    "2026-02-24T10:32:00Z",
                    json!({"uuid": "p3", "firstName": "Ørjan", "lastName": "Haugen"}),
                ),
            ],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    // No patient and a partial one need a patient; a whole one does not.
    let uuids = |v: Vec<NoteRecord>| v.into_iter().map(|n| n.uuid).collect::<Vec<_>>();
    assert_eq!(
        uuids(inbox.needs_patient(None, 0).await.unwrap()),
        ["n2", "n1"]
    );
    assert_eq!(inbox.needs_patient_count().await.unwrap(), 2);

    let a = inbox
        .assign_patient("n1", choice("42"), "askara:ana@example.test")
        .await
        .unwrap();
    assert_eq!(a.practice_patient_id, "42");
    assert_eq!(
        inbox
            .patient_assignment("n1")
            .await
            .unwrap()
            .map(|a| a.assigned_by),
        Some("askara:ana@example.test".into())
    );
    assert_eq!(uuids(inbox.needs_patient(None, 0).await.unwrap()), ["n2"]);

    // Replacing and undoing keep every row, marked undone; the audit says who and which patient.
    inbox
        .assign_patient("n1", choice("43"), "askara:bo@example.test")
        .await
        .unwrap();
    assert!(inbox
        .unassign_patient("n1", "askara:bo@example.test")
        .await
        .unwrap());
    assert!(!inbox
        .unassign_patient("n1", "askara:bo@example.test")
        .await
        .unwrap());
    assert_eq!(inbox.patient_assignment("n1").await.unwrap(), None);
    assert_eq!(inbox.needs_patient_count().await.unwrap(), 2);
    let trail: Vec<(String, String, Value)> = inbox
        .audit_log(Some("n1".into()), 20)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .filter(|e| e.action.starts_with("patient_"))
        .map(|e| (e.action, e.actor, e.detail["patientId"].clone()))
        .collect();
    assert_eq!(
        trail,
        vec![
            (
                "patient_assigned".into(),
                "askara:ana@example.test".into(),
                json!("42")
            ),
            (
                "patient_unassigned".into(),
                "askara:bo@example.test".into(),
                json!("42")
            ),
            (
                "patient_assigned".into(),
                "askara:bo@example.test".into(),
                json!("43")
            ),
            (
                "patient_unassigned".into(),
                "askara:bo@example.test".into(),
                json!("43")
            ),
        ]
    );
    // No name in the audit trail.
    for e in inbox.audit_log(Some("n1".into()), 20).await.unwrap() {
        assert!(!e.detail.to_string().contains("Haugen"), "{}", e.detail);
    }
    assert!(matches!(
        inbox.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));

    // Once imported, the assignment is fixed.
    inbox
        .assign_patient("n1", choice("44"), "staff")
        .await
        .unwrap();
    inbox
        .record_imports(
            vec![ImportAttempt {
                uuid: "n1".into(),
                committed: true,
                detail: json!({"result": "imported"}),
            }],
            "staff",
        )
        .await
        .unwrap();
    let err = inbox.unassign_patient("n1", "staff").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    let err = inbox
        .assign_patient("n1", choice("45"), "staff")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    assert_eq!(
        inbox
            .patient_assignment("n1")
            .await
            .unwrap()
            .map(|a| a.practice_patient_id),
        Some("44".into())
    );
    assert!(matches!(
        inbox.assign_patient("nope", choice("1"), "staff").await,
        Err(InboxError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_last_import_that_found_no_practice_patient_puts_the_note_in_needs_patient() {
    let (_d, inbox) = open_temp();
    inbox
        .ingest(
            vec![note(
                "n3",
                "2026-02-24T10:32:00Z",
                json!({"uuid": "p3", "firstName": "Ørjan", "lastName": "Haugen"}),
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inbox.needs_patient_count().await.unwrap(), 0);
    let failed = |code: &str| ImportAttempt {
        uuid: "n3".into(),
        committed: false,
        detail: json!({"result": "error", "code": code}),
    };
    inbox
        .record_imports(vec![failed("patient_not_found")], "staff")
        .await
        .unwrap();
    assert_eq!(inbox.needs_patient_count().await.unwrap(), 1);
    // A later attempt that failed for another reason is the last word.
    inbox
        .record_imports(vec![failed("unreachable")], "staff")
        .await
        .unwrap();
    assert_eq!(inbox.needs_patient_count().await.unwrap(), 0);
}

/// A newer version of `uuid` from Askara (created 10:30, updated at `updated`).
fn revision(uuid: &str, updated: &str, content: &str, patient: Value) -> Note {
    Note::from_json(json!({
        "uuid": uuid, "type": "consultation_summary", "content": content,
        "createdAt": "2026-02-24T10:30:00Z", "updatedAt": updated, "patient": patient,
    }))
    .unwrap()
}

#[tokio::test]
async fn a_revision_that_changes_the_patient_clears_the_assignment_and_one_that_keeps_it_does_not()
{
    let (_d, inbox) = open_temp();
    let partial = json!({"uuid": "p2", "lastName": "Haugen"});
    inbox
        .ingest(
            vec![note("n1", "2026-02-24T10:30:00Z", partial.clone())],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    inbox
        .assign_patient("n1", choice("42"), "staff")
        .await
        .unwrap();
    let live = |inbox: Inbox| async move {
        inbox
            .patient_assignment("n1")
            .await
            .unwrap()
            .map(|a| a.practice_patient_id)
    };

    // Same patient, new text: the person's choice stands and the note stays out of the list.
    let r = inbox
        .ingest(
            vec![revision(
                "n1",
                "2026-02-24T11:00:00Z",
                "Knee pain, better.",
                partial,
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(r.revised, ["n1"]);
    assert_eq!(live(inbox.clone()).await, Some("42".into()));
    assert_eq!(inbox.needs_patient_count().await.unwrap(), 0);

    // Askara now names another patient: the choice is undone by the sync, audited, and the
    // note needs a patient again.
    let r = inbox
        .ingest(
            vec![revision(
                "n1",
                "2026-02-24T12:00:00Z",
                "Knee pain, better.",
                json!({"uuid": "p9", "lastName": "Berg"}),
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(r.revised, ["n1"]);
    assert_eq!(live(inbox.clone()).await, None);
    let listed: Vec<String> = inbox
        .needs_patient(None, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.uuid)
        .collect();
    assert_eq!(listed, ["n1"]);
    let cleared: Vec<_> = inbox
        .audit_log(Some("n1".into()), 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "assignment_cleared")
        .collect();
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0].actor, "sync");
    assert_eq!(
        cleared[0].detail["reason"],
        json!("patient changed in Askara")
    );
    assert_eq!(cleared[0].detail["patientId"], json!("42"));
    for name in ["Haugen", "Berg"] {
        assert!(!cleared[0].detail.to_string().contains(name));
    }
    assert!(matches!(
        inbox.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));
    // Nothing left to clear: a later change of patient writes no second row.
    inbox
        .ingest(
            vec![revision(
                "n1",
                "2026-02-24T13:00:00Z",
                "Knee pain, better.",
                Value::Null,
            )],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    let n = inbox
        .audit_log(Some("n1".into()), 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "assignment_cleared")
        .count();
    assert_eq!(n, 1);
    // A person may assign the note again.
    inbox
        .assign_patient("n1", choice("43"), "staff")
        .await
        .unwrap();
    assert_eq!(live(inbox.clone()).await, Some("43".into()));
}

#[tokio::test]
async fn an_assignment_stays_closed_after_a_committed_import_even_when_the_note_is_revised() {
    let (_d, inbox) = open_temp();
    inbox
        .ingest(
            vec![
                note("n1", "2026-02-24T10:30:00Z", Value::Null),
                note("n2", "2026-02-24T10:30:00Z", Value::Null),
            ],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    for uuid in ["n1", "n2"] {
        inbox
            .assign_patient(uuid, choice("42"), "staff")
            .await
            .unwrap();
    }
    inbox
        .record_imports(
            vec![
                ImportAttempt {
                    uuid: "n1".into(),
                    committed: true,
                    detail: json!({"result": "imported"}),
                },
                // Not committed: n2 never reached the practice database.
                ImportAttempt {
                    uuid: "n2".into(),
                    committed: false,
                    detail: json!({"result": "error", "code": "unreachable"}),
                },
            ],
            "staff",
        )
        .await
        .unwrap();
    inbox
        .ingest(
            vec![
                revision(
                    "n1",
                    "2026-02-24T11:00:00Z",
                    "Knee pain, revised.",
                    Value::Null,
                ),
                revision(
                    "n2",
                    "2026-02-24T11:00:00Z",
                    "Knee pain, revised.",
                    Value::Null,
                ),
            ],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        inbox.get("n1").await.unwrap().unwrap().status,
        Status::Revised
    );
    let err = inbox
        .assign_patient("n1", choice("45"), "staff")
        .await
        .unwrap_err();
    assert!(matches!(err, InboxError::AssignmentClosed { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    assert!(!err.to_string().contains('\n'));
    let err = inbox.unassign_patient("n1", "staff").await.unwrap_err();
    assert!(matches!(err, InboxError::AssignmentClosed { .. }), "{err}");
    assert_eq!(
        inbox
            .patient_assignment("n1")
            .await
            .unwrap()
            .map(|a| a.practice_patient_id),
        Some("42".into())
    );
    // The note whose import failed can still be reassigned and undone.
    inbox
        .assign_patient("n2", choice("45"), "staff")
        .await
        .unwrap();
    assert!(inbox.unassign_patient("n2", "staff").await.unwrap());
}

#[tokio::test]
async fn askaras_patient_record_corrects_and_clears_the_identifiers_notes_embedded_audited() {
    let (_d, inbox) = open_temp();
    // Two notes embed an external id Askara later corrects (the practice lookup key).
    for (uuid, at) in [
        ("n1", "2026-02-24T10:30:00Z"),
        ("n2", "2026-02-24T10:31:00Z"),
    ] {
        inbox
            .ingest(
                vec![note(
                    uuid,
                    at,
                    json!({"uuid": "p1", "firstName": "Ørjan", "lastName": "Haugen",
                           "externalId": "WRONG-7", "dateOfBirth": "1984-03-02"}),
                )],
                Source::Poll,
                vec![],
            )
            .await
            .unwrap();
    }
    let ids = |uuid: &'static str| {
        let inbox = inbox.clone();
        async move {
            let p = inbox.get(uuid).await.unwrap().unwrap().patient.unwrap();
            (p.date_of_birth, p.external_id)
        }
    };
    let updates = |uuid: &'static str| {
        let inbox = inbox.clone();
        async move {
            inbox
                .audit_log(Some(uuid.into()), 50)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action == "patient_identifiers_updated")
                .map(|e| (e.actor, e.detail["fields"].clone()))
                .collect::<Vec<_>>()
        }
    };
    let record = |ext: Option<&str>| {
        let mut v = json!({"uuid": "p1", "firstName": "Ørjan", "lastName": "Haugen",
                           "dateOfBirth": "1984-03-02"});
        if let Some(e) = ext {
            v["externalId"] = json!(e);
        }
        PatientFetch::Found(askara::Patient::from_json(&v).unwrap())
    };
    let at = chrono::Utc::now();

    // The same values: nothing changes, nothing is audited.
    inbox
        .record_patient_fetches(vec![("p1".into(), record(Some("WRONG-7")))], at)
        .await
        .unwrap();
    assert!(updates("n1").await.is_empty());

    // Corrected: every note of the patient carries the record's id, each change audited by
    // field name (never the value).
    inbox
        .record_patient_fetches(vec![("p1".into(), record(Some("10023")))], at)
        .await
        .unwrap();
    for n in ["n1", "n2"] {
        assert_eq!(
            ids(n).await,
            (Some("1984-03-02".into()), Some("10023".into()))
        );
        assert_eq!(
            updates(n).await,
            vec![("sync".to_string(), json!(["externalId"]))]
        );
    }
    // Removed from the record: the stale id is cleared, not kept as a lookup key.
    inbox
        .record_patient_fetches(vec![("p1".into(), record(None))], at)
        .await
        .unwrap();
    assert_eq!(ids("n1").await, (Some("1984-03-02".into()), None));
    assert_eq!(updates("n1").await.len(), 2);
    let p = inbox.patients(None, 10).await.unwrap();
    assert_eq!(p[0].external_id, None);
    // The trail still verifies with the new rows in it.
    assert!(matches!(
        inbox.verify_audit().await.unwrap(),
        AuditCheck::Intact { .. }
    ));
}

#[tokio::test]
async fn undoing_the_dismissal_of_a_revised_note_gives_revised_back_and_nothing_else_does() {
    let (_d, inbox) = open_temp();
    let p = json!({"uuid": "p1", "firstName": "Ørjan", "lastName": "Haugen"});
    let ingest = |n: Note| {
        let inbox = inbox.clone();
        async move { inbox.ingest(vec![n], Source::Poll, vec![]).await.unwrap() }
    };
    ingest(revision("n1", "2026-02-24T10:30:00Z", "v1", p.clone())).await;
    inbox
        .set_status("n1", Status::Reviewed, "os:a")
        .await
        .unwrap();
    ingest(revision("n1", "2026-02-24T11:00:00Z", "v2", p.clone())).await;
    assert_eq!(
        inbox.get("n1").await.unwrap().unwrap().status,
        Status::Revised
    );
    inbox
        .set_status("n1", Status::Dismissed, "os:a")
        .await
        .unwrap();
    // The undo (back to what it was) is allowed, audited, and reads as an undo.
    let back = inbox
        .set_status("n1", Status::Revised, "os:a")
        .await
        .unwrap();
    assert!(back.changed);
    assert_eq!(
        inbox.get("n1").await.unwrap().unwrap().status,
        Status::Revised
    );
    // Anything else still cannot mark a note revised: not a second time, not from new.
    inbox
        .set_status("n1", Status::Reviewed, "os:a")
        .await
        .unwrap();
    inbox
        .set_status("n1", Status::Dismissed, "os:a")
        .await
        .unwrap();
    let e = inbox
        .set_status("n1", Status::Revised, "os:a")
        .await
        .unwrap_err();
    assert!(matches!(e, InboxError::InvalidTransition { .. }), "{e}");
    ingest(revision("n2", "2026-02-24T10:30:00Z", "v1", p)).await;
    assert!(inbox
        .set_status("n2", Status::Revised, "os:a")
        .await
        .is_err());
}

#[tokio::test]
async fn needs_patient_is_a_filter_that_search_dates_and_type_narrow() {
    let (_d, inbox) = open_temp();
    let mk = |uuid: &str, created: &str, ty: &str, content: &str, patient: Value| {
        Note::from_json(json!({
            "uuid": uuid, "type": ty, "content": content,
            "createdAt": created, "updatedAt": created, "patient": patient,
        }))
        .unwrap()
    };
    let whole = json!({"uuid": "p1", "firstName": "Ørjan", "lastName": "Haugen"});
    inbox
        .ingest(
            vec![
                mk(
                    "a",
                    "2026-02-01T10:00:00Z",
                    "referral_letter",
                    "Knee pain.",
                    Value::Null,
                ),
                mk(
                    "b",
                    "2026-03-01T10:00:00Z",
                    "consultation_summary",
                    "Knee pain.",
                    Value::Null,
                ),
                mk(
                    "c",
                    "2026-03-02T10:00:00Z",
                    "consultation_summary",
                    "Cough.",
                    json!({"uuid": "p2"}),
                ),
                mk(
                    "d",
                    "2026-03-03T10:00:00Z",
                    "consultation_summary",
                    "Knee pain.",
                    whole,
                ),
            ],
            Source::Poll,
            vec![],
        )
        .await
        .unwrap();
    let needs = |filter: NoteFilter| NoteFilter {
        needs_patient: true,
        ..filter
    };
    let list = |filter: NoteFilter| {
        let inbox = inbox.clone();
        async move {
            inbox
                .list(ListQuery {
                    status: None,
                    patient_uuid: None,
                    limit: None,
                    offset: 0,
                    filter,
                })
                .await
                .unwrap()
                .into_iter()
                .map(|n| n.uuid)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(needs(NoteFilter::default())).await, ["c", "b", "a"]);
    let march = NoteFilter {
        since: Some("2026-03-01T00:00:00Z".parse().unwrap()),
        ..Default::default()
    };
    assert_eq!(list(needs(march.clone())).await, ["c", "b"]);
    let referrals = NoteFilter {
        note_type: Some("referral_letter".into()),
        ..Default::default()
    };
    assert_eq!(list(needs(referrals)).await, ["a"]);
    // Search within "Needs patient": never the whole inbox's matches (d has a patient).
    let found = inbox
        .search(
            "knee",
            SearchQuery {
                filter: needs(NoteFilter::default()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found.into_iter().map(|n| n.uuid).collect::<Vec<_>>(),
        ["b", "a"]
    );
    // An assigned note leaves the filter as it leaves the list.
    inbox
        .assign_patient("b", choice("42"), "os:a")
        .await
        .unwrap();
    assert_eq!(list(needs(march)).await, ["c"]);
}
