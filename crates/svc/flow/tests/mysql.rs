//! The flow service against MySQL/MariaDB: the same RPCs as the SQLite unit tests, so the
//! SQL of both resources is proven on both engines.
//!
//! Runs only when `VOXBIN_TEST_MYSQL_DSN` is set, e.g.
//! `VOXBIN_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306 cargo test -p voxbin-svc-flow --test mysql`.
//! Each test works in its own database, `voxbin_svc_flow_<test>`, dropped and recreated first.

use std::sync::Arc;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Handler, Method};
use voxbin_core::ErrorKind;
use voxbin_store::Dialect;
use voxbin_svc_flow::{handler, SERVICE};
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{Harness, Served};

/// The flow service alone.
struct Flow;

impl Served for Flow {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "voxbin_svc_flow_";
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

/// A flow service on a freshly created, migrated MySQL database.
async fn service(test: &str) -> Option<Harness<Flow>> {
    let service = Harness::<Flow>::mysql(test).await?;
    assert_eq!(service.deps.db.dialect(), Dialect::MySql);
    Some(service)
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
    s.deps.cache.delete(&format!("flow:{id}")).await.unwrap();
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
    s.deps.cache.delete(&format!("flow:{id}")).await.unwrap();
    let got = s.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, updated);

    let deleted = s.call_as(a, Method::Delete, &path, None).await.unwrap();
    assert!(deleted["tm_delete"].is_string());
    s.deps.cache.delete(&format!("flow:{id}")).await.unwrap();
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
