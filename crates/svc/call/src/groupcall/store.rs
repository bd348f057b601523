//! SQL over `call_groupcalls` (one text for SQLite and MySQL through sqlx's Any driver).
//!
//! The writes that racing call events contend for are guarded in their `WHERE`: the answer
//! is claimed once (`answer_call_id` still nil), the live count drops atomically, the next
//! linear destination is taken once (`dial_index` still the old one), and statuses only move
//! forward (`status IN (<sources>)`).

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{map_db_error, row, sqlx, Db, Page, PageRequest};
use voxbin_svc_kit::scoped::Table;

use super::model::{GroupStatus, Groupcall};

/// Columns read into a [`Groupcall`].
const COLUMNS: &str = "id, customer_id, owner_type, owner_id, status, flow_id, source, \
    destinations, master_call_id, master_groupcall_id, ring_method, answer_method, \
    answer_call_id, call_ids, answer_groupcall_id, groupcall_ids, call_count, groupcall_count, \
    dial_index, variables, tm_create, tm_update, tm_delete";

/// `call_groupcalls`, scoped on `customer_id`.
const SCOPED: Table = Table::new("call_groupcalls", COLUMNS);

/// Stores a new group call.
pub async fn insert(conn: &mut AnyConnection, g: &Groupcall) -> Result<()> {
    sqlx::query(
        "INSERT INTO call_groupcalls (id, customer_id, owner_type, owner_id, status, flow_id, \
         source, destinations, master_call_id, master_groupcall_id, ring_method, answer_method, \
         answer_call_id, call_ids, answer_groupcall_id, groupcall_ids, call_count, \
         groupcall_count, dial_index, variables, tm_create, tm_update, tm_delete) VALUES (?, ?, \
         ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(g.id.to_string())
    .bind(g.customer_id.to_string())
    .bind(g.owner_type.clone())
    .bind(g.owner_id.to_string())
    .bind(g.status.as_str())
    .bind(g.flow_id.to_string())
    .bind(to_json(&g.source)?)
    .bind(to_json(&g.destinations)?)
    .bind(g.master_call_id.to_string())
    .bind(g.master_groupcall_id.to_string())
    .bind(g.ring_method.as_str())
    .bind(g.answer_method.as_str())
    .bind(g.answer_call_id.to_string())
    .bind(to_json(&g.call_ids)?)
    .bind(g.answer_groupcall_id.to_string())
    .bind(to_json(&g.groupcall_ids)?)
    .bind(g.call_count)
    .bind(g.groupcall_count)
    .bind(g.dial_index)
    .bind(to_json(&g.variables)?)
    .bind(g.tm_create.clone())
    .bind(g.tm_update.clone())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live group call `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get<'e>(
    pool: impl Executor<'e, Database = Any>,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Groupcall> {
    let found = SCOPED.get(pool, id, customer, false, from_row).await?;
    found.ok_or_else(|| Error::not_found("groupcall"))
}

/// The group call `id`, deleted or not (event handling of group calls deleted meanwhile).
pub async fn get_any<'e>(
    pool: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Groupcall>> {
    SCOPED.get(pool, id, None, true, from_row).await
}

/// One page of live group calls of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Groupcall>> {
    let rows = db
        .read(|pool| SCOPED.list(pool, customer, req, from_row))
        .await?;
    Ok(Page::from_rows(rows, req.size, |r| {
        (r.tm_create.clone(), r.id)
    }))
}

/// Soft-deletes group call `id` of `customer`; 404 when there is no live one.
pub async fn delete(
    conn: &mut AnyConnection,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Groupcall> {
    if !SCOPED.soft_delete(&mut *conn, id, customer, "").await? {
        return Err(Error::not_found("groupcall"));
    }
    let found = SCOPED.get(conn, id, None, true, from_row).await?;
    found.ok_or_else(|| Error::not_found("groupcall"))
}

/// Moves group call `id` to `next` if it may from where it is; false when it may not.
pub async fn set_status(conn: &mut AnyConnection, id: Uuid, next: GroupStatus) -> Result<bool> {
    let sources = GroupStatus::sources_of(next);
    if sources.is_empty() {
        return Ok(false);
    }
    let marks = vec!["?"; sources.len()].join(", ");
    let sql = format!(
        "UPDATE call_groupcalls SET status = ?, tm_update = ? WHERE id = ? AND status IN ({marks})"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(next.as_str())
        .bind(clock::now())
        .bind(id.to_string());
    for s in sources {
        q = q.bind(s.as_str());
    }
    let done = q.execute(conn).await.map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Makes `call` the answer of group call `id` if none answered before and the group is not
/// ending; false when another call was first (or the group is ending).
pub async fn claim_answer(conn: &mut AnyConnection, id: Uuid, call: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE call_groupcalls SET answer_call_id = ?, tm_update = ? \
         WHERE id = ? AND answer_call_id = ? AND status = 'progressing'",
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

/// One call of group call `id` ended: its live count drops by one (never below zero).
pub async fn call_gone(conn: &mut AnyConnection, id: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE call_groupcalls SET call_count = call_count - 1, tm_update = ? \
         WHERE id = ? AND call_count > 0",
    )
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Takes destination `index` of a linear group call `g` (read with `dial_index` one less)
/// for call `call`: counted live and listed, once; false when another handler took it, a
/// call answered or the group is ending.
pub async fn take_next(
    conn: &mut AnyConnection,
    g: &Groupcall,
    index: i64,
    call: Uuid,
) -> Result<bool> {
    let mut ids = g.call_ids.clone();
    ids.push(call);
    let done = sqlx::query(
        "UPDATE call_groupcalls SET dial_index = ?, call_count = call_count + 1, call_ids = ?, \
         tm_update = ? WHERE id = ? AND dial_index = ? AND status = 'progressing' \
         AND answer_call_id = ?",
    )
    .bind(index)
    .bind(to_json(&ids)?)
    .bind(clock::now())
    .bind(g.id.to_string())
    .bind(g.dial_index)
    .bind(Uuid::nil().to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// How many calls of group call `id` are live in `call_calls` (the count its `call_count`
/// keeps; this one is read from the calls themselves).
pub async fn live_calls(conn: &mut AnyConnection, id: Uuid) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM call_calls WHERE groupcall_id = ? AND status <> 'hangup'",
    )
    .bind(id.to_string())
    .fetch_one(conn)
    .await
    .map_err(map_db_error)
}

/// Sets the live count of group call `id` to `count` (after a recount).
pub async fn set_call_count(conn: &mut AnyConnection, id: Uuid, count: i64) -> Result<()> {
    sqlx::query("UPDATE call_groupcalls SET call_count = ?, tm_update = ? WHERE id = ?")
        .bind(count)
        .bind(clock::now())
        .bind(id.to_string())
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// A row as a [`Groupcall`]; a value that does not decode is a 500 (the table is ours).
fn from_row(r: &AnyRow) -> Result<Groupcall> {
    Ok(Groupcall {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        owner_type: row::text(r, "owner_type")?,
        owner_id: row::uuid(r, "owner_id")?,
        status: row::variant(r, "status")?,
        flow_id: row::uuid(r, "flow_id")?,
        source: row::json(r, "source")?,
        destinations: row::json(r, "destinations")?,
        master_call_id: row::uuid(r, "master_call_id")?,
        master_groupcall_id: row::uuid(r, "master_groupcall_id")?,
        ring_method: row::variant(r, "ring_method")?,
        answer_method: row::variant(r, "answer_method")?,
        answer_call_id: row::uuid(r, "answer_call_id")?,
        call_ids: row::json(r, "call_ids")?,
        answer_groupcall_id: row::uuid(r, "answer_groupcall_id")?,
        groupcall_ids: row::json(r, "groupcall_ids")?,
        call_count: row::int(r, "call_count")?,
        groupcall_count: row::int(r, "groupcall_count")?,
        dial_index: row::int(r, "dial_index")?,
        variables: row::json(r, "variables")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}
