//! A delivery: one event on its way to one destination, and how that is going.

use serde::Serialize;
use uuid::Uuid;

/// Waiting for its (next) attempt.
pub const PENDING: &str = "pending";
/// An attempt is in flight (its lease says until when).
pub const DELIVERING: &str = "delivering";
/// The destination answered 2xx.
pub const DELIVERED: &str = "delivered";
/// Given up after the last try (dead letter).
pub const DEAD: &str = "dead";
/// Every status, for filters.
pub const STATUSES: &[&str] = &[PENDING, DELIVERING, DELIVERED, DEAD];

/// The customer's own `webhook_uri`.
pub const TO_CUSTOMER: &str = "customer";
/// An activeflow's `webhook_uri` (activeflow events only, besides the customer's).
pub const TO_ACTIVEFLOW: &str = "activeflow";

/// A row of `webhook_deliveries`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Insertion order: it orders a resource's rows of equal `pub_seq`.
    pub seq: i64,
    /// The publisher's sequence number of the event (0: none): it orders a resource's rows
    /// before `seq` does.
    pub pub_seq: i64,
    /// Public id (also sent as `X-VoIPBIN-Delivery`).
    pub id: Uuid,
    /// Whose event it is.
    pub customer_id: Uuid,
    /// `<resource>_<verb>`.
    pub event_type: String,
    /// The resource the event is about (ordering key).
    pub resource_id: String,
    /// [`TO_CUSTOMER`] or [`TO_ACTIVEFLOW`].
    pub destination: String,
    /// Where it goes; empty until the customer's target is known.
    pub uri: String,
    /// HTTP method.
    pub method: String,
    /// The body sent: `{"type": ..., "data": ...}`.
    pub payload: String,
    /// One of [`STATUSES`].
    pub status: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// Why the last attempt failed; empty when none did.
    pub last_error: String,
    /// HTTP status of the last answer; 0 when there was none.
    pub last_status_code: i64,
    /// Earliest time of the next attempt (epoch ms).
    pub next_try_ms: i64,
    /// Until when the current attempt holds the row (epoch ms).
    pub lease_until_ms: i64,
    /// Creation time.
    pub tm_create: String,
    /// Last change.
    pub tm_update: Option<String>,
}

/// What the API shows of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicDelivery {
    /// Delivery id.
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// Event type.
    pub event_type: String,
    /// The resource the event is about.
    pub resource_id: String,
    /// `customer` or `activeflow`.
    pub destination: String,
    /// Target URI.
    pub uri: String,
    /// HTTP method.
    pub method: String,
    /// pending, delivering, delivered or dead.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: String,
    /// HTTP status of the last answer (0: none).
    pub last_status_code: i64,
    /// When the next attempt is due (pending and delivering only).
    pub next_try_at: Option<String>,
    /// Creation time.
    pub tm_create: String,
    /// Last change.
    pub tm_update: Option<String>,
}

impl Delivery {
    /// The public shape.
    pub fn public(&self) -> PublicDelivery {
        let open = self.status == PENDING || self.status == DELIVERING;
        PublicDelivery {
            id: self.id,
            customer_id: self.customer_id,
            event_type: self.event_type.clone(),
            resource_id: self.resource_id.clone(),
            destination: self.destination.clone(),
            uri: self.uri.clone(),
            method: self.method.clone(),
            status: self.status.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            last_status_code: self.last_status_code,
            next_try_at: open.then(|| ms_to_text(self.next_try_ms)),
            tm_create: self.tm_create.clone(),
            tm_update: self.tm_update.clone(),
        }
    }
}

/// Epoch milliseconds as the platform's timestamp text.
pub fn ms_to_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(voxbin_core::clock::format)
        .unwrap_or_default()
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
