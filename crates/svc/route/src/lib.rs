//! The route service: which carrier an outbound PSTN call goes out through.
//!
//! A provider is a SIP carrier (host, tech prefix/postfix, extra headers, codecs). Providers are
//! platform-level, as in VoIPBIN (the contract's provider has no `customer_id`): every customer
//! may list and read them, only the project super-admin (scope All) creates, updates or deletes
//! them; a customer-scoped write is 403. A route belongs to a customer and sends calls to a
//! country calling code (`target` "82") or to anywhere (`all`) through one provider, `priority`
//! lower first.
//!
//! `GET /v1/dialroutes?customer_id=<cid>&target=<e164>` (internal, for outbound calling) answers
//! the ordered list of routes to try for a number, each joined with its provider; see
//! [`route::dialroute`] for the order.

mod provider;
mod route;
#[cfg(test)]
mod testutil;

use std::sync::Arc;
use voxbin_bus::{Method, Router};
use voxbin_svc_kit::Deps;

/// The service name; its RPC queue is `bin-manager.route-manager.request`.
pub const SERVICE: &str = "route";

/// What every route handler of this service reaches through `Ctx::state`.
pub(crate) struct State {
    /// Database, bus, cache and configuration.
    pub deps: Deps,
}

/// The RPC handler of the route service, to serve on `request_queue(SERVICE)`.
pub fn handler(deps: Deps) -> Arc<dyn voxbin_bus::Handler> {
    use provider::handlers as pr;
    use route::{dialroute, handlers as rt};
    let router = Router::with_state(SERVICE, State { deps })
        .route(Method::Get, "/v1/providers", pr::list)
        .route(Method::Post, "/v1/providers", pr::create)
        .route(Method::Get, "/v1/providers/{id}", pr::get)
        .route(Method::Put, "/v1/providers/{id}", pr::update)
        .route(Method::Delete, "/v1/providers/{id}", pr::delete)
        .route(Method::Get, "/v1/routes", rt::list)
        .route(Method::Post, "/v1/routes", rt::create)
        .route(Method::Get, "/v1/routes/{id}", rt::get)
        .route(Method::Put, "/v1/routes/{id}", rt::update)
        .route(Method::Delete, "/v1/routes/{id}", rt::delete)
        .route(Method::Get, "/v1/dialroutes", dialroute::list);
    Arc::new(router)
}
