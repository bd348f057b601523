//! SQL over `tag_tags` (the same text for SQLite and MySQL through sqlx's Any driver).
//!
//! `live_name` repeats `name` while the row is live and is cleared on delete; the unique index
//! on `(customer_id, live_name)` keeps names unique among a customer's live tags, even under
//! concurrent writes.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::{map_db_error, row, sqlx, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use crate::model::{Tag, TagInfo};

const COLUMNS: &str = "id, customer_id, name, detail, tm_create, tm_update, tm_delete";

/// `tag_tags`, scoped on `customer_id`.
const SCOPED: Table = Table::new("tag_tags", COLUMNS);

/// Stores a new tag in `conn`'s transaction; 409 when the customer has a live tag of that name.
pub async fn insert(conn: &mut AnyConnection, t: &Tag) -> Result<()> {
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
    .execute(conn)
    .await
    .map_err(|e| name_taken(e, &t.name))?;
    Ok(())
}

/// The live tag `id` visible to `customer` (any owner when `None`); 404 otherwise.
pub async fn get<'e>(
    pool: impl Executor<'e, Database = Any>,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Tag> {
    let found = SCOPED.get(pool, id, customer, false, from_row).await?;
    found.ok_or_else(|| Error::not_found("tag"))
}

/// One page of live tags of `customer` (of everyone when `None`), newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Tag>> {
    let rows = db
        .read(|pool| SCOPED.list(pool, customer, req, from_row))
        .await?;
    Ok(Page::from_rows(rows, req.size, |r| {
        (r.tm_create.clone(), r.id)
    }))
}

/// Replaces name and detail of the live tag `id` of `customer` (any owner when `None`); the
/// updated tag, 404 when there is none, 409 when the name is taken.
pub async fn update(
    conn: &mut AnyConnection,
    customer: Option<Uuid>,
    id: Uuid,
    info: &TagInfo,
) -> Result<Tag> {
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
        .execute(&mut *conn)
        .await
        .map_err(|e| name_taken(e, &info.name))?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("tag"));
    }
    get(conn, None, id).await
}

/// Soft-deletes the live tag `id` of `customer` (any owner when `None`) and frees its name;
/// returns the deleted row, 404 when there was no live one.
pub async fn delete(conn: &mut AnyConnection, customer: Option<Uuid>, id: Uuid) -> Result<Tag> {
    if !SCOPED
        .soft_delete(&mut *conn, id, customer, "live_name = NULL")
        .await?
    {
        return Err(Error::not_found("tag"));
    }
    let found = SCOPED.get(conn, id, None, true, from_row).await?;
    found.ok_or_else(|| Error::not_found("tag"))
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
fn from_row(r: &AnyRow) -> Result<Tag> {
    Ok(Tag {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        name: row::text(r, "name")?,
        detail: row::text(r, "detail")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}
