//! Media streams of calls (`GET /v1.0/calls/{id}/media_stream` on the API): the gateway
//! asks for an answered call's audio to be sent to its audiosocket listener, and the call's
//! media node connects there (external media, TLV 8 kHz s16le, the leg's UUID first).
//!
//! | route | body | does |
//! |---|---|---|
//! | `POST /v1/calls/{id}/media_stream` | `{address}` (host:port of the API's audiosocket) | the node connects, then answers `{id, node_id, op_id}` |
//! | `DELETE /v1/calls/{id}/media_stream` | | the node drops the connection |
//!
//! The stream ends by itself when the call does: the node closes the connection with the leg.

use std::sync::Arc;

use serde_json::{json, Value};
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_svc_kit::body::Body;

use crate::handlers::visible;
use crate::media;
use crate::model::Status;
use crate::State;

type Ctx = voxbin_bus::Ctx<Arc<State>>;

/// `POST /v1/calls/{id}/media_stream`: 409 unless the call is answered and live.
pub async fn start(ctx: Ctx) -> Result<Value> {
    let call = visible(&ctx).await?;
    if call.status != Status::Progressing {
        let (reason, message) = match call.is_over() {
            true => ("CALL_OVER", "the call has hung up"),
            false => (
                "CALL_NOT_ANSWERED",
                "only an answered call's media can be streamed",
            ),
        };
        return Err(Error::new(ErrorKind::FailedPrecondition, reason, message));
    }
    let address = Body::from_ctx(&ctx)?.str("address")?;
    let cmd = json!({ "address": address });
    let answer = media::command(
        &ctx.state().bus,
        &call.node_id,
        call.id,
        "external_media_start",
        cmd,
    )
    .await?;
    Ok(json!({
        "id": call.id,
        "node_id": call.node_id,
        "op_id": answer.get("op_id").cloned().unwrap_or(Value::Null),
    }))
}

/// `DELETE /v1/calls/{id}/media_stream`: nothing to do once the call is over.
pub async fn stop(ctx: Ctx) -> Result<Value> {
    let call = visible(&ctx).await?;
    if !call.is_over() {
        media::command(
            &ctx.state().bus,
            &call.node_id,
            call.id,
            "external_media_stop",
            json!({}),
        )
        .await?;
    }
    Ok(json!({ "id": call.id }))
}
