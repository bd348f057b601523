//! SQL for `customer_accesskeys`.

use uuid::Uuid;
use voxbin_core::{clock, Result};
use voxbin_store::sqlx::{self, Any, AssertSqlSafe, Executor};
use voxbin_store::{map_db_error, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::Accesskey;

/// Columns selected for an [`Accesskey`].
pub const COLUMNS: &str =
    "id, customer_id, name, detail, token_hash, token_prefix, tm_expire, tm_create, tm_update, tm_delete";

/// `customer_accesskeys`, scoped on `customer_id`.
const TABLE: Table = Table::new("customer_accesskeys", COLUMNS);

/// Inserts a new access key.
pub async fn insert<'e, E: Executor<'e, Database = Any>>(exec: E, k: &Accesskey) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_accesskeys (id, customer_id, name, detail, token_hash, token_prefix, \
         tm_expire, tm_create, tm_update, tm_delete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(k.id.to_string())
    .bind(k.customer_id.to_string())
    .bind(k.name.as_str())
    .bind(k.detail.as_str())
    .bind(k.token_hash.as_str())
    .bind(k.token_prefix.as_str())
    .bind(k.tm_expire.clone())
    .bind(k.tm_create.as_str())
    .bind(k.tm_update.clone())
    .bind(k.tm_delete.clone())
    .execute(exec)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live key `id`, scoped to `customer` when given.
pub async fn get(db: &Db, id: Uuid, customer: Option<Uuid>) -> Result<Option<Accesskey>> {
    get_where(db.writer(), id, customer, true).await
}

/// The key `id` live or not (to answer a delete with the deleted row).
pub async fn get_any<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    customer: Option<Uuid>,
) -> Result<Option<Accesskey>> {
    get_where(exec, id, customer, false).await
}

/// The key `id`, live only when `live_only`, scoped to `customer` when given.
async fn get_where<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    customer: Option<Uuid>,
    live_only: bool,
) -> Result<Option<Accesskey>> {
    TABLE
        .get(exec, id, customer, !live_only, Accesskey::from_row)
        .await
}

/// The live key whose token hashes to `token_hash`.
pub async fn get_by_hash(db: &Db, token_hash: &str) -> Result<Option<Accesskey>> {
    let sql = format!("SELECT {COLUMNS} FROM customer_accesskeys WHERE token_hash = ? AND {LIVE}");
    let row = db
        .read(|pool| {
            let sql = sql.clone();
            async move {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(token_hash)
                    .fetch_optional(pool)
                    .await
                    .map_err(map_db_error)
            }
        })
        .await?;
    row.as_ref().map(Accesskey::from_row).transpose()
}

/// One page of live keys, newest first, of one customer (or of all).
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Accesskey>> {
    let keys = db
        .read(|pool| TABLE.list(pool, customer, req, Accesskey::from_row))
        .await?;
    Ok(Page::from_rows(keys, req.size, |k| {
        (k.tm_create.clone(), k.id)
    }))
}

/// Sets name and detail of a live key; false when there is none.
pub async fn update<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    name: &str,
    detail: &str,
) -> Result<bool> {
    let sql = format!(
        "UPDATE customer_accesskeys SET name = ?, detail = ?, tm_update = ? WHERE id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(name)
        .bind(detail)
        .bind(clock::now())
        .bind(id.to_string())
        .execute(exec)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Token hashes of the customer's live keys.
pub async fn live_hashes_of(db: &Db, customer: Uuid) -> Result<Vec<String>> {
    let sql =
        format!("SELECT token_hash FROM customer_accesskeys WHERE customer_id = ? AND {LIVE}");
    sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(customer.to_string())
        .fetch_all(db.writer())
        .await
        .map_err(map_db_error)
}
