//! The transactional outbox: a service's events are rows written in the same database
//! transaction as the state change they report, and a relay publishes them to the bus.
//!
//! An event is therefore never published for a change that rolled back, and never lost for a
//! change that committed: the row waits in `outbox_events` until the bus took it (a bus outage
//! only delays it; a killed process's rows are published by the next relay). Delivery is
//! at least once: a relay that dies between publishing and deleting a row publishes it again.
//!
//! Use: `let mut tx = outbox.begin().await?;` run the writes on `&mut *tx`, `tx.event(...)` for
//! each event, then `tx.commit().await?`, which also wakes the relay so the event leaves at once.

mod relay;
mod store;

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::Serialize;
use voxbin_bus::publisher_name;
use voxbin_core::{Error, Result};
use voxbin_store::sqlx::AnyConnection;
use voxbin_store::{map_db_error, Db, Tx};

use crate::Deps;

pub use relay::{Relay, RelayOutcome, GATHER, KEEP};

/// Where one service writes its events; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    db: Arc<Db>,
    publisher: String,
    wake: Arc<relay::Signal>,
}

impl Outbox {
    /// The outbox of `service` (e.g. `tag`, publishing as `tag-manager`), with its relay
    /// started in this process if it is not running yet.
    pub fn new(deps: &Deps, service: &str) -> Outbox {
        let publisher = publisher_name(service);
        let wake = relay::ensure_running(deps, &publisher);
        Outbox {
            db: deps.db.clone(),
            publisher,
            wake,
        }
    }

    /// The publisher name events leave with (`<service>-manager`).
    pub fn publisher(&self) -> &str {
        &self.publisher
    }

    /// Starts a write transaction on the writer pool.
    pub async fn begin(&self) -> Result<OutboxTx<'_>> {
        let tx = self.db.writer().begin().await.map_err(map_db_error)?;
        Ok(OutboxTx { outbox: self, tx })
    }

    /// Adds `event_type` about `resource_id` with `data` (the resource's public shape) to the
    /// transaction `conn` is in; call [`Outbox::wake`] after it committed.
    pub async fn add(
        &self,
        conn: &mut AnyConnection,
        event_type: &str,
        resource_id: &str,
        data: impl Serialize,
    ) -> Result<()> {
        let data = serde_json::to_string(&data).map_err(|e| {
            Error::internal(format!("cannot serialise the {event_type} event: {e}"))
        })?;
        store::insert(conn, &self.publisher, event_type, resource_id, &data).await
    }

    /// Tells the relay that events were committed.
    pub fn wake(&self) {
        self.wake.committed();
    }
}

/// A write transaction that carries events; they commit with it, or not at all.
pub struct OutboxTx<'a> {
    outbox: &'a Outbox,
    tx: Tx,
}

impl OutboxTx<'_> {
    /// Adds an event about `resource_id` to this transaction.
    pub async fn event(
        &mut self,
        event_type: &str,
        resource_id: impl std::fmt::Display,
        data: impl Serialize,
    ) -> Result<()> {
        let outbox = self.outbox;
        outbox
            .add(&mut self.tx, event_type, &resource_id.to_string(), data)
            .await
    }

    /// Commits the writes and their events, then wakes the relay.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(map_db_error)?;
        self.outbox.wake();
        Ok(())
    }
}

impl Deref for OutboxTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for OutboxTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests;
