//! The REST API v1.0 gateway.
//!
//! Handlers are thin: they parse the request, authorise it, make one bus call and shape the
//! answer. Cross-cutting concerns live in [`middleware`]: request ids, metrics per route
//! template, refusing new work while draining, and the JSON error envelope of [`error`].

pub mod auth;
pub mod error;
pub mod limits;
pub mod middleware;
pub mod routes;
mod state;
pub mod stream;
pub mod ws;

pub use error::ApiError;
pub use routes::{served_operations, voxbin_additions};
pub use state::ApiState;

use axum::routing::get;
use axum::Router;

/// Builds the API application with every route and middleware.
pub fn app(state: ApiState) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/v1.0/ping", get(ping))
        .merge(routes::routes())
        .merge(ws::routes())
        .merge(stream::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::limit_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::limit_ip,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::refuse_when_draining,
        ))
        .layer(axum::middleware::from_fn(middleware::observe))
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(state)
}

/// Liveness of the gateway itself, as VoIPBIN's `GET /ping`.
async fn ping() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "message": "pong" }))
}
