//! The campaign service. For now it holds outplans: the dialling strategy of an outbound
//! campaign (caller id, how long to ring, how long to wait between tries, and how many tries
//! each of a target's five destinations gets). Campaigns themselves come later.
//!
//! Public CRUD on `/v1/outplans`, plus `PUT /v1/outplans/{id}/dial_info` for the dial settings.

mod handlers;
mod model;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use voxbin_bus::{Handler, Method, Router};
use voxbin_svc_kit::Deps;

pub use model::{Address, AddressType, Outplan};

/// The service name: queue `bin-manager.campaign-manager.request`, publisher `campaign-manager`.
pub const SERVICE: &str = "campaign";

/// The bus handler of the campaign service.
pub fn handler(deps: Deps) -> Arc<dyn Handler> {
    let state = handlers::State {
        outbox: voxbin_svc_kit::outbox::Outbox::new(&deps, SERVICE),
        db: deps.db,
    };
    Arc::new(
        Router::with_state(SERVICE, state)
            .route(Method::Get, "/v1/outplans", handlers::list)
            .route(Method::Post, "/v1/outplans", handlers::create)
            .route(Method::Get, "/v1/outplans/{id}", handlers::get)
            .route(Method::Put, "/v1/outplans/{id}", handlers::update)
            .route(Method::Delete, "/v1/outplans/{id}", handlers::delete)
            .route(
                Method::Put,
                "/v1/outplans/{id}/dial_info",
                handlers::update_dial_info,
            ),
    )
}
