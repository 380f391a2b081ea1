//! OAuth2 against Askara: client credentials, refresh with single-use rotation, device code
//! (RFC 8628) and authorization code with PKCE. One refresh in flight per account: an in-process
//! mutex plus the store's cross-process lock, and the rotated refresh token is saved before the
//! new access token is handed out (Askara treats reuse of an old refresh token as theft).

use crate::clock::SharedClock;
use crate::config::ClientConfig;
use crate::error::ApiError;
use crate::oauth_http::{self, TokenHttpError};
use crate::secret::Sensitive;
use crate::token::{TokenSet, TokenStore};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    DeviceAuthorizationUrl, DeviceCodeErrorResponseType, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse, TokenUrl,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Renew this long before expiry so a request never leaves with a token about to die.
const EXPIRY_MARGIN_SECS: i64 = 60;

/// What a person needs to approve a device sign-in. The device code itself stays inside.
#[derive(Clone)]
pub struct DeviceAuthorization {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    inner: StandardDeviceAuthorizationResponse,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("device_code", &"<redacted>")
            .finish()
    }
}

/// State of an authorization-code sign-in between the browser redirect and the code exchange.
#[derive(Debug)]
pub struct PkceSession {
    pub authorize_url: Url,
    pub state: Sensitive<String>,
    verifier: Sensitive<String>,
    redirect: Url,
}

/// Whether the `state` a redirect brought back is the one this sign-in sent (RFC 6749
/// §10.12), compared in constant time. A loopback listener ignores callbacks for which it is
/// not: anyone on the machine or a web page can send one to the port, and that must neither
/// sign in nor cancel the sign-in under way.
pub fn state_matches(expected: &str, returned: Option<&str>) -> bool {
    let Some(returned) = returned else {
        return false;
    };
    let (a, b) = (expected.as_bytes(), returned.as_bytes());
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct Authenticator {
    cfg: ClientConfig,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    clock: SharedClock,
    current: tokio::sync::Mutex<Option<TokenSet>>,
    token_requests: AtomicU32,
}

impl Authenticator {
    pub fn new(
        cfg: ClientConfig,
        http: reqwest::Client,
        store: Arc<dyn TokenStore>,
        clock: SharedClock,
    ) -> Self {
        Authenticator {
            cfg,
            http,
            store,
            clock,
            current: tokio::sync::Mutex::new(None),
            token_requests: AtomicU32::new(0),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// How many requests went to the token endpoint (diagnostics and tests).
    pub fn token_requests(&self) -> u32 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Whether there is anything to sign in with: stored tokens or a client secret.
    pub async fn has_credentials(&self) -> Result<bool, ApiError> {
        if self.cfg.client_secret.is_some() || self.current.lock().await.is_some() {
            return Ok(true);
        }
        Ok(self.load_stored().await?.is_some())
    }

    /// The current tokens' expiry, for the status strip.
    pub async fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.current.lock().await.as_ref().map(|t| t.expires_at)
    }

    /// A valid access token, renewing it (once, for everyone waiting) when it is about to expire.
    pub async fn access_token(&self) -> Result<Sensitive<String>, ApiError> {
        let mut current = self.current.lock().await;
        if current.is_none() {
            *current = self.load_stored().await?;
        }
        let margin = chrono::Duration::seconds(EXPIRY_MARGIN_SECS);
        if let Some(t) = current
            .as_ref()
            .filter(|t| t.fresh_at(self.clock.now(), margin))
        {
            return Ok(t.access_token.clone());
        }
        let rejected = current.as_ref().map(|t| t.access_token.clone());
        let renewed = self.renew(rejected.as_ref()).await?;
        let token = renewed.access_token.clone();
        *current = Some(renewed);
        Ok(token)
    }

    /// After a 401: renew unless another task already replaced the rejected token.
    pub async fn renew_after_rejection(
        &self,
        rejected: &Sensitive<String>,
    ) -> Result<Sensitive<String>, ApiError> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref().filter(|t| &t.access_token != rejected) {
            return Ok(t.access_token.clone());
        }
        let renewed = self.renew(Some(rejected)).await?;
        let token = renewed.access_token.clone();
        *current = Some(renewed);
        Ok(token)
    }

    async fn renew(&self, rejected: Option<&Sensitive<String>>) -> Result<TokenSet, ApiError> {
        let store = self.store.clone();
        let _lock = tokio::task::spawn_blocking(move || store.lock_refresh())
            .await
            .map_err(|e| ApiError::Storage(e.to_string()))?
            .map_err(ApiError::Storage)?;
        // Another process may have rotated while we waited for the lock: use its tokens rather
        // than presenting a refresh token that is now spent.
        let stored = self.load_stored().await?;
        let margin = chrono::Duration::seconds(EXPIRY_MARGIN_SECS);
        if let Some(t) = stored
            .as_ref()
            .filter(|t| Some(&t.access_token) != rejected && t.fresh_at(self.clock.now(), margin))
        {
            return Ok(t.clone());
        }
        let refreshed = match stored.as_ref().and_then(|t| t.refresh_token.clone()) {
            Some(rt) => match self.refresh(&rt).await {
                Err(ApiError::AuthExpired) => {
                    // A spent or revoked refresh token never works again: forget it.
                    self.clear_stored().await?;
                    None
                }
                other => Some(other?),
            },
            None => None,
        };
        let tokens = match refreshed {
            Some(t) => t,
            None if self.cfg.client_secret.is_some() => self.client_credentials().await?,
            None => return Err(ApiError::AuthExpired),
        };
        self.save(&tokens).await?;
        Ok(tokens)
    }

    pub async fn client_credentials(&self) -> Result<TokenSet, ApiError> {
        let client = self.oauth_client()?;
        let http = self.token_http();
        let scopes = self.scopes();
        let resp = self
            .with_retries(|| {
                client
                    .exchange_client_credentials()
                    .add_scopes(scopes.clone())
                    .request_async(&http)
            })
            .await
            .map_err(|e| self.map_token_error(e))?;
        Ok(self.token_set(&resp))
    }

    async fn refresh(&self, rt: &Sensitive<String>) -> Result<TokenSet, ApiError> {
        let client = self.oauth_client()?;
        let rt = RefreshToken::new(rt.expose().clone());
        let http = self.token_http();
        // Not retried on a network error after the request was sent: the server may have rotated
        // already, and presenting the old token again would look like theft.
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let resp = client
            .exchange_refresh_token(&rt)
            .add_scopes(self.scopes())
            .request_async(&http)
            .await
            .map_err(|e| self.map_token_error(e))?;
        let mut tokens = self.token_set(&resp);
        // Servers that do not rotate keep the old refresh token valid.
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(Sensitive::new(rt.secret().clone()));
        }
        Ok(tokens)
    }

    /// Step one of device sign-in: ask Askara for a user code to show.
    pub async fn start_device(&self) -> Result<DeviceAuthorization, ApiError> {
        let device_url = DeviceAuthorizationUrl::new(self.cfg.device_url.to_string())
            .map_err(|e| ApiError::Config(e.to_string()))?;
        let client = self
            .oauth_client()?
            .set_device_authorization_url(device_url);
        let http = self.token_http();
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(self.scopes())
            .request_async(&http)
            .await
            .map_err(|e| self.map_token_error(e))?;
        Ok(DeviceAuthorization {
            user_code: details.user_code().secret().clone(),
            verification_uri: details.verification_uri().to_string(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|u| u.secret().clone()),
            expires_in: details.expires_in(),
            inner: details,
        })
    }

    /// Step two: poll until the person approves, denies or the code expires; saves the tokens.
    pub async fn finish_device(&self, auth: &DeviceAuthorization) -> Result<TokenSet, ApiError> {
        let device_url = DeviceAuthorizationUrl::new(self.cfg.device_url.to_string())
            .map_err(|e| ApiError::Config(e.to_string()))?;
        let client = self
            .oauth_client()?
            .set_device_authorization_url(device_url);
        let http = self.token_http();
        let clock = self.clock.clone();
        let resp = client
            .exchange_device_access_token(&auth.inner)
            .request_async(&http, move |d| clock.sleep(d), Some(auth.expires_in))
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => match r.error() {
                    DeviceCodeErrorResponseType::AccessDenied => ApiError::AccessDenied("denied"),
                    DeviceCodeErrorResponseType::ExpiredToken => {
                        ApiError::AccessDenied("not approved before the code expired")
                    }
                    other => ApiError::bad_response(format!("device sign-in: {}", other.as_ref())),
                },
                RequestTokenError::Other(_) => {
                    ApiError::AccessDenied("not approved before the code expired")
                }
                RequestTokenError::Request(e) => self.map_http_error(e),
                RequestTokenError::Parse(e, _) => ApiError::bad_response(format!("token: {e}")),
            })?;
        let tokens = self.token_set(&resp);
        self.save(&tokens).await?;
        *self.current.lock().await = Some(tokens.clone());
        Ok(tokens)
    }

    /// Authorization code with PKCE (RFC 7636) for a loopback redirect (RFC 8252).
    pub fn start_pkce(&self, redirect: Url) -> Result<PkceSession, ApiError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self
            .oauth_client()?
            .set_auth_uri(
                AuthUrl::new(self.cfg.authorize_url.to_string())
                    .map_err(|e| ApiError::Config(e.to_string()))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(redirect.to_string())
                    .map_err(|e| ApiError::Config(e.to_string()))?,
            );
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes())
            .set_pkce_challenge(challenge)
            .url();
        Ok(PkceSession {
            authorize_url: url,
            state: Sensitive::new(state.secret().clone()),
            verifier: Sensitive::new(verifier.secret().clone()),
            redirect,
        })
    }

    pub async fn finish_pkce(
        &self,
        session: PkceSession,
        code: &str,
        returned_state: &str,
    ) -> Result<TokenSet, ApiError> {
        if !state_matches(session.state.expose(), Some(returned_state)) {
            return Err(ApiError::AccessDenied("answered with a mismatched state"));
        }
        let client = self.oauth_client()?.set_redirect_uri(
            RedirectUrl::new(session.redirect.to_string())
                .map_err(|e| ApiError::Config(e.to_string()))?,
        );
        let http = self.token_http();
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let resp = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(session.verifier.expose().clone()))
            .request_async(&http)
            .await
            .map_err(|e| self.map_token_error(e))?;
        let tokens = self.token_set(&resp);
        self.save(&tokens).await?;
        *self.current.lock().await = Some(tokens.clone());
        Ok(tokens)
    }

    pub async fn sign_out(&self) -> Result<(), ApiError> {
        *self.current.lock().await = None;
        self.clear_stored().await
    }

    fn scopes(&self) -> Vec<Scope> {
        self.cfg.scopes.iter().cloned().map(Scope::new).collect()
    }

    fn oauth_client(
        &self,
    ) -> Result<
        BasicClient<
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        ApiError,
    > {
        // Overrides from settings are checked there too; here nothing leaves before it is.
        self.cfg.check_endpoints()?;
        let token_url = TokenUrl::new(self.cfg.token_url.to_string())
            .map_err(|e| ApiError::Config(e.to_string()))?;
        let mut client = BasicClient::new(ClientId::new(self.cfg.client_id.clone()))
            .set_token_uri(token_url)
            // Askara's documented token request carries client_id/secret in the body.
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = &self.cfg.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().clone()));
        }
        Ok(client)
    }

    fn token_http(
        &self,
    ) -> impl Fn(
        oauth2::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, TokenHttpError>> + Send>,
    > {
        let http = self.http.clone();
        let format = self.cfg.token_body;
        move |req| {
            let http = http.clone();
            Box::pin(async move { oauth_http::send(&http, req, format).await })
        }
    }

    async fn with_retries<F, Fut, T>(
        &self,
        mut attempt: F,
    ) -> Result<T, RequestTokenError<TokenHttpError, BasicErrorResponse>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<
            Output = Result<T, RequestTokenError<TokenHttpError, BasicErrorResponse>>,
        >,
    {
        let mut n = 0;
        loop {
            self.token_requests.fetch_add(1, Ordering::Relaxed);
            match attempt().await {
                Err(RequestTokenError::Request(TokenHttpError::Network(_)))
                | Err(RequestTokenError::Request(TokenHttpError::Status(500..=599, _)))
                    if n + 1 < self.cfg.retry.max_attempts =>
                {
                    self.clock
                        .sleep(self.cfg.retry.backoff(n, rand::random::<f64>()))
                        .await;
                    n += 1;
                }
                other => return other,
            }
        }
    }

    fn map_token_error(
        &self,
        e: RequestTokenError<TokenHttpError, BasicErrorResponse>,
    ) -> ApiError {
        match e {
            RequestTokenError::ServerResponse(r) => match r.error() {
                BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::UnauthorizedClient => ApiError::InvalidClient,
                BasicErrorResponseType::InvalidGrant => ApiError::AuthExpired,
                BasicErrorResponseType::InvalidScope => ApiError::MissingScope {
                    scope: self.cfg.primary_scope().to_string(),
                },
                other => ApiError::bad_response(format!("token endpoint said {}", other.as_ref())),
            },
            RequestTokenError::Request(e) => self.map_http_error(e),
            RequestTokenError::Parse(e, _) => {
                ApiError::bad_response(format!("token endpoint answer: {e}"))
            }
            RequestTokenError::Other(s) => ApiError::bad_response(format!("token endpoint: {s}")),
        }
    }

    fn map_http_error(&self, e: TokenHttpError) -> ApiError {
        match e {
            TokenHttpError::Network(reason) => ApiError::Unreachable {
                host: self.cfg.host(),
                reason,
            },
            TokenHttpError::Status(429, retry_after) => ApiError::RateLimited {
                retry_at: self.clock.now()
                    + chrono::Duration::from_std(
                        retry_after
                            .and_then(|v| crate::retry::parse_retry_after(&v, self.clock.now()))
                            .unwrap_or(Duration::from_secs(60)),
                    )
                    .unwrap_or_default(),
            },
            TokenHttpError::Status(status, _) => ApiError::ServerError { status },
        }
    }

    fn token_set(&self, resp: &BasicTokenResponse) -> TokenSet {
        let expires_in = resp.expires_in().unwrap_or(Duration::from_secs(3600));
        TokenSet {
            access_token: Sensitive::new(resp.access_token().secret().clone()),
            refresh_token: resp
                .refresh_token()
                .map(|r| Sensitive::new(r.secret().clone())),
            expires_at: self.clock.now()
                + chrono::Duration::from_std(expires_in).unwrap_or_default(),
            scopes: resp
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_else(|| self.cfg.scopes.clone()),
        }
    }

    async fn load_stored(&self) -> Result<Option<TokenSet>, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.load())
            .await
            .map_err(|e| ApiError::Storage(e.to_string()))?
            .map_err(ApiError::Storage)
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), ApiError> {
        let store = self.store.clone();
        let tokens = tokens.clone();
        tokio::task::spawn_blocking(move || store.save(&tokens))
            .await
            .map_err(|e| ApiError::Storage(e.to_string()))?
            .map_err(ApiError::Storage)
    }

    async fn clear_stored(&self) -> Result<(), ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.clear())
            .await
            .map_err(|e| ApiError::Storage(e.to_string()))?
            .map_err(ApiError::Storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_state_matches() {
        assert!(state_matches("k3y-Abc_9", Some("k3y-Abc_9")));
        for other in [
            None,
            Some(""),
            Some("k3y-Abc_"),
            Some("k3y-Abc_99"),
            Some("K3y-Abc_9"),
        ] {
            assert!(!state_matches("k3y-Abc_9", other), "{other:?}");
        }
        assert!(
            !state_matches("", Some("")),
            "an empty state protects nothing"
        );
    }
}
