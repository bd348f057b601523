//! The `medianode_updated` heartbeat the edge's dispatcher follows: where to send INVITEs and
//! whether this node takes new calls.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use voxbin_bus::Event;

use crate::state::{NodeState, PUBLISHER};

/// `up`, `draining` or `down`.
pub fn node_event(state: &NodeState, status: &str) -> Event {
    let data: Value = json!({
        "id": state.node_id,
        "address": state.ua.advertised().to_string(),
        "transport": "udp",
        "weight": 1,
        "status": status,
        "legs": state.legs.lock().len(),
        "tm_update": voxbin_core::clock::now(),
    });
    Event::new("medianode_updated", PUBLISHER, data)
}

/// Publishes one heartbeat.
pub async fn beat(state: &NodeState, status: &str) {
    crate::metrics::get()
        .legs
        .set(&[], state.legs.lock().len() as i64);
    if let Err(e) = state.bus.publish(node_event(state, status)).await {
        tracing::debug!(error = %e.message, "medianode_updated not published");
    }
}

/// Beats every `every` until the task is aborted.
pub async fn run(state: Arc<NodeState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let status = if state.is_draining() {
            "draining"
        } else {
            "up"
        };
        beat(&state, status).await;
    }
}
