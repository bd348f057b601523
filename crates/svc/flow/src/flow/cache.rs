//! The cached copy of a flow's public JSON (`flow:<id>`) and the per-flow write lock.
//!
//! See the module doc of [`crate::flow`] for why readers fill with set-if-absent and writers
//! overwrite under a lock. A deleted flow leaves a tombstone (`null`) rather than nothing, so a
//! reader that loaded the row just before the delete cannot bring it back.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use serde_json::Value;
use uuid::Uuid;
use voxbin_cache::{Cache, CacheExt, CacheKind};
use voxbin_core::{Error, Result};

use super::model::Flow;

/// How long a write lock lives if its holder dies.
const LOCK_TTL: Duration = Duration::from_secs(10);

/// How long a writer waits for another writer of the same flow.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Pause between attempts to take a busy lock.
const LOCK_RETRY: Duration = Duration::from_millis(2);

/// Reason of a write refused because the cache (needed to invalidate) is unreachable or busy.
pub(crate) const FLOW_CACHE_UNAVAILABLE: &str = "FLOW_CACHE_UNAVAILABLE";

/// The cache key of flow `id`.
pub(crate) fn key(id: Uuid) -> String {
    format!("flow:{id}")
}

fn lock_key(id: Uuid) -> String {
    format!("flow:lock:{id}")
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

/// Reads `flow:<id>`; a cache failure is logged and reads as a miss (the database answers).
pub(crate) async fn read(cache: &Arc<dyn Cache>, id: Uuid) -> Cached {
    match cache.get_json::<Value>(&key(id)).await {
        Ok(Some(Value::Null)) => Cached::Deleted,
        Ok(Some(value)) => Cached::Live(value),
        Ok(None) => Cached::Miss,
        Err(error) => {
            tracing::warn!(%id, %error, "flow cache read failed; reading the database");
            Cached::Miss
        }
    }
}

/// Fills the cache after a read miss, unless a value (newer, or a tombstone) is already there.
pub(crate) async fn fill(cache: &Arc<dyn Cache>, flow: &Flow) {
    let outcome = match serde_json::to_vec(flow) {
        Ok(bytes) => cache
            .set_if_absent(&key(flow.id), bytes, CacheKind::Flow.ttl())
            .await
            .map(|_| ()),
        Err(e) => Err(Error::internal(format!("cannot encode flow: {e}"))),
    };
    if let Err(error) = outcome {
        tracing::warn!(id = %flow.id, %error, "could not fill the flow cache");
    }
}

/// Replaces the cached value after a write; if that fails, removes it; if both fail, the
/// write is reported as failed so that the client knows a stale copy may be served.
async fn replace(cache: &Arc<dyn Cache>, id: Uuid, value: &Value) -> Result<()> {
    let key = key(id);
    let set = cache.set_json(CacheKind::Flow, &key, value).await;
    let Err(set_error) = set else {
        return Ok(());
    };
    match cache.delete(&key).await {
        Ok(()) => Ok(()),
        Err(error) => {
            tracing::error!(%id, %set_error, %error, "flow written but its cached copy could not be replaced");
            Err(Error::unavailable(
                FLOW_CACHE_UNAVAILABLE,
                "The flow was saved, but the cache could not be updated; retry the request.",
            ))
        }
    }
}

/// Caches the new public JSON of `flow` after a create or an update.
pub(crate) async fn put(cache: &Arc<dyn Cache>, flow: &Flow) -> Result<()> {
    let value = serde_json::to_value(flow)
        .map_err(|e| Error::internal(format!("cannot encode flow: {e}")))?;
    replace(cache, flow.id, &value).await
}

/// Leaves a tombstone for a deleted flow.
pub(crate) async fn tombstone(cache: &Arc<dyn Cache>, id: Uuid) -> Result<()> {
    replace(cache, id, &Value::Null).await
}

/// Runs `write` while holding the write lock of flow `id`.
///
/// The lock is taken before the database is touched, so a cache that cannot be reached
/// refuses the write (503) instead of leaving a stale copy behind.
pub(crate) async fn locked<T, F, Fut>(cache: &Arc<dyn Cache>, id: Uuid, write: F) -> Result<T>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let lock = lock_key(id);
    let token = voxbin_core::id::new_id().to_string();
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let taken = cache
            .set_if_absent(&lock, token.clone().into_bytes(), LOCK_TTL)
            .await
            .map_err(|error| {
                tracing::warn!(%id, %error, "flow write lock unavailable");
                Error::unavailable(
                    FLOW_CACHE_UNAVAILABLE,
                    "The flow cache cannot be reached; nothing was changed. Retry later.",
                )
            })?;
        if taken {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Error::unavailable(
                "FLOW_BUSY",
                "The flow is being changed by another request; nothing was changed. Retry.",
            ));
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
    let outcome = write().await;
    if let Err(error) = cache.delete(&lock).await {
        // The lock then expires after LOCK_TTL; other writers of this flow wait until then.
        tracing::warn!(%id, %error, "could not release the flow write lock");
    }
    outcome
}
