//! The shared workflows against real parts: SQLite inboxes and targets, a throwaway
//! PostgreSQL, the token file, and the real OS keyring when the session has one
//! (`scripts/test.sh` runs tests under a private D-Bus session with gnome-keyring).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use app::credentials::{self, Storage, StorePolicy};
use app::importing::{self, AttemptResult, ImportDetail, ImportOptions};
use app::{AppError, Identity};
use askara::{Sensitive, TokenSet};
use inbox::{Inbox, Source, Status};
use secrets::keyring_or_skip;
use serde_json::json;

fn who() -> Identity {
    Identity {
        actor: "reception-1".into(),
        workstation: "desk-3".into(),
    }
}

fn note(uuid: &str, content: &str, updated: &str) -> askara::Note {
    askara::Note::from_json(json!({
        "uuid": uuid, "type": "consultation_summary", "content": content,
        "createdAt": "2026-02-24T10:30:00+00:00", "updatedAt": updated,
        "patient": {"uuid": format!("p-{uuid}"), "firstName": "Synthetic", "lastName": "Patient"}
    }))
    .unwrap()
}

async fn inbox_with(dir: &Path, notes: Vec<askara::Note>) -> Inbox {
    let inbox = Inbox::open(dir.join("inbox.sqlite3"), &test_key()).unwrap();
    inbox.ingest(notes, Source::Poll, Vec::new()).await.unwrap();
    inbox
}

#[tokio::test]
async fn an_import_is_audited_with_the_version_it_wrote_and_a_dry_run_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = inbox_with(
        dir.path(),
        vec![
            note("n-1", "First.", "2026-02-24T10:31:00+00:00"),
            note("n-2", "Second.", "2026-02-24T10:32:00+00:00"),
        ],
    )
    .await;
    let target_url = format!("sqlite:{}", dir.path().join("practice.db").display());
    let target = importing::connect(&target_url, None, None).await.unwrap();
    let notes = vec![
        inbox.get("n-1").await.unwrap().unwrap(),
        inbox.get("n-2").await.unwrap().unwrap(),
    ];

    // A dry run: results, nothing written, nothing audited.
    let dry = importing::import_notes(
        &inbox,
        target.as_ref(),
        &notes,
        ImportOptions {
            dry_run: true,
            ..ImportOptions::default()
        },
        &who(),
    )
    .await
    .unwrap();
    assert!(dry.iter().all(|a| a.detail.result == AttemptResult::DryRun));
    assert!(inbox
        .audit_log(None, 50)
        .await
        .unwrap()
        .iter()
        .all(|e| e.action != "import"));
    assert_eq!(inbox.get("n-1").await.unwrap().unwrap().status, Status::New);

    // Both at once: one batch, each audited with who, where (in the row) and which version.
    let done = importing::import_notes(
        &inbox,
        target.as_ref(),
        &notes,
        ImportOptions::default(),
        &who(),
    )
    .await
    .unwrap();
    assert_eq!(done.len(), 2);
    for (a, n) in done.iter().zip(&notes) {
        assert_eq!(a.detail.result, AttemptResult::Imported);
        assert_eq!(a.detail.note_updated_at, Some(n.updated_at));
        assert_eq!(a.detail.imported_by.as_deref(), Some("reception-1"));
        let log = inbox.audit_log(Some(n.uuid.clone()), 10).await.unwrap();
        let e = log.iter().find(|e| e.action == "import").unwrap();
        assert_eq!(e.actor, "reception-1");
        assert_eq!(ImportDetail::from_json(&e.detail).as_ref(), Some(&a.detail));
        assert_eq!(e.detail["result"], "imported");
        assert_eq!(
            inbox.get(&n.uuid).await.unwrap().unwrap().status,
            Status::Imported
        );
    }
    // The stored JSON is the camelCase record earlier versions wrote, plus the version.
    let e = inbox.audit_log(Some("n-1".into()), 10).await.unwrap();
    let keys: Vec<&str> = e[0]
        .detail
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "target",
            "result",
            "importedAt",
            "importedBy",
            "noteUpdatedAt"
        ]
    );
}

#[tokio::test]
async fn a_dismissed_note_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = inbox_with(
        dir.path(),
        vec![note("n-1", "First.", "2026-02-24T10:31:00+00:00")],
    )
    .await;
    inbox
        .set_status("n-1", Status::Dismissed, "x")
        .await
        .unwrap();
    let target_url = format!("sqlite:{}", dir.path().join("practice.db").display());
    let target = importing::connect(&target_url, None, None).await.unwrap();
    let n = inbox.get("n-1").await.unwrap().unwrap();
    let e = importing::import_notes(
        &inbox,
        target.as_ref(),
        &[n],
        ImportOptions::default(),
        &who(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_transition");
    assert!(e.to_string().contains("n-1 is dismissed"), "{e}");
    assert!(inbox
        .audit_log(Some("n-1".into()), 10)
        .await
        .unwrap()
        .iter()
        .all(|e| e.action != "import"));
}

#[test]
fn old_audit_records_of_both_front_ends_still_read() {
    // The CLI wrote no noteUpdatedAt; the desktop wrote `"error": null`.
    let cli = json!({"target": "sqlite:/p.db", "result": "imported",
        "importedAt": "2026-02-24T10:40:00+00:00", "importedBy": "dr-x"});
    let d = ImportDetail::from_json(&cli).unwrap();
    assert_eq!(
        (d.result, d.note_updated_at),
        (AttemptResult::Imported, None)
    );
    let desktop = json!({"target": "sqlite:/p.db", "result": "unchanged", "error": null,
        "importedAt": "2026-02-24T10:40:00.123+00:00", "importedBy": "dr-x",
        "noteUpdatedAt": "2026-02-24T10:31:00+00:00"});
    let d = ImportDetail::from_json(&desktop).unwrap();
    assert_eq!(d.result, AttemptResult::Unchanged);
    assert!(d.note_updated_at.is_some() && d.error.is_none());
    let failed = json!({"target": "t", "result": "error", "code": "unreachable", "error": "down"});
    assert_eq!(
        ImportDetail::from_json(&failed).unwrap().code.as_deref(),
        Some("unreachable")
    );
    assert!(ImportDetail::from_json(&json!({"result": "imported"})).is_none());
}

fn tokens(access: &str) -> TokenSet {
    TokenSet {
        access_token: Sensitive::new(access.to_string()),
        refresh_token: Some(Sensitive::new(format!("r-{access}"))),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        scopes: vec!["read:notes".into()],
    }
}

#[test]
fn the_token_file_is_private_found_again_and_removed_by_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = askara::ClientConfig::new(
        &format!("http://127.0.0.1:9/{}", std::process::id()),
        "app-test",
    )
    .unwrap();
    assert!(credentials::open_token_store(
        dir.path(),
        &cfg,
        StorePolicy::Existing { force_file: false }
    )
    .unwrap()
    .is_none());
    let forced = credentials::open_token_store(
        dir.path(),
        &cfg,
        StorePolicy::KeyringElseFile { force_file: true },
    )
    .unwrap()
    .unwrap();
    let file = dir.path().join("tokens.json");
    assert_eq!(forced.storage, Storage::File(file.clone()));
    forced.store.save(&tokens("a1")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Any later command finds that sign-in (a keyring, if one answers, holds none for it).
    let again = credentials::open_token_store(
        dir.path(),
        &cfg,
        StorePolicy::KeyringElseFile { force_file: false },
    )
    .unwrap()
    .unwrap();
    assert_eq!(again.storage, Storage::File(file.clone()));
    assert_eq!(
        again.store.load().unwrap().unwrap().access_token.expose(),
        "a1"
    );
    let existing = credentials::open_token_store(
        dir.path(),
        &cfg,
        StorePolicy::Existing { force_file: false },
    )
    .unwrap()
    .unwrap();
    assert_eq!(existing.storage, Storage::File(file.clone()));
    // Both stores of the data dir take one lock: a second holder waits (checked with a
    // non-blocking try from another handle).
    let held = again.store.lock_refresh().unwrap();
    let other = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("refresh.lock"))
        .unwrap();
    assert!(other.try_lock().is_err(), "the refresh lock is not held");
    drop(held);
    assert!(other.try_lock().is_ok());
    drop(other);
    // An operator who asked for the file gets it wherever a keyring is.
    let forced_existing =
        credentials::open_token_store(dir.path(), &cfg, StorePolicy::Existing { force_file: true })
            .unwrap()
            .unwrap();
    assert_eq!(forced_existing.storage, Storage::File(file.clone()));
    credentials::sign_out(dir.path(), &cfg).unwrap();
    assert!(!file.exists());
    assert!(credentials::open_token_store(
        dir.path(),
        &cfg,
        StorePolicy::Existing { force_file: false }
    )
    .unwrap()
    .is_none());
}

#[test]
fn the_desktop_takes_the_keyring_only_and_sign_out_clears_it() {
    if !keyring_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = askara::ClientConfig::new(
        &format!("http://127.0.0.1:9/app-{}", std::process::id()),
        "desktop",
    )
    .unwrap();
    let opened = credentials::open_token_store(dir.path(), &cfg, StorePolicy::KeyringOnly)
        .unwrap()
        .unwrap();
    assert_eq!(opened.storage, Storage::Keyring);
    opened.store.save(&tokens("k1")).unwrap();
    // The CLI (keyring else file) finds the same sign-in: one account for both front-ends.
    let cli = credentials::open_token_store(
        dir.path(),
        &cfg,
        StorePolicy::KeyringElseFile { force_file: false },
    )
    .unwrap()
    .unwrap();
    assert_eq!(cli.storage, Storage::Keyring);
    assert_eq!(
        cli.store.load().unwrap().unwrap().access_token.expose(),
        "k1"
    );
    // A stale token file beside a keyring that answers: signing in again goes to the
    // keyring, and signing out removes both.
    std::fs::write(dir.path().join("tokens.json"), b"{}").unwrap();
    let login =
        credentials::open_token_store(dir.path(), &cfg, StorePolicy::SignIn { force_file: false })
            .unwrap()
            .unwrap();
    assert_eq!(login.storage, Storage::Keyring);
    assert_eq!(credentials::sign_out(dir.path(), &cfg).unwrap(), None);
    assert!(opened.store.load().unwrap().is_none());
    assert!(!dir.path().join("tokens.json").exists());
}

#[tokio::test]
async fn the_postgres_password_kept_in_the_keyring_serves_every_front_end() {
    if !keyring_or_skip() {
        return;
    }
    if std::env::var_os("PGPASSWORD").is_some() {
        eprintln!("skipped: PGPASSWORD is set, so the keyring would not be what is tested");
        return;
    }
    let pg = import::pg_harness::TestPostgres::start().unwrap();
    let url = pg.url_without_password.clone();
    // Without a password anywhere the server refuses, with the one-line advice.
    secrets::KeyringPassword::open(&secrets::password_account(
        &import::TargetSpec::parse(&url).unwrap().display(),
    ))
    .unwrap()
    .clear()
    .unwrap();
    let e = importing::connect(&url, None, None).await.err().unwrap();
    assert!(matches!(e, AppError::Import(_)), "{e}");
    assert!(e.to_string().contains("keyring"), "{e}");
    // Kept once (the desktop's Settings, or anyone): the bare URL connects.
    importing::remember_password(&url, &Sensitive::new(pg.password.clone())).unwrap();
    let t = importing::connect(&url, None, None).await.unwrap();
    assert!(!t.describe().contains(&pg.password));
    // A password given for this call wins over the keyring.
    let e = importing::connect(&url, None, Some(Sensitive::new("wrong".into())))
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "auth");
    // Never kept for SQLite.
    let e =
        importing::remember_password("sqlite:/tmp/x.db", &Sensitive::new("x".into())).unwrap_err();
    assert_eq!(e.code(), "config");
    secrets::KeyringPassword::open(&secrets::password_account(
        &import::TargetSpec::parse(&url).unwrap().display(),
    ))
    .unwrap()
    .clear()
    .unwrap();
}

fn api_for(sim: &askara_sim::SimHandle) -> std::sync::Arc<askara::ApiClient> {
    let cfg = sim.config();
    let c = askara::ClientConfig::new(&sim.base_url(), &cfg.client_id)
        .unwrap()
        .with_secret(Some(Sensitive::new(cfg.client_secret.clone())));
    std::sync::Arc::new(
        askara::ApiClient::new(
            c,
            std::sync::Arc::new(askara::MemoryTokenStore::default()),
            std::sync::Arc::new(askara::SystemClock),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn syncing_reports_each_poll_and_stops_by_asking_or_at_the_deadline() {
    use app::sync::Syncing;
    use std::time::Duration;
    let sim = askara_sim::SimHandle::start(askara_sim::SimConfig::default())
        .await
        .unwrap();
    sim.add_generated(12, 5);
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(dir.path().join("inbox.sqlite3"), &test_key()).unwrap();
    let cfg = inbox::sync::SyncConfig {
        interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let syncing = Syncing::start(
        api_for(&sim),
        std::sync::Arc::new(inbox.clone()),
        cfg.clone(),
        None,
    );
    let mut status = syncing.status();
    let report = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            status.changed().await.unwrap();
            if let Some(r) = status.borrow_and_update().last_report.clone() {
                break r;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(report.new, 12);
    // Asked to stop while idle: stops at once, in time.
    assert!(syncing.stop(Some(Duration::from_secs(10))).await);

    // A poll stuck on a slow Askara: stopping waits until the deadline, then gives up on it.
    sim.faults().slow_next(50, Duration::from_secs(20));
    let syncing = Syncing::start(api_for(&sim), std::sync::Arc::new(inbox.clone()), cfg, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = std::time::Instant::now();
    assert!(!syncing.stop(Some(Duration::from_millis(300))).await);
    assert!(t.elapsed() < Duration::from_secs(5));
    sim.faults().clear();
    sim.shutdown().await;
}

/// A fixed key: these tests are about the inbox, not its encryption.
fn test_key() -> inbox::InboxKey {
    inbox::InboxKey::from_bytes([7; 32])
}
