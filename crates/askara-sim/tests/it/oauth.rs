use std::time::Duration;

use askara_sim::{pkce_challenge, SimConfig, SimHandle};
use serde_json::{json, Value};

use crate::{assert_problem, client, get, start, token};

async fn post_token_json(sim: &SimHandle, body: Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn post_token_form(sim: &SimHandle, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn assert_tokens(body: &Value, with_refresh: bool) {
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().unwrap().len() > 20);
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read:notes");
    assert_eq!(body.get("refresh_token").is_some(), with_refresh);
}

#[tokio::test]
async fn client_credentials_by_json_form_and_basic() {
    let sim = start(SimConfig::default()).await;
    let (status, body) = post_token_json(
        &sim,
        json!({"grant_type": "client_credentials", "client_id": "askara-inbox-demo", "client_secret": "sim-secret"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_tokens(&body, false);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3, "JWT-looking");
    assert_eq!(get(&sim, access, "/notes").await.0, 200);

    let (status, body) = post_token_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "askara-inbox-demo"),
            ("client_secret", "sim-secret"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_tokens(&body, false);

    let resp = client()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .basic_auth("askara-inbox-demo", Some("sim-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap(),
        "no-store"
    );
    assert_tokens(&resp.json().await.unwrap(), false);
    assert_eq!(sim.token_requests(), 3);
}

#[tokio::test]
async fn wrong_secret_and_missing_secret_are_invalid_client() {
    let sim = start(SimConfig::default()).await;
    let (status, body) = post_token_json(
        &sim,
        json!({"grant_type": "client_credentials", "client_id": "askara-inbox-demo", "client_secret": "nope"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let resp = client()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .basic_auth("askara-inbox-demo", Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    let (status, body) = post_token_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "askara-inbox-demo"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let (status, body) = post_token_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "someone-else"),
            ("client_secret", "sim-secret"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let (status, body) = post_token_form(
        &sim,
        &[
            ("grant_type", "password"),
            ("client_id", "askara-inbox-demo"),
            ("client_secret", "sim-secret"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn requested_scopes_are_narrowed_to_granted_ones() {
    let sim = start(SimConfig {
        granted_scopes: vec!["read:notes".into(), "profile".into()],
        ..SimConfig::default()
    })
    .await;
    let (_, body) = post_token_json(
        &sim,
        json!({"grant_type": "client_credentials", "client_id": "askara-inbox-demo",
               "client_secret": "sim-secret", "scope": "profile write:notes"}),
    )
    .await;
    assert_eq!(body["scope"], "profile");
    let (status, headers, body) = get(&sim, body["access_token"].as_str().unwrap(), "/notes").await;
    assert_eq!(status, 403);
    assert_problem(&headers, &body, 403);
}

async fn device_code(sim: &SimHandle) -> Value {
    let resp = client()
        .post(format!("{}/oauth2/device-code", sim.base_url()))
        .json(&json!({"client_id": "askara-inbox-demo", "scope": "read:notes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn poll(sim: &SimHandle, device_code: &str) -> (u16, Value) {
    post_token_form(
        sim,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "askara-inbox-demo"),
        ],
    )
    .await
}

fn fast_device() -> SimConfig {
    SimConfig {
        device_poll_interval_secs: 0,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn device_flow_pending_then_approved() {
    let sim = start(fast_device()).await;
    let dc = device_code(&sim).await;
    let user_code = dc["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(dc["verification_uri"], format!("{}/device", sim.base_url()));
    assert_eq!(
        dc["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", sim.base_url())
    );
    assert_eq!(dc["expires_in"], 600);
    assert_eq!(dc["interval"], 0);
    let code = dc["device_code"].as_str().unwrap();

    let (status, body) = poll(&sim, code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    assert!(sim.approve_device(&user_code.to_lowercase().replace('-', "")));
    let (status, body) = poll(&sim, code).await;
    assert_eq!(status, 200);
    assert_tokens(&body, true);

    let (status, body) = poll(&sim, code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(!sim.approve_device(user_code), "already used");
}

#[tokio::test]
async fn device_page_approves_and_denies() {
    let sim = start(fast_device()).await;
    let dc = device_code(&sim).await;
    let page = client()
        .get(dc["verification_uri_complete"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains(dc["user_code"].as_str().unwrap()));
    let resp = client()
        .post(format!("{}/device", sim.base_url()))
        .form(&[
            ("user_code", dc["user_code"].as_str().unwrap()),
            ("action", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("approved"));
    assert_eq!(poll(&sim, dc["device_code"].as_str().unwrap()).await.0, 200);

    let dc = device_code(&sim).await;
    client()
        .post(format!("{}/device", sim.base_url()))
        .form(&[
            ("user_code", dc["user_code"].as_str().unwrap()),
            ("action", "deny"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = poll(&sim, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );

    let dc = device_code(&sim).await;
    assert!(sim.deny_device(dc["user_code"].as_str().unwrap()));
    assert_eq!(
        poll(&sim, dc["device_code"].as_str().unwrap()).await.1["error"],
        "access_denied"
    );
}

#[tokio::test]
async fn device_polling_too_fast_gets_slow_down() {
    let sim = start(SimConfig {
        device_poll_interval_secs: 1,
        ..SimConfig::default()
    })
    .await;
    let dc = device_code(&sim).await;
    assert_eq!(dc["interval"], 1);
    let code = dc["device_code"].as_str().unwrap();
    assert_eq!(poll(&sim, code).await.1["error"], "authorization_pending");
    assert_eq!(poll(&sim, code).await.1["error"], "slow_down");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(poll(&sim, code).await.1["error"], "authorization_pending");
}

#[tokio::test]
async fn device_code_expires_and_auto_approve_works() {
    let sim = start(SimConfig {
        device_code_ttl: Duration::ZERO,
        ..fast_device()
    })
    .await;
    let dc = device_code(&sim).await;
    assert_eq!(
        poll(&sim, dc["device_code"].as_str().unwrap()).await.1["error"],
        "expired_token"
    );

    let sim = start(SimConfig {
        device_auto_approve: true,
        ..fast_device()
    })
    .await;
    let dc = device_code(&sim).await;
    assert_eq!(poll(&sim, dc["device_code"].as_str().unwrap()).await.0, 200);
}

async fn refresh(sim: &SimHandle, rt: &str) -> (u16, Value) {
    post_token_form(
        sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", "askara-inbox-demo"),
        ],
    )
    .await
}

/// Tokens with a refresh token, through the device flow.
async fn user_tokens(sim: &SimHandle) -> Value {
    let dc = device_code(sim).await;
    sim.approve_device(dc["user_code"].as_str().unwrap());
    let (status, body) = poll(sim, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let sim = start(fast_device()).await;
    let first = user_tokens(&sim).await;
    let rt1 = first["refresh_token"].as_str().unwrap();

    let (status, second) = refresh(&sim, rt1).await;
    assert_eq!(status, 200);
    assert_tokens(&second, true);
    let rt2 = second["refresh_token"].as_str().unwrap();
    let at2 = second["access_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    assert_eq!(get(&sim, at2, "/notes").await.0, 200);

    // Rotation again, by JSON and with the secret, is fine.
    let (status, third) = post_token_json(
        &sim,
        json!({"grant_type": "refresh_token", "refresh_token": rt2,
               "client_id": "askara-inbox-demo", "client_secret": "sim-secret"}),
    )
    .await;
    assert_eq!(status, 200);
    let rt3 = third["refresh_token"].as_str().unwrap();
    let at3 = third["access_token"].as_str().unwrap();
    assert_eq!(sim.refresh_reuse_detected(), 0);

    // Replaying a spent token is theft: it fails, is counted, and kills the family.
    let (status, body) = refresh(&sim, rt1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(sim.refresh_reuse_detected(), 1);
    assert_eq!(refresh(&sim, rt3).await.1["error"], "invalid_grant");
    assert_eq!(get(&sim, at3, "/notes").await.0, 401);

    // Another family is untouched.
    let other = user_tokens(&sim).await;
    assert_eq!(
        refresh(&sim, other["refresh_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    assert_eq!(
        refresh(&sim, "not-a-token").await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn revoke_all_and_expire_access_tokens() {
    let sim = start(fast_device()).await;
    let t = user_tokens(&sim).await;
    let access = t["access_token"].as_str().unwrap();
    sim.faults().expire_access_tokens();
    let (status, headers, body) = get(&sim, access, "/notes").await;
    assert_eq!(status, 401);
    assert_problem(&headers, &body, 401);
    assert!(body["detail"].as_str().unwrap().contains("expired"));
    let (status, t2) = refresh(&sim, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&sim, t2["access_token"].as_str().unwrap(), "/notes")
            .await
            .0,
        200
    );

    sim.faults().revoke_all_tokens();
    let (status, _, body) = get(&sim, t2["access_token"].as_str().unwrap(), "/notes").await;
    assert_eq!(status, 401);
    assert!(body["detail"].as_str().unwrap().contains("revoked"));
    let (status, body) = refresh(&sim, t2["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(sim.refresh_reuse_detected(), 0);
    let fresh = token(&sim).await;
    assert_eq!(get(&sim, &fresh, "/notes").await.0, 200);
}

#[tokio::test]
async fn token_endpoint_faults() {
    let sim = start(SimConfig::default()).await;
    sim.faults().fail_token_next(2, 503);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "askara-inbox-demo"),
        ("client_secret", "sim-secret"),
    ];
    for _ in 0..2 {
        let resp = client()
            .post(format!("{}/oauth2/token", sim.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 503);
    }
    assert_eq!(post_token_form(&sim, &form).await.0, 200);
    assert_eq!(sim.token_requests(), 3);
}

async fn authorize(sim: &SimHandle, challenge: &str, redirect_uri: &str) -> String {
    let resp = client()
        .get(format!("{}/authorize", sim.base_url()))
        .query(&[
            ("response_type", "code"),
            ("client_id", "askara-inbox-demo"),
            ("redirect_uri", redirect_uri),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "xyz 1"),
            ("scope", "read:notes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect_uri));
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "xyz 1");
    pairs["code"].clone()
}

#[tokio::test]
async fn authorization_code_with_pkce() {
    let sim = start(SimConfig::default()).await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_eq!(
        pkce_challenge(verifier),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let redirect = "http://127.0.0.1:9/callback";

    let code = authorize(&sim, &pkce_challenge(verifier), redirect).await;
    let exchange = |code: String, verifier: &'static str, redirect: &'static str| {
        let sim = sim.clone();
        async move {
            post_token_form(
                &sim,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                    ("client_id", "askara-inbox-demo"),
                ],
            )
            .await
        }
    };
    let (status, body) = exchange(code.clone(), verifier, "http://127.0.0.1:9/callback").await;
    assert_eq!(status, 200);
    assert_tokens(&body, true);
    // Codes are single-use.
    let (status, body) = exchange(code, verifier, "http://127.0.0.1:9/callback").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = authorize(&sim, &pkce_challenge(verifier), redirect).await;
    let wrong = "AAAAtJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let (status, body) = exchange(code, wrong, "http://127.0.0.1:9/callback").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = authorize(&sim, &pkce_challenge(verifier), redirect).await;
    let (status, body) = exchange(code, verifier, "http://127.0.0.1:9/other").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
