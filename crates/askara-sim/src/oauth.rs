//! `POST /oauth2/token`. Askara documents a JSON body; RFC 6749 says form-encoded; both are
//! accepted, with client authentication in the body or by HTTP Basic.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use crate::authorize::{self, CodeError};
use crate::device::{self, PollError};
use crate::problem::{oauth_error, problem_code};
use crate::state::{lock, AppState};
use crate::tokens::RefreshError;

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/token", post(token))
}

/// Parameters from a JSON object or a form body, whichever the content type says (and
/// whichever parses, when it says nothing useful).
pub(crate) fn params(headers: &HeaderMap, body: &Bytes) -> HashMap<String, String> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    let from_json = || -> Option<HashMap<String, String>> {
        let Value::Object(obj) = serde_json::from_slice::<Value>(body).ok()? else {
            return None;
        };
        Some(
            obj.into_iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        Value::Array(items) => items
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" "),
                        Value::Null => return None,
                        other => other.to_string(),
                    };
                    Some((k, v))
                })
                .collect(),
        )
    };
    let from_form = || url::form_urlencoded::parse(body).into_owned().collect();
    if is_json {
        from_json().unwrap_or_default()
    } else {
        from_json().unwrap_or_else(from_form)
    }
}

pub(crate) struct ClientAuth {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub basic: bool,
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Basic credentials win over body ones (RFC 6749 forbids sending both).
pub(crate) fn client_auth(headers: &HeaderMap, p: &HashMap<String, String>) -> ClientAuth {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some((percent_decode(id), percent_decode(secret)))
        });
    match basic {
        Some((id, secret)) => ClientAuth {
            client_id: Some(id),
            client_secret: Some(secret),
            basic: true,
        },
        None => ClientAuth {
            client_id: p.get("client_id").cloned(),
            client_secret: p.get("client_secret").cloned(),
            basic: false,
        },
    }
}

pub(crate) fn invalid_client(basic: bool) -> Response {
    let mut resp = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed",
    );
    if basic {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"askara\""),
        );
    }
    resp
}

/// Checks the client; `Ok(true)` when it proved itself with the secret.
pub(crate) fn check_client(st: &AppState, auth: &ClientAuth) -> Result<bool, Response> {
    let Some(id) = auth.client_id.as_deref() else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Check the `client_id` parameter",
        ));
    };
    if id != st.config.client_id {
        return Err(invalid_client(auth.basic));
    }
    match auth.client_secret.as_deref() {
        Some(secret) if secret == st.config.client_secret => Ok(true),
        Some(_) => Err(invalid_client(auth.basic)),
        None => Ok(false),
    }
}

/// The scopes to grant: those requested that the client may have, or all it may have.
pub(crate) fn grant_scopes(st: &AppState, requested: Option<&str>) -> Vec<String> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        Some(req) => {
            let req: Vec<&str> = req.split_whitespace().collect();
            st.config
                .granted_scopes
                .iter()
                .filter(|s| req.contains(&s.as_str()))
                .cloned()
                .collect()
        }
        None => st.config.granted_scopes.clone(),
    }
}

fn bad_request(error: &str, description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

fn tokens_response(body: Value) -> Response {
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn token(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    st.token_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(status) = st.faults.take_token() {
        let mut resp = problem_code(status, "Simulated token endpoint failure");
        if status == 429 {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        return resp;
    }
    let p = params(&headers, &body);
    let auth = client_auth(&headers, &p);
    let authenticated = match check_client(&st, &auth) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let client_id = st.config.client_id.clone();
    let cfg = &st.config;
    let grant = p.get("grant_type").map(String::as_str).unwrap_or_default();
    match grant {
        "client_credentials" => {
            if !authenticated {
                return invalid_client(auth.basic);
            }
            let scopes = grant_scopes(&st, p.get("scope").map(String::as_str));
            let issued = lock(&st.tokens).issue(&client_id, scopes, cfg.access_token_ttl, None);
            tokens_response(issued.to_json())
        }
        "refresh_token" => {
            let Some(rt) = p.get("refresh_token") else {
                return bad_request("invalid_request", "Check the `refresh_token` parameter");
            };
            let requested: Option<Vec<String>> = p
                .get("scope")
                .map(|s| s.split_whitespace().map(str::to_string).collect());
            let result = lock(&st.tokens).refresh(
                rt,
                &client_id,
                requested.as_deref(),
                cfg.access_token_ttl,
                cfg.refresh_token_ttl,
            );
            match result {
                Ok(issued) => tokens_response(issued.to_json()),
                Err(e) => {
                    let why = match e {
                        RefreshError::Unknown => "Cannot decrypt the refresh token",
                        RefreshError::Expired => "Token has expired",
                        RefreshError::Revoked => "Token has been revoked",
                        RefreshError::Reused => {
                            tracing::debug!("refresh token reuse detected; family revoked");
                            "Token has been revoked"
                        }
                        RefreshError::WrongClient => "Token is not linked to client",
                    };
                    bad_request("invalid_grant", why)
                }
            }
        }
        DEVICE_GRANT => {
            let Some(code) = p.get("device_code") else {
                return bad_request("invalid_request", "Check the `device_code` parameter");
            };
            match device::poll(&st, code, &client_id) {
                Ok(scopes) => {
                    let issued = lock(&st.tokens).issue(
                        &client_id,
                        scopes,
                        cfg.access_token_ttl,
                        Some(cfg.refresh_token_ttl),
                    );
                    tokens_response(issued.to_json())
                }
                Err(PollError::Pending) => bad_request(
                    "authorization_pending",
                    "The authorization request is still pending",
                ),
                Err(PollError::SlowDown) => bad_request(
                    "slow_down",
                    "The device is polling faster than the interval",
                ),
                Err(PollError::Expired) => {
                    bad_request("expired_token", "The device code has expired")
                }
                Err(PollError::Denied) => {
                    bad_request("access_denied", "The user denied the request")
                }
                Err(PollError::Invalid) => {
                    bad_request("invalid_grant", "The device code is invalid or was used")
                }
            }
        }
        "authorization_code" => {
            let Some(code) = p.get("code") else {
                return bad_request("invalid_request", "Check the `code` parameter");
            };
            let redeemed = authorize::redeem(
                &st,
                code,
                &client_id,
                p.get("redirect_uri").map(String::as_str),
                p.get("code_verifier").map(String::as_str),
                authenticated,
            );
            match redeemed {
                Ok(scopes) => {
                    let issued = lock(&st.tokens).issue(
                        &client_id,
                        scopes,
                        cfg.access_token_ttl,
                        Some(cfg.refresh_token_ttl),
                    );
                    tokens_response(issued.to_json())
                }
                Err(CodeError::ClientNotAuthenticated) => invalid_client(auth.basic),
                Err(CodeError::MalformedVerifier) => {
                    bad_request("invalid_request", "Code verifier is malformed")
                }
                Err(CodeError::Invalid(why)) => bad_request("invalid_grant", why),
            }
        }
        "" => bad_request("invalid_request", "Check the `grant_type` parameter"),
        _ => bad_request(
            "unsupported_grant_type",
            "The authorization grant type is not supported",
        ),
    }
}
