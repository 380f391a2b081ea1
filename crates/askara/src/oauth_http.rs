//! The HTTP client handed to the `oauth2` crate: our reqwest client (no redirects followed, so a
//! token request never travels to another host), with the body re-encoded as JSON when Askara's
//! documented JSON form is configured.

use crate::config::TokenBodyFormat;
use oauth2::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum TokenHttpError {
    #[error("{0}")]
    Network(String),
    #[error("HTTP {0}")]
    Status(u16, Option<String>),
}

/// Turns oauth2's form-encoded request into Askara's JSON body.
pub fn reencode(mut req: HttpRequest, format: TokenBodyFormat) -> HttpRequest {
    if format == TokenBodyFormat::Json && !req.body().is_empty() {
        let obj: Map<String, Value> = url::form_urlencoded::parse(req.body())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        *req.body_mut() = Value::Object(obj).to_string().into_bytes();
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    req
}

pub async fn send(
    client: &reqwest::Client,
    req: HttpRequest,
    format: TokenBodyFormat,
) -> Result<HttpResponse, TokenHttpError> {
    let req = reencode(req, format);
    let (parts, body) = req.into_parts();
    let resp = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| TokenHttpError::Network(crate::network::describe_reqwest(&e)))?;
    let status = resp.status();
    // 5xx and 429 are not OAuth answers: surface them as transport errors so they are retried.
    if status.is_server_error() || status.as_u16() == 429 {
        let retry_after = resp
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return Err(TokenHttpError::Status(status.as_u16(), retry_after));
    }
    let mut builder = http::Response::builder().status(status);
    for (name, value) in resp.headers() {
        builder = builder.header(name, value);
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| TokenHttpError::Network(crate::network::describe_reqwest(&e)))?;
    builder
        .body(bytes.to_vec())
        .map_err(|e| TokenHttpError::Network(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_body_becomes_json() {
        let req = http::Request::builder()
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(b"grant_type=client_credentials&scope=read%3Anotes".to_vec())
            .unwrap();
        let out = reencode(req, TokenBodyFormat::Json);
        let v: Value = serde_json::from_slice(out.body()).unwrap();
        assert_eq!(v["grant_type"], "client_credentials");
        assert_eq!(v["scope"], "read:notes");
        assert_eq!(
            out.headers()[http::header::CONTENT_TYPE],
            "application/json"
        );

        let req = http::Request::builder().body(b"a=b".to_vec()).unwrap();
        assert_eq!(reencode(req, TokenBodyFormat::Form).body(), b"a=b");
    }
}
