//! Askara Inbox desktop: a thin Tauri 2 shell. Behaviour lives in [`core::Core`] (Tauri-free,
//! tested without a window); `commands` adapts it to IPC; events tell the UI what changed.

pub mod commands;
pub mod core;
pub mod error;
pub mod events;
pub mod ipc_types;
pub mod loopback;
pub mod notify;
pub mod patient_views;
pub mod status;
pub mod tray;
pub mod views;
pub mod webview;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tauri::Manager;

/// When the process started, for the start-up figures in the log (`bench/desktop.sh`).
pub static STARTED: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the process started.
pub fn elapsed_ms() -> u128 {
    STARTED.get_or_init(Instant::now).elapsed().as_millis()
}

/// Command-line options: `--demo`, `--data-dir DIR` (also `ASKARA_INBOX_DATA_DIR`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub demo: bool,
    pub data_dir: Option<PathBuf>,
    /// Demo: seconds between synthetic notes.
    pub demo_every: Option<u64>,
    /// Demo: how many notes the simulator starts with (default 60).
    pub demo_notes: Option<usize>,
    /// Start with the window hidden in the tray (the start-at-login entry).
    pub hidden: bool,
    /// Where the inbox is, instead of the setting: `--inbox URL`, else `ASKARA_INBOX_URL` (as
    /// the CLI takes them).
    pub inbox: Option<core::InboxOverride>,
}

impl Options {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut o = Options::default();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--demo" => o.demo = true,
                "--hidden" => o.hidden = true,
                "--data-dir" => {
                    o.data_dir = Some(args.next().ok_or("--data-dir needs a folder")?.into())
                }
                "--inbox" => {
                    o.inbox = Some(core::InboxOverride {
                        url: args.next().ok_or("--inbox needs a URL (sqlite: or postgres://user@host:5432/database)")?,
                        from: "--inbox".into(),
                    })
                }
                "--demo-every" => {
                    let v = args.next().ok_or("--demo-every needs seconds")?;
                    o.demo_every =
                        Some(v.parse().map_err(|_| {
                            format!("--demo-every: `{v}` is not a number of seconds")
                        })?);
                }
                "--demo-notes" => {
                    let v = args.next().ok_or("--demo-notes needs a number")?;
                    o.demo_notes = Some(
                        v.parse()
                            .map_err(|_| format!("--demo-notes: `{v}` is not a number"))?,
                    );
                }
                "-h" | "--help" => {
                    return Err(
                        "usage: askara-inbox-desktop [--demo [--demo-every SECS] [--demo-notes N]] [--data-dir DIR] [--inbox URL] [--hidden]"
                            .into(),
                    )
                }
                other => return Err(format!("unknown option `{other}`; try --help")),
            }
        }
        if o.data_dir.is_none() {
            o.data_dir = std::env::var_os("ASKARA_INBOX_DATA_DIR").map(PathBuf::from);
        }
        if o.inbox.is_none() {
            o.inbox = std::env::var("ASKARA_INBOX_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .map(|url| core::InboxOverride {
                    url,
                    from: "ASKARA_INBOX_URL".into(),
                });
        }
        Ok(o)
    }
}

struct TauriShell(tauri::AppHandle, Arc<events::EventQueue>);

impl core::Shell for TauriShell {
    /// Queued for the window's `next_events`, not `emit`ted (see `events`).
    fn emit(&self, event: &str, payload: serde_json::Value) {
        self.1.push(event, payload);
    }
    fn set_title(&self, title: &str) {
        if let Some(w) = self.0.get_webview_window("main") {
            let _ = w.set_title(title);
        }
    }
    fn notify(&self, n: &notify::Notification) {
        use tauri_plugin_notification::NotificationExt;
        // No notification daemon (a bare server, a locked session) is not an error for staff.
        if let Err(e) = self
            .0
            .notification()
            .builder()
            .title(&n.title)
            .body(&n.body)
            .show()
        {
            tracing::debug!(error = %e, "notification not shown");
        }
    }
    fn restart(&self) {
        // The data dir is the next process's: it starts before this one has exited, and would
        // otherwise find it held and only ask this one to show its window.
        if let Some(held) = self.0.try_state::<InstanceHold>() {
            drop(held.0.lock().unwrap_or_else(|p| p.into_inner()).take());
        }
        // Through the exit events, so `Core::shutdown` drains as on any quit.
        self.0.request_restart();
    }
    fn new_count(&self, new: u64) {
        tray::set_count(&self.0, new);
    }
}

/// This process's hold on its data dir (`app::instance`), let go only to restart.
struct InstanceHold(std::sync::Mutex<Option<app::instance::Guard>>);

/// One app per data dir: `Some(guard)` when this process is the one (keep it until exit);
/// `None` after asking the running one to show its window. The demo runs on a fresh temp dir
/// and never collides.
fn claim_data_dir(opts: &Options) -> Option<app::instance::Guard> {
    if opts.demo {
        return None;
    }
    let dir = match app::paths::data_dir(opts.data_dir.clone()) {
        Ok(d) => d,
        // Core::open says it again, in the window's error path.
        Err(_) => return None,
    };
    match app::instance::claim(&dir, std::time::Duration::from_secs(10)) {
        Ok(app::instance::Instance::First(guard)) => Some(guard),
        Ok(app::instance::Instance::Running) => {
            eprintln!(
                "Askara Inbox is already running on {}: its window was brought to the front",
                dir.display()
            );
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("askara-inbox-desktop: {e}");
            std::process::exit(1);
        }
    }
}

fn open_core(
    opts: &Options,
    handle: tauri::AppHandle,
    events: Arc<events::EventQueue>,
) -> Result<Arc<core::Core>, error::CmdError> {
    let shell: Arc<dyn core::Shell> = Arc::new(TauriShell(handle, events));
    if opts.demo {
        let every = std::time::Duration::from_secs(opts.demo_every.unwrap_or(4));
        let notes = opts.demo_notes.unwrap_or(60);
        return tauri::async_runtime::block_on(core::Core::open_demo(every, notes, shell));
    }
    let dir = app::paths::data_dir(opts.data_dir.clone())?;
    tauri::async_runtime::block_on(core::Core::open_at(dir, opts.inbox.clone(), shell))
}

pub fn run() {
    STARTED.get_or_init(Instant::now);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASKARA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut instance = claim_data_dir(&opts);
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .on_page_load(|_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                tracing::info!(elapsed_ms = elapsed_ms() as u64, "page loaded");
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::next_events,
            commands::status,
            commands::list_notes,
            commands::search_notes,
            commands::get_note,
            commands::note_versions,
            commands::note_history,
            commands::counts,
            commands::patients,
            commands::set_status,
            commands::import_note,
            commands::note_facets,
            commands::set_statuses,
            commands::import_notes,
            commands::sign_in_start,
            commands::sign_in_cancel,
            commands::open_verification,
            commands::sign_out,
            commands::sync_now,
            commands::get_settings,
            commands::save_settings,
            commands::test_connection,
            commands::test_inbox_connection,
            commands::start_demo,
            commands::lock_state,
            commands::lock_now,
            commands::unlock,
            commands::set_pin,
            commands::touch,
            commands::search_practice_patients,
            commands::assign_patient,
            commands::unassign_patient,
        ])
        .setup(move |app| {
            let events = Arc::new(events::EventQueue::default());
            app.manage(events.clone());
            let core = open_core(&opts, app.handle().clone(), events).map_err(|e| {
                eprintln!("askara-inbox-desktop: {}", e.message);
                Box::new(e) as Box<dyn std::error::Error>
            })?;
            app.manage(core.clone());
            let title = status::window_title(0, opts.demo);
            let window = tauri::WebviewWindowBuilder::new(
                app,
                "main",
                tauri::WebviewUrl::App("index.html".into()),
            )
            .title(title)
            .inner_size(1280.0, 760.0)
            .min_inner_size(960.0, 560.0)
            .visible(!opts.hidden)
            .build()?;
            webview::tune(&window);
            if let Err(e) = tray::install(app.handle(), core.clone()) {
                tracing::warn!(error = %e, "no tray icon");
            }
            if let Some(mut guard) = instance.take() {
                let handle = app.handle().clone();
                guard.on_show(move || {
                    let h = handle.clone();
                    let _ = handle.run_on_main_thread(move || tray::show_main(&h));
                });
                // Held, as app state, until the process ends (or restarts).
                app.manage(InstanceHold(std::sync::Mutex::new(Some(guard))));
            }
            tauri::async_runtime::spawn(async move { core.start().await });
            // Ctrl-C or SIGTERM close the app as the window would (the demo cleans up).
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                app::shutdown::signal().await;
                handle.exit(0);
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing hides to the tray (the poller, notifications and imports go on), unless
            // the person chose "close quits" in Settings.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let hides = window
                    .app_handle()
                    .try_state::<Arc<core::Core>>()
                    .is_some_and(|c| c.close_hides());
                if hides && window.label() == "main" {
                    api.prevent_close();
                    let _ = window.hide();
                    tracing::info!("window closed to the tray");
                }
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(a) => a,
        Err(e) => {
            eprintln!("askara-inbox-desktop: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(core) = handle.try_state::<Arc<core::Core>>() {
                let core = core.inner().clone();
                tauri::async_runtime::block_on(async move { core.shutdown().await });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(a: &[&str]) -> Result<Options, String> {
        Options::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options() {
        let o = parse(&["--demo", "--demo-every", "2", "--data-dir", "/tmp/x"]).unwrap();
        assert!(o.demo);
        assert_eq!(o.demo_every, Some(2));
        assert_eq!(o.data_dir, Some(PathBuf::from("/tmp/x")));
        assert!(parse(&["--nope"]).is_err());
        assert!(parse(&["--data-dir"]).is_err());
        // Where the inbox is, as the CLI takes it (the flag wins over ASKARA_INBOX_URL).
        let o = parse(&["--inbox", "postgres://reception@db/askara"]).unwrap();
        assert_eq!(
            o.inbox,
            Some(core::InboxOverride {
                url: "postgres://reception@db/askara".into(),
                from: "--inbox".into(),
            })
        );
        assert!(parse(&["--inbox"]).is_err());
    }
}
