//! SQL over `tag_tags` (the same text for SQLite and MySQL through sqlx's Any driver).
//!
//! `live_name` repeats `name` while the row is live and is cleared on delete; the unique index
//! on `(customer_id, live_name)` keeps names unique among a customer's live tags, even under
//! concurrent writes.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use uuid::Uuid;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::{map_db_error, page_clause, sqlx, BindAll, Db, Page, PageRequest, LIVE};

use crate::model::{Tag, TagInfo};

const COLUMNS: &str = "id, customer_id, name, detail, tm_create, tm_update, tm_delete";

/// Stores a new tag; 409 when the customer has a live tag of that name.
pub async fn insert(db: &Db, t: &Tag) -> Result<()> {
    sqlx::query(
        "INSERT INTO tag_tags (id, customer_id, name, live_name, detail, tm_create, tm_update, \
         tm_delete) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(t.id.to_string())
    .bind(t.customer_id.to_string())
    .bind(t.name.as_str())
    .bind(t.name.as_str())
    .bind(t.detail.as_str())
    .bind(t.tm_create.as_str())
    .bind(t.tm_update.clone())
    .execute(db.writer())
    .await
    .map_err(|e| name_taken(e, &t.name))?;
    Ok(())
}

/// The live tag `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get(pool: &AnyPool, customer: Option<Uuid>, id: Uuid) -> Result<Tag> {
    let mut sql = format!("SELECT {COLUMNS} FROM tag_tags WHERE id = ? AND {LIVE}");
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
        .unwrap_or_else(|| Err(Error::not_found("tag")))
}

/// One page of live tags of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Tag>> {
    let (clause, binds) = page_clause(req);
    let owner = if customer.is_some() {
        "customer_id = ? AND "
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM tag_tags WHERE {owner}{LIVE}{clause}");
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let rows = query
        .bind_all(binds)
        .fetch_all(db.reader())
        .await
        .map_err(map_db_error)?;
    let tags = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(tags, req.size, |t| {
        (t.tm_create.clone(), t.id)
    }))
}

/// Replaces name and detail of the live tag `id` of `customer` (any owner when `None`); the
/// updated tag, 404 when there is none, 409 when the name is taken.
pub async fn update(db: &Db, customer: Option<Uuid>, id: Uuid, info: &TagInfo) -> Result<Tag> {
    let mut sql = format!(
        "UPDATE tag_tags SET name = ?, live_name = ?, detail = ?, tm_update = ? \
         WHERE id = ? AND {LIVE}"
    );
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(info.name.as_str())
        .bind(info.name.as_str())
        .bind(info.detail.as_str())
        .bind(clock::now())
        .bind(id.to_string());
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let done = query
        .execute(db.writer())
        .await
        .map_err(|e| name_taken(e, &info.name))?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("tag"));
    }
    get(db.writer(), None, id).await
}

/// Soft-deletes the live tag `id` of `customer` (any owner when `None`) and frees its name;
/// returns the deleted row, 404 when there was no live one.
pub async fn delete(db: &Db, customer: Option<Uuid>, id: Uuid) -> Result<Tag> {
    let now = clock::now();
    let mut sql = format!(
        "UPDATE tag_tags SET live_name = NULL, tm_update = ?, tm_delete = ? \
         WHERE id = ? AND {LIVE}"
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
        return Err(Error::not_found("tag"));
    }
    let sql = format!("SELECT {COLUMNS} FROM tag_tags WHERE id = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_one(db.writer())
        .await
        .map_err(map_db_error)?;
    from_row(&row)
}

/// A unique violation on `live_name` as a 409 that names the tag.
fn name_taken(e: sqlx::Error, name: &str) -> Error {
    match map_db_error(e) {
        e if e.kind == ErrorKind::AlreadyExists => Error::new(
            ErrorKind::AlreadyExists,
            "ALREADY_EXISTS",
            format!("a tag named {name:?} already exists"),
        ),
        e => e,
    }
}

/// A row as a [`Tag`]; a value that does not decode is a 500 (the table is ours).
fn from_row(row: &AnyRow) -> Result<Tag> {
    let uuid = |col: &str| {
        let text: String = row.try_get(col).map_err(map_db_error)?;
        Uuid::parse_str(&text)
            .map_err(|e| Error::internal(format!("tag_tags.{col} is not a UUID: {e}")))
    };
    Ok(Tag {
        id: uuid("id")?,
        customer_id: uuid("customer_id")?,
        name: row.try_get("name").map_err(map_db_error)?,
        detail: row.try_get("detail").map_err(map_db_error)?,
        tm_create: row.try_get("tm_create").map_err(map_db_error)?,
        tm_update: row.try_get("tm_update").map_err(map_db_error)?,
        tm_delete: row.try_get("tm_delete").map_err(map_db_error)?,
    })
}
