//! Soft delete: rows are never removed, `tm_delete` is set instead.
//!
//! Every query over live rows says so with [`LIVE`]; `soft_delete` flips a live row to deleted
//! and reports whether there was one, so a second delete can answer 404.

use sqlx::{Any, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};

use crate::error::map_db_error;

/// SQL condition selecting live rows: `tm_delete IS NULL` (write `WHERE ... AND {LIVE}`).
pub const LIVE: &str = "tm_delete IS NULL";

/// Marks the live row `id` of `table` (scoped to `customer_id` when given) as deleted now;
/// returns whether a live row was found.
pub async fn soft_delete<'e>(
    pool: impl Executor<'e, Database = Any>,
    table: &'static str,
    id: Uuid,
    customer_id: Option<Uuid>,
) -> Result<bool> {
    soft_delete_and_set(pool, table, "", id, customer_id).await
}

/// [`soft_delete`] that also applies `also_set`, SQL assignments such as `live_name = NULL`
/// (how a unique index over live rows frees a name); empty for none.
pub async fn soft_delete_and_set<'e>(
    pool: impl Executor<'e, Database = Any>,
    table: &'static str,
    also_set: &'static str,
    id: Uuid,
    customer_id: Option<Uuid>,
) -> Result<bool> {
    // `table` is a compile-time constant of the owning service; still refuse anything but a
    // plain identifier, since it is pasted into SQL.
    if table.is_empty()
        || !table
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::internal(format!(
            "soft_delete: {table:?} is not a table name"
        )));
    }
    let now = clock::now();
    let also = if also_set.is_empty() {
        String::new()
    } else {
        format!("{also_set}, ")
    };
    let mut sql =
        format!("UPDATE {table} SET {also}tm_delete = ?, tm_update = ? WHERE id = ? AND {LIVE}");
    if customer_id.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(id.to_string());
    if let Some(customer_id) = customer_id {
        query = query.bind(customer_id.to_string());
    }
    let done = query.execute(pool).await.map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::temp_db;
    use sqlx::AssertSqlSafe;

    #[tokio::test]
    async fn soft_delete_hides_the_row_once() {
        let (_dir, db) = temp_db().await;
        sqlx::query(
            "CREATE TABLE test_things (id CHAR(36) NOT NULL PRIMARY KEY, customer_id CHAR(36) NOT NULL, \
             tm_create VARCHAR(32) NOT NULL, tm_update VARCHAR(32) NULL, tm_delete VARCHAR(32) NULL)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        let (id, customer, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO test_things (id, customer_id, tm_create) VALUES (?, ?, ?)")
            .bind(id.to_string())
            .bind(customer.to_string())
            .bind(clock::now())
            .execute(db.writer())
            .await
            .unwrap();
        let live = format!("SELECT COUNT(*) FROM test_things WHERE id = ? AND {LIVE}");
        let count = || async {
            sqlx::query_scalar::<_, i64>(AssertSqlSafe(live.clone()))
                .bind(id.to_string())
                .fetch_one(db.writer())
                .await
                .unwrap()
        };
        assert_eq!(count().await, 1);

        assert!(
            !soft_delete(db.writer(), "test_things", id, Some(other))
                .await
                .unwrap(),
            "other customer"
        );
        assert_eq!(count().await, 1);
        assert!(soft_delete(db.writer(), "test_things", id, Some(customer))
            .await
            .unwrap());
        assert_eq!(count().await, 0);
        assert!(
            !soft_delete(db.writer(), "test_things", id, None)
                .await
                .unwrap(),
            "second delete"
        );
        assert!(soft_delete(db.writer(), "test_things; --", id, None)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn soft_delete_and_set_clears_the_live_key() {
        let (_dir, db) = temp_db().await;
        sqlx::query(
            "CREATE TABLE test_names (id CHAR(36) NOT NULL PRIMARY KEY, \
             customer_id CHAR(36) NOT NULL, live_name VARCHAR(255) NULL, \
             tm_update VARCHAR(32) NULL, tm_delete VARCHAR(32) NULL)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        let (id, customer) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO test_names (id, customer_id, live_name) VALUES (?, ?, 'a')")
            .bind(id.to_string())
            .bind(customer.to_string())
            .execute(db.writer())
            .await
            .unwrap();
        let deleted = soft_delete_and_set(
            db.writer(),
            "test_names",
            "live_name = NULL",
            id,
            Some(customer),
        );
        assert!(deleted.await.unwrap());
        let (name, gone): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT live_name, tm_delete FROM test_names")
                .fetch_one(db.writer())
                .await
                .unwrap();
        assert_eq!(name, None);
        assert!(gone.is_some());
    }
}
