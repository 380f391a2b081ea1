//! Right note, right patient, in the real desktop app (tauri-driver → WebKitWebDriver → the
//! `askara-inbox-desktop` binary), against an Askara simulator whose notes carry only uuid and
//! names, as Askara's do, and whose `GET /patients/{uuid}` gives the date of birth and the
//! practice's external id:
//!
//! - two patients named alike are told apart in the list rows, the patient list and the note
//!   header by their date of birth (and external id; a missing date of birth says so);
//! - a note without a patient is in "Needs patient", is assigned through the picker (search a
//!   SQLite practice table through the mapping's `[patient_search]`, two identifiers per
//!   candidate, confirm), can be undone, and is imported with that practice patient's id; an
//!   unassigned one is refused with one clear line.
//!
//! Prerequisites as for `tests/desktop.rs` (`ASKARA_E2E=1` makes a missing one a failure).
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, js, prerequisites, shot, text_of, wait_js, Driver};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

fn at(minutes_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn note(uuid: &str, minutes_ago: i64, patient: Value) -> Value {
    json!({
        "uuid": uuid, "type": "consultation_summary", "content": "Knee pain after skiing.",
        "createdAt": at(minutes_ago), "updatedAt": at(minutes_ago), "patient": patient,
    })
}

const PRACTICE: &str = "
    CREATE TABLE patients (id INTEGER PRIMARY KEY, ext_ref TEXT, last TEXT, first TEXT, born TEXT);
    INSERT INTO patients VALUES (4411, '10023', 'Haugen', 'Ørjan', '1984-03-02'),
                                (4412, NULL, 'Haugen', 'Ørjan', '1991-11-17'),
                                (4413, '20077', 'García-Peña', 'José María', '1979-07-30');
    CREATE TABLE consultation_notes (id INTEGER PRIMARY KEY, askara_uuid TEXT NOT NULL UNIQUE,
                                     body TEXT NOT NULL, patient_id INTEGER);";

const MAPPING: &str = r#"
table = "consultation_notes"
[columns]
uuid = "askara_uuid"
content = "body"
[patient_search]
query = "SELECT id, last || ', ' || first, born, ext_ref FROM patients WHERE last LIKE '%' || $1 || '%' OR first LIKE '%' || $1 || '%' OR CAST(id AS TEXT) = $1 ORDER BY id"
column = "patient_id"
"#;

/// Text of the first element matching `css` ('' when none).
fn text_at(css: &str) -> String {
    format!("(document.querySelector(\"{css}\")?.textContent ?? '')")
}

async fn select_row(c: &Client, uuid: &str) {
    let row = format!(".row[data-uuid='{uuid}']");
    wait_js(c, "the row", &format!("document.querySelector(\"{row}\")")).await;
    click(c, &row).await;
    wait_js(
        c,
        "the note pane",
        &format!(
            "!document.getElementById('note').hidden && {} === '{uuid}'",
            text_of("note-uuid")
        ),
    )
    .await;
}

async fn show_filter(c: &Client, status: &str) {
    click(c, &format!(".filter[data-status='{status}']")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patients_are_told_apart_and_assigned_through_the_picker() {
    let paths = match prerequisites() {
        Ok(p) => p,
        Err(e) if std::env::var_os("ASKARA_E2E").is_some() => {
            panic!("end-to-end prerequisites: {e}")
        }
        Err(e) => {
            eprintln!("skipped (set ASKARA_E2E=1 to require it): {e}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let practice = tmp.path().join("practice.sqlite3");
    rusqlite::Connection::open(&practice)
        .unwrap()
        .execute_batch(PRACTICE)
        .unwrap();
    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(&mapping, MAPPING).unwrap();

    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig {
        device_auto_approve: true,
        device_poll_interval_secs: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    // Two different patients, both "Haugen, Ørjan", as Askara's notes name them.
    sim.add_note(note(
        "e2e-haugen-1",
        30,
        json!({"uuid": "p-haugen-1", "firstName": "Ørjan", "lastName": "Haugen"}),
    ));
    sim.add_note(note(
        "e2e-haugen-2",
        20,
        json!({"uuid": "p-haugen-2", "firstName": "Ørjan", "lastName": "Haugen"}),
    ));
    sim.set_patient(
        json!({"uuid": "p-haugen-1", "firstName": "Ørjan", "lastName": "Haugen",
                           "dateOfBirth": "1984-03-02T00:00:00+00:00", "externalId": "10023"}),
    );
    // Askara knows no date of birth for the second: the app says so, it guesses nothing.
    sim.set_patient(json!({"uuid": "p-haugen-2", "firstName": "Ørjan", "lastName": "Haugen"}));
    sim.add_note(note("e2e-nobody", 10, Value::Null));
    sim.add_note(note("e2e-nobody-2", 5, Value::Null));
    std::fs::write(
        data_dir.join("desktop.json"),
        serde_json::to_vec_pretty(&json!({
            "baseUrl": sim.base_url(),
            "clientId": sim.config().client_id,
            "intervalSecs": 5,
            "importTarget": format!("sqlite:{}", practice.display()),
            "mappingFile": mapping.display().to_string(),
        }))
        .unwrap(),
    )
    .unwrap();

    let driver = Driver::start(&paths, tmp.path(), &data_dir);
    let c = driver.session(&paths.app, &[]).await;
    wait_js(
        &c,
        "the sign-in screen",
        "!document.getElementById('signin').hidden",
    )
    .await;
    click(&c, "#btn-signin").await;
    wait_js(
        &c,
        "the inbox",
        "!document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length === 4",
    )
    .await;

    // List rows: same name, told apart by the identifiers beside it.
    let row_ids = |uuid: &str| text_at(&format!(".row[data-uuid='{uuid}'] .ids"));
    wait_js(
        &c,
        "the identifiers in the rows",
        &format!(
            "{}.includes('born 1984-03-02') && {}.includes('born')",
            row_ids("e2e-haugen-1"),
            row_ids("e2e-haugen-2")
        ),
    )
    .await;
    let name = |uuid: &str| text_at(&format!(".row[data-uuid='{uuid}'] .name"));
    assert_eq!(
        js(&c, &name("e2e-haugen-1")).await,
        js(&c, &name("e2e-haugen-2")).await
    );
    assert_eq!(
        js(&c, &row_ids("e2e-haugen-1")).await,
        json!("born 1984-03-02 · ID 10023")
    );
    assert_eq!(
        js(&c, &row_ids("e2e-haugen-2")).await,
        json!("born: not given")
    );

    // The patient list: two entries of one name, each with its identifiers.
    let entries = wait_js(
        &c,
        "two Haugen entries in the patient list",
        "(() => { const e = [...document.querySelectorAll('#patients .patient-label')] \
            .filter(l => l.querySelector('.patient-name').textContent === 'Haugen, Ørjan') \
            .map(l => l.querySelector('.ids').textContent).sort(); \
            return e.length === 2 && e; })()",
    )
    .await;
    assert_eq!(
        entries,
        json!(["born 1984-03-02 · ID 10023", "born: not given"])
    );

    // The note header.
    select_row(&c, "e2e-haugen-1").await;
    assert_eq!(
        js(&c, &text_of("note-patient")).await,
        json!("Haugen, Ørjan")
    );
    assert_eq!(
        js(&c, &text_of("note-extid")).await,
        json!("· born 1984-03-02 · ID 10023")
    );
    select_row(&c, "e2e-haugen-2").await;
    assert_eq!(
        js(&c, &text_of("note-extid")).await,
        json!("· born: not given")
    );
    shot(&c, &paths, "patients-01-told-apart").await;

    // "Needs patient": the two notes without one.
    wait_js(
        &c,
        "the needs-patient count",
        "document.querySelector('[data-count=needsPatient]').textContent === '2'",
    )
    .await;
    show_filter(&c, "needs-patient").await;
    wait_js(
        &c,
        "the needs-patient list",
        &format!(
            "{} === 'Needs patient' && document.querySelectorAll('.row[data-uuid]').length === 2",
            text_of("list-title")
        ),
    )
    .await;
    select_row(&c, "e2e-nobody").await;
    assert!(js(&c, &text_of("assign-text"))
        .await
        .as_str()
        .unwrap()
        .contains("Needs patient"));

    // Importing it before anyone assigned a patient is refused, in one line.
    click(&c, "#btn-import").await;
    let refused = wait_js(
        &c,
        "the refusal",
        &format!(
            "{0}.startsWith('Import failed') && {0}",
            text_of("import-result")
        ),
    )
    .await;
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("no practice patient is assigned"),
        "{refused}"
    );

    // The picker: search, two candidates of one name with two identifiers each, choose, confirm.
    click(&c, "#btn-assign").await;
    wait_js(
        &c,
        "the picker",
        "!document.getElementById('assign-picker').hidden",
    )
    .await;
    let search = c.find(Locator::Id("assign-search")).await.unwrap();
    search.send_keys("Haugen").await.unwrap();
    let found = wait_js(
        &c,
        "two candidates",
        "(() => { const c = [...document.querySelectorAll('#assign-candidates .candidate')] \
            .map(b => b.querySelector('.candidate-name').textContent + ' | ' + b.querySelector('.ids').textContent); \
            return document.getElementById('assign-candidates').dataset.query === 'Haugen' && c.length === 2 && c; })()",
    )
    .await;
    assert_eq!(
        found,
        json!([
            "Haugen, Ørjan | born 1984-03-02 · ID 10023",
            "Haugen, Ørjan | born 1991-11-17 · ID 4412"
        ])
    );
    assert_eq!(
        js(&c, "document.getElementById('btn-assign-confirm').disabled").await,
        json!(true),
        "nothing is chosen yet"
    );
    click(&c, "#assign-candidates .candidate[data-patient-id='4412']").await;
    assert!(js(&c, &text_of("assign-message"))
        .await
        .as_str()
        .unwrap()
        .contains("born 1991-11-17"));
    shot(&c, &paths, "patients-02-picker").await;
    click(&c, "#btn-assign-confirm").await;
    wait_js(
        &c,
        "the picker to close",
        "document.getElementById('assign-picker').hidden",
    )
    .await;
    wait_js(
        &c,
        "one note left needing a patient",
        "document.querySelector('[data-count=needsPatient]').textContent === '1' && !document.querySelector(\".row[data-uuid='e2e-nobody']\")",
    )
    .await;

    // In all notes: assigned, with the patient's identifiers; undo, and assign again.
    show_filter(&c, "all").await;
    select_row(&c, "e2e-nobody").await;
    let assigned = wait_js(
        &c,
        "the assignment",
        &format!("{0}.startsWith('Assigned') && {0}", text_of("assign-text")),
    )
    .await;
    assert!(
        assigned
            .as_str()
            .unwrap()
            .contains("Haugen, Ørjan · born 1991-11-17 · ID 4412"),
        "{assigned}"
    );
    click(&c, "#btn-unassign").await;
    wait_js(
        &c,
        "the undo",
        &format!(
            "{}.startsWith('Needs patient') && document.querySelector('[data-count=needsPatient]').textContent === '2'",
            text_of("assign-text")
        ),
    )
    .await;
    click(&c, "#btn-assign").await;
    let search = c.find(Locator::Id("assign-search")).await.unwrap();
    search.send_keys("4412").await.unwrap();
    wait_js(
        &c,
        "the one candidate",
        "document.getElementById('assign-candidates').dataset.query === '4412' && document.querySelectorAll('#assign-candidates .candidate').length === 1",
    )
    .await;
    click(&c, "#assign-candidates .candidate[data-patient-id='4412']").await;
    click(&c, "#btn-assign-confirm").await;
    wait_js(
        &c,
        "assigned again",
        &format!("{}.startsWith('Assigned')", text_of("assign-text")),
    )
    .await;

    // Imported with that patient; the confirmation names them; the assignment is now fixed.
    click(&c, "#btn-import").await;
    let result = wait_js(
        &c,
        "the import",
        &format!(
            "{0}.startsWith('Imported') && {0}",
            text_of("import-result")
        ),
    )
    .await;
    assert!(
        result
            .as_str()
            .unwrap()
            .contains("born 1991-11-17 · ID 4412"),
        "{result}"
    );
    wait_js(
        &c,
        "imported",
        &format!(
            "{} === 'imported' && document.getElementById('btn-unassign').hidden",
            text_of("note-status")
        ),
    )
    .await;
    let pid: i64 = rusqlite::Connection::open(&practice)
        .unwrap()
        .query_row(
            "SELECT patient_id FROM consultation_notes WHERE askara_uuid = 'e2e-nobody'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pid, 4412);
    shot(&c, &paths, "patients-03-imported").await;
    c.close().await.unwrap();
    drop(driver);
    sim.shutdown().await;
}
