//! The list of services and how each is put on the bus.

use crate::Deps;
use std::sync::Arc;
use voxbin_bus::{request_queue, Consumer, Router};
use voxbin_core::Result;

/// Every backend service, by its bus name (`<name>-manager`).
pub const SERVICES: &[&str] = &[
    "customer", "flow", "call", "conference", "queue", "agent", "number", "route", "registrar",
    "webhook", "storage", "tts", "transcribe", "campaign", "message", "billing", "tag",
    "timeline", "ai",
];

/// Registers the named service's handlers on its request queue.
pub async fn start_service(name: &str, deps: &Deps) -> Result<Consumer> {
    // Services without domain handlers yet still answer `GET /v1/ping` through the router.
    let router = Router::new(name);
    deps.bus.serve(&request_queue(name), Arc::new(router)).await
}
