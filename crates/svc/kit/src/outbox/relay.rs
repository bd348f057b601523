//! The relay: one task per (database, publisher) in a process moves committed outbox rows to
//! the bus, oldest first, and deletes them once the bus took them.
//!
//! Several processes may run the same service: a lease row per publisher lets one relay at a
//! time publish, so the events of a publisher (and so of each of its resources) leave in commit
//! order. A relay wakes when its process committed events and polls as a fallback, which also
//! picks up rows left by a process that died, and leases that ran out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;
use voxbin_bus::{Bus, Event};
use voxbin_core::{Error, Result};
use voxbin_store::Db;

use super::store;
use crate::Deps;

/// Rows published per round.
const BATCH: i64 = 200;

/// How long a lease holds without renewal; a relay renews it every round.
const LEASE: Duration = Duration::from_secs(30);

/// Pause after a failed round (bus or database down) before the next try.
const RETRY: Duration = Duration::from_millis(500);

/// Running relays, by database handle and publisher.
type Registry = Mutex<HashMap<(usize, String), (Weak<Db>, Arc<Notify>)>>;

fn registry() -> &'static Registry {
    static RELAYS: OnceLock<Registry> = OnceLock::new();
    RELAYS.get_or_init(Registry::default)
}

/// The wake-up of the relay of `publisher` on `deps.db`, starting the relay when needed.
pub(crate) fn ensure_running(deps: &Deps, publisher: &str) -> Arc<Notify> {
    let key = (Arc::as_ptr(&deps.db) as usize, publisher.to_owned());
    // A poisoned lock only means another thread panicked while inserting; the map is intact.
    let mut relays = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some((db, wake)) = relays.get(&key) {
        if db.upgrade().is_some_and(|db| Arc::ptr_eq(&db, &deps.db)) {
            return wake.clone();
        }
    }
    let wake = Arc::new(Notify::new());
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Rows wait for a relay started inside a runtime (the next process to start one).
        tracing::warn!(
            publisher,
            "no async runtime: the outbox relay is not started"
        );
        return wake;
    };
    relays.insert(key, (Arc::downgrade(&deps.db), wake.clone()));
    let poll = Duration::from_millis(deps.config.webhook.poll_ms.max(1));
    runtime.spawn(run(
        Arc::downgrade(&deps.db),
        deps.bus.clone(),
        publisher.to_owned(),
        wake.clone(),
        poll,
    ));
    wake
}

/// The relay loop; it ends when the database handle is dropped.
async fn run(
    db: Weak<Db>,
    bus: Arc<dyn Bus>,
    publisher: String,
    wake: Arc<Notify>,
    poll: Duration,
) {
    let owner = Uuid::now_v7().to_string();
    loop {
        let Some(strong) = db.upgrade() else { return };
        let outcome = relay_once(&strong, &*bus, &publisher, &owner).await;
        drop(strong);
        let pause = match outcome {
            Ok(RelayOutcome::Published(n)) if n as i64 == BATCH => continue,
            Ok(_) => poll,
            Err(error) => {
                tracing::warn!(%publisher, %error, "outbox relay round failed; rows stay for the next");
                RETRY
            }
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// What one relay round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayOutcome {
    /// Another relay holds the lease of this publisher.
    NotLeader,
    /// This many events were published (and deleted).
    Published(usize),
}

/// One round: take the lease, publish the oldest rows of `publisher` in order, delete them.
/// A failed publish stops the round; the rows published before it are deleted, the rest stay.
pub async fn relay_once(
    db: &Db,
    bus: &dyn Bus,
    publisher: &str,
    owner: &str,
) -> Result<RelayOutcome> {
    let pool = db.writer();
    let now = now_ms();
    if !store::take_lease(pool, publisher, owner, now, now + LEASE.as_millis() as i64).await? {
        return Ok(RelayOutcome::NotLeader);
    }
    let rows = store::oldest(pool, publisher, BATCH).await?;
    let mut published = None;
    let mut failure = None;
    for row in &rows {
        let data: Value = match serde_json::from_str(&row.data) {
            Ok(v) => v,
            Err(e) => {
                // Our own serialisation wrote it; an unreadable row must not block the rest.
                tracing::error!(publisher, seq = row.seq, error = %e, "unreadable outbox row dropped");
                published = Some(row.seq);
                continue;
            }
        };
        match bus
            .publish(Event::new(row.event_type.clone(), publisher, data))
            .await
        {
            Ok(()) => published = Some(row.seq),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(seq) = published {
        store::delete_through(pool, publisher, seq).await?;
    }
    let count = rows.len();
    match failure {
        Some(e) => Err(Error::new(
            e.kind,
            e.reason.clone(),
            format!("publishing {publisher}'s events: {}", e.message),
        )),
        None => {
            if count == 0 {
                // Nothing to do: let another process's relay take over without waiting.
                store::drop_lease(pool, publisher, owner).await?;
            }
            Ok(RelayOutcome::Published(count))
        }
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
