//! Issued access and refresh tokens. Refresh tokens are single-use and grouped into families
//! (one per original grant) so that replaying a spent one can revoke everything descended
//! from the same grant, as Askara does when it suspects theft.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub(crate) struct AccessEntry {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub family: Option<u64>,
    pub revoked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefreshState {
    Active,
    Used,
    Revoked,
}

#[derive(Clone, Debug)]
struct RefreshEntry {
    client_id: String,
    scopes: Vec<String>,
    family: u64,
    expires_at: Instant,
    state: RefreshState,
}

/// Why a bearer token was refused; each gets its own 401 detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessError {
    Unknown,
    Expired,
    Revoked,
}

/// Why a refresh was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshError {
    Unknown,
    Expired,
    Revoked,
    /// A spent token came back: its whole family is now revoked.
    Reused,
    WrongClient,
}

pub(crate) struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub scopes: Vec<String>,
}

impl IssuedTokens {
    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({
            "token_type": "Bearer",
            "access_token": self.access_token,
            "expires_in": self.expires_in,
        });
        if let (Some(rt), Some(obj)) = (&self.refresh_token, body.as_object_mut()) {
            obj.insert("refresh_token".into(), Value::String(rt.clone()));
        }
        if let Some(obj) = body.as_object_mut() {
            obj.insert("scope".into(), Value::String(self.scopes.join(" ")));
        }
        body
    }
}

#[derive(Default)]
pub(crate) struct TokenStore {
    access: HashMap<String, AccessEntry>,
    refresh: HashMap<String, RefreshEntry>,
    next_family: u64,
    reuse_detected: usize,
}

pub(crate) fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Askara's access tokens are JWTs; this one only looks like one (the signature is random),
/// which is enough for clients that peek at `exp` and must never trust it.
fn jwt_like(client_id: &str, scopes: &[String], ttl: Duration) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let header = json!({"typ": "JWT", "alg": "RS256"});
    let claims = json!({
        "aud": client_id,
        "jti": random_b64(24),
        "iat": now,
        "nbf": now,
        "exp": now + ttl.as_secs(),
        "sub": "",
        "scopes": scopes,
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        random_b64(64)
    )
}

impl TokenStore {
    pub(crate) fn reuse_detected(&self) -> usize {
        self.reuse_detected
    }

    /// Issues an access token, plus a refresh token in a new family when `with_refresh`.
    pub(crate) fn issue(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        access_ttl: Duration,
        refresh_ttl: Option<Duration>,
    ) -> IssuedTokens {
        let family = refresh_ttl.map(|_| {
            self.next_family += 1;
            self.next_family
        });
        self.issue_in_family(client_id, scopes, access_ttl, refresh_ttl, family)
    }

    fn issue_in_family(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        access_ttl: Duration,
        refresh_ttl: Option<Duration>,
        family: Option<u64>,
    ) -> IssuedTokens {
        let now = Instant::now();
        let access_token = jwt_like(client_id, &scopes, access_ttl);
        self.access.insert(
            access_token.clone(),
            AccessEntry {
                client_id: client_id.to_string(),
                scopes: scopes.clone(),
                expires_at: now + access_ttl,
                family,
                revoked: false,
            },
        );
        let refresh_token = match (refresh_ttl, family) {
            (Some(ttl), Some(family)) => {
                let token = format!("def50200{}", random_b64(96));
                self.refresh.insert(
                    token.clone(),
                    RefreshEntry {
                        client_id: client_id.to_string(),
                        scopes: scopes.clone(),
                        family,
                        expires_at: now + ttl,
                        state: RefreshState::Active,
                    },
                );
                Some(token)
            }
            _ => None,
        };
        IssuedTokens {
            access_token,
            refresh_token,
            expires_in: access_ttl.as_secs(),
            scopes,
        }
    }

    pub(crate) fn check_access(&self, token: &str) -> Result<AccessEntry, AccessError> {
        let entry = self.access.get(token).ok_or(AccessError::Unknown)?;
        if entry.revoked {
            return Err(AccessError::Revoked);
        }
        if Instant::now() >= entry.expires_at {
            return Err(AccessError::Expired);
        }
        Ok(entry.clone())
    }

    /// Single-use rotation: the presented token is spent and a new pair issued in its family.
    pub(crate) fn refresh(
        &mut self,
        token: &str,
        client_id: &str,
        requested: Option<&[String]>,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Result<IssuedTokens, RefreshError> {
        let entry = self.refresh.get_mut(token).ok_or(RefreshError::Unknown)?;
        match entry.state {
            RefreshState::Revoked => return Err(RefreshError::Revoked),
            RefreshState::Used => {
                let family = entry.family;
                self.reuse_detected += 1;
                self.revoke_family(family);
                return Err(RefreshError::Reused);
            }
            RefreshState::Active => {}
        }
        if entry.client_id != client_id {
            return Err(RefreshError::WrongClient);
        }
        if Instant::now() >= entry.expires_at {
            return Err(RefreshError::Expired);
        }
        entry.state = RefreshState::Used;
        let family = entry.family;
        // A refresh may narrow the scope but never widen it (RFC 6749 §6).
        let scopes = match requested {
            Some(req) => entry
                .scopes
                .iter()
                .filter(|s| req.contains(s))
                .cloned()
                .collect(),
            None => entry.scopes.clone(),
        };
        let client = entry.client_id.clone();
        Ok(self.issue_in_family(&client, scopes, access_ttl, Some(refresh_ttl), Some(family)))
    }

    fn revoke_family(&mut self, family: u64) {
        for e in self.refresh.values_mut().filter(|e| e.family == family) {
            e.state = RefreshState::Revoked;
        }
        for e in self
            .access
            .values_mut()
            .filter(|e| e.family == Some(family))
        {
            e.revoked = true;
        }
    }

    pub(crate) fn revoke_all(&mut self) {
        for e in self.refresh.values_mut() {
            e.state = RefreshState::Revoked;
        }
        for e in self.access.values_mut() {
            e.revoked = true;
        }
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for e in self.access.values_mut() {
            e.expires_at = e.expires_at.min(now);
        }
    }
}
