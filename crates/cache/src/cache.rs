//! The [`Cache`] trait: what a service may ask of the cache, in the shape of Redis.
//!
//! Values are opaque bytes with a TTL per key; counters are decimal integers stored as bytes
//! (as Redis `INCRBY` does), so `get` on a counter returns e.g. `b"3"`. A TTL must be non-zero,
//! as Redis refuses `EX 0`. [`CacheExt`] adds typed JSON helpers to every cache.
//!
//! Failure contract: the cache is an optimisation, so losing it must not fail a request.
//! - `get` never reports an unreachable cache: it answers `Ok(None)`, a miss, and the caller
//!   reads the database as it would after an expiry.
//! - The other operations return [`ErrorKind::Unavailable`] with reason `CACHE_UNAVAILABLE`
//!   when the cache cannot answer (within a short timeout for Redis). Callers of `set` and
//!   `delete` may log and ignore it: the value stays uncached, or a stale copy lives out its TTL
//!   (keep TTLs short where staleness matters). `set_if_absent` and `incr` cannot guess an
//!   answer, so each caller decides whether to proceed without the lock or the count.
//! - `ping` is the one operation meant to expose the outage, for `/ready`.
//!
//! Other errors mean a misuse the caller can fix: a zero TTL (`InvalidArgument`) or a counter
//! that is not one (`FailedPrecondition`).

use crate::CacheKind;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;
use voxbin_core::{Error, ErrorKind, Result};

/// A key-value cache with per-key expiry, such as [`crate::MemoryCache`] or [`crate::RedisCache`].
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value at `key`, or `None` when it is absent, expired or the cache cannot answer.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Stores `value` at `key` for the TTL of `kind`, replacing any previous value.
    async fn set(&self, kind: CacheKind, key: &str, value: Vec<u8>) -> Result<()>;

    /// Removes `key`; removing an absent key is not an error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Stores `value` at `key` for `ttl` only if `key` is absent (a lock); `true` when stored.
    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool>;

    /// Stores `value` at `key` for the TTL of `kind` as version `version`, unless the value
    /// there has the same or a newer version; `true` when stored. Read it with
    /// [`CacheExt::get_versioned_json`]. See [`crate::versioned`].
    async fn set_if_newer(
        &self,
        kind: CacheKind,
        key: &str,
        version: u64,
        value: Vec<u8>,
    ) -> Result<bool>;

    /// Adds `by` to the counter at `key` and returns the new value; an absent key starts at 0
    /// and gets `ttl`, an existing one keeps its expiry.
    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64>;

    /// Takes one request from the rate limit at `key` (`per_sec` sustained, `burst` at once;
    /// GCRA, so shared by every process using this cache): `None` when allowed, else how long
    /// until one is. Both must be at least 1.
    async fn throttle(&self, key: &str, per_sec: u32, burst: u32) -> Result<Option<Duration>>;

    /// Succeeds when the cache is reachable; `Unavailable` otherwise (used by `/ready`).
    async fn ping(&self) -> Result<()>;
}

/// Typed JSON helpers available on every [`Cache`], including `Arc<dyn Cache>`.
pub trait CacheExt: Cache {
    /// The value at `key` decoded from JSON; a value that no longer decodes (say, after a
    /// model change) is deleted and reported as a miss, so the caller reloads from the database.
    fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        async move {
            let Some(bytes) = self.get(key).await? else {
                return Ok(None);
            };
            // Settle the decode before awaiting, so the future stays `Send` without `T: Send`.
            let error = match serde_json::from_slice::<T>(&bytes) {
                Ok(value) => return Ok(Some(value)),
                Err(error) => error,
            };
            tracing::warn!(key, %error, "cached value no longer decodes; dropping it");
            // A failed delete leaves the stale copy to its TTL; the read is still a miss.
            if let Err(error) = self.delete(key).await {
                tracing::warn!(key, %error, "could not drop the undecodable cached value");
            }
            Ok(None)
        }
    }

    /// The versioned value at `key` (see [`Cache::set_if_newer`]) with its version; a value
    /// that does not decode is dropped and reads as a miss.
    fn get_versioned_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(u64, T)>>> + Send {
        async move {
            let Some(bytes) = self.get(key).await? else {
                return Ok(None);
            };
            let error = match crate::versioned::decode(&bytes) {
                Some((version, payload)) => match serde_json::from_slice::<T>(payload) {
                    Ok(value) => return Ok(Some((version, value))),
                    Err(error) => error.to_string(),
                },
                None => "not a versioned value".to_owned(),
            };
            tracing::warn!(key, %error, "cached value no longer decodes; dropping it");
            if let Err(error) = self.delete(key).await {
                tracing::warn!(key, %error, "could not drop the undecodable cached value");
            }
            Ok(None)
        }
    }

    /// Stores `value` as JSON at `key` as version `version`, unless a newer one is there.
    fn set_versioned_json<T: Serialize + ?Sized>(
        &self,
        kind: CacheKind,
        key: &str,
        version: u64,
        value: &T,
    ) -> impl Future<Output = Result<bool>> + Send {
        let encoded = serde_json::to_vec(value);
        async move {
            let bytes = encoded.map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    "CACHE_ENCODE",
                    format!("cannot encode {key}: {e}"),
                )
            })?;
            self.set_if_newer(kind, key, version, bytes).await
        }
    }

    /// Stores `value` as JSON at `key` for the TTL of `kind`.
    fn set_json<T: Serialize + ?Sized>(
        &self,
        kind: CacheKind,
        key: &str,
        value: &T,
    ) -> impl Future<Output = Result<()>> + Send {
        // Encode before the first await so the future does not borrow `value` (no `T: Sync`).
        let encoded = serde_json::to_vec(value);
        async move {
            let bytes = encoded.map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    "CACHE_ENCODE",
                    format!("cannot encode {key}: {e}"),
                )
            })?;
            self.set(kind, key, bytes).await
        }
    }
}

impl<C: Cache + ?Sized> CacheExt for C {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryCache;
    use serde::Deserialize;
    use std::sync::Arc;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Flow {
        id: String,
        actions: Vec<String>,
    }

    fn flow() -> Flow {
        Flow {
            id: "f1".into(),
            actions: vec!["answer".into(), "talk".into()],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn json_round_trips_through_dyn_cache() {
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(16));
        cache
            .set_json(CacheKind::Flow, "flow:f1", &flow())
            .await
            .unwrap();
        assert_eq!(
            cache.get_json::<Flow>("flow:f1").await.unwrap(),
            Some(flow())
        );
        assert_eq!(cache.get_json::<Flow>("flow:missing").await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn undecodable_json_is_a_miss_and_is_deleted() {
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(16));
        cache
            .set(CacheKind::Flow, "flow:f1", b"{\"id\":1}".to_vec())
            .await
            .unwrap();
        assert_eq!(cache.get_json::<Flow>("flow:f1").await.unwrap(), None);
        assert_eq!(
            cache.get("flow:f1").await.unwrap(),
            None,
            "stale value is deleted"
        );
    }

    #[tokio::test]
    async fn versioned_values_only_move_forward() {
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(16));
        assert!(cache
            .set_versioned_json(CacheKind::Flow, "f", 2, &flow())
            .await
            .unwrap());
        let older = Flow {
            id: "old".into(),
            ..flow()
        };
        assert!(!cache
            .set_versioned_json(CacheKind::Flow, "f", 1, &older)
            .await
            .unwrap());
        let got: Option<(u64, Flow)> = cache.get_versioned_json("f").await.unwrap();
        assert_eq!(got, Some((2, flow())));
        assert!(cache
            .set_versioned_json(CacheKind::Flow, "f", 3, &older)
            .await
            .unwrap());
        let got: Option<(u64, Flow)> = cache.get_versioned_json("f").await.unwrap();
        assert_eq!(got, Some((3, older)));
        // An undecodable value is dropped and reads as a miss.
        cache
            .set(CacheKind::Flow, "f", b"junk".to_vec())
            .await
            .unwrap();
        let got: Option<(u64, Flow)> = cache.get_versioned_json("f").await.unwrap();
        assert_eq!(got, None);
        assert_eq!(cache.get("f").await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn json_values_expire_with_their_kind() {
        let cache = MemoryCache::new(16);
        cache
            .set_json(CacheKind::QueueStats, "q:1", &7u32)
            .await
            .unwrap();
        tokio::time::advance(CacheKind::QueueStats.ttl()).await;
        assert_eq!(cache.get_json::<u32>("q:1").await.unwrap(), None);
    }

    #[test]
    fn json_futures_are_send() {
        fn assert_send<F: Future + Send>(_: F) {}
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(1));
        assert_send(cache.get_json::<Flow>("k"));
        assert_send(cache.set_json(CacheKind::Flow, "k", &flow()));
    }
}
