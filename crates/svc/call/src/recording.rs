//! Recordings of calls (contract schema `CallManagerRecording`) and their SQL over
//! `call_recordings`. A recording's id is also the op id of the media node's `record_start`,
//! so its `recording_finished` event names it.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::{map_db_error, row, sqlx, Db, Page, PageRequest};
use voxbin_svc_kit::scoped::Table;

/// A recording, in the public shape plus internal fields (skipped on output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Id (also the media operation's id).
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// Owner resource type, or empty.
    pub owner_type: String,
    /// Owner resource; nil when none.
    pub owner_id: Uuid,
    /// `call`.
    pub reference_type: String,
    /// The call recorded.
    pub reference_id: Uuid,
    /// `recording` then `ended`.
    pub status: String,
    /// `wav`.
    pub format: String,
    /// The activeflow that started it; nil when none.
    pub activeflow_id: Uuid,
    /// Flow to run when it ends; nil when none.
    pub on_end_flow_id: Uuid,
    /// WAV file on the media node (internal).
    #[serde(skip_serializing, default)]
    pub path: String,
    /// Media node that wrote it (internal).
    #[serde(skip_serializing, default)]
    pub node_id: String,
    /// Length once ended (internal).
    #[serde(skip_serializing, default)]
    pub duration_ms: i64,
    /// Started.
    pub tm_start: Option<String>,
    /// Ended.
    pub tm_end: Option<String>,
    /// Created.
    pub tm_create: String,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted; `None` while live.
    pub tm_delete: Option<String>,
}

const COLUMNS: &str = "id, customer_id, owner_type, owner_id, reference_type, reference_id, \
    status, format, activeflow_id, on_end_flow_id, path, node_id, duration_ms, tm_start, tm_end, \
    tm_create, tm_update, tm_delete";

const SCOPED: Table = Table::new("call_recordings", COLUMNS);

/// Stores a new recording.
pub async fn insert(conn: &mut AnyConnection, r: &Recording) -> Result<()> {
    sqlx::query(
        "INSERT INTO call_recordings (id, customer_id, owner_type, owner_id, reference_type, \
         reference_id, status, format, activeflow_id, on_end_flow_id, path, node_id, \
         duration_ms, tm_start, tm_end, tm_create, tm_update, tm_delete) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(r.id.to_string())
    .bind(r.customer_id.to_string())
    .bind(r.owner_type.clone())
    .bind(r.owner_id.to_string())
    .bind(r.reference_type.clone())
    .bind(r.reference_id.to_string())
    .bind(r.status.clone())
    .bind(r.format.clone())
    .bind(r.activeflow_id.to_string())
    .bind(r.on_end_flow_id.to_string())
    .bind(r.path.clone())
    .bind(r.node_id.clone())
    .bind(r.duration_ms)
    .bind(r.tm_start.clone())
    .bind(r.tm_end.clone())
    .bind(r.tm_create.clone())
    .bind(r.tm_update.clone())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The live recording `id` visible to `customer`; 404 otherwise.
pub async fn get<'e>(
    pool: impl Executor<'e, Database = Any>,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Recording> {
    let found = SCOPED.get(pool, id, customer, false, from_row).await?;
    found.ok_or_else(|| Error::not_found("recording"))
}

/// One page of live recordings, newest first.
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Recording>> {
    let rows = db
        .read(|pool| SCOPED.list(pool, customer, req, from_row))
        .await?;
    Ok(Page::from_rows(rows, req.size, |r| {
        (r.tm_create.clone(), r.id)
    }))
}

/// Ends recording `id` (once): status ended, end time and length; false if it had ended.
pub async fn finish(conn: &mut AnyConnection, id: Uuid, duration_ms: i64) -> Result<bool> {
    let now = clock::now();
    let done = sqlx::query(
        "UPDATE call_recordings SET status = 'ended', tm_end = ?, duration_ms = ?, tm_update = ? \
         WHERE id = ? AND status <> 'ended'",
    )
    .bind(now.clone())
    .bind(duration_ms)
    .bind(now)
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// The recordings of call `call` still running.
pub async fn running_of(conn: &mut AnyConnection, call: Uuid) -> Result<Vec<Uuid>> {
    let rows =
        sqlx::query("SELECT id FROM call_recordings WHERE reference_id = ? AND status <> 'ended'")
            .bind(call.to_string())
            .fetch_all(conn)
            .await
            .map_err(map_db_error)?;
    rows.iter().map(|r| row::uuid(r, "id")).collect()
}

/// Soft-deletes recording `id` of `customer`; 404 when there is no live one.
pub async fn delete(
    conn: &mut AnyConnection,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Recording> {
    if !SCOPED.soft_delete(&mut *conn, id, customer, "").await? {
        return Err(Error::not_found("recording"));
    }
    let found = SCOPED.get(conn, id, None, true, from_row).await?;
    found.ok_or_else(|| Error::not_found("recording"))
}

fn from_row(r: &AnyRow) -> Result<Recording> {
    Ok(Recording {
        id: row::uuid(r, "id")?,
        customer_id: row::uuid(r, "customer_id")?,
        owner_type: row::text(r, "owner_type")?,
        owner_id: row::uuid(r, "owner_id")?,
        reference_type: row::text(r, "reference_type")?,
        reference_id: row::uuid(r, "reference_id")?,
        status: row::text(r, "status")?,
        format: row::text(r, "format")?,
        activeflow_id: row::uuid(r, "activeflow_id")?,
        on_end_flow_id: row::uuid(r, "on_end_flow_id")?,
        path: row::text(r, "path")?,
        node_id: row::text(r, "node_id")?,
        duration_ms: row::int(r, "duration_ms")?,
        tm_start: row::opt_text(r, "tm_start")?,
        tm_end: row::opt_text(r, "tm_end")?,
        tm_create: row::text(r, "tm_create")?,
        tm_update: row::opt_text(r, "tm_update")?,
        tm_delete: row::opt_text(r, "tm_delete")?,
    })
}
