//! SQL of `flow_activeflows` (one text per query for SQLite and MySQL, `?` placeholders).

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::{map_db_error, page_clause, sqlx, BindAll, PageRequest, LIVE};

use super::model::{Activeflow, ActiveflowStatus, ReferenceType};

/// Every column, in the order [`insert`] binds them.
const COLUMNS: &str = "id, customer_id, flow_id, status, reference_type, reference_id, \
    reference_activeflow_id, on_complete_flow_id, webhook_uri, webhook_method, stack_map, \
    current_stack_id, current_action, forward_stack_id, forward_action_id, execute_count, \
    executed_actions, tm_create, tm_update, tm_delete";

fn corrupt(column: &str, detail: impl std::fmt::Display) -> Error {
    Error::internal(format!(
        "flow_activeflows.{column} does not decode: {detail}"
    ))
}

/// Decodes a row; a value that does not decode means a broken row, hence a 500.
fn from_row(row: &AnyRow) -> Result<Activeflow> {
    let text = |name: &str| -> Result<String> { row.try_get(name).map_err(map_db_error) };
    let uuid = |name: &str| -> Result<Uuid> {
        let value = text(name)?;
        Uuid::try_parse(&value).map_err(|_| corrupt(name, format!("{value:?} is not a UUID")))
    };
    fn json<T: serde::de::DeserializeOwned>(name: &str, value: &str) -> Result<T> {
        serde_json::from_str(value).map_err(|e| corrupt(name, e))
    }
    let status = text("status")?;
    let reference_type = text("reference_type")?;
    Ok(Activeflow {
        id: uuid("id")?,
        customer_id: uuid("customer_id")?,
        flow_id: uuid("flow_id")?,
        status: ActiveflowStatus::from_wire(&status).ok_or_else(|| corrupt("status", &status))?,
        reference_type: ReferenceType::from_wire(&reference_type)
            .ok_or_else(|| corrupt("reference_type", &reference_type))?,
        reference_id: uuid("reference_id")?,
        reference_activeflow_id: uuid("reference_activeflow_id")?,
        on_complete_flow_id: uuid("on_complete_flow_id")?,
        webhook_uri: text("webhook_uri")?,
        webhook_method: text("webhook_method")?,
        stack_map: json("stack_map", &text("stack_map")?)?,
        current_stack_id: uuid("current_stack_id")?,
        current_action: json("current_action", &text("current_action")?)?,
        forward_stack_id: uuid("forward_stack_id")?,
        forward_action_id: uuid("forward_action_id")?,
        execute_count: row.try_get("execute_count").map_err(map_db_error)?,
        executed_actions: json("executed_actions", &text("executed_actions")?)?,
        tm_create: text("tm_create")?,
        tm_update: row.try_get("tm_update").map_err(map_db_error)?,
        tm_delete: row.try_get("tm_delete").map_err(map_db_error)?,
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
    let sql = format!("SELECT {COLUMNS} FROM flow_activeflows WHERE id = ? AND {LIVE}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// One page of live activeflows, newest first (`size + 1` rows); of one customer or of all.
pub(crate) async fn list(
    pool: &AnyPool,
    customer: Option<Uuid>,
    page: &PageRequest,
) -> Result<Vec<Activeflow>> {
    let (clause, binds) = page_clause(page);
    let owner = if customer.is_some() {
        "customer_id = ? AND "
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM flow_activeflows WHERE {owner}{LIVE}{clause}");
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(customer) = customer {
        query = query.bind(customer.to_string());
    }
    let rows = query
        .bind_all(binds)
        .fetch_all(pool)
        .await
        .map_err(map_db_error)?;
    rows.iter().map(from_row).collect()
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
