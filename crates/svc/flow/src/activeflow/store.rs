//! SQL of `flow_activeflows` (one text per query for SQLite and MySQL, `?` placeholders).

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe};
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::{map_db_error, row, sqlx, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::{Activeflow, ActiveflowStatus, ReferenceType};

/// Every column, in the order [`insert`] binds them.
const COLUMNS: &str = "id, customer_id, flow_id, status, reference_type, reference_id, \
    reference_activeflow_id, on_complete_flow_id, webhook_uri, webhook_method, stack_map, \
    current_stack_id, current_action, forward_stack_id, forward_action_id, execute_count, \
    executed_actions, tm_create, tm_update, tm_delete";

/// `flow_activeflows`, scoped on `customer_id`.
const TABLE: Table = Table::new("flow_activeflows", COLUMNS);

fn corrupt(column: &str, detail: impl std::fmt::Display) -> Error {
    Error::internal(format!(
        "flow_activeflows.{column} does not decode: {detail}"
    ))
}

/// Decodes a row; a value that does not decode means a broken row, hence a 500.
fn from_row(r: &AnyRow) -> Result<Activeflow> {
    let status = row::text(r, "status")?;
    let reference_type = row::text(r, "reference_type")?;
    Ok(Activeflow {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        flow_id: row::uuid(r, "flow_id")?,
        status: ActiveflowStatus::from_wire(&status).ok_or_else(|| corrupt("status", &status))?,
        reference_type: ReferenceType::from_wire(&reference_type)
            .ok_or_else(|| corrupt("reference_type", &reference_type))?,
        reference_id: row::uuid(r, "reference_id")?,
        reference_activeflow_id: row::uuid(r, "reference_activeflow_id")?,
        on_complete_flow_id: row::uuid(r, "on_complete_flow_id")?,
        webhook_uri: row::text(r, "webhook_uri")?,
        webhook_method: row::text(r, "webhook_method")?,
        stack_map: row::json(r, "stack_map")?,
        current_stack_id: row::uuid(r, "current_stack_id")?,
        current_action: row::json(r, "current_action")?,
        forward_stack_id: row::uuid(r, "forward_stack_id")?,
        forward_action_id: row::uuid(r, "forward_action_id")?,
        execute_count: row::int(r, "execute_count")?,
        executed_actions: row::json(r, "executed_actions")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}

fn encode(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// Inserts a new activeflow.
pub(crate) async fn insert(pool: &AnyPool, af: &Activeflow) -> Result<()> {
    let sql = format!(
        "INSERT INTO flow_activeflows ({COLUMNS}) VALUES \
         (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(af.id.to_string())
        .bind(af.customer_id.to_string())
        .bind(af.flow_id.to_string())
        .bind(af.status.as_str())
        .bind(af.reference_type.as_str())
        .bind(af.reference_id.to_string())
        .bind(af.reference_activeflow_id.to_string())
        .bind(af.on_complete_flow_id.to_string())
        .bind(af.webhook_uri.clone())
        .bind(af.webhook_method.clone())
        .bind(encode(&af.stack_map)?)
        .bind(af.current_stack_id.to_string())
        .bind(encode(&af.current_action)?)
        .bind(af.forward_stack_id.to_string())
        .bind(af.forward_action_id.to_string())
        .bind(af.execute_count)
        .bind(encode(&af.executed_actions)?)
        .bind(af.tm_create.clone())
        .bind(af.tm_update.clone())
        .bind(af.tm_delete.clone())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The live activeflow `id`, whoever owns it.
pub(crate) async fn get_live(pool: &AnyPool, id: Uuid) -> Result<Option<Activeflow>> {
    TABLE.get(pool, id, None, false, from_row).await
}

/// One page of live activeflows, newest first (`size + 1` rows); of one customer or of all.
pub(crate) async fn list(
    pool: &AnyPool,
    customer: Option<Uuid>,
    page: &PageRequest,
) -> Result<Vec<Activeflow>> {
    TABLE.list(pool, customer, page, from_row).await
}

/// Moves the live activeflow `id` to `ended` if it is not already; true when it changed.
pub(crate) async fn end(pool: &AnyPool, id: Uuid, now: &str) -> Result<bool> {
    let sql = format!(
        "UPDATE flow_activeflows SET status = ?, tm_update = ? \
         WHERE id = ? AND status <> ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(ActiveflowStatus::Ended.as_str())
        .bind(now.to_owned())
        .bind(id.to_string())
        .bind(ActiveflowStatus::Ended.as_str())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}
