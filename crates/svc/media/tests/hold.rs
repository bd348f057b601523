//! Hold both ways over SIP: the node puts the caller on hold and back (music on hold and a
//! re-INVITE each time), then the caller holds the node with its own re-INVITE, which the
//! engine answers and the call service hears about.

mod support;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_unhold_reinvite_the_caller_and_the_callers_hold_is_reported() {
    let mut h = support::start(17600, 47200).await;
    let caller = support::sipp_uac("caller_held", 17601, 45900, 17600);
    let created = h.next("leg_created").await;
    let leg = created["id"].as_str().expect("leg id").to_string();
    h.command(&format!("/v1/legs/{leg}/answer"), json!({}))
        .await
        .expect("answer");
    h.next("leg_answered").await;

    let held = h
        .command(&format!("/v1/legs/{leg}/hold"), json!({}))
        .await
        .expect("hold");
    assert_eq!(held["signalled"], true);
    assert_eq!(h.next("leg_updated").await["reinvite"], "answered");
    let resumed = h
        .command(&format!("/v1/legs/{leg}/unhold"), json!({}))
        .await
        .expect("unhold");
    assert_eq!(resumed["signalled"], true);
    assert_eq!(h.next("leg_updated").await["reinvite"], "answered");

    // the caller's own hold
    let update = h.next("leg_updated").await;
    assert_eq!(update["remote_hold"], true, "{update}");

    h.command(&format!("/v1/legs/{leg}/hangup"), json!({}))
        .await
        .expect("hangup");
    h.next("leg_hangup").await;
    support::sipp_passes(caller).await;
    h.node.stop().await;
}
