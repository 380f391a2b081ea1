//! OAuth2 against the simulator: both token body encodings, device code (approve, deny),
//! authorization code with PKCE, and no redirect followed from the token endpoint.

#![allow(clippy::unwrap_used)]

use askara::{
    ApiClient, ClientConfig, ErrorCode, ManualClock, MemoryTokenStore, SharedClock, TokenBodyFormat,
};
use askara_sim::{SimConfig, SimHandle};
use std::sync::Arc;

fn client(base: &str, secret: Option<&str>, body: TokenBodyFormat) -> ApiClient {
    let mut cfg = ClientConfig::new(base, "askara-inbox-demo")
        .unwrap()
        .with_secret(secret.map(Into::into));
    cfg.token_body = body;
    let clock: SharedClock = Arc::new(ManualClock::new(chrono::Utc::now()));
    ApiClient::new(cfg, Arc::new(MemoryTokenStore::default()), clock).unwrap()
}

#[tokio::test]
async fn client_credentials_in_json_and_in_form() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.add_generated(3, 1);
    for body in [TokenBodyFormat::Json, TokenBodyFormat::Form] {
        let api = client(&sim.base_url(), Some("sim-secret"), body);
        assert_eq!(api.list_notes(&[]).await.unwrap().item_count, 3, "{body:?}");
    }
}

#[tokio::test]
async fn device_code_denied_is_said_plainly() {
    let sim = SimHandle::start(SimConfig {
        device_poll_interval_secs: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let api = client(&sim.base_url(), None, TokenBodyFormat::Json);
    let device = api.auth().start_device().await.unwrap();
    assert!(device.verification_uri.ends_with("/device"));
    assert!(
        format!("{device:?}").contains("device_code: \"<redacted>\""),
        "{device:?}"
    );
    assert!(sim.deny_device(&device.user_code));
    let err = api.auth().finish_device(&device).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccessDenied);
    assert!(err.to_string().contains("denied"), "{err}");
}

#[tokio::test]
async fn device_code_approved_later_signs_in() {
    let sim = SimHandle::start(SimConfig {
        device_poll_interval_secs: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.add_generated(2, 1);
    let api = Arc::new(client(&sim.base_url(), None, TokenBodyFormat::Form));
    let device = api.auth().start_device().await.unwrap();
    let waiting = {
        let (api, device) = (api.clone(), device.clone());
        tokio::spawn(async move { api.auth().finish_device(&device).await })
    };
    tokio::task::yield_now().await;
    assert!(sim.approve_device(&device.user_code));
    let tokens = waiting.await.unwrap().unwrap();
    assert!(tokens.refresh_token.is_some());
    assert_eq!(api.list_notes(&[]).await.unwrap().item_count, 2);
}

#[tokio::test]
async fn authorization_code_with_pkce() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let api = client(&sim.base_url(), None, TokenBodyFormat::Json);
    let redirect = url::Url::parse("http://127.0.0.1:53682/callback").unwrap();
    let session = api.auth().start_pkce(redirect).unwrap();
    let q: std::collections::HashMap<_, _> =
        session.authorize_url.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(session.authorize_url.clone())
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let back: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    let tokens = api
        .auth()
        .finish_pkce(session, &back["code"], &back["state"])
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_some());

    // A mismatched state is refused before any token request.
    let session = api
        .auth()
        .start_pkce(url::Url::parse("http://127.0.0.1:53682/callback").unwrap())
        .unwrap();
    let err = api
        .auth()
        .finish_pkce(session, "code", "forged")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccessDenied);
}

#[tokio::test]
async fn the_token_endpoint_never_follows_a_redirect() {
    // A "token endpoint" that redirects elsewhere: the credentials must not travel on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{addr}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    let api = client(
        &format!("http://{addr}"),
        Some("s3cret"),
        TokenBodyFormat::Json,
    );
    let err = api.list_notes(&[]).await.unwrap_err();
    assert_ne!(err.code(), ErrorCode::RateLimited);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the redirect was followed"
    );
}
