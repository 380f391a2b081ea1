//! Reading a note with care, in the real app (tauri-driver → WebKitWebDriver → the desktop
//! binary) against a simulator this test fills with exact notes: the list's first view
//! (newest on top after signing in, and when notes arrive while nobody scrolled), Markdown
//! shown formatted and safely (markup stays text, links are not links), provenance (who
//! recorded it, the recording, how it came), the plain text copied and the note printed, and
//! the note's history as the steps are taken.
//!
//! Prerequisites as for `tests/desktop.rs` (Xvfb, a Secret Service, tauri-driver,
//! WebKitWebDriver, the app built); `ASKARA_E2E=1` turns a missing one into a failure.
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, js, prerequisites_or_skip, shot, text_of, wait_js, Driver};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

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
            "document.getElementById('list').dataset.query === '{query}' && document.querySelector(\"{row}\")"
        ),
    )
    .await;
    click(c, &row).await;
    wait_js(
        c,
        "the note pane",
        &format!("!document.getElementById('note').hidden && document.getElementById('note-uuid').textContent === '{uuid}'"),
    )
    .await;
}

/// Whole seconds `secs` ago, as Askara writes them.
fn ago(secs: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn note(uuid: &str, secs_ago: i64, first: &str, last: &str, content: &str) -> Value {
    let at = ago(secs_ago);
    json!({
        "uuid": uuid,
        "type": "consultation_summary",
        "content": content,
        "createdAt": at,
        "updatedAt": at,
        "patient": {"uuid": format!("p-{uuid}"), "firstName": first, "lastName": last,
                    "externalId": "4411"},
    })
}

const MARKDOWN: &str =
    "# Assessment\n\n**BP** 120/80, *stable*.\nNo fever.\n\n## Plan\n\n- Rest\n- Ice twice daily";

const HOSTILE: &str = "## Plan\n\n<img src=x onerror=\"window.__pwned=1\">\n\nInline <img src=x onerror=\"window.__pwned=2\"> and a [link](javascript:window.__pwned=3) and <script>window.__pwned=4</script>";

/// `[...document.querySelectorAll(css)].map(e => e.textContent)`
async fn texts(c: &Client, css: &str) -> Value {
    js(
        c,
        &format!("[...document.querySelectorAll(\"{css}\")].map((e) => e.textContent)"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_reads_formatted_safely_with_provenance_and_history() {
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
    // Older notes, then ours, then the newest of all.
    sim.add_generated_at(30, 11, chrono::Utc::now() - chrono::Duration::hours(3));
    let mut md = note("read-md", 90, "Solveig", "Brekke", MARKDOWN);
    md["user"] = json!({"uuid": "u-amelie", "firstName": "Amélie", "lastName": "Rousseau"});
    md["audio"] = json!({"uuid": "a-md", "duration": 95, "createdAt": ago(300)});
    sim.add_note(md);
    sim.add_note(note("read-xss", 100, "Xander", "Sikker", HOSTILE));
    sim.add_note(note("read-newest", 5, "Nora", "Nyberg", "The newest note."));
    std::fs::write(
        data_dir.join("desktop.json"),
        serde_json::to_vec_pretty(&json!({
            "baseUrl": sim.base_url(),
            "clientId": sim.config().client_id,
            "intervalSecs": 5,
        }))
        .unwrap(),
    )
    .unwrap();

    let driver = Driver::start(&paths, tmp.path(), &data_dir);
    let c = driver.session(&paths.app, &[]).await;

    // First view: after signing in, the newest note is the top row, the list at the top.
    wait_js(
        &c,
        "the sign-in screen",
        "!document.getElementById('signin').hidden",
    )
    .await;
    click(&c, "#btn-signin").await;
    wait_js(
        &c,
        "the synced inbox",
        "!document.getElementById('app').hidden && document.querySelector('[data-count=all]').textContent === '33' && document.querySelector(\".row[data-index='0']\")?.dataset.uuid",
    )
    .await;
    let first_view = "[document.querySelector(\".row[data-index='0']\")?.dataset.uuid, document.getElementById('list').scrollTop, document.getElementById('new-pill').hidden]";
    assert_eq!(js(&c, first_view).await, json!(["read-newest", 0, true]));
    // A note selected at the top (the pointer over the list), then notes arrive: they show
    // on top, and the open note stays open and selected where it moved to.
    click(&c, ".row[data-index='2']").await;
    let selected = wait_js(
        &c,
        "a note open",
        "!document.getElementById('note').hidden && document.querySelector('.row.selected')?.dataset.uuid === document.getElementById('note-uuid').textContent && document.getElementById('note-uuid').textContent",
    )
    .await;
    sim.add_note(note(
        "read-arrived",
        1,
        "Ada",
        "Ankomst",
        "Arrived while reading.",
    ));
    click(&c, "#btn-sync").await;
    wait_js(
        &c,
        "the arrived note on top",
        "document.querySelector('[data-count=all]').textContent === '34' && document.querySelector(\".row[data-index='0']\")?.dataset.uuid === 'read-arrived'",
    )
    .await;
    assert_eq!(
        js(&c, "[document.getElementById('list').scrollTop, document.getElementById('new-pill').hidden, document.querySelector('.row.selected')?.dataset.uuid, document.getElementById('note-uuid').textContent]").await,
        json!([0, true, selected, selected])
    );

    // Markdown, formatted: headings, bold, italics, a list, a line break.
    open_note(&c, "brekke", "read-md").await;
    assert_eq!(texts(&c, "#note-text h3").await, json!(["Assessment"]));
    assert_eq!(texts(&c, "#note-text h4").await, json!(["Plan"]));
    assert_eq!(texts(&c, "#note-text strong").await, json!(["BP"]));
    assert_eq!(texts(&c, "#note-text em").await, json!(["stable"]));
    assert_eq!(
        texts(&c, "#note-text li").await,
        json!(["Rest", "Ice twice daily"])
    );
    assert_eq!(
        js(&c, "document.querySelectorAll('#note-text p br').length").await,
        json!(1)
    );
    // The plain text is there too, exactly as Askara sent it, a click away.
    assert_eq!(
        js(&c, "[document.getElementById('note-text').hidden, document.getElementById('note-content').hidden]").await,
        json!([false, true])
    );
    assert_eq!(js(&c, &text_of("note-content")).await, json!(MARKDOWN));
    click(&c, "#btn-plain").await;
    assert_eq!(
        js(&c, "[document.getElementById('note-text').hidden, document.getElementById('note-content').hidden]").await,
        json!([true, false])
    );
    click(&c, "#btn-plain").await;

    // Provenance: who recorded it, the recording, when written, how it came.
    assert_eq!(
        js(&c, &text_of("prov-author")).await,
        json!("Amélie Rousseau")
    );
    assert_eq!(
        js(&c, &text_of("note-author")).await,
        json!(" · recorded by Amélie Rousseau")
    );
    let recording = js(&c, &text_of("prov-recording")).await;
    assert!(
        recording.as_str().unwrap().ends_with(" · 1 min 35 s"),
        "{recording}"
    );
    let source = js(&c, &text_of("prov-source")).await;
    let source = source.as_str().unwrap();
    assert!(source.starts_with("polled from Askara, "), "{source}");
    assert!(source.ends_with(" · verified with Askara"), "{source}");
    assert!(js(&c, &text_of("prov-written"))
        .await
        .as_str()
        .unwrap()
        .contains("not revised since"));
    shot(&c, &paths, "10-formatted-note").await;

    // Copy as plain text: the content as sent (the clipboard stood in for, to read it back).
    js(&c, "(Object.defineProperty(navigator, 'clipboard', {configurable: true, value: {writeText: (t) => { window.__copied = t; return Promise.resolve(); }}}), 1)").await;
    click(&c, "#btn-copy").await;
    assert_eq!(
        wait_js(&c, "the copied text", "window.__copied").await,
        json!(MARKDOWN)
    );
    // Print: the open note, the patient and their identifiers in the page header.
    js(&c, "(window.print = () => { window.__printed = [document.getElementById('print-header').textContent, document.querySelector('#print-body h3')?.textContent]; }, 1)").await;
    click(&c, "#btn-print").await;
    let printed = wait_js(&c, "the print", "window.__printed").await;
    let header = printed[0].as_str().unwrap();
    for want in ["Brekke, Solveig", "ID 4411", "Askara patient p-read-md"] {
        assert!(header.contains(want), "{want} not in {header}");
    }
    assert_eq!(printed[1], json!("Assessment"));

    // History: the steps just taken, oldest first, with who took them.
    click(&c, "#btn-review").await;
    wait_js(
        &c,
        "reviewed",
        &format!("{} === 'reviewed'", text_of("note-status")),
    )
    .await;
    click(&c, "#btn-history").await;
    wait_js(
        &c,
        "the history",
        "[...document.querySelectorAll('#history-list .what')].map((e) => e.textContent).includes('reviewed')",
    )
    .await;
    let whats = texts(&c, "#history-list .what").await;
    assert_eq!(whats[0], json!("arrived (polled from Askara)"), "{whats}");
    assert!(
        whats.as_array().unwrap().contains(&json!("read")),
        "{whats}"
    );
    // The review as the audit log recorded it (newest first; the note's reload after the
    // review is a read of its own, after it).
    let recorded = e2e_inbox(&data_dir)
        .audit_log(Some("read-md".into()), 50)
        .await
        .unwrap();
    let review = recorded
        .iter()
        .find(|e| e.action == "status_changed")
        .unwrap();
    assert_eq!(
        js(&c, "(() => { const li = document.querySelector(\"#history-list li[data-action='status_changed']\"); return [li.querySelector('.what').textContent, li.querySelector('.actor').textContent, li.querySelector('.actor').title]; })()").await,
        json!([
            "reviewed",
            app::history::actor_label(&review.actor),
            review.actor
        ])
    );
    // Open, it follows: dismissed, then undone.
    let last_move = "[...document.querySelectorAll(\"#history-list li[data-action='status_changed'] .what\")].pop()?.textContent";
    click(&c, "#btn-dismiss").await;
    wait_js(
        &c,
        "dismissed in the history",
        &format!("{last_move} === 'dismissed'"),
    )
    .await;
    click(&c, "#undo").await;
    wait_js(
        &c,
        "the undo in the history",
        &format!("{last_move} === 'undone: the dismissal (back to reviewed)'"),
    )
    .await;
    shot(&c, &paths, "11-history").await;

    // Markup in a note's Markdown runs nothing and shows as text; a link is only its words.
    open_note(&c, "sikker", "read-xss").await;
    assert_eq!(texts(&c, "#note-text h4").await, json!(["Plan"]));
    assert_eq!(
        texts(&c, "#note-text p").await,
        json!([
            "<img src=x onerror=\"window.__pwned=1\">",
            "Inline <img src=x onerror=\"window.__pwned=2\"> and a link and <script>window.__pwned=4</script>"
        ])
    );
    assert_eq!(
        js(
            &c,
            "document.querySelectorAll('img, #note-text :not(h3, h4, p, strong, em, ul, ol, li, br, code, pre, hr, mark)').length"
        )
        .await,
        json!(0)
    );
    assert!(!js(&c, &text_of("note-text"))
        .await
        .as_str()
        .unwrap()
        .contains("javascript"));
    // The plain text stays what it was: the characters as sent, no element in it.
    assert_eq!(
        js(&c, "[document.getElementById('note-content').textContent, document.getElementById('note-content').children.length]").await,
        json!([HOSTILE, 0])
    );
    // The history section followed this note too.
    wait_js(
        &c,
        "this note's history",
        "document.getElementById('history').dataset.uuid === 'read-xss'",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(js(&c, "window.__pwned ?? null").await, Value::Null);

    c.close().await.unwrap();
    drop(driver);
    sim.shutdown().await;
}

/// The desktop's inbox, opened with the key the app keeps in the (test session's) keyring.
fn e2e_inbox(data_dir: &std::path::Path) -> inbox::Inbox {
    app::inbox_key::open_inbox(data_dir, app::inbox_key::KeyPolicy::KeyringElseFile)
        .unwrap()
        .inbox
}
