//! Failover in the distributed shape: every backend role runs as two processes next to the
//! api role, and while clients drive API traffic one replica of each role is killed with
//! SIGKILL in turn. Every request must still succeed (a request held by the dead replica is
//! redelivered by RabbitMQ to the other one within the RPC timeout), and the data must end up
//! exactly as in a run without kills: every acknowledged create exists once, with the name its
//! last acknowledged update gave it.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::api::Client;
use support::engines::{self, Vhost};
use support::{get, Server};

/// Every backend service role; each backend process runs all of them.
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
/// Client threads driving traffic.
const THREADS: usize = 4;
/// Operations each thread does at least (an operation: create, read back, rename, sometimes list).
const MIN_OPS_PER_THREAD: usize = 150;
/// The whole traffic phase must end within this.
const TRAFFIC_LIMIT: Duration = Duration::from_secs(45);

/// Stops the traffic threads when dropped, also when the test fails half-way.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// SIGKILL, then reap the process.
fn kill9(server: &mut Server) {
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(status.success(), "kill -9 {pid}");
    let _ = server.child.wait();
}

/// A flow body; `name` is unique per operation so a duplicate create shows.
fn flow(name: &str) -> Value {
    json!({
        "name": name,
        "detail": "failover traffic",
        "actions": [{"type": "answer"}, {"type": "hangup"}],
    })
}

/// What one traffic thread saw.
#[derive(Default)]
struct Outcome {
    requests: usize,
    /// Every request that did not answer 2xx (or answered the wrong thing), with the raw reply.
    failures: Vec<String>,
    /// Acknowledged creates: (id, operation name, the name the flow must have now).
    created: Vec<(String, String, String)>,
    /// Operation names whose create did not answer 2xx.
    unacknowledged_creates: Vec<String>,
    /// Requests that took over a second (most likely redelivered to the other replica).
    slow: Vec<(String, Duration)>,
    max_latency: Duration,
    /// When each request was sent and answered, to count those in flight across a kill.
    spans: Vec<(Instant, Instant)>,
}

impl Outcome {
    /// Sends one request; the body on a 2xx answer, `None` (and a recorded failure) otherwise.
    fn send(&mut self, c: &Client, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let started = Instant::now();
        let reply = c.call(method, path, body);
        let took = started.elapsed();
        self.spans.push((started, started + took));
        self.requests += 1;
        self.max_latency = self.max_latency.max(took);
        if took > Duration::from_secs(1) {
            self.slow.push((format!("{method} {path}"), took));
        }
        if (200..300).contains(&reply.status) {
            Some(reply.body)
        } else {
            self.failures.push(format!(
                "{method} {path} after {took:?}: status {}\n{}",
                reply.status, reply.raw
            ));
            None
        }
    }

    fn wrong(&mut self, what: String) {
        self.failures.push(what);
    }
}

/// One client's traffic until `stop`: create a flow, read it back, rename it, now and then list.
fn drive(c: Client, prefix: String, done: Arc<AtomicUsize>, stop: Arc<AtomicBool>) -> Outcome {
    let mut out = Outcome::default();
    let mut op = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let name = format!("{prefix}-op{op:04}");
        op += 1;
        let Some(created) = out.send(&c, "POST", "/v1.0/flows", Some(flow(&name))) else {
            out.unacknowledged_creates.push(name);
            done.fetch_add(1, Ordering::SeqCst);
            continue;
        };
        let Some(id) = created["id"].as_str().map(str::to_string) else {
            out.wrong(format!("create {name} answered without an id: {created}"));
            done.fetch_add(1, Ordering::SeqCst);
            continue;
        };
        out.created.push((id.clone(), name.clone(), name.clone()));
        let path = format!("/v1.0/flows/{id}");
        if let Some(read) = out.send(&c, "GET", &path, None) {
            if read["name"] != name {
                out.wrong(format!("read back {id}: expected name {name}, got {read}"));
            }
        }
        let renamed = format!("{name}-renamed");
        if let Some(updated) = out.send(&c, "PUT", &path, Some(flow(&renamed))) {
            if updated["name"] != renamed {
                out.wrong(format!(
                    "update {id}: expected name {renamed}, got {updated}"
                ));
            }
            out.created.last_mut().unwrap().2 = renamed;
        }
        if op.is_multiple_of(10) {
            if let Some(page) = out.send(&c, "GET", "/v1.0/flows?page_size=10", None) {
                if !page["result"].is_array() {
                    out.wrong(format!("list answered without a result array: {page}"));
                }
            }
        }
        done.fetch_add(1, Ordering::SeqCst);
    }
    out
}

/// Every live flow of the customer, through all pages.
fn list_all(c: &Client) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let path = if token.is_empty() {
            "/v1.0/flows?page_size=1000".to_string()
        } else {
            format!("/v1.0/flows?page_size=1000&page_token={token}")
        };
        let page = c.get(&path);
        assert_eq!(page.status, 200, "{}", page.raw);
        all.extend(page.body["result"].as_array().unwrap().iter().cloned());
        token = page.body["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if token.is_empty() {
            return all;
        }
    }
}

#[test]
fn killing_one_replica_of_each_service_mid_traffic_loses_no_request() {
    let Some((db, bus, cache)) = engines::required("the failover test") else {
        return;
    };
    let test_started = Instant::now();
    let pid = std::process::id();
    // One database and one vhost shared by all processes of this test; the `voxbin_e2e_`
    // prefix lets scripts/test drop leftover databases.
    let db = engines::database(&db, &format!("voxbin_e2e_failover_{pid}"));
    // Declared before the servers, so it is dropped after them.
    let vhost = Vhost::create(&format!("voxbin-failover-{pid}"));
    let bus = vhost.url(&bus);
    let engine_args = ["--database", &db, "--bus", &bus, "--cache", &cache];
    let mut backend_args = engine_args.to_vec();
    for role in BACKEND_ROLES {
        backend_args.extend(["--role", role]);
    }
    let mut api_args = engine_args.to_vec();
    // All clients come from 127.0.0.1: lift the per-IP limit (200/s) above what four busy
    // clients send, so every answer reflects the failover, not the rate limiter.
    api_args.extend([
        "--role",
        "api",
        "--set",
        "api.rate_limit_ip_per_sec=100000",
        "--set",
        "api.rate_limit_ip_burst=100000",
        "--set",
        "api.rate_limit_customer_per_sec=100000",
        "--set",
        "api.rate_limit_customer_burst=100000",
    ]);

    // A first: it migrates the database and makes the first customer.
    let mut a = Server::start(&backend_args);
    let (key, _, _) = a.bootstrap();
    let mut b = Server::start(&backend_args);
    let api = Server::start(&api_args);
    let (status, ready) = get(&api.health, "/ready").unwrap();
    assert_eq!(status, 200, "{ready}");
    let c = Client::with_key(&api.api, &key);
    let warm = c.get("/v1.0/flows?page_size=1");
    assert_eq!(warm.status, 200, "{}", warm.raw);
    eprintln!(
        "failover: A, B and api ready after {:?}",
        test_started.elapsed()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_failure = StopOnDrop(stop.clone());
    let counters: Vec<Arc<AtomicUsize>> = (0..THREADS)
        .map(|_| Arc::new(AtomicUsize::new(0)))
        .collect();
    let prefix = format!("failover-{pid}");
    let threads: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(t, done)| {
            let (c, done, stop) = (c.clone(), done.clone(), stop.clone());
            let prefix = format!("{prefix}-t{t}");
            std::thread::spawn(move || drive(c, prefix, done, stop))
        })
        .collect();
    let traffic_started = Instant::now();
    let total = || {
        counters
            .iter()
            .map(|d| d.load(Ordering::SeqCst))
            .sum::<usize>()
    };
    let fewest = || {
        counters
            .iter()
            .map(|d| d.load(Ordering::SeqCst))
            .min()
            .unwrap()
    };
    // Waits until `reached` holds; stops early if a thread died, so its panic shows.
    let wait_for = |what: &str, reached: &dyn Fn() -> bool| {
        while !reached() {
            if threads.iter().any(|t| t.is_finished()) {
                eprintln!("failover: a traffic thread ended while waiting for {what}");
                return;
            }
            assert!(
                traffic_started.elapsed() < TRAFFIC_LIMIT,
                "traffic too slow: {what} not reached in {TRAFFIC_LIMIT:?} ({} operations)",
                total()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let planned = THREADS * MIN_OPS_PER_THREAD;

    // A third of the way in: kill A; B alone serves until A' is ready.
    wait_for("a third of the traffic", &|| total() >= planned / 3);
    let at = total();
    let a_killed = Instant::now();
    kill9(&mut a);
    eprintln!(
        "failover: killed A after {at} operations ({:?} into traffic)",
        traffic_started.elapsed()
    );
    let restarting = Instant::now();
    let replacement = Server::start(&backend_args);
    let a_ready = total();
    eprintln!(
        "failover: A' ready after {:?}; {} operations ran on B alone meanwhile",
        restarting.elapsed(),
        a_ready - at
    );
    // Kept (dead) until the end: its log tells what it was doing when killed.
    let first_a = std::mem::replace(&mut a, replacement);

    // Two thirds in (and after some traffic on A' and B): kill B.
    wait_for("two thirds of the traffic", &|| {
        total() >= (2 * planned / 3).max(a_ready + 50)
    });
    let bt = total();
    let b_killed = Instant::now();
    kill9(&mut b);
    eprintln!(
        "failover: killed B after {bt} operations ({:?} into traffic)",
        traffic_started.elapsed()
    );

    // The rest on A' alone, until every thread did its share.
    wait_for("the end of the traffic", &|| {
        fewest() >= MIN_OPS_PER_THREAD && total() >= bt + 50
    });
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<Outcome> = threads
        .into_iter()
        .map(|t| t.join().expect("traffic thread panicked"))
        .collect();
    let traffic_took = traffic_started.elapsed();

    let requests: usize = outcomes.iter().map(|o| o.requests).sum();
    let max_latency = outcomes.iter().map(|o| o.max_latency).max().unwrap();
    let slow: Vec<_> = outcomes.iter().flat_map(|o| o.slow.iter()).collect();
    eprintln!(
        "failover: {} operations, {requests} requests in {traffic_took:?}; slowest {max_latency:?}; \
         {} over 1 s: {slow:?}",
        total(),
        slow.len()
    );
    let across = |kill: Instant| {
        outcomes
            .iter()
            .flat_map(|o| o.spans.iter())
            .filter(|(sent, answered)| *sent <= kill && kill <= *answered)
            .count()
    };
    eprintln!(
        "failover: requests in flight across the kill: of A {}, of B {}",
        across(a_killed),
        across(b_killed)
    );
    let failures: Vec<&String> = outcomes.iter().flat_map(|o| o.failures.iter()).collect();
    let unacknowledged: Vec<&String> = outcomes
        .iter()
        .flat_map(|o| o.unacknowledged_creates.iter())
        .collect();

    // The state: every acknowledged create once, under its final name.
    let created: Vec<&(String, String, String)> =
        outcomes.iter().flat_map(|o| o.created.iter()).collect();
    let mut wrong = Vec::new();
    for (id, _, name) in &created {
        let r = c.get(&format!("/v1.0/flows/{id}"));
        if r.status != 200 || r.body["name"] != name.as_str() {
            wrong.push(format!("flow {id}: expected name {name}: {}", r.raw));
        }
    }
    let listed = list_all(&c);
    let ours: Vec<&Value> = listed
        .iter()
        .filter(|f| {
            f["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{prefix}-")))
        })
        .collect();
    let mut by_operation: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &ours {
        let name = f["name"].as_str().unwrap();
        let operation = name.strip_suffix("-renamed").unwrap_or(name).to_string();
        by_operation
            .entry(operation)
            .or_default()
            .push(format!("{} {name}", f["id"].as_str().unwrap_or("?")));
    }
    let duplicates: Vec<_> = by_operation.iter().filter(|(_, v)| v.len() > 1).collect();
    let acknowledged: HashSet<&str> = created.iter().map(|(id, _, _)| id.as_str()).collect();
    let unknown: Vec<&&Value> = ours
        .iter()
        .filter(|f| !acknowledged.contains(f["id"].as_str().unwrap_or_default()))
        .collect();
    eprintln!(
        "failover: {} creates acknowledged, {} flows listed with prefix {prefix}, {} duplicated \
         operations, {} flows nobody acknowledged, {} unacknowledged creates; whole test {:?}",
        created.len(),
        ours.len(),
        duplicates.len(),
        unknown.len(),
        unacknowledged.len(),
        test_started.elapsed()
    );

    if !(failures.is_empty() && duplicates.is_empty() && wrong.is_empty() && unknown.is_empty()) {
        for (who, server) in [("A", &first_a), ("A'", &a), ("B", &b), ("api", &api)] {
            eprintln!("failover: warnings and errors of {who}:");
            for line in server
                .stderr()
                .lines()
                .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
            {
                eprintln!("  {line}");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed (unacknowledged creates: {unacknowledged:?}):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    assert!(
        duplicates.is_empty(),
        "a redelivered create ran twice: {duplicates:#?}"
    );
    assert!(
        wrong.is_empty(),
        "flows not in their final state: {wrong:#?}"
    );
    assert!(
        unknown.is_empty(),
        "flows no client saw created: {unknown:#?}"
    );
    assert_eq!(
        ours.len(),
        created.len(),
        "flows listed vs creates acknowledged"
    );
    assert!(created.len() >= planned, "{} creates", created.len());

    // The surviving processes are still healthy.
    for (who, server) in [("A'", &a), ("api", &api)] {
        let (status, body) = get(&server.health, "/ready").unwrap();
        assert_eq!(status, 200, "{who} not ready after the kills: {body}");
    }
}
