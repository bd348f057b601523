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

/// Every `/v1.0` operation this build serves, as (METHOD, path template): the contract's
/// and [`voxbin_additions`].
pub fn served_operations() -> Vec<(String, String)> {
    let mut ops = forward::served_operations();
    ops.push(("POST".into(), "/auth/signup".into()));
    ops.push(("GET".into(), "/recordingfiles/{id}".into()));
    ops.push(("GET".into(), "/calls/{id}/media_stream".into()));
    ops.extend(voxbin_additions());
    ops.sort();
    ops
}

/// The served operations that are Voxbin's own, not VoIPBIN's contract's (the OpenAPI
/// document describes them from scripts/gen-openapi.py).
pub fn voxbin_additions() -> Vec<(String, String)> {
    let mut ops: Vec<(String, String)> = webhooks::OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    ops.push(("GET".into(), "/recordingfiles/{id}/wav".into()));
    ops.sort();
    ops
}
