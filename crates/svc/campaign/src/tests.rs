//! The campaign service (outplans) driven over the bus exactly as the API gateway drives it, on SQLite and
//! (when `VOXBIN_TEST_MYSQL_DSN` is set) on MySQL/MariaDB.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer, InProcBus, Method};
use voxbin_cache::MemoryCache;
use voxbin_contract::Contract;
use voxbin_core::config::Config;
use voxbin_core::{ErrorKind, Result};
use voxbin_store::{sqlx, Db, DbOptions};
use voxbin_svc_kit::Deps;

use crate::{handler, SERVICE};

const A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000a);
const B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000b);

/// A running campaign service and a client playing the gateway.
struct Env {
    client: BusClient,
    db: Arc<Db>,
    _server: Consumer,
    _dir: Option<tempfile::TempDir>,
}

impl Env {
    async fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        Env::start(db, Some(dir)).await
    }

    /// A fresh database `vxcmp_<test>` on the server of `VOXBIN_TEST_MYSQL_DSN`.
    async fn mysql(test: &str) -> Option<Env> {
        let Ok(base) = std::env::var("VOXBIN_TEST_MYSQL_DSN") else {
            println!("skipped {test} on MySQL: VOXBIN_TEST_MYSQL_DSN is not set");
            return None;
        };
        let base = base.split('?').next().unwrap_or_default();
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let server = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        // MySQL names are at most 64 characters.
        let name = format!("vxcmp_{}", &test[..test.len().min(48)]);
        let dsn = format!("{server}/{name}");
        let db = Db::connect(&DbOptions::new(dsn.clone())).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(db.writer())
            .await
            .unwrap();
        db.close().await;
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        Some(Env::start(db, None).await)
    }

    async fn start(db: Db, dir: Option<tempfile::TempDir>) -> Env {
        db.migrate().await.unwrap();
        let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
        let db = Arc::new(db);
        let deps = Deps {
            bus: bus.clone(),
            db: db.clone(),
            cache: Arc::new(MemoryCache::new(1000)),
            config: Arc::new(Config::default()),
        };
        let server = bus
            .serve(&request_queue(SERVICE), handler(deps))
            .await
            .unwrap();
        Env {
            client: BusClient::new(bus, "api", Duration::from_secs(5)),
            db,
            _server: server,
            _dir: dir,
        }
    }

    async fn call(&self, method: Method, uri: impl AsRef<str>, body: Value) -> Result<Value> {
        let data = (!body.is_null()).then_some(body);
        self.client.call(SERVICE, method, uri.as_ref(), data).await
    }

    async fn rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM campaign_outplans")
            .fetch_one(self.db.writer())
            .await
            .unwrap()
    }
}

fn contract_ok(method: &str, path: &str, body: &Value) {
    let contract = Contract::shared().unwrap();
    if let Err(errors) = contract.validate_response_strict(method, path, 200, body) {
        panic!("{method} {path} answer breaks the contract: {errors:#?}\n{body:#}");
    }
}

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

fn assert_400(result: Result<Value>, field: &str) {
    let error = result.expect_err(field);
    assert_eq!(error.kind, ErrorKind::InvalidArgument, "{field}: {error}");
    assert!(error.message.contains(field), "{field}: {error}");
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
    assert_eq!(env.rows().await, 0);

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
    assert_eq!(env.rows().await, 1);
}

macro_rules! on_sqlite_and_mysql {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $story() {
                super::$story(super::Env::sqlite().await).await;
            })*
        }
        mod mysql {
            $(#[tokio::test]
            async fn $story() {
                if let Some(env) = super::Env::mysql(stringify!($story)).await {
                    super::$story(env).await;
                }
            })*
        }
    };
}

on_sqlite_and_mysql!(
    customer_plans_how_a_campaign_dials,
    list_pages_newest_first,
    customers_never_see_each_others_outplans,
    bad_requests_are_refused_and_write_nothing,
);
