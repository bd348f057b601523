//! The number service driven over the bus exactly as the API gateway drives it, on SQLite and
//! (when `VOXBIN_TEST_MYSQL_DSN` is set) on MySQL/MariaDB. A tiny stand-in for the flow service
//! answers `GET /v1/flows/{id}` so flow checks run over the real bus.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Ctx, Handler, Method, Router};
use voxbin_core::{Error, ErrorKind};
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{assert_400, contract_ok, on_sqlite_and_mysql, Harness, Served};

use crate::{handler, SERVICE};

const A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000a);
const B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000b);
const FLOW_A1: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0a01);
const FLOW_A2: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0a02);
const FLOW_B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0b01);

/// The number service and a fake flow service (stopped by some stories).
struct Number;

impl Served for Number {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxnum_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![
            (SERVICE, handler(deps.clone())),
            ("flow", Arc::new(fake_flow_service())),
        ]
    }
}

/// A running number service, a fake flow service and a client playing the gateway.
type Env = Harness<Number>;

/// Answers `GET /v1/flows/{id}?customer_id=` for the flows A1, A2 (customer A) and B.
fn fake_flow_service() -> Router {
    Router::new("flow").route(Method::Get, "/v1/flows/{id}", |ctx: Ctx| async move {
        let id = ctx.param_uuid("id")?;
        let customer = ctx.query("customer_id").unwrap_or_default();
        let owner = match id {
            FLOW_A1 | FLOW_A2 => A,
            FLOW_B => B,
            _ => return Err(Error::not_found("flow")),
        };
        if customer != owner.to_string() {
            return Err(Error::not_found("flow"));
        }
        Ok(json!({"id": id, "customer_id": owner}))
    })
}

fn numbers_uri(customer: Uuid) -> String {
    format!("/v1/numbers?customer_id={customer}")
}

fn number_uri(id: &Value, customer: Uuid, tail: &str) -> String {
    format!(
        "/v1/numbers/{}{tail}?customer_id={customer}",
        id.as_str().unwrap()
    )
}

async fn create(env: &Env, customer: Uuid, number: &str) -> Value {
    let body = json!({"number": number, "call_flow_id": "", "message_flow_id": "",
                      "name": "", "detail": ""});
    env.call(Method::Post, &numbers_uri(customer), body)
        .await
        .unwrap()
}

async fn customer_registers_a_number_and_routes_it_to_flows(env: Env) {
    let body = json!({"number": "+14155550100", "call_flow_id": FLOW_A1,
                      "name": "Support", "detail": "main line"});
    let created = env.call(Method::Post, &numbers_uri(A), body).await.unwrap();
    contract_ok("POST", "/numbers", &created);
    assert_eq!(created["number"], "+14155550100");
    assert_eq!(created["type"], "normal");
    assert_eq!(created["status"], "active");
    assert_eq!(created["customer_id"], A.to_string());
    assert_eq!(created["call_flow_id"], FLOW_A1.to_string());
    assert_eq!(created["message_flow_id"], Uuid::nil().to_string());
    assert_eq!(created["tm_delete"], Value::Null);
    let id = created["id"].clone();

    let got = env
        .call(Method::Get, &number_uri(&id, A, ""), Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/numbers/{id}", &got);
    assert_eq!(got, created);

    let list = env
        .call(Method::Get, &numbers_uri(A), Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/numbers", &list);
    assert_eq!(list["result"], json!([created]));
    assert_eq!(list["next_page_token"], "");

    let body = json!({"call_flow_id": FLOW_A2, "message_flow_id": FLOW_A1,
                      "name": "Sales", "detail": "moved"});
    let updated = env
        .call(Method::Put, &number_uri(&id, A, ""), body)
        .await
        .unwrap();
    contract_ok("PUT", "/numbers/{id}", &updated);
    assert_eq!(updated["name"], "Sales");
    assert_eq!(updated["call_flow_id"], FLOW_A2.to_string());
    assert_eq!(updated["message_flow_id"], FLOW_A1.to_string());

    let body = json!({"call_flow_id": FLOW_A1, "message_flow_id": null});
    let flows = env
        .call(Method::Put, &number_uri(&id, A, "/flow_ids"), body)
        .await
        .unwrap();
    contract_ok("PUT", "/numbers/{id}/flow_ids", &flows);
    assert_eq!(flows["call_flow_id"], FLOW_A1.to_string());
    assert_eq!(flows["message_flow_id"], Uuid::nil().to_string());
    assert_eq!(flows["name"], "Sales");

    let body = json!({"rtp_debug": true});
    let meta = env
        .call(Method::Put, &number_uri(&id, A, "/metadata"), body)
        .await
        .unwrap();
    contract_ok("PUT", "/numbers/{id}/metadata", &meta);
    assert_eq!(meta["metadata"], json!({"rtp_debug": true}));

    // Inbound routing finds it by the dialled number, '+' escaped or not.
    for uri in [
        "/v1/numbers/by_number/+14155550100",
        "/v1/numbers/by_number/%2B14155550100",
    ] {
        let found = env.call(Method::Get, uri, Value::Null).await.unwrap();
        assert_eq!(found, meta);
    }

    let deleted = env
        .call(Method::Delete, &number_uri(&id, A, ""), Value::Null)
        .await
        .unwrap();
    contract_ok("DELETE", "/numbers/{id}", &deleted);
    assert_eq!(deleted["status"], "deleted");
    assert!(deleted["tm_delete"].is_string());

    for (method, tail) in [
        (Method::Get, ""),
        (Method::Delete, ""),
        (Method::Put, "/flow_ids"),
    ] {
        let error = env
            .call(method, &number_uri(&id, A, tail), json!({}))
            .await
            .unwrap_err();
        assert_eq!(error.reason, "NUMBER_NOT_FOUND", "{method} {tail}");
    }
    let list = env
        .call(Method::Get, &numbers_uri(A), Value::Null)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    let gone = env
        .call(
            Method::Get,
            "/v1/numbers/by_number/+14155550100",
            Value::Null,
        )
        .await
        .unwrap_err();
    assert_eq!(gone.kind, ErrorKind::NotFound);

    // A deleted number can be registered again, by anyone.
    let again = create(&env, B, "+14155550100").await;
    assert_ne!(again["id"], id);
}

async fn numbers_are_unique_among_live_numbers(env: Env) {
    create(&env, A, "+14155550101").await;
    for customer in [A, B] {
        let error = env
            .call(
                Method::Post,
                &numbers_uri(customer),
                json!({"number": "+14155550101"}),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::AlreadyExists, "{error}");
        assert!(error.message.contains("+14155550101"), "{error}");
    }
    assert_eq!(env.count("number_numbers").await, 1);
}

async fn list_pages_newest_first(env: Env) {
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create(&env, A, &format!("+1415555020{i}")).await["id"].clone());
    }
    create(&env, B, "+14155550299").await;
    ids.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("{}&page_size=3&page_token={token}", numbers_uri(A));
        let page = env.call(Method::Get, &uri, Value::Null).await.unwrap();
        contract_ok("GET", "/numbers", &page);
        pages += 1;
        let result = page["result"].as_array().unwrap();
        assert!(result.len() <= 3);
        seen.extend(result.iter().map(|n| n["id"].clone()));
        token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);

    // The super-admin scope sees every customer's numbers.
    let all = env
        .call(Method::Get, "/v1/numbers", Value::Null)
        .await
        .unwrap();
    assert_eq!(all["result"].as_array().unwrap().len(), 8);
}

async fn customers_never_see_each_others_numbers(env: Env) {
    let mine = create(&env, A, "+14155550300").await;
    let id = &mine["id"];
    for (method, tail, body) in [
        (Method::Get, "", Value::Null),
        (Method::Put, "", json!({"name": "stolen"})),
        (Method::Put, "/flow_ids", json!({"call_flow_id": FLOW_B})),
        (Method::Put, "/metadata", json!({"rtp_debug": true})),
        (Method::Delete, "", Value::Null),
    ] {
        let error = env
            .call(method, &number_uri(id, B, tail), body)
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotFound, "{method} {tail}: {error}");
    }
    let theirs = env
        .call(Method::Get, &numbers_uri(B), Value::Null)
        .await
        .unwrap();
    assert_eq!(theirs["result"], json!([]));
    let by_number = env
        .call(
            Method::Get,
            &format!("/v1/numbers/by_number/+14155550300?customer_id={B}"),
            Value::Null,
        )
        .await
        .unwrap_err();
    assert_eq!(by_number.kind, ErrorKind::NotFound);
    let still = env
        .call(Method::Get, &number_uri(id, A, ""), Value::Null)
        .await
        .unwrap();
    assert_eq!(still, mine);
}

async fn bad_requests_are_refused_and_write_nothing(env: Env) {
    let post = |body: Value| env.call(Method::Post, numbers_uri(A), body);
    assert_400(post(json!({"number": 14155550400u64})).await, "number");
    assert_400(post(json!({"name": "x"})).await, "number");
    assert_400(post(json!({"number": "14155550400"})).await, "E.164");
    assert_400(post(json!({"number": "+141555"})).await, "E.164");
    assert_400(
        post(json!({"number": "+14155550400", "type": "mobile"})).await,
        "type",
    );
    assert_400(
        post(json!({"number": "+14155550400", "type": "virtual"})).await,
        "+899",
    );
    assert_400(
        post(json!({"number": "+14155550400", "name": 5})).await,
        "name",
    );
    assert_400(
        post(json!({"number": "+14155550400", "detail": []})).await,
        "detail",
    );
    assert_400(
        post(json!({"number": "+14155550400", "call_flow_id": "nope"})).await,
        "call_flow_id",
    );
    assert_400(
        post(json!({"number": "+14155550400", "call_flow_id": 7})).await,
        "call_flow_id",
    );
    // A flow that does not exist, or is another customer's, is refused by name.
    assert_400(
        post(json!({"number": "+14155550400", "call_flow_id": Uuid::now_v7()})).await,
        "call_flow_id",
    );
    assert_400(
        post(json!({"number": "+14155550400", "message_flow_id": FLOW_B})).await,
        "message_flow_id",
    );
    assert_400(post(json!("+14155550400")).await, "body");
    assert_400(
        env.call(
            Method::Post,
            "/v1/numbers",
            json!({"number": "+14155550400"}),
        )
        .await,
        "customer_id",
    );
    assert_400(
        env.call(
            Method::Post,
            "/v1/numbers?customer_id=nope",
            json!({"number": "+14155550400"}),
        )
        .await,
        "customer_id",
    );
    assert_eq!(env.count("number_numbers").await, 0);

    let mine = create(&env, A, "+14155550401").await;
    let id = &mine["id"];
    let put =
        |tail: &'static str, body: Value| env.call(Method::Put, number_uri(id, A, tail), body);
    assert_400(put("", json!({"name": 1})).await, "name");
    assert_400(
        put("", json!({"call_flow_id": FLOW_B})).await,
        "call_flow_id",
    );
    assert_400(
        put("/flow_ids", json!({"message_flow_id": "x"})).await,
        "message_flow_id",
    );
    assert_400(
        put("/flow_ids", json!({"call_flow_id": Uuid::now_v7()})).await,
        "call_flow_id",
    );
    assert_400(
        put("/metadata", json!({"rtp_debug": "yes"})).await,
        "rtp_debug",
    );
    for uri in [
        format!("/v1/numbers/not-a-uuid?customer_id={A}"),
        format!("/v1/numbers?customer_id={A}&page_size=0"),
        format!("/v1/numbers?customer_id={A}&page_size=1001"),
        format!("/v1/numbers?customer_id={A}&page_token=garbage"),
        "/v1/numbers/by_number/12345".to_string(),
    ] {
        let error = env.call(Method::Get, &uri, Value::Null).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument, "{uri}: {error}");
    }
    let still = env
        .call(Method::Get, &number_uri(id, A, ""), Value::Null)
        .await
        .unwrap();
    assert_eq!(still, mine);
    assert_eq!(env.count("number_numbers").await, 1);
}

async fn flow_service_down_is_unavailable_and_writes_nothing(mut env: Env) {
    env.stop("flow");
    let body = json!({"number": "+14155550500", "call_flow_id": FLOW_A1});
    let error = env
        .call(Method::Post, &numbers_uri(A), body)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert_eq!(env.count("number_numbers").await, 0);
    // Without flows nothing needs checking.
    create(&env, A, "+14155550500").await;
}

on_sqlite_and_mysql!(
    Env:
    customer_registers_a_number_and_routes_it_to_flows,
    numbers_are_unique_among_live_numbers,
    list_pages_newest_first,
    customers_never_see_each_others_numbers,
    bad_requests_are_refused_and_write_nothing,
    flow_service_down_is_unavailable_and_writes_nothing,
);
