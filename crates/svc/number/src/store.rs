//! SQL over `number_numbers` (the same text for SQLite and MySQL through sqlx's Any driver).
//!
//! `live_number` repeats `number` while the row is live and is cleared on delete; its unique
//! index is what makes two live rows with one number impossible, even under concurrent writes.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::{map_db_error, row, sqlx, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use crate::model::{FlowIds, Metadata, Number, NumberInfo, NumberType};

/// Columns read into a [`Number`], in the order `from_row` does not care about.
const COLUMNS: &str = "id, customer_id, number, type, call_flow_id, message_flow_id, name, \
    detail, status, t38_enabled, emergency_enabled, metadata, tm_purchase, tm_renew, \
    tm_create, tm_update, tm_delete";

/// `number_numbers`, scoped on `customer_id`.
const SCOPED: Table = Table::new("number_numbers", COLUMNS);

/// Stores a new number; 409 when the number is live already (for any customer).
pub async fn insert(conn: &mut AnyConnection, n: &Number) -> Result<()> {
    sqlx::query(
        "INSERT INTO number_numbers (id, customer_id, number, live_number, type, call_flow_id, \
         message_flow_id, name, detail, status, t38_enabled, emergency_enabled, metadata, \
         tm_purchase, tm_renew, tm_create, tm_update, tm_delete) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(n.id.to_string())
    .bind(n.customer_id.to_string())
    .bind(n.number.as_str())
    .bind(n.number.as_str())
    .bind(kind_text(n.kind))
    .bind(n.call_flow_id.to_string())
    .bind(n.message_flow_id.to_string())
    .bind(n.name.as_str())
    .bind(n.detail.as_str())
    .bind("active")
    .bind(i64::from(n.t38_enabled))
    .bind(i64::from(n.emergency_enabled))
    .bind(to_json(&n.metadata)?)
    .bind(n.tm_purchase.clone())
    .bind(n.tm_renew.clone())
    .bind(n.tm_create.as_str())
    .bind(n.tm_update.clone())
    .execute(conn)
    .await
    .map_err(|e| match map_db_error(e) {
        e if e.kind == ErrorKind::AlreadyExists => Error::new(
            ErrorKind::AlreadyExists,
            "ALREADY_EXISTS",
            format!("the number {} is already in use", n.number),
        ),
        e => e,
    })?;
    Ok(())
}

/// The live number `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get<'e>(
    pool: impl Executor<'e, Database = Any>,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Number> {
    let found = SCOPED.get(pool, id, customer, false, from_row).await?;
    found.ok_or_else(|| Error::not_found("number"))
}

/// The live row holding `number`, visible to `customer` (any owner when `None`).
pub async fn get_by_number(db: &Db, customer: Option<Uuid>, number: &str) -> Result<Number> {
    let mut sql = format!("SELECT {COLUMNS} FROM number_numbers WHERE live_number = ? AND {LIVE}");
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let row = db
        .read(|pool| {
            let mut query = sqlx::query(AssertSqlSafe(sql.clone())).bind(number.to_owned());
            if let Some(c) = customer {
                query = query.bind(c.to_string());
            }
            async move { query.fetch_optional(pool).await.map_err(map_db_error) }
        })
        .await?;
    row.as_ref()
        .map(from_row)
        .unwrap_or_else(|| Err(Error::not_found("number")))
}

/// One page of live numbers of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Number>> {
    let rows = db
        .read(|pool| SCOPED.list(pool, customer, req, from_row))
        .await?;
    Ok(Page::from_rows(rows, req.size, |r| {
        (r.tm_create.clone(), r.id)
    }))
}

/// Replaces name, detail and flows of the live number `id`; false when there is none.
pub async fn update_info(conn: &mut AnyConnection, id: Uuid, info: &NumberInfo) -> Result<bool> {
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE number_numbers SET name = ?, detail = ?, call_flow_id = ?, message_flow_id = ?, \
         tm_update = ? WHERE id = ? AND {LIVE}"
    )))
    .bind(info.name.as_str())
    .bind(info.detail.as_str())
    .bind(info.flows.call_flow_id.to_string())
    .bind(info.flows.message_flow_id.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Sets the flows of the live number `id`; false when there is none.
pub async fn update_flows(conn: &mut AnyConnection, id: Uuid, flows: &FlowIds) -> Result<bool> {
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE number_numbers SET call_flow_id = ?, message_flow_id = ?, tm_update = ? \
         WHERE id = ? AND {LIVE}"
    )))
    .bind(flows.call_flow_id.to_string())
    .bind(flows.message_flow_id.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Sets the metadata of the live number `id`; false when there is none.
pub async fn update_metadata(
    conn: &mut AnyConnection,
    id: Uuid,
    metadata: &Metadata,
) -> Result<bool> {
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE number_numbers SET metadata = ?, tm_update = ? WHERE id = ? AND {LIVE}"
    )))
    .bind(to_json(metadata)?)
    .bind(clock::now())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes the live number `id` of `customer` (any owner when `None`) and frees its
/// number for reuse; returns the deleted row, 404 when there was no live one.
pub async fn delete(conn: &mut AnyConnection, customer: Option<Uuid>, id: Uuid) -> Result<Number> {
    if !SCOPED
        .soft_delete(
            &mut *conn,
            id,
            customer,
            "status = 'deleted', live_number = NULL",
        )
        .await?
    {
        return Err(Error::not_found("number"));
    }
    let found = SCOPED.get(conn, id, None, true, from_row).await?;
    found.ok_or_else(|| Error::not_found("number"))
}

fn kind_text(kind: NumberType) -> &'static str {
    match kind {
        NumberType::Normal => "normal",
        NumberType::Virtual => "virtual",
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// A row as a [`Number`]; a value that does not decode is a 500 (the table is ours).
fn from_row(r: &AnyRow) -> Result<Number> {
    Ok(Number {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        number: row::text(r, "number")?,
        kind: row::variant(r, "type")?,
        call_flow_id: row::uuid(r, "call_flow_id")?,
        message_flow_id: row::uuid(r, "message_flow_id")?,
        name: row::text(r, "name")?,
        detail: row::text(r, "detail")?,
        status: row::variant(r, "status")?,
        t38_enabled: row::flag(r, "t38_enabled")?,
        emergency_enabled: row::flag(r, "emergency_enabled")?,
        metadata: row::json(r, "metadata")?,
        tm_purchase: row::opt_text(r, "tm_purchase")?,
        tm_renew: row::opt_text(r, "tm_renew")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}
