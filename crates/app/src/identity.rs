//! Who is acting and where, for the audit log and the import target's `imported_by`: the OS
//! account and the host name, computed the same way for every front-end.

/// The person (OS account) and the workstation (host name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub actor: String,
    pub workstation: String,
}

impl Identity {
    /// From the OS: `USER`, `LOGNAME`, `USERNAME` (the first that is set and not empty), else
    /// the home directory's name, else `unknown`; the host name.
    pub fn from_os() -> Identity {
        Identity {
            actor: os_user(|k| std::env::var(k).ok(), dirs::home_dir()),
            workstation: gethostname::gethostname().to_string_lossy().into_owned(),
        }
    }
}

fn os_user(var: impl Fn(&str) -> Option<String>, home: Option<std::path::PathBuf>) -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| var(k).filter(|v| !v.trim().is_empty()))
        .or_else(|| home.and_then(|h| h.file_name().map(|n| n.to_string_lossy().into_owned())))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_user_is_skipped_for_the_next_source() {
        let vars = |k: &str| match k {
            "USER" => Some(String::new()),
            "LOGNAME" => Some("reception".to_string()),
            _ => None,
        };
        assert_eq!(os_user(vars, None), "reception");
        assert_eq!(
            os_user(|_| Some("  ".into()), Some("/home/dr-x".into())),
            "dr-x"
        );
        assert_eq!(os_user(|_| None, None), "unknown");
    }
}
