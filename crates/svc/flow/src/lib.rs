//! The flow service: flows and activeflows.
//!
//! A *flow* is a customer's stored list of actions (`flow_flows`); an *activeflow* is one run
//! of a flow against a reference such as a call (`flow_activeflows`), holding the stack of
//! action lists and the cursor the execution engine moves. This crate answers the RPCs the API
//! gateway forwards for `/flows` and `/activeflows` (see `voxbin_svc_kit` for the conventions)
//! plus the internal `POST /v1/activeflows` other services use to start a run and the engine
//! routes the call service drives it with (`execute`, `next`, ...; see [`activeflow`]).
//!
//! `GET /v1/flows/{id}` is on the hot path of every call, so a flow's public JSON is cached
//! (`flow:<id>`); see `flow::cache` for how versions keep that cache from serving a stale flow.

#![warn(missing_docs)]

pub mod activeflow;
mod body;
pub mod flow;
#[cfg(test)]
mod testutil;

use std::sync::Arc;

use voxbin_bus::{Method, Router};
use voxbin_svc_kit::Deps;

/// The service name: requests arrive on `bin-manager.flow-manager.request`.
pub const SERVICE: &str = "flow";

/// What every route handler of this service reaches through `Ctx::state`.
pub(crate) struct State {
    /// Database, cache, bus and configuration.
    pub deps: Deps,
    /// This service's events (`flow_*`, `activeflow_*`), written with the change they report.
    pub outbox: voxbin_svc_kit::outbox::Outbox,
    /// Flow copies the cache could not take yet.
    pub repairs: Arc<flow::cache::Repairs>,
    /// Outbound HTTP of `fetch` and `webhook_send`.
    pub http: Arc<dyn activeflow::http::HttpClient>,
}

/// A pool whose reads see every committed write (read-your-writes).
///
/// SQLite's reader pool qualifies (same file, WAL) and spares the single writer connection;
/// MySQL replicas may lag, so there it is the writer. Used wherever a stale read would be
/// cached or would contradict a write the caller just saw succeed.
pub(crate) fn fresh_reader(db: &voxbin_store::Db) -> &voxbin_store::Pool {
    match db.dialect() {
        voxbin_store::Dialect::Sqlite => db.reader(),
        voxbin_store::Dialect::MySql => db.writer(),
    }
}

/// The bus handler of the flow service, to serve on `request_queue(SERVICE)`.
pub fn handler(deps: Deps) -> Arc<dyn voxbin_bus::Handler> {
    let http = Arc::new(activeflow::http_client::Http11Client::new(
        &deps.config.flow,
    ));
    handler_with_http(deps, http)
}

/// The bus handler with another HTTP client for `fetch` and `webhook_send` (tests, benches).
pub fn handler_with_http(
    deps: Deps,
    http: Arc<dyn activeflow::http::HttpClient>,
) -> Arc<dyn voxbin_bus::Handler> {
    let outbox = voxbin_svc_kit::outbox::Outbox::new(&deps, SERVICE);
    let state = State {
        deps,
        outbox,
        repairs: Arc::default(),
        http,
    };
    let router = Router::with_state(SERVICE, state)
        .route(Method::Get, "/v1/flows", flow::handlers::list)
        .route(Method::Post, "/v1/flows", flow::handlers::create)
        .route(Method::Get, "/v1/flows/{id}", flow::handlers::get)
        .route(Method::Put, "/v1/flows/{id}", flow::handlers::update)
        .route(Method::Delete, "/v1/flows/{id}", flow::handlers::delete)
        .route(Method::Get, "/v1/activeflows", activeflow::handlers::list)
        .route(
            Method::Post,
            "/v1/activeflows",
            activeflow::handlers::create,
        )
        .route(
            Method::Get,
            "/v1/activeflows/{id}",
            activeflow::handlers::get,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/stop",
            activeflow::handlers::stop,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/execute",
            activeflow::handlers::execute,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/next",
            activeflow::handlers::next,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/forward_action_id",
            activeflow::handlers::forward,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/push_actions",
            activeflow::handlers::push_actions,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/add_actions",
            activeflow::handlers::add_actions,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/continue",
            activeflow::handlers::continue_,
        )
        .route(
            Method::Post,
            "/v1/activeflows/{id}/service_stop",
            activeflow::handlers::service_stop,
        )
        .route(
            Method::Get,
            "/v1/activeflows/{id}/variables",
            activeflow::handlers::variables,
        );
    Arc::new(router)
}
