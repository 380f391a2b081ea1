//! The idle lock (HIPAA automatic logoff) in the real desktop app, through its webview: an IT
//! policy file sets a short idle time; the PIN is chosen in the app; after the idle time the
//! page holds nothing of a note, the note commands refuse with `locked`, polling goes on, a
//! wrong PIN is counted, the right one brings the notes back; the Lock button locks at once,
//! quitting while locked does not unlock, and a full Askara sign-in unlocks too.
//!
//! Prerequisites as for `tests/desktop.rs` (`scripts/test.sh` provides them; `ASKARA_E2E=1`
//! makes a missing one a failure). Its own test binary, so it never runs beside that test's app.
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, invoke, js, prerequisites_or_skip, shot, text_of, wait_js, Driver};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The idle time the policy file sets (short, for the test; IT would use minutes).
const IDLE_SECS: u64 = 12;
const PIN: &str = "4827";
const SENTINEL: &str = "Sentinel finding LOCKTEST-7731: left knee effusion, aspirated.";

/// A note created `ago` before now (whole seconds, as Askara writes them).
fn note(uuid: &str, first: &str, last: &str, content: &str, ago: i64) -> Value {
    let at = (chrono::Utc::now() - chrono::Duration::seconds(ago))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    json!({
        "uuid": uuid,
        "type": "consultation_summary",
        "content": content,
        "createdAt": at,
        "updatedAt": at,
        "patient": {"uuid": format!("p-{uuid}"), "firstName": first, "lastName": last},
    })
}

async fn type_into(c: &Client, id: &str, text: &str) {
    let input = c.find(Locator::Id(id)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// Searches for the sentinel note and opens it; its text is in the pane.
async fn open_sentinel(c: &Client) {
    type_into(c, "search", "lockwood").await;
    wait_js(
        c,
        "the sentinel in the results",
        "document.getElementById('list').dataset.query === 'lockwood' && document.querySelector(\".row[data-uuid='e2e-lock']\")",
    )
    .await;
    click(c, ".row[data-uuid='e2e-lock']").await;
    wait_js(
        c,
        "the sentinel note",
        &format!("{}.includes('LOCKTEST-7731')", text_of("note-content")),
    )
    .await;
}

/// The whole document, as markup and as text: nothing of any note may be in either.
async fn assert_no_note_in_page(c: &Client, words: &[String], when: &str) {
    let html = js(c, "document.documentElement.outerHTML")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let text = js(c, "document.body.innerText")
        .await
        .as_str()
        .unwrap()
        .to_string();
    for w in words {
        assert!(
            !html.contains(w.as_str()),
            "{when}: `{w}` in the page's HTML"
        );
        assert!(
            !text.contains(w.as_str()),
            "{when}: `{w}` in the page's text"
        );
    }
    assert!(
        !html.to_lowercase().contains("lockwood"),
        "{when}: the search text in the page"
    );
    assert_eq!(
        js(
            c,
            "[document.getElementById('search').value, document.querySelectorAll('.row').length, document.getElementById('patients').children.length]"
        )
        .await,
        json!(["", 0, 0]),
        "{when}"
    );
}

async fn wait_locked(c: &Client, what: &str) {
    wait_js(
        c,
        what,
        "!document.getElementById('lock').hidden && document.getElementById('app').hidden",
    )
    .await;
}

async fn unlock_with(c: &Client, pin: &str) {
    type_into(c, "lock-pin", pin).await;
    click(c, "#btn-unlock").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_lock_hides_every_note_and_the_pin_unlocks() {
    let Some(paths) = prerequisites_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();

    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig {
        device_auto_approve: true,
        device_poll_interval_secs: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    sim.add_generated(30, 11);
    sim.add_note(note("e2e-lock", "Zofia", "Lockwood", SENTINEL, 60));
    std::fs::write(
        data_dir.join("settings.json"),
        serde_json::to_vec_pretty(&json!({
            "baseUrl": sim.base_url(),
            "clientId": sim.config().client_id,
            "intervalSecs": 5,
        }))
        .unwrap(),
    )
    .unwrap();
    // Everything of a note that must leave the page: each patient's name as the list shows
    // it, and the start of each note's text.
    let mut words = vec!["Lockwood".to_string(), "Zofia".into(), "LOCKTEST".into()];
    for uuid in sim.note_uuids() {
        let n = sim.note(&uuid).unwrap();
        let p = &n["patient"];
        if let (Some(first), Some(last)) = (p["firstName"].as_str(), p["lastName"].as_str()) {
            words.push(format!("{last}, {first}"));
        }
        let content: String = n["content"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(30)
            .collect();
        if content.trim().len() > 10 {
            words.push(content);
        }
    }
    let policy = tmp.path().join("policy.json");
    std::fs::write(&policy, format!("{{\"idle_lock_seconds\": {IDLE_SECS}}}")).unwrap();

    let driver = Driver::start_with_env(
        &paths,
        tmp.path(),
        &data_dir,
        &[("ASKARA_INBOX_POLICY_FILE", policy.as_os_str())],
    );
    let c = driver.session(&paths.app, &[]).await;

    // Sign in (the simulator approves the device code at once); the inbox fills.
    wait_js(
        &c,
        "the sign-in screen",
        "!document.getElementById('signin').hidden",
    )
    .await;
    click(&c, "#btn-signin").await;
    wait_js(&c, "the inbox", "!document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length > 0").await;

    // No PIN yet: the strip offers to choose one.
    wait_js(
        &c,
        "the offer to set a PIN",
        "!document.getElementById('btn-pin-setup').hidden",
    )
    .await;
    click(&c, "#btn-pin-setup").await;
    wait_js(
        &c,
        "the PIN screen",
        "!document.getElementById('pin-setup').hidden",
    )
    .await;
    type_into(&c, "pin-new", "1234").await;
    type_into(&c, "pin-repeat", "1234").await;
    click(&c, "#btn-pin-save").await;
    wait_js(
        &c,
        "an obvious PIN refused",
        &format!("{}.includes('too easy')", text_of("pin-message")),
    )
    .await;
    type_into(&c, "pin-new", PIN).await;
    type_into(&c, "pin-repeat", PIN).await;
    click(&c, "#btn-pin-save").await;
    wait_js(
        &c,
        "the PIN set",
        "document.getElementById('pin-setup').hidden && !document.getElementById('app').hidden && document.getElementById('btn-pin-setup').hidden",
    )
    .await;

    // IT's policy holds the setting: the field is read-only and says who set it.
    click(&c, "#btn-settings").await;
    wait_js(
        &c,
        "the settings",
        "!document.getElementById('settings').hidden",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "document.querySelector('[name=idleLockMinutes]').disabled"
        )
        .await,
        json!(true)
    );
    let said = js(&c, &text_of("idle-policy")).await;
    assert!(
        said.as_str().unwrap().contains("IT department")
            && said
                .as_str()
                .unwrap()
                .contains(&format!("{IDLE_SECS} seconds")),
        "{said}"
    );
    click(&c, "#btn-settings-cancel").await;

    // A note open, a search typed: then nobody touches anything.
    open_sentinel(&c).await;
    shot(&c, &paths, "lock-01-before").await;
    let idle_from = Instant::now();
    wait_locked(&c, "the idle lock").await;
    let waited = idle_from.elapsed();
    // Input is reported at most every quarter of the idle time, so the lock may come up to a
    // quarter early; not at once, though.
    assert!(
        waited >= Duration::from_secs(IDLE_SECS / 2),
        "locked after only {waited:?}"
    );
    shot(&c, &paths, "lock-02-locked").await;
    assert_no_note_in_page(&c, &words, "locked by the idle time").await;

    // The note commands refuse; the counts (all notifications say) still answer.
    for (cmd, args) in [
        (
            "list_notes",
            json!({"status": null, "patient": null, "offset": 0, "limit": 50}),
        ),
        (
            "search_notes",
            json!({"text": "lockwood", "status": null, "patient": null, "limit": 50}),
        ),
        ("get_note", json!({"uuid": "e2e-lock", "query": null})),
        ("note_versions", json!({"uuid": "e2e-lock"})),
        ("patients", json!({"text": null, "limit": 40})),
        (
            "set_status",
            json!({"uuid": "e2e-lock", "status": "reviewed"}),
        ),
        (
            "import_note",
            json!({"uuid": "e2e-lock", "allowUpdate": false}),
        ),
        ("set_pin", json!({"pin": "2580"})),
    ] {
        assert_eq!(
            invoke(&c, cmd, args).await,
            Err("locked".to_string()),
            "{cmd} while locked"
        );
    }
    let before = invoke(&c, "counts", json!({})).await.unwrap()["all"]
        .as_u64()
        .unwrap();
    assert_eq!(before, 31);

    // Polling goes on while locked: a note that arrives is counted, and still not shown.
    sim.add_note(note(
        "e2e-lock-2",
        "Quentin",
        "Latecomer",
        "Arrived while locked.",
        0,
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = invoke(&c, "counts", json!({})).await.unwrap()["all"]
            .as_u64()
            .unwrap();
        if all == before + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no poll while locked");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    words.push("Latecomer, Quentin".into());
    assert_no_note_in_page(&c, &words, "after a poll while locked").await;

    // A wrong PIN is counted, and says how many tries are left.
    unlock_with(&c, "1357").await;
    wait_js(
        &c,
        "the wrong try counted",
        &format!(
            "document.getElementById('lock').dataset.failedTries === '1' && {}.includes('Wrong PIN: 4 tries left')",
            text_of("lock-message")
        ),
    )
    .await;
    assert!(js(&c, &text_of("lock-tries"))
        .await
        .as_str()
        .unwrap()
        .starts_with("1 wrong try: 4 left"));
    let state = invoke(&c, "lock_state", json!({})).await.unwrap();
    assert_eq!(
        (state["locked"].clone(), state["failedTries"].clone()),
        (json!(true), json!(1))
    );
    shot(&c, &paths, "lock-03-wrong-pin").await;

    // The right PIN: the inbox again, the note readable.
    unlock_with(&c, PIN).await;
    wait_js(&c, "the inbox after the unlock", "document.getElementById('lock').hidden && !document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length > 0").await;
    open_sentinel(&c).await;

    // The Lock button locks at once; quitting while locked does not unlock.
    click(&c, "#btn-lock").await;
    wait_locked(&c, "the Lock button").await;
    assert_no_note_in_page(&c, &words, "locked by the button").await;
    c.close().await.unwrap();
    let c = driver.session(&paths.app, &[]).await;
    wait_locked(&c, "locked at start after quitting locked").await;
    assert_no_note_in_page(&c, &words, "started locked").await;
    assert_eq!(
        invoke(&c, "get_note", json!({"uuid": "e2e-lock", "query": null})).await,
        Err("locked".to_string())
    );
    unlock_with(&c, PIN).await;
    wait_js(&c, "the inbox after the restart", "!document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length > 0").await;
    open_sentinel(&c).await;

    // A full Askara sign-in unlocks too (the simulator approves the device code at once).
    click(&c, "#btn-lock").await;
    wait_locked(&c, "locked again").await;
    click(&c, "#btn-lock-signin").await;
    wait_js(
        &c,
        "the inbox after a full sign-in",
        "document.getElementById('lock').hidden && !document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length > 0",
    )
    .await;
    c.close().await.unwrap();
    drop(driver);

    // What the test left in the (test session's) keyring: the PIN's hash and the sign-in.
    secrets::KeyringValue::open(&secrets::pin_account(&data_dir))
        .unwrap()
        .clear()
        .unwrap();
    let account = secrets::token_account(&sim.base_url(), &sim.config().client_id);
    secrets::KeyringTokenStore::open(&account, &data_dir)
        .unwrap()
        .clear_entry()
        .unwrap();
    sim.shutdown().await;
}
