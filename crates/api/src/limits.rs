//! Request limits: token buckets per client IP and per customer, and the JSON nesting cap.
//!
//! Buckets live in this API process; with several API replicas each enforces its own share.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use uuid::Uuid;

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

/// The API's rate limits.
pub struct RateLimiter {
    ip: Buckets<IpAddr>,
    customer: Buckets<Uuid>,
}

impl RateLimiter {
    /// Limits from per-second rates and bursts.
    pub fn new(ip_rate: u32, ip_burst: u32, customer_rate: u32, customer_burst: u32) -> Self {
        RateLimiter {
            ip: Buckets::new(ip_rate, ip_burst),
            customer: Buckets::new(customer_rate, customer_burst),
        }
    }

    /// Takes one request for an IP; the error is the wait before retrying.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.ip.take(ip, Instant::now())
    }

    /// Takes one request for a customer.
    pub fn check_customer(&self, customer: Uuid) -> Result<(), Duration> {
        self.customer.take(customer, Instant::now())
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

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":[1,{"b":"[[[[{"}]}"#), 3);
        assert_eq!(json_depth(br#""\"[""#), 0);
        assert_eq!(json_depth(b"[[[[]]]]"), 4);
    }
}
