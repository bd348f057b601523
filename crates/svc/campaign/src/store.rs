//! SQL over `campaign_outplans` (the same text for SQLite and MySQL through sqlx's Any
//! driver); `source` is stored as JSON text.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{
    map_db_error, page_clause, soft_delete, sqlx, BindAll, BindValue, Db, Page, PageRequest, LIVE,
};

use crate::model::{DialInfo, Outplan, OutplanInfo};

const TABLE: &str = "campaign_outplans";

const COLUMNS: &str = "id, customer_id, name, detail, source, dial_timeout, try_interval, \
    max_try_count_0, max_try_count_1, max_try_count_2, max_try_count_3, max_try_count_4, \
    tm_create, tm_update, tm_delete";

/// Stores a new outplan.
pub async fn insert(db: &Db, o: &Outplan) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
    )))
    .bind(o.id.to_string())
    .bind(o.customer_id.to_string())
    .bind(o.name.as_str())
    .bind(o.detail.as_str())
    .bind(to_json(&o.source)?)
    .bind(o.dial_timeout)
    .bind(o.try_interval)
    .bind(o.max_try_count_0)
    .bind(o.max_try_count_1)
    .bind(o.max_try_count_2)
    .bind(o.max_try_count_3)
    .bind(o.max_try_count_4)
    .bind(o.tm_create.as_str())
    .bind(o.tm_update.clone())
    .execute(db.writer())
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live outplan `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get(pool: &AnyPool, customer: Option<Uuid>, id: Uuid) -> Result<Outplan> {
    let mut sql = format!("SELECT {COLUMNS} FROM {TABLE} WHERE id = ? AND {LIVE}");
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
        .unwrap_or_else(|| Err(Error::not_found("outplan")))
}

/// One page of live outplans of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Outplan>> {
    let (clause, binds) = page_clause(req);
    let owner = if customer.is_some() {
        "customer_id = ? AND "
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM {TABLE} WHERE {owner}{LIVE}{clause}");
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let rows = query
        .bind_all(binds)
        .fetch_all(db.reader())
        .await
        .map_err(map_db_error)?;
    let outplans = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(outplans, req.size, |o| {
        (o.tm_create.clone(), o.id)
    }))
}

/// Replaces name and detail; the updated outplan, 404 when there is no live one.
pub async fn update_info(
    db: &Db,
    customer: Option<Uuid>,
    id: Uuid,
    info: OutplanInfo,
) -> Result<Outplan> {
    let binds = vec![BindValue::Text(info.name), BindValue::Text(info.detail)];
    update(db, customer, id, "name = ?, detail = ?", binds).await
}

/// Replaces the dial settings; the updated outplan, 404 when there is no live one.
pub async fn update_dial_info(
    db: &Db,
    customer: Option<Uuid>,
    id: Uuid,
    dial: DialInfo,
) -> Result<Outplan> {
    let mut binds = vec![
        BindValue::Text(to_json(&dial.source)?),
        BindValue::Int(dial.dial_timeout),
        BindValue::Int(dial.try_interval),
    ];
    binds.extend(dial.max_try_counts.map(BindValue::Int));
    let set = "source = ?, dial_timeout = ?, try_interval = ?, max_try_count_0 = ?, \
               max_try_count_1 = ?, max_try_count_2 = ?, max_try_count_3 = ?, max_try_count_4 = ?";
    update(db, customer, id, set, binds).await
}

/// Runs `UPDATE ... SET {set}` on the live row `id` of `customer`, then reads it back from
/// the writer (so the caller sees its own write).
async fn update(
    db: &Db,
    customer: Option<Uuid>,
    id: Uuid,
    set: &str,
    mut binds: Vec<BindValue>,
) -> Result<Outplan> {
    let mut sql = format!("UPDATE {TABLE} SET {set}, tm_update = ? WHERE id = ? AND {LIVE}");
    binds.push(BindValue::Text(clock::now()));
    binds.push(BindValue::Text(id.to_string()));
    if let Some(c) = customer {
        sql.push_str(" AND customer_id = ?");
        binds.push(BindValue::Text(c.to_string()));
    }
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind_all(binds)
        .execute(db.writer())
        .await
        .map_err(map_db_error)?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("outplan"));
    }
    get(db.writer(), None, id).await
}

/// Soft-deletes the live outplan `id` of `customer`; returns the deleted row, 404 when there
/// was no live one.
pub async fn delete(db: &Db, customer: Option<Uuid>, id: Uuid) -> Result<Outplan> {
    if !soft_delete(db.writer(), TABLE, id, customer).await? {
        return Err(Error::not_found("outplan"));
    }
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM {TABLE} WHERE id = ?"
    )))
    .bind(id.to_string())
    .fetch_one(db.writer())
    .await
    .map_err(map_db_error)?;
    from_row(&row)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// A row as an [`Outplan`]; a value that does not decode is a 500 (the table is ours).
fn from_row(row: &AnyRow) -> Result<Outplan> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(map_db_error);
    let opt = |col: &str| row.try_get::<Option<String>, _>(col).map_err(map_db_error);
    let int = |col: &str| row.try_get::<i64, _>(col).map_err(map_db_error);
    let uuid = |col: &str| {
        Uuid::parse_str(&text(col)?)
            .map_err(|e| Error::internal(format!("{TABLE}.{col} is not a UUID: {e}")))
    };
    Ok(Outplan {
        id: uuid("id")?,
        customer_id: uuid("customer_id")?,
        name: text("name")?,
        detail: text("detail")?,
        source: serde_json::from_str(&text("source")?)
            .map_err(|e| Error::internal(format!("{TABLE}.source: {e}")))?,
        dial_timeout: int("dial_timeout")?,
        try_interval: int("try_interval")?,
        max_try_count_0: int("max_try_count_0")?,
        max_try_count_1: int("max_try_count_1")?,
        max_try_count_2: int("max_try_count_2")?,
        max_try_count_3: int("max_try_count_3")?,
        max_try_count_4: int("max_try_count_4")?,
        tm_create: text("tm_create")?,
        tm_update: opt("tm_update")?,
        tm_delete: opt("tm_delete")?,
    })
}
