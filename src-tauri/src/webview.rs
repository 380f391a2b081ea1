//! How WebKitGTK runs the one page this app shows all day.
//!
//! The cache model is the document viewer's: the page is the app's own, loaded once, with no
//! navigation, so a browser's page and resource caches would only hold memory.
//!
//! GPU compositing stays WebKit's default. Drawing without it (`HardwareAccelerationPolicy::
//! Never`, or WebKit's own `WEBKIT_DISABLE_COMPOSITING_MODE=1`) takes about 70 MiB less in the
//! web process under software GL, but with WebKitGTK 2.50 the window stopped answering in
//! our end-to-end test in each of four runs (three with the policy, one with the variable),
//! and never with compositing (`bench/desktop-memory-results.md`). IT can still set WebKit's variable for a graphics
//! driver that draws a blank window.

#[cfg(target_os = "linux")]
pub fn tune(window: &tauri::WebviewWindow) {
    let applied = window.with_webview(|wv| {
        use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
        if let Some(context) = wv.inner().context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    });
    if let Err(e) = applied {
        tracing::warn!(error = %e, "web view settings not applied");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn tune(_window: &tauri::WebviewWindow) {}
