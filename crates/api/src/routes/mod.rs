//! The public routes: authentication endpoints and the resources forwarded to services.

mod auth;
mod docs;
mod forward;
mod recordings;
mod webhooks;

pub use forward::{bus_for, read_json_body};

use crate::ApiState;
use axum::Router;

/// Every `/auth` and `/v1.0` route.
pub fn routes() -> Router<ApiState> {
    forward::routes()
        .merge(auth::routes())
        .merge(docs::routes())
        .merge(webhooks::routes())
        .merge(recordings::routes())
}

/// Every operation of the contract this build serves, as (METHOD, contract path).
pub fn served_operations() -> Vec<(String, String)> {
    let mut ops = forward::served_operations();
    ops.push(("POST".into(), "/auth/signup".into()));
    ops.push(("GET".into(), "/recordingfiles/{id}".into()));
    ops.sort();
    ops
}
