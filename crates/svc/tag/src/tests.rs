//! The tag service driven over the bus exactly as the API gateway drives it, on SQLite and
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

/// A running tag service and a client playing the gateway.
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

    /// A fresh database `vxtag_<test>` on the server of `VOXBIN_TEST_MYSQL_DSN`.
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
        let name = format!("vxtag_{}", &test[..test.len().min(48)]);
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
        sqlx::query_scalar("SELECT COUNT(*) FROM tag_tags")
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

fn tags_uri(customer: Uuid) -> String {
    format!("/v1/tags?customer_id={customer}")
}

fn tag_uri(id: &Value, customer: Uuid) -> String {
    format!("/v1/tags/{}?customer_id={customer}", id.as_str().unwrap())
}

async fn create(env: &Env, customer: Uuid, name: &str) -> Value {
    let body = json!({"name": name, "detail": ""});
    env.call(Method::Post, &tags_uri(customer), body)
        .await
        .unwrap()
}

fn assert_400(result: Result<Value>, field: &str) {
    let error = result.expect_err(field);
    assert_eq!(error.kind, ErrorKind::InvalidArgument, "{field}: {error}");
    assert!(error.message.contains(field), "{field}: {error}");
}

async fn customer_tags_agents_by_skill(env: Env) {
    let body = json!({"name": "spanish", "detail": "speaks Spanish", "color": "red"});
    let created = env.call(Method::Post, tags_uri(A), body).await.unwrap();
    contract_ok("POST", "/tags", &created);
    assert_eq!(created["name"], "spanish");
    assert_eq!(created["customer_id"], A.to_string());
    assert_eq!(created["tm_delete"], Value::Null);
    let id = created["id"].clone();

    let got = env
        .call(Method::Get, &tag_uri(&id, A), Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/tags/{id}", &got);
    assert_eq!(got, created);

    let list = env
        .call(Method::Get, &tags_uri(A), Value::Null)
        .await
        .unwrap();
    contract_ok("GET", "/tags", &list);
    assert_eq!(list, json!({"result": [created], "next_page_token": ""}));

    let body = json!({"name": "spanish-es", "detail": "Spain"});
    let updated = env.call(Method::Put, &tag_uri(&id, A), body).await.unwrap();
    contract_ok("PUT", "/tags/{id}", &updated);
    assert_eq!(updated["name"], "spanish-es");
    assert_eq!(updated["detail"], "Spain");
    assert_eq!(updated["tm_create"], created["tm_create"]);

    let deleted = env
        .call(Method::Delete, &tag_uri(&id, A), Value::Null)
        .await
        .unwrap();
    contract_ok("DELETE", "/tags/{id}", &deleted);
    assert!(deleted["tm_delete"].is_string());
    for method in [Method::Get, Method::Delete, Method::Put] {
        let error = env
            .call(method, &tag_uri(&id, A), json!({"name": "x"}))
            .await
            .unwrap_err();
        assert_eq!(error.reason, "TAG_NOT_FOUND", "{method}");
    }
    let list = env
        .call(Method::Get, &tags_uri(A), Value::Null)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    // The name is free again once the tag is deleted.
    create(&env, A, "spanish-es").await;
}

async fn tag_names_are_unique_per_customer(env: Env) {
    let first = create(&env, A, "vip").await;
    let other = create(&env, A, "gold").await;
    let error = env
        .call(Method::Post, &tags_uri(A), json!({"name": "vip"}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::AlreadyExists, "{error}");
    let error = env
        .call(
            Method::Put,
            &tag_uri(&other["id"], A),
            json!({"name": "vip"}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::AlreadyExists, "{error}");
    // Renaming a tag to its own name is no conflict; another customer may use the name.
    env.call(
        Method::Put,
        &tag_uri(&first["id"], A),
        json!({"name": "vip", "detail": "d"}),
    )
    .await
    .unwrap();
    create(&env, B, "vip").await;
    assert_eq!(env.rows().await, 3);
}

async fn list_pages_newest_first(env: Env) {
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create(&env, A, &format!("tag-{i}")).await["id"].clone());
    }
    create(&env, B, "theirs").await;
    ids.reverse();
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let uri = format!("{}&page_size=3&page_token={token}", tags_uri(A));
        let page = env.call(Method::Get, &uri, Value::Null).await.unwrap();
        contract_ok("GET", "/tags", &page);
        pages += 1;
        let result = page["result"].as_array().unwrap();
        assert!(result.len() <= 3);
        seen.extend(result.iter().map(|t| t["id"].clone()));
        token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((pages, seen), (3, ids));
    let all = env
        .call(Method::Get, "/v1/tags", Value::Null)
        .await
        .unwrap();
    assert_eq!(all["result"].as_array().unwrap().len(), 8);
}

async fn customers_never_see_each_others_tags(env: Env) {
    let mine = create(&env, A, "mine").await;
    let id = &mine["id"];
    for (method, body) in [
        (Method::Get, Value::Null),
        (Method::Put, json!({"name": "stolen"})),
        (Method::Delete, Value::Null),
    ] {
        let error = env.call(method, &tag_uri(id, B), body).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotFound, "{method}: {error}");
    }
    let theirs = env
        .call(Method::Get, &tags_uri(B), Value::Null)
        .await
        .unwrap();
    assert_eq!(theirs["result"], json!([]));
    let still = env
        .call(Method::Get, &tag_uri(id, A), Value::Null)
        .await
        .unwrap();
    assert_eq!(still, mine);
}

async fn bad_requests_are_refused_and_write_nothing(env: Env) {
    let post = |body: Value| env.call(Method::Post, tags_uri(A), body);
    assert_400(post(json!({"name": 5})).await, "name");
    assert_400(post(json!({"detail": "no name"})).await, "name");
    assert_400(post(json!({"name": "  "})).await, "name");
    assert_400(post(json!({"name": "x".repeat(256)})).await, "name");
    assert_400(
        post(json!({"name": "ok", "detail": {"a": 1}})).await,
        "detail",
    );
    assert_400(post(json!(["name"])).await, "body");
    assert_400(
        env.call(Method::Post, "/v1/tags", json!({"name": "admin"}))
            .await,
        "customer_id",
    );
    assert_eq!(env.rows().await, 0);

    let mine = create(&env, A, "mine").await;
    let id = &mine["id"];
    assert_400(
        env.call(Method::Put, &tag_uri(id, A), json!({"name": true}))
            .await,
        "name",
    );
    assert_400(
        env.call(Method::Put, &tag_uri(id, A), json!({"detail": "x"}))
            .await,
        "name",
    );
    for uri in [
        format!("/v1/tags/123?customer_id={A}"),
        format!("/v1/tags?customer_id={A}&page_size=abc"),
        format!("/v1/tags?customer_id={A}&page_size=1001"),
        format!("/v1/tags?customer_id={A}&page_token=yesterday"),
        "/v1/tags?customer_id=someone".to_string(),
    ] {
        let error = env.call(Method::Get, &uri, Value::Null).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument, "{uri}: {error}");
    }
    let still = env
        .call(Method::Get, &tag_uri(id, A), Value::Null)
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
    customer_tags_agents_by_skill,
    tag_names_are_unique_per_customer,
    list_pages_newest_first,
    customers_never_see_each_others_tags,
    bad_requests_are_refused_and_write_nothing,
);
