//! SQL for `customer_customers`.

use uuid::Uuid;
use voxbin_core::{clock, Result};
use voxbin_store::sqlx::{self, Any, AnyConnection, AssertSqlSafe, Executor};
use voxbin_store::{map_db_error, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::{Customer, STATUS_DELETED};

/// Columns selected for a [`Customer`].
pub const COLUMNS: &str = "id, name, detail, email, phone_number, address, webhook_method, \
    webhook_uri, webhook_secret, billing_account_id, metadata, email_verified, status, \
    identity_verification_status, terms_agreed_version, terms_agreed_ip, \
    tm_deletion_scheduled, tm_create, tm_update, tm_delete";

/// `customer_customers`; a customer is scoped to itself, by `id`.
const TABLE: Table = Table::new("customer_customers", COLUMNS).owned_by("id");

/// Inserts a new customer (its `customer_id` column is its own id).
pub async fn insert<'e, E: Executor<'e, Database = Any>>(exec: E, c: &Customer) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_customers (id, customer_id, name, detail, email, phone_number, \
         address, webhook_method, webhook_uri, webhook_secret, billing_account_id, metadata, \
         email_verified, status, identity_verification_status, terms_agreed_version, \
         terms_agreed_ip, tm_deletion_scheduled, tm_create, tm_update, tm_delete) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.id.to_string())
    .bind(c.id.to_string())
    .bind(c.name.as_str())
    .bind(c.detail.as_str())
    .bind(c.email.as_str())
    .bind(c.phone_number.as_str())
    .bind(c.address.as_str())
    .bind(c.webhook_method.as_str())
    .bind(c.webhook_uri.as_str())
    .bind(c.webhook_secret.as_str())
    .bind(c.billing_account_id.to_string())
    .bind(c.metadata.to_string())
    .bind(i64::from(c.email_verified))
    .bind(c.status.as_str())
    .bind(c.identity_verification_status.as_str())
    .bind(c.terms_agreed_version.as_str())
    .bind(c.terms_agreed_ip.as_str())
    .bind(c.tm_deletion_scheduled.clone())
    .bind(c.tm_create.as_str())
    .bind(c.tm_update.clone())
    .bind(c.tm_delete.clone())
    .execute(exec)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live customer `id`, read from the writer (callers read their own writes).
pub async fn get(db: &Db, id: Uuid) -> Result<Option<Customer>> {
    get_in(db.writer(), id, false).await
}

/// The customer `id` through `exec` (a pool or a transaction); deleted ones too when
/// `with_deleted`.
pub async fn get_in<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    with_deleted: bool,
) -> Result<Option<Customer>> {
    TABLE
        .get(exec, id, None, with_deleted, Customer::from_row)
        .await
}

/// One page of live customers, newest first; `only` restricts the list to one customer.
pub async fn list(db: &Db, only: Option<Uuid>, req: &PageRequest) -> Result<Page<Customer>> {
    let customers = db
        .read(|pool| TABLE.list(pool, only, req, Customer::from_row))
        .await?;
    Ok(Page::from_rows(customers, req.size, |c| {
        (c.tm_create.clone(), c.id)
    }))
}

/// True when a live customer already uses `email` (compared without case).
pub async fn email_taken(db: &Db, email: &str) -> Result<bool> {
    let sql = format!("SELECT COUNT(*) FROM customer_customers WHERE LOWER(email) = ? AND {LIVE}");
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(email.to_lowercase())
        .fetch_one(db.writer())
        .await
        .map_err(map_db_error)?;
    Ok(count > 0)
}

/// Writes the editable fields of `c`; false when the customer is no longer live.
pub async fn update<'e>(exec: impl Executor<'e, Database = Any>, c: &Customer) -> Result<bool> {
    let sql = format!(
        "UPDATE customer_customers SET name = ?, detail = ?, email = ?, phone_number = ?, \
         address = ?, webhook_method = ?, webhook_uri = ?, webhook_secret = ?, tm_update = ? \
         WHERE id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(c.name.as_str())
        .bind(c.detail.as_str())
        .bind(c.email.as_str())
        .bind(c.phone_number.as_str())
        .bind(c.address.as_str())
        .bind(c.webhook_method.as_str())
        .bind(c.webhook_uri.as_str())
        .bind(c.webhook_secret.as_str())
        .bind(clock::now())
        .bind(c.id.to_string())
        .execute(exec)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes the customer (status `deleted`) and every live access key of it, in the
/// caller's transaction `tx`; false when the customer was not live (nothing changed).
pub async fn delete(tx: &mut AnyConnection, id: Uuid) -> Result<bool> {
    let now = clock::now();
    let sql = format!(
        "UPDATE customer_customers SET status = ?, tm_update = ?, tm_delete = ? \
         WHERE id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(STATUS_DELETED)
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let sql = format!(
        "UPDATE customer_accesskeys SET tm_update = ?, tm_delete = ? WHERE customer_id = ? AND {LIVE}"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
    Ok(true)
}
