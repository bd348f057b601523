//! Webhooks against the real binary: a customer points `webhook_uri` at a local receiver,
//! changes flows, and every event arrives, signed with the customer's secret, each flow's in
//! order, even when the receiver was down for a while or the server was killed with webhooks
//! still undelivered. Runs in both shapes.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client};
use support::Server;
use voxbin_svc_webhook::signature::verify;

const SECRET: &str = "whsec_e2e";

/// Settings that let the test reach its loopback receiver and keep retries short.
const FAST_SETTINGS: &[&str] = &[
    "--set",
    "webhook.allow_private_targets=true",
    "--set",
    "webhook.retry_base_ms=100",
    "--set",
    "webhook.retry_max_ms=400",
    "--set",
    "webhook.poll_ms=100",
    "--set",
    "webhook.timeout_ms=2000",
];

/// [`FAST_SETTINGS`] plus free ports for the listeners whose defaults are fixed (parallel
/// servers must not share them).
fn fast() -> Vec<String> {
    let mut args: Vec<String> = FAST_SETTINGS.iter().map(|s| s.to_string()).collect();
    for key in ["rtp_relay.ng_listen", "media.sip_listen"] {
        args.push("--set".into());
        args.push(format!("{key}=127.0.0.1:{}", support::free_port()));
    }
    args
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    headers: BTreeMap<String, String>,
    body: String,
}

/// A local HTTP receiver on its own thread; answers 204 to everything until stopped.
struct Sink {
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    fn start(port: u16) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the sink's port is free");
        listener.set_nonblocking(true).unwrap();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(hit) = serve_one(stream) {
                            h.lock().unwrap().push(hit);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Sink {
            hits,
            stop,
            thread: Some(thread),
        }
    }

    /// Distinct deliveries (an attempt that reached us twice counts once).
    fn unique(&self) -> Vec<Hit> {
        let mut seen = HashSet::new();
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| seen.insert(h.headers["x-voipbin-delivery"].clone()))
            .cloned()
            .collect()
    }

    fn stop(mut self) -> Vec<Hit> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.unique()
    }
}

fn serve_one(stream: TcpStream) -> Option<Hit> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let mut stream = reader.into_inner();
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(Hit {
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// A customer with its webhook pointed at `port`, signed with [`SECRET`].
fn hooked_customer(s: &Server, port: u16) -> Client {
    let t = create_tenant(s, "hooked");
    let c = Client::with_key(&s.api, &t.accesskey);
    let r = c.put(
        "/v1.0/customer",
        json!({"webhook_method": "POST", "webhook_uri": format!("http://127.0.0.1:{port}/hook"),
               "webhook_secret": SECRET}),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body.get("webhook_secret").is_none(), "{}", r.raw);
    c
}

/// Creates `flows` flows and updates each `updates` times, interleaved; their ids.
fn change_flows(c: &Client, flows: usize, updates: usize) -> Vec<String> {
    let ids: Vec<String> = (0..flows)
        .map(|i| {
            let r = c.post(
                "/v1.0/flows",
                json!({"name": format!("f{i}"), "detail": "0", "actions": [{"type": "answer"}]}),
            );
            assert_eq!(r.status, 200, "{}", r.raw);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    for n in 1..=updates {
        for id in &ids {
            let r = c.put(
                &format!("/v1.0/flows/{id}"),
                json!({"name": "f", "detail": n.to_string(), "actions": [{"type": "answer"}]}),
            );
            assert_eq!(r.status, 200, "{}", r.raw);
        }
    }
    ids
}

/// Voxbin's own OpenAPI document (the one the API serves at /v1.0/openapi.json).
fn document() -> &'static voxbin_contract::Contract {
    static DOC: std::sync::OnceLock<voxbin_contract::Contract> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../api/openapi/voxbin-openapi.json"
        );
        voxbin_contract::Contract::from_path(path).expect("the OpenAPI document loads")
    })
}

/// Deliveries listed by the API, all pages of one status; the answer (and one delivery read
/// by id) is checked strictly against the OpenAPI document.
fn listed(c: &Client, status: &str) -> Vec<Value> {
    let r = c.get(&format!(
        "/v1.0/webhook_deliveries?status={status}&page_size=1000"
    ));
    assert_eq!(r.status, 200, "{}", r.raw);
    let doc = document();
    if let Err(e) = doc.validate_response_strict("GET", "/webhook_deliveries", 200, &r.body) {
        panic!("list answer off the document: {e:?}\n{}", r.raw);
    }
    let rows = r.body["result"].as_array().cloned().unwrap_or_default();
    if let Some(id) = rows.first().and_then(|d| d["id"].as_str()) {
        let one = c.get(&format!("/v1.0/webhook_deliveries/{id}"));
        assert_eq!(one.status, 200, "{}", one.raw);
        if let Err(e) =
            doc.validate_response_strict("GET", "/webhook_deliveries/{id}", 200, &one.body)
        {
            panic!("delivery answer off the document: {e:?}\n{}", one.raw);
        }
    }
    rows
}

/// Flow events among `hits`.
fn flow_hits(hits: &[Hit]) -> usize {
    hits.iter()
        .filter(|h| h.headers["x-voipbin-event"].starts_with("flow_"))
        .count()
}

/// Waits until the receiver holds `n` distinct flow deliveries. (The account's own events,
/// made while the tenant was set up, may or may not be among the rest.)
fn wait_flow_hits(sink: &Sink, n: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while flow_hits(&sink.unique()) < n {
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {n} flow deliveries arrived",
            flow_hits(&sink.unique())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Delivered rows of flow events.
fn delivered_flow_rows(c: &Client) -> usize {
    listed(c, "delivered")
        .iter()
        .filter(|d| d["event_type"].as_str().unwrap_or("").starts_with("flow_"))
        .count()
}

/// Checks signatures and per-flow order; the flow events' `detail` values per flow id.
fn check(hits: &[Hit], flows: &[String], updates: usize) {
    let mut per_flow: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in hits {
        let ts: i64 = h.headers["x-voipbin-timestamp"].parse().unwrap();
        let sig = &h.headers["x-voipbin-signature"];
        assert!(verify(SECRET, ts, &h.body, sig), "bad signature: {h:?}");
        let v: Value = serde_json::from_str(&h.body).unwrap();
        let kind = v["type"].as_str().unwrap();
        if kind == "flow_created" || kind == "flow_updated" {
            let id = v["data"]["id"].as_str().unwrap().to_owned();
            let detail = v["data"]["detail"].as_str().unwrap().to_owned();
            per_flow.entry(id).or_default().push(detail);
        }
    }
    let want: Vec<String> = (0..=updates).map(|n| n.to_string()).collect();
    for id in flows {
        assert_eq!(per_flow.get(id), Some(&want), "events of flow {id}");
    }
}

#[test]
fn webhooks_survive_a_receiver_outage_in_order_and_signed() {
    let args = fast();
    let s = Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let port = support::free_port();
    let c = hooked_customer(&s, port);
    // The receiver is down while the flows change.
    let flows = change_flows(&c, 3, 4);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = listed(&c, "pending");
        if pending.iter().any(|d| d["attempts"].as_i64() >= Some(2)) {
            assert!(pending.iter().all(|d| d["next_try_at"].is_string()));
            break;
        }
        assert!(Instant::now() < deadline, "no retries while down");
        std::thread::sleep(Duration::from_millis(50));
    }
    // 3 creates and 12 updates.
    let sink = Sink::start(port);
    wait_flow_hits(&sink, 15, "after the receiver came back");
    // The account's own change arrives too (after the account's earlier events).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sink
        .unique()
        .iter()
        .any(|h| h.headers["x-voipbin-event"] == "customer_updated")
    {
        assert!(Instant::now() < deadline, "customer_updated never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    let hits = sink.stop();
    check(&hits, &flows, 4);
    assert_eq!(delivered_flow_rows(&c), 15);
    assert!(listed(&c, "dead").is_empty());
}

#[test]
fn webhooks_undelivered_when_the_server_is_killed_arrive_after_restart() {
    let args = fast();
    let mut s = Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let port = support::free_port();
    let c = hooked_customer(&s, port);
    let flows = change_flows(&c, 2, 3);
    let deadline = Instant::now() + Duration::from_secs(30);
    while listed(&c, "pending").len() + listed(&c, "delivering").len() < 8 {
        assert!(Instant::now() < deadline, "deliveries were not written");
        std::thread::sleep(Duration::from_millis(50));
    }
    // kill -9: no chance to finish anything.
    s.child.kill().unwrap();
    s.child.wait().unwrap();

    let sink = Sink::start(port);
    let mut again = support::command(&s.data_dir, &s.api, &s.health, &s.metrics)
        .arg("serve")
        .args(&args)
        .args(&s.engines)
        .stdout(std::fs::File::create(s.data_dir.path().join("stdout2.log")).unwrap())
        .stderr(std::fs::File::create(s.data_dir.path().join("stderr2.log")).unwrap())
        .spawn()
        .unwrap();
    let ready = Instant::now() + Duration::from_secs(60);
    while !matches!(support::get(&s.health, "/ready"), Ok((200, _))) {
        assert!(
            Instant::now() < ready,
            "the restarted server never got ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // 2 creates and 6 updates: nothing lost.
    wait_flow_hits(&sink, 8, "after the restart");
    let hits = sink.stop();
    check(&hits, &flows, 3);
    assert_eq!(delivered_flow_rows(&c), 8);
    let _ = again.kill();
    let _ = again.wait();
}
