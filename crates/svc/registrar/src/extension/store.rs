//! SQL over `registrar_extensions`.

use uuid::Uuid;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_store::sqlx::{self, AssertSqlSafe};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;
use voxbin_svc_kit::Scope;

use super::model::ExtensionRow;

/// The table, scoped on `customer_id`.
const TABLE: Table = Table::new("registrar_extensions", COLUMNS);

/// The columns every query selects, in [`ExtensionRow`] order.
pub const COLUMNS: &str = "id, customer_id, name, detail, extension, realm, password, ha1_md5, \
                           ha1_sha256, direct_hash, tm_create, tm_update, tm_delete";

/// The 409 for a second live extension with the same user name in one customer.
fn duplicate(extension: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        "EXTENSION_ALREADY_EXISTS",
        format!("extension {extension:?} already exists for this customer"),
    )
}

/// Inserts a new live extension; 409 when its user name is taken among the customer's live ones.
pub async fn insert(pool: &Pool, e: &ExtensionRow) -> Result<()> {
    let sql = format!("INSERT INTO registrar_extensions ({COLUMNS}, live) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1)");
    sqlx::query(AssertSqlSafe(sql))
        .bind(e.id.to_string())
        .bind(e.customer_id.to_string())
        .bind(e.name.as_str())
        .bind(e.detail.as_str())
        .bind(e.extension.as_str())
        .bind(e.realm.as_str())
        .bind(e.password.as_str())
        .bind(e.ha1_md5.as_str())
        .bind(e.ha1_sha256.as_str())
        .bind(e.direct_hash.as_str())
        .bind(e.tm_create.as_str())
        .bind(e.tm_update.as_str())
        .execute(pool)
        .await
        .map_err(|err| match map_db_error(err) {
            mapped if mapped.kind == ErrorKind::AlreadyExists => duplicate(&e.extension),
            mapped => mapped,
        })?;
    Ok(())
}

/// The extension `id` visible in `scope`; deleted rows only when `include_deleted`.
pub async fn get(
    pool: &Pool,
    id: Uuid,
    scope: Scope,
    include_deleted: bool,
) -> Result<Option<ExtensionRow>> {
    let customer = scope.customer();
    TABLE
        .get(pool, id, customer, include_deleted, ExtensionRow::from_row)
        .await
}

/// One page of the live extensions visible in `scope`, newest first (`size + 1` rows at most).
pub async fn list(pool: &Pool, scope: Scope, page: &PageRequest) -> Result<Vec<ExtensionRow>> {
    TABLE
        .list(pool, scope.customer(), page, ExtensionRow::from_row)
        .await
}

/// Writes the mutable fields of a live extension; false when it is gone.
pub async fn update(pool: &Pool, e: &ExtensionRow) -> Result<bool> {
    let sql = format!(
        "UPDATE registrar_extensions SET name = ?, detail = ?, realm = ?, password = ?, \
         ha1_md5 = ?, ha1_sha256 = ?, tm_update = ? WHERE id = ? AND customer_id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(e.name.as_str())
        .bind(e.detail.as_str())
        .bind(e.realm.as_str())
        .bind(e.password.as_str())
        .bind(e.ha1_md5.as_str())
        .bind(e.ha1_sha256.as_str())
        .bind(e.tm_update.as_str())
        .bind(e.id.to_string())
        .bind(e.customer_id.to_string())
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes a live extension visible in `scope` and frees its user name; false when none.
pub async fn delete(pool: &Pool, id: Uuid, scope: Scope) -> Result<bool> {
    TABLE
        .soft_delete(pool, id, scope.customer(), "live = NULL")
        .await
}

/// The live extension of `customer_id` whose user name is `username`.
pub async fn by_username(
    pool: &Pool,
    customer_id: Uuid,
    username: &str,
) -> Result<Option<ExtensionRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM registrar_extensions WHERE customer_id = ? AND extension = ? AND {LIVE}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(customer_id.to_string())
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(map_db_error)?;
    row.as_ref().map(ExtensionRow::from_row).transpose()
}
