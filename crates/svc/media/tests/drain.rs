//! Shutdown of a media node: it announces `draining`, refuses new INVITEs with 503 and
//! Retry-After, and lets the call in flight go on until it ends.

mod support;

use std::time::Duration;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_node_refuses_new_calls_and_keeps_the_current_one() {
    let mut h = support::start(17500, 46800).await;
    let first = support::sipp_uac("caller_talks", 17501, 45800, 17500);
    let created = h.next("leg_created").await;
    let leg = created["id"].as_str().expect("leg id").to_string();
    h.command(&format!("/v1/legs/{leg}/answer"), json!({}))
        .await
        .expect("answer");
    h.next("leg_answered").await;

    h.node.drain().await;
    loop {
        let beat = h.next("medianode_updated").await;
        if beat["status"] == "draining" {
            break;
        }
    }
    let refused = support::sipp_uac("caller_refused", 17502, 45810, 17500);
    support::sipp_passes(refused).await;
    assert!(
        !h.node.wait_idle(Duration::from_millis(200)).await,
        "the call in flight is still up"
    );

    // the call in flight still takes commands
    h.command(&format!("/v1/legs/{leg}/beep"), json!({}))
        .await
        .expect("beep while draining");
    h.command(&format!("/v1/legs/{leg}/hangup"), json!({}))
        .await
        .expect("hangup");
    h.next("leg_hangup").await;
    support::sipp_passes(first).await;
    assert!(h.node.wait_idle(Duration::from_secs(5)).await);
    let support::Harness {
        node, mut events, ..
    } = h;
    node.stop().await;
    let down = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = events.recv().await {
            let data = e.data.unwrap_or_default();
            if e.event_type == "medianode_updated" && data["status"] == "down" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(down, Ok(true), "the node says it is down");
}
