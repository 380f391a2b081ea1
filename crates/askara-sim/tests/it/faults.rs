use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use askara_sim::{RateLimit, RetryAfter, SimConfig};

use crate::{assert_problem, client, get, header, start, token};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn fail_next_then_recover() {
    let sim = start(SimConfig::default()).await;
    let tok = token(&sim).await;
    sim.faults().fail_next(2, 503);
    sim.faults().fail_next(1, 502);
    for want in [503, 503, 502] {
        let (status, headers, body) = get(&sim, &tok, "/notes").await;
        assert_eq!(status, want);
        assert_problem(&headers, &body, want);
    }
    assert_eq!(get(&sim, &tok, "/notes").await.0, 200);
}

#[tokio::test]
async fn token_endpoint_is_not_hit_by_resource_faults() {
    let sim = start(SimConfig::default()).await;
    sim.faults().fail_next(1, 500);
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "/me").await.0, 500);
    assert_eq!(get(&sim, &tok, "/me").await.0, 200);
    sim.faults().fail_next(5, 500);
    sim.faults().clear();
    assert_eq!(get(&sim, &tok, "/me").await.0, 200);
}

#[tokio::test]
async fn injected_429_with_each_retry_after() {
    let sim = start(SimConfig::default()).await;
    let tok = token(&sim).await;
    let f = sim.faults();
    f.rate_limit_next(1, RetryAfter::Seconds(7));
    f.rate_limit_next(1, RetryAfter::HttpDate(Duration::from_secs(30)));
    f.rate_limit_next(1, RetryAfter::Absent);

    let (status, h, body) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 429);
    assert_problem(&h, &body, 429);
    assert_eq!(header(&h, "retry-after").as_deref(), Some("7"));
    assert_eq!(header(&h, "x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(header(&h, "x-ratelimit-limit").as_deref(), Some("5000"));
    let reset: u64 = header(&h, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(
        (unix_now() + 6..=unix_now() + 9).contains(&reset),
        "{reset}"
    );

    let (status, h, _) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 429);
    let date = header(&h, "retry-after").unwrap();
    assert!(date.ends_with(" GMT"), "{date}");
    let at = chrono::NaiveDateTime::parse_from_str(&date, "%a, %d %b %Y %H:%M:%S GMT")
        .unwrap()
        .and_utc()
        .timestamp() as u64;
    assert!((unix_now() + 28..=unix_now() + 31).contains(&at), "{date}");

    let (status, h, _) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 429);
    assert!(header(&h, "retry-after").is_none());
    let reset: u64 = header(&h, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= unix_now());

    assert_eq!(get(&sim, &tok, "/notes").await.0, 200);
}

#[tokio::test]
async fn slow_next_answers_late_but_correctly() {
    let sim = start(SimConfig::default()).await;
    sim.add_generated(3, 1);
    let tok = token(&sim).await;
    sim.faults().slow_next(1, Duration::from_millis(150));
    let started = Instant::now();
    let (status, _, body) = get(&sim, &tok, "/notes").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(status, 200);
    assert_eq!(body["hydra:totalItems"], 3);
    let started = Instant::now();
    get(&sim, &tok, "/notes").await;
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn drop_next_is_a_network_error() {
    let sim = start(SimConfig::default()).await;
    let tok = token(&sim).await;
    sim.faults().drop_next(1);
    let http = client();
    let err = http
        .get(format!("{}/notes", sim.base_url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    let ok = http
        .get(format!("{}/notes", sim.base_url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let notes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/notes")
        .collect();
    assert_eq!(notes.iter().map(|r| r.status).collect::<Vec<_>>(), [0, 200]);
}

#[tokio::test]
async fn rate_limit_headers_decrease_and_bucket_empties() {
    let sim = start(SimConfig::default()).await;
    let tok = token(&sim).await;
    let mut last = u64::MAX;
    for _ in 0..3 {
        let (_, h, _) = get(&sim, &tok, "/notes").await;
        assert_eq!(header(&h, "x-ratelimit-limit").as_deref(), Some("5000"));
        let remaining: u64 = header(&h, "x-ratelimit-remaining")
            .unwrap()
            .parse()
            .unwrap();
        assert!(remaining < last);
        last = remaining;
        let reset: u64 = header(&h, "x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > unix_now() + 800 && reset <= unix_now() + 901);
    }
    assert_eq!(last, 4997);

    let sim = start(SimConfig {
        rate_limit: Some(RateLimit {
            capacity: 3,
            refill: 3,
            period: Duration::from_millis(800),
        }),
        ..SimConfig::default()
    })
    .await;
    let tok = token(&sim).await;
    for _ in 0..3 {
        assert_eq!(get(&sim, &tok, "/notes").await.0, 200);
    }
    let (status, h, body) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 429);
    assert_problem(&h, &body, 429);
    assert_eq!(header(&h, "x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(header(&h, "retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // The token endpoint is not limited.
    token(&sim).await;
    tokio::time::sleep(Duration::from_millis(850)).await;
    let (status, h, _) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "x-ratelimit-remaining").as_deref(), Some("2"));

    let sim = start(SimConfig {
        rate_limit: None,
        ..SimConfig::default()
    })
    .await;
    let tok = token(&sim).await;
    let (status, h, _) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 200);
    assert!(header(&h, "x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = start(SimConfig::default()).await;
    let url = sim.base_url();
    sim.shutdown().await;
    assert!(client().get(format!("{url}/me")).send().await.is_err());
}

#[tokio::test]
async fn dropping_every_handle_keeps_serving() {
    let url = start(SimConfig::default()).await.base_url();
    let resp = client().get(format!("{url}/me")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
