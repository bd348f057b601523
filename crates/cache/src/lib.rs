//! The cache every Voxbin service uses to speed up reads.
//!
//! The database is the source of truth; the cache only holds copies that may vanish at any
//! time (expiry, eviction, a restart). Services talk to the [`Cache`] trait, which is shaped
//! like Redis (opaque byte values, a TTL per key, atomic counters, set-if-absent for locks) so
//! the embedded [`MemoryCache`] and the [`RedisCache`] of the distributed shape are
//! interchangeable. Losing the cache degrades, it does not fail requests: an unreachable cache
//! reads as a miss (see the failure contract on [`Cache`]). [`CacheKind`] carries the
//! production TTL table, and [`CacheExt`] adds typed JSON helpers on top of any cache,
//! including `Arc<dyn Cache>`.

mod cache;
mod kind;
mod memory;
mod redis;
pub mod versioned;

pub use self::redis::{RedisCache, RedisOptions};
pub use cache::{Cache, CacheExt};
pub use kind::CacheKind;
pub use memory::MemoryCache;
