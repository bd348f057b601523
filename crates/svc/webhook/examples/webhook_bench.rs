//! Webhook throughput and latency, state change to delivery, in the embedded shape.
//!
//! ```text
//! cargo run --release -p voxbin-svc-webhook --example webhook_bench -- \
//!     [--events 5000] [--resources 50] [--writers 16]
//! ```
//!
//! What `voxbin serve` runs, on the in-process bus over a SQLite file: the tag service (the
//! state change: `PUT /v1/tags/{id}`, one transaction with its outbox row), the outbox relay,
//! the webhook service (ingest, delivery rows, worker) and customer-manager (the target and
//! secret), delivering signed POSTs to a local HTTP receiver. `--writers` tasks update
//! `--resources` tags until `--events` updates were made. Latency is from just before the
//! update was sent to the moment the receiver read the webhook; throughput is events over the
//! time from the first update to the last delivery. Every delivery is checked: signature,
//! and each tag's updates arrive in order.
//!
//! Anchor, measured in the same run: the same number of signed POSTs sent straight to the
//! receiver by the same HTTP client with the same concurrency (no database, no bus), i.e.
//! what the receiver and the client cost alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use voxbin_bus::{request_queue, Bus, BusClient, InProcBus, Method};
use voxbin_cache::MemoryCache;
use voxbin_core::config::Config;
use voxbin_store::{Db, DbOptions};
use voxbin_svc_kit::http::{Http11Client, HttpRequest};
use voxbin_svc_kit::Deps;
use voxbin_svc_webhook::signature::{sign, verify};

const SECRET: &str = "whsec_bench";

struct Args {
    events: usize,
    resources: usize,
    writers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        events: 5000,
        resources: 50,
        writers: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: usize = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        match flag.as_str() {
            "--events" => args.events = n.max(1),
            "--resources" => args.resources = n.max(1),
            "--writers" => args.writers = n.max(1),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// What the receiver saw: per tag name, the arrival time; and failures.
#[derive(Default)]
struct Seen {
    arrived: HashMap<String, Instant>,
    order: HashMap<String, Vec<u64>>,
    bad: usize,
}

#[derive(Clone)]
struct Sink {
    seen: Arc<Mutex<Seen>>,
    count: Arc<AtomicUsize>,
}

async fn receive(State(sink): State<Sink>, headers: HeaderMap, body: String) -> StatusCode {
    let now = Instant::now();
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let ts: i64 = h("x-voipbin-timestamp").parse().unwrap_or(0);
    let ok = verify(SECRET, ts, &body, &h("x-voipbin-signature"));
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut seen = sink.seen.lock();
    if !ok {
        seen.bad += 1;
    }
    if v["type"] == "tag_updated" || v["type"] == "direct" {
        let name = v["data"]["name"].as_str().unwrap_or("").to_owned();
        if let Some((tag, n)) = name.rsplit_once('#') {
            let n: u64 = n.parse().unwrap_or(0);
            seen.order.entry(tag.to_owned()).or_default().push(n);
        }
        if seen.arrived.insert(name, now).is_none() {
            sink.count.fetch_add(1, Ordering::Relaxed);
        }
    }
    StatusCode::NO_CONTENT
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Throughput, p50 and p99 of a run.
struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(sent: &HashMap<String, Instant>, seen: &Seen, first: Instant) -> Figures {
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(name, t0)| seen.arrived.get(name).map(|t1| t1.duration_since(*t0)))
        .collect();
    lat.sort();
    let last = seen.arrived.values().max().copied().unwrap_or(first);
    let span = last.duration_since(first).as_secs_f64().max(1e-9);
    Figures {
        per_sec: lat.len() as f64 / span,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
    }
}

async fn wait_for(count: &AtomicUsize, n: usize, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while count.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {n} webhooks arrived within {limit:?}",
                count.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("webhook_bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("webhook_bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e: voxbin_core::Error| format!("{what}: {e}")
    };
    // The receiver.
    let sink = Sink {
        seen: Arc::default(),
        count: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(sink.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // The platform, embedded.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = Db::connect(&DbOptions::new(format!(
        "sqlite://{}/bench.db",
        dir.path().display()
    )))
    .await
    .map_err(fail("open the database"))?;
    db.migrate().await.map_err(fail("migrate"))?;
    let mut config = Config::default();
    config.webhook.allow_private_targets = true;
    config.webhook.concurrency = 64;
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let deps = Deps {
        bus: bus.clone(),
        db: Arc::new(db),
        cache: Arc::new(MemoryCache::new(10_000)),
        config: Arc::new(config.clone()),
    };
    let _servers = [
        bus.serve(
            &request_queue("customer"),
            voxbin_svc_customer::customer_handler(deps.clone()),
        )
        .await
        .map_err(fail("serve customer"))?,
        bus.serve(&request_queue("tag"), voxbin_svc_tag::handler(deps.clone()))
            .await
            .map_err(fail("serve tag"))?,
    ];
    let _pipeline = voxbin_svc_webhook::start(&deps)
        .await
        .map_err(fail("start webhooks"))?;
    let client = BusClient::new(bus, "api", Duration::from_secs(30));
    let customer = client
        .call(
            "customer",
            Method::Post,
            "/v1/customers",
            Some(json!({"name": "bench", "email": "bench@example.com",
                "webhook_method": "POST", "webhook_uri": format!("http://{addr}/hook"),
                "webhook_secret": SECRET})),
        )
        .await
        .map_err(fail("create the customer"))?;
    let customer_id = customer["id"].as_str().unwrap_or_default().to_owned();
    let scope = format!("customer_id={customer_id}");
    let mut tags = Vec::new();
    for i in 0..args.resources {
        let tag = client
            .call(
                "tag",
                Method::Post,
                &format!("/v1/tags?{scope}"),
                Some(json!({"name": format!("r{i}#0"), "detail": ""})),
            )
            .await
            .map_err(fail("create a tag"))?;
        tags.push((
            format!("r{i}"),
            tag["id"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    // Let the creates drain so they do not count.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Pipeline: updates from `writers` tasks, round robin over the tags.
    let next = Arc::new(AtomicUsize::new(0));
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let base = sink.count.load(Ordering::Relaxed);
    let first = Instant::now();
    let mut writers = Vec::new();
    for _ in 0..args.writers {
        let (client, tags, next, sent, scope) = (
            client.clone(),
            tags.clone(),
            next.clone(),
            sent.clone(),
            scope.clone(),
        );
        let total = args.events;
        writers.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return Ok::<(), String>(());
                }
                let (label, id) = &tags[k % tags.len()];
                let name = format!("{label}#{}", k / tags.len() + 1);
                sent.lock().insert(name.clone(), Instant::now());
                client
                    .call(
                        "tag",
                        Method::Put,
                        &format!("/v1/tags/{id}?{scope}"),
                        Some(json!({"name": name, "detail": ""})),
                    )
                    .await
                    .map_err(|e| format!("update a tag: {e}"))?;
            }
        }));
    }
    for w in writers {
        w.await.map_err(|e| e.to_string())??;
    }
    let writes_done = first.elapsed();
    wait_for(&sink.count, base + args.events, Duration::from_secs(300)).await?;
    let pipeline = {
        let sent = sent.lock();
        let seen = sink.seen.lock();
        if seen.bad > 0 {
            return Err(format!("{} webhooks failed the signature check", seen.bad));
        }
        for (tag, ns) in &seen.order {
            let updates: Vec<u64> = ns.iter().copied().filter(|n| *n > 0).collect();
            if updates.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!(
                    "webhooks of tag {tag} arrived out of order: {updates:?}"
                ));
            }
        }
        figures(&sent, &seen, first)
    };

    // Anchor: the same POSTs straight to the receiver, same client and concurrency.
    let http = Arc::new(Http11Client::new(
        voxbin_svc_webhook::worker::http_settings(&config.webhook),
    ));
    let direct_sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let base = sink.count.load(Ordering::Relaxed);
    let first_direct = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..args.writers.max(8) {
        let (http, next, sent) = (http.clone(), next.clone(), direct_sent.clone());
        let total = args.events;
        senders.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return Ok::<(), String>(());
                }
                let name = format!("direct{}#{}", k % 50, k / 50 + 1);
                let body = json!({"type": "direct", "data": {"name": name}}).to_string();
                let ts = 1_700_000_000;
                let request = HttpRequest {
                    method: "POST".into(),
                    url: format!("http://{addr}/hook"),
                    headers: vec![
                        ("X-VoIPBIN-Timestamp".into(), ts.to_string()),
                        ("X-VoIPBIN-Signature".into(), sign(SECRET, ts, &body)),
                    ],
                    content_type: Some("application/json".into()),
                    body: Some(body),
                };
                sent.lock().insert(name, Instant::now());
                http.send(&request).await?;
            }
        }));
    }
    for s in senders {
        s.await.map_err(|e| e.to_string())??;
    }
    wait_for(&sink.count, base + args.events, Duration::from_secs(60)).await?;
    let anchor = {
        let sent = direct_sent.lock();
        let seen = sink.seen.lock();
        figures(&sent, &seen, first_direct)
    };

    println!(
        "webhooks, embedded (SQLite, in-process bus): {} events over {} resources, {} writers",
        args.events, args.resources, args.writers
    );
    println!(
        "  state change -> delivery: {:>8.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms   (writes done in {:.2} s)",
        pipeline.per_sec,
        pipeline.p50.as_secs_f64() * 1e3,
        pipeline.p99.as_secs_f64() * 1e3,
        writes_done.as_secs_f64()
    );
    println!(
        "  anchor, direct POSTs:     {:>8.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        anchor.per_sec,
        anchor.p50.as_secs_f64() * 1e3,
        anchor.p99.as_secs_f64() * 1e3
    );
    println!(
        "  ratio pipeline/anchor: {:.2} (throughput)",
        pipeline.per_sec / anchor.per_sec.max(1e-9)
    );
    Ok(())
}
