//! All day in the background: the tray icon and its menu (the new-note count, show/hide, sync
//! now, quit), closing the window to the tray, and bringing the window back (from the tray, or
//! when a second launch asks). Linux trays show only the menu (no click events there).

use std::sync::Arc;

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

use crate::core::Core;

/// The menu line that shows the new-note count (updated with the window title).
pub struct CountItem(MenuItem<Wry>);

/// Shows, un-minimises and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

fn hide_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.hide();
    }
}

/// The count line's words (counts only: never whose notes).
pub fn count_words(new: u64) -> String {
    match new {
        0 => "No new notes".into(),
        1 => "1 new note".into(),
        n => format!("{n} new notes"),
    }
}

/// Puts the icon in the tray. Without a tray host (a bare X server, GNOME without the
/// AppIndicator extension) there is no icon: the window and a second launch still work.
pub fn install(app: &AppHandle, core: Arc<Core>) -> tauri::Result<()> {
    let count = MenuItem::with_id(app, "count", count_words(0), false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show Askara Inbox", true, None::<&str>)?;
    let hide = MenuItem::with_id(app, "hide", "Hide window", true, None::<&str>)?;
    let sync = MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Askara Inbox", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &count,
            &PredefinedMenuItem::separator(app)?,
            &show,
            &hide,
            &sync,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Askara Inbox")
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            "show" => show_main(app),
            "hide" => hide_main(app),
            "sync" => {
                let core = core.clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = core.sync_now().await {
                        tracing::info!(code = %e.code, "sync now from the tray: {}", e.message);
                    }
                });
            }
            // Through the exit events, so the shutdown drains as on any quit.
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(CountItem(count));
    Ok(())
}

/// Shows the new-note count in the tray menu and tooltip.
pub fn set_count(app: &AppHandle, new: u64) {
    if let Some(item) = app.try_state::<CountItem>() {
        let _ = item.0.set_text(count_words(new));
    }
    if let Some(tray) = app.tray_by_id("main") {
        let _ = tray.set_tooltip(Some(format!("Askara Inbox: {}", count_words(new))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_words_without_whose() {
        assert_eq!(count_words(0), "No new notes");
        assert_eq!(count_words(1), "1 new note");
        assert_eq!(count_words(12), "12 new notes");
    }
}
