//! The whole API in one router. Resource routes sit behind the fault/auth/rate-limit guard;
//! a new resource (webhooks: `POST/GET/DELETE /webhooks`) merges its routes into
//! `resources`, and keeps its state in its own field of `Shared`.

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::Router;

use crate::guard::resource_guard;
use crate::problem::problem;
use crate::requests::record;
use crate::state::AppState;
use crate::{authorize, device, me, notes, oauth, patients, webhooks};

pub(crate) fn router(state: AppState) -> Router {
    let resources = Router::new()
        .merge(notes::routes())
        .merge(me::routes())
        .merge(patients::routes())
        .merge(webhooks::routes())
        .route_layer(from_fn_with_state(state.clone(), resource_guard));
    Router::new()
        .merge(oauth::routes())
        .merge(device::routes())
        .merge(authorize::routes())
        .merge(resources)
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "Not Found") })
        .layer(from_fn_with_state(state.clone(), record))
        .with_state(state)
}
