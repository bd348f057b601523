//! The number service: phone numbers the platform owns, and which flows they run.
//!
//! A number is an E.164 string, unique among live numbers of the whole platform, owned by one
//! customer and pointing at a call flow (run on inbound calls) and a message flow (run on
//! inbound messages). Numbers are registered as-is: buying them from a carrier is out of scope.
//! Flow ids are checked with the flow service over the bus before anything is written. Besides
//! the public CRUD (`/v1/numbers`), internal callers resolve a dialled number with
//! `GET /v1/numbers/by_number/{e164}` when routing inbound calls.

mod handlers;
mod model;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use voxbin_bus::{Handler, Method, Router};
use voxbin_svc_kit::Deps;

pub use model::{Metadata, Number, NumberStatus, NumberType};

/// The service name: queue `bin-manager.number-manager.request`, publisher `number-manager`.
pub const SERVICE: &str = "number";

/// The bus handler of the number service.
pub fn handler(deps: Deps) -> Arc<dyn Handler> {
    let state = handlers::State {
        bus: deps.client(SERVICE),
        outbox: voxbin_svc_kit::outbox::Outbox::new(&deps, SERVICE),
        db: deps.db,
    };
    Arc::new(
        Router::with_state(SERVICE, state)
            .route(Method::Get, "/v1/numbers", handlers::list)
            .route(Method::Post, "/v1/numbers", handlers::create)
            .route(
                Method::Get,
                "/v1/numbers/by_number/{number}",
                handlers::get_by_number,
            )
            .route(Method::Get, "/v1/numbers/{id}", handlers::get)
            .route(Method::Put, "/v1/numbers/{id}", handlers::update)
            .route(Method::Delete, "/v1/numbers/{id}", handlers::delete)
            .route(
                Method::Put,
                "/v1/numbers/{id}/flow_ids",
                handlers::update_flow_ids,
            )
            .route(
                Method::Put,
                "/v1/numbers/{id}/metadata",
                handlers::update_metadata,
            ),
    )
}
