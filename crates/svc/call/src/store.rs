//! SQL over `call_calls` (one text for SQLite and MySQL through sqlx's Any driver).
//!
//! Status writes carry the status machine in their `WHERE` (`status IN (<sources>)`), so a
//! late or duplicated media event can never move a call backwards, whatever the interleaving.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{map_db_error, row, sqlx, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use crate::model::{Call, HangupBy, HangupReason, Status};

/// Columns read into a [`Call`].
const COLUMNS: &str = "id, customer_id, owner_type, owner_id, flow_id, activeflow_id, type, \
    master_call_id, chained_call_ids, recording_id, recording_ids, groupcall_id, source, \
    destination, status, action, direction, mute_direction, hangup_by, hangup_reason, metadata, \
    node_id, op_id, op_action_id, tm_progressing, tm_ringing, tm_hangup, tm_create, tm_update, \
    tm_delete";

/// `call_calls`, scoped on `customer_id`.
const SCOPED: Table = Table::new("call_calls", COLUMNS);

/// Stores a new call.
pub async fn insert(conn: &mut AnyConnection, c: &Call) -> Result<()> {
    sqlx::query(
        "INSERT INTO call_calls (id, customer_id, owner_type, owner_id, flow_id, activeflow_id, \
         type, master_call_id, chained_call_ids, recording_id, recording_ids, groupcall_id, \
         source, destination, status, action, direction, mute_direction, hangup_by, \
         hangup_reason, metadata, node_id, op_id, op_action_id, tm_progressing, tm_ringing, \
         tm_hangup, tm_create, tm_update, tm_delete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(c.id.to_string())
    .bind(c.customer_id.to_string())
    .bind(c.owner_type.clone())
    .bind(c.owner_id.to_string())
    .bind(c.flow_id.to_string())
    .bind(c.activeflow_id.to_string())
    .bind(c.kind.clone())
    .bind(c.master_call_id.to_string())
    .bind(to_json(&c.chained_call_ids)?)
    .bind(c.recording_id.to_string())
    .bind(to_json(&c.recording_ids)?)
    .bind(c.groupcall_id.to_string())
    .bind(to_json(&c.source)?)
    .bind(to_json(&c.destination)?)
    .bind(c.status.as_str())
    .bind(to_json(&c.action)?)
    .bind(to_json(&c.direction)?.trim_matches('"').to_owned())
    .bind(c.mute_direction.clone())
    .bind(to_json(&c.hangup_by)?.trim_matches('"').to_owned())
    .bind(c.hangup_reason.as_str())
    .bind(to_json(&c.metadata)?)
    .bind(c.node_id.clone())
    .bind(c.op_id.to_string())
    .bind(c.op_action_id.to_string())
    .bind(c.tm_progressing.clone())
    .bind(c.tm_ringing.clone())
    .bind(c.tm_hangup.clone())
    .bind(c.tm_create.clone())
    .bind(c.tm_update.clone())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live call `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get<'e>(
    pool: impl Executor<'e, Database = Any>,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Call> {
    let found = SCOPED.get(pool, id, customer, false, from_row).await?;
    found.ok_or_else(|| Error::not_found("call"))
}

/// The call `id`, deleted or not (event handling of calls deleted meanwhile).
pub async fn get_any<'e>(
    pool: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Call>> {
    SCOPED.get(pool, id, None, true, from_row).await
}

/// One page of live calls of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Call>> {
    let rows = db
        .read(|pool| SCOPED.list(pool, customer, req, from_row))
        .await?;
    Ok(Page::from_rows(rows, req.size, |r| {
        (r.tm_create.clone(), r.id)
    }))
}

/// Soft-deletes the call `id` of `customer` if it is over; 404 when there is no live one.
pub async fn delete(conn: &mut AnyConnection, customer: Option<Uuid>, id: Uuid) -> Result<Call> {
    if !SCOPED.soft_delete(&mut *conn, id, customer, "").await? {
        return Err(Error::not_found("call"));
    }
    let found = SCOPED.get(conn, id, None, true, from_row).await?;
    found.ok_or_else(|| Error::not_found("call"))
}

/// Moves call `id` to `next` if the status machine allows it from where it is; false when it
/// does not (the call is already there or further).
pub async fn set_status(conn: &mut AnyConnection, id: Uuid, next: Status) -> Result<bool> {
    let sources = Status::sources_of(next);
    if sources.is_empty() {
        return Ok(false);
    }
    let marks = vec!["?"; sources.len()].join(", ");
    let now = clock::now();
    let stamp = match next {
        Status::Ringing => ", tm_ringing = ?",
        Status::Progressing => ", tm_progressing = ?",
        _ => "",
    };
    let sql = format!(
        "UPDATE call_calls SET status = ?, tm_update = ?{stamp} WHERE id = ? AND status IN ({marks})"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(next.as_str())
        .bind(now.clone());
    if !stamp.is_empty() {
        q = q.bind(now);
    }
    q = q.bind(id.to_string());
    for s in sources {
        q = q.bind(s.as_str());
    }
    let done = q.execute(conn).await.map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Ends call `id` (status hangup, who and why) unless it is over already; false then.
pub async fn set_hangup(
    conn: &mut AnyConnection,
    id: Uuid,
    by: HangupBy,
    reason: HangupReason,
) -> Result<bool> {
    let now = clock::now();
    let by = match by {
        HangupBy::None => "",
        HangupBy::Remote => "remote",
        HangupBy::Local => "local",
    };
    let done = sqlx::query(
        "UPDATE call_calls SET status = 'hangup', hangup_by = ?, hangup_reason = ?, \
         tm_hangup = ?, tm_update = ?, action = '{}', op_id = ?, op_action_id = ? \
         WHERE id = ? AND status <> 'hangup'",
    )
    .bind(by)
    .bind(reason.as_str())
    .bind(now.clone())
    .bind(now)
    .bind(Uuid::nil().to_string())
    .bind(Uuid::nil().to_string())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Records the flow and activeflow of call `id`.
pub async fn set_flow(
    conn: &mut AnyConnection,
    id: Uuid,
    flow_id: Uuid,
    activeflow_id: Uuid,
) -> Result<()> {
    sqlx::query(
        "UPDATE call_calls SET type = 'flow', flow_id = ?, activeflow_id = ?, tm_update = ? \
         WHERE id = ?",
    )
    .bind(flow_id.to_string())
    .bind(activeflow_id.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Sets the action being executed and the media operation it waits for (nil for none), while
/// the call is not over; false when it is.
pub async fn set_action(
    conn: &mut AnyConnection,
    id: Uuid,
    action: &serde_json::Value,
    op_id: Uuid,
) -> Result<bool> {
    let action_id = action
        .get("id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or(Uuid::nil());
    let done = sqlx::query(
        "UPDATE call_calls SET action = ?, op_id = ?, op_action_id = ?, tm_update = ? \
         WHERE id = ? AND status <> 'hangup'",
    )
    .bind(to_json(action)?)
    .bind(op_id.to_string())
    .bind(action_id.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Takes the pending operation `op_id` of call `id` (clears it); false when it is not the
/// pending one (stale or already taken), so each completion moves the flow once.
pub async fn take_op(conn: &mut AnyConnection, id: Uuid, op_id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE call_calls SET op_id = ?, tm_update = ? WHERE id = ? AND op_id = ? \
         AND status <> 'hangup'",
    )
    .bind(Uuid::nil().to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .bind(op_id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Sets the recording in progress of call `id` (nil for none) and its list of recordings.
pub async fn set_recordings(
    conn: &mut AnyConnection,
    id: Uuid,
    current: Uuid,
    all: &[Uuid],
) -> Result<()> {
    sqlx::query(
        "UPDATE call_calls SET recording_id = ?, recording_ids = ?, tm_update = ? WHERE id = ?",
    )
    .bind(current.to_string())
    .bind(to_json(&all)?)
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Sets the dial attempts left for outgoing call `id` (none: `NULL`).
pub async fn set_dial_plan(conn: &mut AnyConnection, id: Uuid, plan: Option<String>) -> Result<()> {
    sqlx::query("UPDATE call_calls SET dial_plan = ?, tm_update = ? WHERE id = ?")
        .bind(plan)
        .bind(clock::now())
        .bind(id.to_string())
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The attempts left after the one ringing now, as [`set_dial_plan`] stored them.
pub async fn dial_plan(conn: &mut AnyConnection, id: Uuid) -> Result<Option<String>> {
    let row = sqlx::query("SELECT dial_plan FROM call_calls WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(map_db_error)?;
    Ok(row
        .map(|r| row::opt_text(&r, "dial_plan"))
        .transpose()?
        .flatten())
}

/// Takes the dial attempts left for call `id` (clears them); `None` when there are none or
/// another handler took them first.
pub async fn take_dial_plan(conn: &mut AnyConnection, id: Uuid) -> Result<Option<String>> {
    let Some(plan) = dial_plan(&mut *conn, id).await? else {
        return Ok(None);
    };
    let done = sqlx::query("UPDATE call_calls SET dial_plan = NULL WHERE id = ? AND dial_plan = ?")
        .bind(id.to_string())
        .bind(plan.clone())
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok((done.rows_affected() > 0).then_some(plan))
}

/// Records the media node holding call `id`'s leg.
pub async fn set_node(conn: &mut AnyConnection, id: Uuid, node_id: &str) -> Result<()> {
    sqlx::query("UPDATE call_calls SET node_id = ?, tm_update = ? WHERE id = ?")
        .bind(node_id.to_owned())
        .bind(clock::now())
        .bind(id.to_string())
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// Sets the mute direction of call `id`.
pub async fn set_mute(conn: &mut AnyConnection, id: Uuid, direction: &str) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE call_calls SET mute_direction = ?, tm_update = ? WHERE id = ? AND {LIVE}"
    )))
    .bind(direction.to_owned())
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

/// A row as a [`Call`]; a value that does not decode is a 500 (the table is ours).
fn from_row(r: &AnyRow) -> Result<Call> {
    Ok(Call {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        owner_type: row::text(r, "owner_type")?,
        owner_id: row::uuid(r, "owner_id")?,
        flow_id: row::uuid(r, "flow_id")?,
        activeflow_id: row::uuid(r, "activeflow_id")?,
        kind: row::text(r, "type")?,
        master_call_id: row::uuid(r, "master_call_id")?,
        chained_call_ids: row::json(r, "chained_call_ids")?,
        recording_id: row::uuid(r, "recording_id")?,
        recording_ids: row::json(r, "recording_ids")?,
        groupcall_id: row::uuid(r, "groupcall_id")?,
        source: row::json(r, "source")?,
        destination: row::json(r, "destination")?,
        status: row::variant(r, "status")?,
        action: row::json(r, "action")?,
        direction: row::variant(r, "direction")?,
        mute_direction: row::text(r, "mute_direction")?,
        hangup_by: row::variant(r, "hangup_by")?,
        hangup_reason: row::variant(r, "hangup_reason")?,
        metadata: row::json(r, "metadata")?,
        node_id: row::text(r, "node_id")?,
        op_id: row::uuid(r, "op_id")?,
        op_action_id: row::uuid(r, "op_action_id")?,
        tm_progressing: row::opt_text(r, "tm_progressing")?,
        tm_ringing: row::opt_text(r, "tm_ringing")?,
        tm_hangup: row::opt_text(r, "tm_hangup")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}
