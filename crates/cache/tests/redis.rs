//! The Redis cache against a real Redis: the memory cache's behaviours, TTLs as Redis stores
//! them, and what happens when Redis is unreachable, silent, or goes away and comes back.
//!
//! Tests that need a server read `VOXBIN_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379/15`)
//! and are skipped with a note when it is unset. Each test uses its own key prefix and removes
//! its keys at the end; nothing is flushed. Outage tests that need no server always run.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use std::net::TcpListener;

use std::sync::Arc;
use std::time::{Duration, Instant};
use voxbin_cache::{Cache, CacheExt, CacheKind, RedisCache, RedisOptions};
use voxbin_core::ErrorKind;
use voxbin_netfault::Relay;

const MS: Duration = Duration::from_millis(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The test server's URL, or `None` (with a note) when the test should be skipped.
fn redis_url(test: &str) -> Option<String> {
    match std::env::var("VOXBIN_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("VOXBIN_TEST_REDIS_URL not set; {test} skipped");
            None
        }
    }
}

/// A key prefix no other test (or run) shares.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("voxbin-test:{test}:{}:{nanos}:", std::process::id())
}

fn options(prefix: &str) -> RedisOptions {
    RedisOptions {
        prefix: prefix.to_owned(),
        ..RedisOptions::default()
    }
}

/// A cache on the test server with a fresh prefix, and a raw connection to inspect Redis.
struct Fixture {
    cache: RedisCache,
    raw: redis::aio::MultiplexedConnection,
    prefix: String,
}

impl Fixture {
    async fn new(test: &str) -> Option<Fixture> {
        let url = redis_url(test)?;
        let prefix = unique_prefix(test);
        let cache = RedisCache::connect_with(&url, options(&prefix))
            .await
            .expect("the test Redis is reachable");
        let raw = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        Some(Fixture { cache, raw, prefix })
    }

    /// The remaining TTL of `key` as Redis reports it (-2: no key, -1: no expiry).
    async fn pttl(&mut self, key: &str) -> i64 {
        self.raw
            .pttl(format!("{}{key}", self.prefix))
            .await
            .unwrap()
    }

    /// Deletes every key under this fixture's prefix.
    async fn cleanup(mut self) {
        let keys: Vec<String> = {
            let mut iter = self
                .raw
                .scan_match::<_, String>(format!("{}*", self.prefix))
                .await
                .unwrap();
            let mut keys = Vec::new();
            while let Some(key) = futures_next(&mut iter).await {
                keys.push(key);
            }
            keys
        };
        if !keys.is_empty() {
            let _: () = self.raw.del(keys).await.unwrap();
        }
    }
}

async fn futures_next<T>(iter: &mut redis::AsyncIter<'_, T>) -> Option<T>
where
    T: redis::FromRedisValue + Unpin + Send + 'static,
{
    iter.next_item().await.transpose().unwrap()
}

/// Asserts that `pttl` is within `slack` below the TTL of `kind`.
fn assert_ttl(pttl: i64, ttl: Duration, what: &str) {
    let ttl = i64::try_from(ttl.as_millis()).unwrap();
    assert!(
        pttl <= ttl && pttl > ttl - 2_000,
        "{what}: PTTL {pttl} ms, expected just under {ttl} ms"
    );
}

#[tokio::test]
async fn get_set_delete() {
    let Some(f) = Fixture::new("get_set_delete").await else {
        return;
    };
    let cache = &f.cache;
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
    // Values are bytes, not text.
    let binary = vec![0, 255, 10, 13, 0];
    cache
        .set(CacheKind::Config, "bin", binary.clone())
        .await
        .unwrap();
    assert_eq!(cache.get("bin").await.unwrap(), Some(binary));
    f.cleanup().await;
}

#[tokio::test]
async fn versioned_values_only_move_forward_and_keep_their_ttl() {
    let Some(mut f) = Fixture::new("versioned").await else {
        return;
    };
    let cache = &f.cache;
    assert!(cache
        .set_versioned_json(CacheKind::Flow, "v", 5, &"five")
        .await
        .unwrap());
    assert!(!cache
        .set_versioned_json(CacheKind::Flow, "v", 4, &"four")
        .await
        .unwrap());
    assert!(!cache
        .set_versioned_json(CacheKind::Flow, "v", 5, &"five again")
        .await
        .unwrap());
    let got: Option<(u64, String)> = cache.get_versioned_json("v").await.unwrap();
    assert_eq!(got, Some((5, "five".to_owned())));
    assert!(cache
        .set_versioned_json(CacheKind::Flow, "v", 6, &"six")
        .await
        .unwrap());
    let got: Option<(u64, String)> = cache.get_versioned_json("v").await.unwrap();
    assert_eq!(got, Some((6, "six".to_owned())));
    let ttl = f.pttl("v").await;
    assert!(
        ttl > 0 && ttl <= CacheKind::Flow.ttl().as_millis() as i64,
        "{ttl}"
    );
    // A plain value there is replaced, and reads as a miss until then.
    f.cache
        .set(CacheKind::Flow, "p", b"plain".to_vec())
        .await
        .unwrap();
    let got: Option<(u64, String)> = f.cache.get_versioned_json("p").await.unwrap();
    assert_eq!(got, None);
    assert!(f
        .cache
        .set_versioned_json(CacheKind::Flow, "p", 0, &"zero")
        .await
        .unwrap());
    f.cleanup().await;
}

#[tokio::test]
async fn throttle_is_shared_by_two_clients_of_one_redis() {
    let Some(f) = Fixture::new("throttle").await else {
        return;
    };
    let url = redis_url("throttle").unwrap();
    let other = RedisCache::connect_with(&url, options(&f.prefix))
        .await
        .unwrap();
    // A burst of 4 at 1/s, taken alternately by two clients: the fifth is refused for both.
    for i in 0..4 {
        let c: &RedisCache = if i % 2 == 0 { &f.cache } else { &other };
        assert_eq!(c.throttle("rl", 1, 4).await.unwrap(), None, "request {i}");
    }
    let wait = other.throttle("rl", 1, 4).await.unwrap().unwrap();
    assert!(wait <= Duration::from_secs(1), "{wait:?}");
    assert!(f.cache.throttle("rl", 1, 4).await.unwrap().is_some());
    assert_eq!(f.cache.throttle("elsewhere", 1, 4).await.unwrap(), None);
    f.cleanup().await;
}

#[tokio::test]
async fn each_kind_sets_its_ttl_on_the_key() {
    let Some(mut f) = Fixture::new("each_kind_ttl").await else {
        return;
    };
    let kinds = [
        CacheKind::Session,
        CacheKind::Call,
        CacheKind::AgentStatus,
        CacheKind::Config,
        CacheKind::QueueStats,
        CacheKind::Flow,
        CacheKind::Other(secs(42)),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let key = format!("k{i}");
        f.cache.set(kind, &key, b"v".to_vec()).await.unwrap();
        let pttl = f.pttl(&key).await;
        assert_ttl(pttl, kind.ttl(), &format!("{kind:?}"));
    }
    // Overwriting restarts the TTL with the new kind.
    f.cache
        .set(CacheKind::QueueStats, "k1", b"v".to_vec())
        .await
        .unwrap();
    let pttl = f.pttl("k1").await;
    assert_ttl(pttl, CacheKind::QueueStats.ttl(), "overwrite");
    f.cleanup().await;
}

#[tokio::test]
async fn keys_live_under_the_prefix() {
    let Some(mut f) = Fixture::new("prefix").await else {
        return;
    };
    let url = redis_url("prefix").unwrap();
    f.cache
        .set(CacheKind::Config, "shared", b"mine".to_vec())
        .await
        .unwrap();
    let raw: Option<Vec<u8>> = f.raw.get(format!("{}shared", f.prefix)).await.unwrap();
    assert_eq!(raw, Some(b"mine".to_vec()));
    let other = RedisCache::connect_with(&url, options(&unique_prefix("prefix-other")))
        .await
        .unwrap();
    assert_eq!(other.get("shared").await.unwrap(), None);
    assert_eq!(f.cache.prefix(), f.prefix);
    let default = RedisCache::connect_lazy(&url).unwrap();
    assert_eq!(default.prefix(), "voxbin:");
    f.cleanup().await;
}

#[tokio::test]
async fn value_expires_after_a_short_ttl() {
    let Some(f) = Fixture::new("expiry").await else {
        return;
    };
    let short = CacheKind::Other(MS * 300);
    f.cache.set(short, "k", b"v".to_vec()).await.unwrap();
    assert_eq!(f.cache.get("k").await.unwrap(), Some(b"v".to_vec()));
    tokio::time::sleep(MS * 450).await;
    assert_eq!(f.cache.get("k").await.unwrap(), None);
    // A sub-millisecond TTL is rounded up, not refused.
    f.cache
        .set(CacheKind::Other(Duration::from_micros(10)), "tiny", vec![])
        .await
        .unwrap();
    f.cleanup().await;
}

#[tokio::test]
async fn zero_and_huge_ttls_are_refused() {
    let Some(f) = Fixture::new("bad_ttl").await else {
        return;
    };
    let cache = &f.cache;
    let kind = ErrorKind::InvalidArgument;
    let zero = Duration::ZERO;
    let err = cache
        .set(CacheKind::Other(zero), "k", vec![])
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.reason.as_str()), (kind, "CACHE_INVALID_TTL"));
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
    assert_eq!(cache.get("k").await.unwrap(), None, "nothing was stored");
    f.cleanup().await;
}

#[tokio::test]
async fn set_if_absent_locks_until_expiry() {
    let Some(mut f) = Fixture::new("lock").await else {
        return;
    };
    let ttl = MS * 400;
    assert!(f
        .cache
        .set_if_absent("lock", b"a".to_vec(), ttl)
        .await
        .unwrap());
    let pttl = f.pttl("lock").await;
    assert!(pttl > 0 && pttl <= 400, "PTTL {pttl}");
    assert!(!f
        .cache
        .set_if_absent("lock", b"b".to_vec(), ttl)
        .await
        .unwrap());
    assert_eq!(f.cache.get("lock").await.unwrap(), Some(b"a".to_vec()));
    tokio::time::sleep(MS * 550).await;
    assert!(f
        .cache
        .set_if_absent("lock", b"c".to_vec(), secs(30))
        .await
        .unwrap());
    assert_eq!(f.cache.get("lock").await.unwrap(), Some(b"c".to_vec()));
    f.cache.delete("lock").await.unwrap();
    assert!(f
        .cache
        .set_if_absent("lock", b"d".to_vec(), secs(30))
        .await
        .unwrap());
    f.cleanup().await;
}

#[tokio::test]
async fn incr_creates_with_ttl_counts_and_keeps_the_first_expiry() {
    let Some(mut f) = Fixture::new("incr").await else {
        return;
    };
    assert_eq!(f.cache.incr("rate", 1, secs(60)).await.unwrap(), 1);
    assert_ttl(f.pttl("rate").await, secs(60), "new counter");
    // Later increments do not extend the window, whatever TTL they pass.
    assert_eq!(f.cache.incr("rate", 1, secs(600)).await.unwrap(), 2);
    assert_eq!(f.cache.incr("rate", 5, secs(600)).await.unwrap(), 7);
    assert_eq!(f.cache.incr("rate", -2, secs(600)).await.unwrap(), 5);
    assert_ttl(f.pttl("rate").await, secs(60), "existing counter");
    assert_eq!(f.cache.get("rate").await.unwrap(), Some(b"5".to_vec()));

    assert_eq!(f.cache.incr("short", 3, MS * 300).await.unwrap(), 3);
    tokio::time::sleep(MS * 450).await;
    assert_eq!(f.cache.get("short").await.unwrap(), None);
    assert_eq!(f.cache.incr("short", 1, MS * 300).await.unwrap(), 1);
    f.cleanup().await;
}

#[tokio::test]
async fn incr_refuses_non_counters_and_overflow() {
    let Some(mut f) = Fixture::new("incr_errors").await else {
        return;
    };
    f.cache
        .set(CacheKind::Config, "text", b"abc".to_vec())
        .await
        .unwrap();
    let err = f.cache.incr("text", 1, secs(60)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.reason.as_str()),
        (ErrorKind::FailedPrecondition, "CACHE_NOT_AN_INTEGER")
    );
    assert_eq!(f.cache.get("text").await.unwrap(), Some(b"abc".to_vec()));

    f.cache.incr("big", i64::MAX, secs(60)).await.unwrap();
    let err = f.cache.incr("big", 1, secs(60)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.reason.as_str()),
        (ErrorKind::FailedPrecondition, "CACHE_COUNTER_OVERFLOW")
    );
    assert_eq!(
        f.cache.get("big").await.unwrap(),
        Some(i64::MAX.to_string().into_bytes())
    );

    // A key of another Redis type is not a counter either.
    let _: () = f
        .raw
        .hset(format!("{}hash", f.prefix), "field", 1)
        .await
        .unwrap();
    let err = f.cache.incr("hash", 1, secs(60)).await.unwrap_err();
    assert_eq!(err.reason, "CACHE_NOT_AN_INTEGER");
    f.cleanup().await;
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Flow {
    id: String,
    actions: Vec<String>,
}

#[tokio::test]
async fn json_helpers_work_through_dyn_cache() {
    let Some(f) = Fixture::new("json").await else {
        return;
    };
    let cache: Arc<dyn Cache> = Arc::new(f.cache.clone());
    let flow = Flow {
        id: "f1".into(),
        actions: vec!["answer".into(), "talk".into()],
    };
    cache
        .set_json(CacheKind::Flow, "flow:f1", &flow)
        .await
        .unwrap();
    assert_eq!(cache.get_json::<Flow>("flow:f1").await.unwrap(), Some(flow));
    assert_eq!(cache.get_json::<Flow>("flow:missing").await.unwrap(), None);
    // A value that no longer decodes is a miss, and is dropped.
    cache
        .set(CacheKind::Flow, "flow:old", b"{\"id\":1}".to_vec())
        .await
        .unwrap();
    assert_eq!(cache.get_json::<Flow>("flow:old").await.unwrap(), None);
    assert_eq!(cache.get("flow:old").await.unwrap(), None);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_set_get_and_incr_from_eight_tasks() {
    let Some(f) = Fixture::new("concurrent").await else {
        return;
    };
    let cache: Arc<dyn Cache> = Arc::new(f.cache.clone());
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                for i in 0..250 {
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
    assert_eq!(cache.get("shared").await.unwrap(), Some(b"2000".to_vec()));
    assert_eq!(cache.get("t7:k249").await.unwrap(), Some(b"7-249".to_vec()));
    f.cleanup().await;
}

/// A local port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Asserts every write fails with `Unavailable` and `get` misses, each within 1 s.
async fn assert_degrades(cache: &RedisCache) {
    let started = Instant::now();
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(
        started.elapsed() < secs(1),
        "get took {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let err = cache.ping().await.unwrap_err();
    assert!(
        started.elapsed() < secs(1),
        "ping took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (err.kind, err.reason.as_str()),
        (ErrorKind::Unavailable, "CACHE_UNAVAILABLE")
    );
    let kind = |r: voxbin_core::Result<()>| r.unwrap_err().kind;
    assert_eq!(
        kind(cache.set(CacheKind::Config, "k", vec![1]).await),
        ErrorKind::Unavailable
    );
    assert_eq!(kind(cache.delete("k").await), ErrorKind::Unavailable);
    assert_eq!(
        cache
            .set_if_absent("k", vec![1], secs(1))
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Unavailable
    );
    assert_eq!(
        cache.incr("k", 1, secs(1)).await.unwrap_err().kind,
        ErrorKind::Unavailable
    );
    // Through the JSON helpers too: a miss, not an error.
    assert_eq!(cache.get_json::<u32>("k").await.unwrap(), None);
}

#[tokio::test]
async fn unreachable_redis_is_a_quick_miss_and_fails_ping() {
    let port = closed_port();
    let url = format!("redis://:s3cret@127.0.0.1:{port}/15");
    let cache = RedisCache::connect_lazy(&url).unwrap();
    assert_eq!(cache.host(), format!("127.0.0.1:{port}"));
    assert!(!format!("{cache:?}").contains("s3cret"));
    for _ in 0..3 {
        assert_degrades(&cache).await;
    }
}

#[tokio::test]
async fn after_a_failure_requests_fail_fast_instead_of_waiting() {
    // Accepts connections and never answers: every request that reaches it waits the timeout.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let cache = RedisCache::connect_lazy(&format!("redis://127.0.0.1:{port}")).unwrap();
    let started = Instant::now();
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(started.elapsed() >= MS * 400, "the first request waited");
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(cache.get("k").await.unwrap(), None);
        let err = cache.set(CacheKind::Config, "k", vec![]).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable);
    }
    assert!(
        started.elapsed() < MS * 200,
        "later requests fail fast: {:?}",
        started.elapsed()
    );
    // `ping` always asks, so `/ready` reports the real state.
    let started = Instant::now();
    assert!(cache.ping().await.is_err());
    assert!(started.elapsed() >= MS * 400, "ping waited for Redis");
}

#[tokio::test]
async fn connect_fails_naming_the_host_but_not_the_password() {
    let port = closed_port();
    let url = format!("redis://user:s3cret@127.0.0.1:{port}/15");
    let started = Instant::now();
    let err = RedisCache::connect(&url).await.unwrap_err();
    assert!(started.elapsed() < secs(3), "took {:?}", started.elapsed());
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(
        err.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.message
    );
    assert!(!err.message.contains("s3cret"), "{}", err.message);

    let err = RedisCache::connect_lazy("http://:s3cret@example.com").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(!err.message.contains("s3cret"), "{}", err.message);
}

#[tokio::test]
async fn silent_redis_cannot_hang_a_request() {
    // Accepts connections and never answers, like a wedged server or a black-holed route.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let cache = RedisCache::connect_lazy(&format!("redis://127.0.0.1:{port}")).unwrap();
    assert_degrades(&cache).await;
    let err = RedisCache::connect_with(
        &format!("redis://127.0.0.1:{port}"),
        RedisOptions {
            connect_timeout: MS * 300,
            ..RedisOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
}

/// `url` with its `host[:port]` replaced by `authority`, credentials and database kept.
fn with_authority(url: &str, authority: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("scheme://");
    let (userinfo, hostpath) = match rest.rsplit_once('@') {
        Some((user, hostpath)) => (format!("{user}@"), hostpath),
        None => (String::new(), rest),
    };
    let (hostport, path) = match hostpath.find('/') {
        Some(i) => hostpath.split_at(i),
        None => (hostpath, ""),
    };
    let target = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:6379")
    };
    (format!("{scheme}://{userinfo}{authority}{path}"), target)
}

/// Pings until Redis answers; panics after `within`.
async fn wait_until_ready(cache: &RedisCache, within: Duration) {
    let deadline = Instant::now() + within;
    while cache.ping().await.is_err() {
        assert!(Instant::now() < deadline, "Redis never came back");
        tokio::time::sleep(MS * 50).await;
    }
}

#[tokio::test]
async fn lazy_cache_starts_while_redis_is_down_and_recovers_from_outages() {
    let Some(f) = Fixture::new("outage").await else {
        return;
    };
    let url = redis_url("outage").unwrap();
    let (_, target) = with_authority(&url, "unused");
    let relay = Relay::start(target, false);
    let (relayed, _) = with_authority(&url, &format!("127.0.0.1:{}", relay.port));

    // Redis is down at start: the cache still starts, and degrades.
    let cache = RedisCache::connect_lazy_with(&relayed, options(&f.prefix)).unwrap();
    assert!(RedisCache::connect(&relayed).await.is_err());
    assert_degrades(&cache).await;

    // Redis comes up: the same cache connects on its own.
    relay.restore();
    wait_until_ready(&cache, secs(5)).await;
    cache
        .set(CacheKind::Config, "k", b"v".to_vec())
        .await
        .unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));

    // Redis goes away mid-flight: misses and errors, quickly.
    relay.cut();
    assert_degrades(&cache).await;

    // And comes back: reads alone bring the cache back (no `ping` needed), and the value
    // written before the outage is still there.
    relay.restore();
    let deadline = Instant::now() + secs(5);
    while cache.get("k").await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "reads never recovered");
        tokio::time::sleep(MS * 50).await;
    }
    assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));
    cache.ping().await.unwrap();
    assert_eq!(cache.incr("n", 1, secs(60)).await.unwrap(), 1);
    f.cleanup().await;
}
