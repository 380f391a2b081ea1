//! `GET /authorize` for the authorization-code grant with PKCE. The simulator has no users
//! to ask, so it consents at once and redirects back with a code.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::oauth::grant_scopes;
use crate::problem::oauth_error;
use crate::state::{lock, AppState};
use crate::tokens::random_b64;

/// Codes live ten minutes at most (RFC 6749 §4.1.2).
const CODE_TTL: Duration = Duration::from_secs(600);

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    scopes: Vec<String>,
    expires_at: Instant,
    used: bool,
}

#[derive(Default)]
pub(crate) struct AuthCodeStore {
    codes: HashMap<String, AuthCode>,
}

pub(crate) enum CodeError {
    Invalid(&'static str),
    MalformedVerifier,
    /// No PKCE and no client secret: nothing proves who is redeeming.
    ClientNotAuthenticated,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/authorize", get(authorize))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    state: Option<String>,
    scope: Option<String>,
}

fn redirect(mut to: Url, pairs: &[(&str, &str)]) -> Response {
    {
        let mut q = to.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to.as_str()) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn authorize(State(st): State<AppState>, Query(q): Query<AuthorizeQuery>) -> Response {
    // Errors about the client or redirect URI must not redirect (RFC 6749 §4.1.2.1).
    if q.client_id.as_deref() != Some(st.config.client_id.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Unknown client_id",
        );
    }
    let Some(redirect_uri) = q.redirect_uri.clone() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing redirect_uri",
        );
    };
    let Ok(target) = Url::parse(&redirect_uri) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid redirect_uri",
        );
    };
    let state = q.state.clone().unwrap_or_default();
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if q.state.is_some() {
            pairs.push(("state", state.clone()));
        }
        pairs
    };
    let fail = |error: &str| {
        let pairs = with_state(vec![("error", error.to_string())]);
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect(target.clone(), &refs)
    };
    if q.response_type.as_deref() != Some("code") {
        return fail("unsupported_response_type");
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return fail("invalid_request");
    }
    let code = random_b64(32);
    lock(&st.auth_codes).codes.insert(
        code.clone(),
        AuthCode {
            client_id: st.config.client_id.clone(),
            redirect_uri,
            challenge: q.code_challenge.clone(),
            scopes: grant_scopes(&st, q.scope.as_deref()),
            expires_at: Instant::now() + CODE_TTL,
            used: false,
        },
    );
    let pairs = with_state(vec![("code", code)]);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    redirect(target.clone(), &refs)
}

/// The S256 transform of RFC 7636 §4.2.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn well_formed_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub(crate) fn redeem(
    st: &AppState,
    code: &str,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    client_authenticated: bool,
) -> Result<Vec<String>, CodeError> {
    let mut store = lock(&st.auth_codes);
    let entry = store
        .codes
        .get_mut(code)
        .ok_or(CodeError::Invalid("Cannot decrypt the authorization code"))?;
    if entry.used {
        return Err(CodeError::Invalid("Authorization code has been revoked"));
    }
    if Instant::now() >= entry.expires_at {
        return Err(CodeError::Invalid("Authorization code has expired"));
    }
    if entry.client_id != client_id {
        return Err(CodeError::Invalid(
            "Authorization code was not issued to this client",
        ));
    }
    if redirect_uri != Some(entry.redirect_uri.as_str()) {
        return Err(CodeError::Invalid("Invalid redirect URI"));
    }
    match (&entry.challenge, verifier) {
        (Some(challenge), Some(v)) => {
            if !well_formed_verifier(v) {
                return Err(CodeError::MalformedVerifier);
            }
            if pkce_challenge(v) != *challenge {
                return Err(CodeError::Invalid("Failed to verify `code_verifier`."));
            }
        }
        (Some(_), None) => return Err(CodeError::Invalid("Check the `code_verifier` parameter")),
        (None, _) if !client_authenticated => return Err(CodeError::ClientNotAuthenticated),
        (None, _) => {}
    }
    entry.used = true;
    Ok(entry.scopes.clone())
}
