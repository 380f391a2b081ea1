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
    let n = st.user.load(std::sync::atomic::Ordering::SeqCst);
    let user = derived_uuid(&format!("user:{n}"));
    let (email, first, last) = match n {
        0 => (
            "ingrid.solberg@example.test".to_string(),
            "Ingrid",
            "Solberg",
        ),
        n => (format!("staff{n}@example.test"), "Staff", "Member"),
    };
    Json(json!({
        "@context": "/contexts/User",
        "@id": format!("/users/{user}"),
        "@type": "User",
        "uuid": user,
        "email": email,
        "firstName": first,
        "lastName": last,
        "organization": {
            "@id": format!("/organizations/{org}"),
            "uuid": org,
            "name": "Cabinet médical Fjordsyd (simulated)",
        },
    }))
}
