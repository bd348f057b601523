//! The cached copy of a flow's public JSON (`flow:<id>`), ordered by the row's version.
//!
//! Every write of a flow bumps `flow_flows.version` in the same statement, and every copy put
//! in the cache carries the version it was made from; the cache keeps a copy only if it is
//! newer than the one there (`set_if_newer`). So writers need no lock, two writers can never
//! leave the older value behind, and a reader that loaded a row just before a write cannot put
//! it over the write's copy. A deleted flow leaves a tombstone (`null`) at its final version.
//!
//! The cache is an optimisation: when it cannot be reached, writes still succeed. The copy the
//! write could not replace is queued in [`Repairs`] and put again once the cache answers, so an
//! outage cannot leave an old copy behind for the rest of its TTL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use uuid::Uuid;
use voxbin_cache::{Cache, CacheExt, CacheKind};

use super::model::Flow;

/// The most copies waiting for the cache to come back; beyond it the oldest waits are dropped
/// (their copies then live out the flow TTL at worst).
const MAX_PENDING: usize = 100_000;

/// First and longest pause between two repair rounds.
const REPAIR_MIN: Duration = Duration::from_millis(200);
const REPAIR_MAX: Duration = Duration::from_secs(5);

/// The cache key of flow `id`.
pub(crate) fn key(id: Uuid) -> String {
    format!("flow:{id}")
}

/// What the cache knows about a flow.
pub(crate) enum Cached {
    /// The flow's public JSON.
    Live(Value),
    /// The flow was deleted.
    Deleted,
    /// Nothing cached (or the cache could not be read).
    Miss,
}

/// Reads `flow:<id>`; a cache failure reads as a miss (the database answers).
pub(crate) async fn read(cache: &Arc<dyn Cache>, id: Uuid) -> Cached {
    match cache.get_versioned_json::<Value>(&key(id)).await {
        Ok(Some((_, Value::Null))) => Cached::Deleted,
        Ok(Some((_, value))) => Cached::Live(value),
        Ok(None) => Cached::Miss,
        Err(error) => {
            tracing::warn!(%id, %error, "flow cache read failed; reading the database");
            Cached::Miss
        }
    }
}

/// The version a row's copy is stored under (rows written before versions existed are 0).
fn version(flow: &Flow) -> u64 {
    u64::try_from(flow.version).unwrap_or(0)
}

/// Fills the cache after a read miss; a newer copy already there wins.
pub(crate) async fn fill(cache: &Arc<dyn Cache>, flow: &Flow) {
    let outcome = cache
        .set_versioned_json(CacheKind::Flow, &key(flow.id), version(flow), flow)
        .await;
    if let Err(error) = outcome {
        tracing::debug!(id = %flow.id, %error, "could not fill the flow cache");
    }
}

/// Copies waiting for the cache to answer again, newest version per flow.
#[derive(Default)]
pub(crate) struct Repairs {
    pending: Mutex<HashMap<Uuid, (u64, Value)>>,
    running: AtomicBool,
}

impl Repairs {
    /// Puts the copy of a written flow (its JSON, or `null` once deleted) in the cache; if
    /// the cache cannot take it now, keeps retrying in the background.
    pub(crate) async fn put(self: &Arc<Self>, cache: &Arc<dyn Cache>, flow: &Flow, deleted: bool) {
        let value = if deleted {
            Value::Null
        } else {
            match serde_json::to_value(flow) {
                Ok(value) => value,
                Err(error) => {
                    tracing::error!(id = %flow.id, %error, "cannot encode flow for the cache");
                    return;
                }
            }
        };
        let key = key(flow.id);
        let v = version(flow);
        if let Err(error) = cache
            .set_versioned_json(CacheKind::Flow, &key, v, &value)
            .await
        {
            tracing::warn!(id = %flow.id, %error, "flow cache not updated; retrying in the background");
            self.queue(cache.clone(), flow.id, v, value);
        }
    }

    fn queue(self: &Arc<Self>, cache: Arc<dyn Cache>, id: Uuid, version: u64, value: Value) {
        {
            let mut pending = self.pending.lock();
            if pending.len() >= MAX_PENDING && !pending.contains_key(&id) {
                tracing::error!(%id, "too many flow cache repairs waiting; dropping this one");
                return;
            }
            match pending.get(&id) {
                Some((queued, _)) if *queued >= version => {}
                _ => {
                    pending.insert(id, (version, value));
                }
            }
        }
        if !self.running.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().run(cache));
        }
    }

    /// Retries until nothing waits; one task at a time, ending when the queue is empty.
    async fn run(self: Arc<Self>, cache: Arc<dyn Cache>) {
        let mut pause = REPAIR_MIN;
        loop {
            tokio::time::sleep(pause).await;
            let batch: Vec<(Uuid, u64, Value)> = self
                .pending
                .lock()
                .iter()
                .map(|(id, (v, value))| (*id, *v, value.clone()))
                .collect();
            let mut failed = false;
            for (id, v, value) in batch {
                // `Ok(false)`: a newer copy is there already; either way this one is done.
                match cache
                    .set_versioned_json(CacheKind::Flow, &key(id), v, &value)
                    .await
                {
                    Ok(_) => {
                        let mut pending = self.pending.lock();
                        if pending.get(&id).is_some_and(|(queued, _)| *queued == v) {
                            pending.remove(&id);
                        }
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            pause = if failed {
                (pause * 2).min(REPAIR_MAX)
            } else {
                REPAIR_MIN
            };
            if self.pending.lock().is_empty() {
                self.running.store(false, Ordering::SeqCst);
                // A copy queued between the check and the store would otherwise wait alone.
                if self.pending.lock().is_empty() || self.running.swap(true, Ordering::SeqCst) {
                    tracing::info!("flow cache repairs done");
                    return;
                }
            }
        }
    }
}
