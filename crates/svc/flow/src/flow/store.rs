//! SQL of `flow_flows` (one text per query for SQLite and MySQL, `?` placeholders).

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::{map_db_error, page_clause, sqlx, BindAll, PageRequest, LIVE};

use super::model::{Flow, FlowType};

/// Every column, in the order [`from_row`] reads them.
const COLUMNS: &str = "id, customer_id, `type`, name, detail, actions, direct_hash, \
                       on_complete_flow_id, tm_create, tm_update, tm_delete";

/// Decodes a row; a value that does not decode means a broken row, hence a 500.
fn from_row(row: &AnyRow) -> Result<Flow> {
    let text = |name: &str| -> Result<String> { row.try_get(name).map_err(map_db_error) };
    let uuid = |name: &str| -> Result<Uuid> {
        let value = text(name)?;
        Uuid::try_parse(&value)
            .map_err(|_| Error::internal(format!("flow_flows.{name} is not a UUID: {value:?}")))
    };
    let type_text = text("type")?;
    let r#type = FlowType::from_wire(&type_text)
        .ok_or_else(|| Error::internal(format!("flow_flows.type is unknown: {type_text:?}")))?;
    let actions = serde_json::from_str(&text("actions")?)
        .map_err(|e| Error::internal(format!("flow_flows.actions does not decode: {e}")))?;
    Ok(Flow {
        id: uuid("id")?,
        customer_id: uuid("customer_id")?,
        r#type,
        name: text("name")?,
        detail: text("detail")?,
        actions,
        direct_hash: text("direct_hash")?,
        on_complete_flow_id: uuid("on_complete_flow_id")?,
        tm_create: text("tm_create")?,
        tm_update: row.try_get("tm_update").map_err(map_db_error)?,
        tm_delete: row.try_get("tm_delete").map_err(map_db_error)?,
    })
}

/// The actions as stored JSON text.
pub(crate) fn actions_json(flow: &Flow) -> Result<String> {
    serde_json::to_string(&flow.actions)
        .map_err(|e| Error::internal(format!("cannot encode actions: {e}")))
}

/// Inserts a new flow.
pub(crate) async fn insert(pool: &AnyPool, flow: &Flow) -> Result<()> {
    let sql =
        format!("INSERT INTO flow_flows ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlx::query(AssertSqlSafe(sql))
        .bind(flow.id.to_string())
        .bind(flow.customer_id.to_string())
        .bind(flow.r#type.as_str())
        .bind(flow.name.clone())
        .bind(flow.detail.clone())
        .bind(actions_json(flow)?)
        .bind(flow.direct_hash.clone())
        .bind(flow.on_complete_flow_id.to_string())
        .bind(flow.tm_create.clone())
        .bind(flow.tm_update.clone())
        .bind(flow.tm_delete.clone())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The live flow `id`, whoever owns it.
pub(crate) async fn get_live(pool: &AnyPool, id: Uuid) -> Result<Option<Flow>> {
    let sql = format!("SELECT {COLUMNS} FROM flow_flows WHERE id = ? AND {LIVE}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// The flow `id`, live or deleted.
pub(crate) async fn get_any(pool: &AnyPool, id: Uuid) -> Result<Option<Flow>> {
    let sql = format!("SELECT {COLUMNS} FROM flow_flows WHERE id = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// One page of live flows, newest first (`size + 1` rows); of one customer or of all.
pub(crate) async fn list(
    pool: &AnyPool,
    customer: Option<Uuid>,
    page: &PageRequest,
) -> Result<Vec<Flow>> {
    let (clause, binds) = page_clause(page);
    let owner = if customer.is_some() {
        "customer_id = ? AND "
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM flow_flows WHERE {owner}{LIVE}{clause}");
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

/// How many live flows `customer` has.
pub(crate) async fn count_live(pool: &AnyPool, customer: Uuid) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM flow_flows WHERE customer_id = ? AND {LIVE}");
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
        .bind(customer.to_string())
        .fetch_one(pool)
        .await
        .map_err(map_db_error)
}

/// Writes the updatable fields of `flow` (name, detail, actions, on_complete_flow_id,
/// tm_update) to its live row.
pub(crate) async fn update(pool: &AnyPool, flow: &Flow) -> Result<()> {
    let sql = format!(
        "UPDATE flow_flows SET name = ?, detail = ?, actions = ?, on_complete_flow_id = ?, \
         tm_update = ? WHERE id = ? AND customer_id = ? AND {LIVE}"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(flow.name.clone())
        .bind(flow.detail.clone())
        .bind(actions_json(flow)?)
        .bind(flow.on_complete_flow_id.to_string())
        .bind(flow.tm_update.clone())
        .bind(flow.id.to_string())
        .bind(flow.customer_id.to_string())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(())
}
