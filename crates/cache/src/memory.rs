//! [`MemoryCache`]: the in-process [`Cache`] of the embedded shape.
//!
//! Entries live in 16 shards, each a `parking_lot` mutex over a `HashMap`, so concurrent
//! requests rarely wait on each other. Expiry is checked on every read, so an expired value is
//! never returned; a sweeper task ([`MemoryCache::spawn_sweeper`]) reclaims the memory of
//! entries nobody reads again. The size bound is split evenly across the shards: a full shard
//! first drops its expired entries, then evicts the entries closest to expiry. Time is
//! `tokio::time::Instant`, so tests drive expiry with `tokio::time::pause` and `advance`.

use crate::{Cache, CacheKind};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use voxbin_core::{Error, ErrorKind, Result};

/// Number of shards when the bound allows it.
const SHARDS: usize = 16;

/// A full shard evicts this fraction (1/n) of its capacity at once, so eviction scans are rare.
const EVICT_FRACTION: usize = 16;

/// Shortest sweep period, so a zero period cannot spin.
const MIN_SWEEP_PERIOD: Duration = Duration::from_millis(1);

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

struct Shard {
    capacity: usize,
    map: Mutex<HashMap<String, Entry>>,
}

/// An in-memory, size-bounded cache with per-key expiry.
pub struct MemoryCache {
    shards: Box<[Shard]>,
    hasher: RandomState,
    max_entries: usize,
    /// Zero of the rate limiter's clock.
    epoch: Instant,
}

impl fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("max_entries", &self.max_entries)
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish()
    }
}

impl MemoryCache {
    /// A cache holding at most `max_entries` entries (at least 1).
    pub fn new(max_entries: usize) -> Self {
        Self::with_shards(max_entries, SHARDS)
    }

    fn with_shards(max_entries: usize, shards: usize) -> Self {
        let max_entries = max_entries.max(1);
        let count = shards.clamp(1, max_entries);
        let (base, extra) = (max_entries / count, max_entries % count);
        let shards = (0..count)
            .map(|i| Shard {
                capacity: base + usize::from(i < extra),
                map: Mutex::new(HashMap::new()),
            })
            .collect();
        MemoryCache {
            shards,
            hasher: RandomState::new(),
            max_entries,
            epoch: Instant::now(),
        }
    }

    /// Starts a task that drops expired entries every `every`; it stops once the cache is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let cache: Weak<Self> = Arc::downgrade(self);
        let every = every.max(MIN_SWEEP_PERIOD);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(cache) = cache.upgrade() else { break };
                let removed = cache.purge_expired();
                if removed > 0 {
                    tracing::debug!(removed, "cache sweep dropped expired entries");
                }
            }
        })
    }

    /// Drops every expired entry now, one shard at a time; returns how many were dropped.
    pub fn purge_expired(&self) -> usize {
        let now = Instant::now();
        self.shards
            .iter()
            .map(|shard| {
                let mut map = shard.map.lock();
                let before = map.len();
                map.retain(|_, e| e.is_live(now));
                before - map.len()
            })
            .sum()
    }

    /// Number of stored entries, including expired ones not yet swept.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.map.lock().len()).sum()
    }

    /// Whether no entries are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size bound given at construction (at least 1).
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    fn shard(&self, key: &str) -> &Shard {
        // The modulo is below `shards.len()`, so the cast back to usize is lossless.
        let index = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        &self.shards[index]
    }

    fn get_now(&self, key: &str, now: Instant) -> Option<Vec<u8>> {
        let mut map = self.shard(key).map.lock();
        match map.get(key) {
            Some(e) if e.is_live(now) => Some(e.value.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert(&self, key: &str, value: Vec<u8>, expires_at: Instant, now: Instant) {
        let shard = self.shard(key);
        let mut map = shard.map.lock();
        if let Some(entry) = map.get_mut(key) {
            *entry = Entry { value, expires_at };
            return;
        }
        make_room(&mut map, shard.capacity, now);
        map.insert(key.to_owned(), Entry { value, expires_at });
    }

    fn set_if_absent_now(
        &self,
        key: &str,
        value: Vec<u8>,
        expires_at: Instant,
        now: Instant,
    ) -> bool {
        let shard = self.shard(key);
        let mut map = shard.map.lock();
        match map.get_mut(key) {
            Some(entry) if entry.is_live(now) => false,
            Some(entry) => {
                *entry = Entry { value, expires_at };
                true
            }
            None => {
                make_room(&mut map, shard.capacity, now);
                map.insert(key.to_owned(), Entry { value, expires_at });
                true
            }
        }
    }

    /// GCRA: the entry holds the theoretical arrival time (microseconds since the cache's
    /// epoch); a request is allowed while it is at most `burst - 1` intervals ahead of now.
    fn throttle_now(&self, key: &str, per_sec: u32, burst: u32) -> Option<Duration> {
        let interval = 1_000_000 / u64::from(per_sec.max(1));
        let tolerance = interval * u64::from(burst.max(1) - 1);
        let shard = self.shard(key);
        let mut map = shard.map.lock();
        // Read the clock under the lock: a reading taken before it could be older than the
        // arrival time another caller stored meanwhile, and refuse a request the limit allows.
        let now = Instant::now();
        let now_us = now.saturating_duration_since(self.epoch).as_micros() as u64;
        let tat = match map.get(key) {
            Some(e) if e.is_live(now) => e
                .value
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .unwrap_or(now_us),
            _ => now_us,
        }
        .max(now_us);
        if tat - now_us > tolerance {
            return Some(Duration::from_micros(tat - now_us - tolerance));
        }
        let next = tat + interval;
        let entry = Entry {
            value: next.to_be_bytes().to_vec(),
            expires_at: now + Duration::from_micros(next - now_us),
        };
        match map.get_mut(key) {
            Some(e) => *e = entry,
            None => {
                make_room(&mut map, shard.capacity, now);
                map.insert(key.to_owned(), entry);
            }
        }
        None
    }

    fn incr_now(&self, key: &str, by: i64, expires_at: Instant, now: Instant) -> Result<i64> {
        let shard = self.shard(key);
        let mut map = shard.map.lock();
        match map.get_mut(key) {
            Some(entry) if entry.is_live(now) => {
                let current = parse_counter(key, &entry.value)?;
                let next = current.checked_add(by).ok_or_else(|| {
                    Error::new(
                        ErrorKind::FailedPrecondition,
                        "CACHE_COUNTER_OVERFLOW",
                        format!("incrementing {key} by {by} would overflow"),
                    )
                })?;
                entry.value = next.to_string().into_bytes();
                Ok(next)
            }
            Some(entry) => {
                *entry = Entry {
                    value: by.to_string().into_bytes(),
                    expires_at,
                };
                Ok(by)
            }
            None => {
                make_room(&mut map, shard.capacity, now);
                map.insert(
                    key.to_owned(),
                    Entry {
                        value: by.to_string().into_bytes(),
                        expires_at,
                    },
                );
                Ok(by)
            }
        }
    }
}

/// Frees at least one slot in a full shard: expired entries first, then those closest to expiry.
fn make_room(map: &mut HashMap<String, Entry>, capacity: usize, now: Instant) {
    if map.len() < capacity {
        return;
    }
    map.retain(|_, e| e.is_live(now));
    if map.len() < capacity {
        return;
    }
    // Evict a batch so a cache that stays full scans once per batch, not once per insert.
    let excess = map.len() + 1 - capacity;
    let count = excess.max(capacity / EVICT_FRACTION).min(map.len());
    if count == 0 {
        return;
    }
    let mut expiries: Vec<Instant> = map.values().map(|e| e.expires_at).collect();
    let (closer, &mut threshold, _) = expiries.select_nth_unstable(count - 1);
    let mut ties = count - closer.iter().filter(|&&at| at < threshold).count();
    map.retain(|_, e| {
        if e.expires_at < threshold {
            false
        } else if e.expires_at == threshold && ties > 0 {
            ties -= 1;
            false
        } else {
            true
        }
    });
}

fn parse_counter(key: &str, value: &[u8]) -> Result<i64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::FailedPrecondition,
                "CACHE_NOT_AN_INTEGER",
                format!("the value at {key} is not an integer counter"),
            )
        })
}

/// The expiry instant for `ttl` from `now`; zero and unrepresentable TTLs are refused.
fn expiry(now: Instant, ttl: Duration, key: &str) -> Result<Instant> {
    if ttl.is_zero() {
        return Err(Error::invalid_argument(
            "CACHE_INVALID_TTL",
            format!("the TTL for {key} must be greater than zero"),
        ));
    }
    now.checked_add(ttl).ok_or_else(|| {
        Error::invalid_argument(
            "CACHE_INVALID_TTL",
            format!("the TTL for {key} is too large"),
        )
    })
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_now(key, Instant::now()))
    }

    async fn set(&self, kind: CacheKind, key: &str, value: Vec<u8>) -> Result<()> {
        let now = Instant::now();
        let expires_at = expiry(now, kind.ttl(), key)?;
        self.insert(key, value, expires_at, now);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.shard(key).map.lock().remove(key);
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let expires_at = expiry(now, ttl, key)?;
        Ok(self.set_if_absent_now(key, value, expires_at, now))
    }

    async fn set_if_newer(
        &self,
        kind: CacheKind,
        key: &str,
        version: u64,
        value: Vec<u8>,
    ) -> Result<bool> {
        let now = Instant::now();
        let expires_at = expiry(now, kind.ttl(), key)?;
        let value = crate::versioned::encode(version, &value);
        let shard = self.shard(key);
        let mut map = shard.map.lock();
        match map.get_mut(key) {
            Some(entry)
                if entry.is_live(now) && !crate::versioned::replaceable(&entry.value, version) =>
            {
                Ok(false)
            }
            Some(entry) => {
                *entry = Entry { value, expires_at };
                Ok(true)
            }
            None => {
                make_room(&mut map, shard.capacity, now);
                map.insert(key.to_owned(), Entry { value, expires_at });
                Ok(true)
            }
        }
    }

    async fn throttle(&self, key: &str, per_sec: u32, burst: u32) -> Result<Option<Duration>> {
        Ok(self.throttle_now(key, per_sec, burst))
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64> {
        let now = Instant::now();
        let expires_at = expiry(now, ttl, key)?;
        self.incr_now(key, by, expires_at, now)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const MS: Duration = Duration::from_millis(1);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test(start_paused = true)]
    async fn get_set_delete() {
        let cache = MemoryCache::new(16);
        assert_eq!(cache.get("a").await.unwrap(), None);
        cache
            .set(CacheKind::Config, "a", b"1".to_vec())
            .await
            .unwrap();
        assert_eq!(cache.get("a").await.unwrap(), Some(b"1".to_vec()));
        cache
            .set(CacheKind::Config, "a", b"2".to_vec())
            .await
            .unwrap();
        assert_eq!(cache.get("a").await.unwrap(), Some(b"2".to_vec()));
        cache.delete("a").await.unwrap();
        assert_eq!(cache.get("a").await.unwrap(), None);
        cache.delete("a").await.unwrap();
        cache.ping().await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn value_expires_exactly_at_its_ttl() {
        let cache = MemoryCache::new(16);
        for kind in [
            CacheKind::QueueStats,
            CacheKind::AgentStatus,
            CacheKind::Session,
        ] {
            cache.set(kind, "k", b"v".to_vec()).await.unwrap();
            advance(kind.ttl() - MS).await;
            assert_eq!(
                cache.get("k").await.unwrap(),
                Some(b"v".to_vec()),
                "{kind:?}"
            );
            advance(MS).await;
            assert_eq!(cache.get("k").await.unwrap(), None, "{kind:?}");
            assert!(cache.is_empty(), "an expired read removes the entry");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn overwrite_restarts_the_ttl() {
        let cache = MemoryCache::new(16);
        cache
            .set(CacheKind::Other(secs(10)), "k", b"1".to_vec())
            .await
            .unwrap();
        advance(secs(8)).await;
        cache
            .set(CacheKind::Other(secs(10)), "k", b"2".to_vec())
            .await
            .unwrap();
        advance(secs(8)).await;
        assert_eq!(cache.get("k").await.unwrap(), Some(b"2".to_vec()));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_ttl_is_refused() {
        let cache = MemoryCache::new(16);
        let kind = ErrorKind::InvalidArgument;
        let zero = Duration::ZERO;
        assert_eq!(
            cache
                .set(CacheKind::Other(zero), "k", vec![])
                .await
                .unwrap_err()
                .kind,
            kind
        );
        assert_eq!(
            cache
                .set_if_absent("k", vec![], zero)
                .await
                .unwrap_err()
                .kind,
            kind
        );
        assert_eq!(cache.incr("k", 1, zero).await.unwrap_err().kind, kind);
        let huge = CacheKind::Other(Duration::MAX);
        assert_eq!(cache.set(huge, "k", vec![]).await.unwrap_err().kind, kind);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn throttle_never_refuses_under_a_limit_no_one_reaches() {
        let cache = Arc::new(MemoryCache::new(16));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    for _ in 0..20_000 {
                        let refused = cache.throttle("k", 10_000_000, 10_000_000).await.unwrap();
                        assert_eq!(refused, None);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_allows_the_burst_then_the_rate() {
        // room for both keys in every shard: with one entry per shard, "other" evicted "k"
        // whenever the two hashed to the same shard (1 run in 16)
        let cache = MemoryCache::new(16 * SHARDS);
        for _ in 0..3 {
            assert_eq!(cache.throttle("k", 10, 3).await.unwrap(), None);
        }
        let wait = cache.throttle("k", 10, 3).await.unwrap().unwrap();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert_eq!(
            cache.throttle("other", 10, 3).await.unwrap(),
            None,
            "keys are independent"
        );
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(cache.throttle("k", 10, 3).await.unwrap(), None);
        assert!(cache.throttle("k", 10, 3).await.unwrap().is_some());
        // Idle long enough, the whole burst is back.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..3 {
            assert_eq!(cache.throttle("k", 10, 3).await.unwrap(), None);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn set_if_absent_locks_until_expiry() {
        let cache = MemoryCache::new(16);
        assert!(cache
            .set_if_absent("lock", b"a".to_vec(), secs(30))
            .await
            .unwrap());
        assert!(!cache
            .set_if_absent("lock", b"b".to_vec(), secs(30))
            .await
            .unwrap());
        assert_eq!(cache.get("lock").await.unwrap(), Some(b"a".to_vec()));
        advance(secs(30)).await;
        assert!(cache
            .set_if_absent("lock", b"c".to_vec(), secs(30))
            .await
            .unwrap());
        assert_eq!(cache.get("lock").await.unwrap(), Some(b"c".to_vec()));
        cache.delete("lock").await.unwrap();
        assert!(cache
            .set_if_absent("lock", b"d".to_vec(), secs(30))
            .await
            .unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn incr_creates_with_ttl_counts_and_resets_after_expiry() {
        let cache = MemoryCache::new(16);
        assert_eq!(cache.incr("rate", 1, secs(60)).await.unwrap(), 1);
        advance(secs(30)).await;
        // The window keeps its first expiry: later increments do not extend it.
        assert_eq!(cache.incr("rate", 1, secs(60)).await.unwrap(), 2);
        assert_eq!(cache.incr("rate", 5, secs(60)).await.unwrap(), 7);
        assert_eq!(cache.incr("rate", -2, secs(60)).await.unwrap(), 5);
        assert_eq!(cache.get("rate").await.unwrap(), Some(b"5".to_vec()));
        advance(secs(30)).await;
        assert_eq!(cache.get("rate").await.unwrap(), None);
        assert_eq!(cache.incr("rate", 1, secs(60)).await.unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn incr_refuses_non_counters_and_overflow() {
        let cache = MemoryCache::new(16);
        cache
            .set(CacheKind::Config, "text", b"abc".to_vec())
            .await
            .unwrap();
        let err = cache.incr("text", 1, secs(60)).await.unwrap_err();
        assert_eq!(err.reason, "CACHE_NOT_AN_INTEGER");
        cache.incr("big", i64::MAX, secs(60)).await.unwrap();
        let err = cache.incr("big", 1, secs(60)).await.unwrap_err();
        assert_eq!(err.reason, "CACHE_COUNTER_OVERFLOW");
        assert_eq!(
            cache.get("big").await.unwrap(),
            Some(i64::MAX.to_string().into_bytes())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bound_is_respected_under_ten_times_the_inserts() {
        let cache = MemoryCache::new(100);
        for i in 0..1_000 {
            let kind = CacheKind::Other(secs(60 + i % 7));
            cache.set(kind, &format!("k{i}"), vec![0; 8]).await.unwrap();
            assert!(cache.len() <= 100, "len {} after {i} inserts", cache.len());
        }
        assert!(
            cache.len() > 50,
            "eviction is in batches, not wholesale: {}",
            cache.len()
        );
        assert_eq!(cache.get("k999").await.unwrap(), Some(vec![0; 8]));
        for i in 0..1_000 {
            assert!(cache
                .set_if_absent(&format!("l{i}"), vec![], secs(5))
                .await
                .unwrap());
            cache.incr(&format!("c{i}"), 1, secs(5)).await.unwrap();
        }
        assert!(cache.len() <= 100);
    }

    #[tokio::test(start_paused = true)]
    async fn tiny_bounds_still_hold_entries() {
        for max in [0, 1, 3, 17] {
            let cache = MemoryCache::new(max);
            for i in 0..50 {
                cache
                    .set(CacheKind::Config, &format!("k{i}"), vec![1])
                    .await
                    .unwrap();
                assert_eq!(cache.get(&format!("k{i}")).await.unwrap(), Some(vec![1]));
            }
            assert!(cache.len() <= max.max(1), "max {max}: len {}", cache.len());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn full_cache_drops_expired_entries_first() {
        let cache = MemoryCache::with_shards(4, 1);
        cache
            .set(CacheKind::Other(secs(1)), "short", vec![])
            .await
            .unwrap();
        for key in ["b", "c", "d"] {
            cache
                .set(CacheKind::Other(secs(100)), key, vec![])
                .await
                .unwrap();
        }
        advance(secs(2)).await;
        assert_eq!(cache.len(), 4, "nothing read or swept yet");
        cache
            .set(CacheKind::Other(secs(100)), "e", vec![])
            .await
            .unwrap();
        for key in ["b", "c", "d", "e"] {
            assert!(cache.get(key).await.unwrap().is_some(), "{key}");
        }
        assert_eq!(cache.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn full_cache_evicts_entries_closest_to_expiry() {
        let cache = MemoryCache::with_shards(4, 1);
        for (key, ttl) in [("a", 10), ("b", 40), ("c", 20), ("d", 30)] {
            cache
                .set(CacheKind::Other(secs(ttl)), key, vec![])
                .await
                .unwrap();
        }
        cache
            .set(CacheKind::Other(secs(50)), "e", vec![])
            .await
            .unwrap();
        assert_eq!(cache.get("a").await.unwrap(), None);
        cache
            .set(CacheKind::Other(secs(50)), "f", vec![])
            .await
            .unwrap();
        assert_eq!(cache.get("c").await.unwrap(), None);
        for key in ["b", "d", "e", "f"] {
            assert!(cache.get(key).await.unwrap().is_some(), "{key}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sweeper_drops_unread_expired_entries_and_stops_with_the_cache() {
        let cache = Arc::new(MemoryCache::new(16));
        let sweeper = cache.spawn_sweeper(secs(1));
        cache
            .set(CacheKind::Other(MS * 500), "short", vec![])
            .await
            .unwrap();
        cache
            .set(CacheKind::Other(secs(60)), "long", vec![])
            .await
            .unwrap();
        tokio::time::sleep(MS * 1_500).await;
        assert_eq!(cache.len(), 1);
        drop(cache);
        tokio::time::timeout(secs(5), sweeper)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn purge_expired_counts_what_it_dropped() {
        let cache = MemoryCache::new(64);
        for i in 0..10 {
            cache
                .set(CacheKind::Other(secs(1 + i % 2)), &format!("k{i}"), vec![])
                .await
                .unwrap();
        }
        advance(secs(1)).await;
        assert_eq!(cache.purge_expired(), 5);
        assert_eq!(cache.len(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_set_and_get_from_eight_tasks() {
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(10_000));
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move {
                    for i in 0..500 {
                        let key = format!("t{t}:k{i}");
                        let value = format!("{t}-{i}").into_bytes();
                        cache
                            .set(CacheKind::Call, &key, value.clone())
                            .await
                            .unwrap();
                        assert_eq!(cache.get(&key).await.unwrap(), Some(value));
                        cache.incr("shared", 1, secs(60)).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(cache.get("shared").await.unwrap(), Some(b"4000".to_vec()));
        assert_eq!(cache.get("t7:k499").await.unwrap(), Some(b"7-499".to_vec()));
    }
}
