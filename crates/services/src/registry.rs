//! The list of services and how each is put on the bus.

use crate::Deps;
use std::sync::Arc;
use voxbin_bus::{request_queue, Consumer, Handler, Router};
use voxbin_core::Result;

/// Every backend service, by its bus name (`<name>-manager`).
pub const SERVICES: &[&str] = &[
    "customer",
    "agent",
    "flow",
    "call",
    "conference",
    "queue",
    "number",
    "route",
    "registrar",
    "webhook",
    "storage",
    "tts",
    "transcribe",
    "campaign",
    "message",
    "billing",
    "tag",
    "timeline",
    "ai",
];

/// The bus handler of a service.
fn handler(name: &str, deps: &Deps) -> Arc<dyn Handler> {
    let deps = deps.clone();
    match name {
        "customer" => voxbin_svc_customer::customer_handler(deps),
        "agent" => voxbin_svc_customer::agent_handler(deps),
        "flow" => voxbin_svc_flow::handler(deps),
        "number" => voxbin_svc_number::handler(deps),
        "tag" => voxbin_svc_tag::handler(deps),
        "campaign" => voxbin_svc_campaign::handler(deps),
        "registrar" => voxbin_svc_registrar::handler(deps),
        "route" => voxbin_svc_route::handler(deps),
        "webhook" => voxbin_svc_webhook::handler(deps),
        "timeline" => voxbin_svc_timeline::handler(deps),
        "call" => voxbin_svc_call::handler(deps),
        // Services whose domain comes with later issues answer `GET /v1/ping` only.
        other => Arc::new(Router::new(other)),
    }
}

/// Registers the named service's handlers on its request queue.
pub async fn start_service(name: &str, deps: &Deps) -> Result<Consumer> {
    if name == "timeline" {
        // Besides its routes, the timeline records every service's events.
        return voxbin_svc_timeline::start(deps.clone(), SERVICES).await;
    }
    if name == "call" {
        // Besides its routes, the call service follows the media role's events.
        return voxbin_svc_call::start(deps.clone()).await;
    }
    deps.bus
        .serve(&request_queue(name), handler(name, deps))
        .await
}
