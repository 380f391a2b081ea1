//! One desktop app per data dir. The first launch holds `DIR/desktop.lock` and listens on
//! `DIR/desktop.sock`; a second launch (a double click, the start-at-login entry, a script)
//! finds the lock taken, asks the first to show its window, and exits. Two windows would be two
//! pollers and two idle locks on one inbox. Per data dir, not per machine: the demo and tests
//! run beside a real inbox.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::AppError;

const LOCK: &str = "desktop.lock";
#[cfg(unix)]
const SOCKET: &str = "desktop.sock";
/// What a second launch sends, and the first answers.
#[cfg(unix)]
const SHOW: &[u8] = b"show\n";
#[cfg(unix)]
const SHOWN: &[u8] = b"ok\n";

/// What [`claim`] found.
pub enum Instance {
    /// This process is the one: keep the guard for as long as the app runs.
    First(Guard),
    /// Another process has this data dir open; it was asked to show its window.
    Running,
}

/// The first instance's hold on the data dir. Dropping it lets the next launch be first.
pub struct Guard {
    _lock: File,
    #[cfg(unix)]
    listener: Option<std::os::unix::net::UnixListener>,
    #[cfg(unix)]
    socket: PathBuf,
}

impl Guard {
    /// Calls `show` (on a thread of its own) each time a later launch asks for the window.
    pub fn on_show(&mut self, show: impl Fn() + Send + 'static) {
        #[cfg(unix)]
        if let Some(listener) = self.listener.take() {
            std::thread::spawn(move || serve(listener, show));
        }
        #[cfg(not(unix))]
        let _ = show;
    }
}

#[cfg(unix)]
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

#[cfg(unix)]
fn serve(listener: std::os::unix::net::UnixListener, show: impl Fn()) {
    use std::io::{Read, Write};
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        if buf[..n] == *SHOW {
            show();
            let _ = s.write_all(SHOWN);
        }
    }
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK)
}

/// Claims `data_dir` for this desktop process, or asks the one holding it to show itself.
/// A holder that does not answer within `wait` (hung, or still starting) is one line that says
/// what to do.
pub fn claim(data_dir: &Path, wait: Duration) -> Result<Instance, AppError> {
    let path = lock_path(data_dir);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AppError::Io(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Instance::First(first(file, data_dir))),
        Err(std::fs::TryLockError::WouldBlock) => ask_to_show(data_dir, wait),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(AppError::Io(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

#[cfg(unix)]
fn first(lock: File, dir: &Path) -> Guard {
    let socket = dir.join(SOCKET);
    // Left by a process that was killed: the lock says nobody listens on it.
    let _ = std::fs::remove_file(&socket);
    let listener = match std::os::unix::net::UnixListener::bind(&socket) {
        // In the data dir (0700): only this account can connect.
        Ok(l) => Some(l),
        Err(e) => {
            // A data dir path too long for a socket: one instance still, without the focus.
            tracing::warn!(error = %e, "a second launch will not be able to show this window");
            None
        }
    };
    Guard {
        _lock: lock,
        listener,
        socket,
    }
}

#[cfg(not(unix))]
fn first(lock: File, _dir: &Path) -> Guard {
    Guard { _lock: lock }
}

#[cfg(unix)]
fn ask_to_show(dir: &Path, wait: Duration) -> Result<Instance, AppError> {
    use std::io::{Read, Write};
    let socket = dir.join(SOCKET);
    let deadline = std::time::Instant::now() + wait;
    loop {
        let answered = std::os::unix::net::UnixStream::connect(&socket).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(SHOW)?;
            let mut buf = [0u8; 8];
            let n = s.read(&mut buf)?;
            Ok(buf[..n] == *SHOWN)
        });
        if matches!(answered, Ok(true)) {
            return Ok(Instance::Running);
        }
        if std::time::Instant::now() >= deadline {
            return Err(busy(dir));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(not(unix))]
fn ask_to_show(dir: &Path, _wait: Duration) -> Result<Instance, AppError> {
    // No focus channel here yet: still never a second window on the same inbox.
    let _ = busy(dir);
    Ok(Instance::Running)
}

fn busy(dir: &Path) -> AppError {
    AppError::Config(format!(
        "Askara Inbox is already running on {} but does not answer: wait for it to finish starting, or end it (Task Manager, `pkill askara-inbox-desktop`) and start again",
        dir.display()
    ))
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_second_launch_shows_the_first_and_the_next_after_it_is_first_again() {
        let dir = tempfile::tempdir().unwrap();
        let shown = Arc::new(AtomicUsize::new(0));
        let Instance::First(mut guard) = claim(dir.path(), Duration::from_secs(3)).unwrap() else {
            panic!("the first launch is first");
        };
        let s = shown.clone();
        guard.on_show(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        for _ in 0..2 {
            assert!(matches!(
                claim(dir.path(), Duration::from_secs(3)).unwrap(),
                Instance::Running
            ));
        }
        assert_eq!(shown.load(Ordering::SeqCst), 2);
        drop(guard);
        assert!(!dir.path().join(SOCKET).exists());
        assert!(matches!(
            claim(dir.path(), Duration::from_secs(3)).unwrap(),
            Instance::First(_)
        ));
    }

    #[test]
    fn a_holder_that_never_answers_is_one_line_after_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        // Holds the lock but has not listened yet (still starting, or hung).
        let held = File::create(dir.path().join(LOCK)).unwrap();
        held.lock().unwrap();
        let t = std::time::Instant::now();
        let e = match claim(dir.path(), Duration::from_millis(300)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a silent holder is not a running app"),
        };
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(e.contains("already running") && !e.contains('\n'), "{e}");
    }
}
