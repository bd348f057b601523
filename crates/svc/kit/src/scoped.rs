//! The queries every customer-owned table needs, written once: read one row by id, list a
//! page, soft-delete, each limited to the caller's customer when the [`Scope`] names one.
//!
//! A service declares its table once (`const TABLE: Table = Table::new("tag_tags", COLUMNS)`)
//! and passes its row decoder; inserts, updates and lookups by other keys stay in the
//! service's `store`, since their columns differ. The SQL text is the same for SQLite and
//! MySQL (sqlx's Any driver, `?` placeholders); paging comes from [`voxbin_store::page`].
//!
//! [`Scope`]: crate::Scope

use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;
use voxbin_store::sqlx::{self, AssertSqlSafe};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, page_clause, soft_delete_and_set, BindAll, PageRequest, LIVE};

/// A table of rows owned by customers, and the columns its rows are decoded from.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The table's name (a compile-time constant: it is pasted into SQL).
    pub name: &'static str,
    /// The selected columns, comma-separated, as the decoder reads them.
    pub columns: &'static str,
    /// The column a scope filters on.
    pub owner: &'static str,
}

impl Table {
    /// A table whose rows belong to the customer in their `customer_id` column.
    pub const fn new(name: &'static str, columns: &'static str) -> Table {
        Table {
            name,
            columns,
            owner: "customer_id",
        }
    }

    /// The same table scoped on another column (e.g. `id` for the customers themselves).
    pub const fn owned_by(self, owner: &'static str) -> Table {
        Table { owner, ..self }
    }

    /// The row `id` if `owner` (any owner when `None`) has it; soft-deleted rows only when
    /// `include_deleted`.
    pub async fn get<'e, T>(
        &self,
        pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
        id: Uuid,
        owner: Option<Uuid>,
        include_deleted: bool,
        decode: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut sql = format!("SELECT {} FROM {} WHERE id = ?", self.columns, self.name);
        if !include_deleted {
            sql.push_str(&format!(" AND {LIVE}"));
        }
        if owner.is_some() {
            sql.push_str(&format!(" AND {} = ?", self.owner));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string());
        if let Some(owner) = owner {
            query = query.bind(owner.to_string());
        }
        let row = query.fetch_optional(pool).await.map_err(map_db_error)?;
        row.as_ref().map(decode).transpose()
    }

    /// One page of live rows of `owner` (of everyone when `None`), newest first: up to
    /// `page.size + 1` rows, the extra one telling that another page follows (see
    /// [`voxbin_store::Page::from_rows`]).
    pub async fn list<T>(
        &self,
        pool: &Pool,
        owner: Option<Uuid>,
        page: &PageRequest,
        decode: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let (clause, binds) = page_clause(page);
        let filter = match owner {
            Some(_) => format!(" AND {} = ?", self.owner),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {LIVE}{filter}{clause}",
            self.columns, self.name
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(owner) = owner {
            query = query.bind(owner.to_string());
        }
        let rows = query
            .bind_all(binds)
            .fetch_all(pool)
            .await
            .map_err(map_db_error)?;
        rows.iter().map(decode).collect()
    }

    /// Soft-deletes the live row `id` of `customer` (any owner when `None`), also applying
    /// `also_set` (such as `live_name = NULL`, empty for nothing); false when there was none.
    pub async fn soft_delete<'e>(
        &self,
        pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
        id: Uuid,
        customer: Option<Uuid>,
        also_set: &'static str,
    ) -> Result<bool> {
        soft_delete_and_set(pool, self.name, also_set, id, customer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxbin_store::{Db, DbOptions, Page};

    const THINGS: Table = Table::new("things", "id, customer_id, tm_create, tm_delete");

    fn id_of(row: &AnyRow) -> Result<(Uuid, String)> {
        Ok((
            voxbin_store::row::uuid(row, "id")?,
            voxbin_store::row::text(row, "tm_create")?,
        ))
    }

    #[tokio::test]
    async fn get_list_and_delete_stay_in_scope() {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        sqlx::query(
            "CREATE TABLE things (id CHAR(36) PRIMARY KEY, customer_id CHAR(36) NOT NULL, \
             tm_create VARCHAR(32) NOT NULL, tm_update VARCHAR(32) NULL, \
             tm_delete VARCHAR(32) NULL)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut mine = Vec::new();
        for n in 0..3 {
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO things (id, customer_id, tm_create) VALUES (?, ?, ?)")
                .bind(id.to_string())
                .bind(a.to_string())
                .bind(format!("2026-01-0{n}"))
                .execute(db.writer())
                .await
                .unwrap();
            mine.push(id);
        }
        let pool = db.writer();
        let first = mine[0];
        assert!(THINGS
            .get(pool, first, Some(a), false, id_of)
            .await
            .unwrap()
            .is_some());
        assert!(THINGS
            .get(pool, first, Some(b), false, id_of)
            .await
            .unwrap()
            .is_none());
        assert!(THINGS
            .get(pool, first, None, false, id_of)
            .await
            .unwrap()
            .is_some());

        let req = PageRequest::from_query(Some("2"), None).unwrap();
        let rows = THINGS.list(pool, Some(a), &req, id_of).await.unwrap();
        let page = Page::from_rows(rows, req.size, |r| (r.1.clone(), r.0));
        assert_eq!(page.result.len(), 2);
        assert_eq!(page.result[0].0, mine[2]);
        assert!(!page.next_page_token.is_empty());
        assert!(THINGS
            .list(pool, Some(b), &req, id_of)
            .await
            .unwrap()
            .is_empty());

        assert!(!THINGS.soft_delete(pool, first, Some(b), "").await.unwrap());
        assert!(THINGS.soft_delete(pool, first, Some(a), "").await.unwrap());
        assert!(THINGS
            .get(pool, first, None, false, id_of)
            .await
            .unwrap()
            .is_none());
        assert!(THINGS
            .get(pool, first, None, true, id_of)
            .await
            .unwrap()
            .is_some());
    }
}
