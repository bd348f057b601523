//! SQL of `flow_flows` (one text per query for SQLite and MySQL, `?` placeholders).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, row, sqlx, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::{Flow, FlowType};

/// Every column, in the order [`from_row`] reads them.
const COLUMNS: &str = "id, customer_id, `type`, name, detail, actions, direct_hash, \
                       on_complete_flow_id, tm_create, tm_update, tm_delete, version";

/// `flow_flows`, scoped on `customer_id`.
const TABLE: Table = Table::new("flow_flows", COLUMNS);

/// Decodes a row; a value that does not decode means a broken row, hence a 500.
fn from_row(r: &AnyRow) -> Result<Flow> {
    let type_text = row::text(r, "type")?;
    let r#type = FlowType::from_wire(&type_text)
        .ok_or_else(|| Error::internal(format!("flow_flows.type is unknown: {type_text:?}")))?;
    Ok(Flow {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        r#type,
        name: row::text(r, "name")?,
        detail: row::text(r, "detail")?,
        actions: row::json(r, "actions")?,
        direct_hash: row::text(r, "direct_hash")?,
        on_complete_flow_id: row::uuid(r, "on_complete_flow_id")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
        version: row::int(r, "version")?,
    })
}

/// The actions as stored JSON text.
pub(crate) fn actions_json(flow: &Flow) -> Result<String> {
    serde_json::to_string(&flow.actions)
        .map_err(|e| Error::internal(format!("cannot encode actions: {e}")))
}

/// Inserts a new flow.
pub(crate) async fn insert(conn: &mut AnyConnection, flow: &Flow) -> Result<()> {
    let sql =
        format!("INSERT INTO flow_flows ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
        .bind(flow.version)
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The live flow `id`, whoever owns it.
pub(crate) async fn get_live(pool: &Pool, id: Uuid) -> Result<Option<Flow>> {
    TABLE.get(pool, id, None, false, from_row).await
}

/// The flow `id`, live or deleted.
pub(crate) async fn get_any<'e>(
    pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: Uuid,
) -> Result<Option<Flow>> {
    TABLE.get(pool, id, None, true, from_row).await
}

/// One page of live flows, newest first (`size + 1` rows); of one customer or of all.
pub(crate) async fn list(
    pool: &Pool,
    customer: Option<Uuid>,
    page: &PageRequest,
) -> Result<Vec<Flow>> {
    TABLE.list(pool, customer, page, from_row).await
}

/// How many live flows `customer` has.
pub(crate) async fn count_live(pool: &Pool, customer: Uuid) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM flow_flows WHERE customer_id = ? AND {LIVE}");
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
        .bind(customer.to_string())
        .fetch_one(pool)
        .await
        .map_err(map_db_error)
}

/// Writes the updatable fields of `flow` (name, detail, actions, on_complete_flow_id,
/// tm_update) to its live row and bumps its version; returns the new version, or `None` when
/// no live row matched. Run in the caller's transaction, so the version read back is this
/// write's.
pub(crate) async fn update(tx: &mut AnyConnection, flow: &Flow) -> Result<Option<i64>> {
    let sql = format!(
        "UPDATE flow_flows SET name = ?, detail = ?, actions = ?, on_complete_flow_id = ?, \
         tm_update = ?, version = version + 1 WHERE id = ? AND customer_id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(flow.name.clone())
        .bind(flow.detail.clone())
        .bind(actions_json(flow)?)
        .bind(flow.on_complete_flow_id.to_string())
        .bind(flow.tm_update.clone())
        .bind(flow.id.to_string())
        .bind(flow.customer_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let version = sqlx::query_scalar::<_, i64>("SELECT version FROM flow_flows WHERE id = ?")
        .bind(flow.id.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_db_error)?;
    Ok(Some(version))
}

/// Soft-deletes the live flow `id` of `customer` and bumps its version; the deleted row, or
/// `None` when no live row matched.
pub(crate) async fn delete(
    conn: &mut AnyConnection,
    id: Uuid,
    customer: Uuid,
) -> Result<Option<Flow>> {
    let deleted = voxbin_store::soft_delete_and_set(
        &mut *conn,
        "flow_flows",
        "version = version + 1",
        id,
        Some(customer),
    )
    .await?;
    if !deleted {
        return Ok(None);
    }
    // A deleted row is never written again, so this read sees the delete's version.
    get_any(conn, id).await
}
