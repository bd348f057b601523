//! SQL over `registrar_trunks`.

use uuid::Uuid;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_store::sqlx::{self, AssertSqlSafe};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;
use voxbin_svc_kit::Scope;

use super::model::TrunkRow;

/// The table, scoped on `customer_id`.
const TABLE: Table = Table::new("registrar_trunks", COLUMNS);

/// The columns every query selects, in [`TrunkRow`] order.
pub const COLUMNS: &str = "id, customer_id, name, detail, domain_name, realm, auth_types, \
                           username, password, ha1_md5, ha1_sha256, allowed_ips, tm_create, \
                           tm_update, tm_delete";

/// Serialises a list for a JSON text column.
fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot serialise: {e}")))
}

/// Inserts a new live trunk; 409 when a live trunk already has its domain name.
pub async fn insert(pool: &Pool, t: &TrunkRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO registrar_trunks ({COLUMNS}, live) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(t.id.to_string())
        .bind(t.customer_id.to_string())
        .bind(t.name.as_str())
        .bind(t.detail.as_str())
        .bind(t.domain_name.as_str())
        .bind(t.realm.as_str())
        .bind(json(&t.auth_types)?)
        .bind(t.username.as_str())
        .bind(t.password.as_str())
        .bind(t.ha1_md5.as_str())
        .bind(t.ha1_sha256.as_str())
        .bind(json(&t.allowed_ips)?)
        .bind(t.tm_create.as_str())
        .bind(t.tm_update.as_str())
        .execute(pool)
        .await
        .map_err(|err| match map_db_error(err) {
            mapped if mapped.kind == ErrorKind::AlreadyExists => Error::new(
                ErrorKind::AlreadyExists,
                "TRUNK_ALREADY_EXISTS",
                format!("a trunk named {:?} already exists", t.domain_name),
            ),
            mapped => mapped,
        })?;
    Ok(())
}

/// The trunk `id` visible in `scope`; deleted rows only when `include_deleted`.
pub async fn get(
    pool: &Pool,
    id: Uuid,
    scope: Scope,
    include_deleted: bool,
) -> Result<Option<TrunkRow>> {
    let customer = scope.customer();
    TABLE
        .get(pool, id, customer, include_deleted, TrunkRow::from_row)
        .await
}

/// One page of the live trunks visible in `scope`, newest first (`size + 1` rows at most).
pub async fn list(pool: &Pool, scope: Scope, page: &PageRequest) -> Result<Vec<TrunkRow>> {
    TABLE
        .list(pool, scope.customer(), page, TrunkRow::from_row)
        .await
}

/// Writes the mutable fields of a live trunk; false when it is gone.
pub async fn update(pool: &Pool, t: &TrunkRow) -> Result<bool> {
    let sql = format!(
        "UPDATE registrar_trunks SET name = ?, detail = ?, realm = ?, auth_types = ?, \
         username = ?, password = ?, ha1_md5 = ?, ha1_sha256 = ?, allowed_ips = ?, tm_update = ? \
         WHERE id = ? AND customer_id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(t.name.as_str())
        .bind(t.detail.as_str())
        .bind(t.realm.as_str())
        .bind(json(&t.auth_types)?)
        .bind(t.username.as_str())
        .bind(t.password.as_str())
        .bind(t.ha1_md5.as_str())
        .bind(t.ha1_sha256.as_str())
        .bind(json(&t.allowed_ips)?)
        .bind(t.tm_update.as_str())
        .bind(t.id.to_string())
        .bind(t.customer_id.to_string())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes a live trunk visible in `scope` and frees its name; false when none.
pub async fn delete(pool: &Pool, id: Uuid, scope: Scope) -> Result<bool> {
    TABLE
        .soft_delete(pool, id, scope.customer(), "live = NULL")
        .await
}

/// The live trunk named `domain_name`.
pub async fn by_domain(pool: &Pool, domain_name: &str) -> Result<Option<TrunkRow>> {
    let sql = format!("SELECT {COLUMNS} FROM registrar_trunks WHERE domain_name = ? AND {LIVE}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(domain_name)
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    row.as_ref().map(TrunkRow::from_row).transpose()
}
