//! The Askara API client: bearer auth with one renewal on 401, waits on 429, bounded retries with
//! jittered backoff on 5xx and network errors.

use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::collection::parse_collection;
use crate::config::ClientConfig;
use crate::error::ApiError;
use crate::model::{Note, Patient};
use crate::network::describe_reqwest;
use crate::retry::{rate_limit_wait, RateLimitStatus};
use crate::token::TokenStore;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use url::Url;

/// One page of `GET /notes`.
#[derive(Debug, Clone)]
pub struct NotesPage {
    pub notes: Vec<Note>,
    /// Members on the page, including any that could not be read as notes.
    pub item_count: usize,
    pub unreadable: usize,
    pub total: Option<u64>,
    pub next: Option<String>,
    /// The page carried paging metadata (a view or a total); a plain array carries none.
    pub paginated: bool,
}

pub struct ApiClient {
    cfg: ClientConfig,
    http: reqwest::Client,
    auth: Arc<Authenticator>,
    clock: SharedClock,
    requests: AtomicU64,
    rate: Mutex<Option<RateLimitStatus>>,
}

impl ApiClient {
    pub fn new(
        cfg: ClientConfig,
        store: Arc<dyn TokenStore>,
        clock: SharedClock,
    ) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            // Never follow redirects: a bearer token or a token request must not travel on.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .user_agent(concat!("askara-inbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config(format!("HTTP client: {e}")))?;
        let auth = Arc::new(Authenticator::new(
            cfg.clone(),
            http.clone(),
            store,
            clock.clone(),
        ));
        Ok(ApiClient {
            cfg,
            http,
            auth,
            clock,
            requests: AtomicU64::new(0),
            rate: Mutex::new(None),
        })
    }

    pub fn auth(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Requests sent to resource endpoints so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        *self.rate.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn list_notes(&self, query: &[(String, String)]) -> Result<NotesPage, ApiError> {
        let mut url = self.url("notes")?;
        url.query_pairs_mut().extend_pairs(query);
        let collection = parse_collection(self.get_json(url).await?)?;
        let item_count = collection.items.len();
        let mut notes = Vec::with_capacity(item_count);
        let mut unreadable = 0;
        for item in collection.items {
            match Note::from_json(item) {
                Ok(n) => notes.push(n),
                Err(e) => {
                    unreadable += 1;
                    tracing::warn!(error = %e, "skipped an unreadable note in a page");
                }
            }
        }
        Ok(NotesPage {
            notes,
            item_count,
            unreadable,
            total: collection.total,
            next: collection.next,
            paginated: collection.paginated,
        })
    }

    pub async fn get_note(&self, uuid: &str) -> Result<Note, ApiError> {
        let mut url = self.url("notes")?;
        url.path_segments_mut()
            .map_err(|_| ApiError::Config("base URL cannot take a path".into()))?
            .push(uuid);
        Note::from_json(self.get_json(url).await?)
            .map_err(|e| ApiError::bad_response(e.to_string()))
    }

    /// A patient, from `GET /patients/{uuid}` (the route is assumed, see askara-api.md): names,
    /// `externalId` and `dateOfBirth` as Askara keeps them.
    pub async fn get_patient(&self, uuid: &str) -> Result<Patient, ApiError> {
        let mut url = self.url("patients")?;
        url.path_segments_mut()
            .map_err(|_| ApiError::Config("base URL cannot take a path".into()))?
            .push(uuid);
        let patient = Patient::from_json(&self.get_json(url).await?)
            .ok_or_else(|| ApiError::bad_response("the patient is not a JSON object"))?;
        // Another patient's record under this one's name would put the wrong date of birth
        // beside it: refuse an answer about someone else.
        if patient.uuid.as_deref() != Some(uuid) {
            return Err(ApiError::bad_response(
                "Askara answered GET /patients/{uuid} with another patient",
            ));
        }
        Ok(patient)
    }

    /// The organisation the credentials act for, from `GET /me` (`organization` as an object
    /// with a `uuid`, or as an IRI). `None` when Askara does not say.
    pub async fn organization_id(&self) -> Result<Option<String>, ApiError> {
        let me = self.get_json(self.url("me")?).await?;
        Ok(match me.get("organization") {
            Some(Value::Object(o)) => o
                .get("uuid")
                .or_else(|| o.get("@id"))
                .and_then(Value::as_str)
                .map(|s| s.rsplit('/').next().unwrap_or(s).to_string()),
            Some(Value::String(iri)) => iri.rsplit('/').next().map(str::to_string),
            _ => None,
        }
        .filter(|s| !s.is_empty()))
    }

    /// A path relative to the API base, e.g. `notes` or `webhooks/ID`.
    pub fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.cfg
            .base_url
            .join(path.trim_start_matches('/'))
            .map_err(|e| ApiError::Config(format!("bad path {path}: {e}")))
    }

    pub async fn get_json(&self, url: Url) -> Result<Value, ApiError> {
        self.send_json(reqwest::Method::GET, url, None).await
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let policy = &self.cfg.retry;
        let mut token = self.auth.access_token().await?;
        let mut renewed = false;
        let mut attempt: u32 = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header(
                    reqwest::header::ACCEPT,
                    "application/ld+json, application/json",
                );
            if let Some(b) = &body {
                req = req.json(b);
            }
            let outcome = req.send().await;
            let retryable = attempt + 1 < policy.max_attempts;
            let resp = match outcome {
                Ok(r) => r,
                Err(e) if retryable => {
                    tracing::debug!(error = %describe_reqwest(&e), attempt, "request failed, retrying");
                    self.backoff(attempt).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => {
                    return Err(ApiError::Unreachable {
                        host: self.cfg.host(),
                        reason: describe_reqwest(&e),
                    })
                }
            };
            if let Some(rl) = RateLimitStatus::from_headers(resp.headers()) {
                *self.rate.lock().unwrap_or_else(|e| e.into_inner()) = Some(rl);
            }
            let status = resp.status().as_u16();
            match status {
                200..=299 => {
                    let bytes = match resp.bytes().await {
                        Ok(b) => b,
                        Err(e) if retryable => {
                            tracing::debug!(error = %describe_reqwest(&e), "body cut off, retrying");
                            self.backoff(attempt).await;
                            attempt += 1;
                            continue;
                        }
                        Err(e) => {
                            return Err(ApiError::Unreachable {
                                host: self.cfg.host(),
                                reason: describe_reqwest(&e),
                            })
                        }
                    };
                    if bytes.is_empty() {
                        return Ok(Value::Null);
                    }
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| ApiError::bad_response(format!("invalid JSON: {e}")));
                }
                401 if !renewed => {
                    renewed = true;
                    token = self.auth.renew_after_rejection(&token).await?;
                }
                401 => return Err(ApiError::AuthExpired),
                403 => {
                    return Err(ApiError::MissingScope {
                        scope: self.cfg.primary_scope().to_string(),
                    })
                }
                404 => {
                    return Err(ApiError::NotFound {
                        what: url.path().trim_start_matches('/').to_string(),
                    })
                }
                429 => {
                    let wait = rate_limit_wait(resp.headers(), self.clock.now());
                    if retryable && wait <= policy.max_rate_limit_wait {
                        tracing::info!(wait_s = wait.as_secs(), "rate limited by Askara, waiting");
                        self.clock.sleep(wait).await;
                        attempt += 1;
                    } else {
                        return Err(ApiError::RateLimited {
                            retry_at: self.clock.now()
                                + chrono::Duration::from_std(wait).unwrap_or_default(),
                        });
                    }
                }
                500..=599 if retryable => {
                    tracing::debug!(status, attempt, "server error, retrying");
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                500..=599 => return Err(ApiError::ServerError { status }),
                _ => {
                    let detail = problem_detail(resp).await;
                    return Err(ApiError::bad_response(format!("HTTP {status}: {detail}")));
                }
            }
        }
    }

    async fn backoff(&self, attempt: u32) {
        let d = self.cfg.retry.backoff(attempt, rand::random::<f64>());
        self.clock.sleep(d).await;
    }
}

/// The `detail` (or `title`) of an API Platform problem body, else its first characters.
async fn problem_detail(resp: reqwest::Response) -> String {
    let text = resp.text().await.unwrap_or_default();
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            ["detail", "hydra:description", "title", "hydra:title"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| text.chars().take(120).collect())
}
