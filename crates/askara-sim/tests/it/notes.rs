use askara_sim::{CollectionFormat, SimConfig, SimHandle};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::{assert_problem, client, get, header, start, token};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn note(uuid: &str, created: &str) -> Value {
    json!({
        "uuid": uuid,
        "type": "follow_up",
        "content": "Synthetic",
        "createdAt": created,
        "updatedAt": created,
        "patient": null,
    })
}

fn members(body: &Value) -> Vec<Value> {
    body.as_array()
        .or_else(|| body["hydra:member"].as_array())
        .or_else(|| body["member"].as_array())
        .unwrap()
        .clone()
}

fn uuids(body: &Value) -> Vec<String> {
    members(body)
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn missing_and_bad_tokens_get_401_problems() {
    let sim = start(SimConfig::default()).await;
    let resp = client()
        .get(format!("{}/notes", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    assert_problem(&headers, &body, 401);
    assert_eq!(body["title"], "Unauthorized");
    assert!(header(&headers, "www-authenticate")
        .unwrap()
        .starts_with("Bearer"));

    let (status, headers, body) = get(&sim, "garbage", "/notes").await;
    assert_eq!(status, 401);
    assert_problem(&headers, &body, 401);
}

#[tokio::test]
async fn missing_scope_is_403_naming_the_scope() {
    let sim = start(SimConfig {
        granted_scopes: vec!["profile".into()],
        ..SimConfig::default()
    })
    .await;
    sim.add_generated(3, 1);
    let tok = token(&sim).await;
    let (status, headers, body) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 403);
    assert_problem(&headers, &body, 403);
    assert_eq!(
        body["detail"],
        "Insufficient scope: this token lacks read:notes"
    );
    let uuid = &sim.note_uuids()[0];
    assert_eq!(get(&sim, &tok, &format!("/notes/{uuid}")).await.0, 403);
    // /me needs no particular scope.
    let (status, _, me) = get(&sim, &tok, "/me").await;
    assert_eq!(status, 200);
    assert!(me["organization"]["uuid"].is_string());
}

async fn collect_by_next_links(
    sim: &SimHandle,
    tok: &str,
    first: &str,
    next_key: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut link = Some(first.to_string());
    let mut pages = 0;
    while let Some(l) = link {
        let (status, _, body) = get(sim, tok, &l).await;
        assert_eq!(status, 200);
        out.extend(uuids(&body));
        let mut v = &body;
        for k in next_key {
            v = &v[*k];
        }
        link = v.as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 50);
    }
    out
}

#[tokio::test]
async fn hydra_pagination_with_next_links() {
    let sim = start(SimConfig::default()).await;
    let all = sim.add_generated(45, 3);
    let tok = token(&sim).await;
    let (status, h, body) = get(&sim, &tok, "/notes").await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type")
        .unwrap()
        .starts_with("application/ld+json"));
    assert_eq!(body["@type"], "hydra:Collection");
    assert_eq!(body["@id"], "/notes");
    assert_eq!(body["hydra:totalItems"], 45);
    assert_eq!(members(&body).len(), 20);
    let view = &body["hydra:view"];
    assert_eq!(view["@type"], "hydra:PartialCollectionView");
    assert_eq!(view["hydra:first"], "/notes?page=1");
    assert_eq!(view["hydra:last"], "/notes?page=3");
    assert_eq!(view["hydra:next"], "/notes?page=2");

    let got = collect_by_next_links(
        &sim,
        &tok,
        "/notes?itemsPerPage=20",
        &["hydra:view", "hydra:next"],
    )
    .await;
    assert_eq!(got, all, "insertion order without order[]");

    let (_, _, last) = get(&sim, &tok, "/notes?page=3").await;
    assert_eq!(members(&last).len(), 5);
    assert!(last["hydra:view"].get("hydra:next").is_none());
    assert_eq!(last["hydra:view"]["hydra:previous"], "/notes?page=2");

    // Filters survive in the links, brackets encoded as API Platform does.
    let (_, _, body) = get(
        &sim,
        &tok,
        "/notes?order%5BcreatedAt%5D=desc&itemsPerPage=10",
    )
    .await;
    assert_eq!(
        body["hydra:view"]["hydra:next"],
        "/notes?order%5BcreatedAt%5D=desc&itemsPerPage=10&page=2"
    );
}

#[tokio::test]
async fn jsonld_and_plain_formats() {
    let sim = start(SimConfig {
        collection_format: CollectionFormat::JsonLd,
        ..SimConfig::default()
    })
    .await;
    let all = sim.add_generated(25, 4);
    let tok = token(&sim).await;
    let (_, _, body) = get(&sim, &tok, "/notes?itemsPerPage=10").await;
    assert_eq!(body["@type"], "Collection");
    assert_eq!(body["totalItems"], 25);
    assert!(body.get("hydra:member").is_none());
    assert_eq!(body["view"]["@type"], "PartialCollectionView");
    assert_eq!(body["view"]["next"], "/notes?itemsPerPage=10&page=2");
    let got = collect_by_next_links(&sim, &tok, "/notes?itemsPerPage=10", &["view", "next"]).await;
    assert_eq!(got, all);

    let sim = start(SimConfig {
        collection_format: CollectionFormat::Plain,
        ..SimConfig::default()
    })
    .await;
    let all = sim.add_generated(25, 4);
    let tok = token(&sim).await;
    let (_, h, body) = get(&sim, &tok, "/notes?itemsPerPage=10&page=3").await;
    assert!(header(&h, "content-type")
        .unwrap()
        .starts_with("application/json"));
    assert!(body.is_array());
    assert_eq!(uuids(&body), all[20..].to_vec());
    let (_, _, body) = get(&sim, &tok, "/notes?itemsPerPage=10&page=4").await;
    assert_eq!(body, json!([]));
}

#[tokio::test]
async fn items_per_page_default_cap_and_bounds() {
    let sim = start(SimConfig::default()).await;
    sim.add_generated(130, 5);
    let tok = token(&sim).await;
    assert_eq!(members(&get(&sim, &tok, "/notes").await.2).len(), 20);
    assert_eq!(
        members(&get(&sim, &tok, "/notes?itemsPerPage=150").await.2).len(),
        100
    );
    assert_eq!(
        members(&get(&sim, &tok, "/notes?itemsPerPage=7").await.2).len(),
        7
    );
    let (status, _, body) = get(&sim, &tok, "/notes?itemsPerPage=0").await;
    assert_eq!(status, 200);
    assert_eq!(members(&body).len(), 0);
    assert_eq!(body["hydra:totalItems"], 130);
    let (status, headers, body) = get(&sim, &tok, "/notes?itemsPerPage=-1").await;
    assert_eq!(status, 400);
    assert_problem(&headers, &body, 400);
    assert_eq!(get(&sim, &tok, "/notes?page=0").await.0, 400);
    assert_eq!(get(&sim, &tok, "/notes?page=abc").await.0, 400);

    let sim = start(SimConfig {
        default_items_per_page: 30,
        ..SimConfig::default()
    })
    .await;
    sim.add_generated(40, 5);
    let tok = token(&sim).await;
    assert_eq!(members(&get(&sim, &tok, "/notes").await.2).len(), 30);
}

/// Two notes at t0, three at t1, two at t2.
async fn three_seconds() -> (SimHandle, String, [DateTime<Utc>; 3]) {
    let sim = start(SimConfig::default()).await;
    let t0 = t("2026-02-17T09:00:00Z");
    let t1 = t("2026-02-17T10:30:00Z");
    let t2 = t("2026-02-18T08:00:00Z");
    sim.add_generated_at(2, 1, t0);
    sim.add_generated_at(3, 1, t1);
    sim.add_generated_at(2, 1, t2);
    let tok = token(&sim).await;
    (sim, tok, [t0, t1, t2])
}

async fn count(sim: &SimHandle, tok: &str, query: &[(&str, &str)]) -> usize {
    let url = reqwest::Url::parse_with_params(&format!("{}/notes", sim.base_url()), query).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let (status, _, body) = get(sim, tok, &path).await;
    assert_eq!(status, 200, "{path}");
    body["hydra:totalItems"].as_u64().unwrap() as usize
}

#[tokio::test]
async fn every_created_at_operator() {
    let (sim, tok, _) = three_seconds().await;
    let at = "2026-02-17T10:30:00+00:00";
    for (op, want) in [
        ("after", 5),
        ("strictly_after", 2),
        ("before", 5),
        ("strictly_before", 2),
        ("gte", 5),
        ("gt", 2),
        ("lte", 5),
        ("lt", 2),
    ] {
        let key = format!("createdAt[{op}]");
        assert_eq!(count(&sim, &tok, &[(&key, at)]).await, want, "{op}");
    }
    // Same instant in another offset and with Z.
    assert_eq!(
        count(
            &sim,
            &tok,
            &[("createdAt[strictly_after]", "2026-02-17T12:30:00+02:00")]
        )
        .await,
        2
    );
    assert_eq!(
        count(&sim, &tok, &[("createdAt[after]", "2026-02-17T10:30:00Z")]).await,
        5
    );
    // A date means its midnight UTC.
    assert_eq!(
        count(&sim, &tok, &[("createdAt[after]", "2026-02-18")]).await,
        2
    );
    assert_eq!(
        count(&sim, &tok, &[("createdAt[before]", "2026-02-18")]).await,
        5
    );
    // Combined bounds, and between.
    assert_eq!(
        count(
            &sim,
            &tok,
            &[
                ("createdAt[after]", "2026-02-17T10:00:00Z"),
                ("createdAt[before]", "2026-02-17T11:00:00Z")
            ]
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &sim,
            &tok,
            &[(
                "createdAt[between]",
                "2026-02-17T10:30:00Z..2026-02-18T08:00:00Z"
            )]
        )
        .await,
        5
    );
    // An unencoded `+` arrives as a space; the offset is repaired.
    let (_, _, body) = get(
        &sim,
        &tok,
        "/notes?createdAt[strictly_after]=2026-02-17T10:30:00+00:00",
    )
    .await;
    assert_eq!(body["hydra:totalItems"], 2);
    // Garbage is ignored, as API Platform does.
    assert_eq!(count(&sim, &tok, &[("createdAt[after]", "soon")]).await, 7);
}

#[tokio::test]
async fn ignored_filters_when_configured() {
    let sim = start(SimConfig {
        honour_created_filter: false,
        honour_updated_filter: false,
        ..SimConfig::default()
    })
    .await;
    sim.add_generated_at(3, 1, t("2026-01-01T00:00:00Z"));
    let tok = token(&sim).await;
    assert_eq!(
        count(&sim, &tok, &[("createdAt[after]", "2026-06-01")]).await,
        3
    );
    assert_eq!(
        count(&sim, &tok, &[("updatedAt[after]", "2026-06-01")]).await,
        3
    );
}

#[tokio::test]
async fn updated_at_filter_and_revisions() {
    let (sim, tok, [_, _, t2]) = three_seconds().await;
    let target = sim.note_uuids()[1].clone();
    assert!(sim.revise_note(&target, "Revised synthetic content"));
    assert!(!sim.revise_note("no-such-note", "x"));
    let (_, _, body) = get(
        &sim,
        &tok,
        "/notes?updatedAt%5Bstrictly_after%5D=2026-02-18T08:00:00%2B00:00",
    )
    .await;
    assert_eq!(uuids(&body), vec![target.clone()]);
    let revised = &members(&body)[0];
    assert_eq!(revised["content"], "Revised synthetic content");
    let updated = t(revised["updatedAt"].as_str().unwrap());
    assert!(updated > t2 && updated <= Utc::now() + Duration::seconds(1));
    let (_, _, body) = get(
        &sim,
        &tok,
        "/notes?order%5BupdatedAt%5D=desc&itemsPerPage=1",
    )
    .await;
    assert_eq!(uuids(&body), vec![target]);
    // A revision in the note's own second still moves updatedAt forward.
    let fresh = sim.add_generated_at(1, 77, Utc::now())[0].clone();
    sim.revise_note(&fresh, "again");
    let revised = sim.note(&fresh).unwrap();
    assert!(t(revised["updatedAt"].as_str().unwrap()) > t(revised["createdAt"].as_str().unwrap()));
}

#[tokio::test]
async fn order_with_ties_is_total_and_mirrored() {
    let sim = start(SimConfig::default()).await;
    for (u, at) in [
        ("a", "2026-02-17T10:00:02+00:00"),
        ("b", "2026-02-17T10:00:01+00:00"),
        ("c", "2026-02-17T12:00:01+02:00"),
        ("d", "2026-02-17T10:00:03Z"),
        ("e", "2026-02-17T10:00:01+00:00"),
    ] {
        sim.add_note(note(u, at));
    }
    let tok = token(&sim).await;
    let (_, _, body) = get(&sim, &tok, "/notes?order%5BcreatedAt%5D=asc").await;
    assert_eq!(uuids(&body), ["b", "c", "e", "a", "d"]);
    let (_, _, body) = get(&sim, &tok, "/notes?order%5BcreatedAt%5D=desc").await;
    assert_eq!(uuids(&body), ["d", "a", "e", "c", "b"]);
    let (_, _, body) = get(&sim, &tok, "/notes").await;
    assert_eq!(uuids(&body), ["a", "b", "c", "d", "e"]);
    // Paging through a tie is stable.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let (_, _, body) = get(
            &sim,
            &tok,
            &format!("/notes?order%5BcreatedAt%5D=asc&itemsPerPage=2&page={page}"),
        )
        .await;
        paged.extend(uuids(&body));
    }
    assert_eq!(paged, ["b", "c", "e", "a", "d"]);
}

#[tokio::test]
async fn notes_added_while_paging_show_up() {
    let sim = start(SimConfig::default()).await;
    sim.add_generated(4, 9);
    let tok = token(&sim).await;
    let (_, _, p1) = get(
        &sim,
        &tok,
        "/notes?order%5BcreatedAt%5D=desc&itemsPerPage=2",
    )
    .await;
    sim.add_note(note("late", &Utc::now().to_rfc3339()));
    let (_, _, p1again) = get(
        &sim,
        &tok,
        "/notes?order%5BcreatedAt%5D=desc&itemsPerPage=2",
    )
    .await;
    assert_eq!(uuids(&p1again)[0], "late");
    assert_eq!(uuids(&p1again)[1], uuids(&p1)[0], "pages shift");
    assert_eq!(p1again["hydra:totalItems"], 5);
}

#[tokio::test]
async fn patient_and_audio_filters_and_detail() {
    let sim = start(SimConfig::default()).await;
    sim.add_generated(60, 11);
    let tok = token(&sim).await;
    let (_, _, all) = get(&sim, &tok, "/notes?itemsPerPage=100").await;
    let with_patient = members(&all)
        .into_iter()
        .find(|n| n["patient"]["firstName"].is_string())
        .unwrap();
    let pid = with_patient["patient"]["uuid"].as_str().unwrap();
    let expected = members(&all)
        .iter()
        .filter(|n| n["patient"]["uuid"] == pid)
        .count();
    let (_, _, by_uuid) = get(
        &sim,
        &tok,
        &format!("/notes?patient={pid}&itemsPerPage=100"),
    )
    .await;
    let (_, _, by_iri) = get(
        &sim,
        &tok,
        &format!("/notes?patient=%2Fpatients%2F{pid}&itemsPerPage=100"),
    )
    .await;
    assert_eq!(members(&by_uuid).len(), expected);
    assert_eq!(uuids(&by_uuid), uuids(&by_iri));

    let uuid = with_patient["uuid"].as_str().unwrap();
    let (status, _, detail) = get(&sim, &tok, &format!("/notes/{uuid}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["content"], with_patient["content"]);
    assert!(detail["audio"]["duration"].as_u64().unwrap() > 0);
    assert!(detail["user"]["lastName"].is_string());
    let audio = detail["audio"]["uuid"].as_str().unwrap();
    assert_eq!(sim.note_audio_uuid(uuid).as_deref(), Some(audio));
    let (_, _, by_audio) = get(&sim, &tok, &format!("/notes?audio={audio}")).await;
    assert_eq!(uuids(&by_audio), vec![uuid.to_string()]);

    let (status, headers, body) =
        get(&sim, &tok, "/notes/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(status, 404);
    assert_problem(&headers, &body, 404);

    let (status, _, p) = get(&sim, &tok, &format!("/patients/{pid}")).await;
    assert_eq!(status, 200);
    assert_eq!(p["uuid"], pid);
    let (_, _, patients) = get(&sim, &tok, "/patients").await;
    assert!(patients["hydra:totalItems"].as_u64().unwrap() > 3);
}

#[tokio::test]
async fn requests_are_recorded() {
    let sim = start(SimConfig::default()).await;
    let tok = token(&sim).await;
    sim.clear_requests();
    get(&sim, &tok, "/notes?page=1").await;
    get(&sim, "bad", "/me").await;
    let log = sim.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("GET", "/notes")
    );
    assert_eq!(log[0].query.as_deref(), Some("page=1"));
    assert_eq!(log[0].status, 200);
    assert_eq!(
        (log[1].path.as_str(), log[1].query.as_deref(), log[1].status),
        ("/me", None, 401)
    );
    assert!(log[0].at <= log[1].at && log[1].at <= Utc::now() + Duration::seconds(1));
}
