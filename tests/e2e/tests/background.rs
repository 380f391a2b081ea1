//! All day in the background, in the real desktop app under Xvfb: closing the window (a real
//! WM_DELETE_WINDOW, as a title bar's close button sends) hides it while the app keeps polling;
//! a second launch on the same data dir exits at once and brings the first window back; with
//! "close quits" chosen in Settings, closing quits.
//!
//! Prerequisites as for `tests/desktop.rs`, plus Debian's python3-xlib (`x11win.py` plays the
//! window manager Xvfb lacks). Its own test binary, so it never runs beside another app.
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, invoke, prerequisites_or_skip, wait_js, Driver};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TITLE: &str = "Askara Inbox";

/// `viewable`, `unmapped` or `absent` (or `sent` for `close`).
fn x11(action: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("x11win.py");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .args([action, TITLE])
        .output()
        .expect("/usr/bin/python3 to run x11win.py");
    assert!(
        out.status.success() || action == "close",
        "x11win.py {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_window(state: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = x11("state");
        if now == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the window stayed {now}, expected {state}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn note(uuid: &str) -> Value {
    let at = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    json!({
        "uuid": uuid, "type": "consultation_summary", "content": "Knee pain.",
        "createdAt": at, "updatedAt": at,
        "patient": {"uuid": format!("p-{uuid}"), "firstName": "Kari", "lastName": "Nordmann"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_hides_to_the_tray_and_a_second_launch_brings_the_window_back() {
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
    sim.add_note(note("bg-first"));
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
        "!!document.querySelector('.row[data-uuid=\"bg-first\"]')",
    )
    .await;
    wait_window("viewable");

    // Closed: hidden, not quit. Polling goes on: a note arriving now reaches the inbox.
    assert_eq!(x11("close"), "sent");
    wait_window("unmapped");
    sim.add_note(note("bg-while-hidden"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while invoke(&c, "get_note", json!({"uuid": "bg-while-hidden"}))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "a note that arrived while the window was hidden never reached the inbox"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A second launch on the same data dir: exits at once, and the first window is back.
    let mut second = Command::new(&paths.app)
        .env("ASKARA_INBOX_DATA_DIR", &data_dir)
        .env("XDG_DATA_HOME", tmp.path().join("data-home-2"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second launch kept running beside the first");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "second launch: {status}: {stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    wait_window("viewable");

    // "Close quits" chosen in Settings: closing ends the app (its window is gone).
    let mut settings = invoke(&c, "get_settings", json!({})).await.unwrap();
    assert_eq!(settings["closeToTray"], json!(true));
    settings["closeToTray"] = json!(false);
    invoke(
        &c,
        "save_settings",
        json!({"settings": settings, "password": null}),
    )
    .await
    .unwrap();
    assert_eq!(x11("close"), "sent");
    wait_window("absent");
}
