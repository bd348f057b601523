//! Request limits: rate limits per client IP and per customer, and the JSON nesting cap.
//!
//! The limits live in the cache ([`Cache::throttle`]), so every API replica sharing a Redis
//! enforces one limit together. When the cache cannot answer, each process falls back to its
//! own token buckets: the limit then holds per replica instead of failing requests.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;
use voxbin_cache::Cache;

/// Idle buckets are dropped after this long so the maps stay small.
const IDLE: Duration = Duration::from_secs(60);

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct Buckets<K> {
    rate: f64,
    burst: f64,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(rate: u32, burst: u32) -> Self {
        Buckets {
            rate: rate as f64,
            burst: burst.max(1) as f64,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when a request may go, else how long until one token is back.
    fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut map = self.map.lock();
        if map.len() > 10_000 {
            map.retain(|_, b| now.duration_since(b.last) < IDLE);
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate))
        }
    }
}

/// One limit: its shared form in the cache and the local buckets used when the cache is away.
struct Limit<K> {
    prefix: &'static str,
    per_sec: u32,
    burst: u32,
    local: Buckets<K>,
}

impl<K: Hash + Eq + Copy + std::fmt::Display> Limit<K> {
    fn new(prefix: &'static str, per_sec: u32, burst: u32) -> Self {
        Limit {
            prefix,
            per_sec: per_sec.max(1),
            burst: burst.max(1),
            local: Buckets::new(per_sec.max(1), burst),
        }
    }

    async fn take(&self, cache: Option<&Arc<dyn Cache>>, key: K) -> Result<(), Duration> {
        if let Some(cache) = cache {
            let shared_key = format!("{}{key}", self.prefix);
            match cache.throttle(&shared_key, self.per_sec, self.burst).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(wait),
                // Logged by the cache; this process's own buckets decide meanwhile.
                Err(_) => {}
            }
        }
        self.local.take(key, Instant::now())
    }
}

/// The API's rate limits.
pub struct RateLimiter {
    ip: Limit<IpAddr>,
    customer: Limit<Uuid>,
    cache: Option<Arc<dyn Cache>>,
}

impl RateLimiter {
    /// Limits from per-second rates and bursts, kept in this process only.
    pub fn new(ip_rate: u32, ip_burst: u32, customer_rate: u32, customer_burst: u32) -> Self {
        RateLimiter {
            ip: Limit::new("ratelimit:ip:", ip_rate, ip_burst),
            customer: Limit::new("ratelimit:customer:", customer_rate, customer_burst),
            cache: None,
        }
    }

    /// The same limits kept in `cache`, shared by every process that uses it.
    pub fn shared(mut self, cache: Arc<dyn Cache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Takes one request for an IP; the error is the wait before retrying.
    pub async fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.ip.take(self.cache.as_ref(), ip).await
    }

    /// Takes one request for a customer.
    pub async fn check_customer(&self, customer: Uuid) -> Result<(), Duration> {
        self.customer.take(self.cache.as_ref(), customer).await
    }
}

/// The deepest nesting of arrays and objects in a JSON text (strings are skipped).
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses_then_refills() {
        let b = Buckets::new(10, 3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(b.take(1u8, t).is_ok());
        }
        let wait = b.take(1u8, t).unwrap_err();
        assert!(wait <= Duration::from_millis(100));
        assert!(b.take(1u8, t + Duration::from_millis(100)).is_ok());
        assert!(b.take(2u8, t).is_ok(), "keys are independent");
    }

    #[tokio::test]
    async fn limits_are_shared_through_the_cache_and_local_without_it() {
        let cache: Arc<dyn Cache> = Arc::new(voxbin_cache::MemoryCache::new(100));
        let a = RateLimiter::new(1, 2, 1, 2).shared(cache.clone());
        let b = RateLimiter::new(1, 2, 1, 2).shared(cache);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(a.check_ip(ip).await.is_ok());
        assert!(b.check_ip(ip).await.is_ok());
        assert!(
            a.check_ip(ip).await.is_err(),
            "two processes share one burst"
        );
        assert!(b.check_ip(ip).await.is_err());
        let customer = Uuid::now_v7();
        assert!(a.check_customer(customer).await.is_ok());
        let alone = RateLimiter::new(1, 2, 1, 2);
        assert!(
            alone.check_ip(ip).await.is_ok(),
            "a process without the cache counts alone"
        );
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":[1,{"b":"[[[[{"}]}"#), 3);
        assert_eq!(json_depth(br#""\"[""#), 0);
        assert_eq!(json_depth(b"[[[[]]]]"), 4);
    }
}
