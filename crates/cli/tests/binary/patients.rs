//! Patients through the real binary: two identifiers in `notes list` / `show` (and Askara's
//! field names in `--json`), `notes unmatched`, and `notes assign` / `unassign` against a
//! practice database in SQLite, the import writing the assigned patient.

#![allow(clippy::unwrap_used)]

use askara_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use std::path::Path;

use crate::support::{Run, BIN};

async fn run(data: &Path, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .env_remove("PGPASSWORD")
        .output()
        .await
        .unwrap();
    let r = Run::from(out);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn one_line_error(r: &Run) -> String {
    assert_ne!(r.code, 0, "expected failure: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stderr);
    lines[0].to_string()
}

/// Two patients named alike (records behind `GET /patients/{uuid}`) and a note without one.
fn seed(sim: &SimHandle) {
    let at = |m: u32| format!("2026-02-24T10:{m:02}:00+00:00");
    for (i, p) in ["p-haugen-1", "p-haugen-2"].into_iter().enumerate() {
        sim.add_note(json!({
            "uuid": format!("n-haugen-{}", i + 1), "type": "consultation_summary",
            "content": "Knee pain.", "createdAt": at(i as u32), "updatedAt": at(i as u32),
            "patient": {"uuid": p, "firstName": "Ørjan", "lastName": "Haugen"},
        }));
    }
    sim.set_patient(
        json!({"uuid": "p-haugen-1", "firstName": "Ørjan", "lastName": "Haugen",
                           "dateOfBirth": "1984-03-02", "externalId": "10023"}),
    );
    sim.set_patient(json!({"uuid": "p-haugen-2", "firstName": "Ørjan", "lastName": "Haugen"}));
    sim.add_note(json!({
        "uuid": "n-nobody", "type": "referral_letter", "content": "Referral.",
        "createdAt": at(5), "updatedAt": at(5), "patient": null,
    }));
}

const PRACTICE: &str = "
    CREATE TABLE patients (id INTEGER PRIMARY KEY, ext_ref TEXT, last TEXT, first TEXT, born TEXT);
    INSERT INTO patients VALUES (4411, '10023', 'Haugen', 'Ørjan', '1984-03-02'),
                                (4412, NULL, 'Haugen', 'Ørjan', '1991-11-17');
    CREATE TABLE consultation_notes (id INTEGER PRIMARY KEY, askara_uuid TEXT NOT NULL UNIQUE,
                                     body TEXT NOT NULL, patient_id INTEGER);";

const MAPPING: &str = r#"
table = "consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
[patient_search]
query = "SELECT id, last || ', ' || first, born, ext_ref FROM patients WHERE last LIKE '%' || $1 || '%' OR CAST(id AS TEXT) = $1"
column = "patient_id"
"#;

#[tokio::test]
async fn identifiers_unmatched_notes_and_assignment_through_the_binary() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    seed(&sim);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let base = sim.base_url();
    let r = run(
        data,
        &[
            "sync",
            "--once",
            "--base-url",
            &base,
            "--client-id",
            "askara-inbox-demo",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Two identifiers beside each name; nothing guessed where Askara gave none.
    let r = run(data, &["notes", "list"]).await;
    let line = |uuid: &str| {
        r.stdout
            .lines()
            .find(|l| l.contains(uuid))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("n-haugen-1").contains("born 1984-03-02 · ID 10023"),
        "{}",
        r.stdout
    );
    assert!(
        line("n-haugen-2").contains("born: not given"),
        "{}",
        r.stdout
    );
    let r = run(data, &["notes", "list", "--json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let by = |uuid: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|n| n["uuid"] == uuid)
            .cloned()
            .unwrap()
    };
    assert_eq!(by("n-haugen-1")["patient"]["dateOfBirth"], "1984-03-02");
    assert_eq!(by("n-haugen-1")["patient"]["externalId"], "10023");
    assert_eq!(by("n-haugen-2")["patient"]["dateOfBirth"], Value::Null);
    let r = run(data, &["notes", "show", "n-haugen-1"]).await;
    assert!(
        r.stdout
            .contains("Haugen, Ørjan · born 1984-03-02 · ID 10023"),
        "{}",
        r.stdout
    );

    // The note without a patient needs one.
    let unmatched = |data: &Path| {
        let data = data.to_path_buf();
        async move {
            let r = run(&data, &["notes", "unmatched", "--json"]).await;
            assert_eq!(r.code, 0, "{}", r.stderr);
            let v: Value = serde_json::from_str(&r.stdout).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|n| n["uuid"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(unmatched(data).await, ["n-nobody"]);
    // The list's filters narrow it (and --needs-patient narrows list and search alike).
    let r = run(
        data,
        &["notes", "unmatched", "--type", "consultation_summary"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("n-nobody"), "{}", r.stdout);
    let r = run(data, &["notes", "list", "--needs-patient", "--json"]).await;
    assert!(
        r.stdout.contains("n-nobody") && !r.stdout.contains("n-haugen"),
        "{}",
        r.stdout
    );
    let r = run(data, &["notes", "search", "knee", "--needs-patient"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("n-haugen"), "{}", r.stdout);

    let db = data.join("practice.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(PRACTICE)
        .unwrap();
    let mapping = data.join("mapping.toml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let to = format!("sqlite:{}", db.display());
    let m = mapping.to_str().unwrap();
    // Refused before anyone assigned a patient, in one line that says what to do.
    run(data, &["notes", "review", "n-nobody"]).await;
    let r = run(
        data,
        &["notes", "import", "n-nobody", "--to", &to, "--mapping", m],
    )
    .await;
    assert!(one_line_error(&r).contains("assign"), "{}", r.stderr);
    // An id the practice's search does not find is refused.
    let r = run(
        data,
        &[
            "notes",
            "assign",
            "n-nobody",
            "--patient",
            "9999",
            "--to",
            &to,
            "--mapping",
            m,
        ],
    )
    .await;
    assert!(one_line_error(&r).contains("9999"));
    let r = run(
        data,
        &[
            "notes",
            "assign",
            "n-nobody",
            "--patient",
            "4412",
            "--search",
            "Haugen",
            "--to",
            &to,
            "--mapping",
            m,
            "--json",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(a["id"], "4412");
    assert_eq!(
        a["dateOfBirth"], "1991-11-17",
        "the database's identifiers are recorded"
    );
    assert!(unmatched(data).await.is_empty());
    let r = run(data, &["notes", "show", "n-nobody", "--json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["practicePatient"]["id"], "4412");

    // Undone: needs a patient again; assigned again; imported with that patient.
    let r = run(data, &["notes", "unassign", "n-nobody"]).await;
    assert!(r.stdout.contains("undone"), "{}", r.stdout);
    assert_eq!(unmatched(data).await, ["n-nobody"]);
    let r = run(
        data,
        &[
            "notes",
            "assign",
            "n-nobody",
            "--patient",
            "4412",
            "--to",
            &to,
            "--mapping",
            m,
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("practice patient 4412"), "{}", r.stdout);
    let r = run(
        data,
        &["notes", "import", "n-nobody", "--to", &to, "--mapping", m],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The confirmation names the practice patient written, not Askara's (it has none).
    assert!(
        r.stdout
            .contains("patient: assigned to practice patient 4412 (Haugen, Ørjan"),
        "{}",
        r.stdout
    );
    let pid: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT patient_id FROM consultation_notes WHERE askara_uuid = 'n-nobody'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pid, 4412);
    // Imported: the assignment is fixed.
    let r = run(data, &["notes", "unassign", "n-nobody"]).await;
    assert!(one_line_error(&r).contains("already in the practice database"));
    // Each step is in the note's audit trail: who, and which patient.
    let r = run(data, &["notes", "history", "n-nobody", "--json"]).await;
    let h: Value = serde_json::from_str(&r.stdout).unwrap();
    let actions: Vec<(String, Value)> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("patient_"))
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["detail"]["patientId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("patient_assigned".into(), json!("4412")),
            ("patient_unassigned".into(), json!("4412")),
            ("patient_assigned".into(), json!("4412")),
        ]
    );
}
