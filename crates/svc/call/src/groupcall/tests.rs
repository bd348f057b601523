//! Group calls over the bus as the gateway drives them, on SQLite and (when
//! `VOXBIN_TEST_MYSQL_DSN` is set) on MariaDB, with the flow and route services served and no
//! media node: every call the group places fails at once, so a ring_all group ends with all
//! its calls failed, and a linear one dials each destination in turn. Answers are fed in as
//! the driver reports them: the first call wins, the second is hung up.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Handler, Method};
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{assert_400, contract_ok, on_sqlite_and_mysql, Harness, Served};

use super::model::{AnswerMethod, GroupStatus, Groupcall, RingMethod};
use super::{run, store};
use crate::model::{Address, Call, Direction, HangupReason, Status};
use crate::{handler, State, SERVICE};

const A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_001a);
const B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_001b);

struct Groupcalls;

impl Served for Groupcalls {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxgroup_";
    const TIMEOUT: Duration = Duration::from_secs(10);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![
            (SERVICE, handler(deps.clone())),
            ("flow", voxbin_svc_flow::handler(deps.clone())),
            ("route", voxbin_svc_route::handler(deps.clone())),
            ("number", voxbin_svc_number::handler(deps.clone())),
            ("agent", voxbin_svc_customer::agent_handler(deps.clone())),
        ]
    }
}

type Env = Harness<Groupcalls>;

fn state(env: &Env) -> State {
    State {
        db: env.deps.db.clone(),
        bus: env.deps.client(SERVICE),
        outbox: voxbin_svc_kit::outbox::Outbox::new(&env.deps, SERVICE),
        allow_loopback_carriers: true,
        ring_timeout: std::time::Duration::from_secs(60),
    }
}

fn request(ring_method: &str) -> Value {
    json!({
        "source": {"type": "tel", "target": "+15550100"},
        "destinations": [{"type": "sip", "target": "sip:alice@192.0.2.1"},
                         {"type": "sip", "target": "sip:bob@192.0.2.2"}],
        "actions": [{"type": "talk", "option": {"text": "hello"}}],
        "ring_method": ring_method,
        "answer_method": "hangup_others",
    })
}

async fn call_of(env: &Env, id: Uuid) -> Call {
    crate::store::get(env.deps.db.writer(), None, id)
        .await
        .unwrap()
}

async fn group_of(env: &Env, id: Uuid) -> Groupcall {
    store::get(env.deps.db.writer(), None, id).await.unwrap()
}

async fn ring_all_ends_once_every_call_failed(env: Env) {
    let made = env
        .call(
            Method::Post,
            format!("/v1/groupcalls?customer_id={A}"),
            request("ring_all"),
        )
        .await
        .unwrap();
    contract_ok("POST", "/groupcalls", &made);
    let gc: Groupcall = serde_json::from_value(made).unwrap();
    assert_eq!(gc.ring_method, RingMethod::RingAll);
    assert_eq!(gc.call_ids.len(), 2);
    // no media node takes them: both failed, nothing left live, the group is over
    assert_eq!(gc.status, GroupStatus::Hangup);
    assert_eq!(gc.call_count, 0);
    for id in &gc.call_ids {
        let c = call_of(&env, *id).await;
        assert_eq!(c.groupcall_id, gc.id);
        assert_eq!(
            (c.status, c.hangup_reason),
            (Status::Hangup, HangupReason::Failed)
        );
    }
    let list = env
        .call_as(A, Method::Get, "/v1/groupcalls", None::<Value>)
        .await
        .unwrap();
    contract_ok("GET", "/groupcalls", &list);
    assert_eq!(list["result"][0]["id"], json!(gc.id));
    // another customer sees nothing of it
    let theirs = env
        .call_as(B, Method::Get, "/v1/groupcalls", None::<Value>)
        .await
        .unwrap();
    assert_eq!(theirs["result"], json!([]));
    let path = format!("/v1/groupcalls/{}?customer_id={B}", gc.id);
    env.fail(Method::Get, &path, None::<Value>, 404).await;
    let path = format!("/v1/groupcalls/{}?customer_id={A}", gc.id);
    let deleted = env
        .call(Method::Delete, &path, None::<Value>)
        .await
        .unwrap();
    contract_ok("DELETE", "/groupcalls/{id}", &deleted);
    env.fail(Method::Get, &path, None::<Value>, 404).await;
    assert_eq!(
        events_of(&env, gc.id).await,
        vec!["groupcall_created", "groupcall_hangup", "groupcall_deleted"]
    );
}

/// The event types the outbox holds about `resource`, in commit order.
async fn events_of(env: &Env, resource: Uuid) -> Vec<String> {
    voxbin_store::sqlx::query_scalar(
        "SELECT event_type FROM outbox_events WHERE resource_id = ? ORDER BY seq",
    )
    .bind(resource.to_string())
    .fetch_all(env.deps.db.writer())
    .await
    .unwrap()
}

async fn linear_dials_each_destination_in_turn(env: Env) {
    let made = env
        .call(
            Method::Post,
            format!("/v1/groupcalls?customer_id={A}"),
            request("linear"),
        )
        .await
        .unwrap();
    let gc: Groupcall = serde_json::from_value(made).unwrap();
    assert_eq!(gc.ring_method, RingMethod::Linear);
    // the first failed, so the second was dialled; it failed too: over
    assert_eq!(gc.call_ids.len(), 2);
    assert_eq!(gc.dial_index, 1);
    assert_eq!(gc.status, GroupStatus::Hangup);
    let second = call_of(&env, gc.call_ids[1]).await;
    assert_eq!(second.destination.target, "sip:bob@192.0.2.2");
}

async fn bad_requests_are_refused_before_anything_is_dialled(env: Env) {
    let uri = format!("/v1/groupcalls?customer_id={A}");
    let mut bad = request("random");
    assert_400(
        env.call(Method::Post, &uri, bad.clone()).await,
        "ring_method",
    );
    bad["ring_method"] = json!("linear");
    bad["answer_method"] = json!("keep_all");
    assert_400(
        env.call(Method::Post, &uri, bad.clone()).await,
        "answer_method",
    );
    bad["answer_method"] = json!("");
    bad["destinations"] = json!([]);
    assert_400(
        env.call(Method::Post, &uri, bad.clone()).await,
        "destinations",
    );
    bad["destinations"] = json!([{"type": "sip", "target": "nobody"}]);
    assert_400(env.call(Method::Post, &uri, bad).await, "destinations[0]");
    assert_eq!(env.count("call_groupcalls").await, 0);
    assert_eq!(env.count("call_calls").await, 0);
}

/// A live ring_all group of `customer` with two ringing calls (no media node: hanging one
/// up ends it at once).
async fn live_group(env: &Env) -> (Groupcall, Call, Call) {
    let now = voxbin_core::clock::now();
    let mut gc = Groupcall {
        id: voxbin_core::id::new_id(),
        customer_id: A,
        owner_type: String::new(),
        owner_id: Uuid::nil(),
        status: GroupStatus::Progressing,
        flow_id: Uuid::nil(),
        source: Address::new("tel", "+15550100"),
        destinations: vec![
            Address::new("sip", "sip:alice@192.0.2.1"),
            Address::new("sip", "sip:bob@192.0.2.2"),
        ],
        master_call_id: Uuid::nil(),
        master_groupcall_id: Uuid::nil(),
        ring_method: RingMethod::RingAll,
        answer_method: AnswerMethod::HangupOthers,
        answer_call_id: Uuid::nil(),
        call_ids: Vec::new(),
        answer_groupcall_id: Uuid::nil(),
        groupcall_ids: Vec::new(),
        call_count: 2,
        groupcall_count: 0,
        dial_index: 0,
        variables: Default::default(),
        tm_create: now.clone(),
        tm_update: Some(now.clone()),
        tm_delete: None,
    };
    let mut calls = Vec::new();
    for d in &gc.destinations {
        let mut c = Call::new(
            voxbin_core::id::new_id(),
            A,
            Direction::Outgoing,
            Status::Ringing,
            gc.source.clone(),
            d.clone(),
            String::new(),
            now.clone(),
        );
        c.groupcall_id = gc.id;
        gc.call_ids.push(c.id);
        calls.push(c);
    }
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    store::insert(&mut conn, &gc).await.unwrap();
    for c in &calls {
        crate::store::insert(&mut conn, c).await.unwrap();
    }
    let b = calls.pop().unwrap();
    let a = calls.pop().unwrap();
    (gc, a, b)
}

async fn the_first_answer_wins_and_the_group_ends_with_its_calls(env: Env) {
    let st = state(&env);
    let (gc, a, b) = live_group(&env).await;
    // both answer, one after the other: a wins, b is hung up
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    for c in [&a, &b] {
        assert!(
            crate::store::set_status(&mut conn, c.id, Status::Progressing)
                .await
                .unwrap()
        );
    }
    drop(conn);
    assert!(run::call_answered(&st, &call_of(&env, a.id).await)
        .await
        .unwrap());
    assert!(!run::call_answered(&st, &call_of(&env, b.id).await)
        .await
        .unwrap());
    let now = group_of(&env, gc.id).await;
    assert_eq!(now.answer_call_id, a.id);
    assert_eq!(now.status, GroupStatus::Progressing);
    assert_eq!(now.call_count, 1);
    assert_eq!(call_of(&env, b.id).await.status, Status::Hangup);
    assert_eq!(events_of(&env, gc.id).await, vec!["groupcall_progressing"]);
    // hanging the group up ends the answered call, then the group
    let path = format!("/v1/groupcalls/{}/hangup?customer_id={A}", gc.id);
    let hung = env.call(Method::Post, &path, None::<Value>).await.unwrap();
    contract_ok("POST", "/groupcalls/{id}/hangup", &hung);
    assert_eq!(hung["status"], "hangup");
    assert_eq!(hung["answer_call_id"], json!(a.id));
    assert_eq!(call_of(&env, a.id).await.status, Status::Hangup);
}

async fn a_ring_timeout_gives_up_a_call_still_ringing(env: Env) {
    let st = state(&env);
    let (gc, a, b) = live_group(&env).await;
    run::ring_timeout(&st, gc.id, a.id).await.unwrap();
    let c = call_of(&env, a.id).await;
    assert_eq!(
        (c.status, c.hangup_reason),
        (Status::Hangup, HangupReason::Noanswer)
    );
    // a timer naming another group's call changes nothing
    run::ring_timeout(&st, voxbin_core::id::new_id(), b.id)
        .await
        .unwrap();
    assert_eq!(call_of(&env, b.id).await.status, Status::Ringing);
    assert_eq!(group_of(&env, gc.id).await.call_count, 1);
    // customers do not fire timers
    let uri = format!("/v1/groupcalls/{}/ring_timeout?customer_id={A}", gc.id);
    env.fail(Method::Post, &uri, json!({"call_id": b.id}), 403)
        .await;
    run::ring_timeout(&st, gc.id, b.id).await.unwrap();
    assert_eq!(group_of(&env, gc.id).await.status, GroupStatus::Hangup);
}

async fn an_agent_destination_of_a_call_rings_its_addresses_as_a_group(env: Env) {
    let agent = |username: &str, addresses: Value| {
        json!({"customer_id": A, "username": username, "password": "password0",
               "ring_method": "linear", "addresses": addresses})
    };
    let addresses = json!([{"type": "sip", "target": "sip:desk@192.0.2.1"},
                           {"type": "sip", "target": "sip:mobile@192.0.2.2"}]);
    let ann = env
        .call_to("agent", Method::Post, "/v1/agents", agent("ann", addresses))
        .await
        .unwrap();
    let body = |target: &Value| {
        json!({"source": {"type": "tel", "target": "+15550100"},
               "destinations": [{"type": "agent", "target": target}],
               "actions": [{"type": "talk", "option": {"text": "a call for you"}}]})
    };
    let uri = format!("/v1/calls?customer_id={A}");
    let made = env
        .call(Method::Post, &uri, body(&ann["id"]))
        .await
        .unwrap();
    contract_ok("POST", "/calls", &made);
    assert_eq!(made["calls"], json!([]));
    let gc: Groupcall = serde_json::from_value(made["groupcalls"][0].clone()).unwrap();
    assert_eq!(
        (gc.owner_type.as_str(), gc.owner_id.to_string()),
        ("agent", ann["id"].as_str().unwrap().to_owned())
    );
    assert_eq!(gc.ring_method, RingMethod::Linear);
    assert_eq!(gc.answer_method, AnswerMethod::HangupOthers);
    assert_eq!(gc.destinations[1].target, "sip:mobile@192.0.2.2");
    // no media node here: the desk failed, then the mobile; over
    assert_eq!((gc.call_ids.len(), gc.status), (2, GroupStatus::Hangup));
    let desk = call_of(&env, gc.call_ids[0]).await;
    assert_eq!(
        (desk.owner_type.as_str(), desk.owner_id),
        ("agent", gc.owner_id)
    );
    // an agent nobody can ring, and one that does not exist, are refused
    let idle = env
        .call_to("agent", Method::Post, "/v1/agents", agent("bo", json!([])))
        .await
        .unwrap();
    assert_400(
        env.call(Method::Post, &uri, body(&idle["id"])).await,
        "destinations[0]",
    );
    let nobody = json!(Uuid::now_v7());
    assert_400(
        env.call(Method::Post, &uri, body(&nobody)).await,
        "destinations[0].target",
    );
    // another customer's agent does not exist for this one
    let theirs = format!("/v1/calls?customer_id={B}");
    assert_400(
        env.call(Method::Post, &theirs, body(&ann["id"])).await,
        "destinations[0].target",
    );
    assert_eq!(env.count("call_groupcalls").await, 1);
}

async fn a_group_whose_count_went_wrong_still_ends_when_hung_up(env: Env) {
    let (gc, a, b) = live_group(&env).await;
    // both calls end, but only one end was counted (the process died in between)
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    for c in [&a, &b] {
        let reason = HangupReason::Normal;
        let by = crate::model::HangupBy::Remote;
        assert!(crate::store::set_hangup(&mut conn, c.id, by, reason)
            .await
            .unwrap());
    }
    store::call_gone(&mut conn, gc.id).await.unwrap();
    drop(conn);
    assert_eq!(group_of(&env, gc.id).await.call_count, 1);
    let path = format!("/v1/groupcalls/{}/hangup?customer_id={A}", gc.id);
    let hung = env.call(Method::Post, &path, None::<Value>).await.unwrap();
    assert_eq!(
        (&hung["status"], &hung["call_count"]),
        (&json!("hangup"), &json!(0))
    );
}

on_sqlite_and_mysql!(
    Env: ring_all_ends_once_every_call_failed,
    an_agent_destination_of_a_call_rings_its_addresses_as_a_group,
    linear_dials_each_destination_in_turn,
    bad_requests_are_refused_before_anything_is_dialled,
    the_first_answer_wins_and_the_group_ends_with_its_calls,
    a_ring_timeout_gives_up_a_call_still_ringing,
    a_group_whose_count_went_wrong_still_ends_when_hung_up,
);

// once, not per engine: two runs would drop and migrate the same MariaDB database at once
#[tokio::test]
async fn groupcall_schema_is_the_same_on_both_engines() {
    Env::assert_same_schema(&["call_groupcalls"]).await;
}
