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

async fn pending(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events")
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

#[tokio::test]
async fn rows_stay_while_the_bus_is_down_and_leave_once_it_is_back() {
    let (_dir, deps) = deps().await;
    let down: Arc<dyn Bus> = Arc::new(InProcBus::new());
    down.close().await;
    // A second outbox on the same rows, driven by hand through `relay_once`.
    let outbox = Outbox::new(&deps, "gadget");
    let mut tx = outbox.begin().await.unwrap();
    for n in 0..3 {
        tx.event("gadget_updated", "g", json!({"n": n}))
            .await
            .unwrap();
    }
    // Committed by hand so the relay of this process is not woken.
    tx.tx.commit().await.unwrap();

    let owner = "test-relay";
    // The process's own relay may hold the lease; wait for it to run dry or give it up.
    let failed = loop {
        match relay_once(&deps.db, &*down, "gadget-manager", owner).await {
            Err(e) => break e,
            Ok(RelayOutcome::NotLeader) => tokio::time::sleep(Duration::from_millis(20)).await,
            Ok(other) => {
                // The process's relay published them on the live bus already: nothing is lost.
                assert_eq!(pending(&deps.db).await, 0, "{other:?}");
                return;
            }
        }
    };
    assert!(failed.message.contains("gadget-manager"), "{failed:?}");
    assert_eq!(
        pending(&deps.db).await,
        3,
        "nothing is deleted when the bus refused it"
    );

    let mut events = listen(&deps.bus, "gadget-manager").await;
    assert_eq!(
        relay_once(&deps.db, &*deps.bus, "gadget-manager", owner)
            .await
            .unwrap(),
        RelayOutcome::Published(3)
    );
    for n in 0..3 {
        let e = events.recv().await.unwrap();
        assert_eq!(e.data, Some(json!({"n": n})));
    }
    assert_eq!(pending(&deps.db).await, 0);
}

#[tokio::test]
async fn one_relay_at_a_time_holds_a_publisher() {
    let (_dir, deps) = deps().await;
    let pool = deps.db.writer();
    let now = relay::now_ms();
    assert!(store::take_lease(pool, "p", "one", now, now + 30_000)
        .await
        .unwrap());
    assert!(!store::take_lease(pool, "p", "two", now, now + 30_000)
        .await
        .unwrap());
    assert!(store::take_lease(pool, "p", "one", now, now + 30_000)
        .await
        .unwrap());
    // A lease that ran out is taken over.
    assert!(
        store::take_lease(pool, "p", "two", now + 31_000, now + 61_000)
            .await
            .unwrap()
    );
    store::drop_lease(pool, "p", "two").await.unwrap();
    assert!(
        store::take_lease(pool, "p", "one", now + 31_000, now + 61_000)
            .await
            .unwrap()
    );
}
