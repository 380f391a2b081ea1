//! Where Askara is and how to talk to it. Every host is configuration: staging has no documented
//! URL, and the device endpoint is an assumption (see askara-api.md).

use crate::secret::Sensitive;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

pub const DEFAULT_BASE_URL: &str = "https://api.askara.ai";
pub const DEFAULT_AUTHORIZE_URL: &str = "https://app.askara.ai/authorize";
pub const DEFAULT_SCOPE: &str = "read:notes";

/// How token requests are encoded. Askara documents JSON; RFC 6749 says form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenBodyFormat {
    #[default]
    Json,
    Form,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    pub token_url: Url,
    pub device_url: Url,
    pub authorize_url: Url,
    pub client_id: String,
    pub client_secret: Option<Sensitive<String>>,
    pub scopes: Vec<String>,
    pub token_body: TokenBodyFormat,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// Defaults derived from one base URL: `{base}/oauth2/token`, `{base}/oauth2/device-code`.
    pub fn new(base_url: &str, client_id: &str) -> Result<Self, crate::ApiError> {
        let base = parse_base(base_url)?;
        let join = |p: &str| {
            base.join(p)
                .map_err(|e| crate::ApiError::Config(format!("bad base URL {base_url}: {e}")))
        };
        Ok(ClientConfig {
            token_url: join("oauth2/token")?,
            device_url: join("oauth2/device-code")?,
            authorize_url: if base.as_str() == format!("{DEFAULT_BASE_URL}/") {
                Url::parse(DEFAULT_AUTHORIZE_URL)
                    .map_err(|e| crate::ApiError::Config(e.to_string()))?
            } else {
                join("authorize")?
            },
            base_url: base,
            client_id: client_id.to_string(),
            client_secret: None,
            scopes: vec![DEFAULT_SCOPE.to_string()],
            token_body: TokenBodyFormat::Json,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_secret(mut self, secret: Option<Sensitive<String>>) -> Self {
        self.client_secret = secret;
        self
    }

    /// The scope a 403 most likely means is missing.
    pub fn primary_scope(&self) -> &str {
        self.scopes
            .iter()
            .find(|s| s.contains("notes"))
            .or(self.scopes.first())
            .map(String::as_str)
            .unwrap_or(DEFAULT_SCOPE)
    }

    pub fn host(&self) -> String {
        match (self.base_url.host_str(), self.base_url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => self.base_url.to_string(),
        }
    }
}

/// A base URL with a trailing slash so that `join` keeps any path prefix.
fn parse_base(s: &str) -> Result<Url, crate::ApiError> {
    let trimmed = s.trim().trim_end_matches('/');
    let url = Url::parse(&format!("{trimmed}/")).map_err(|e| {
        crate::ApiError::Config(format!(
            "`{s}` is not a valid base URL ({e}); use e.g. {DEFAULT_BASE_URL}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(crate::ApiError::Config(format!(
            "`{s}` must start with https:// (or http:// for a local simulator)"
        )));
    }
    Ok(url)
}

/// Bounded retries for 5xx and network errors; waits for 429s up to a limit.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A 429 asking to wait longer than this is returned as `rate_limited` instead of waited out.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with full jitter: uniform in [base*2^n / 2, base*2^n], capped.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(16)));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_derive_from_the_base_url_and_keep_a_path_prefix() {
        let c = ClientConfig::new("http://127.0.0.1:9/askara/", "id").unwrap();
        assert_eq!(
            c.token_url.as_str(),
            "http://127.0.0.1:9/askara/oauth2/token"
        );
        assert_eq!(
            c.device_url.as_str(),
            "http://127.0.0.1:9/askara/oauth2/device-code"
        );
        let prod = ClientConfig::new("https://api.askara.ai", "id").unwrap();
        assert_eq!(prod.authorize_url.as_str(), DEFAULT_AUTHORIZE_URL);
        assert!(ClientConfig::new("ftp://x", "id").is_err());
        assert!(ClientConfig::new("not a url", "id").is_err());
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(p.backoff(2, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(30));
    }
}
