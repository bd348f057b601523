//! The campaign service (outplans) driven over the bus exactly as the API gateway drives it, on SQLite and
//! (when `VOXBIN_TEST_MYSQL_DSN` is set) on MySQL/MariaDB.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Handler, Method};
use voxbin_core::ErrorKind;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{assert_400, contract_ok, on_sqlite_and_mysql, Harness, Served};

use crate::{handler, SERVICE};

const A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000a);
const B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000b);

/// The campaign service alone.
struct Campaign;

impl Served for Campaign {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxcmp_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

/// A running campaign service and a client playing the gateway.
type Env = Harness<Campaign>;

fn outplans_uri(customer: Uuid) -> String {
    format!("/v1/outplans?customer_id={customer}")
}

fn outplan_uri(id: &Value, customer: Uuid, tail: &str) -> String {
    format!(
        "/v1/outplans/{}{tail}?customer_id={customer}",
        id.as_str().unwrap()
    )
}

/// A complete, valid create body.
fn plan(name: &str) -> Value {
    json!({
        "name": name, "detail": "weekday calls",
        "source": {"type": "tel", "target": "+15559876543"},
        "dial_timeout": 30000, "try_interval": 60000,
        "max_try_count_0": 3, "max_try_count_1": 2, "max_try_count_2": 1,
        "max_try_count_3": 1, "max_try_count_4": 0,
    })
}

/// `plan` with one field replaced (or removed, with `Value::Null`).
fn plan_with(field: &str, value: Value) -> Value {
    let mut body = plan("x");
    match value {
        Value::Null => body.as_object_mut().unwrap().remove(field),
        value => body
            .as_object_mut()
            .unwrap()
            .insert(field.to_owned(), value),
    };
    body
}

async fn create(env: &Env, customer: Uuid, name: &str) -> Value {
    env.call(Method::Post, outplans_uri(customer), plan(name))
        .await
        .unwrap()
}

async fn customer_plans_how_a_campaign_dials(env: Env) {
    let created = create(&env, A, "weekday").await;
    contract_ok("POST", "/outplans", &created);
    assert_eq!(created["name"], "weekday");
    assert_eq!(
        created["source"],
        json!({"type": "tel", "target": "+15559876543", "target_name": "", "name": "", "detail": ""})
    );
    assert_eq!(created["dial_timeout"], 30000);
    assert_eq!(created["max_try_count_0"], 3);
    assert_eq!(created["max_try_count_4"], 0);
    assert_eq!(created["tm_delete"], Value::Null);
    let id = created["id"].clone();

    let got = env
        .call(Method::Get, outplan_uri(&id, A, ""), Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/outplans/{id}", &got);
    assert_eq!(got, created);
    let list = env
        .call(Method::Get, outplans_uri(A), Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/outplans", &list);
    assert_eq!(list, json!({"result": [created], "next_page_token": ""}));

    let body = json!({"name": "weekend", "detail": "sat-sun"});
    let updated = env
        .call(Method::Put, outplan_uri(&id, A, ""), body)
        .await
        .unwrap();
    contract_ok("PUT", "/outplans/{id}", &updated);
    assert_eq!(
        (&updated["name"], &updated["detail"]),
        (&json!("weekend"), &json!("sat-sun"))
    );
    assert_eq!(updated["dial_timeout"], 30000);

    let body = json!({
        "source": {"type": "sip", "target": "sip:sales@example.com", "target_name": "Sales"},
        "dial_timeout": 45000, "try_interval": 0,
        "max_try_count_0": 5, "max_try_count_1": 4, "max_try_count_2": 3,
        "max_try_count_3": 2, "max_try_count_4": 1, "name": "ignored here",
    });
    let dialled = env
        .call(Method::Put, outplan_uri(&id, A, "/dial_info"), body)
        .await
        .unwrap();
    contract_ok("PUT", "/outplans/{id}/dial_info", &dialled);
    assert_eq!(dialled["source"]["type"], "sip");
    assert_eq!(dialled["source"]["target_name"], "Sales");
    assert_eq!(dialled["dial_timeout"], 45000);
    assert_eq!(dialled["try_interval"], 0);
    assert_eq!(dialled["max_try_count_4"], 1);
    assert_eq!(dialled["name"], "weekend");

    let deleted = env
        .call(Method::Delete, outplan_uri(&id, A, ""), Value::Null)
        .await
        .unwrap();
    contract_ok("DELETE", "/outplans/{id}", &deleted);
    assert!(deleted["tm_delete"].is_string());
    for (method, tail) in [
        (Method::Get, ""),
        (Method::Delete, ""),
        (Method::Put, ""),
        (Method::Put, "/dial_info"),
    ] {
        let error = env
            .call(method, outplan_uri(&id, A, tail), plan("again"))
            .await
            .unwrap_err();
        assert_eq!(error.reason, "OUTPLAN_NOT_FOUND", "{method} {tail}");
    }
    let list = env
        .call(Method::Get, outplans_uri(A), Value::Null)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
}

async fn list_pages_newest_first(env: Env) {
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create(&env, A, &format!("plan-{i}")).await["id"].clone());
    }
    create(&env, B, "theirs").await;
    ids.reverse();
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let uri = format!("{}&page_size=3&page_token={token}", outplans_uri(A));
        let page = env.call(Method::Get, &uri, Value::Null).await.unwrap();
        contract_ok("GET", "/outplans", &page);
        pages += 1;
        let result = page["result"].as_array().unwrap();
        assert!(result.len() <= 3);
        seen.extend(result.iter().map(|o| o["id"].clone()));
        token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((pages, seen), (3, ids));
    let all = env
        .call(Method::Get, "/v1/outplans", Value::Null)
        .await
        .unwrap();
    assert_eq!(all["result"].as_array().unwrap().len(), 8);
}

async fn customers_never_see_each_others_outplans(env: Env) {
    let mine = create(&env, A, "mine").await;
    let id = &mine["id"];
    for (method, tail) in [
        (Method::Get, ""),
        (Method::Put, ""),
        (Method::Put, "/dial_info"),
        (Method::Delete, ""),
    ] {
        let error = env
            .call(method, outplan_uri(id, B, tail), plan("stolen"))
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotFound, "{method} {tail}: {error}");
    }
    let theirs = env
        .call(Method::Get, outplans_uri(B), Value::Null)
        .await
        .unwrap();
    assert_eq!(theirs["result"], json!([]));
    let still = env
        .call(Method::Get, outplan_uri(id, A, ""), Value::Null)
        .await
        .unwrap();
    assert_eq!(still, mine);
}

async fn bad_requests_are_refused_and_write_nothing(env: Env) {
    let cases = [
        ("name", json!(7)),
        ("detail", json!(false)),
        ("source", Value::Null),
        ("source", json!("+15559876543")),
        ("source", json!({"type": "fax", "target": "+15559876543"})),
        ("source", json!({"type": "tel", "target": "5559876543"})),
        ("source", json!({"type": "tel", "target": 15559876543u64})),
        ("dial_timeout", Value::Null),
        ("dial_timeout", json!("30000")),
        ("dial_timeout", json!(30)),
        ("dial_timeout", json!(600_001)),
        ("dial_timeout", json!(30000.5)),
        ("try_interval", json!(-1)),
        ("try_interval", json!(86_400_001)),
        ("max_try_count_0", Value::Null),
        ("max_try_count_2", json!(-1)),
        ("max_try_count_4", json!(101)),
        ("max_try_count_3", json!([1])),
    ];
    for (field, value) in cases {
        let body = plan_with(field, value.clone());
        let result = env.call(Method::Post, outplans_uri(A), body).await;
        assert_400(result, field);
    }
    assert_400(
        env.call(Method::Post, outplans_uri(A), json!(null)).await,
        "body",
    );
    assert_400(
        env.call(Method::Post, "/v1/outplans", plan("admin")).await,
        "customer_id",
    );
    assert_eq!(env.count("campaign_outplans").await, 0);

    let mine = create(&env, A, "mine").await;
    let id = &mine["id"];
    assert_400(
        env.call(Method::Put, outplan_uri(id, A, ""), json!({"name": ["x"]}))
            .await,
        "name",
    );
    for (field, value) in [("dial_timeout", json!(0)), ("max_try_count_1", Value::Null)] {
        let body = plan_with(field, value);
        let result = env
            .call(Method::Put, outplan_uri(id, A, "/dial_info"), body)
            .await;
        assert_400(result, field);
    }
    for uri in [
        format!("/v1/outplans/nope?customer_id={A}"),
        format!("/v1/outplans?customer_id={A}&page_size=-3"),
        format!("/v1/outplans?customer_id={A}&page_token=2026-13-99"),
    ] {
        let error = env.call(Method::Get, &uri, Value::Null).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument, "{uri}: {error}");
    }
    let still = env
        .call(Method::Get, outplan_uri(id, A, ""), Value::Null)
        .await
        .unwrap();
    assert_eq!(still, mine);
    assert_eq!(env.count("campaign_outplans").await, 1);
}

on_sqlite_and_mysql!(
    Env:
    customer_plans_how_a_campaign_dials,
    list_pages_newest_first,
    customers_never_see_each_others_outplans,
    bad_requests_are_refused_and_write_nothing,
);
