//! The tag service driven over the bus exactly as the API gateway drives it, on SQLite and
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

/// The tag service alone.
struct Tag;

impl Served for Tag {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxtag_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

/// A running tag service and a client playing the gateway.
type Env = Harness<Tag>;

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
    assert_eq!(env.count("tag_tags").await, 3);
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
    assert_eq!(env.count("tag_tags").await, 0);

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
    assert_eq!(env.count("tag_tags").await, 1);
}

/// A create the broker delivers twice (its first replica died before acknowledging) makes one
/// tag and answers it both times; a new delivery of the same body is a new create (409 here).
async fn a_redelivered_create_makes_one_tag(env: Env) {
    let served = handler(env.deps.clone());
    let mut request = voxbin_bus::Request::new(Method::Post, tags_uri(A))
        .with_data(json!({"name": "once", "detail": ""}));
    request.delivery_id = Some(Uuid::now_v7().simple().to_string());
    let first = served.handle(request.clone()).await.into_result().unwrap();
    let again = served.handle(request.clone()).await.into_result().unwrap();
    assert_eq!(first, again);
    assert_eq!(env.count("tag_tags").await, 1);
    request.delivery_id = Some(Uuid::now_v7().simple().to_string());
    let other = served.handle(request).await.into_result().unwrap_err();
    assert_eq!(other.kind, ErrorKind::AlreadyExists, "the name is taken");
    assert_eq!(env.count("tag_tags").await, 1);
}

on_sqlite_and_mysql!(
    Env:
    a_redelivered_create_makes_one_tag,
    customer_tags_agents_by_skill,
    tag_names_are_unique_per_customer,
    list_pages_newest_first,
    customers_never_see_each_others_tags,
    bad_requests_are_refused_and_write_nothing,
);
