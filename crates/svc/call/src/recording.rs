//! Recordings of calls (contract schema `CallManagerRecording`) and their SQL over
//! `call_recordings`. A recording's id is also the op id of the media node's `record_start`,
//! so its `recording_finished` event names it.
//!
//! The WAV stays on the media node that wrote it; [`file_chunk`] reads it from that node over
//! the bus in bounded chunks (the node's `GET /v1/recordings/{id}/file`), so the API and the
//! call service need no disk shared with media nodes, in either shape.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor};
use uuid::Uuid;
use voxbin_bus::{BusClient, Method};
use voxbin_core::{clock, Error, ErrorKind, Result};
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

/// Largest recording handed out through the API (a bit over an hour of 8 kHz 16-bit mono).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How long the node holding a file may take to answer one chunk (under the gateway's
/// default 3 s, so a gone node is reported as such rather than as the gateway's timeout).
const FILE_TIMEOUT: Duration = Duration::from_secs(2);

/// One chunk of `rec`'s WAV from `offset`, from the media node that wrote it:
/// `{id, content_type, size, offset, data}` (base64, the node's chunk size at most). 409
/// while it records, 400 past [`MAX_FILE_BYTES`], 503 naming the node when it is gone.
pub async fn file_chunk(bus: &BusClient, rec: &Recording, offset: u64) -> Result<Value> {
    if rec.status != "ended" {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            "RECORDING_IN_PROGRESS",
            "the recording has not ended yet",
        ));
    }
    if rec.node_id.is_empty() {
        return Err(Error::not_found("recording file"));
    }
    let uri = format!("/v1/recordings/{}/file?offset={offset}", rec.id);
    let answer = on_node(bus, rec, Method::Get, &uri).await?;
    let size = answer.get("size").and_then(Value::as_u64).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(Error::invalid_argument(
            "RECORDING_TOO_LARGE",
            "the recording is too large to download through the API",
        ));
    }
    Ok(json!({
        "id": rec.id,
        "content_type": "audio/wav",
        "size": size,
        "offset": offset,
        "data": answer.get("data").cloned().unwrap_or(Value::Null),
    }))
}

/// Removes `rec`'s WAV on its node; false (and logged) when that failed.
pub async fn remove_file(bus: &BusClient, rec: &Recording) -> bool {
    if rec.node_id.is_empty() {
        return false;
    }
    let uri = format!("/v1/recordings/{}/file", rec.id);
    match on_node(bus, rec, Method::Delete, &uri).await {
        Ok(v) => v.get("removed").and_then(Value::as_bool).unwrap_or(false),
        Err(e) => {
            tracing::info!(recording = %rec.id, error = %e.message, "recording file not removed");
            false
        }
    }
}

/// A request to the node that holds `rec`; its silence is a 503 that names the node.
async fn on_node(bus: &BusClient, rec: &Recording, method: Method, uri: &str) -> Result<Value> {
    let request = bus.request(method, uri, None);
    let queue = crate::media::node_queue(&rec.node_id);
    let answer = bus.bus().rpc(&queue, request, FILE_TIMEOUT).await;
    answer
        .and_then(|a| a.into_result())
        .map_err(|e| match e.kind {
            ErrorKind::Unavailable => Error::unavailable(
                "MEDIA_NODE_UNAVAILABLE",
                format!(
                    "recording {} is kept by media node {}, which does not answer; \
                 the file can be downloaded once that node is back",
                    rec.id, rec.node_id
                ),
            ),
            _ => e,
        })
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
