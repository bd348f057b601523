//! SQL of chained extension calls over `call_calls` (the call service's own table).

use sqlx::AnyConnection;
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{map_db_error, sqlx};

/// Makes `winner` the one chained call of ringing call `master` if `ring_op` (the caller's
/// wait for an answer) is still pending: true for the first answer only.
pub async fn claim_answer(
    conn: &mut AnyConnection,
    master: Uuid,
    ring_op: Uuid,
    winner: Uuid,
) -> Result<bool> {
    if ring_op.is_nil() {
        return Ok(false);
    }
    let chained = serde_json::to_string(&[winner]).map_err(|e| Error::internal(e.to_string()))?;
    let done = sqlx::query(
        "UPDATE call_calls SET op_id = ?, chained_call_ids = ?, tm_update = ? \
         WHERE id = ? AND op_id = ? AND status <> 'hangup'",
    )
    .bind(Uuid::nil().to_string())
    .bind(chained)
    .bind(clock::now())
    .bind(master.to_string())
    .bind(ring_op.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uuid::Uuid;
    use voxbin_bus::Handler;
    use voxbin_svc_kit::Deps;
    use voxbin_svc_testkit::{Harness, Served};

    use crate::model::{Address, Call, Direction, Status};
    use crate::{handler, store, SERVICE};

    struct Calls;

    impl Served for Calls {
        const SERVICE: &'static str = SERVICE;
        const MYSQL_PREFIX: &'static str = "vxcallext_";
        fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
            vec![(SERVICE, handler(deps.clone()))]
        }
    }

    async fn the_first_answer_wins_once(env: Harness<Calls>) {
        let (ring, first, second) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut caller = Call::new(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Direction::Incoming,
            Status::Ringing,
            Address::new("extension", "2001"),
            Address::new("extension", "1001"),
            String::new(),
            voxbin_core::clock::now(),
        );
        caller.chained_call_ids = vec![first, second];
        caller.op_id = ring;
        let mut conn = env.deps.db.writer().acquire().await.unwrap();
        store::insert(&mut conn, &caller).await.unwrap();
        assert!(
            !super::claim_answer(&mut conn, caller.id, Uuid::nil(), first)
                .await
                .unwrap()
        );
        assert!(super::claim_answer(&mut conn, caller.id, ring, first)
            .await
            .unwrap());
        assert!(!super::claim_answer(&mut conn, caller.id, ring, second)
            .await
            .unwrap());
        drop(conn);
        let c = store::get(env.deps.db.writer(), None, caller.id)
            .await
            .unwrap();
        assert_eq!(c.chained_call_ids, vec![first]);
        assert!(c.op_id.is_nil());
    }

    #[tokio::test]
    async fn the_first_answer_wins_once_on_sqlite() {
        the_first_answer_wins_once(Harness::sqlite().await).await;
    }

    #[tokio::test]
    async fn the_first_answer_wins_once_on_mariadb() {
        if let Some(env) = Harness::mysql("ext_first_answer").await {
            the_first_answer_wins_once(env).await;
        }
    }
}
