//! SQL over `campaign_outplans` (the same text for SQLite and MySQL through sqlx's Any
//! driver); `source` is stored as JSON text.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{map_db_error, row, sqlx, BindAll, BindValue, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use crate::model::{DialInfo, Outplan, OutplanInfo};

const TABLE: &str = "campaign_outplans";

const COLUMNS: &str = "id, customer_id, name, detail, source, dial_timeout, try_interval, \
    max_try_count_0, max_try_count_1, max_try_count_2, max_try_count_3, max_try_count_4, \
    tm_create, tm_update, tm_delete";

/// `campaign_outplans`, scoped on `customer_id`.
const SCOPED: Table = Table::new(TABLE, COLUMNS);

/// Stores a new outplan.
pub async fn insert(conn: &mut AnyConnection, o: &Outplan) -> Result<()> {
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
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live outplan `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get<'e>(
    pool: impl Executor<'e, Database = Any>,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Outplan> {
    let found = SCOPED.get(pool, id, customer, false, from_row).await?;
    found.ok_or_else(|| Error::not_found("outplan"))
}

/// One page of live outplans of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Outplan>> {
    let rows = db
        .read(|pool| SCOPED.list(pool, customer, req, from_row))
        .await?;
    Ok(Page::from_rows(rows, req.size, |r| {
        (r.tm_create.clone(), r.id)
    }))
}

/// Replaces name and detail; the updated outplan, 404 when there is no live one.
pub async fn update_info(
    conn: &mut AnyConnection,
    customer: Option<Uuid>,
    id: Uuid,
    info: OutplanInfo,
) -> Result<Outplan> {
    let binds = vec![BindValue::Text(info.name), BindValue::Text(info.detail)];
    update(conn, customer, id, "name = ?, detail = ?", binds).await
}

/// Replaces the dial settings; the updated outplan, 404 when there is no live one.
pub async fn update_dial_info(
    conn: &mut AnyConnection,
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
    update(conn, customer, id, set, binds).await
}

/// Runs `UPDATE ... SET {set}` on the live row `id` of `customer`, then reads it back from
/// the writer (so the caller sees its own write).
async fn update(
    conn: &mut AnyConnection,
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
        .execute(&mut *conn)
        .await
        .map_err(map_db_error)?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("outplan"));
    }
    get(conn, None, id).await
}

/// Soft-deletes the live outplan `id` of `customer`; returns the deleted row, 404 when there
/// was no live one.
pub async fn delete(conn: &mut AnyConnection, customer: Option<Uuid>, id: Uuid) -> Result<Outplan> {
    if !SCOPED.soft_delete(&mut *conn, id, customer, "").await? {
        return Err(Error::not_found("outplan"));
    }
    let found = SCOPED.get(conn, id, None, true, from_row).await?;
    found.ok_or_else(|| Error::not_found("outplan"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode: {e}")))
}

/// A row as an [`Outplan`]; a value that does not decode is a 500 (the table is ours).
fn from_row(r: &AnyRow) -> Result<Outplan> {
    Ok(Outplan {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        name: row::text(r, "name")?,
        detail: row::text(r, "detail")?,
        source: row::json(r, "source")?,
        dial_timeout: row::int(r, "dial_timeout")?,
        try_interval: row::int(r, "try_interval")?,
        max_try_count_0: row::int(r, "max_try_count_0")?,
        max_try_count_1: row::int(r, "max_try_count_1")?,
        max_try_count_2: row::int(r, "max_try_count_2")?,
        max_try_count_3: row::int(r, "max_try_count_3")?,
        max_try_count_4: row::int(r, "max_try_count_4")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}
