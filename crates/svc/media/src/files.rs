//! Recording files over the bus. A node keeps the WAVs it writes on its own disk, and the
//! call service reads them through the node's queue in bounded chunks, so no disk is shared
//! between media nodes and the API (media nodes are VMs or host-network pods; a
//! ReadWriteMany volume across them is the fragile part a deployment should not need).
//! Only `<recordings_dir>/<uuid>.wav` can be named, never a path.
//!
//! | command | uri | answer |
//! |---|---|---|
//! | read | `GET /v1/recordings/{id}/file?offset=N` | `{id, size, offset, data}`: at most [`CHUNK_BYTES`] from `offset`, base64 |
//! | remove | `DELETE /v1/recordings/{id}/file` | `{id, removed}` |

use std::io::SeekFrom;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use uuid::Uuid;
use voxbin_bus::{Ctx, Method, Router};
use voxbin_core::{Error, Result};

use crate::state::NodeState;

type St = Arc<NodeState>;

/// Most bytes one read answers (base64 makes the message a third larger).
pub const CHUNK_BYTES: u64 = 512 * 1024;

/// Adds the file commands to the node's router.
pub fn routes(r: Router<St>) -> Router<St> {
    r.route(
        Method::Get,
        "/v1/recordings/{id}/file",
        |ctx: Ctx<St>| async move {
            let id = ctx.param_uuid("id")?;
            let offset: u64 = ctx.query_as("offset")?.unwrap_or(0);
            read(ctx.state(), id, offset).await
        },
    )
    .route(
        Method::Delete,
        "/v1/recordings/{id}/file",
        |ctx: Ctx<St>| async move {
            let id = ctx.param_uuid("id")?;
            let path = ctx.state().recordings_dir.join(format!("{id}.wav"));
            let removed = tokio::fs::remove_file(&path).await.is_ok();
            Ok(json!({"id": id, "removed": removed}))
        },
    )
}

/// One chunk of recording `id` from `offset`.
async fn read(state: &NodeState, id: Uuid, offset: u64) -> Result<serde_json::Value> {
    let path = state.recordings_dir.join(format!("{id}.wav"));
    let missing = |_| Error::not_found("recording file");
    let mut file = tokio::fs::File::open(&path).await.map_err(missing)?;
    let size = file.metadata().await.map_err(missing)?.len();
    if offset > size {
        return Err(Error::invalid_argument(
            "INVALID_OFFSET",
            format!("offset: {offset} is past the end of the file ({size} bytes)"),
        ));
    }
    file.seek(SeekFrom::Start(offset))
        .await
        .map_err(|e| Error::internal(format!("recording file: {e}")))?;
    let want = (size - offset).min(CHUNK_BYTES) as usize;
    let mut bytes = vec![0u8; want];
    file.read_exact(&mut bytes)
        .await
        .map_err(|e| Error::internal(format!("recording file: {e}")))?;
    Ok(json!({
        "id": id,
        "size": size,
        "offset": offset,
        "data": base64::engine::general_purpose::STANDARD.encode(bytes),
    }))
}
