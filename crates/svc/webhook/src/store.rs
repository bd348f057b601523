//! SQL over `webhook_deliveries` (the same text for SQLite and MySQL).
//!
//! Claiming is optimistic: the worker picks due rows that are the first unfinished row of
//! their resource and destination in publish order (`pub_seq`, the event's outbox sequence,
//! then `seq`, insert order, for events of equal or no publisher sequence), then flips each to `delivering` with an UPDATE that repeats
//! the conditions; only the process whose UPDATE changed the row sends it. That works the same
//! with one SQLite writer and with several processes on MariaDB, and a row whose sender died
//! becomes due again when its lease runs out.

use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::Pool;
use voxbin_store::{map_db_error, page_clause, row, sqlx, BindAll, BindValue, PageRequest};

use crate::model::{Delivery, DEAD, DELIVERED, DELIVERING, PENDING};

const COLUMNS: &str =
    "seq, pub_seq, id, customer_id, event_type, resource_id, destination, uri, method, \
    payload, status, attempts, last_error, last_status_code, next_try_ms, lease_until_ms, \
    tm_create, tm_update";

/// A delivery to write.
pub struct NewDelivery<'a> {
    /// Owner.
    pub customer_id: Uuid,
    /// Event type.
    pub event_type: &'a str,
    /// Ordering key.
    pub resource_id: &'a str,
    /// `customer` or `activeflow`.
    pub destination: &'a str,
    /// Target, empty when not known yet.
    pub uri: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Body.
    pub payload: &'a str,
    /// The event's identity (a repeat of it is dropped).
    pub event_key: &'a str,
    /// The publisher's sequence number of the event (0: none); orders a resource's rows.
    pub pub_seq: i64,
    /// When the row may first be sent (epoch ms).
    pub first_try_ms: i64,
}

/// Writes new pending deliveries (the deliveries of one event, in one transaction); a
/// delivery of an event already taken (same key and destination) is not written again.
/// Returns how many were written.
pub async fn insert_all(pool: &Pool, rows: &[NewDelivery<'_>]) -> Result<u64> {
    let mut tx = pool.begin().await.map_err(map_db_error)?;
    let now = clock::now();
    let mut written = 0;
    for d in rows {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, customer_id, event_type, resource_id, \
             destination, uri, method, event_key, payload, status, attempts, last_error, \
             last_status_code, next_try_ms, lease_until_ms, tm_create, tm_update, pub_seq) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0, ?, 0, ?, ?, ? \
             WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries \
                 WHERE event_key = ? AND destination = ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(d.customer_id.to_string())
        .bind(d.event_type)
        .bind(d.resource_id)
        .bind(d.destination)
        .bind(d.uri)
        .bind(d.method)
        .bind(d.event_key)
        .bind(d.payload)
        .bind(PENDING)
        .bind(d.first_try_ms)
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(d.pub_seq)
        .bind(d.event_key)
        .bind(d.destination)
        .execute(&mut *tx)
        .await
        .map_err(map_db_error)?;
        written += done.rows_affected();
    }
    tx.commit().await.map_err(map_db_error)?;
    Ok(written)
}

/// The condition of a row that may be sent at `?` (now, bound twice).
const DUE: &str = "((status = 'pending' AND next_try_ms <= ?) \
    OR (status = 'delivering' AND lease_until_ms < ?))";

/// Up to `limit` due rows that head their resource's queue (no unfinished row of the same
/// resource and destination comes before them in publish order), oldest first.
pub async fn due_heads(pool: &Pool, now_ms: i64, limit: i64) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d WHERE {DUE} \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
             WHERE e.resource_id = d.resource_id AND e.destination = d.destination \
             AND (e.pub_seq < d.pub_seq OR (e.pub_seq = d.pub_seq AND e.seq < d.seq)) \
             AND e.status IN ('pending', 'delivering')) \
         ORDER BY d.seq LIMIT ?"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(now_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(map_db_error)?;
    rows.iter().map(from_row).collect()
}

/// Takes row `seq` for one attempt until `lease_until_ms`; false when another worker took it.
pub async fn claim(pool: &Pool, seq: i64, now_ms: i64, lease_until_ms: i64) -> Result<bool> {
    let sql = format!(
        "UPDATE webhook_deliveries SET status = ?, lease_until_ms = ?, tm_update = ? \
         WHERE seq = ? AND {DUE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(DELIVERING)
        .bind(lease_until_ms)
        .bind(clock::now())
        .bind(seq)
        .bind(now_ms)
        .bind(now_ms)
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Sets the target of a row whose customer target was not known when it was written.
pub async fn set_target(pool: &Pool, seq: i64, uri: &str, method: &str) -> Result<()> {
    sqlx::query("UPDATE webhook_deliveries SET uri = ?, method = ? WHERE seq = ?")
        .bind(uri)
        .bind(method)
        .bind(seq)
        .execute(pool)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// How an attempt ended.
pub enum Outcome<'a> {
    /// 2xx.
    Delivered {
        /// The answer's status.
        status_code: u16,
    },
    /// Failed; try again at `next_try_ms`.
    Retry {
        /// The answer's status (0: no answer).
        status_code: u16,
        /// Why it failed.
        error: &'a str,
        /// When to try again (epoch ms).
        next_try_ms: i64,
    },
    /// Failed for the last time.
    Dead {
        /// The answer's status (0: no answer).
        status_code: u16,
        /// Why it failed.
        error: &'a str,
    },
}

/// Records an attempt of row `seq`.
pub async fn finish(pool: &Pool, seq: i64, outcome: Outcome<'_>) -> Result<()> {
    let (status, code, error, next) = match outcome {
        Outcome::Delivered { status_code } => (DELIVERED, status_code, "", 0),
        Outcome::Retry {
            status_code,
            error,
            next_try_ms,
        } => (PENDING, status_code, error, next_try_ms),
        Outcome::Dead { status_code, error } => (DEAD, status_code, error, 0),
    };
    let error: String = error.chars().take(1000).collect();
    sqlx::query(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_error = ?, \
         last_status_code = ?, next_try_ms = ?, lease_until_ms = 0, tm_update = ? \
         WHERE seq = ? AND status = 'delivering'",
    )
    .bind(status)
    .bind(error)
    .bind(i64::from(code))
    .bind(next)
    .bind(clock::now())
    .bind(seq)
    .execute(pool)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The earliest `next_try_ms` of a pending row, if any (when the worker must wake next).
pub async fn next_due(pool: &Pool) -> Result<Option<i64>> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_try_ms) FROM webhook_deliveries WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await
    .map_err(map_db_error)?;
    Ok(next)
}

/// List filters.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this customer's rows.
    pub customer: Option<Uuid>,
    /// Only rows in this status.
    pub status: Option<String>,
    /// Only rows about this resource.
    pub resource_id: Option<String>,
}

/// One page of deliveries, newest first (`size + 1` rows).
pub async fn list(pool: &Pool, filter: &Filter, req: &PageRequest) -> Result<Vec<Delivery>> {
    let mut sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE 1 = 1");
    let mut binds = Vec::new();
    if let Some(c) = filter.customer {
        sql.push_str(" AND customer_id = ?");
        binds.push(BindValue::Text(c.to_string()));
    }
    if let Some(s) = &filter.status {
        sql.push_str(" AND status = ?");
        binds.push(BindValue::Text(s.clone()));
    }
    if let Some(r) = &filter.resource_id {
        sql.push_str(" AND resource_id = ?");
        binds.push(BindValue::Text(r.clone()));
    }
    let (clause, page_binds) = page_clause(req);
    sql.push_str(&clause);
    binds.extend(page_binds);
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind_all(binds)
        .fetch_all(pool)
        .await
        .map_err(map_db_error)?;
    rows.iter().map(from_row).collect()
}

/// The delivery `id` visible to `customer` (any owner when `None`).
pub async fn get(pool: &Pool, customer: Option<Uuid>, id: Uuid) -> Result<Delivery> {
    let mut sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = ?");
    if customer.is_some() {
        sql.push_str(" AND customer_id = ?");
    }
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string());
    if let Some(c) = customer {
        query = query.bind(c.to_string());
    }
    let found = query.fetch_optional(pool).await.map_err(map_db_error)?;
    match found {
        Some(r) => from_row(&r),
        None => Err(Error::not_found("webhook_delivery")),
    }
}

fn from_row(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        seq: row::int(r, "seq")?,
        pub_seq: row::int(r, "pub_seq")?,
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        event_type: row::text(r, "event_type")?,
        resource_id: row::text(r, "resource_id")?,
        destination: row::text(r, "destination")?,
        uri: row::text(r, "uri")?,
        method: row::text(r, "method")?,
        payload: row::text(r, "payload")?,
        status: row::text(r, "status")?,
        attempts: row::int(r, "attempts")?,
        last_error: row::text(r, "last_error")?,
        last_status_code: row::int(r, "last_status_code")?,
        next_try_ms: row::int(r, "next_try_ms")?,
        lease_until_ms: row::int(r, "lease_until_ms")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
    })
}
