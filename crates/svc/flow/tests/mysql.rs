//! The flow service against MySQL/MariaDB: the same RPCs as the SQLite unit tests, so the
//! SQL of both resources is proven on both engines.
//!
//! Runs only when `VOXBIN_TEST_MYSQL_DSN` is set, e.g.
//! `VOXBIN_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306 cargo test -p voxbin-svc-flow --test mysql`.
//! Each test works in its own database, `voxbin_svc_flow_<test>`, dropped and recreated first.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer, InProcBus, Method};
use voxbin_cache::{Cache, MemoryCache};
use voxbin_core::config::Config;
use voxbin_core::ErrorKind;
use voxbin_store::sqlx::{AssertSqlSafe, Executor};
use voxbin_store::{Db, DbOptions, Dialect};
use voxbin_svc_flow::{handler, SERVICE};
use voxbin_svc_kit::Deps;

/// The DSN of a database for one test, or `None` (after saying so) when MySQL is not set up.
fn dsn_for(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("VOXBIN_TEST_MYSQL_DSN") else {
        println!("skipped {test}: set VOXBIN_TEST_MYSQL_DSN (e.g. mysql://root@127.0.0.1:3306) to run it");
        return None;
    };
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (base, String::new()),
    };
    // Keep scheme, credentials and host; our own database name replaces any given one.
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base.as_str(),
    };
    Some(format!("{server}/voxbin_svc_flow_{test}{query}"))
}

struct Service {
    client: BusClient,
    cache: Arc<dyn Cache>,
    _server: Consumer,
}

impl Service {
    async fn call_as(
        &self,
        customer: Uuid,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> voxbin_core::Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = format!("{path}{sep}customer_id={customer}");
        self.client.call(SERVICE, method, &uri, body).await
    }
}

/// A flow service on a freshly created, migrated MySQL database.
async fn service(test: &str) -> Option<Service> {
    let dsn = dsn_for(test)?;
    let db = Db::connect(&DbOptions::new(dsn.clone())).await.unwrap();
    let name: String = voxbin_store::sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(db.writer())
        .await
        .unwrap();
    db.writer()
        .execute(AssertSqlSafe(format!("DROP DATABASE `{name}`")))
        .await
        .unwrap();
    db.close().await;
    let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
    assert_eq!(db.dialect(), Dialect::MySql);
    db.migrate().await.unwrap();
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(1000));
    let deps = Deps {
        bus: bus.clone(),
        db: Arc::new(db),
        cache: cache.clone(),
        config: Arc::new(Config::default()),
    };
    let server = bus
        .serve(&request_queue(SERVICE), handler(deps))
        .await
        .unwrap();
    Some(Service {
        client: BusClient::new(bus, "api", Duration::from_secs(10)),
        cache,
        _server: server,
    })
}

fn new_flow(name: &str) -> Value {
    json!({"name": name, "detail": "détail ✓", "actions": [
        {"type": "answer"},
        {"type": "talk", "option": {"text": "héllo", "language": "en-US"}},
    ]})
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn mysql_flow_round_trip_paging_and_isolation() {
    let Some(s) = service("flows").await else {
        return;
    };
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut ids = Vec::new();
    for i in 0..5 {
        let flow = s
            .call_as(
                a,
                Method::Post,
                "/v1/flows",
                Some(new_flow(&format!("f{i}"))),
            )
            .await
            .unwrap();
        ids.push(id_of(&flow));
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("/v1/flows?page_size=2&page_token={token}");
        let page = s.call_as(a, Method::Get, &uri, None).await.unwrap();
        pages += 1;
        seen.extend(page["result"].as_array().unwrap().iter().map(id_of));
        token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((pages, &seen), (3, &ids));

    let id = ids[0].clone();
    let path = format!("/v1/flows/{id}");
    s.cache.delete(&format!("flow:{id}")).await.unwrap();
    let got = s.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got["detail"], "détail ✓");
    assert_eq!(got["actions"][1]["option"]["text"], "héllo");
    let err = s.call_as(b, Method::Get, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let err = s.call_as(b, Method::Delete, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    let mut update = new_flow("renamed");
    update["on_complete_flow_id"] = json!(ids[1]);
    let updated = s
        .call_as(a, Method::Put, &path, Some(update))
        .await
        .unwrap();
    assert_eq!(updated["on_complete_flow_id"], json!(ids[1]));
    s.cache.delete(&format!("flow:{id}")).await.unwrap();
    let got = s.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, updated);

    let deleted = s.call_as(a, Method::Delete, &path, None).await.unwrap();
    assert!(deleted["tm_delete"].is_string());
    s.cache.delete(&format!("flow:{id}")).await.unwrap();
    let err = s.call_as(a, Method::Get, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let list = s.call_as(a, Method::Get, "/v1/flows", None).await.unwrap();
    assert_eq!(list["result"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn mysql_activeflow_create_list_stop() {
    let Some(s) = service("activeflows").await else {
        return;
    };
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let flow = s
        .call_as(a, Method::Post, "/v1/flows", Some(new_flow("ivr")))
        .await
        .unwrap();
    let body = json!({"customer_id": a, "flow_id": flow["id"], "reference_type": "call", "reference_id": Uuid::now_v7()});
    let af = s
        .client
        .call(SERVICE, Method::Post, "/v1/activeflows", Some(body))
        .await
        .unwrap();
    assert_eq!(af["status"], "running");
    let path = format!("/v1/activeflows/{}", id_of(&af));
    assert_eq!(s.call_as(a, Method::Get, &path, None).await.unwrap(), af);
    let list = s
        .call_as(a, Method::Get, "/v1/activeflows", None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([af]));
    let err = s.call_as(b, Method::Get, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let stop = format!("{path}/stop");
    let stopped = s.call_as(a, Method::Post, &stop, None).await.unwrap();
    assert_eq!(stopped["status"], "ended");
    assert_eq!(
        s.call_as(a, Method::Post, &stop, None).await.unwrap(),
        stopped
    );
}
