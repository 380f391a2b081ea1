//! Where Askara is and how to talk to it. Every host is configuration: staging has no documented
//! URL, and the device endpoint is an assumption (see askara-api.md).
//!
//! Every URL is `https://`; plain `http://` only on this computer (127.0.0.0/8, ::1,
//! `localhost`: a simulator or a local proxy). The token and device endpoints receive the
//! client secret and refresh tokens, so they must be on the API's origin (scheme, host and
//! port): a settings change cannot send them elsewhere. The authorize page is only opened in
//! the browser and may be on another host (`app.askara.ai` beside `api.askara.ai`).

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

    /// Checks every endpoint: https (or loopback http), and the token and device URLs on the
    /// base URL's origin. [`ClientConfig::new`] derives endpoints that pass; this is for
    /// overrides, and the authenticator checks again before it sends anything.
    pub fn check_endpoints(&self) -> Result<(), crate::ApiError> {
        check_scheme(&self.base_url, "base URL")?;
        for (url, what) in [
            (&self.token_url, "token URL"),
            (&self.device_url, "device URL"),
        ] {
            check_scheme(url, what)?;
            if url.origin() != self.base_url.origin() {
                return Err(crate::ApiError::Config(format!(
                    "the {what} `{url}` is not on the API's address {}: the token and device URLs must use the base URL's scheme, host and port (leave them empty for the defaults)",
                    self.base_url.origin().ascii_serialization()
                )));
            }
        }
        check_scheme(&self.authorize_url, "authorize URL")
    }

    /// The page a person is sent to for signing in (a device code's `verification_uri`, the
    /// authorize URL), checked before the desktop opens it: https (or loopback http), on the
    /// API's or the authorize URL's origin. Anything else could be a page made to look like
    /// Askara's, so it is shown as text rather than opened.
    pub fn check_verification_url(&self, url: &str) -> Result<Url, crate::ApiError> {
        let origins = [self.base_url.origin(), self.authorize_url.origin()];
        let shown: Vec<String> = origins.iter().map(|o| o.ascii_serialization()).collect();
        let refuse = |why: &str| {
            crate::ApiError::Config(format!(
                "the sign-in page `{url}` {why}, so it is not opened: open {} yourself if you expect it",
                shown.join(" or ")
            ))
        };
        let parsed = Url::parse(url.trim()).map_err(|_| refuse("is not a valid URL"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&parsed) => {}
            _ => return Err(refuse("is not https")),
        }
        if !origins.contains(&parsed.origin()) {
            return Err(refuse("is not on the configured Askara addresses"));
        }
        Ok(parsed)
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
    check_scheme(&url, "base URL")?;
    Ok(url)
}

/// Whether `url`'s host is this computer: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// https anywhere; http only to this computer, where nobody on the network can read it.
fn check_scheme(url: &Url, what: &str) -> Result<(), crate::ApiError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(crate::ApiError::Config(format!(
            "the {what} `{url}` uses http:// to another computer: use https:// (http:// is only for 127.0.0.1 or localhost, such as a local simulator)"
        ))),
        _ => Err(crate::ApiError::Config(format!(
            "the {what} `{url}` must start with https:// (or http://127.0.0.1 for a local simulator)"
        ))),
    }
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
    fn plain_http_only_to_this_computer() {
        for ok in [
            "https://api.askara.ai",
            "http://127.0.0.1:9",
            "http://127.8.9.10",
            "http://[::1]:8080/askara",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            let c = ClientConfig::new(ok, "id").unwrap();
            c.check_endpoints().unwrap();
        }
        for bad in [
            "http://api.askara.ai",
            "http://192.168.1.5:8080",
            "http://localhost.evil.example",
            "http://[::2]",
        ] {
            let e = ClientConfig::new(bad, "id").unwrap_err().to_string();
            assert!(e.contains("https://") && !e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn token_and_device_urls_stay_on_the_api_origin() {
        let mut c = ClientConfig::new("https://api.askara.ai", "id").unwrap();
        c.token_url = Url::parse("https://api.askara.ai/v2/oauth2/token").unwrap();
        c.check_endpoints().unwrap();
        for other in [
            "https://evil.example/oauth2/token",
            "https://api.askara.ai:8443/oauth2/token",
            "http://api.askara.ai/oauth2/token",
            "http://127.0.0.1/oauth2/token",
        ] {
            let mut c = c.clone();
            c.token_url = Url::parse(other).unwrap();
            let e = c.check_endpoints().unwrap_err().to_string();
            assert!(e.contains("token URL"), "{other}: {e}");
            let mut d = ClientConfig::new("https://api.askara.ai", "id").unwrap();
            d.device_url = Url::parse(other).unwrap();
            assert!(d.check_endpoints().is_err(), "{other}");
        }
        // The authorize page may be elsewhere, but over https.
        c.authorize_url = Url::parse("https://login.example/authorize").unwrap();
        c.check_endpoints().unwrap();
        c.authorize_url = Url::parse("http://login.example/authorize").unwrap();
        assert!(c.check_endpoints().is_err());
    }

    #[test]
    fn only_sign_in_pages_on_askara_s_origins_are_opened() {
        let prod = ClientConfig::new("https://api.askara.ai", "id").unwrap();
        for ok in [
            "https://app.askara.ai/device",
            "https://app.askara.ai/device?user_code=ABCD-EFGH",
            "https://api.askara.ai/device",
        ] {
            assert_eq!(prod.check_verification_url(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "http://app.askara.ai/device",
            "https://app.askara.ai.evil.example/device",
            "https://app.askara.ai:444/device",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "not a url",
        ] {
            let e = prod.check_verification_url(bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::Config, "{bad}");
            assert!(e.to_string().contains("not opened"), "{e}");
        }
        // A local simulator: its loopback http origin.
        let sim = ClientConfig::new("http://127.0.0.1:8765", "id").unwrap();
        sim.check_verification_url("http://127.0.0.1:8765/device?user_code=X")
            .unwrap();
        assert!(sim
            .check_verification_url("http://127.0.0.1:9999/device")
            .is_err());
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
