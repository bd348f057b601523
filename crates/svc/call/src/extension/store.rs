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
