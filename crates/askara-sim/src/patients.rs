//! `GET /patients` and `GET /patients/{uuid}`, drawn from the patients the stored notes
//! embed. Guarded by `read:notes` because that is the only scope this product holds and the
//! data is the same the notes already expose.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use crate::collection::{json_response, Page};
use crate::guard::Caller;
use crate::notes::{query_pairs, READ_NOTES};
use crate::problem::problem;
use crate::state::{lock, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients", get(list))
        .route("/patients/{uuid}", get(detail))
}

fn patients(st: &AppState) -> Vec<Value> {
    let store = st.notes_read();
    // One record per uuid, merged over every note that embeds it (later notes win field by
    // field): a note carrying a partial patient must not make the patient resource partial.
    let mut order: Vec<String> = Vec::new();
    let mut merged: HashMap<String, serde_json::Map<String, Value>> = HashMap::new();
    for n in store.all().iter() {
        let Some(p) = n.json.get("patient").and_then(Value::as_object) else {
            continue;
        };
        let Some(uuid) = n.patient_uuid.clone() else {
            continue;
        };
        let entry = merged.entry(uuid.clone()).or_insert_with(|| {
            order.push(uuid);
            serde_json::Map::new()
        });
        for (k, v) in p {
            if !v.is_null() {
                entry.insert(k.clone(), v.clone());
            }
        }
    }
    drop(store);
    // A record a test set is the patient resource itself: it wins, field by field.
    for (uuid, record) in lock(&st.patient_records).iter() {
        let entry = merged.entry(uuid.clone()).or_insert_with(|| {
            order.push(uuid.clone());
            serde_json::Map::new()
        });
        if let Some(r) = record.as_object() {
            for (k, v) in r {
                entry.insert(k.clone(), v.clone());
            }
        }
    }
    order
        .into_iter()
        .filter_map(|u| merged.remove(&u).map(Value::Object))
        .collect()
}

async fn list(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(resp) = caller.require(READ_NOTES) {
        return resp;
    }
    let pairs = query_pairs(raw.as_deref());
    let number = |key: &str, default: usize| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let page = number("page", 1).max(1);
    let per_page = st.config.page_size_for(Some(number(
        "itemsPerPage",
        st.config.default_items_per_page,
    )));
    let all = patients(&st);
    let total = all.len();
    let members = all
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let out = Page {
        path: "/patients",
        context: "/contexts/Patient",
        members,
        total,
        page,
        items_per_page: per_page,
        query: &pairs,
    };
    json_response(
        st.config.collection_format,
        &out.render(st.config.collection_format, st.config.include_totals),
    )
}

async fn detail(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    if let Err(resp) = caller.require(READ_NOTES) {
        return resp;
    }
    let found = patients(&st)
        .into_iter()
        .find(|p| p.get("uuid").and_then(Value::as_str) == Some(uuid.as_str()));
    match found {
        Some(p) => json_response(st.config.collection_format, &p),
        None => problem(StatusCode::NOT_FOUND, "Not Found"),
    }
}
