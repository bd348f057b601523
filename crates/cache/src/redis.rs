//! [`RedisCache`]: the [`Cache`] of the distributed shape, backed by a Redis server.
//!
//! One multiplexed connection, kept by the `redis` crate's `ConnectionManager`, carries every
//! request: concurrent requests from many tasks are pipelined on it, and a dropped connection
//! is re-established in the background. Keys are namespaced with a prefix (`voxbin:` by
//! default) so one Redis can be shared; TTLs come from [`CacheKind`] and are set in
//! milliseconds (`PX`). `incr` is one `MULTI`/`EXEC` round trip (`SET key 0 NX PX ttl` then
//! `INCRBY`), so only a new counter gets the TTL and no client can see it without one.
//!
//! Losing Redis degrades, it does not fail requests. Every operation is bounded by a short
//! timeout (500 ms by default), so a dead or unreachable Redis never hangs a request:
//! - `get` reports a miss (`Ok(None)`) and the caller reads the database;
//! - `set`, `delete`, `set_if_absent` and `incr` return [`ErrorKind::Unavailable`] (reason
//!   `CACHE_UNAVAILABLE`), which callers of `set` and `delete` may log and ignore;
//! - `ping` returns that error too, so `/ready` reports the outage.
//!
//! Once a request has failed, the following ones fail at once (a miss for `get`) instead of
//! each waiting out the timeout, while one request per second probes Redis; `ping` always asks
//! Redis. The connection manager reconnects when a probe or `ping` reaches it, so a cache built
//! with [`RedisCache::connect_lazy`] while Redis was down starts working once Redis is up.
//!
//! While Redis is down a warning is logged at most every 10 seconds (with the number of failures
//! it stands for), and one info line when Redis answers again. Error messages and logs name the
//! server as `host:port`, never its credentials.

use crate::{Cache, CacheKind};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, RedisResult};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use voxbin_core::{Error, ErrorKind, Result};

/// `set_if_newer`: KEYS[1] key; ARGV version, encoded value, TTL in ms; 1 when stored.
const SET_IF_NEWER: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 21, 21) == '|' then
  local v = tonumber(string.sub(cur, 1, 20))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"#;

/// `throttle` (GCRA): KEYS[1] holds the theoretical arrival time in microseconds of the
/// server clock; ARGV interval and burst tolerance in microseconds; returns the wait (0: go).
const THROTTLE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ahead = tat - now - tonumber(ARGV[2])
if ahead > 0 then return ahead end
local next = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.floor((next - now) / 1000) + 1)
return 0
"#;

/// The key prefix unless [`RedisOptions::prefix`] says otherwise.
const DEFAULT_PREFIX: &str = "voxbin:";

/// The bound on one operation unless [`RedisOptions::timeout`] says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// How long [`RedisCache::connect`] waits for Redis unless [`RedisOptions::connect_timeout`]
/// says otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// After a failure, requests fail at once for this long, except one probe (and `ping`).
const FAIL_FAST_FOR: Duration = Duration::from_secs(1);

/// The shortest interval between two "Redis unavailable" warnings.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Reconnection attempts per round; a failed round ends so the next request starts a fresh one,
/// which bounds how long a recovered Redis goes unnoticed.
const RECONNECT_RETRIES: usize = 2;
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// Redis refuses an expiry whose absolute time overflows i64 milliseconds; half the range
/// leaves room for the server's clock.
const MAX_TTL_MS: u64 = i64::MAX as u64 / 2;

/// The reason of every error that means "the cache could not answer".
const UNAVAILABLE: &str = "CACHE_UNAVAILABLE";

/// How a [`RedisCache`] names its keys and how long it waits for Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Prepended to every key (default `voxbin:`), so several deployments can share a Redis.
    pub prefix: String,
    /// Bound on each operation, connecting included (default 500 ms).
    pub timeout: Duration,
    /// How long [`RedisCache::connect`] waits for the first answer (default 2 s).
    pub connect_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// A [`Cache`] on a Redis server that reconnects on its own and degrades to misses without it.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    /// `host:port` (or socket path) of the server: safe to log, unlike the URL.
    host: String,
    prefix: String,
    timeout: Duration,
    health: std::sync::Arc<Health>,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the connection manager: its client would print the URL's password.
        f.debug_struct("RedisCache")
            .field("host", &self.host)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisCache {
    /// Connects to `url` (`redis://[user:password@]host:port/db`) and checks that Redis answers;
    /// fails with `Unavailable` naming the host when it does not within 2 s.
    pub async fn connect(url: &str) -> Result<RedisCache> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// [`RedisCache::connect`] with explicit options.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<RedisCache> {
        let connect_timeout = options.connect_timeout;
        let cache = Self::connect_lazy_with(url, options)?;
        let ping = async {
            let mut conn = cache.conn.clone();
            ::redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(connect_timeout, ping).await {
            Ok(Ok(_)) => Ok(cache),
            Ok(Err(e)) => Err(unreachable_at_start(&cache.host, &e.to_string())),
            Err(_) => Err(unreachable_at_start(
                &cache.host,
                &format!("no answer within {connect_timeout:?}"),
            )),
        }
    }

    /// A cache on `url` that starts even while Redis is down and connects once it comes up;
    /// fails only on a malformed URL. Call it inside a Tokio runtime.
    pub fn connect_lazy(url: &str) -> Result<RedisCache> {
        Self::connect_lazy_with(url, RedisOptions::default())
    }

    /// [`RedisCache::connect_lazy`] with explicit options.
    pub fn connect_lazy_with(url: &str, options: RedisOptions) -> Result<RedisCache> {
        let client = Client::open(url).map_err(|e| {
            // The parser's messages are fixed texts; the URL itself is never echoed.
            Error::invalid_argument(
                "CACHE_INVALID_URL",
                format!("the Redis URL is not valid: {e}"),
            )
        })?;
        let host = client.get_connection_info().addr().to_string();
        let timeout = options.timeout.max(Duration::from_millis(1));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            Error::invalid_argument(
                "CACHE_INVALID_URL",
                format!("cannot use Redis at {host}: {e}"),
            )
        })?;
        Ok(RedisCache {
            conn,
            host,
            prefix: options.prefix,
            timeout,
            health: Default::default(),
        })
    }

    /// The server as `host:port` (never the credentials).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The prefix prepended to every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// Runs one request under the timeout, or fails at once while Redis is known to be down
    /// and another request is already probing it.
    async fn run<T, F>(&self, op: &'static str, request: F) -> Result<T, Failure>
    where
        F: Future<Output = RedisResult<T>>,
    {
        if !self.health.admit() {
            return Err(Failure::Unavailable(
                "it failed recently; retrying shortly".to_owned(),
            ));
        }
        self.probe(op, request).await
    }

    /// Runs one request under the timeout, even while Redis is known to be down; records the
    /// outcome so the next requests know whether to try.
    async fn probe<T, F>(&self, op: &'static str, request: F) -> Result<T, Failure>
    where
        F: Future<Output = RedisResult<T>>,
    {
        let failure = match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => {
                self.health.up(&self.host);
                return Ok(value);
            }
            // Redis answered, about the value: the server is fine.
            Ok(Err(e)) if is_counter_error(&e) => {
                self.health.up(&self.host);
                return Err(Failure::Rejected(e));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {:?}", self.timeout),
        };
        self.health.down(&self.host, op, &failure);
        Err(Failure::Unavailable(failure))
    }

    fn unavailable(&self, op: &str, key: &str, detail: &str) -> Error {
        Error::unavailable(
            UNAVAILABLE,
            format!(
                "cache {op} of {key} failed: Redis at {} is unavailable: {detail}",
                self.host
            ),
        )
    }

    /// Maps a write failure: counter errors to `FailedPrecondition`, the rest to `Unavailable`.
    fn write_error(&self, op: &str, key: &str, failure: Failure) -> Error {
        match failure {
            Failure::Unavailable(detail) => self.unavailable(op, key, &detail),
            Failure::Rejected(e) if e.to_string().contains("overflow") => Error::new(
                ErrorKind::FailedPrecondition,
                "CACHE_COUNTER_OVERFLOW",
                format!("incrementing {key} would overflow"),
            ),
            Failure::Rejected(_) => Error::new(
                ErrorKind::FailedPrecondition,
                "CACHE_NOT_AN_INTEGER",
                format!("the value at {key} is not an integer counter"),
            ),
        }
    }
}

/// Why a request got no usable answer.
enum Failure {
    /// No answer: connection refused or lost, timeout, server loading or read-only, and so on.
    Unavailable(String),
    /// Redis answered that the value cannot be used as a counter.
    Rejected(RedisError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unavailable(detail) => f.write_str(detail),
            Failure::Rejected(e) => e.fmt(f),
        }
    }
}

/// Whether Redis refused an `INCRBY` because of the stored value (not a fault of Redis).
fn is_counter_error(e: &RedisError) -> bool {
    let Some(errors) = e.clone().into_server_errors() else {
        return false;
    };
    errors.iter().any(|(_, error)| {
        let details = error.details().unwrap_or_default();
        error.code() == "WRONGTYPE"
            || details.contains("not an integer")
            || details.contains("would overflow")
    })
}

fn unreachable_at_start(host: &str, detail: &str) -> Error {
    Error::unavailable(
        UNAVAILABLE,
        format!("Redis at {host} is unreachable: {detail}"),
    )
}

/// The TTL in whole milliseconds, rounded up so a sub-millisecond TTL still expires later.
fn ttl_millis(ttl: Duration, key: &str) -> Result<u64> {
    if ttl.is_zero() {
        return Err(Error::invalid_argument(
            "CACHE_INVALID_TTL",
            format!("the TTL for {key} must be greater than zero"),
        ));
    }
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .ok()
        .filter(|&ms| ms <= MAX_TTL_MS)
        .ok_or_else(|| {
            Error::invalid_argument(
                "CACHE_INVALID_TTL",
                format!("the TTL for {key} is too large"),
            )
        })
}

/// Whether Redis is answering: while it is not, one request per [`FAIL_FAST_FOR`] probes it
/// (so the connection manager reconnects) and the others fail at once instead of each waiting
/// out the timeout. Also rate-limits the outage warning.
#[derive(Default)]
struct Health {
    down: AtomicBool,
    next_probe: Mutex<Option<Instant>>,
    last_warning: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl Health {
    /// Whether a request may go to Redis now.
    fn admit(&self) -> bool {
        // The healthy path is one relaxed load, no lock.
        if !self.down.load(Ordering::Relaxed) {
            return true;
        }
        let now = Instant::now();
        let mut next = self.next_probe.lock();
        if next.is_some_and(|at| now < at) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *next = Some(now + FAIL_FAST_FOR);
        true
    }

    fn up(&self, host: &str) {
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            *self.next_probe.lock() = None;
            tracing::info!(host, "Redis cache is reachable again");
        }
    }

    fn down(&self, host: &str, op: &str, error: &str) {
        let now = Instant::now();
        *self.next_probe.lock() = Some(now + FAIL_FAST_FOR);
        self.down.store(true, Ordering::Relaxed);
        {
            let mut last = self.last_warning.lock();
            if last.is_some_and(|at| now.duration_since(at) < WARN_EVERY) {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            *last = Some(now);
        }
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        tracing::warn!(
            host,
            op,
            error,
            suppressed,
            "Redis cache unavailable; reads are misses and writes are skipped"
        );
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("GET").arg(self.key(key)).clone();
        // Any failure is a miss: the caller falls back to the database.
        Ok(self
            .run("get", cmd.query_async::<Option<Vec<u8>>>(&mut conn))
            .await
            .unwrap_or_default())
    }

    async fn set(&self, kind: CacheKind, key: &str, value: Vec<u8>) -> Result<()> {
        let ms = ttl_millis(kind.ttl(), key)?;
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ms)
            .clone();
        self.run("set", cmd.exec_async(&mut conn))
            .await
            .map_err(|f| self.write_error("set", key, f))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("DEL").arg(self.key(key)).clone();
        self.run("delete", cmd.exec_async(&mut conn))
            .await
            .map_err(|f| self.write_error("delete", key, f))
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool> {
        let ms = ttl_millis(ttl, key)?;
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .clone();
        // `OK` when stored, nil when the key exists.
        self.run(
            "set_if_absent",
            cmd.query_async::<Option<String>>(&mut conn),
        )
        .await
        .map(|reply| reply.is_some())
        .map_err(|f| self.write_error("set_if_absent", key, f))
    }

    async fn set_if_newer(
        &self,
        kind: CacheKind,
        key: &str,
        version: u64,
        value: Vec<u8>,
    ) -> Result<bool> {
        let ms = ttl_millis(kind.ttl(), key)?;
        let mut conn = self.conn.clone();
        // Compare and set in one atomic step on the server: the version prefix is fixed-width
        // decimal, so the script reads it without decoding the payload.
        let cmd = ::redis::cmd("EVAL")
            .arg(SET_IF_NEWER)
            .arg(1)
            .arg(self.key(key))
            .arg(version.to_string())
            .arg(crate::versioned::encode(version, &value))
            .arg(ms)
            .clone();
        self.run("set_if_newer", cmd.query_async::<i64>(&mut conn))
            .await
            .map(|stored| stored == 1)
            .map_err(|f| self.write_error("set_if_newer", key, f))
    }

    async fn throttle(&self, key: &str, per_sec: u32, burst: u32) -> Result<Option<Duration>> {
        let interval = 1_000_000 / u64::from(per_sec.max(1));
        let tolerance = interval * u64::from(burst.max(1) - 1);
        let mut conn = self.conn.clone();
        // The server's clock (TIME), so API replicas with skewed clocks share one limit.
        let cmd = ::redis::cmd("EVAL")
            .arg(THROTTLE)
            .arg(1)
            .arg(self.key(key))
            .arg(interval)
            .arg(tolerance)
            .clone();
        self.run("throttle", cmd.query_async::<i64>(&mut conn))
            .await
            .map(|wait| (wait > 0).then(|| Duration::from_micros(wait as u64)))
            .map_err(|f| self.write_error("throttle", key, f))
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64> {
        let ms = ttl_millis(ttl, key)?;
        let full = self.key(key);
        let mut conn = self.conn.clone();
        // One atomic round trip: create the counter at 0 with its TTL only if it is absent,
        // then add; an existing counter keeps its expiry, as INCRBY leaves the TTL alone.
        let pipe = ::redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&full)
            .arg(0)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .ignore()
            .cmd("INCRBY")
            .arg(&full)
            .arg(by)
            .clone();
        self.run("incr", pipe.query_async::<(i64,)>(&mut conn))
            .await
            .map(|(value,)| value)
            .map_err(|f| self.write_error("incr", key, f))
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("PING");
        // Always asks Redis, so `/ready` sees the real state and drives the reconnection.
        self.probe("ping", cmd.query_async::<String>(&mut conn))
            .await
            .map(drop)
            .map_err(|failure| {
                Error::unavailable(
                    UNAVAILABLE,
                    format!("Redis at {} is unavailable: {failure}", self.host),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_rounded_up_to_milliseconds_and_bounded() {
        assert_eq!(ttl_millis(Duration::from_secs(60), "k").unwrap(), 60_000);
        assert_eq!(ttl_millis(Duration::from_micros(1), "k").unwrap(), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1_001), "k").unwrap(), 2);
        for bad in [Duration::ZERO, Duration::MAX] {
            let err = ttl_millis(bad, "k").unwrap_err();
            assert_eq!(err.reason, "CACHE_INVALID_TTL", "{bad:?}");
        }
    }

    #[test]
    fn while_down_one_request_per_window_probes_redis() {
        let health = Health::default();
        assert!(
            health.admit() && health.admit(),
            "healthy: every request goes"
        );
        health.down("h:1", "get", "refused");
        assert!(!health.admit(), "just failed: fail fast");
        *health.next_probe.lock() = Some(Instant::now() - Duration::from_millis(1));
        assert!(health.admit(), "window over: one probe");
        assert!(!health.admit(), "the others still fail fast");
        health.up("h:1");
        assert!(health.admit() && health.admit(), "recovered");
    }

    #[tokio::test]
    async fn urls_are_checked_and_never_echoed() {
        let cache = RedisCache::connect_lazy("redis://:pw-secret@10.0.0.7:6380/3").unwrap();
        assert_eq!(cache.host(), "10.0.0.7:6380");
        assert_eq!(cache.prefix(), "voxbin:");
        assert!(!format!("{cache:?}").contains("pw-secret"));
        for bad in [
            "",
            "pw-secret",
            "http://:pw-secret@host/",
            "redis://:pw-secret@host/x",
        ] {
            let err = RedisCache::connect_lazy(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument, "{bad}");
            assert!(!err.message.contains("pw-secret"), "{}", err.message);
        }
    }
}
