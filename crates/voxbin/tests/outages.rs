//! The distributed shape through engine outages, with API traffic running:
//! - RabbitMQ stopped and started again (a private node, really restarted): every process
//!   reconnects by itself within 10 s of the broker being back and `/ready` recovers; while it
//!   is down requests fail fast with 503, none hangs;
//! - Redis killed: every request keeps succeeding (reads from the database, writes without the
//!   cache) and `/ready` stays 200 reporting the cache as degraded;
//! - the read replica unreachable: reads fall back to the writer and keep succeeding.

mod support;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::api::Client;
use support::engines::{self, PrivateBroker, PrivateRedis, Vhost};
use support::{get, Server};
use voxbin_netfault::Relay;

/// Every backend service role.
const BACKEND_ROLES: [&str; 8] = [
    "customer",
    "agent",
    "flow",
    "number",
    "tag",
    "campaign",
    "registrar",
    "route",
];

/// One request as a client saw it.
#[derive(Clone, Debug)]
struct Seen {
    what: String,
    sent: Instant,
    took: Duration,
    status: u16,
    raw: String,
}

/// Runs `step` in a loop on a thread until stopped; every request it makes is recorded.
struct Traffic {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Traffic {
    fn start(c: Client, tag: &str, full_cycle: bool) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, log, tag) = (stop.clone(), seen.clone(), tag.to_string());
        let thread = std::thread::spawn(move || {
            let send = |method: &str, path: &str, body: Option<Value>| {
                let sent = Instant::now();
                let r = c.call(method, path, body);
                log.lock().unwrap().push(Seen {
                    what: format!("{method} {path}"),
                    sent,
                    took: sent.elapsed(),
                    status: r.status,
                    raw: r.raw.clone(),
                });
                r
            };
            let mut n = 0;
            while !s.load(Ordering::SeqCst) {
                n += 1;
                let name = format!("{tag}-{n}");
                let body = json!({"name": name, "detail": "outage traffic",
                                  "actions": [{"type": "answer"}, {"type": "hangup"}]});
                let made = send("POST", "/v1.0/flows", Some(body.clone()));
                let Some(id) = made.body["id"].as_str().map(str::to_string) else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let path = format!("/v1.0/flows/{id}");
                send("GET", &path, None);
                if full_cycle {
                    let mut renamed = body.clone();
                    renamed["name"] = json!(format!("{name}-renamed"));
                    let put = send("PUT", &path, Some(renamed));
                    let got = send("GET", &path, None);
                    if put.status == 200 && got.status == 200 {
                        assert_eq!(
                            got.body["name"],
                            json!(format!("{name}-renamed")),
                            "a read after an update saw an older flow: {}",
                            got.raw
                        );
                    }
                    send("GET", "/v1.0/flows?page_size=5", None);
                    send("DELETE", &path, None);
                    let gone = send("GET", &path, None);
                    // Recorded as a failure unless it is the expected 404.
                    if gone.status == 404 {
                        let mut log = log.lock().unwrap();
                        log.last_mut().unwrap().status = 200;
                    }
                }
            }
        });
        Traffic {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Stops the traffic and returns what it saw.
    fn finish(mut self) -> Vec<Seen> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("traffic thread panicked");
        }
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Waits until `more` further requests were answered.
    fn wait_more(&self, more: usize) {
        let target = self.count() + more;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.count() < target {
            assert!(
                Instant::now() < deadline,
                "traffic stalled at {}",
                self.count()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn failures(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| !(200..300).contains(&s.status))
        .collect()
}

/// Backend (all service roles) and api processes over the given engines, the bootstrap key.
fn platform(db: &str, bus: &str, cache: &str, extra: &[&str]) -> (Server, Server, String) {
    let engine_args = ["--database", db, "--bus", bus, "--cache", cache];
    let mut backend_args = engine_args.to_vec();
    for role in BACKEND_ROLES {
        backend_args.extend(["--role", role]);
    }
    backend_args.extend_from_slice(extra);
    let backend = Server::start(&backend_args);
    let (key, _, _) = backend.bootstrap();
    let mut api_args = engine_args.to_vec();
    api_args.extend(["--role", "api"]);
    api_args.extend([
        "--set",
        "api.rate_limit_ip_per_sec=100000",
        "--set",
        "api.rate_limit_ip_burst=100000",
    ]);
    let api = Server::start(&api_args);
    (backend, api, key)
}

#[test]
fn rabbitmq_restarted_mid_traffic_processes_reconnect_within_ten_seconds() {
    let Some((db, _, cache)) = engines::required("the RabbitMQ restart test") else {
        return;
    };
    let pid = std::process::id();
    let broker = PrivateBroker::start("restart");
    let db = engines::database(&db, &format!("voxbin_e2e_bus_restart_{pid}"));
    let (backend, api, key) = platform(&db, &broker.url(), &cache, &[]);
    let c = Client::with_key(&api.api, &key);
    let traffic = Traffic::start(c.clone(), "restart", false);
    traffic.wait_more(50);

    let stopped_at = Instant::now();
    broker.stop();
    for s in [&backend, &api] {
        let body = s.wait_ready_status(503, Duration::from_secs(20));
        assert!(!body.contains("\"bus\":\"ok\""), "{body}");
    }
    // Traffic while the broker is away fails fast instead of hanging.
    std::thread::sleep(Duration::from_secs(1));
    broker.boot();
    let up = Instant::now();
    for s in [&backend, &api] {
        s.wait_ready_status(200, Duration::from_secs(30));
    }
    let recovered = up.elapsed();
    eprintln!(
        "rabbitmq restart: broker away for {:?}, both processes ready {recovered:?} after it was back",
        up - stopped_at
    );
    assert!(
        recovered <= Duration::from_secs(10),
        "processes took {recovered:?} to reconnect"
    );
    let ready_at = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    traffic.wait_more(100);
    let seen = traffic.finish();

    let after: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.sent >= ready_at + Duration::from_millis(500))
        .collect();
    assert!(after.len() >= 50, "{} requests after recovery", after.len());
    let failed_after = failures(&after.iter().map(|s| (*s).clone()).collect::<Vec<_>>())
        .into_iter()
        .map(|s| format!("{} -> {}: {}", s.what, s.status, s.raw))
        .collect::<Vec<_>>();
    assert!(
        failed_after.is_empty(),
        "requests failed after recovery: {failed_after:#?}"
    );
    for s in failures(&seen) {
        assert_eq!(s.status, 503, "{} during the outage: {}", s.what, s.raw);
        assert!(
            s.took < Duration::from_secs(15),
            "{} hung for {:?}",
            s.what,
            s.took
        );
    }
    // The data written before the restart is still there.
    let listed = c.get("/v1.0/flows?page_size=3");
    assert_eq!(listed.status, 200, "{}", listed.raw);
    assert!(!listed.body["result"].as_array().unwrap().is_empty());
}

#[test]
fn redis_killed_mid_traffic_every_request_still_succeeds() {
    let Some((db, bus, _)) = engines::required("the Redis outage test") else {
        return;
    };
    let pid = std::process::id();
    let mut redis = PrivateRedis::start();
    let vhost = Vhost::create(&format!("voxbin-redis-outage-{pid}"));
    let db = engines::database(&db, &format!("voxbin_e2e_redis_outage_{pid}"));
    let (backend, api, key) = platform(&db, &vhost.url(&bus), &redis.url(), &[]);
    let c = Client::with_key(&api.api, &key);
    let traffic = Traffic::start(c.clone(), "redis", true);
    traffic.wait_more(60);

    redis.kill();
    traffic.wait_more(150);
    for s in [&backend, &api] {
        let body = s.wait_ready_status(200, Duration::from_secs(5));
        assert!(body.contains("\"status\":\"degraded\""), "{body}");
        assert!(!body.contains("\"cache\":\"ok\""), "{body}");
    }
    // Redis comes back empty (no persistence), as after a restart.
    redis.boot();
    for s in [&backend, &api] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, body) = get(&s.health, "/ready").unwrap();
            if body.contains("\"cache\":\"ok\"") {
                break;
            }
            assert!(Instant::now() < deadline, "cache never recovered: {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    traffic.wait_more(100);
    let seen = traffic.finish();
    let failed: Vec<String> = failures(&seen)
        .into_iter()
        .map(|s| format!("{} -> {}: {}", s.what, s.status, s.raw))
        .collect();
    eprintln!(
        "redis outage: {} requests, {} failed",
        seen.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "requests failed: {failed:#?}");
}

#[test]
fn replica_unreachable_reads_fall_back_to_the_writer() {
    let Some((db, bus, cache)) = engines::required("the replica outage test") else {
        return;
    };
    let Ok(replica) = std::env::var("VOXBIN_TEST_MYSQL_REPLICA_DSN") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI sets up the read replica (scripts/mariadb-replica)"
        );
        eprintln!("VOXBIN_TEST_MYSQL_REPLICA_DSN not set; skipped");
        return;
    };
    // A fresh database made on the writer, read back through a relay to the replica once
    // replication has brought it there.
    let pid = std::process::id();
    let dbname = format!("voxbin_e2e_replica_outage_{pid}");
    let rest = replica.strip_prefix("mysql://").expect("mysql:// DSN");
    let (userinfo, hostpath) = rest.split_once('@').expect("user@host");
    let (hostport, _) = hostpath.split_once('/').expect("host/db");
    engines::create_database_and_wait_for_replica(&db, &replica, &dbname);
    let relay = Relay::start(hostport.to_string(), true);
    let reader = format!("mysql://{userinfo}@127.0.0.1:{}/{dbname}", relay.port);
    let db = engines::database(&db, &dbname);
    let vhost = Vhost::create(&format!("voxbin-replica-outage-{pid}"));
    let readers = format!("database.readers={reader}");
    let (_backend, api, key) = platform(&db, &vhost.url(&bus), &cache, &["--set", &readers]);
    let c = Client::with_key(&api.api, &key);
    let traffic = Traffic::start(c.clone(), &format!("replica-{pid}"), true);
    traffic.wait_more(60);
    relay.cut();
    traffic.wait_more(200);
    relay.restore();
    traffic.wait_more(60);
    let seen = traffic.finish();
    let failed: Vec<String> = failures(&seen)
        .into_iter()
        .map(|s| format!("{} -> {}: {}", s.what, s.status, s.raw))
        .collect();
    assert!(failed.is_empty(), "requests failed: {failed:#?}");
}
