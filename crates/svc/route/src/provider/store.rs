//! SQL over `route_providers`.

use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::sqlx::any::AnyRow;
use voxbin_store::sqlx::{self, AssertSqlSafe};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::Provider;

/// The table (providers belong to the platform, not to a customer).
const TABLE: Table = Table::new("route_providers", COLUMNS);

/// The columns every query selects.
pub const COLUMNS: &str = "id, type, hostname, tech_prefix, tech_postfix, tech_headers, codecs, \
                           metadata, name, detail, health_status, health_checked_at, tm_create, \
                           tm_update, tm_delete";

/// Serialises a value for a JSON text column.
fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot serialise: {e}")))
}

/// Inserts a new provider.
pub async fn insert(pool: &Pool, p: &Provider) -> Result<()> {
    let sql = format!(
        "INSERT INTO route_providers ({COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(p.id.to_string())
        .bind(p.kind.as_str())
        .bind(p.hostname.as_str())
        .bind(p.tech_prefix.as_str())
        .bind(p.tech_postfix.as_str())
        .bind(json(&p.tech_headers)?)
        .bind(p.codecs.as_str())
        .bind(json(&p.metadata)?)
        .bind(p.name.as_str())
        .bind(p.detail.as_str())
        .bind(p.health_status.as_str())
        .bind(p.health_checked_at.clone())
        .bind(p.tm_create.as_str())
        .bind(p.tm_update.as_str())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The provider `id`; deleted ones only when `include_deleted`.
pub async fn get(pool: &Pool, id: Uuid, include_deleted: bool) -> Result<Option<Provider>> {
    let decode = |r: &AnyRow| Provider::from_row(r, "");
    TABLE.get(pool, id, None, include_deleted, decode).await
}

/// One page of live providers, newest first (`size + 1` rows at most).
pub async fn list(pool: &Pool, page: &PageRequest) -> Result<Vec<Provider>> {
    let decode = |r: &AnyRow| Provider::from_row(r, "");
    TABLE.list(pool, None, page, decode).await
}

/// Writes the editable fields of a live provider; false when it is gone.
pub async fn update(pool: &Pool, p: &Provider) -> Result<bool> {
    let sql = format!(
        "UPDATE route_providers SET type = ?, hostname = ?, tech_prefix = ?, tech_postfix = ?, \
         tech_headers = ?, codecs = ?, name = ?, detail = ?, tm_update = ? WHERE id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(p.kind.as_str())
        .bind(p.hostname.as_str())
        .bind(p.tech_prefix.as_str())
        .bind(p.tech_postfix.as_str())
        .bind(json(&p.tech_headers)?)
        .bind(p.codecs.as_str())
        .bind(p.name.as_str())
        .bind(p.detail.as_str())
        .bind(p.tm_update.as_str())
        .bind(p.id.to_string())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes a live provider; false when none.
pub async fn delete(pool: &Pool, id: Uuid) -> Result<bool> {
    TABLE.soft_delete(pool, id, None, "").await
}
