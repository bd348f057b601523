//! SQL over `route_routes`.

use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;
use voxbin_store::sqlx::{self, AssertSqlSafe};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;
use voxbin_svc_kit::Scope;

use super::model::Route;
use crate::provider::model::Provider;
use crate::provider::store::COLUMNS as PROVIDER_COLUMNS;

/// The table, scoped on `customer_id`.
const TABLE: Table = Table::new("route_routes", COLUMNS);

/// The columns every query selects.
pub const COLUMNS: &str = "id, customer_id, name, detail, provider_id, priority, target, \
                           tm_create, tm_update, tm_delete";

/// Inserts a new route.
pub async fn insert(pool: &Pool, r: &Route) -> Result<()> {
    let sql =
        format!("INSERT INTO route_routes ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)");
    sqlx::query(AssertSqlSafe(sql))
        .bind(r.id.to_string())
        .bind(r.customer_id.to_string())
        .bind(r.name.as_str())
        .bind(r.detail.as_str())
        .bind(r.provider_id.to_string())
        .bind(r.priority)
        .bind(r.target.as_str())
        .bind(r.tm_create.as_str())
        .bind(r.tm_update.as_str())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The route `id` visible in `scope`; deleted ones only when `include_deleted`.
pub async fn get(
    pool: &Pool,
    id: Uuid,
    scope: Scope,
    include_deleted: bool,
) -> Result<Option<Route>> {
    let decode = |r: &AnyRow| Route::from_row(r, "");
    TABLE
        .get(pool, id, scope.customer(), include_deleted, decode)
        .await
}

/// One page of the live routes visible in `scope`, newest first (`size + 1` rows at most).
pub async fn list(pool: &Pool, scope: Scope, page: &PageRequest) -> Result<Vec<Route>> {
    let decode = |r: &AnyRow| Route::from_row(r, "");
    TABLE.list(pool, scope.customer(), page, decode).await
}

/// Writes the editable fields of a live route; false when it is gone.
pub async fn update(pool: &Pool, r: &Route) -> Result<bool> {
    let sql = format!(
        "UPDATE route_routes SET name = ?, detail = ?, provider_id = ?, priority = ?, target = ?, \
         tm_update = ? WHERE id = ? AND customer_id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(r.name.as_str())
        .bind(r.detail.as_str())
        .bind(r.provider_id.to_string())
        .bind(r.priority)
        .bind(r.target.as_str())
        .bind(r.tm_update.as_str())
        .bind(r.id.to_string())
        .bind(r.customer_id.to_string())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes a live route visible in `scope`; false when none.
pub async fn delete(pool: &Pool, id: Uuid, scope: Scope) -> Result<bool> {
    TABLE.soft_delete(pool, id, scope.customer(), "").await
}

/// The live routes of `customers` whose target is one of `targets`, each with its live
/// provider (routes through a deleted provider are left out), in no particular order.
pub async fn with_providers(
    pool: &Pool,
    customers: &[Uuid],
    targets: &[String],
) -> Result<Vec<(Route, Provider)>> {
    let route_cols = COLUMNS
        .split(", ")
        .map(|c| format!("r.{c} AS r_{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let provider_cols = PROVIDER_COLUMNS
        .split(", ")
        .map(|c| format!("p.{c} AS p_{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = |n: usize| vec!["?"; n].join(", ");
    let sql = format!(
        "SELECT {route_cols}, {provider_cols} FROM route_routes r \
         JOIN route_providers p ON p.id = r.provider_id AND p.tm_delete IS NULL \
         WHERE r.tm_delete IS NULL AND r.customer_id IN ({}) AND r.target IN ({})",
        marks(customers.len()),
        marks(targets.len()),
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for customer in customers {
        query = query.bind(customer.to_string());
    }
    for target in targets {
        query = query.bind(target.as_str());
    }
    let rows = query.fetch_all(pool).await.map_err(map_db_error)?;
    rows.iter()
        .map(|r| Ok((Route::from_row(r, "r_")?, Provider::from_row(r, "p_")?)))
        .collect()
}
