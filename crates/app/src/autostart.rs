//! Start at login (off by default; the desktop's Settings turn it on): on Linux an XDG
//! autostart entry, `$XDG_CONFIG_HOME/autostart/askara-inbox.desktop`, that starts the app hidden
//! in the tray with the data dir it runs on. Other systems: refused in one line for now (the
//! Windows `Run` key and macOS login items are not written yet).

use std::path::{Path, PathBuf};

use crate::error::AppError;

const ENTRY: &str = "askara-inbox.desktop";

/// The entry's path under `config_dir` (the user's `$XDG_CONFIG_HOME`).
pub fn entry_path(config_dir: &Path) -> PathBuf {
    config_dir.join("autostart").join(ENTRY)
}

/// The user's config dir, where the entry goes.
pub fn user_config_dir() -> Result<PathBuf, AppError> {
    dirs::config_dir().ok_or_else(|| {
        AppError::Config("no config directory for this user: set HOME or XDG_CONFIG_HOME".into())
    })
}

/// Writes (or removes) the entry that starts `exe --hidden [--data-dir DIR]` at login.
pub fn set(
    config_dir: &Path,
    enabled: bool,
    exe: &Path,
    data_dir: Option<&Path>,
) -> Result<(), AppError> {
    if !cfg!(target_os = "linux") {
        return if enabled {
            Err(AppError::Config(
                "start at login is not available on this system yet: add Askara Inbox to the startup apps by hand".into(),
            ))
        } else {
            Ok(())
        };
    }
    let path = entry_path(config_dir);
    if !enabled {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AppError::Io(format!(
                "cannot remove {}: {e}",
                path.display()
            ))),
            _ => Ok(()),
        };
    }
    let mut exec = vec![quote(&exe.to_string_lossy()), "--hidden".to_string()];
    if let Some(d) = data_dir {
        exec.push("--data-dir".into());
        exec.push(quote(&d.to_string_lossy()));
    }
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=Askara Inbox\nComment=Review Askara's clinical notes\nExec={}\nIcon=askara-inbox-desktop\nTerminal=false\nX-GNOME-Autostart-enabled=true\n",
        exec.join(" ")
    );
    let io = |e: std::io::Error| AppError::Io(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&path, entry).map_err(io)
}

/// Whether the entry is there.
pub fn is_set(config_dir: &Path) -> bool {
    entry_path(config_dir).is_file()
}

/// An argument of an `Exec` key: in double quotes, with `"`, `` ` ``, `$` and `\` escaped
/// (the Desktop Entry Specification), and `%` doubled (field codes).
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_entry_starts_the_app_hidden_on_its_data_dir_and_goes_away_when_turned_off() {
        let cfg = tempfile::tempdir().unwrap();
        assert!(!is_set(cfg.path()));
        set(
            cfg.path(),
            true,
            Path::new("/opt/Askara Inbox/askara-inbox-desktop"),
            Some(Path::new("/home/desk $1/100% \"data\"")),
        )
        .unwrap();
        let text = std::fs::read_to_string(entry_path(cfg.path())).unwrap();
        assert!(
            text.contains(
                "Exec=\"/opt/Askara Inbox/askara-inbox-desktop\" --hidden --data-dir \"/home/desk \\$1/100%% \\\"data\\\"\"\n"
            ),
            "{text}"
        );
        assert!(is_set(cfg.path()));
        set(cfg.path(), false, Path::new("/x"), None).unwrap();
        assert!(!is_set(cfg.path()));
        // Turning off what is not on is not an error.
        set(cfg.path(), false, Path::new("/x"), None).unwrap();
    }
}
