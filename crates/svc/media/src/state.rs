//! What a node holds: its engine, its user agent, the live legs and the event publisher.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use uuid::Uuid;
use voxbin_bus::{Bus, Event};
use voxbin_media::engine::Engine;
use voxbin_sipua::{CallHandle, UserAgent};

/// Publisher name of every event of the role.
pub const PUBLISHER: &str = "media-manager";

/// Which way a leg was set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// An INVITE came to us (from the edge).
    Incoming,
    /// We sent the INVITE (`originate`).
    Outgoing,
}

impl Direction {
    /// `incoming` or `outgoing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        }
    }
}

/// One live leg.
#[derive(Debug, Clone)]
pub struct LegEntry {
    /// SIP commands.
    pub call: CallHandle,
    /// Which way.
    pub direction: Direction,
    /// `ringing`, `progressing`, `answered` or `terminating`.
    pub status: &'static str,
    /// Our SDP (the engine's answer or offer).
    pub local_sdp: String,
    /// The engine knows the peer's SDP (an answer arrived or the offer was taken).
    pub media_ready: bool,
    /// When the leg was created (RFC 3339).
    pub tm_create: String,
}

/// Shared by the bus handlers, the SIP event tasks and the heartbeat.
pub struct NodeState {
    /// The node's id.
    pub node_id: String,
    /// The media engine.
    pub engine: Engine,
    /// The SIP user agent.
    pub ua: UserAgent,
    /// Live legs by id.
    pub legs: Mutex<HashMap<Uuid, LegEntry>>,
    /// Where events go.
    pub bus: Arc<dyn Bus>,
    /// Shutdown began: no new calls.
    pub draining: AtomicBool,
    /// Where the engine writes recordings (read back by [`crate::files`]).
    pub recordings_dir: std::path::PathBuf,
}

impl NodeState {
    /// True while shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// A leg's entry.
    pub fn leg(&self, id: Uuid) -> Option<LegEntry> {
        self.legs.lock().get(&id).cloned()
    }

    /// Publishes `event_type` with `data` plus the node id and, for leg events, the leg id.
    pub async fn publish(&self, event_type: &str, leg: Option<Uuid>, mut data: Map<String, Value>) {
        data.insert("node_id".into(), json!(self.node_id));
        if let Some(id) = leg {
            data.insert("id".into(), json!(id));
        }
        data.entry("tm_event")
            .or_insert_with(|| json!(voxbin_core::clock::now()));
        let m = crate::metrics::get();
        m.events.inc(&[event_type]);
        m.legs.set(&[], self.legs.lock().len() as i64);
        let event = Event::new(event_type, PUBLISHER, Value::Object(data));
        if let Err(e) = self.bus.publish(event).await {
            tracing::warn!(event = event_type, error = %e.message, "media event not published");
        }
    }
}
