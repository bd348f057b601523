//! The tag service: named labels a customer puts on agents and queues, so that a queue
//! serves calls with the agents that share one of its tags.
//!
//! A tag's name is unique among the customer's live tags. Public CRUD on `/v1/tags`.

mod handlers;
mod model;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use voxbin_bus::{Handler, Method, Router};
use voxbin_svc_kit::Deps;

pub use model::Tag;

/// The service name: queue `bin-manager.tag-manager.request`, publisher `tag-manager`.
pub const SERVICE: &str = "tag";

/// The bus handler of the tag service.
pub fn handler(deps: Deps) -> Arc<dyn Handler> {
    let state = handlers::State {
        outbox: voxbin_svc_kit::outbox::Outbox::new(&deps, SERVICE),
        db: deps.db,
    };
    Arc::new(
        Router::with_state(SERVICE, state)
            .route(Method::Get, "/v1/tags", handlers::list)
            .route(Method::Post, "/v1/tags", handlers::create)
            .route(Method::Get, "/v1/tags/{id}", handlers::get)
            .route(Method::Put, "/v1/tags/{id}", handlers::update)
            .route(Method::Delete, "/v1/tags/{id}", handlers::delete),
    )
}
