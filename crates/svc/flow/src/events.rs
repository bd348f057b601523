//! Events this service publishes: `flow_created|updated|deleted` and
//! `activeflow_created|updated`, each carrying the resource's public JSON.
//!
//! Publishing is best effort for now: the request already succeeded in the database, so a
//! failed publish is logged, not returned. (Durable delivery through an outbox comes with the
//! bus's outbox in a later issue.)

use serde::Serialize;
use voxbin_bus::BusClient;

/// Publishes `event_type` with `data`; failures are logged.
pub(crate) async fn publish(client: &BusClient, event_type: &str, data: &impl Serialize) {
    if let Err(error) = client.publish_event(event_type, data).await {
        tracing::warn!(event_type, %error, "could not publish event");
    }
}
