//! Turning events into deliveries: every event of a customer's resources becomes a pending
//! delivery to the customer's `webhook_uri`, and an activeflow event also one to the
//! activeflow's own `webhook_uri` when it has one.
//!
//! A row carries the event's publisher sequence (`Event::seq`, its outbox row): webhook
//! processes that compete on the subscription queue may write a resource's rows out of
//! publish order, and the worker sends them in publish order instead (see [`ORDER_HOLD_MS`]).
//!
//! The rows are written before the event is acknowledged (the bus acks after the handler
//! returns), so from here on the delivery survives restarts. A database that refuses the
//! write is retried for a while rather than dropping the event.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Event, EventHandler};
use voxbin_core::{Error, Result};
use voxbin_store::Db;

use crate::model::{now_ms, TO_ACTIVEFLOW, TO_CUSTOMER};
use crate::store::{self, NewDelivery};
use crate::target::Targets;
use crate::worker::Wake;

/// Fields of the customer's admin shape that its webhooks leave out (the public shape).
const ADMIN_ONLY: &[&str] = &["terms_agreed_version", "terms_agreed_ip"];

/// How long a new row waits before its first attempt: several webhook processes compete on
/// one queue, so an earlier event of the same resource may still be on its way into the table
/// through another process; once it landed, publish order (`pub_seq`) sends it first.
pub const ORDER_HOLD_MS: i64 = 150;

/// How often a refused write is tried before the event is given up (logged as an error).
const WRITE_TRIES: u32 = 60;

/// Writes the deliveries of events.
pub struct Ingest {
    /// The service's database.
    pub db: Arc<Db>,
    /// Customer targets.
    pub targets: Targets,
    /// Wakes the delivery worker.
    pub wake: Wake,
}

/// An event's identity: SHA-256 of its publisher and body, so the same event handed over twice
/// (a redelivery, an outbox replay after a restart) makes its deliveries once.
fn key(publisher: &str, payload: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(publisher.as_bytes());
    h.update(b"\n");
    h.update(payload.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The customer an event's resource belongs to.
fn owner(event_type: &str, data: &Value) -> Option<Uuid> {
    let field = if event_type.starts_with("customer_") {
        "id"
    } else {
        "customer_id"
    };
    data.get(field)?
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .filter(|id| !id.is_nil())
}

impl Ingest {
    /// Handles one event.
    pub async fn handle(&self, event: Event) -> Result<()> {
        let mut data = event.data.unwrap_or(Value::Null);
        let event_type = event.event_type;
        let pub_seq = event.seq.unwrap_or(0).max(0);
        let first_try_ms = now_ms() + ORDER_HOLD_MS;
        let publisher = event.publisher;
        let Some(customer) = owner(&event_type, &data) else {
            return Ok(());
        };
        if event_type.starts_with("customer_") {
            self.targets.forget(customer).await;
            if let Some(map) = data.as_object_mut() {
                for field in ADMIN_ONLY {
                    map.remove(*field);
                }
            }
        }
        let resource_id = data
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let payload = json!({"type": event_type, "data": data}).to_string();
        let event_key = key(&publisher, &payload);
        let (uri, method) = match self.targets.of(customer).await {
            Ok(Some(t)) if t.webhook_uri.is_empty() => (None, String::new()),
            Ok(Some(t)) => (Some(t.webhook_uri.clone()), t.method().to_owned()),
            Ok(None) => (None, String::new()),
            // Unknown for now: the worker asks again when it sends.
            Err(e) => {
                tracing::debug!(%customer, error = %e, "webhook target unknown at ingest");
                (Some(String::new()), "POST".to_owned())
            }
        };
        let mut rows = Vec::new();
        if let Some(uri) = &uri {
            rows.push(NewDelivery {
                customer_id: customer,
                event_type: &event_type,
                resource_id: &resource_id,
                destination: TO_CUSTOMER,
                uri,
                method: &method,
                payload: &payload,
                event_key: &event_key,
                pub_seq,
                first_try_ms,
            });
        }
        let flow_uri = data
            .get("webhook_uri")
            .and_then(Value::as_str)
            .unwrap_or("");
        let flow_method = match data.get("webhook_method").and_then(Value::as_str) {
            Some(m) if !m.is_empty() => m,
            _ => "POST",
        };
        if event_type.starts_with("activeflow_") && !flow_uri.is_empty() {
            rows.push(NewDelivery {
                customer_id: customer,
                event_type: &event_type,
                resource_id: &resource_id,
                destination: TO_ACTIVEFLOW,
                uri: flow_uri,
                method: flow_method,
                payload: &payload,
                event_key: &event_key,
                pub_seq,
                first_try_ms,
            });
        }
        if rows.is_empty() {
            return Ok(());
        }
        if self.write(&rows).await? > 0 {
            self.wake.notify();
        }
        Ok(())
    }

    async fn write(&self, rows: &[NewDelivery<'_>]) -> Result<u64> {
        let mut pause = Duration::from_millis(100);
        let mut last: Option<Error> = None;
        for _ in 0..WRITE_TRIES {
            match store::insert_all(self.db.writer(), rows).await {
                Ok(written) => return Ok(written),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write webhook deliveries; retrying");
                    last = Some(e);
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        Err(last.unwrap_or_else(|| Error::internal("webhook deliveries were not written")))
    }
}

#[async_trait::async_trait]
impl EventHandler for Ingest {
    async fn handle(&self, event: Event) -> Result<()> {
        Ingest::handle(self, event).await
    }
}
