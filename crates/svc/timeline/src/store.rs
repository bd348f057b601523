//! SQL over `timeline_events` (the same text for SQLite and MySQL through sqlx's Any driver).

use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::Pool;
use voxbin_store::{map_db_error, page_clause, row, sqlx, BindAll, Db, Dialect, Page, PageRequest};

use crate::model::TimelineEvent;

const COLUMNS: &str = "id, customer_id, resource_type, resource_id, activeflow_id, event_type, \
                       publisher, data, dedupe_key, tm_create";

/// Stores `rows` in one statement, skipping those whose dedupe key is stored already (or
/// repeats an earlier row's); the number stored.
pub async fn insert_many(db: &Db, rows: &[TimelineEvent]) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sql = String::from(
        "INSERT INTO timeline_events (id, customer_id, resource_type, resource_id, \
         activeflow_id, event_type, publisher, data, dedupe_key, tm_create) VALUES ",
    );
    for n in 0..rows.len() {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    sql.push_str(match db.dialect() {
        Dialect::Sqlite => " ON CONFLICT (dedupe_key) DO NOTHING",
        // a no-op update: only a duplicate key is skipped, every other error still fails
        Dialect::MySql => " ON DUPLICATE KEY UPDATE id = id",
    });
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for e in rows {
        query = query
            .bind(e.id.to_string())
            .bind(e.customer_id.to_string())
            .bind(e.resource_type.as_str())
            .bind(e.resource_id.to_string())
            .bind(e.activeflow_id.map(|id| id.to_string()))
            .bind(e.event_type.as_str())
            .bind(e.publisher.as_str())
            .bind(e.data.to_string())
            .bind(e.dedupe_key.as_str())
            .bind(e.tm_create.as_str());
    }
    let done = query.execute(db.writer()).await.map_err(map_db_error)?;
    Ok(done.rows_affected())
}

/// A page of the events of one resource visible to `customer` (everyone's when `None`),
/// newest first.
pub async fn list_by_resource(
    db: &Db,
    customer: Option<Uuid>,
    resource_type: &str,
    resource_id: Uuid,
    req: &PageRequest,
) -> Result<Page<TimelineEvent>> {
    let filter = [
        ("resource_type", resource_type.to_owned()),
        ("resource_id", resource_id.to_string()),
    ];
    list(db, customer, &filter, req).await
}

/// A page of the events of one activeflow (its own and those of resources it drove) visible
/// to `customer`, newest first.
pub async fn list_by_activeflow(
    db: &Db,
    customer: Option<Uuid>,
    activeflow_id: Uuid,
    req: &PageRequest,
) -> Result<Page<TimelineEvent>> {
    let filter = [("activeflow_id", activeflow_id.to_string())];
    list(db, customer, &filter, req).await
}

/// The activeflow the newest event of call `call_id` names, if any event of it does.
pub async fn activeflow_of_call(
    db: &Db,
    customer: Option<Uuid>,
    call_id: Uuid,
) -> Result<Option<Uuid>> {
    let mut sql = "SELECT activeflow_id FROM timeline_events WHERE resource_type = 'call' \
                   AND resource_id = ? AND activeflow_id IS NOT NULL"
        .to_owned();
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    sql.push_str(" ORDER BY tm_create DESC, id DESC LIMIT 1");
    let found: Option<String> = db
        .read(|pool| {
            let sql = sql.clone();
            async move {
                let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(call_id.to_string());
                if let Some(c) = customer {
                    query = query.bind(c.to_string());
                }
                query.fetch_optional(pool).await.map_err(map_db_error)
            }
        })
        .await?;
    Ok(found.and_then(|id| Uuid::try_parse(&id).ok()))
}

/// Rows matching every `(column, value)` of `filter` in `customer`'s scope, one page.
async fn list(
    db: &Db,
    customer: Option<Uuid>,
    filter: &[(&'static str, String)],
    req: &PageRequest,
) -> Result<Page<TimelineEvent>> {
    let mut sql = format!("SELECT {COLUMNS} FROM timeline_events WHERE 1 = 1");
    let mut values: Vec<String> = Vec::new();
    for (column, value) in filter {
        sql.push_str(&format!(" AND {column} = ?"));
        values.push(value.clone());
    }
    if let Some(c) = customer {
        sql.push_str(" AND customer_id = ?");
        values.push(c.to_string());
    }
    let (clause, binds) = page_clause(req);
    sql.push_str(&clause);
    let rows = db
        .read(|pool: &Pool| {
            let (sql, values, binds) = (sql.clone(), values.clone(), binds.clone());
            async move {
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for v in values {
                    query = query.bind(v);
                }
                let rows = query
                    .bind_all(binds)
                    .fetch_all(pool)
                    .await
                    .map_err(map_db_error)?;
                rows.iter().map(from_row).collect::<Result<Vec<_>>>()
            }
        })
        .await?;
    Ok(Page::from_rows(rows, req.size, |e| {
        (e.tm_create.clone(), e.id)
    }))
}

fn from_row(r: &AnyRow) -> Result<TimelineEvent> {
    let activeflow_id = match row::opt_text(r, "activeflow_id")? {
        Some(text) => Uuid::try_parse(&text).ok(),
        None => None,
    };
    Ok(TimelineEvent {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        resource_type: row::text(r, "resource_type")?,
        resource_id: row::uuid(r, "resource_id")?,
        activeflow_id,
        event_type: row::text(r, "event_type")?,
        publisher: row::text(r, "publisher")?,
        data: row::json(r, "data")?,
        dedupe_key: row::text(r, "dedupe_key")?,
        tm_create: row::text(r, "tm_create")?,
    })
}
