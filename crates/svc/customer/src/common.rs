//! Pieces every handler of both services uses: scope checks, paging input, events.

use serde_json::Value;
use voxbin_bus::{BusClient, Ctx};
use voxbin_core::{Error, Result};
use voxbin_store::PageRequest;
use voxbin_svc_kit::Scope;

/// Refuses callers scoped to one customer: the route is for the super-admin and services.
pub fn require_all(scope: Scope) -> Result<()> {
    match scope {
        Scope::All => Ok(()),
        Scope::Customer(_) => Err(Error::permission_denied(
            "Only the project super-admin or an internal service may do this.",
        )),
    }
}

/// The `page_size` / `page_token` query parameters of a list request.
pub fn page_request<S>(ctx: &Ctx<S>) -> Result<PageRequest> {
    PageRequest::from_query(ctx.query("page_size"), ctx.query("page_token"))
}

/// Publishes an event; a failure is logged, never returned (the write already happened).
pub async fn publish(client: &BusClient, event_type: &str, data: Value) {
    if let Err(error) = client.publish_event(event_type, data).await {
        tracing::warn!(%event_type, %error, "cannot publish event");
    }
}
