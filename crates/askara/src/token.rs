//! Tokens and where they are kept. The store is the product's (OS keyring, or a 0600 file on a
//! headless server); this crate only demands that a rotated refresh token is saved before the
//! new access token is used, and that refreshes are serialised across processes.

use crate::secret::Sensitive;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: Sensitive<String>,
    pub refresh_token: Option<Sensitive<String>>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl TokenSet {
    /// Valid for at least `margin` more.
    pub fn fresh_at(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at - margin > now
    }
}

/// A cross-process exclusive lock, held while a refresh is in flight.
pub trait RefreshLock: Send {}
impl RefreshLock for () {}
impl RefreshLock for std::fs::File {}

pub trait TokenStore: Send + Sync + 'static {
    fn load(&self) -> Result<Option<TokenSet>, String>;
    fn save(&self, tokens: &TokenSet) -> Result<(), String>;
    fn clear(&self) -> Result<(), String>;
    /// Blocks until no other process refreshes for this account. The default is in-process only.
    fn lock_refresh(&self) -> Result<Box<dyn RefreshLock>, String> {
        Ok(Box::new(()))
    }
}

/// Keeps tokens in memory: for client-credential servers and tests.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
    saves: Mutex<u32>,
}

impl MemoryTokenStore {
    pub fn saves(&self) -> u32 {
        *self.saves.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, String> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
    fn save(&self, tokens: &TokenSet) -> Result<(), String> {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        *self.saves.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(())
    }
    fn clear(&self) -> Result<(), String> {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}
