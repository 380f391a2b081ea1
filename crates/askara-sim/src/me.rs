//! `GET /me`: the user the token acts for, with their organization. Any valid token may
//! read it, since Askara's profile scope is not one this product asks for.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;
use crate::store::derived_uuid;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

async fn me(State(st): State<AppState>) -> Json<Value> {
    let org = derived_uuid(&format!("organization:{}", st.config.client_id));
    Json(json!({
        "@context": "/contexts/User",
        "@id": format!("/users/{}", derived_uuid("user:0")),
        "@type": "User",
        "uuid": derived_uuid("user:0"),
        "email": "ingrid.solberg@example.test",
        "firstName": "Ingrid",
        "lastName": "Solberg",
        "organization": {
            "@id": format!("/organizations/{org}"),
            "uuid": org,
            "name": "Cabinet médical Fjordsyd (simulated)",
        },
    }))
}
