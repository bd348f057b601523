//! The engine through the bus, as the call service will drive it: every step saved (SQLite
//! and MariaDB), variables persisted, events published, fetch and webhooks through a fake
//! HTTP client.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Handler, Method};
use voxbin_core::ErrorKind;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{on_sqlite_and_mysql, Harness, Served};

use super::http::{HttpClient, HttpRequest, HttpResponse};
use super::model::ActiveflowStatus;
use super::store;
use crate::testutil::assert_contract;
use crate::{handler_with_http, SERVICE};

/// Webhooks the fake client saw, by URL (each test uses its own URLs).
static SEEN: Mutex<Vec<HttpRequest>> = Mutex::new(Vec::new());

/// Answers `https://fetch.test/menu` with two actions, anything on `fetch.test/fail` with a
/// 500, and everything else with 200 and an empty body.
struct FakeHttp;

#[async_trait]
impl HttpClient for FakeHttp {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        SEEN.lock().push(request.clone());
        let (status, body) = if request.url.starts_with("https://fetch.test/menu") {
            (
                200,
                json!([
                    {"type": "talk", "option": {"text": "fetched menu"}},
                    {"type": "variable_set", "option": {"key": "fetched", "value": "yes"}},
                ])
                .to_string(),
            )
        } else if request.url.starts_with("https://fetch.test/fail") {
            (500, String::new())
        } else {
            (200, String::new())
        };
        Ok(HttpResponse { status, body })
    }
}

/// The flow service with the fake HTTP client.
struct FlowFakeHttp;

impl Served for FlowFakeHttp {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxflowe_";
    const TIMEOUT: Duration = Duration::from_secs(10);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler_with_http(deps.clone(), Arc::new(FakeHttp)))]
    }
}

type Env = Harness<FlowFakeHttp>;

/// Creates a flow of `customer` with `actions`; its id.
async fn flow(env: &Env, customer: Uuid, actions: Value, on_complete: Option<&str>) -> String {
    let mut body = json!({"name": "f", "detail": "", "actions": actions});
    if let Some(next) = on_complete {
        body["on_complete_flow_id"] = json!(next);
    }
    let f = env
        .call_as(customer, Method::Post, "/v1/flows", body)
        .await
        .unwrap();
    f["id"].as_str().unwrap().to_owned()
}

/// Starts an activeflow of `flow_id` on a call, with seed variables; its id.
async fn start(env: &Env, customer: Uuid, flow_id: &str, variables: Value) -> String {
    let af = env
        .call(
            Method::Post,
            "/v1/activeflows",
            json!({"customer_id": customer, "flow_id": flow_id, "reference_type": "call",
                   "reference_id": Uuid::now_v7(), "variables": variables}),
        )
        .await
        .unwrap();
    af["id"].as_str().unwrap().to_owned()
}

async fn post(env: &Env, id: &str, verb: &str, body: Value) -> Value {
    env.call(Method::Post, format!("/v1/activeflows/{id}/{verb}"), body)
        .await
        .unwrap_or_else(|e| panic!("{verb}: {e}"))
}

/// `next` for the action in `answer`, with `variables`.
async fn next(env: &Env, id: &str, answer: &Value, variables: Value) -> Value {
    post(
        env,
        id,
        "next",
        json!({"action_id": answer["action"]["id"], "variables": variables}),
    )
    .await
}

async fn variables(env: &Env, id: &str) -> Value {
    env.call(Method::Get, format!("/v1/activeflows/{id}/variables"), None)
        .await
        .unwrap()["variables"]
        .clone()
}

async fn ivr_runs_step_by_step_and_persists_every_step(env: Env) {
    let customer = Uuid::now_v7();
    let flow_id = flow(
        &env,
        customer,
        json!([
            {"type": "answer"},
            {"type": "variable_set", "option": {"key": "name", "value": "Ann"}},
            {"type": "talk", "option": {"text": "Hello ${name}, calling ${voipbin.call.source.target}"}},
            {"id": "0190d9a0-0000-7000-8000-0000000000d1", "type": "digits_receive", "option": {"length": 1}},
            {"type": "branch", "option": {"target_ids": {"1": "0190d9a0-0000-7000-8000-0000000000a1"},
                "default_target_id": "0190d9a0-0000-7000-8000-0000000000d1"}},
            {"id": "0190d9a0-0000-7000-8000-0000000000a1", "type": "play", "option": {"stream_urls": ["https://x/sales.wav"]}},
        ]),
        None,
    )
    .await;
    let id = start(
        &env,
        customer,
        &flow_id,
        json!({"voipbin.call.source.target": "+15550100"}),
    )
    .await;

    let answer = post(&env, &id, "execute", Value::Null).await;
    assert_eq!(answer["result"], "execute");
    assert_eq!(answer["action"]["type"], "answer");
    assert_eq!(answer["activeflow"]["status"], "running");
    assert_contract("GET", "/activeflows/{id}", 200, &answer["activeflow"]);
    // Asked again, the same action (nothing written).
    let again = post(&env, &id, "execute", Value::Null).await;
    assert_eq!(again["action"], answer["action"]);

    let talk = next(&env, &id, &answer, Value::Null).await;
    assert_eq!(talk["action"]["type"], "talk");
    assert_eq!(
        talk["action"]["option"]["text"],
        "Hello Ann, calling +15550100"
    );
    // A stale next is refused and changes nothing.
    let err = env
        .call(
            Method::Post,
            format!("/v1/activeflows/{id}/next"),
            json!({"action_id": answer["action"]["id"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.reason.as_str()),
        (ErrorKind::FailedPrecondition, "STALE_ACTION")
    );

    let digits = next(&env, &id, &talk, Value::Null).await;
    assert_eq!(digits["action"]["type"], "digits_receive");
    // Wrong digit: back to digits_receive via the default target.
    let digits = next(&env, &id, &digits, json!({"voipbin.call.digits": "7"})).await;
    assert_eq!(digits["action"]["type"], "digits_receive");
    let play = next(&env, &id, &digits, json!({"voipbin.call.digits": "1"})).await;
    assert_eq!(play["action"]["type"], "play");

    // The database holds the state and the variables (the cache holds nothing of them).
    let uuid: Uuid = id.parse().unwrap();
    let row = store::get_live(env.deps.db.writer(), uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.current_action["type"], "play");
    assert_eq!(row.execute_count, 8);
    let vars = store::variables(env.deps.db.writer(), uuid).await.unwrap();
    assert_eq!(vars.get("name"), Some("Ann"));
    assert_eq!(vars.get("voipbin.call.source.target"), Some("+15550100"));
    assert_eq!(
        vars.get("voipbin.call.digits"),
        None,
        "branch consumed the digits"
    );
    assert_eq!(variables(&env, &id).await["name"], "Ann");

    let done = next(&env, &id, &play, Value::Null).await;
    assert_eq!(done["result"], "ended");
    assert_eq!(done["reason"], "the flow finished");
    let public = env
        .call_as(
            customer,
            Method::Get,
            &format!("/v1/activeflows/{id}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(public["status"], "ended");
    assert_contract("GET", "/activeflows/{id}", 200, &public);
    let row = store::get_live(env.deps.db.writer(), uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.end_reason, "the flow finished");
    let err = env
        .call(Method::Post, format!("/v1/activeflows/{id}/execute"), None)
        .await
        .unwrap_err();
    assert_eq!(err.reason, "ACTIVEFLOW_ENDED");
}

async fn fetch_pushes_a_stack_and_webhooks_go_out(env: Env) {
    let customer = Uuid::now_v7();
    let hook = format!("https://hook.test/{}", Uuid::now_v7());
    let flow_id = flow(
        &env,
        customer,
        json!([
            {"type": "fetch", "option": {"event_url": "https://fetch.test/menu", "event_method": "POST"}},
            {"type": "webhook_send", "option": {"uri": format!("{hook}?f=${{fetched}}"), "sync": true}},
            {"type": "hangup"},
        ]),
        None,
    )
    .await;
    let id = start(&env, customer, &flow_id, json!({})).await;
    let talk = post(&env, &id, "execute", Value::Null).await;
    assert_eq!(talk["action"]["option"]["text"], "fetched menu");
    let hangup = next(&env, &id, &talk, Value::Null).await;
    assert_eq!(hangup["action"]["type"], "hangup");
    let seen = SEEN.lock().clone();
    let fetch = seen
        .iter()
        .find(|r| r.body.as_deref().is_some_and(|b| b.contains(&id)))
        .expect("the fetch carried the activeflow id");
    assert_eq!(fetch.url, "https://fetch.test/menu");
    assert!(
        seen.iter().any(|r| r.url == format!("{hook}?f=yes")),
        "the sync webhook saw the fetched stack's variable"
    );

    // A failing fetch ends the activeflow with the reason.
    let flow_id = flow(
        &env,
        customer,
        json!([{"type": "fetch", "option": {"event_url": "https://fetch.test/fail"}}, {"type": "answer"}]),
        None,
    )
    .await;
    let id = start(&env, customer, &flow_id, json!({})).await;
    let ended = post(&env, &id, "execute", Value::Null).await;
    assert_eq!(ended["result"], "ended");
    assert!(
        ended["reason"]
            .as_str()
            .unwrap()
            .contains("answered HTTP 500"),
        "{ended}"
    );
}

async fn a_runaway_flow_is_stopped_with_its_reason(env: Env) {
    let customer = Uuid::now_v7();
    let a1 = "0190d9a0-0000-7000-8000-0000000000b1";
    let flow_id = flow(
        &env,
        customer,
        json!([
            {"id": a1, "type": "variable_set", "option": {"key": "v", "value": "x"}},
            {"type": "branch", "option": {"variable": "v", "target_ids": {"x": a1}}},
            {"type": "answer"},
        ]),
        None,
    )
    .await;
    let id = start(&env, customer, &flow_id, json!({})).await;
    let ended = post(&env, &id, "execute", Value::Null).await;
    assert_eq!(ended["result"], "ended");
    let reason = ended["reason"].as_str().unwrap();
    assert!(
        reason.contains("runaway") && reason.contains("flow.max_actions_per_run = 1000"),
        "{reason}"
    );
    let row = store::get_live(env.deps.db.writer(), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, ActiveflowStatus::Ended);
    assert_eq!(row.end_reason, reason);
}

async fn services_push_forward_add_continue_and_pop(env: Env) {
    let customer = Uuid::now_v7();
    let flow_id = flow(
        &env,
        customer,
        json!([{"type": "answer"}, {"type": "hangup"}]),
        None,
    )
    .await;
    let id = start(&env, customer, &flow_id, json!({})).await;
    let answer = post(&env, &id, "execute", Value::Null).await;

    // Customers cannot drive the engine.
    let err = env
        .call_as(
            customer,
            Method::Post,
            &format!("/v1/activeflows/{id}/execute"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::PermissionDenied);

    let service = Uuid::now_v7();
    let join = "0190d9a0-0000-7000-8000-0000000000c2";
    let pushed = post(
        &env,
        &id,
        "push_actions",
        json!({"stack_id": service, "actions": [
            {"id": "0190d9a0-0000-7000-8000-0000000000c1", "type": "block"},
            {"id": join, "type": "echo", "option": {"duration": 60000}},
        ]}),
    )
    .await;
    assert_eq!(pushed["result"], "waiting");
    let blocked = next(&env, &id, &answer, Value::Null).await;
    assert_eq!(blocked["result"], "blocked");
    let joined = post(
        &env,
        &id,
        "continue",
        json!({"action_id": blocked["action"]["id"]}),
    )
    .await;
    assert_eq!(joined["action"]["id"], join);

    let added = post(
        &env,
        &id,
        "add_actions",
        json!({"actions": [{"type": "talk", "option": {"text": "added"}}]}),
    )
    .await;
    assert_eq!(added["result"], "waiting");
    let popped = post(&env, &id, "service_stop", json!({"stack_id": service})).await;
    assert_eq!(popped["result"], "waiting");
    // The service's stack is gone (its added talk with it): back after answer, to hangup.
    let hangup = next(&env, &id, &joined, Value::Null).await;
    assert_eq!(hangup["action"]["type"], "hangup");

    let err = env
        .call(
            Method::Post,
            format!("/v1/activeflows/{id}/forward_action_id"),
            json!({"forward_action_id": Uuid::now_v7()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let err = env
        .call(
            Method::Post,
            format!("/v1/activeflows/{id}/push_actions"),
            json!({"stack_id": service, "actions": [{"type": "queue_join",
                "option": {"queue_id": Uuid::now_v7()}}]}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("not supported"), "{err}");
    let stopped = env
        .call(
            Method::Post,
            format!("/v1/activeflows/{id}/stop"),
            json!({"reason": "the call hung up"}),
        )
        .await
        .unwrap();
    assert_eq!(stopped["status"], "ended");
    let row = store::get_live(env.deps.db.writer(), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.end_reason, "the call hung up");
}

async fn on_complete_flow_starts_with_the_variables(env: Env) {
    let customer = Uuid::now_v7();
    let second = flow(&env, customer, json!([{"type": "hangup"}]), None).await;
    let first = flow(
        &env,
        customer,
        json!([{"type": "variable_set", "option": {"key": "k", "value": "v"}}, {"type": "stop"}]),
        Some(&second),
    )
    .await;
    let id = start(&env, customer, &first, json!({})).await;
    let ended = post(&env, &id, "execute", Value::Null).await;
    assert_eq!(ended["result"], "ended");
    let list = env
        .call_as(customer, Method::Get, "/v1/activeflows", None)
        .await
        .unwrap();
    let next = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|af| af["reference_activeflow_id"] == json!(id))
        .expect("the on_complete flow started")
        .clone();
    assert_eq!(next["flow_id"], json!(second));
    assert_eq!(next["status"], "running");
    let vars = variables(&env, next["id"].as_str().unwrap()).await;
    assert_eq!(vars["k"], "v");
    assert_eq!(vars["voipbin.activeflow.complete_count"], "1");
}

on_sqlite_and_mysql!(Env:
    ivr_runs_step_by_step_and_persists_every_step,
    fetch_pushes_a_stack_and_webhooks_go_out,
    a_runaway_flow_is_stopped_with_its_reason,
    services_push_forward_add_continue_and_pop,
    on_complete_flow_starts_with_the_variables,
    racing_steps_move_the_cursor_once,
);

#[tokio::test]
async fn engine_tables_match_on_both_engines() {
    Env::assert_same_schema(&["flow_activeflows", "flow_variables"]).await;
}

#[tokio::test]
async fn each_step_publishes_activeflow_updated() {
    let env = Env::sqlite().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _sub = env
        .deps
        .bus
        .subscribe_filtered(
            "test-engine-events",
            &["flow-manager"],
            &["activeflow_updated"],
            voxbin_bus::event_handler_fn(move |event: voxbin_bus::Event| {
                let _ = tx.send(event.data);
                async { Ok(()) }
            }),
        )
        .await
        .unwrap();
    let m = super::metrics::flow_metrics();
    let (calls, ended) = (m.actions.get(&["call"]), m.ended.get(&[]));
    let customer = Uuid::now_v7();
    let flow_id = flow(&env, customer, json!([{"type": "answer"}]), None).await;
    let id = start(&env, customer, &flow_id, json!({})).await;
    let answer = post(&env, &id, "execute", Value::Null).await;
    post(&env, &id, "execute", Value::Null).await; // unchanged: no event
    next(&env, &id, &answer, Value::Null).await;
    // Other tests run in parallel on the same counters: at least ours were counted.
    assert!(m.actions.get(&["call"]) > calls);
    assert!(m.ended.get(&[]) > ended);
    let first = rx.recv().await.unwrap().unwrap();
    assert_eq!(first["current_action"]["type"], "answer");
    let second = rx.recv().await.unwrap().unwrap();
    assert_eq!(second["status"], "ended");
    tokio::task::yield_now().await;
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_zero_budget_is_a_config_error_naming_the_key() {
    use voxbin_core::config::{load, Sources};
    for key in [
        "MAX_ACTIONS_PER_RUN",
        "MAX_ACTIONS_TOTAL",
        "HTTP_TIMEOUT_MS",
    ] {
        let e = load(&Sources {
            env: vec![(format!("VOXBIN_FLOW_{key}"), "0".into())],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some(format!("flow.{}", key.to_ascii_lowercase()).as_str())
        );
    }
    let c = load(&Sources {
        env: vec![
            ("VOXBIN_FLOW_MAX_ACTIONS_PER_RUN".into(), "50000".into()),
            ("VOXBIN_FLOW_ALLOW_PRIVATE_TARGETS".into(), "true".into()),
        ],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.flow.max_actions_per_run, 50_000);
    assert!(c.flow.allow_private_targets);
}

#[tokio::test]
async fn flows_with_actions_not_supported_yet_are_refused_naming_them() {
    let env = Env::sqlite().await;
    let customer = Uuid::now_v7();
    for (action, named) in [
        (
            json!({"type": "queue_join", "option": {"queue_id": Uuid::now_v7()}}),
            "queue_join",
        ),
        (
            json!({"type": "conference_join", "option": {"conference_id": Uuid::now_v7()}}),
            "conference_join",
        ),
        (
            json!({"type": "ai_talk", "option": {"ai_id": Uuid::now_v7()}}),
            "ai_talk",
        ),
        (
            json!({"type": "message_send", "option": {"destinations": [{"type": "tel", "target": "+1"}]}}),
            "message_send",
        ),
        (json!({"type": "transcribe_start"}), "transcribe_start"),
        (json!({"type": "block"}), "block"),
    ] {
        let err = env
            .call_as(
                customer,
                Method::Post,
                "/v1/flows",
                json!({"name": "f", "detail": "", "actions": [{"type": "answer"}, action]}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(
            err.message.starts_with("actions[1].type: action type") && err.message.contains(named),
            "{err}"
        );
    }
    assert_eq!(env.count("flow_flows").await, 0);
}

/// Eight callers finish the same action at once: the revision check lets exactly one move the
/// cursor; the others, retried on the new state, are told their action is stale.
async fn racing_steps_move_the_cursor_once(env: Env) {
    let customer = Uuid::now_v7();
    let flow_id = flow(
        &env,
        customer,
        json!([{"type": "answer"}, {"type": "variable_set", "option": {"key": "n", "value": "${n}x"}},
               {"type": "talk", "option": {"text": "${n}"}}]),
        None,
    )
    .await;
    let id = start(&env, customer, &flow_id, json!({})).await;
    let answer = post(&env, &id, "execute", Value::Null).await;
    let env = Arc::new(env);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (env, id, action) = (env.clone(), id.clone(), answer["action"]["id"].clone());
        tasks.push(tokio::spawn(async move {
            env.call(
                Method::Post,
                format!("/v1/activeflows/{id}/next"),
                json!({"action_id": action}),
            )
            .await
        }));
    }
    let mut moved = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(answer) => moved.push(answer),
            Err(e) => assert_eq!(e.reason, "STALE_ACTION", "{e}"),
        }
    }
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(
        moved[0]["action"]["option"]["text"], "x",
        "variable_set ran once"
    );
    assert_eq!(variables(&env, &id).await["n"], "x");
}
