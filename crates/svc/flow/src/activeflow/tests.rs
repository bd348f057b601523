//! The activeflow resource through the bus, as the API gateway and other services use it.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::ErrorKind;

use super::model::{ActiveflowStatus, MAIN_STACK_ID};
use super::store;
use crate::testutil::{assert_contract, Harness};

async fn flow(h: &Harness, customer: Uuid) -> Value {
    let body = json!({
        "name": "ivr",
        "detail": "",
        "actions": [{"type": "answer"}, {"type": "talk", "option": {"text": "hi"}}],
    });
    h.call_as(customer, Method::Post, "/v1/flows", Some(body))
        .await
        .unwrap()
}

/// Starts an activeflow the way the call service will (internal scope).
async fn start(h: &Harness, customer: Uuid, flow_id: &Value) -> Value {
    let body = json!({
        "customer_id": customer,
        "flow_id": flow_id,
        "reference_type": "call",
        "reference_id": Uuid::now_v7(),
    });
    let af = h
        .call(Method::Post, "/v1/activeflows", Some(body))
        .await
        .unwrap();
    assert_contract("POST", "/activeflows", 200, &af);
    af
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn activeflow_is_created_read_listed_and_stopped() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let f = flow(&h, a).await;
    let af = start(&h, a, &f["id"]).await;
    assert_eq!(af["status"], "running");
    assert_eq!(af["flow_id"], f["id"]);
    assert_eq!(af["customer_id"], a.to_string());
    assert_eq!(af["reference_type"], "call");
    assert_eq!(af["executed_actions"], json!([]));
    assert!(
        af.get("current_action").is_none(),
        "cursor on the start action"
    );

    // The row holds what the engine needs.
    let id: Uuid = id_of(&af).parse().unwrap();
    let row = store::get_live(h.deps.db.writer(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.stack_map.len(), 1);
    let main = &row.stack_map[&MAIN_STACK_ID];
    assert_eq!(
        serde_json::to_value(&main.actions).unwrap(),
        f["actions"],
        "main stack holds the flow's actions"
    );
    assert_eq!(row.current_stack_id, MAIN_STACK_ID);
    assert_eq!(
        row.current_action["id"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(row.execute_count, 0);

    let path = format!("/v1/activeflows/{id}");
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_contract("GET", "/activeflows/{id}", 200, &got);
    assert_eq!(got, af);
    let list = h
        .call_as(a, Method::Get, "/v1/activeflows", None)
        .await
        .unwrap();
    assert_contract("GET", "/activeflows", 200, &list);
    assert_eq!(list["result"], json!([af]));

    let stopped = h
        .call_as(a, Method::Post, &format!("{path}/stop"), None)
        .await
        .unwrap();
    assert_contract("POST", "/activeflows/{id}/stop", 200, &stopped);
    assert_eq!(stopped["status"], "ended");
    let again = h
        .call_as(a, Method::Post, &format!("{path}/stop"), None)
        .await
        .unwrap();
    assert_eq!(
        again, stopped,
        "stopping an ended activeflow changes nothing"
    );
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, stopped);
    let row = store::get_live(h.deps.db.writer(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, ActiveflowStatus::Ended);
}

#[tokio::test]
async fn activeflows_list_in_three_pages_newest_first() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let fa = flow(&h, a).await;
    let fb = flow(&h, b).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(id_of(&start(&h, a, &fa["id"]).await));
    }
    start(&h, b, &fb["id"]).await;
    ids.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("/v1/activeflows?page_size=2&page_token={token}");
        let page = h.call_as(a, Method::Get, &uri, None).await.unwrap();
        assert_contract("GET", "/activeflows", 200, &page);
        pages += 1;
        seen.extend(page["result"].as_array().unwrap().iter().map(id_of));
        token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
    let all = h.call(Method::Get, "/v1/activeflows", None).await.unwrap();
    assert_eq!(all["result"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn another_customer_cannot_see_or_stop_an_activeflow() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let f = flow(&h, a).await;
    let af = start(&h, a, &f["id"]).await;
    let path = format!("/v1/activeflows/{}", id_of(&af));
    let err = h.call_as(b, Method::Get, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.reason, "ACTIVEFLOW_NOT_FOUND");
    let err = h
        .call_as(b, Method::Post, &format!("{path}/stop"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let list = h
        .call_as(b, Method::Get, "/v1/activeflows", None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, af, "still running, unchanged");
}

#[tokio::test]
async fn bad_activeflow_requests_are_refused_and_write_nothing() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let f = flow(&h, a).await;
    let good = json!({
        "customer_id": a, "flow_id": f["id"], "reference_type": "call", "reference_id": Uuid::now_v7(),
    });

    // Customers cannot start activeflows through the API yet.
    let err = h
        .call_as(a, Method::Post, "/v1/activeflows", Some(good.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::PermissionDenied);

    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        (body, field.to_owned())
    };
    let cases = [
        with("customer_id", Value::Null),
        with("customer_id", json!("nope")),
        with("flow_id", Value::Null),
        with("flow_id", json!(3)),
        with("flow_id", json!(Uuid::now_v7())),
        with("customer_id", json!(b)), // the flow is A's
        with("reference_type", json!("fax")),
        with("reference_type", Value::Null),
        with("reference_id", json!("x")),
    ];
    for (body, field) in cases {
        let err = h
            .call(Method::Post, "/v1/activeflows", Some(body.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{body}");
        // A foreign flow is reported on flow_id, the field that points at it.
        let named = if field == "customer_id" && body["customer_id"] == json!(b) {
            "flow_id".to_owned()
        } else {
            field
        };
        assert!(err.message.starts_with(&named), "{named}: {err}");
    }
    // A deleted flow cannot be started either.
    h.call_as(a, Method::Delete, &format!("/v1/flows/{}", id_of(&f)), None)
        .await
        .unwrap();
    let err = h
        .call(Method::Post, "/v1/activeflows", Some(good))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(h.count("flow_activeflows").await, 0);

    for uri in [
        "/v1/activeflows/nope",
        "/v1/activeflows?page_size=0",
        "/v1/activeflows?page_token=garbage",
    ] {
        let err = h.call_as(a, Method::Get, uri, None).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{uri}");
    }
    let err = h
        .call_as(a, Method::Post, "/v1/activeflows/nope/stop", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    let err = h
        .call_as(
            a,
            Method::Get,
            &format!("/v1/activeflows/{}", Uuid::now_v7()),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn stopping_publishes_one_update() {
    let h = Harness::sqlite().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _sub = h
        .deps
        .bus
        .subscribe_filtered(
            "test-activeflow-events",
            &["flow-manager"],
            &["activeflow_created", "activeflow_updated"],
            voxbin_bus::event_handler_fn(move |event: voxbin_bus::Event| {
                let _ = tx.send((event.event_type, event.data));
                async { Ok(()) }
            }),
        )
        .await
        .unwrap();
    let a = Uuid::now_v7();
    let f = flow(&h, a).await;
    let af = start(&h, a, &f["id"]).await;
    let stop = format!("/v1/activeflows/{}/stop", id_of(&af));
    h.call_as(a, Method::Post, &stop, None).await.unwrap();
    h.call_as(a, Method::Post, &stop, None).await.unwrap();
    let (first, _) = rx.recv().await.unwrap();
    assert_eq!(first, "activeflow_created");
    let (second, data) = rx.recv().await.unwrap();
    assert_eq!(second, "activeflow_updated");
    assert_eq!(data.unwrap()["status"], "ended");
    tokio::task::yield_now().await;
    assert!(rx.try_recv().is_err(), "the second stop publishes nothing");
}
