//! A stored timeline event and its public shape (`TimelineManagerEvent` of the contract).

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use voxbin_bus::Event;

use crate::subject::Subject;

/// One event in a resource's history.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    /// Row id (UUID v7, so rows stored in one instant keep their order).
    pub id: Uuid,
    /// The customer owning the resource.
    pub customer_id: Uuid,
    /// Singular resource name (`flow`, `call`, ...).
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: Uuid,
    /// The activeflow the event belongs to, if any.
    pub activeflow_id: Option<Uuid>,
    /// `<resource>_<verb>`.
    pub event_type: String,
    /// The publishing service.
    pub publisher: String,
    /// The event's data (the resource's public shape).
    pub data: Value,
    /// SHA-256 hex of the envelope; redeliveries of one event share it.
    pub dedupe_key: String,
    /// When the timeline stored it; the event's `timestamp`.
    pub tm_create: String,
}

/// The contract's `TimelineManagerEvent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicEvent {
    /// When the event was recorded.
    pub timestamp: String,
    /// `<resource>_<verb>`.
    pub event_type: String,
    /// The resource as the event reported it.
    pub data: Value,
}

impl TimelineEvent {
    /// The row for `event`, or `None` when the event names no resource and owner.
    pub fn from_event(event: &Event, id: Uuid, now: String) -> Option<TimelineEvent> {
        let subject = Subject::of(&event.event_type, event.data.as_ref())?;
        Some(TimelineEvent {
            id,
            customer_id: subject.customer_id,
            resource_type: subject.resource,
            resource_id: subject.id,
            activeflow_id: subject.activeflow_id,
            event_type: event.event_type.clone(),
            publisher: event.publisher.clone(),
            data: event.data.clone().unwrap_or(Value::Null),
            dedupe_key: dedupe_key(event),
            tm_create: now,
        })
    }

    /// The public shape.
    pub fn public(&self) -> PublicEvent {
        PublicEvent {
            timestamp: self.tm_create.clone(),
            event_type: self.event_type.clone(),
            data: self.data.clone(),
        }
    }
}

/// The identity of an event for deduplication. The envelope has no event id, so it is the
/// SHA-256 of publisher, type and data: a redelivery hashes alike, while two events of one
/// resource differ at least in the data's `tm_update`.
pub fn dedupe_key(event: &Event) -> String {
    let mut hash = Sha256::new();
    hash.update(event.publisher.as_bytes());
    hash.update([0]);
    hash.update(event.event_type.as_bytes());
    hash.update([0]);
    if let Some(data) = &event.data {
        hash.update(data.to_string().as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
