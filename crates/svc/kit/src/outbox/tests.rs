use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use voxbin_bus::{event_handler_fn, Bus, Event, InProcBus};
use voxbin_cache::MemoryCache;
use voxbin_core::config::Config;
use voxbin_store::{sqlx, Db, DbOptions};

use super::*;

async fn deps() -> (tempfile::TempDir, Deps) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbOptions::new(format!(
        "sqlite://{}/t.db",
        dir.path().display()
    )))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let deps = Deps {
        bus: Arc::new(InProcBus::new()),
        db: Arc::new(db),
        cache: Arc::new(MemoryCache::new(100)),
        config: Arc::new(Config::default()),
    };
    (dir, deps)
}

async fn listen(bus: &Arc<dyn Bus>, publisher: &str) -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = event_handler_fn(move |e: Event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(e);
            Ok(())
        }
    });
    let consumer = bus
        .subscribe("outbox-test", &[publisher], handler)
        .await
        .unwrap();
    std::mem::forget(consumer);
    rx
}

/// Rows not yet handed to the bus.
async fn pending(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events WHERE published_ms = 0")
        .fetch_one(db.writer())
        .await
        .unwrap()
}

#[tokio::test]
async fn committed_events_leave_in_order_and_rolled_back_ones_never() {
    let (_dir, deps) = deps().await;
    let mut events = listen(&deps.bus, "thing-manager").await;
    let outbox = Outbox::new(&deps, "thing");

    let mut tx = outbox.begin().await.unwrap();
    tx.event("thing_created", "a", json!({"n": 0}))
        .await
        .unwrap();
    drop(tx); // rolled back

    for n in 1..=5 {
        let mut tx = outbox.begin().await.unwrap();
        tx.event("thing_updated", "a", json!({"n": n}))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut last_seq = 0;
    for n in 1..=5 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.event_type.as_str(), e.publisher.as_str()),
            ("thing_updated", "thing-manager")
        );
        assert_eq!(e.data, Some(json!({"n": n})));
        // Each event carries its outbox sequence, rising in publish order.
        let seq = e.seq.unwrap_or_else(|| panic!("event {n} has no sequence"));
        assert!(seq > last_seq, "sequence {seq} after {last_seq}");
        last_seq = seq;
    }
    // The relay deletes a row only after the bus took it.
    for _ in 0..100 {
        if pending(&deps.db).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pending(&deps.db).await, 0);
}

/// Commits `n` events of `publisher` without waking (or starting) any relay.
async fn commit_quietly(db: &Db, publisher: &str, from: u32, n: u32) {
    let mut tx = db.writer().begin().await.unwrap();
    for k in from..from + n {
        let data = json!({"n": k}).to_string();
        store::insert(&mut tx, publisher, "gadget_updated", "g", &data)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn received(events: &mut mpsc::UnboundedReceiver<Event>, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for _ in 0..n {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        out.push(e.data.unwrap()["n"].as_u64().unwrap());
    }
    out
}

#[tokio::test]
async fn rows_stay_while_the_bus_is_down_and_leave_once_it_is_back() {
    let (_dir, deps) = deps().await;
    let down: Arc<dyn Bus> = Arc::new(InProcBus::new());
    down.close().await;
    commit_quietly(&deps.db, "gadget-manager", 0, 3).await;
    let mut relay = Relay::new("gadget-manager", true);
    let failed = relay.round(&deps.db, &*down).await.unwrap_err();
    assert!(failed.message.contains("gadget-manager"), "{failed:?}");
    assert_eq!(
        pending(&deps.db).await,
        3,
        "nothing is dropped when the bus refused it"
    );

    let mut events = listen(&deps.bus, "gadget-manager").await;
    let outcome = relay.round(&deps.db, &*deps.bus).await.unwrap();
    assert_eq!(outcome, RelayOutcome::Published(3));
    assert_eq!(received(&mut events, 3).await, vec![0, 1, 2]);
    // A durable bus took them: the rows are gone.
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events")
        .fetch_one(deps.db.writer())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn over_the_in_process_bus_a_new_process_publishes_recent_events_again() {
    let (_dir, deps) = deps().await;
    let mut events = listen(&deps.bus, "gadget-manager").await;
    commit_quietly(&deps.db, "gadget-manager", 0, 2).await;
    let mut first = Relay::new("gadget-manager", false);
    // A fresh relay has nothing to replay yet, then publishes the two.
    assert_eq!(
        first.round(&deps.db, &*deps.bus).await.unwrap(),
        RelayOutcome::Published(2)
    );
    assert_eq!(received(&mut events, 2).await, vec![0, 1]);
    assert_eq!(pending(&deps.db).await, 0);
    // That process dies (its bus with it, events perhaps unhandled); more events commit.
    drop(first);
    commit_quietly(&deps.db, "gadget-manager", 2, 1).await;
    sqlx::query("UPDATE outbox_leases SET until_ms = 0")
        .execute(deps.db.writer())
        .await
        .unwrap();
    let mut next = Relay::new("gadget-manager", false);
    assert_eq!(
        next.round(&deps.db, &*deps.bus).await.unwrap(),
        RelayOutcome::Published(2)
    );
    assert_eq!(
        next.round(&deps.db, &*deps.bus).await.unwrap(),
        RelayOutcome::Published(1)
    );
    // The recent ones again, in order, then the new one.
    assert_eq!(received(&mut events, 3).await, vec![0, 1, 2]);
    assert_eq!(
        next.round(&deps.db, &*deps.bus).await.unwrap(),
        RelayOutcome::Published(0)
    );
}

#[tokio::test]
async fn one_relay_at_a_time_holds_a_publisher() {
    let (_dir, deps) = deps().await;
    let mut conn = deps.db.writer().acquire().await.unwrap();
    let pool = &mut *conn;
    let now = relay::now_ms();
    assert!(store::take_lease(&mut *pool, "p", "one", now, now + 30_000)
        .await
        .unwrap());
    assert!(
        !store::take_lease(&mut *pool, "p", "two", now, now + 30_000)
            .await
            .unwrap()
    );
    assert!(store::take_lease(&mut *pool, "p", "one", now, now + 30_000)
        .await
        .unwrap());
    // A lease that ran out is taken over.
    assert!(
        store::take_lease(&mut *pool, "p", "two", now + 31_000, now + 61_000)
            .await
            .unwrap()
    );
    store::drop_lease(&mut *pool, "p", "two").await.unwrap();
    assert!(
        store::take_lease(&mut *pool, "p", "one", now + 31_000, now + 61_000)
            .await
            .unwrap()
    );
}
