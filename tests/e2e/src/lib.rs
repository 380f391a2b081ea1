//! The harness for driving the real desktop app through its webview: tauri-driver →
//! WebKitWebDriver → the `askara-inbox-desktop` binary. Used by the end-to-end test
//! (`tests/desktop.rs`) and the desktop latency benchmark (`benches/desktop.rs`).
#![allow(clippy::unwrap_used)]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(40);

pub struct Paths {
    pub app: PathBuf,
    pub driver: PathBuf,
    pub shots: PathBuf,
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The prerequisites, or `None` after saying the test is skipped; with `ASKARA_E2E` set
/// (CI), a missing prerequisite fails the test instead.
pub fn prerequisites_or_skip() -> Option<Paths> {
    match prerequisites() {
        Ok(p) => Some(p),
        Err(e) if std::env::var_os("ASKARA_E2E").is_some() => {
            panic!("end-to-end prerequisites: {e}")
        }
        Err(e) => {
            eprintln!("skipped (set ASKARA_E2E=1 to require it): {e}");
            None
        }
    }
}

pub fn prerequisites() -> Result<Paths, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let app = std::env::var_os("ASKARA_DESKTOP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("debug/askara-inbox-desktop"));
    if !app.is_file() {
        return Err(format!(
            "{} is not built: run `cargo build -p askara-inbox-desktop` first",
            app.display()
        ));
    }
    let driver = std::env::var_os("TAURI_DRIVER")
        .map(PathBuf::from)
        .or_else(|| which("tauri-driver"))
        .ok_or("tauri-driver is not installed: cargo install tauri-driver --locked --version ^2")?;
    which("WebKitWebDriver")
        .ok_or("WebKitWebDriver is missing: apt-get install webkit2gtk-driver")?;
    if std::env::var_os("DISPLAY").is_none() {
        return Err("no DISPLAY: run under xvfb-run".into());
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Err("no D-Bus session (the app keeps its sign-in in the keyring)".into());
    }
    let shots = std::env::var_os("ASKARA_E2E_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("e2e-screenshots"));
    std::fs::create_dir_all(&shots).map_err(|e| e.to_string())?;
    Ok(Paths {
        app: std::fs::canonicalize(app).map_err(|e| e.to_string())?,
        driver,
        shots,
    })
}

/// tauri-driver, stopped with SIGTERM (SIGKILL would orphan WebKitWebDriver, which keeps the
/// port and our stdout open).
pub struct Driver {
    child: Child,
    port: u16,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    pub fn start(paths: &Paths, xdg: &Path, data_dir: &Path) -> Driver {
        Driver::start_with_env(paths, xdg, data_dir, &[])
    }

    /// As [`Driver::start`], with more environment for the app (an IT policy file, say).
    pub fn start_with_env(
        paths: &Paths,
        xdg: &Path,
        data_dir: &Path,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Driver {
        let (port, native) = (free_port(), free_port());
        let child = Command::new(&paths.driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            // The app and WebKit inherit these: a private data dir and WebKit state.
            .env("ASKARA_INBOX_DATA_DIR", data_dir)
            .env("XDG_DATA_HOME", xdg.join("data"))
            .env("XDG_CACHE_HOME", xdg.join("cache"))
            .env("XDG_CONFIG_HOME", xdg.join("config"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        // tauri-driver listens before the WebKitWebDriver it spawns does; a session asked for
        // in between gets a dropped connection, so wait for both.
        for (what, p) in [("tauri-driver", port), ("WebKitWebDriver", native)] {
            while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
                assert!(Instant::now() < deadline, "{what} did not listen");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Driver { child, port }
    }

    pub async fn session(&self, app: &Path, args: &[&str]) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({"application": app, "args": args}),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Evaluates `expr` until it is truthy; returns its value.
pub async fn wait_js(c: &Client, what: &str, expr: &str) -> Value {
    eprintln!("e2e: waiting for {what}");
    let script = format!("return ({expr});");
    let deadline = Instant::now() + WAIT;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        match c.execute(&script, vec![]).await {
            Ok(v) if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) => {
                return v
            }
            Ok(v) => last = v,
            Err(e) => last = json!(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Ok(png) = c.screenshot().await {
        let dir = std::env::temp_dir().join("askara-e2e-timeout.png");
        let _ = std::fs::write(&dir, png);
        eprintln!("e2e: screenshot of the timeout in {}", dir.display());
    }
    panic!("timed out waiting for {what} (`{expr}`), last value {last}");
}

pub async fn js(c: &Client, expr: &str) -> Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap()
}

pub async fn click(c: &Client, css: &str) {
    eprintln!("e2e: click {css}");
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub async fn shot(c: &Client, paths: &Paths, name: &str) {
    tokio::time::sleep(Duration::from_millis(400)).await;
    let png = c.screenshot().await.unwrap();
    std::fs::write(paths.shots.join(format!("{name}.png")), png).unwrap();
}

pub fn text_of(id: &str) -> String {
    format!("(document.getElementById('{id}')?.textContent ?? '')")
}

/// Invokes a command from the page as the UI would; `Ok(value)` or `Err(code)`.
pub async fn invoke(c: &Client, cmd: &str, args: Value) -> Result<Value, String> {
    let out = c
        .execute_async(
            "const [cmd, args, done] = arguments; \
             window.__TAURI_INTERNALS__.invoke(cmd, args) \
               .then((v) => done({ok: v ?? null}), (e) => done({err: e?.code ?? String(e)}));",
            vec![json!(cmd), args],
        )
        .await
        .unwrap();
    match out.get("ok") {
        Some(v) => Ok(v.clone()),
        None => Err(out["err"].as_str().unwrap_or_default().to_string()),
    }
}
