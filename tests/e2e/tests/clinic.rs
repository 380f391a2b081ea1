//! Clinic mode in the real desktop app: a desk on the clinic's shared inbox (a throwaway
//! PostgreSQL set up with the CLI's `inbox init`), fed by the clinic server's poller (the CLI's
//! `sync` as a poller role, against the simulator), sees another desk's review within seconds
//! without a reload, shows the poller's status in its strip, acts under its own role, and
//! catches up by itself after the server restarts.
//!
//! Prerequisites as for `tests/desktop.rs`, plus PostgreSQL's server binaries (`postgresql`)
//! and the CLI built (`cargo build -p askara-inbox-cli`; `ASKARA_CLI_BIN` names another).
#![allow(clippy::unwrap_used)]

use askara_inbox_e2e::{click, js, prerequisites_or_skip, shot, text_of, wait_js, Driver};
use import::pg_harness::{TestPostgres, USER};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The CLI binary beside the desktop app's.
fn cli_binary(app: &Path) -> PathBuf {
    let cli = std::env::var_os("ASKARA_CLI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| app.with_file_name("askara-inbox"));
    assert!(
        cli.is_file(),
        "{} is not built: run `cargo build -p askara-inbox-cli` first",
        cli.display()
    );
    cli
}

/// The shared inbox's URL for `role` (its password: `pw-<role>`).
fn url(pg: &TestPostgres, role: &str) -> String {
    pg.url_with("127.0.0.1", "sslmode=disable")
        .replacen(USER, role, 1)
}

fn password(pg: &TestPostgres, role: &str) -> String {
    if role == USER {
        pg.password.clone()
    } else {
        format!("pw-{role}")
    }
}

fn cli(bin: &Path, pg: &TestPostgres, role: &str, data: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--data-dir")
        .arg(data)
        .args(["--inbox", &url(pg, role)])
        .env("PGPASSWORD", password(pg, role))
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .env_remove("ASKARA_INBOX_URL")
        .stdin(Stdio::null());
    cmd
}

/// Runs the CLI as `role`; its stdout, after checking it succeeded.
async fn run(bin: &Path, pg: &TestPostgres, role: &str, data: &Path, args: &[&str]) -> String {
    let out = cli(bin, pg, role, data)
        .args(args)
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "askara-inbox {args:?} as {role}: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The row of note `uuid` shows `status` (and the open note too, when it is the one open).
fn shows(uuid: &str, status: &str) -> String {
    format!(
        "document.querySelector(\".row[data-uuid='{uuid}']\")?.classList.contains('status-{status}') \
         && (document.getElementById('note-uuid').textContent !== '{uuid}' \
             || document.getElementById('note-status').textContent.includes('{status}'))"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_on_the_clinic_inbox_sees_another_desk_at_once_and_the_clinic_servers_sync() {
    let Some(paths) = prerequisites_or_skip() else {
        return;
    };
    let bin = cli_binary(&paths.app);
    let mut pg = TestPostgres::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("cli");
    std::fs::create_dir_all(&scratch).unwrap();

    // The clinic's IT: the shared inbox, the server's role and two desks' roles.
    let init = run(&bin, &pg, USER, &scratch, &["inbox", "init"]).await;
    assert!(init.contains("clinic inbox at"), "{init}");
    for (role, group) in [
        ("clinic_server", app::inbox_store::POLLER_ROLE),
        ("reception", app::inbox_store::STAFF_ROLE),
        ("dr_lund", app::inbox_store::STAFF_ROLE),
    ] {
        pg.run_sql(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE {group}"
        ))
        .unwrap();
    }

    // The clinic server: a first sync from Askara (the simulator), then its poller, which
    // publishes its status in the shared inbox for the desks.
    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig::default())
        .await
        .unwrap();
    sim.add_generated(6, 12);
    let base = sim.base_url();
    let server_dir = tmp.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let server_args = ["--base-url", &base, "--client-id", "askara-inbox-demo"];
    let once = run(
        &bin,
        &pg,
        "clinic_server",
        &server_dir,
        &[&["sync", "--once"][..], &server_args[..]].concat(),
    )
    .await;
    assert!(once.contains("6 new"), "{once}");
    let mut poller = cli(&bin, &pg, "clinic_server", &server_dir)
        .args(["sync", "--interval", "3"])
        .args(server_args)
        .env("ASKARA_CLIENT_SECRET", "sim-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // The reception desk: the clinic server chosen in its settings, the role's password in
    // the OS keyring where Settings puts it (no PGPASSWORD for the app).
    let desk_dir = tmp.path().join("desk");
    std::fs::create_dir_all(&desk_dir).unwrap();
    let desk_url = url(&pg, "reception");
    std::fs::write(
        desk_dir.join("settings.json"),
        serde_json::to_vec_pretty(&json!({
            "baseUrl": base,
            "clientId": "askara-inbox-demo",
            "inboxUrl": desk_url,
        }))
        .unwrap(),
    )
    .unwrap();
    app::importing::remember_password(&desk_url, &askara::Sensitive::new("pw-reception".into()))
        .unwrap();
    let driver = Driver::start(&paths, tmp.path(), &desk_dir);
    let c = driver.session(&paths.app, &[]).await;

    // No Askara sign-in on a desk: straight into the shared inbox.
    let rows = "Array.from(document.querySelectorAll('.row[data-uuid]')).map((r) => r.dataset.uuid).filter(Boolean)";
    wait_js(
        &c,
        "the clinic inbox's notes",
        &format!("!document.getElementById('app').hidden && {rows}.length === 6"),
    )
    .await;
    assert_eq!(
        js(&c, "document.getElementById('signin').hidden").await,
        json!(true)
    );
    assert_eq!(js(&c, &text_of("btn-sync")).await, json!("Refresh"));
    // The strip: the clinic server's sync as its poller published it, and this desk's role.
    let sync = wait_js(
        &c,
        "the clinic poller's status in the strip",
        &format!(
            "{0}.startsWith('Clinic inbox · synced ') && {0}.includes(' by clinic_server@') && {0}.includes('next in') && {0}",
            text_of("strip-sync")
        ),
    )
    .await;
    eprintln!("e2e: strip says {sync}");
    assert_eq!(
        js(&c, &text_of("strip-account")).await,
        json!("You act as reception")
    );
    assert_eq!(
        js(&c, "document.getElementById('problem').hidden").await,
        json!(true)
    );
    let uuids: Vec<String> = serde_json::from_value(js(&c, rows).await).unwrap();

    // Another desk reviews the note open here: shown within seconds, without a reload.
    js(&c, "window.__marker = 'still here'").await;
    let open = &uuids[0];
    click(&c, &format!(".row[data-uuid='{open}']")).await;
    wait_js(
        &c,
        "the note pane",
        &format!(
            "{} === '{open}' && {}.includes('new')",
            text_of("note-uuid"),
            text_of("note-status")
        ),
    )
    .await;
    let scratch_lund = tmp.path().join("dr-lund");
    std::fs::create_dir_all(&scratch_lund).unwrap();
    let reviewed_at = Instant::now();
    run(
        &bin,
        &pg,
        "dr_lund",
        &scratch_lund,
        &["notes", "review", open],
    )
    .await;
    wait_js(
        &c,
        "dr_lund's review on this desk",
        &shows(open, "reviewed"),
    )
    .await;
    let took = reviewed_at.elapsed();
    eprintln!("e2e: another desk's review shown after {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "another desk's review took {took:?} to show"
    );
    wait_js(
        &c,
        "the counts",
        "document.querySelector('[data-count=reviewed]').textContent === '1'",
    )
    .await;
    assert_eq!(js(&c, "window.__marker").await, json!("still here"));
    shot(&c, &paths, "clinic-01-review-from-another-desk").await;

    // This desk's own review is the role's in the shared audit trail.
    let mine = &uuids[1];
    click(&c, &format!(".row[data-uuid='{mine}']")).await;
    wait_js(
        &c,
        "the second note",
        &format!("{} === '{mine}'", text_of("note-uuid")),
    )
    .await;
    click(&c, "#btn-review").await;
    wait_js(&c, "the desk's own review", &shows(mine, "reviewed")).await;
    let shown: Value = serde_json::from_str(
        &run(
            &bin,
            &pg,
            "dr_lund",
            &scratch_lund,
            &["notes", "show", mine, "--json"],
        )
        .await,
    )
    .unwrap();
    assert_eq!(shown["status"], "reviewed");
    let history = run(&bin, &pg, USER, &scratch, &["notes", "history", mine]).await;
    assert!(history.contains("reception"), "{history}");

    // Settings: the clinic server chosen, and "Test connection" answers as which role.
    click(&c, "#btn-settings").await;
    wait_js(
        &c,
        "the settings",
        "!document.getElementById('settings').hidden && document.querySelector('input[name=inboxPlace][value=clinic]').checked && !document.getElementById('inbox-clinic').hidden",
    )
    .await;
    assert_eq!(
        js(&c, "document.querySelector('input[name=inboxUrl]').value").await,
        json!(desk_url)
    );
    click(&c, "#btn-test-inbox").await;
    let tested = wait_js(
        &c,
        "the connection test",
        &format!("{0}.startsWith('✓') && {0}", text_of("inbox-test-result")),
    )
    .await;
    assert_eq!(
        tested,
        json!(format!(
            "✓ Connected to the clinic inbox at {desk_url} as reception"
        ))
    );
    shot(&c, &paths, "clinic-02-settings").await;
    click(&c, "#btn-settings-cancel").await;

    // The clinic server restarts: the desk says it is unreachable and retrying, then catches
    // up by itself, including what changed before it was listening again.
    pg.stop();
    wait_js(
        &c,
        "the strip to say the clinic server is unreachable",
        &format!(
            "!document.getElementById('problem').hidden && {0}.includes('The clinic server is unreachable') && {0}.includes('retrying')",
            text_of("problem-text")
        ),
    )
    .await;
    shot(&c, &paths, "clinic-03-unreachable").await;
    pg.start_again();
    let later = &uuids[2];
    run(
        &bin,
        &pg,
        "dr_lund",
        &scratch_lund,
        &["notes", "dismiss", later],
    )
    .await;
    wait_js(&c, "the desk to catch up", &shows(later, "dismissed")).await;
    wait_js(
        &c,
        "the strip to clear",
        &format!(
            "document.getElementById('problem').hidden && {} === 'You act as reception'",
            text_of("strip-account")
        ),
    )
    .await;
    assert_eq!(js(&c, "window.__marker").await, json!("still here"));

    let _ = c.close().await;
    drop(driver);
    poller.start_kill().unwrap();
    let _ = poller.wait().await;
}
