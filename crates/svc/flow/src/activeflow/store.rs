//! SQL of `flow_activeflows` and `flow_variables` (one text per query for SQLite and MySQL,
//! `?` placeholders). An engine step saves both in one transaction, guarded by `revision`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, row, sqlx, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::{Activeflow, ActiveflowStatus, ReferenceType};
use super::variables::Variables;

/// Every column, in the order [`insert`] binds them.
const COLUMNS: &str = "id, customer_id, flow_id, status, reference_type, reference_id, \
    reference_activeflow_id, on_complete_flow_id, webhook_uri, webhook_method, stack_map, \
    current_stack_id, current_action, forward_stack_id, forward_action_id, execute_count, \
    executed_actions, end_reason, revision, tm_create, tm_update, tm_delete";

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
        end_reason: row::text(r, "end_reason")?,
        revision: row::int(r, "revision")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}

fn encode(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// Inserts a new activeflow and its variables, in one transaction.
pub(crate) async fn insert(
    tx: &mut AnyConnection,
    af: &Activeflow,
    vars: &Variables,
) -> Result<()> {
    insert_row(&mut *tx, af).await?;
    sqlx::query(
        "INSERT INTO flow_variables (activeflow_id, customer_id, variables, tm_create, tm_update) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(af.id.to_string())
    .bind(af.customer_id.to_string())
    .bind(encode(vars.map())?)
    .bind(af.tm_create.clone())
    .bind(af.tm_update.clone())
    .execute(&mut *tx)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Inserts the activeflow row.
async fn insert_row(tx: &mut AnyConnection, af: &Activeflow) -> Result<()> {
    let sql = format!(
        "INSERT INTO flow_activeflows ({COLUMNS}) VALUES \
         (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        .bind(af.end_reason.clone())
        .bind(af.revision)
        .bind(af.tm_create.clone())
        .bind(af.tm_update.clone())
        .bind(af.tm_delete.clone())
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The live activeflow `id`, whoever owns it.
pub(crate) async fn get_live<'e>(
    pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: Uuid,
) -> Result<Option<Activeflow>> {
    TABLE.get(pool, id, None, false, from_row).await
}

/// One page of live activeflows, newest first (`size + 1` rows); of one customer or of all.
pub(crate) async fn list(
    pool: &Pool,
    customer: Option<Uuid>,
    page: &PageRequest,
) -> Result<Vec<Activeflow>> {
    TABLE.list(pool, customer, page, from_row).await
}

/// The variables of activeflow `id` (empty when it has none stored).
pub(crate) async fn variables<'e>(
    pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: Uuid,
) -> Result<Variables> {
    let row = sqlx::query("SELECT variables FROM flow_variables WHERE activeflow_id = ?")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    match row {
        Some(r) => Ok(Variables::from_map(row::json(&r, "variables")?)),
        None => Ok(Variables::default()),
    }
}

/// Saves one engine step: the activeflow (if still at `af.revision`, which is then bumped)
/// and, when they changed, its variables, in one transaction. False when another step won
/// the race (nothing is written; reload and retry).
pub(crate) async fn save_step(
    tx: &mut AnyConnection,
    af: &mut Activeflow,
    vars: &Variables,
) -> Result<bool> {
    let now = af.tm_update.clone();
    let sql = format!(
        "UPDATE flow_activeflows SET status = ?, stack_map = ?, current_stack_id = ?, \
         current_action = ?, forward_stack_id = ?, forward_action_id = ?, execute_count = ?, \
         executed_actions = ?, end_reason = ?, revision = ?, tm_update = ? \
         WHERE id = ? AND revision = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(af.status.as_str())
        .bind(encode(&af.stack_map)?)
        .bind(af.current_stack_id.to_string())
        .bind(encode(&af.current_action)?)
        .bind(af.forward_stack_id.to_string())
        .bind(af.forward_action_id.to_string())
        .bind(af.execute_count)
        .bind(encode(&af.executed_actions)?)
        .bind(af.end_reason.clone())
        .bind(af.revision + 1)
        .bind(now.clone())
        .bind(af.id.to_string())
        .bind(af.revision)
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    if vars.is_dirty() {
        sqlx::query(
            "UPDATE flow_variables SET variables = ?, tm_update = ? WHERE activeflow_id = ?",
        )
        .bind(encode(vars.map())?)
        .bind(now)
        .bind(af.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
    }
    af.revision += 1;
    Ok(true)
}
