//! SQL over `number_numbers` (the same text for SQLite and MySQL through sqlx's Any driver).
//!
//! `live_number` repeats `number` while the row is live and is cleared on delete; its unique
//! index is what makes two live rows with one number impossible, even under concurrent writes.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use uuid::Uuid;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::{map_db_error, page_clause, sqlx, BindAll, Db, Page, PageRequest, LIVE};

use crate::model::{FlowIds, Metadata, Number, NumberInfo, NumberType};

/// Columns read into a [`Number`], in the order `from_row` does not care about.
const COLUMNS: &str = "id, customer_id, number, type, call_flow_id, message_flow_id, name, \
    detail, status, t38_enabled, emergency_enabled, metadata, tm_purchase, tm_renew, \
    tm_create, tm_update, tm_delete";

/// Stores a new number; 409 when the number is live already (for any customer).
pub async fn insert(db: &Db, n: &Number) -> Result<()> {
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
    .execute(db.writer())
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
pub async fn get(pool: &AnyPool, customer: Option<Uuid>, id: Uuid) -> Result<Number> {
    let mut sql = format!("SELECT {COLUMNS} FROM number_numbers WHERE id = ? AND {LIVE}");
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string());
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let row = query.fetch_optional(pool).await.map_err(map_db_error)?;
    row.as_ref()
        .map(from_row)
        .unwrap_or_else(|| Err(Error::not_found("number")))
}

/// The live row holding `number`, visible to `customer` (any owner when `None`).
pub async fn get_by_number(db: &Db, customer: Option<Uuid>, number: &str) -> Result<Number> {
    let mut sql = format!("SELECT {COLUMNS} FROM number_numbers WHERE live_number = ? AND {LIVE}");
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(number.to_owned());
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let row = query
        .fetch_optional(db.reader())
        .await
        .map_err(map_db_error)?;
    row.as_ref()
        .map(from_row)
        .unwrap_or_else(|| Err(Error::not_found("number")))
}

/// One page of live numbers of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Number>> {
    let (clause, binds) = page_clause(req);
    let owner = if customer.is_some() {
        "customer_id = ? AND "
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM number_numbers WHERE {owner}{LIVE}{clause}");
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let rows = query
        .bind_all(binds)
        .fetch_all(db.reader())
        .await
        .map_err(map_db_error)?;
    let numbers = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(numbers, req.size, |n| {
        (n.tm_create.clone(), n.id)
    }))
}

/// Replaces name, detail and flows of the live number `id`; false when there is none.
pub async fn update_info(db: &Db, id: Uuid, info: &NumberInfo) -> Result<bool> {
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
    .execute(db.writer())
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Sets the flows of the live number `id`; false when there is none.
pub async fn update_flows(db: &Db, id: Uuid, flows: &FlowIds) -> Result<bool> {
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE number_numbers SET call_flow_id = ?, message_flow_id = ?, tm_update = ? \
         WHERE id = ? AND {LIVE}"
    )))
    .bind(flows.call_flow_id.to_string())
    .bind(flows.message_flow_id.to_string())
    .bind(clock::now())
    .bind(id.to_string())
    .execute(db.writer())
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Sets the metadata of the live number `id`; false when there is none.
pub async fn update_metadata(db: &Db, id: Uuid, metadata: &Metadata) -> Result<bool> {
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE number_numbers SET metadata = ?, tm_update = ? WHERE id = ? AND {LIVE}"
    )))
    .bind(to_json(metadata)?)
    .bind(clock::now())
    .bind(id.to_string())
    .execute(db.writer())
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes the live number `id` of `customer` (any owner when `None`) and frees its
/// number for reuse; returns the deleted row, 404 when there was no live one.
pub async fn delete(db: &Db, customer: Option<Uuid>, id: Uuid) -> Result<Number> {
    let now = clock::now();
    let mut sql = format!(
        "UPDATE number_numbers SET status = 'deleted', live_number = NULL, tm_update = ?, \
         tm_delete = ? WHERE id = ? AND {LIVE}"
    );
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(id.to_string());
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let done = query.execute(db.writer()).await.map_err(map_db_error)?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("number"));
    }
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM number_numbers WHERE id = ?"
    )))
    .bind(id.to_string())
    .fetch_one(db.writer())
    .await
    .map_err(map_db_error)?;
    from_row(&row)
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
fn from_row(row: &AnyRow) -> Result<Number> {
    Ok(Number {
        id: uuid(row, "id")?,
        customer_id: uuid(row, "customer_id")?,
        number: text(row, "number")?,
        kind: json(row, "type", true)?,
        call_flow_id: uuid(row, "call_flow_id")?,
        message_flow_id: uuid(row, "message_flow_id")?,
        name: text(row, "name")?,
        detail: text(row, "detail")?,
        status: json(row, "status", true)?,
        t38_enabled: flag(row, "t38_enabled")?,
        emergency_enabled: flag(row, "emergency_enabled")?,
        metadata: json(row, "metadata", false)?,
        tm_purchase: opt(row, "tm_purchase")?,
        tm_renew: opt(row, "tm_renew")?,
        tm_create: text(row, "tm_create")?,
        tm_update: opt(row, "tm_update")?,
        tm_delete: opt(row, "tm_delete")?,
    })
}

fn text(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get(col).map_err(map_db_error)
}

fn opt(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get(col).map_err(map_db_error)
}

fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    row.try_get::<i64, _>(col)
        .map(|v| v != 0)
        .map_err(map_db_error)
}

fn uuid(row: &AnyRow, col: &str) -> Result<Uuid> {
    Uuid::parse_str(&text(row, col)?)
        .map_err(|e| Error::internal(format!("number_numbers.{col} is not a UUID: {e}")))
}

/// A column holding JSON text, or (`bare`) a bare enum name such as `active`.
fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str, bare: bool) -> Result<T> {
    let text = text(row, col)?;
    let decoded = if bare {
        serde_json::from_value(serde_json::Value::String(text))
    } else {
        serde_json::from_str(&text)
    };
    decoded.map_err(|e| Error::internal(format!("number_numbers.{col}: {e}")))
}
