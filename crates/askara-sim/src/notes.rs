//! `GET /notes` and `GET /notes/{uuid}`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};

use crate::collection::{json_response, Page};
use crate::filters::NoteQuery;
use crate::guard::Caller;
use crate::problem::problem;
use crate::state::AppState;
use crate::store::{derived_uuid, format_instant, StoredNote};
use crate::time::present;

pub(crate) const READ_NOTES: &str = "read:notes";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/notes", get(list))
        .route("/notes/{uuid}", get(detail))
}

pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
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
    let q = match NoteQuery::parse(&pairs, &st.config) {
        Ok(q) => q,
        Err(detail) => return problem(StatusCode::BAD_REQUEST, detail),
    };
    let (members, total) = {
        let store = st.notes_read();
        let mut hits: Vec<&StoredNote> = store.all().iter().filter(|n| q.admits(n)).collect();
        if !q.order.is_empty() {
            hits.sort_by(|a, b| q.compare(a, b));
        }
        let start = (q.page - 1).saturating_mul(q.items_per_page);
        let members: Vec<Value> = hits
            .iter()
            .skip(start)
            .take(q.items_per_page)
            .map(|n| present(n.json.clone(), st.config.utc_offset_minutes))
            .collect();
        (members, hits.len())
    };
    st.list_served();
    let page = Page {
        path: "/notes",
        context: "/contexts/Note",
        members,
        total,
        page: q.page,
        items_per_page: q.items_per_page,
        query: &pairs,
    };
    json_response(
        st.config.collection_format,
        &page.render(st.config.collection_format, st.config.include_totals),
    )
}

const CLINICIANS: [(&str, &str); 4] = [
    ("Ingrid", "Solberg"),
    ("Amélie", "Rousseau"),
    ("Tobias", "Krämer"),
    ("Lucía", "Ortega"),
];

/// The detail view adds the source audio and the recording clinician, synthesised stably
/// from the note unless the stored note already carries them.
fn with_relations(note: &StoredNote) -> Value {
    let mut json = note.json.clone();
    let Some(obj) = json.as_object_mut() else {
        return json;
    };
    let words = obj
        .get("content")
        .and_then(Value::as_str)
        .map_or(0, |c| c.split_whitespace().count());
    // Dictation runs at roughly 2.5 words a second.
    let duration = (words as u64 * 2 / 5).max(12);
    if !obj.get("audio").is_some_and(Value::is_object) {
        let recorded = note.created - chrono::Duration::seconds(duration as i64 + 45);
        obj.insert(
            "audio".into(),
            json!({
                "uuid": note.audio_uuid,
                "duration": duration,
                "createdAt": format_instant(recorded),
            }),
        );
    }
    if !obj.contains_key("user") {
        let key = note.uuid.as_deref().unwrap_or_default();
        let pick = key.bytes().map(usize::from).sum::<usize>() % CLINICIANS.len();
        let (first, last) = CLINICIANS[pick];
        obj.insert(
            "user".into(),
            json!({
                "uuid": derived_uuid(&format!("user:{pick}")),
                "firstName": first,
                "lastName": last,
            }),
        );
    }
    json
}

async fn detail(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    if let Err(resp) = caller.require(READ_NOTES) {
        return resp;
    }
    let found = st
        .notes_read()
        .get(&uuid)
        .map(|n| present(with_relations(n), st.config.utc_offset_minutes));
    match found {
        Some(note) => json_response(st.config.collection_format, &note),
        None => problem(StatusCode::NOT_FOUND, "Not Found"),
    }
}
