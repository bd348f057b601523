//! The service over SQLite with a real local HTTP sink, customer-manager on the same bus, and
//! events written through a real outbox.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer, InProcBus, Method};
use voxbin_cache::MemoryCache;
use voxbin_core::config::Config;
use voxbin_store::{Db, DbOptions};
use voxbin_svc_kit::outbox::Outbox;
use voxbin_svc_kit::Deps;

use crate::signature::{verify, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

const SECRET: &str = "whsec_test_1";

/// One received request.
#[derive(Debug, Clone)]
struct Hit {
    delivery: String,
    timestamp: i64,
    signature: String,
    body: String,
}

/// A local HTTP receiver that records what it got and answers `status` (while `failing` > 0
/// it answers 500 and counts down).
#[derive(Clone)]
struct Sink {
    hits: Arc<Mutex<Vec<Hit>>>,
    failing: Arc<Mutex<u32>>,
}

async fn receive(State(sink): State<Sink>, headers: HeaderMap, body: String) -> StatusCode {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    {
        let mut failing = sink.failing.lock();
        if *failing > 0 {
            *failing -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    sink.hits.lock().push(Hit {
        delivery: text(DELIVERY_HEADER),
        timestamp: text(TIMESTAMP_HEADER).parse().unwrap_or(0),
        signature: text(SIGNATURE_HEADER),
        body,
    });
    StatusCode::NO_CONTENT
}

/// Like [`receive`], for PUT (the body is prefixed `PUT ` so a test can tell the method).
async fn receive_put(state: State<Sink>, headers: HeaderMap, body: String) -> StatusCode {
    receive(state, headers, format!("PUT {body}")).await
}

impl Sink {
    fn new(failing: u32) -> Sink {
        Sink {
            hits: Arc::default(),
            failing: Arc::new(Mutex::new(failing)),
        }
    }

    /// Serves on `addr` until the returned task is aborted.
    async fn serve(&self, addr: SocketAddr) -> tokio::task::JoinHandle<()> {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let app = Router::new()
            .route("/hook", post(receive).put(receive_put))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
    }

    /// Distinct deliveries received (a retried attempt that reached us twice counts once).
    fn unique(&self) -> Vec<Hit> {
        let mut seen = std::collections::HashSet::new();
        self.hits
            .lock()
            .iter()
            .filter(|h| seen.insert(h.delivery.clone()))
            .cloned()
            .collect()
    }
}

struct Env {
    _dir: tempfile::TempDir,
    deps: Deps,
    client: BusClient,
    _served: Vec<Consumer>,
}

async fn env(allow_private: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbOptions::new(format!(
        "sqlite://{}/t.db",
        dir.path().display()
    )))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let mut config = Config::default();
    config.webhook.allow_private_targets = allow_private;
    config.webhook.retry_base_ms = 50;
    config.webhook.retry_max_ms = 200;
    config.webhook.poll_ms = 50;
    config.webhook.timeout_ms = 2000;
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let deps = Deps {
        bus: bus.clone(),
        db: Arc::new(db),
        cache: Arc::new(MemoryCache::new(1000)),
        config: Arc::new(config),
    };
    let mut served = Vec::new();
    for (service, handler) in [
        (
            "customer",
            voxbin_svc_customer::customer_handler(deps.clone()),
        ),
        ("webhook", crate::routes(&deps)),
    ] {
        served.push(bus.serve(&request_queue(service), handler).await.unwrap());
    }
    Env {
        _dir: dir,
        client: BusClient::new(bus, "api", Duration::from_secs(10)),
        deps,
        _served: served,
    }
}

impl Env {
    /// A customer whose webhooks go to `uri`, signed with [`SECRET`].
    async fn customer(&self, uri: &str) -> Uuid {
        let body = json!({"name": "hooked", "email": format!("{}@example.com", Uuid::now_v7()),
            "webhook_method": "POST", "webhook_uri": uri, "webhook_secret": SECRET});
        let made = self
            .client
            .call("customer", Method::Post, "/v1/customers", Some(body))
            .await
            .unwrap();
        Uuid::parse_str(made["id"].as_str().unwrap()).unwrap()
    }

    /// `count` tag_updated events for each of `resources`, interleaved, each committed alone.
    async fn events(&self, customer: Uuid, resources: &[Uuid], count: u32) {
        let outbox = Outbox::new(&self.deps, "tag");
        for n in 1..=count {
            for r in resources {
                let mut tx = outbox.begin().await.unwrap();
                let data = json!({"id": r, "customer_id": customer, "n": n});
                tx.event("tag_updated", r, data).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    }

    async fn deliveries(&self, query: &str) -> Value {
        let uri = format!("/v1/webhook_deliveries?{query}");
        self.client
            .call("webhook", Method::Get, &uri, None)
            .await
            .unwrap()
    }

    /// Waits until every delivery is in `status` (and there are `expected` of them).
    async fn wait_all(&self, status: &str, expected: usize) -> Value {
        let mut last = Value::Null;
        for _ in 0..600 {
            last = self.deliveries("page_size=1000").await;
            let rows = last["result"].as_array().cloned().unwrap_or_default();
            if rows.len() == expected && rows.iter().all(|r| r["status"] == status) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("deliveries did not all become {status}: {last:#}");
    }
}

/// The `n` of each resource's events in arrival order.
fn arrivals(hits: &[Hit]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for h in hits {
        let v: Value = serde_json::from_str(&h.body).unwrap();
        if v["type"] == "tag_updated" {
            let id = v["data"]["id"].as_str().unwrap().to_owned();
            out.entry(id)
                .or_default()
                .push(v["data"]["n"].as_u64().unwrap());
        }
    }
    out
}

#[tokio::test]
async fn sink_down_then_up_gets_every_event_in_order_signed() {
    let env = env(true).await;
    let _pipeline = crate::start(&env.deps).await.unwrap();
    // A port nobody listens on yet: the sink is down.
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let customer = env.customer(&format!("http://{addr}/hook")).await;
    let resources: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    env.events(customer, &resources, 5).await;

    // Attempts fail and are rescheduled while the sink is down.
    let mut retried = false;
    for _ in 0..200 {
        let page = env.deliveries("page_size=1000").await;
        let rows = page["result"].as_array().unwrap();
        if let Some(row) = rows
            .iter()
            .find(|r| r["attempts"].as_i64().unwrap_or(0) >= 2)
        {
            let error = row["last_error"].as_str().unwrap();
            assert!(error.contains("connect"), "{row}");
            assert_eq!(row["status"], "pending", "{row}");
            assert!(row["next_try_at"].is_string(), "{row}");
            retried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(retried, "no delivery was retried while the sink was down");

    // It comes back, answering 500 a few times before it recovers for good.
    let sink = Sink::new(4);
    let server = sink.serve(addr).await;
    // customer_created plus 15 tag events.
    let done = env.wait_all("delivered", 16).await;
    server.abort();

    let hits = sink.unique();
    assert_eq!(hits.len(), 16, "{hits:#?}");
    for h in &hits {
        assert!(verify(SECRET, h.timestamp, &h.body, &h.signature), "{h:?}");
        assert!(!verify(
            "another secret",
            h.timestamp,
            &h.body,
            &h.signature
        ));
    }
    let order = arrivals(&hits);
    assert_eq!(order.len(), 3);
    for (resource, ns) in &order {
        assert_eq!(ns, &vec![1, 2, 3, 4, 5], "order of {resource}");
    }
    // The customer's own event carries its public shape, without admin-only fields.
    let created = hits
        .iter()
        .map(|h| serde_json::from_str::<Value>(&h.body).unwrap())
        .find(|v| v["type"] == "customer_created")
        .unwrap();
    assert_eq!(created["data"]["id"], customer.to_string());
    assert!(
        created["data"].get("terms_agreed_ip").is_none(),
        "{created}"
    );
    assert!(created["data"].get("webhook_secret").is_none(), "{created}");
    // Every row says how it went.
    let row = done["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event_type"] == "tag_updated")
        .unwrap();
    assert_eq!(row["last_status_code"], 204);
    assert!(row["attempts"].as_i64().unwrap() >= 1);
    assert_eq!(row["next_try_at"], Value::Null);
}

#[tokio::test]
async fn undelivered_rows_are_sent_by_the_next_process() {
    let env = env(true).await;
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let pipeline = crate::start(&env.deps).await.unwrap();
    let customer = env.customer(&format!("http://{addr}/hook")).await;
    let resource = Uuid::now_v7();
    env.events(customer, &[resource], 4).await;
    // Wait until the first process wrote the rows and failed on them, then "kill" it.
    for _ in 0..200 {
        let page = env.deliveries("status=pending&page_size=1000").await;
        if page["result"].as_array().unwrap().len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(pipeline);

    let sink = Sink::new(0);
    let server = sink.serve(addr).await;
    let _again = crate::start(&env.deps).await.unwrap();
    env.wait_all("delivered", 5).await;
    server.abort();
    let order = arrivals(&sink.unique());
    assert_eq!(order[&resource.to_string()], vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed_and_the_delivery_dies() {
    let env = env(false).await;
    let _pipeline = crate::start(&env.deps).await.unwrap();
    let sink = Sink::new(0);
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let server = sink.serve(addr).await;
    // A name that resolves to a loopback address is refused like the address itself.
    let customer = env
        .customer(&format!("http://localhost:{}/hook", addr.port()))
        .await;
    env.events(customer, &[Uuid::now_v7()], 1).await;
    let page = env.wait_all("dead", 2).await;
    server.abort();
    assert!(sink.hits.lock().is_empty());
    let error = page["result"][0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("loopback") && error.contains("webhook.allow_private_targets"),
        "{error}"
    );
}

#[tokio::test]
async fn deliveries_list_by_status_and_resource_and_stay_with_their_customer() {
    let env = env(true).await;
    let _pipeline = crate::start(&env.deps).await.unwrap();
    let sink = Sink::new(0);
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let server = sink.serve(addr).await;
    let customer = env.customer(&format!("http://{addr}/hook")).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    env.events(customer, &[a, b], 3).await;
    env.wait_all("delivered", 7).await;
    server.abort();

    let mine = format!("customer_id={customer}");
    let page = env
        .deliveries(&format!("{mine}&resource_id={a}&page_size=2"))
        .await;
    assert_eq!(page["result"].as_array().unwrap().len(), 2);
    let token = page["next_page_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    let rest = env
        .deliveries(&format!(
            "{mine}&resource_id={a}&page_size=2&page_token={token}"
        ))
        .await;
    assert_eq!(rest["result"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_page_token"], "");

    let one = &page["result"][0];
    let id = one["id"].as_str().unwrap();
    let got = env
        .client
        .call(
            "webhook",
            Method::Get,
            &format!("/v1/webhook_deliveries/{id}?{mine}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(&got, one);
    for field in [
        "id",
        "event_type",
        "resource_id",
        "status",
        "attempts",
        "last_error",
        "last_status_code",
        "next_try_at",
        "tm_create",
    ] {
        assert!(got.get(field).is_some(), "{field} missing: {got}");
    }

    let other = format!("customer_id={}", Uuid::now_v7());
    let none = env.deliveries(&other).await;
    assert_eq!(none["result"], json!([]));
    let hidden = env
        .client
        .call(
            "webhook",
            Method::Get,
            &format!("/v1/webhook_deliveries/{id}?{other}"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(hidden.kind, voxbin_core::ErrorKind::NotFound);
    let bad = env
        .client
        .call(
            "webhook",
            Method::Get,
            "/v1/webhook_deliveries?status=lost",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(bad.kind, voxbin_core::ErrorKind::InvalidArgument);
    assert_eq!(env.deliveries("status=dead").await["result"], json!([]));
}

#[tokio::test]
async fn an_event_handed_over_twice_is_delivered_once() {
    let env = env(true).await;
    let _pipeline = crate::start(&env.deps).await.unwrap();
    let sink = Sink::new(0);
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let server = sink.serve(addr).await;
    let customer = env.customer(&format!("http://{addr}/hook")).await;
    let data = json!({"id": Uuid::now_v7(), "customer_id": customer, "n": 1});
    for _ in 0..2 {
        let event = voxbin_bus::Event::new("tag_updated", "tag-manager", data.clone());
        env.deps.bus.publish(event).await.unwrap();
    }
    env.wait_all("delivered", 2).await;
    server.abort();
    assert_eq!(arrivals(&sink.unique()).len(), 1);
    assert_eq!(
        sink.unique().len(),
        2,
        "customer_created and the tag event once"
    );
}

/// Two webhook processes compete on one queue: the later event of a resource is ingested
/// (by one replica) before the earlier one (by the other). The publisher sequence still
/// sends them in publish order.
#[tokio::test]
async fn events_ingested_out_of_order_by_two_replicas_go_out_in_publish_order() {
    let env = env(true).await;
    let sink = Sink::new(0);
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let server = sink.serve(addr).await;
    let customer = env.customer(&format!("http://{addr}/hook")).await;
    let replica = || crate::ingest::Ingest {
        db: env.deps.db.clone(),
        targets: crate::target::Targets::new(
            BusClient::new(env.deps.bus.clone(), "webhook", Duration::from_secs(5)),
            env.deps.cache.clone(),
        ),
        wake: crate::worker::Wake::default(),
    };
    let (a, b) = (replica(), replica());
    let resource = Uuid::now_v7();
    let event = |n: i64| {
        let data = json!({"id": resource, "customer_id": customer, "n": n});
        let mut e = voxbin_bus::Event::new("tag_updated", "tag-manager", data);
        e.seq = Some(100 + n);
        e
    };
    // Replica b writes events 3 then 2 before replica a writes event 1.
    b.handle(event(3)).await.unwrap();
    b.handle(event(2)).await.unwrap();
    a.handle(event(1)).await.unwrap();
    let _pipeline = crate::start(&env.deps).await.unwrap();
    // customer_created left before any subscription: only the three tag events are rows.
    env.wait_all("delivered", 3).await;
    server.abort();
    let order = arrivals(&sink.unique());
    assert_eq!(order[&resource.to_string()], vec![1, 2, 3]);
}

/// An activeflow with its own `webhook_uri`/`webhook_method` gets its events there (with that
/// method), besides the customer's webhook; other resources' events do not go there.
#[tokio::test]
async fn activeflow_events_also_go_to_the_activeflow_webhook_with_its_method() {
    let env = env(true).await;
    let _pipeline = crate::start(&env.deps).await.unwrap();
    let (customer_sink, flow_sink) = (Sink::new(0), Sink::new(0));
    let local = || {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (customer_addr, flow_addr) = (local(), local());
    let servers = [
        customer_sink.serve(customer_addr).await,
        flow_sink.serve(flow_addr).await,
    ];
    let customer = env.customer(&format!("http://{customer_addr}/hook")).await;
    let activeflow = Uuid::now_v7();
    let flow_uri = format!("http://{flow_addr}/hook");
    let outbox = Outbox::new(&env.deps, "flow");
    for (event_type, id) in [
        ("activeflow_created", activeflow),
        ("activeflow_updated", activeflow),
    ] {
        let mut tx = outbox.begin().await.unwrap();
        let data = json!({"id": id, "customer_id": customer, "status": event_type,
            "webhook_uri": flow_uri, "webhook_method": "PUT"});
        tx.event(event_type, id, data).await.unwrap();
        tx.commit().await.unwrap();
    }
    // Not an activeflow event: its webhook_uri field is no destination.
    let mut tx = outbox.begin().await.unwrap();
    let other = Uuid::now_v7();
    let data = json!({"id": other, "customer_id": customer, "webhook_uri": flow_uri});
    tx.event("flow_updated", other, data).await.unwrap();
    tx.commit().await.unwrap();

    // customer_created + 3 to the customer, 2 to the activeflow.
    let page = env.wait_all("delivered", 6).await;
    for server in servers {
        server.abort();
    }
    let rows = page["result"].as_array().unwrap();
    let to_flow: Vec<&Value> = rows
        .iter()
        .filter(|r| r["destination"] == "activeflow")
        .collect();
    assert_eq!(to_flow.len(), 2);
    for r in &to_flow {
        assert_eq!(r["uri"], flow_uri.as_str());
        assert_eq!(r["method"], "PUT");
        assert_eq!(r["resource_id"], activeflow.to_string());
    }
    let flow_hits = flow_sink.unique();
    let types: Vec<String> = flow_hits
        .iter()
        .map(|h| {
            let body = h
                .body
                .strip_prefix("PUT ")
                .unwrap_or_else(|| panic!("not a PUT: {}", h.body));
            let v: Value = serde_json::from_str(body).unwrap();
            assert!(verify(SECRET, h.timestamp, body, &h.signature), "{h:?}");
            v["type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(types, vec!["activeflow_created", "activeflow_updated"]);
    // Only a resource's own webhooks are ordered, so the customer's are compared as a set.
    let mut customer_types: Vec<String> = customer_sink
        .unique()
        .iter()
        .map(|h| {
            serde_json::from_str::<Value>(&h.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    customer_types.sort();
    assert_eq!(
        customer_types,
        vec![
            "activeflow_created",
            "activeflow_updated",
            "customer_created",
            "flow_updated"
        ]
    );
}
