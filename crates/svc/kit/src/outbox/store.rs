//! SQL over `outbox_events` and `outbox_leases` (same text for SQLite and MySQL).

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use voxbin_core::{clock, ErrorKind, Result};
use voxbin_store::{map_db_error, row, sqlx};

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub seq: i64,
    pub event_type: String,
    pub data: String,
}

/// Adds an event to the transaction `conn` is in.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    publisher: &str,
    event_type: &str,
    resource_id: &str,
    data: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox_events (publisher, event_type, resource_id, data, tm_create) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(publisher)
    .bind(event_type)
    .bind(resource_id)
    .bind(data)
    .bind(clock::now())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Takes or renews the relay lease of `publisher` for `owner` until `until_ms`; false when
/// another owner holds a lease that has not run out at `now_ms`. The UPDATE goes first: the
/// row exists after a publisher's first round, so the INSERT is needed (and fails) rarely.
pub(crate) async fn take_lease(
    conn: &mut AnyConnection,
    publisher: &str,
    owner: &str,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox_leases SET owner = ?, until_ms = ? \
         WHERE publisher = ? AND (owner = ? OR until_ms < ?)",
    )
    .bind(owner)
    .bind(until_ms)
    .bind(publisher)
    .bind(owner)
    .bind(now_ms)
    .execute(&mut *conn)
    .await
    .map_err(map_db_error)?;
    if done.rows_affected() > 0 {
        return Ok(true);
    }
    let made =
        sqlx::query("INSERT INTO outbox_leases (publisher, owner, until_ms) VALUES (?, ?, ?)")
            .bind(publisher)
            .bind(owner)
            .bind(until_ms)
            .execute(conn)
            .await;
    match made.map_err(map_db_error) {
        Ok(_) => Ok(true),
        // The row exists, so the UPDATE missed it: another owner's lease holds.
        Err(e) if e.kind == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives the lease up (on a clean stop), so another relay need not wait for it to run out.
pub(crate) async fn drop_lease(
    conn: &mut AnyConnection,
    publisher: &str,
    owner: &str,
) -> Result<()> {
    sqlx::query("UPDATE outbox_leases SET until_ms = 0 WHERE publisher = ? AND owner = ?")
        .bind(publisher)
        .bind(owner)
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// The oldest `limit` unpublished events of `publisher`, in commit order.
pub(crate) async fn oldest(
    conn: &mut AnyConnection,
    publisher: &str,
    limit: i64,
) -> Result<Vec<Row>> {
    let rows = sqlx::query(
        "SELECT seq, event_type, data FROM outbox_events WHERE publisher = ? \
         AND published_ms = 0 ORDER BY seq LIMIT ?",
    )
    .bind(publisher)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(map_db_error)?;
    rows.iter().map(from_row).collect()
}

/// Up to `limit` events of `publisher` published at or after `since_ms`, after `after_seq`,
/// in commit order (what a new process publishes again over a bus that lost its queues).
pub(crate) async fn published_since(
    conn: &mut AnyConnection,
    publisher: &str,
    since_ms: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Row>> {
    let rows = sqlx::query(
        "SELECT seq, event_type, data FROM outbox_events WHERE publisher = ? \
         AND published_ms >= ? AND seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(publisher)
    .bind(since_ms.max(1))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(map_db_error)?;
    rows.iter().map(from_row).collect()
}

/// Deletes the events of `publisher` up to and including `seq` (they were published).
pub(crate) async fn delete_through(
    conn: &mut AnyConnection,
    publisher: &str,
    seq: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM outbox_events WHERE publisher = ? AND seq <= ?")
        .bind(publisher)
        .bind(seq)
        .execute(conn)
        .await
        .map_err(map_db_error)?;
    Ok(())
}

/// Stamps the unpublished events of `publisher` up to and including `seq` as published at
/// `now_ms` (kept for a replay after a restart).
pub(crate) async fn mark_through(
    conn: &mut AnyConnection,
    publisher: &str,
    seq: i64,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox_events SET published_ms = ? \
         WHERE publisher = ? AND published_ms = 0 AND seq <= ?",
    )
    .bind(now_ms)
    .bind(publisher)
    .bind(seq)
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// Deletes events of `publisher` published before `before_ms`.
pub(crate) async fn sweep(conn: &mut AnyConnection, publisher: &str, before_ms: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM outbox_events WHERE publisher = ? AND published_ms > 0 AND published_ms < ?",
    )
    .bind(publisher)
    .bind(before_ms)
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

fn from_row(r: &AnyRow) -> Result<Row> {
    Ok(Row {
        seq: row::int(r, "seq")?,
        event_type: row::text(r, "event_type")?,
        data: row::text(r, "data")?,
    })
}
