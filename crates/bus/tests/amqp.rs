//! The bus over a real RabbitMQ: the in-process bus's stories again, plus what only a broker
//! brings (a server killed mid-request, the circuit breaker, reconnection).
//!
//! Runs only when `VOXBIN_TEST_AMQP_URL` is set (e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`);
//! otherwise each test prints a note and passes. Every test uses its own service names and
//! deletes the queues and exchanges it declared. The reconnection and latency tests take the
//! broker for themselves: one closes every connection, the other measures.

use futures::FutureExt;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify, RwLock};
use voxbin_bus::errors;
use voxbin_bus::{
    event_exchange, event_handler_fn, handler_fn, request_queue, subscribe_queue, AmqpBus,
    AmqpOptions, Bus, Event, EventHandler, Handler, Method, Request, Response,
};
use voxbin_core::ErrorKind;

const SECOND: Duration = Duration::from_secs(1);

/// Shared by ordinary tests, exclusive for those that disturb or measure the broker.
static BROKER: RwLock<()> = RwLock::const_new(());

fn broker_url() -> Option<String> {
    let url = std::env::var("VOXBIN_TEST_AMQP_URL").ok();
    if url.is_none() {
        println!("skipped: set VOXBIN_TEST_AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672/%2f) to run against RabbitMQ");
    }
    url
}

/// A service name of its own for one test, e.g. `t-round-1a2b3c4d`.
fn unique(tag: &str) -> String {
    format!(
        "t-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

async fn bus(url: &str) -> AmqpBus {
    AmqpBus::connect(url, AmqpOptions::default()).await.unwrap()
}

/// Deletes what a test declared.
async fn cleanup(url: &str, queues: &[String], exchanges: &[String]) {
    let Ok(connection) = lapin::Connection::connect(url, Default::default()).await else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for queue in queues {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in exchanges {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "cleaned up".into()).await;
}

fn echo() -> Arc<dyn Handler> {
    handler_fn(|request: Request| async move {
        Response::ok(json!({"uri": request.uri, "data": request.data}))
    })
}

fn named(name: &'static str) -> Arc<dyn Handler> {
    handler_fn(move |_| async move { Response::ok(json!(name)) })
}

fn get(uri: &str) -> Request {
    Request::new(Method::Get, uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_rpc_round_trip() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("round"));
    let bus = bus(&url).await;
    let _server = bus.serve(&q, echo()).await.unwrap();
    let request = Request::new(Method::Post, "/v1/things").with_data(json!({"n": 1}));
    let response = bus.rpc(&q, request, 5 * SECOND).await.unwrap();
    assert_eq!(response.status_code, 200);
    assert_eq!(
        response.into_result().unwrap(),
        json!({"uri": "/v1/things", "data": {"n": 1}})
    );
    assert!(bus.ping().await.is_ok());
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_rpc_times_out_with_rpc_timeout_and_drops_the_late_reply() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("timeout"));
    let bus = bus(&url).await;
    let _server = bus
        .serve(
            &q,
            handler_fn(|request: Request| async move {
                if request.uri == "/v1/slow" {
                    tokio::time::sleep(Duration::from_millis(800)).await;
                }
                Response::ok(json!(request.uri))
            }),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let error = bus
        .rpc(&q, get("/v1/slow"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert_eq!(error.reason, errors::RPC_TIMEOUT);
    // The slow reply arrives later and must not be taken for the next call's answer.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let next = bus.rpc(&q, get("/v1/fast"), 5 * SECOND).await.unwrap();
    assert_eq!(next.into_result().unwrap(), json!("/v1/fast"));
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_two_hundred_concurrent_rpcs_each_get_their_own_answer() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("many"));
    let bus = bus(&url).await;
    let _server = bus
        .serve(
            &q,
            handler_fn(|request: Request| async move {
                tokio::task::yield_now().await;
                Response::ok(request.data.unwrap_or(Value::Null))
            }),
        )
        .await
        .unwrap();
    let calls = (0..200).map(|i| {
        let (bus, q) = (bus.clone(), q.clone());
        async move {
            let request = Request::new(Method::Post, "/v1/echo").with_data(json!({"id": i}));
            (i, bus.rpc(&q, request, 20 * SECOND).await)
        }
    });
    for (i, answer) in futures::future::join_all(calls).await {
        assert_eq!(answer.unwrap().into_result().unwrap(), json!({"id": i}));
    }
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_replicas_in_two_processes_compete_for_requests() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("compete"));
    let (one, two) = (bus(&url).await, bus(&url).await);
    let slow = |name: &'static str| {
        handler_fn(move |_| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Response::ok(json!(name))
        })
    };
    let _a = one.serve(&q, slow("a")).await.unwrap();
    let _b = two.serve(&q, slow("b")).await.unwrap();
    let calls = (0..40).map(|_| one.rpc(&q, get("/v1/x"), 10 * SECOND));
    let mut served = std::collections::HashMap::new();
    for answer in futures::future::join_all(calls).await {
        let name = answer.unwrap().into_result().unwrap();
        *served.entry(name.as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    assert_eq!(
        served.values().sum::<i32>(),
        40,
        "each request answered once"
    );
    assert_eq!(served.len(), 2, "both replicas took a share: {served:?}");
    one.close().await;
    two.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_handler_error_travels_as_envelope_and_comes_back_as_the_error() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("error"));
    let bus = bus(&url).await;
    let _server = bus
        .serve(
            &q,
            handler_fn(|_| async { Response::error(&voxbin_core::Error::not_found("flow")) }),
        )
        .await
        .unwrap();
    let response = bus.rpc(&q, get("/v1/flows/x"), 5 * SECOND).await.unwrap();
    assert_eq!(response.status_code, 404);
    assert_eq!(response.data_type, "voipbin_error");
    assert_eq!(
        response.into_result().unwrap_err(),
        voxbin_core::Error::not_found("flow")
    );
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_panicking_handler_answers_500_and_the_server_survives() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("panic"));
    let bus = bus(&url).await;
    let _server = bus
        .serve(
            &q,
            handler_fn(|request: Request| async move {
                if request.uri == "/v1/boom" {
                    panic!("boom");
                }
                Response::ok(json!("fine"))
            }),
        )
        .await
        .unwrap();
    let response = bus.rpc(&q, get("/v1/boom"), 5 * SECOND).await.unwrap();
    assert_eq!(response.status_code, 500);
    assert_eq!(response.into_result().unwrap_err().reason, errors::INTERNAL);
    let next = bus.rpc(&q, get("/v1/ok"), 5 * SECOND).await.unwrap();
    assert_eq!(next.into_result().unwrap(), json!("fine"));
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

/// No queue at all: `SERVICE_UNAVAILABLE` at once. A queue whose servers all left: the request
/// waits in the durable queue, so the caller gets `RPC_TIMEOUT` (and the request expires).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_rpc_without_a_server_is_unavailable_or_times_out() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("nobody"));
    let bus = bus(&url).await;
    let started = Instant::now();
    let error = bus.rpc(&q, get("/v1/x"), 5 * SECOND).await.unwrap_err();
    assert_eq!(error.reason, errors::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < 2 * SECOND, "no queue fails fast");
    let server = bus.serve(&q, echo()).await.unwrap();
    server.shutdown().await;
    let error = bus
        .rpc(&q, get("/v1/x"), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(error.reason, errors::RPC_TIMEOUT);
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_closed_bus_refuses_new_work_and_in_flight_handlers_finish() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("close"));
    let (caller, server_bus) = (bus(&url).await, bus(&url).await);
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let _server = server_bus
        .serve(
            &q,
            handler_fn(move |_| {
                let (entered_tx, gate) = (entered_tx.clone(), gate.clone());
                async move {
                    let _ = entered_tx.send(());
                    gate.notified().await;
                    Response::ok(json!("done"))
                }
            }),
        )
        .await
        .unwrap();
    let call = tokio::spawn({
        let (caller, q) = (caller.clone(), q.clone());
        async move { caller.rpc(&q, get("/v1/x"), 10 * SECOND).await }
    });
    entered.recv().await.unwrap();
    let closing = tokio::spawn({
        let server_bus = server_bus.clone();
        async move { server_bus.close().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server_bus.ping().await.unwrap_err().reason,
        errors::BUS_CLOSED
    );
    release.notify_one();
    assert_eq!(
        call.await.unwrap().unwrap().into_result().unwrap(),
        json!("done")
    );
    closing.await.unwrap();
    assert_eq!(
        server_bus
            .rpc(&q, get("/v1/x"), SECOND)
            .await
            .unwrap_err()
            .reason,
        errors::BUS_CLOSED
    );
    caller.close().await;
    cleanup(&url, &[q], &[]).await;
}

/// A server that reports the uri of every request it receives.
async fn recording_server(
    bus: &AmqpBus,
    q: &str,
) -> (voxbin_bus::Consumer, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = bus
        .serve(
            q,
            handler_fn(move |request: Request| {
                let _ = tx.send(request.uri);
                async { Response::ok(Value::Null) }
            }),
        )
        .await
        .unwrap();
    (server, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_delayed_messages_arrive_in_deadline_order() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("delay"));
    let bus = bus(&url).await;
    let (_server, mut received) = recording_server(&bus, &q).await;
    let started = Instant::now();
    for (uri, ms) in [("/600", 600), ("/200", 200), ("/400", 400), ("/400b", 400)] {
        bus.delay(&q, get(uri), Duration::from_millis(ms))
            .await
            .unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        let uri = tokio::time::timeout(5 * SECOND, received.recv())
            .await
            .unwrap()
            .unwrap();
        let ms: u64 = uri[1..].trim_end_matches('b').parse().unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(ms),
            "{uri} was early"
        );
        order.push(uri);
    }
    // Same bucket: send order; the handlers of one queue run concurrently, so ties are only
    // ordered on arrival, not necessarily on handler start.
    assert_eq!(order[0], "/200");
    assert_eq!(order[3], "/600");
    order[1..3].sort();
    assert_eq!(order[1..3], ["/400", "/400b"]);
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_delayed_message_waits_for_a_server_to_appear() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("held"));
    let bus = bus(&url).await;
    bus.delay(&q, get("/first"), Duration::from_millis(10))
        .await
        .unwrap();
    bus.delay(&q, get("/second"), Duration::from_millis(20))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_server, mut received) = recording_server(&bus, &q).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(
            tokio::time::timeout(5 * SECOND, received.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    got.sort();
    assert_eq!(got, ["/first", "/second"]);
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_delayed_message_that_waited_too_long_for_a_server_is_dropped() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("stale"));
    let options = AmqpOptions {
        max_hold: Duration::from_millis(300),
        ..AmqpOptions::default()
    };
    let bus = AmqpBus::connect(&url, options).await.unwrap();
    bus.delay(&q, get("/stale"), Duration::from_millis(10))
        .await
        .unwrap();
    tokio::time::sleep(SECOND).await;
    bus.delay(&q, get("/fresh"), Duration::from_millis(10))
        .await
        .unwrap();
    let (_server, mut received) = recording_server(&bus, &q).await;
    let got = tokio::time::timeout(5 * SECOND, received.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, "/fresh");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received.try_recv().is_err(), "the stale timer was dropped");
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

/// A subscription handler that reports `(tag, event type)` for every event.
fn recorder(
    tag: &'static str,
    tx: &mpsc::UnboundedSender<(&'static str, String)>,
) -> Arc<dyn EventHandler> {
    let tx = tx.clone();
    event_handler_fn(move |event: Event| {
        let _ = tx.send((tag, event.event_type));
        tokio::time::sleep(Duration::from_millis(5)).map(Ok)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_events_fan_out_to_subscriber_names_and_compete_within_one() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let call = unique("call");
    let other = unique("agent");
    let (flow, queue, agent) = (unique("flow"), unique("queue"), unique("agentsub"));
    let (one, two) = (bus(&url).await, bus(&url).await);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _flow = one
        .subscribe(&flow, &[&call], recorder("flow", &tx))
        .await
        .unwrap();
    let _q1 = one
        .subscribe(&queue, &[&call], recorder("queue-1", &tx))
        .await
        .unwrap();
    let _q2 = two
        .subscribe(&queue, &[&call], recorder("queue-2", &tx))
        .await
        .unwrap();
    let _other = one
        .subscribe(&agent, &[&other], recorder("agent", &tx))
        .await
        .unwrap();
    let publisher = format!("{call}-manager");
    for i in 0..20 {
        let event = Event::new(format!("call_{i}"), publisher.as_str(), json!({"i": i}));
        two.publish(event).await.unwrap();
    }
    let mut flow_got = Vec::new();
    let mut queue_got = Vec::new();
    let mut per_consumer = std::collections::HashMap::new();
    for _ in 0..40 {
        let (tag, event_type) = tokio::time::timeout(10 * SECOND, rx.recv())
            .await
            .unwrap()
            .unwrap();
        match tag {
            "flow" => flow_got.push(event_type),
            "queue-1" | "queue-2" => {
                *per_consumer.entry(tag).or_insert(0) += 1;
                queue_got.push(event_type)
            }
            other => panic!("{other} got an event of another publisher"),
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err(), "no event is handled twice");
    let all: Vec<String> = (0..20).map(|i| format!("call_{i}")).collect();
    assert_eq!(
        flow_got, all,
        "every event once, in order, for one consumer"
    );
    queue_got.sort_by_key(|t| t[5..].parse::<u32>().unwrap());
    assert_eq!(
        queue_got, all,
        "every event exactly once across competitors"
    );
    assert_eq!(per_consumer.len(), 2, "both competitors took a share");
    one.close().await;
    two.close().await;
    let queues = [&flow, &queue, &agent].map(|s| subscribe_queue(s));
    let exchanges = [event_exchange(&call), event_exchange(&other)];
    cleanup(&url, &queues, &exchanges).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_type_filter_limits_what_a_subscriber_gets() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let (call, webhook) = (unique("call"), unique("webhook"));
    let bus = bus(&url).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = bus
        .subscribe_filtered(&webhook, &[&call], &["call_hangup"], recorder("w", &tx))
        .await
        .unwrap();
    for event_type in ["call_created", "call_hangup", "call_created"] {
        bus.publish(Event::new(event_type, call.as_str(), Value::Null))
            .await
            .unwrap();
    }
    let got = tokio::time::timeout(5 * SECOND, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, ("w", "call_hangup".to_owned()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err());
    bus.close().await;
    cleanup(&url, &[subscribe_queue(&webhook)], &[event_exchange(&call)]).await;
}

/// Whether `queue` exists on the broker (a passive declare fails with NOT_FOUND otherwise).
async fn queue_exists(url: &str, queue: &str) -> bool {
    let connection = lapin::Connection::connect(url, Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let options = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    // Another connection's exclusive queue answers RESOURCE_LOCKED: it exists.
    let found = match channel
        .queue_declare(queue.into(), options, Default::default())
        .await
    {
        Ok(_) => true,
        Err(e) => e.to_string().contains("RESOURCE_LOCKED"),
    };
    let _ = connection.close(200, "looked".into()).await;
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_volatile_subscription_gets_events_in_order_and_leaves_no_queue() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let (call, hub) = (unique("call"), unique("hub"));
    let bus = bus(&url).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = bus
        .subscribe_volatile(&hub, &[&call], recorder("hub", &tx))
        .await
        .unwrap();
    assert!(queue_exists(&url, &subscribe_queue(&hub)).await);
    for i in 0..10 {
        let event = Event::new(format!("call_{i}"), call.as_str(), Value::Null);
        bus.publish(event).await.unwrap();
    }
    for i in 0..10 {
        let got = tokio::time::timeout(5 * SECOND, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, ("hub", format!("call_{i}")));
    }
    bus.close().await;
    drop(bus);
    // The queue belonged to the closed connection: nothing is left to fill up.
    let deadline = Instant::now() + 10 * SECOND;
    while queue_exists(&url, &subscribe_queue(&hub)).await {
        assert!(
            Instant::now() < deadline,
            "the volatile queue outlived its connection"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cleanup(&url, &[], &[event_exchange(&call)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_subscriber_queue_keeps_events_while_no_consumer_runs() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let (call, flow) = (unique("call"), unique("flow"));
    let bus = bus(&url).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let first = bus
        .subscribe(&flow, &[&call], recorder("1", &tx))
        .await
        .unwrap();
    first.shutdown().await;
    bus.publish(Event::new("call_created", call.as_str(), Value::Null))
        .await
        .unwrap();
    let _second = bus
        .subscribe(&flow, &[&call], recorder("2", &tx))
        .await
        .unwrap();
    let got = tokio::time::timeout(5 * SECOND, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, ("2", "call_created".to_owned()));
    bus.close().await;
    cleanup(&url, &[subscribe_queue(&flow)], &[event_exchange(&call)]).await;
}

/// kill -9 of a replica mid-request: its connection closes without an ack, the broker hands
/// the request to the other replica, and the caller gets its answer within its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_request_held_by_a_killed_replica_is_redelivered_to_the_other() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("kill"));
    let (caller, doomed) = (bus(&url).await, bus(&url).await);
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let doomed_server = doomed
        .serve(
            &q,
            handler_fn(move |_| {
                let _ = entered_tx.send(());
                std::future::pending::<Response>()
            }),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let call = tokio::spawn({
        let (caller, q) = (caller.clone(), q.clone());
        async move { caller.rpc(&q, get("/v1/work"), 10 * SECOND).await }
    });
    entered.recv().await.unwrap();
    let _survivor = caller.serve(&q, named("survivor")).await.unwrap();
    // The doomed process dies: its connection goes, its request was never acked.
    std::mem::forget(doomed_server);
    drop(doomed);
    let answer = call.await.unwrap().unwrap();
    assert_eq!(answer.into_result().unwrap(), json!("survivor"));
    println!("redelivered answer after {:?}", started.elapsed());
    caller.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_circuit_breaker_opens_after_five_timeouts_and_recovers() {
    let Some(url) = broker_url() else { return };
    let _shared = BROKER.read().await;
    let q = request_queue(&unique("breaker"));
    let options = AmqpOptions {
        breaker_open_for: SECOND,
        ..AmqpOptions::default()
    };
    let bus = AmqpBus::connect(&url, options).await.unwrap();
    let healthy = Arc::new(AtomicUsize::new(0));
    let flag = healthy.clone();
    let _server = bus
        .serve(
            &q,
            handler_fn(move |_| {
                let flag = flag.clone();
                async move {
                    if flag.load(Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Response::ok(json!("ok"))
                }
            }),
        )
        .await
        .unwrap();
    let short = Duration::from_millis(150);
    for _ in 0..5 {
        let error = bus.rpc(&q, get("/v1/x"), short).await.unwrap_err();
        assert_eq!(error.reason, errors::RPC_TIMEOUT);
    }
    let started = Instant::now();
    let error = bus.rpc(&q, get("/v1/x"), 5 * SECOND).await.unwrap_err();
    assert_eq!(error.reason, errors::CIRCUIT_OPEN);
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "refused at once"
    );
    healthy.store(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let probe = bus.rpc(&q, get("/v1/x"), 5 * SECOND).await.unwrap();
    assert_eq!(probe.into_result().unwrap(), json!("ok"));
    let after = bus.rpc(&q, get("/v1/x"), 5 * SECOND).await.unwrap();
    assert_eq!(after.into_result().unwrap(), json!("ok"));
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_bus_reconnects_after_the_broker_closes_its_connections() {
    let Some(url) = broker_url() else { return };
    let _exclusive = BROKER.write().await;
    let q = request_queue(&unique("reconnect"));
    let (call, flow) = (unique("call"), unique("flow"));
    let connection_name = unique("conn");
    let options = AmqpOptions {
        connection_name: Some(connection_name.clone()),
        ..AmqpOptions::default()
    };
    let bus = AmqpBus::connect(&url, options).await.unwrap();
    let before = broker_side_name(&connection_name).expect("the broker lists our connection");
    let _server = bus.serve(&q, echo()).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = bus
        .subscribe(&flow, &[&call], recorder("flow", &tx))
        .await
        .unwrap();
    bus.rpc(&q, get("/v1/before"), 5 * SECOND).await.unwrap();
    let status = std::process::Command::new("rabbitmqctl")
        .args(["close_all_connections", "test"])
        .output()
        .expect("rabbitmqctl runs");
    assert!(status.status.success(), "{status:?}");
    let dropped_at = Instant::now();
    let mut answered = None;
    while dropped_at.elapsed() < 10 * SECOND {
        if let Ok(response) = bus.rpc(&q, get("/v1/after"), SECOND).await {
            answered = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = answered.expect("RPCs work again within 10 s");
    assert_eq!(answered.into_result().unwrap()["uri"], "/v1/after");
    println!(
        "RPCs answered again {:?} after rabbitmqctl returned",
        dropped_at.elapsed()
    );
    let after = broker_side_name(&connection_name).expect("the bus connected again");
    assert_ne!(
        before, after,
        "a new connection (new client port), not the old one"
    );
    assert!(bus.ping().await.is_ok());
    bus.publish(Event::new("call_created", call.as_str(), Value::Null))
        .await
        .unwrap();
    let got = tokio::time::timeout(5 * SECOND, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        ("flow", "call_created".to_owned()),
        "the subscription came back"
    );
    bus.close().await;
    cleanup(&url, &[q, subscribe_queue(&flow)], &[event_exchange(&call)]).await;
}

/// The broker's name (`client:port -> server:port`) of the connection named `connection_name`.
fn broker_side_name(connection_name: &str) -> Option<String> {
    let output = std::process::Command::new("rabbitmqctl")
        .args(["list_connections", "-s", "--formatter", "json"])
        .args(["name", "client_properties"])
        .output()
        .ok()?;
    let connections: Vec<Value> = serde_json::from_slice(&output.stdout).ok()?;
    connections
        .iter()
        .find(|c| c["client_properties"].to_string().contains(connection_name))
        .and_then(|c| c["name"].as_str().map(str::to_owned))
}

/// Prints p50 and p99 of sequential round trips; timing is reported, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_rpc_latency_of_a_thousand_sequential_round_trips() {
    let Some(url) = broker_url() else { return };
    let _exclusive = BROKER.write().await;
    let q = request_queue(&unique("latency"));
    let bus = bus(&url).await;
    let _server = bus.serve(&q, echo()).await.unwrap();
    for _ in 0..50 {
        bus.rpc(&q, get("/v1/warm"), 5 * SECOND).await.unwrap();
    }
    let mut samples = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let started = Instant::now();
        bus.rpc(&q, get("/v1/ping"), 5 * SECOND).await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "amqp rpc round trip over 1000 sequential calls: p50 {:?}, p99 {:?}, max {:?}",
        samples[499], samples[989], samples[999]
    );
    bus.close().await;
    cleanup(&url, &[q], &[]).await;
}

#[tokio::test]
async fn amqp_connect_failure_names_host_and_port_but_not_the_password() {
    let error = match AmqpBus::connect(
        "amqp://guest:s3cret-pw@127.0.0.1:1/%2f",
        AmqpOptions::default(),
    )
    .await
    {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(error) => error,
    };
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert_eq!(error.reason, errors::BROKER_UNAVAILABLE);
    assert!(error.message.contains("127.0.0.1:1"), "{}", error.message);
    assert!(!error.message.contains("s3cret-pw"), "{}", error.message);
    let invalid = AmqpBus::connect("not a url with s3cret-pw", AmqpOptions::default()).await;
    let error = invalid.err().unwrap();
    assert_eq!(error.reason, "INVALID_AMQP_URL");
    assert!(!error.message.contains("s3cret-pw"));
}
