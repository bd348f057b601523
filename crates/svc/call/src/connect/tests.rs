//! The connect store on SQLite and (when `VOXBIN_TEST_MYSQL_DSN` is set) on MariaDB: of two
//! answers only the first is bridged, a connect ends once, the master's reason reads back,
//! and chaining links both sides without duplicates.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use voxbin_bus::Handler;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{on_sqlite_and_mysql, Harness, Served};

use super::machine::{Connect, Phase};
use super::store;
use crate::model::{Address, Call, Direction, HangupReason, Status};
use crate::{handler, SERVICE};

struct CallService;

impl Served for CallService {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxconn_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

type Env = Harness<CallService>;

const CUSTOMER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_000a);

async fn a_call(env: &Env, direction: Direction) -> Call {
    let call = Call::new(
        voxbin_core::id::new_id(),
        CUSTOMER,
        direction,
        Status::Ringing,
        Address::new("tel", "+15550199"),
        Address::new("sip", "sip:bob@example.com"),
        String::new(),
        voxbin_core::clock::now(),
    );
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    crate::store::insert(&mut conn, &call).await.unwrap();
    call
}

async fn the_first_answer_wins_and_a_connect_ends_once(env: Env) {
    let master = a_call(&env, Direction::Incoming).await;
    let (one, two) = (
        a_call(&env, Direction::Outgoing).await,
        a_call(&env, Direction::Outgoing).await,
    );
    let c = Connect {
        id: voxbin_core::id::new_id(),
        customer_id: CUSTOMER,
        master: master.id,
        calls: vec![one.id, two.id],
        phase: Phase::Dialing,
        answer: Uuid::nil(),
        early: Uuid::nil(),
        early_media: true,
        relay_reason: false,
        first_reason: HangupReason::None,
    };
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    store::insert(&mut conn, &c).await.unwrap();
    assert_eq!(store::get(&mut *conn, c.id).await.unwrap(), Some(c.clone()));
    assert!(store::claim_early(&mut conn, c.id, two.id).await.unwrap());
    assert!(!store::claim_early(&mut conn, c.id, one.id).await.unwrap());
    assert!(store::claim_answer(&mut conn, c.id, one.id).await.unwrap());
    assert!(!store::claim_answer(&mut conn, c.id, two.id).await.unwrap());
    store::note_first_reason(&mut conn, c.id, HangupReason::Cancel)
        .await
        .unwrap();
    store::note_first_reason(&mut conn, c.id, HangupReason::Busy)
        .await
        .unwrap();
    let now = store::get(&mut *conn, c.id).await.unwrap().unwrap();
    assert_eq!(
        (now.phase, now.answer, now.early, now.first_reason),
        (Phase::Bridged, one.id, two.id, HangupReason::Cancel)
    );
    assert_eq!(
        store::master_reason(&mut *conn, master.id).await.unwrap(),
        None
    );
    // ending from a phase it left does nothing; from where it is, once
    assert!(
        !store::end(&mut conn, c.id, Phase::Dialing, HangupReason::Normal)
            .await
            .unwrap()
    );
    assert!(
        store::end(&mut conn, c.id, Phase::Bridged, HangupReason::Dialout)
            .await
            .unwrap()
    );
    assert!(
        !store::end(&mut conn, c.id, Phase::Bridged, HangupReason::Normal)
            .await
            .unwrap()
    );
    assert_eq!(
        store::master_reason(&mut *conn, master.id).await.unwrap(),
        Some(HangupReason::Dialout)
    );
    assert!(store::live_of_master(&mut *conn, master.id)
        .await
        .unwrap()
        .is_empty());
}

async fn chaining_links_both_sides_once(env: Env) {
    let master = a_call(&env, Direction::Incoming).await;
    let (one, two) = (
        a_call(&env, Direction::Outgoing).await,
        a_call(&env, Direction::Outgoing).await,
    );
    let mut conn = env.deps.db.writer().acquire().await.unwrap();
    store::chain(&mut conn, master.id, &[one.id]).await.unwrap();
    store::chain(&mut conn, master.id, &[one.id, two.id])
        .await
        .unwrap();
    let m = crate::store::get(&mut *conn, None, master.id)
        .await
        .unwrap();
    assert_eq!(m.chained_call_ids, vec![one.id, two.id]);
    for id in [one.id, two.id] {
        let c = crate::store::get(&mut *conn, None, id).await.unwrap();
        assert_eq!(c.master_call_id, master.id);
    }
}

on_sqlite_and_mysql!(
    Env: the_first_answer_wins_and_a_connect_ends_once,
    chaining_links_both_sides_once,
);
