//! Who is acting and where, for the audit log and the import target's `imported_by`, computed
//! the same way for every front-end: the signed-in Askara user when there is one, else the OS
//! account this process runs as; and the host name. On a clinic's shared inbox (PostgreSQL),
//! the connected role instead ([`Identity::clinic_role`]).
//!
//! Never from environment variables: `USER=dr.x askara-inbox …` must not change who the audit
//! log says acted. The OS account is looked up by the process's user id (`getpwuid_r` on Unix,
//! `GetUserNameW` on Windows, through `whoami`).

use std::time::Duration;

use askara::ApiClient;
use serde_json::Value;

/// How long [`Identity::resolve`] waits for Askara before it falls back to the OS account.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The person (`askara:<email or user id>` or `os:<account>`) and the workstation (host name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub actor: String,
    pub workstation: String,
}

impl Identity {
    /// The OS account this process runs as, by user id (`os:<account>`; `os:uid-<n>` when the
    /// id has no account name, `os:unknown` when not even that can be read), and the host name.
    pub fn from_os() -> Identity {
        Identity {
            actor: format!("os:{}", os_account()),
            workstation: workstation(),
        }
    }

    /// Who acts through the clinic's shared inbox (PostgreSQL): the role this desk connected
    /// as (`inbox_pg::PgInbox::role`), as the server's audit trigger requires (it refuses any
    /// other actor), and the host name. Not the Askara user nor the OS account: on a shared
    /// inbox the role is what the server can vouch for.
    pub fn clinic_role(role: &str) -> Identity {
        Identity {
            actor: role.to_string(),
            workstation: workstation(),
        }
    }

    /// The signed-in Askara user from `GET /me` (`askara:<email>`, else `askara:<user id>`),
    /// when `api` is given and Askara answers within [`RESOLVE_TIMEOUT`]; else
    /// [`Identity::from_os`]. One request per call: a caller that acts more than once keeps
    /// the result.
    pub async fn resolve(api: Option<&ApiClient>) -> Identity {
        let Some(api) = api else {
            return Identity::from_os();
        };
        let asked = async {
            let url = api.url("me")?;
            api.get_json(url).await
        };
        match tokio::time::timeout(RESOLVE_TIMEOUT, asked).await {
            Ok(Ok(me)) => match askara_user(&me) {
                Some(user) => Identity {
                    actor: format!("askara:{user}"),
                    workstation: workstation(),
                },
                None => {
                    tracing::info!(
                        "Askara's /me named no user; the audit log names the OS account"
                    );
                    Identity::from_os()
                }
            },
            Ok(Err(e)) => {
                tracing::info!(error = %e, "cannot ask Askara who is signed in; the audit log names the OS account");
                Identity::from_os()
            }
            Err(_) => {
                tracing::info!("Askara did not say who is signed in in time; the audit log names the OS account");
                Identity::from_os()
            }
        }
    }
}

/// The user a `GET /me` answer names: its email, else its uuid, else the last segment of its
/// `@id` IRI. `None` when it names nobody.
pub fn askara_user(me: &Value) -> Option<String> {
    let field = |k: &str| {
        me.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    field("email")
        .or_else(|| field("uuid"))
        .or_else(|| field("id"))
        .map(str::to_string)
        .or_else(|| {
            field("@id")
                .and_then(|iri| iri.rsplit('/').next())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .or_else(|| me.get("id").and_then(Value::as_i64).map(|n| n.to_string()))
}

fn workstation() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The account name of the process's user id; never an environment variable.
fn os_account() -> String {
    match whoami::username() {
        Ok(name) if !name.trim().is_empty() => name,
        _ => uid_fallback(),
    }
}

#[cfg(target_os = "linux")]
fn uid_fallback() -> String {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's user.
    std::fs::metadata("/proc/self")
        .map(|m| format!("uid-{}", m.uid()))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(not(target_os = "linux"))]
fn uid_fallback() -> String {
    "unknown".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_askara_user_is_the_email_else_the_id() {
        assert_eq!(
            askara_user(&json!({"uuid": "u-1", "email": "anne@example.test"})).as_deref(),
            Some("anne@example.test")
        );
        assert_eq!(
            askara_user(&json!({"uuid": "u-1", "email": " "})).as_deref(),
            Some("u-1")
        );
        assert_eq!(
            askara_user(&json!({"@id": "/users/u-2"})).as_deref(),
            Some("u-2")
        );
        assert_eq!(askara_user(&json!({"id": 42})).as_deref(), Some("42"));
        assert_eq!(askara_user(&json!({"organization": {"uuid": "o"}})), None);
    }

    #[test]
    fn the_os_account_is_named_by_user_id() {
        let who = Identity::from_os();
        assert!(who.actor.starts_with("os:"), "{}", who.actor);
        assert!(who.actor.len() > 3);
        if let Ok(name) = whoami::username() {
            assert_eq!(who.actor, format!("os:{name}"));
        }
    }
}
