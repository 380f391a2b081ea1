//! `sync`: poll Askara into the inbox (local or the clinic's), once or until interrupted.

use crate::args::SyncArgs;
use crate::context::Context;
use crate::error::CliError;
use askara::{SharedClock, SystemClock};
use inbox::sync::{Poller, SyncStatus};
use std::sync::Arc;

pub async fn run(ctx: &mut Context, args: SyncArgs) -> Result<(), CliError> {
    ctx.remember(&args.server)?;
    if let Some(secs) = args.interval {
        if secs == 0 {
            return Err(CliError::usage(
                "--interval must be at least 1 second (Askara recommends 30-60)",
            ));
        }
        if ctx.settings.interval_secs != secs {
            ctx.settings.interval_secs = secs;
            ctx.settings.save(&ctx.data_dir)?;
        }
    }
    let api = ctx.api(false)?;
    if !api.auth().has_credentials().await? {
        return Err(CliError::Credentials {
            message: "not signed in: run `askara-inbox login`, or set ASKARA_CLIENT_SECRET for client credentials".into(),
        });
    }
    let opened = ctx.store().await?;
    let store: Arc<dyn inbox::InboxStore> = opened.store.clone();
    let cfg = ctx.settings.sync_config();
    // The file lock of the inbox's folder; for a clinic inbox, of the data dir (one poller per
    // workstation) until the server's own lock replaces it.
    let lock = ctx.poll_lock()?;
    if args.once {
        // One poller per clinic: the shared inbox's advisory lock, held while this polls.
        let _lease = match &opened.clinic {
            Some(pg) => Some(pg.try_poll_lease().await?.ok_or_else(|| CliError::Conflict {
                message: "another Askara Inbox server is syncing the clinic inbox, so `sync --once` did not poll: the other one keeps it current".into(),
            })?),
            None => None,
        };
        // One poller per inbox: a one-shot sync beside a running one would poll it twice.
        let _held = match lock.try_take() {
            Ok(Some(held)) => Some(held),
            Ok(None) => {
                return Err(CliError::Conflict {
                    message: "another Askara Inbox on this computer (the desktop app or `askara-inbox sync`) is syncing this inbox, so `sync --once` did not poll: the other one keeps the inbox current".into(),
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the poll lock; polling without it");
                None
            }
        };
        let clock: SharedClock = Arc::new(SystemClock);
        let mut poller = Poller::with_store(api, store, cfg, clock);
        let report = poller.try_full().await?;
        let page_size = report
            .server_page_size
            .map(|n| format!("; Askara pages hold {n} notes"))
            .unwrap_or_default();
        println!(
            "synced: {} new, {} revised, {} unchanged ({} pages, {} requests{page_size})",
            report.new, report.revised, report.unchanged, report.pages, report.requests
        );
        return Ok(());
    }
    let (dir, days) = (ctx.data_dir.clone(), ctx.settings.retention_days);
    // The settings file is read at each run, so a `retention --days N` applies to a running job.
    let days = move || {
        app::Settings::load(&dir)
            .map(|(s, _)| s.retention_days)
            .unwrap_or(days)
    };
    let _retention = app::retention::RetentionJob::start(store.clone(), days);
    let syncing = match &opened.clinic {
        Some(pg) => app::sync::Syncing::start_clinic(api, store, cfg, pg.clone()),
        None => app::sync::Syncing::start(api, store, cfg, Some(lock)),
    };
    let mut status = syncing.status();
    let mut waiting = false;
    let stop = app::shutdown::signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() { break; }
                let s = status.borrow_and_update().clone();
                print_status(&s, &mut waiting);
            }
            // Ctrl-C or SIGTERM (systemd, `kill`): finish the poll under way, then stop.
            _ = &mut stop => break,
        }
    }
    syncing.stop(None).await;
    eprintln!("sync stopped");
    Ok(())
}

/// One line per poll; while another process polls this inbox, one line when waiting starts.
fn print_status(s: &SyncStatus, waiting: &mut bool) {
    if s.error_code.as_deref() == Some(app::sync::ANOTHER_POLLER) {
        if !std::mem::replace(waiting, true) {
            eprintln!(
                "waiting: {}",
                s.error_message.as_deref().unwrap_or_default()
            );
        }
        return;
    }
    *waiting = false;
    let next = s
        .next_poll_at
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    match (&s.error_message, &s.last_report) {
        (Some(msg), _) => eprintln!("sync failed: {msg} (next attempt {next})"),
        (None, Some(r)) => eprintln!(
            "synced: {} new, {} revised ({} requests); next poll {next}",
            r.new, r.revised, r.requests
        ),
        _ => {}
    }
}
