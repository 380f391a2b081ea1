#![allow(dead_code)]

use askara::Note;
use serde_json::json;

pub fn note(uuid: &str, content: &str, ext: Option<&str>) -> Note {
    let mut raw = json!({
        "uuid": uuid,
        "type": "consultation_summary",
        "content": content,
        "createdAt": "2026-02-24T10:30:00+01:00",
        "updatedAt": "2026-02-24T10:31:00Z",
        "patient": {"uuid": format!("p-{uuid}"), "firstName": "Bjørn", "lastName": "Ødegård"}
    });
    if let Some(e) = ext {
        raw["patient"]["externalId"] = json!(e);
    }
    Note::from_json(raw).expect("valid note")
}

pub fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

pub fn ctx(user: &str) -> import::ImportContext {
    import::ImportContext::new(user, format!("ws-{user}"))
}

/// A client for checks made beside the target.
pub async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("test connect");
    tokio::spawn(conn);
    c
}

pub async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.expect("count query").get(0)
}
