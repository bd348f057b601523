//! SQL of connects (`call_connects`) and of the chain between calls (`master_call_id`,
//! `chained_call_ids` of `call_calls`). Every phase change is a guarded update, so of two
//! racing events only one moves a connect.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{map_db_error, row, sqlx};

use super::machine::{Connect, Phase};
use crate::model::HangupReason;

const COLUMNS: &str = "id, customer_id, master_call_id, call_ids, status, answer_call_id, \
    early_call_id, early_media, relay_reason, first_reason, master_reason";

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// Stores a new connect.
pub async fn insert(conn: &mut AnyConnection, c: &Connect) -> Result<()> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO call_connects (id, customer_id, master_call_id, call_ids, status, \
         answer_call_id, early_call_id, early_media, relay_reason, first_reason, master_reason, \
         tm_create, tm_update) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, ?)",
    )
    .bind(c.id.to_string())
    .bind(c.customer_id.to_string())
    .bind(c.master.to_string())
    .bind(to_json(&c.calls)?)
    .bind(c.phase.as_str())
    .bind(c.answer.to_string())
    .bind(c.early.to_string())
    .bind(i64::from(c.early_media))
    .bind(i64::from(c.relay_reason))
    .bind(now.clone())
    .bind(now)
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

fn from_row(r: &AnyRow) -> Result<Connect> {
    let first = row::text(r, "first_reason")?;
    Ok(Connect {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        master: row::uuid(r, "master_call_id")?,
        calls: row::json(r, "call_ids")?,
        phase: Phase::parse(&row::text(r, "status")?),
        answer: row::uuid(r, "answer_call_id")?,
        early: row::uuid(r, "early_call_id")?,
        early_media: row::int(r, "early_media")? != 0,
        relay_reason: row::int(r, "relay_reason")? != 0,
        first_reason: if first.is_empty() {
            HangupReason::None
        } else {
            HangupReason::from_cause(&first)
        },
    })
}

/// The connect `id`.
pub async fn get<'e>(pool: impl Executor<'e, Database = Any>, id: Uuid) -> Result<Option<Connect>> {
    let sql = format!("SELECT {COLUMNS} FROM call_connects WHERE id = ?");
    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    found.as_ref().map(from_row).transpose()
}

/// The connects of master call `master` that are not over.
pub async fn live_of_master<'e>(
    pool: impl Executor<'e, Database = Any>,
    master: Uuid,
) -> Result<Vec<Connect>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM call_connects WHERE master_call_id = ? AND status <> 'ended'"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(master.to_string())
        .fetch_all(pool)
        .await
        .map_err(map_db_error)?;
    rows.iter().map(from_row).collect()
}

/// The reason master call `master` is being hung up with by a connect, if one set it.
pub async fn master_reason<'e>(
    pool: impl Executor<'e, Database = Any>,
    master: Uuid,
) -> Result<Option<HangupReason>> {
    let found = sqlx::query(
        "SELECT master_reason FROM call_connects WHERE master_call_id = ? AND master_reason <> ''",
    )
    .bind(master.to_string())
    .fetch_optional(pool)
    .await
    .map_err(map_db_error)?;
    found
        .map(|r| row::text(&r, "master_reason").map(|s| HangupReason::from_cause(&s)))
        .transpose()
}

/// Claims `call` as the answer of connect `id` (dialing -> bridged); false when another
/// call won or the connect is over.
pub async fn claim_answer(conn: &mut AnyConnection, id: Uuid, call: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE call_connects SET status = 'bridged', answer_call_id = ?, tm_update = ? \
         WHERE id = ? AND status = 'dialing'",
    )
    .bind(call.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Claims `call` as the early media of connect `id`; false when another has it.
pub async fn claim_early(conn: &mut AnyConnection, id: Uuid, call: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE call_connects SET early_call_id = ?, tm_update = ? \
         WHERE id = ? AND status = 'dialing' AND early_call_id = ?",
    )
    .bind(call.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .bind(Uuid::nil().to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Notes the reason of the first of a connect's calls to end (once).
pub async fn note_first_reason(
    conn: &mut AnyConnection,
    id: Uuid,
    reason: HangupReason,
) -> Result<()> {
    sqlx::query(
        "UPDATE call_connects SET first_reason = ?, tm_update = ? WHERE id = ? AND first_reason = ''",
    )
    .bind(reason.as_str())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Ends connect `id` from phase `from` (once), with the reason the master is hung up with
/// (`None`: the master lives on). False when it had moved already.
pub async fn end(
    conn: &mut AnyConnection,
    id: Uuid,
    from: Phase,
    master_reason: HangupReason,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE call_connects SET status = 'ended', master_reason = ?, tm_update = ? \
         WHERE id = ? AND status = ?",
    )
    .bind(master_reason.as_str())
    .bind(clock::now())
    .bind(id.to_string())
    .bind(from.as_str())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Makes `calls` chained calls of `master`: their `master_call_id`, and added to the master's
/// `chained_call_ids`.
pub async fn chain(conn: &mut AnyConnection, master: Uuid, calls: &[Uuid]) -> Result<()> {
    let now = clock::now();
    for c in calls {
        sqlx::query("UPDATE call_calls SET master_call_id = ?, tm_update = ? WHERE id = ?")
            .bind(master.to_string())
            .bind(now.clone())
            .bind(c.to_string())
            .execute(&mut *conn)
            .await
            .map_err(map_db_error)?;
    }
    let found = sqlx::query("SELECT chained_call_ids FROM call_calls WHERE id = ?")
        .bind(master.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_db_error)?;
    let Some(found) = found else {
        return Ok(());
    };
    let mut all: Vec<Uuid> = row::json(&found, "chained_call_ids")?;
    all.extend(
        calls
            .iter()
            .filter(|c| !all.contains(c))
            .copied()
            .collect::<Vec<_>>(),
    );
    sqlx::query("UPDATE call_calls SET chained_call_ids = ?, tm_update = ? WHERE id = ?")
        .bind(to_json(&all)?)
        .bind(now)
        .bind(master.to_string())
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}
