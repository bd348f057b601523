//! The call service's store and routes over the bus, as the gateway drives them, on SQLite
//! and (when `VOXBIN_TEST_MYSQL_DSN` is set) on MariaDB: statuses never move back even when
//! events arrive late, an operation completes once, calls stay within their customer.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use voxbin_bus::{Handler, Method};
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{contract_ok, on_sqlite_and_mysql, Harness, Served};

use crate::model::{Address, Call, Direction, HangupBy, HangupReason, Status};
use crate::{driver, handler, store, State, SERVICE};

const A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000a);
const B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000b);

struct CallService;

impl Served for CallService {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxcall_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![
            (SERVICE, handler(deps.clone())),
            ("route", voxbin_svc_route::handler(deps.clone())),
        ]
    }
}

type Env = Harness<CallService>;

/// Stores a ringing incoming call of `customer` (no media node: commands fail, as for a
/// call whose node is gone).
async fn ringing_call(env: &Env, customer: Uuid) -> Call {
    let call = Call::new(
        voxbin_core::id::new_id(),
        customer,
        Direction::Incoming,
        Status::Ringing,
        Address::new("tel", "+15550199"),
        Address::new("tel", "+15550100"),
        String::new(),
        voxbin_core::clock::now(),
    );
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    store::insert(&mut conn, &call).await.unwrap();
    call
}

async fn status_of(env: &Env, id: Uuid) -> Status {
    store::get(env.deps.db.writer(), None, id)
        .await
        .unwrap()
        .status
}

async fn statuses_only_move_forward_in_the_database(env: Env) {
    let call = ringing_call(&env, A).await;
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    assert!(store::set_status(&mut conn, call.id, Status::Progressing)
        .await
        .unwrap());
    // a late 180 after the answer changes nothing
    assert!(!store::set_status(&mut conn, call.id, Status::Ringing)
        .await
        .unwrap());
    assert!(!store::set_status(&mut conn, call.id, Status::Progressing)
        .await
        .unwrap());
    assert!(store::set_status(&mut conn, call.id, Status::Terminating)
        .await
        .unwrap());
    assert!(!store::set_status(&mut conn, call.id, Status::Canceling)
        .await
        .unwrap());
    assert!(
        store::set_hangup(&mut conn, call.id, HangupBy::Remote, HangupReason::Normal)
            .await
            .unwrap()
    );
    // the first hangup wins
    assert!(
        !store::set_hangup(&mut conn, call.id, HangupBy::Local, HangupReason::Failed)
            .await
            .unwrap()
    );
    drop(conn);
    let c = store::get(env.deps.db.writer(), None, call.id)
        .await
        .unwrap();
    assert_eq!(c.status, Status::Hangup);
    assert_eq!(
        (c.hangup_by, c.hangup_reason),
        (HangupBy::Remote, HangupReason::Normal)
    );
    assert!(c.tm_progressing.is_some() && c.tm_hangup.is_some());
}

async fn an_operation_completes_once_and_stale_ones_are_ignored(env: Env) {
    let call = ringing_call(&env, A).await;
    let (op, stale) = (voxbin_core::id::new_id(), voxbin_core::id::new_id());
    let action = serde_json::json!({"id": "0190a000-0000-7000-8000-000000000001", "type": "talk"});
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    assert!(store::set_action(&mut conn, call.id, &action, op)
        .await
        .unwrap());
    assert!(!store::take_op(&mut conn, call.id, stale).await.unwrap());
    assert!(store::take_op(&mut conn, call.id, op).await.unwrap());
    assert!(!store::take_op(&mut conn, call.id, op).await.unwrap());
    drop(conn);
    let c = store::get(env.deps.db.writer(), None, call.id)
        .await
        .unwrap();
    assert_eq!(c.action["type"], "talk");
    assert_eq!(
        c.op_action_id.to_string(),
        "0190a000-0000-7000-8000-000000000001"
    );
}

async fn calls_are_listed_read_and_hung_up_within_their_customer(env: Env) {
    let mine = ringing_call(&env, A).await;
    let theirs = ringing_call(&env, B).await;
    let list = env
        .call_as(A, Method::Get, "/v1/calls", None::<serde_json::Value>)
        .await
        .unwrap();
    contract_ok("GET", "/calls", &list);
    let ids: Vec<&str> = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.id.to_string().as_str()]);
    let other = format!("/v1/calls/{}", theirs.id);
    env.refuses(&format!("{other}?customer_id={A}"), 404).await;
    // a live call is not deleted
    let path = format!("/v1/calls/{}?customer_id={A}", mine.id);
    env.refuses_with(Method::Delete, &path, 409).await;
    // a call whose leg is gone ends at once on hangup
    let hangup = format!("/v1/calls/{}/hangup?customer_id={A}", mine.id);
    let answered = env
        .call(Method::Post, &hangup, None::<serde_json::Value>)
        .await
        .unwrap();
    contract_ok("POST", "/calls/{id}/hangup", &answered);
    assert_eq!(status_of(&env, mine.id).await, Status::Hangup);
    let deleted = env
        .call(Method::Delete, &path, None::<serde_json::Value>)
        .await
        .unwrap();
    contract_ok("DELETE", "/calls/{id}", &deleted);
    env.refuses(&path, 404).await;
    assert_eq!(status_of(&env, theirs.id).await, Status::Ringing);
}

// once, not per engine: two runs would drop and migrate the same MariaDB database at once
#[tokio::test]
async fn schema_is_the_same_on_both_engines() {
    Env::assert_same_schema(&["call_calls", "call_recordings"]).await;
}

/// The call service's state over the harness, with loopback carriers allowed or not.
fn state(env: &Env, allow_loopback_carriers: bool) -> State {
    State {
        db: env.deps.db.clone(),
        bus: env.deps.client(SERVICE),
        outbox: voxbin_svc_kit::outbox::Outbox::new(&env.deps, SERVICE),
        allow_loopback_carriers,
        ring_timeout: std::time::Duration::from_secs(60),
    }
}

async fn numbers_are_reached_only_from_providers_or_allowed_loopback(env: Env) {
    let provider = serde_json::json!({
        "type": "sip", "hostname": "203.0.113.7:5060", "tech_prefix": "", "tech_postfix": "",
        "tech_headers": {}, "name": "carrier", "detail": "",
    });
    env.call_to("route", Method::Post, "/v1/providers", provider)
        .await
        .unwrap();
    let strict = state(&env, false);
    assert!(driver::from_carrier(&strict, "203.0.113.7:5090").await);
    assert!(!driver::from_carrier(&strict, "198.51.100.1:5060").await);
    assert!(!driver::from_carrier(&strict, "127.0.0.1:5060").await);
    assert!(driver::from_carrier(&state(&env, true), "127.0.0.1:5060").await);
    // a stranger's call is refused and stays on record as failed (the number service isn't
    // served here, so reaching the number lookup would fail the event)
    let leg = voxbin_core::id::new_id();
    let created = serde_json::json!({
        "id": leg, "direction": "incoming", "node_id": "",
        "uri": "sip:+15550100@pstn.voxbin.local", "from": "<sip:+15550199@198.51.100.1>;tag=1",
        "source": "198.51.100.1:5060",
    });
    driver::on_media_event(&strict, "leg_created", &created)
        .await
        .unwrap();
    let call = store::get(env.deps.db.writer(), None, leg).await.unwrap();
    assert_eq!(call.status, Status::Hangup);
    assert_eq!(
        (call.hangup_by, call.hangup_reason),
        (HangupBy::Local, HangupReason::Failed)
    );
    assert_eq!(call.destination.target, "+15550100");
    // through an edge on loopback, the caller behind it is what counts
    let leg = voxbin_core::id::new_id();
    let behind_edge = serde_json::json!({
        "id": leg, "direction": "incoming", "node_id": "",
        "uri": "sip:+15550100@pstn.voxbin.local", "from": "<sip:+15550199@x>;tag=2",
        "source": "127.0.0.1:5060",
        "via": ["SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKe",
                "SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKc;received=198.51.100.1"],
    });
    driver::on_media_event(&state(&env, true), "leg_created", &behind_edge)
        .await
        .unwrap();
    let call = store::get(env.deps.db.writer(), None, leg).await.unwrap();
    assert_eq!(call.hangup_reason, HangupReason::Failed);
}

/// Helpers on the harness for these stories.
trait Refuses {
    async fn refuses(&self, uri: &str, status: u16);
    async fn refuses_with(&self, method: Method, uri: &str, status: u16);
}

impl Refuses for Env {
    async fn refuses(&self, uri: &str, status: u16) {
        self.refuses_with(Method::Get, uri, status).await;
    }
    async fn refuses_with(&self, method: Method, uri: &str, status: u16) {
        self.fail(method, uri, None::<serde_json::Value>, status)
            .await;
    }
}

on_sqlite_and_mysql!(
    Env: statuses_only_move_forward_in_the_database,
    an_operation_completes_once_and_stale_ones_are_ignored,
    calls_are_listed_read_and_hung_up_within_their_customer,
);

// engine-neutral (providers are read over the bus), so SQLite only
#[tokio::test]
async fn numbers_are_reached_only_from_providers_or_allowed_loopback_on_sqlite() {
    numbers_are_reached_only_from_providers_or_allowed_loopback(Env::sqlite().await).await;
}

/// The gateway's media stream request: another customer's call is unknown, a ringing call
/// is refused, and an answered call without a media leg says so.
async fn media_streams_need_an_answered_call_of_the_customer(env: Env) {
    let call = ringing_call(&env, A).await;
    let body = || Some(serde_json::json!({"address": "127.0.0.1:9000"}));
    let theirs = format!("/v1/calls/{}/media_stream?customer_id={B}", call.id);
    env.fail(Method::Post, &theirs, body(), 404).await;
    let mine = format!("/v1/calls/{}/media_stream?customer_id={A}", call.id);
    env.fail(Method::Post, &mine, body(), 409).await;
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    assert!(store::set_status(&mut conn, call.id, Status::Progressing)
        .await
        .unwrap());
    drop(conn);
    env.fail(Method::Post, &mine, body(), 400).await;
    env.fail(Method::Post, &mine, None::<serde_json::Value>, 400)
        .await;
}

// engine-neutral (one call row), so SQLite only
#[tokio::test]
async fn media_streams_need_an_answered_call_of_the_customer_on_sqlite() {
    media_streams_need_an_answered_call_of_the_customer(Env::sqlite().await).await;
}
