//! Filters and bulk actions in the real desktop app, through its webview (tauri-driver →
//! WebKitWebDriver → `askara-inbox-desktop`), against a simulator this test fills: 50 notes of
//! one type are found with the type filter, selected with "Select all", marked reviewed in one
//! action and imported in one action (one confirmation) into a SQLite practice database that
//! then holds exactly 50 rows; a second bulk import says `unchanged` 50 times and leaves 50
//! rows. A date range narrows the list; a bulk dismissal is undone in one click.
//!
//! Prerequisites as for `desktop.rs` (scripts/test.sh provides them and sets ASKARA_E2E=1).
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, js, prerequisites_or_skip, shot, text_of, wait_js, Driver};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

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

fn practice_rows(practice: &std::path::Path, like: &str) -> i64 {
    let db = rusqlite::Connection::open(practice).unwrap();
    db.query_row(
        "SELECT count(*) FROM askara_notes WHERE uuid LIKE ?1",
        [like],
        |r| r.get(0),
    )
    .unwrap()
}

/// Sets a filter control as a person would (its value, then `change`).
async fn set_filter(c: &Client, id: &str, value: &str) {
    js(
        c,
        &format!(
            "(() => {{ const e = document.getElementById('{id}'); e.value = '{value}'; \
             e.dispatchEvent(new Event('change')); return 1; }})()"
        ),
    )
    .await;
}

/// How many result lines of the last bulk action say `result`.
fn results_saying(result: &str) -> String {
    format!("document.querySelectorAll('#bulk-results-list li[data-result=\"{result}\"]').length")
}

/// "Select all", then waits for the bulk bar to count `n`.
async fn select_all(c: &Client, n: usize) {
    click(c, "#btn-select-all").await;
    wait_js(
        c,
        "the selection",
        &format!(
            "{} === '{n} notes selected' && !document.getElementById('bulk-bar').hidden",
            text_of("bulk-count")
        ),
    )
    .await;
}

/// Import through the bulk bar: one confirmation naming how many and where.
async fn bulk_import(c: &Client, n: usize, practice: &std::path::Path) {
    click(c, "#bulk-import").await;
    let asked = wait_js(
        c,
        "the confirmation",
        &format!(
            "!document.getElementById('bulk-confirm').hidden && {}",
            text_of("bulk-confirm-text")
        ),
    )
    .await;
    let asked = asked.as_str().unwrap();
    assert!(asked.contains(&format!("Import {n} notes into")), "{asked}");
    assert!(
        asked.contains(&practice.display().to_string()),
        "the target is named: {asked}"
    );
    click(c, "#bulk-confirm-ok").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_notes_reviewed_and_imported_in_one_action_each() {
    let Some(paths) = prerequisites_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let practice = tmp.path().join("practice.sqlite3");

    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig {
        device_auto_approve: true,
        device_poll_interval_secs: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    // 20 notes of the simulator's own types, 50 of a type only they have (today, a minute
    // apart), and 5 from June 2019.
    sim.add_generated(20, 5);
    let today = chrono::Utc::now() - chrono::Duration::hours(2);
    for i in 0..50 {
        let at = (today - chrono::Duration::minutes(i)).format("%Y-%m-%dT%H:%M:%S+00:00");
        sim.add_note(note(
            &format!("bulk-{i:02}"),
            "bulk_letter",
            &at.to_string(),
        ));
    }
    for (i, day) in ["03", "08", "14", "20", "25"].iter().enumerate() {
        sim.add_note(note(
            &format!("old-{i}"),
            "old_letter",
            &format!("2019-06-{day}T12:00:00Z"),
        ));
    }
    std::fs::write(
        data_dir.join("desktop.json"),
        serde_json::to_vec_pretty(&json!({
            "baseUrl": sim.base_url(),
            "clientId": sim.config().client_id,
            "intervalSecs": 5,
            "importTarget": format!("sqlite:{}", practice.display()),
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
        "the whole inbox",
        "!document.getElementById('app').hidden && document.querySelector('[data-count=all]').textContent === '75'",
    )
    .await;

    // The type filter offers the types present; choosing one lists exactly its 50 notes.
    wait_js(
        &c,
        "the type choices",
        "document.querySelector('#filter-type option[value=\"bulk_letter\"]')?.textContent === 'Bulk letter'",
    )
    .await;
    set_filter(&c, "filter-type", "bulk_letter").await;
    wait_js(
        &c,
        "the 50 letters",
        &format!(
            "{}.endsWith('· 50 filtered') && document.querySelector('.row[data-index=\"0\"]')?.dataset.uuid === 'bulk-00'",
            text_of("list-title")
        ),
    )
    .await;
    assert_eq!(
        js(
            &c,
            "[...document.querySelectorAll('.row[data-uuid]')].every(r => r.dataset.uuid.startsWith('bulk-'))"
        )
        .await,
        json!(true)
    );
    assert!(!js(&c, "document.getElementById('filter-clear').hidden")
        .await
        .as_bool()
        .unwrap());

    // `x` ticks the focused row; "Select all" ticks all 50.
    c.find(Locator::Id("list"))
        .await
        .unwrap()
        .send_keys("jx")
        .await
        .unwrap();
    wait_js(
        &c,
        "one ticked row",
        &format!("{} === '1 note selected'", text_of("bulk-count")),
    )
    .await;
    assert_eq!(
        js(
            &c,
            "document.querySelector('.row.checked')?.dataset.uuid ?? null"
        )
        .await,
        json!("bulk-00")
    );
    select_all(&c, 50).await;
    shot(&c, &paths, "bulk-01-selected").await;

    // Reviewed, in one action: 50 result lines, 50 reviewed notes.
    click(&c, "#bulk-review").await;
    wait_js(
        &c,
        "50 reviewed",
        &format!(
            "{} === 50 && document.querySelector('[data-count=reviewed]').textContent === '50'",
            results_saying("reviewed")
        ),
    )
    .await;
    assert_eq!(
        js(
            &c,
            "document.querySelectorAll('#bulk-results-list li').length"
        )
        .await,
        json!(50)
    );
    assert_eq!(
        js(&c, &text_of("bulk-results-title")).await,
        json!("Mark reviewed: 50 reviewed")
    );
    assert!(js(&c, "document.getElementById('bulk-bar').hidden")
        .await
        .as_bool()
        .unwrap());

    // Import them, in one action with one confirmation: 50 imported, 50 rows.
    select_all(&c, 50).await;
    bulk_import(&c, 50, &practice).await;
    wait_js(
        &c,
        "50 imported",
        &format!(
            "{} === 50 && document.querySelector('[data-count=imported]').textContent === '50'",
            results_saying("imported")
        ),
    )
    .await;
    assert_eq!(
        js(
            &c,
            "document.querySelectorAll('#bulk-results-list li').length"
        )
        .await,
        json!(50)
    );
    assert_eq!(practice_rows(&practice, "bulk-%"), 50);
    assert_eq!(practice_rows(&practice, "%"), 50);
    shot(&c, &paths, "bulk-02-imported").await;

    // Again: each note once more, every one unchanged, still 50 rows.
    select_all(&c, 50).await;
    bulk_import(&c, 50, &practice).await;
    wait_js(
        &c,
        "50 unchanged",
        &format!(
            "{} === 50 && {}.startsWith('Import: 50 unchanged')",
            results_saying("unchanged"),
            text_of("bulk-results-title")
        ),
    )
    .await;
    assert_eq!(
        js(
            &c,
            "document.querySelectorAll('#bulk-results-list li').length"
        )
        .await,
        json!(50)
    );
    assert_eq!(practice_rows(&practice, "%"), 50);

    // A date range narrows the list: June 2019, 3 to 20 June, to included.
    set_filter(&c, "filter-type", "").await;
    set_filter(&c, "filter-since", "2019-06-01").await;
    set_filter(&c, "filter-until", "2019-06-20").await;
    wait_js(
        &c,
        "the June notes",
        &format!(
            "{}.endsWith('· 4 filtered') && document.querySelectorAll('.row[data-uuid]').length === 4",
            text_of("list-title")
        ),
    )
    .await;
    assert_eq!(
        js(
            &c,
            "[...document.querySelectorAll('.row[data-uuid]')].map(r => r.dataset.uuid).sort().join(',')"
        )
        .await,
        json!("old-0,old-1,old-2,old-3")
    );

    // Dismiss them in one action, then one Undo restores them.
    select_all(&c, 4).await;
    click(&c, "#bulk-dismiss").await;
    wait_js(
        &c,
        "4 dismissed",
        &format!(
            "document.querySelector('[data-count=dismissed]').textContent === '4' && {} === '4 notes dismissed.' && !document.getElementById('toast').hidden",
            text_of("toast-text")
        ),
    )
    .await;
    click(&c, "#undo").await;
    wait_js(
        &c,
        "the dismissal undone",
        "document.querySelector('[data-count=dismissed]').textContent === '0' && document.querySelector('[data-count=new]').textContent === '25'",
    )
    .await;
    shot(&c, &paths, "bulk-03-dates").await;

    // Clearing the filters shows everything again.
    click(&c, "#filter-clear").await;
    wait_js(
        &c,
        "all notes",
        &format!("{} === 'All notes'", text_of("list-title")),
    )
    .await;
    c.close().await.unwrap();
    drop(driver);
    sim.shutdown().await;
}
