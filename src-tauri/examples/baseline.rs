//! The peer for `bench/desktop.sh`: the smallest Tauri 2 app on the same Tauri build (one
//! window, an empty page), so start-up time and memory compare side by side on one machine.

fn main() {
    let started = std::time::Instant::now();
    let app = tauri::Builder::default()
        .on_page_load(move |_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                eprintln!(
                    "baseline page loaded elapsed_ms={}",
                    started.elapsed().as_millis()
                );
            }
        })
        .setup(|app| {
            let url = tauri::WebviewUrl::App("baseline.html".into());
            tauri::WebviewWindowBuilder::new(app, "main", url)
                .title("Tauri baseline")
                .inner_size(1280.0, 760.0)
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("baseline: {e}");
            std::process::exit(1);
        }
    }
}
