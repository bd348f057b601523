//! The timeline service fed events as the bus delivers them and read over the bus exactly as
//! the API gateway reads it, on SQLite and (when `VOXBIN_TEST_MYSQL_DSN` is set) MariaDB.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Event, EventHandler, Handler, Method};
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{contract_ok, on_sqlite_and_mysql, Harness, Served};

use crate::{handler, Recorder, SERVICE};

const A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000a);
const B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000b);
const FLOW: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0f10);
const AF: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0af1);
const CALL: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0ca1);

struct Timeline;

impl Served for Timeline {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxtimeline_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

type Env = Harness<Timeline>;

/// Hands `events` to the recorder one at a time, as a subscription does.
async fn record(env: &Env, events: &[Event]) {
    let recorder = Recorder {
        db: env.deps.db.clone(),
    };
    for event in events {
        recorder.handle(event.clone()).await.unwrap();
    }
}

fn flow_event(kind: &str, name: &str) -> Event {
    let data = json!({"id": FLOW, "customer_id": A, "name": name, "detail": name});
    Event::new(kind, "flow-manager", data)
}

fn types(page: &Value) -> Vec<String> {
    page["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

async fn flow_history_is_newest_first_and_owned(env: Env) {
    let events = [
        flow_event("flow_created", "one"),
        flow_event("flow_updated", "two"),
        flow_event("flow_deleted", "three"),
    ];
    record(&env, &events).await;
    let path = format!("/v1/timelines/flows/{FLOW}/events");
    let page = env
        .call_as(A, Method::Get, &path, Value::Null)
        .await
        .unwrap();
    contract_ok(
        "GET",
        "/timelines/{resource_type}/{resource_id}/events",
        &page,
    );
    assert_eq!(
        types(&page),
        ["flow_deleted", "flow_updated", "flow_created"]
    );
    assert_eq!(page["result"][2]["data"]["name"], "one");
    assert_eq!(page["next_page_token"], "");

    // Paging walks the same order.
    let first = env
        .call_as(A, Method::Get, &format!("{path}?page_size=2"), Value::Null)
        .await
        .unwrap();
    assert_eq!(types(&first), ["flow_deleted", "flow_updated"]);
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    let rest = env
        .call_as(
            A,
            Method::Get,
            &format!("{path}?page_size=2&page_token={token}"),
            Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(types(&rest), ["flow_created"]);

    // Another customer learns nothing, not even that the flow exists.
    let theirs = format!("{path}?customer_id={B}");
    let e = env.fail(Method::Get, &theirs, Value::Null, 404).await;
    assert_eq!(e.reason, "FLOW_NOT_FOUND");
}

async fn redelivered_events_are_recorded_once(env: Env) {
    let created = flow_event("flow_created", "one");
    record(&env, &[created.clone(), created.clone(), created]).await;
    assert_eq!(env.count("timeline_events").await, 1);
}

async fn a_batch_is_stored_in_order_once_per_event(env: Env) {
    let recorder = Recorder {
        db: env.deps.db.clone(),
    };
    let created = flow_event("flow_created", "one");
    recorder.handle(created.clone()).await.unwrap();
    let orphan = Event::new("flow_created", "flow-manager", json!({"id": FLOW}));
    let updated = flow_event("flow_updated", "two");
    let batch = vec![created, orphan, updated.clone(), updated];
    recorder.handle_batch(batch).await.unwrap();
    assert_eq!(env.count("timeline_events").await, 2);
    let path = format!("/v1/timelines/flows/{FLOW}/events");
    let page = env
        .call_as(A, Method::Get, &path, Value::Null)
        .await
        .unwrap();
    assert_eq!(types(&page), ["flow_updated", "flow_created"]);
}

async fn events_without_owner_are_skipped_and_bad_paths_refused(env: Env) {
    let orphan = Event::new("flow_created", "flow-manager", json!({"id": FLOW}));
    record(&env, &[orphan, Event::new("pod_deleted", "x", Value::Null)]).await;
    assert_eq!(env.count("timeline_events").await, 0);
    let bad_type = format!("/v1/timelines/numbers/{FLOW}/events?customer_id={A}");
    let e = env.fail(Method::Get, &bad_type, Value::Null, 400).await;
    assert_eq!(e.reason, "INVALID_RESOURCE_TYPE");
    let bad_id = format!("/v1/timelines/flows/nope/events?customer_id={A}");
    env.fail(Method::Get, &bad_id, Value::Null, 400).await;
}

async fn aggregated_events_join_an_activeflow_and_its_call(env: Env) {
    let af = |kind: &str, status: &str| {
        let data = json!({"id": AF, "customer_id": A, "flow_id": FLOW, "status": status});
        Event::new(kind, "flow-manager", data)
    };
    let call = |kind: &str, status: &str| {
        let data = json!({"id": CALL, "customer_id": A, "activeflow_id": AF, "status": status});
        Event::new(kind, "call-manager", data)
    };
    record(
        &env,
        &[
            call("call_created", "dialing"),
            af("activeflow_created", "running"),
            call("call_hangup", "hangup"),
            af("activeflow_updated", "ended"),
        ],
    )
    .await;
    let want = [
        "activeflow_updated",
        "call_hangup",
        "activeflow_created",
        "call_created",
    ];
    let by_af = format!("/v1/aggregated-events?activeflow_id={AF}");
    let page = env
        .call_as(A, Method::Get, &by_af, Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/aggregated-events", &page);
    assert_eq!(types(&page), want);
    let by_call = format!("/v1/aggregated-events?call_id={CALL}");
    let page = env
        .call_as(A, Method::Get, &by_call, Value::Null)
        .await
        .unwrap();
    assert_eq!(types(&page), want);

    env.fail(
        Method::Get,
        &format!("{by_af}&customer_id={B}"),
        Value::Null,
        404,
    )
    .await;
    env.fail(
        Method::Get,
        &format!("{by_call}&customer_id={B}"),
        Value::Null,
        404,
    )
    .await;
    let both = format!("/v1/aggregated-events?activeflow_id={AF}&call_id={CALL}&customer_id={A}");
    env.fail(Method::Get, &both, Value::Null, 400).await;
}

on_sqlite_and_mysql!(Env:
    flow_history_is_newest_first_and_owned,
    redelivered_events_are_recorded_once,
    a_batch_is_stored_in_order_once_per_event,
    events_without_owner_are_skipped_and_bad_paths_refused,
    aggregated_events_join_an_activeflow_and_its_call,
);
