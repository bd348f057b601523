//! The public routes: authentication endpoints and the resources forwarded to services.

mod auth;
mod forward;

pub use forward::{bus_for, read_json_body};

use crate::ApiState;
use axum::Router;

/// Every `/auth` and `/v1.0` route.
pub fn routes() -> Router<ApiState> {
    forward::routes().merge(auth::routes())
}
