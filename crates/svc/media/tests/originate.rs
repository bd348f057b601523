//! An outgoing call placed over the bus the way the call service places one: `originate` on
//! the shared media queue, sipp as the callee; the leg's events follow it to the hangup.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use voxbin_bus::{request_queue, Method, Request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_rings_answers_and_hangs_up() {
    let mut h = support::start(17300, 46400).await;
    let callee = support::sipp_uas("callee_answers", 17301, 45400);
    // any node takes originate on the shared queue; the answer names the node
    let req = Request::new(Method::Post, "/v1/legs")
        .with_publisher("call-manager")
        .with_data(json!({
            "uri": "sip:+15550123@127.0.0.1:17301",
            "from": "\"Voxbin\" <sip:+15550199@voxbin.local>",
            "headers": {"X-Voxbin-Call": "test"},
        }));
    // sipp binds its port shortly after it starts; the INVITE is retransmitted meanwhile
    let resp = h
        .bus
        .rpc(&request_queue("media"), req, Duration::from_secs(10))
        .await
        .expect("the node answers");
    assert_eq!(resp.status_code, 200, "{:?}", resp.data);
    let data = resp.data.unwrap_or(Value::Null);
    assert_eq!(data["node_id"], h.node.node_id());
    let leg = data["id"].as_str().expect("leg id").to_string();

    let created = h.next("leg_created").await;
    assert_eq!(created["id"], leg.as_str());
    assert_eq!(created["direction"], "outgoing");
    assert_eq!(h.next("leg_ringing").await["id"], leg.as_str());
    assert_eq!(h.next("leg_answered").await["id"], leg.as_str());
    let state = h
        .call(Method::Get, &format!("/v1/legs/{leg}"), Value::Null)
        .await
        .expect("leg state");
    assert_eq!(state["status"], "answered");
    assert_eq!(state["direction"], "outgoing");

    h.command(
        &format!("/v1/legs/{leg}/hangup"),
        json!({"cause": "normal"}),
    )
    .await
    .expect("hangup");
    let hangup = h.next("leg_hangup").await;
    assert_eq!(hangup["hangup_reason"], "normal");
    assert_eq!(hangup["hangup_by"], "local");
    assert_eq!(hangup["direction"], "outgoing");
    support::sipp_passes(callee).await;

    // the leg is gone
    let gone = h
        .command(&format!("/v1/legs/{leg}/answer"), json!({}))
        .await
        .expect_err("the leg ended");
    assert!(gone.to_string().contains("not"), "{gone}");
    h.node.stop().await;
}
