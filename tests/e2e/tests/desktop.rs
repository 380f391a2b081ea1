//! The real desktop app, driven through its webview: tauri-driver → WebKitWebDriver → the
//! `askara-inbox-desktop` binary, against an Askara simulator this test controls (so it can
//! add notes and inject a 429 or a revoked sign-in), importing into a SQLite file it checks.
//!
//! Needs a display (Xvfb), a Secret Service (gnome-keyring under D-Bus), `tauri-driver` and
//! `WebKitWebDriver`, and the app built first (`cargo build -p askara-inbox-desktop`);
//! `scripts/test.sh` provides all of them and sets `ASKARA_E2E=1`, which turns a missing
//! prerequisite into a failure instead of a skip.
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, js, prerequisites_or_skip, shot, text_of, wait_js, Driver};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Clicks the list row of the note `uuid` (searching for it first by `query`).
async fn open_note(c: &Client, query: &str, uuid: &str) {
    let search = c.find(Locator::Id("search")).await.unwrap();
    search.clear().await.unwrap();
    search.send_keys(query).await.unwrap();
    let row = format!(".row[data-uuid='{uuid}']");
    wait_js(
        c,
        "the search results",
        &format!(
            "{}.includes('found') && document.getElementById('list').dataset.query === '{query}' && document.querySelector(\"{row}\")",
            text_of("list-title")
        ),
    )
    .await;
    click(c, &row).await;
    wait_js(
        c,
        "the note pane",
        &format!("document.querySelector('.row.selected')?.dataset.uuid === '{uuid}' && !document.getElementById('note').hidden && document.getElementById('note-uuid').textContent === '{uuid}'"),
    )
    .await;
}

fn note(uuid: &str, first: &str, last: &str, content: &str) -> Value {
    let now = chrono_now();
    json!({
        "uuid": uuid,
        "type": "consultation_summary",
        "content": content,
        "createdAt": now,
        "updatedAt": now,
        "patient": {"uuid": format!("p-{uuid}"), "firstName": first, "lastName": last},
    })
}

fn chrono_now() -> String {
    // Whole seconds, as Askara writes them.
    (chrono::Utc::now() - chrono::Duration::seconds(120))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

const MARKUP: &str = "<img src=x onerror=\"window.__pwned=1\"><b>Bold?</b>\nSecond line & <script>window.__pwned=2</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_app_end_to_end() {
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
    sim.add_generated(40, 7);
    sim.add_note(note(
        "e2e-odegard",
        "Bjørn",
        "Ødegård",
        "Knee pain after skiing.\nRest and ice.",
    ));
    sim.add_note(note("e2e-markup", "Marko", "Upton", MARKUP));
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

    // Desktop notifications go over the session bus to org.freedesktop.Notifications; a bus
    // monitor sees each Notify call (and its text) whether or not a notification daemon runs.
    let notify_log = tmp.path().join("notifications.txt");
    let mut monitor = Command::new("dbus-monitor")
        .args([
            "--session",
            "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
        ])
        .stdout(std::fs::File::create(&notify_log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-monitor (Debian package dbus) to watch notifications");

    let driver = Driver::start(&paths, tmp.path(), &data_dir);
    let c = driver.session(&paths.app, &[]).await;

    // Sign-in: device code, approved by the simulator at once; lands in the inbox.
    wait_js(
        &c,
        "the sign-in screen",
        "!document.getElementById('signin').hidden",
    )
    .await;
    shot(&c, &paths, "01-sign-in").await;
    click(&c, "#btn-signin").await;
    wait_js(&c, "the inbox", "!document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length > 0").await;
    let strip = wait_js(
        &c,
        "the strip to say signed in",
        &format!("{0}.includes('Signed in') && {0}", text_of("strip-account")),
    )
    .await;
    assert!(strip.as_str().unwrap().contains("token"), "{strip}");
    assert_eq!(js(&c, &text_of("list-title")).await, json!("All notes"));

    // Notes arrive without a reload: a marker set in the page survives, the count goes up.
    js(&c, "window.__marker = 'still here'").await;
    let before: u64 = js(
        &c,
        "Number(document.querySelector('[data-count=all]').textContent)",
    )
    .await
    .as_u64()
    .unwrap();
    assert_eq!(before, 42);
    // Scrolled down a little: the note under the pointer stays under it when notes arrive.
    js(&c, "document.getElementById('list').scrollTop = 200").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let under = "(() => { const r = document.getElementById('list').getBoundingClientRect(); \
        return document.elementFromPoint(r.left + 120, r.top + 100)?.closest('.row')?.dataset.uuid ?? null; })()";
    let before_under = js(&c, under).await;
    assert!(before_under.is_string(), "{before_under}");
    let arrived = sim.add_generated_at(2, 99, chrono::Utc::now());
    wait_js(
        &c,
        "two more notes",
        &format!(
            "Number(document.querySelector('[data-count=all]').textContent) === {}",
            before + 2
        ),
    )
    .await;
    wait_js(
        &c,
        "the new-notes pill",
        &format!(
            "!document.getElementById('new-pill').hidden && {}",
            text_of("new-pill")
        ),
    )
    .await;
    assert_eq!(
        js(&c, under).await,
        before_under,
        "the row under the pointer moved"
    );
    // One desktop notification for them (the catch-up at sign-in had none), saying how many
    // and never whose.
    let deadline = Instant::now() + Duration::from_secs(15);
    let notified = loop {
        let text = std::fs::read_to_string(&notify_log).unwrap_or_default();
        if text.contains("2 new notes") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(notified.matches("member=Notify").count(), 1, "{notified}");
    assert!(notified.contains("string \"2 new notes\""), "{notified}");
    for uuid in &arrived {
        let p = &sim.note(uuid).unwrap()["patient"];
        for k in ["firstName", "lastName"] {
            let name = p[k].as_str().unwrap_or("no name in this synthetic note");
            assert!(
                !notified.contains(name),
                "{k} in a notification: {notified}"
            );
        }
    }
    let _ = monitor.kill();
    let _ = monitor.wait();
    assert_eq!(js(&c, "window.__marker").await, json!("still here"));
    let title = js(&c, "document.title").await;
    assert!(title.as_str().unwrap().starts_with("(44 new)"), "{title}");

    // Search as you type, accent- and case-insensitive.
    open_note(&c, "odegard", "e2e-odegard").await;
    assert_eq!(
        js(&c, &text_of("note-patient")).await,
        json!("Ødegård, Bjørn")
    );
    // The match is highlighted in the result (built from nodes, the name still whole).
    assert_eq!(
        js(&c, "[...document.querySelectorAll(\".row[data-uuid='e2e-odegard'] .name mark\")].map(m => m.textContent)").await,
        json!(["Ødegård"])
    );
    assert_eq!(
        js(
            &c,
            "document.querySelector(\".row[data-uuid='e2e-odegard'] .name\").textContent"
        )
        .await,
        json!("Ødegård, Bjørn")
    );
    assert_eq!(
        js(&c, &text_of("note-content")).await,
        json!("Knee pain after skiing.\nRest and ice.")
    );

    // Markup in a note is text: shown as its characters, no element made from it.
    open_note(&c, "upton", "e2e-markup").await;
    assert_eq!(js(&c, &text_of("note-content")).await, json!(MARKUP));
    assert_eq!(
        js(
            &c,
            "document.getElementById('note-content').children.length"
        )
        .await,
        json!(0)
    );
    assert_eq!(
        js(
            &c,
            "document.querySelectorAll('img, b, #note-content script').length"
        )
        .await,
        json!(0)
    );
    assert_eq!(js(&c, "window.__pwned ?? null").await, Value::Null);
    // And the CSP would stop an inline handler even if markup ever reached the page (and
    // reports it, so we know the handler was refused rather than never tried).
    js(&c, "(window.__violations = 0, document.addEventListener('securitypolicyviolation', () => window.__violations++), document.body.insertAdjacentHTML('beforeend', '<img id=csp-probe src=x onerror=\"window.__csp=1\">'), 1)").await;
    wait_js(&c, "a CSP violation report", "window.__violations > 0").await;
    assert_eq!(
        js(&c, "window.__csp ?? null").await,
        Value::Null,
        "CSP let an inline handler run"
    );
    js(&c, "(document.getElementById('csp-probe').remove(), 1)").await;
    // The capability grants the app's own commands only: a plugin command is refused.
    let refused = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             window.__TAURI_INTERNALS__.invoke('plugin:opener|open_url', {url: 'http://127.0.0.1:9/'}) \
               .then(() => done('allowed'), (e) => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        refused.as_str().unwrap().contains("not allowed"),
        "{refused}"
    );
    shot(&c, &paths, "02-markup-as-text").await;

    // Mark reviewed, import into SQLite, and find the row there.
    click(&c, "#btn-review").await;
    wait_js(
        &c,
        "reviewed",
        &format!("{} === 'reviewed'", text_of("note-status")),
    )
    .await;
    click(&c, "#btn-import").await;
    let result = wait_js(
        &c,
        "the import result",
        &format!(
            "{0}.startsWith('Imported') && {0}",
            text_of("import-result")
        ),
    )
    .await;
    assert!(
        result.as_str().unwrap().contains("practice.sqlite3"),
        "{result}"
    );
    wait_js(
        &c,
        "imported",
        &format!("{} === 'imported'", text_of("note-status")),
    )
    .await;
    {
        let db = rusqlite::Connection::open(&practice).unwrap();
        let (n, content): (i64, String) = db
            .query_row(
                "SELECT count(*), max(content) FROM askara_notes WHERE uuid = 'e2e-markup'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((n, content.as_str()), (1, MARKUP));
    }
    // Importing again is idempotent and says who imported it.
    click(&c, "#btn-import").await;
    wait_js(
        &c,
        "unchanged",
        &format!("{}.startsWith('Already in')", text_of("import-result")),
    )
    .await;
    shot(&c, &paths, "03-imported").await;

    // Dismiss, then undo, by keyboard: d, then u.
    open_note(&c, "odegard", "e2e-odegard").await;
    c.find(Locator::Id("list"))
        .await
        .unwrap()
        .send_keys("d")
        .await
        .unwrap();
    wait_js(
        &c,
        "dismissed",
        &format!("{} === 'dismissed'", text_of("note-status")),
    )
    .await;
    wait_js(
        &c,
        "the undo offer",
        "!document.getElementById('toast').hidden",
    )
    .await;
    click(&c, "#undo").await;
    wait_js(
        &c,
        "back to new",
        &format!("{} === 'new'", text_of("note-status")),
    )
    .await;

    // Escape clears the search; the main screenshot for the README, with a note open.
    let esc: char = fantoccini::key::Key::Escape.into();
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys(&esc.to_string())
        .await
        .unwrap();
    wait_js(
        &c,
        "all notes again",
        &format!("{} === 'All notes'", text_of("list-title")),
    )
    .await;
    c.find(Locator::Id("list"))
        .await
        .unwrap()
        .send_keys("j")
        .await
        .unwrap();
    wait_js(
        &c,
        "the list",
        "document.querySelectorAll('.row[data-uuid]').length > 10",
    )
    .await;
    shot(&c, &paths, "04-inbox").await;

    // Askara revises a note: it shows as revised, with the earlier version a click away.
    assert!(sim.revise_note("e2e-odegard", "Knee pain after skiing.\nMRI booked."));
    {
        // The revision pass runs every 5 minutes; make it due now (the inbox is shared SQLite).
        e2e_inbox(&data_dir)
            .set_sync_state(vec![(
                "poll.last_revision_pass".into(),
                "2000-01-01T00:00:00Z".into(),
            )])
            .await
            .unwrap();
    }
    click(&c, "#btn-sync").await;
    wait_js(
        &c,
        "one revised note",
        "document.querySelector('[data-count=revised]').textContent === '1'",
    )
    .await;
    open_note(&c, "odegard", "e2e-odegard").await;
    assert_eq!(
        js(&c, &text_of("note-content")).await,
        json!("Knee pain after skiing.\nMRI booked.")
    );
    // What Askara changed, word by word: removed struck through, added underlined.
    assert_eq!(
        js(
            &c,
            "[...document.querySelectorAll('#changes-text del')].map(e => e.textContent).join('|')"
        )
        .await,
        json!("Rest and ice.")
    );
    assert_eq!(
        js(
            &c,
            "[...document.querySelectorAll('#changes-text ins')].map(e => e.textContent).join('|')"
        )
        .await,
        json!("MRI booked.")
    );
    assert!(js(&c, &text_of("changes-title"))
        .await
        .as_str()
        .unwrap()
        .contains("previous version"));
    click(&c, "#btn-versions").await;
    wait_js(&c, "the earlier version", "document.querySelector('#versions .content')?.textContent === 'Knee pain after skiing.\\nRest and ice.'").await;
    shot(&c, &paths, "045-revised").await;
    // A webhook payload stored without Askara's confirmation (serve --trust-payloads) is
    // marked in the row and the pane, with the author the delivery named.
    {
        let inbox = e2e_inbox(&data_dir);
        let mut origin = inbox::Origin::unverified_webhook();
        origin
            .authors
            .insert("e2e-unverified".into(), "u-dictating".into());
        let n =
            askara::Note::from_json(note("e2e-unverified", "Unn", "Verifisert", "As delivered."))
                .unwrap();
        let rep = inbox
            .ingest_from(vec![n], origin, Vec::new())
            .await
            .unwrap();
        assert_eq!(rep.inserted, vec!["e2e-unverified".to_string()]);
    }
    open_note(&c, "verifisert", "e2e-unverified").await;
    assert_eq!(
        js(&c, "[document.querySelector('.row.selected').classList.contains('unverified'), document.getElementById('note-unverified').hidden, document.getElementById('note-author').textContent]").await,
        json!([true, false, " · recorded by Askara user u-dictating"])
    );
    open_note(&c, "odegard", "e2e-odegard").await;
    assert_eq!(
        js(&c, "[document.querySelector('.row.selected').classList.contains('unverified'), document.getElementById('note-unverified').hidden]").await,
        json!([false, true])
    );

    // A word of the content: marked in the result's snippet and in the note.
    open_note(&c, "SKIING", "e2e-odegard").await;
    wait_js(
        &c,
        "the marked content",
        "document.querySelector('#note-content mark')",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "[...document.querySelectorAll('#note-content mark')].map(m => m.textContent)"
        )
        .await,
        json!(["skiing"])
    );
    assert_eq!(
        js(&c, &text_of("note-content")).await,
        json!("Knee pain after skiing.\nMRI booked.")
    );
    assert_eq!(
        js(
            &c,
            "document.querySelector(\".row[data-uuid='e2e-odegard'] .type mark\")?.textContent"
        )
        .await,
        json!("skiing")
    );
    let esc: char = fantoccini::key::Key::Escape.into();
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys(&esc.to_string())
        .await
        .unwrap();

    // A 429 from Askara, in words, with the time it lifts.
    sim.faults()
        .rate_limit_next(50, askara_sim::RetryAfter::Seconds(900));
    click(&c, "#btn-sync").await;
    let problem = wait_js(
        &c,
        "the rate-limit problem",
        &format!("{0}.includes('rate limit') && {0}", text_of("problem-text")),
    )
    .await;
    assert!(problem.as_str().unwrap().contains("until"), "{problem}");
    shot(&c, &paths, "05-rate-limited").await;

    // A revoked sign-in, in words, with the way out.
    sim.faults().clear();
    sim.faults().revoke_all_tokens();
    click(&c, "#btn-sync").await;
    let problem = wait_js(
        &c,
        "the revoked sign-in",
        &format!("{0}.includes('revoked') && {0}", text_of("problem-text")),
    )
    .await;
    assert!(
        problem.as_str().unwrap().contains("Sign in again"),
        "{problem}"
    );
    assert_eq!(
        js(&c, "!document.getElementById('problem-signin').hidden").await,
        json!(true)
    );
    shot(&c, &paths, "06-sign-in-revoked").await;

    // Settings: test the connection to Askara and to the practice database; then sign out.
    click(&c, "#btn-settings").await;
    wait_js(
        &c,
        "the settings",
        "!document.getElementById('settings').hidden",
    )
    .await;
    click(&c, "#btn-test").await;
    let report = wait_js(
        &c,
        "the connection test",
        &format!(
            "{0}.includes('Connected') && {0}",
            text_of("settings-result")
        ),
    )
    .await;
    assert!(
        report.as_str().unwrap().contains("✓ Askara answered"),
        "{report}"
    );
    shot(&c, &paths, "08-settings").await;
    click(&c, "#btn-signout").await;
    wait_js(
        &c,
        "the sign-in screen after signing out",
        "!document.getElementById('signin').hidden && document.getElementById('app').hidden",
    )
    .await;
    c.close().await.unwrap();

    // Demo mode: its own simulator, signs itself in, notes within seconds; 3,000 of them
    // here, to scroll to the bottom of a virtualised list.
    let demo = driver
        .session(
            &paths.app,
            &["--demo", "--demo-every", "2", "--demo-notes", "3000"],
        )
        .await;
    wait_js(&demo, "the demo inbox", "!document.getElementById('app').hidden && document.querySelectorAll('.row[data-uuid]').length > 5").await;
    wait_js(
        &demo,
        "the demo badge",
        "!document.getElementById('demo-badge').hidden",
    )
    .await;
    let n0 = js(
        &demo,
        "Number(document.querySelector('[data-count=all]').textContent)",
    )
    .await
    .as_u64()
    .unwrap();
    wait_js(
        &demo,
        "a demo note arriving",
        &format!("Number(document.querySelector('[data-count=all]').textContent) > {n0}"),
    )
    .await;
    shot(&demo, &paths, "07-demo").await;
    js(&demo, "(() => { const l = document.getElementById('list'); l.scrollTop = l.scrollHeight; return 1; })()").await;
    let deepest = wait_js(
        &demo,
        "the bottom of the list",
        "(() => { const rows = [...document.querySelectorAll('.row[data-uuid]')]; \
            const last = Math.max(...rows.map((r) => Number(r.dataset.index))); \
            return rows.length > 5 && document.querySelectorAll('.row').length < 100 && last >= 2999 && last; })()",
    )
    .await;
    assert!(deepest.as_u64().unwrap() >= 2999, "{deepest}");
    demo.close().await.unwrap();
    drop(driver);
    sim.shutdown().await;
}

/// The desktop's inbox, opened with the key the app keeps in the (test session's) keyring.
fn e2e_inbox(data_dir: &std::path::Path) -> inbox::Inbox {
    app::inbox_key::open_inbox(data_dir, app::inbox_key::KeyPolicy::KeyringElseFile)
        .unwrap()
        .inbox
}
