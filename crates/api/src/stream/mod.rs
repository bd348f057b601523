//! Call media streaming: `GET /v1.0/calls/{id}/media_stream?encapsulation=rtp|sln|audiosocket`
//! upgrades to a websocket that carries the call's audio both ways in binary messages
//! ([`codec`] says what each holds).
//!
//! Before the upgrade the caller is authenticated like any `/v1.0` route, and the call
//! service checks the call (404 unknown or another customer's, 409 not answered or over)
//! and asks the call's media node to start external media towards this process's
//! audiosocket [`listener`] (`api.audiosocket_listen`; nodes dial
//! `api.audiosocket_advertise`). Once the node's connection has arrived the websocket is
//! accepted and [`relay`] pumps audio until the call ends or the client closes. One stream
//! per call: a newer one replaces the older (the node keeps one external media per leg).
//! Audio to the call is played as it comes, so a client sends it in real time (20 ms per
//! 20 ms); the node buffers half a second and drops what overflows, as a lossy network would.
//! Only a connection for a stream being opened is taken: the listener belongs on a network
//! the media nodes share with the API pods, not on the internet.

pub mod codec;
pub mod listener;
mod relay;
pub mod tlv;

pub use listener::Streams;

use crate::auth::{Identity, Permission};
use crate::middleware::RequestId;
use crate::{ApiError, ApiState};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use codec::{Codec, Encapsulation};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use voxbin_bus::Method;
use voxbin_core::Error;

/// How long the media node may take to connect once it accepted the command.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest client message (a second of sln is 16 000 bytes).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The media stream route.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/v1.0/calls/{id}/media_stream", get(media_stream))
}

/// Checks everything, has the node connect, then upgrades.
async fn media_stream(
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    identity.require(Permission::ADMIN_OR_MANAGER)?;
    let call = uuid::Uuid::parse_str(&id).map_err(|_| {
        ApiError::new(Error::invalid_argument(
            "INVALID_ID",
            "the id is not a valid UUID",
        ))
    })?;
    let encap = Encapsulation::parse(query.get("encapsulation").map(String::as_str))
        .map_err(ApiError::new)?;
    let Some(address) = state.streams.advertise().map(str::to_owned) else {
        return Err(ApiError::new(Error::unavailable(
            "MEDIA_STREAM_OFF",
            "media streaming is off on this API process (api.audiosocket_listen is empty)",
        )));
    };
    let bus = state.bus.with_request_id(rid);
    let scope = identity.scope().query();
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &state)
        .await
        .map_err(|_| {
            ApiError::new(Error::invalid_argument(
                "WEBSOCKET_REQUIRED",
                "this is a websocket endpoint: send an upgrade request",
            ))
        })?;
    let pending = state.streams.expect(call);
    let uri = format!("/v1/calls/{call}/media_stream?{scope}");
    bus.call(
        "call",
        Method::Post,
        &uri,
        Some(json!({ "address": address })),
    )
    .await?;
    let Some(conn) = pending.connection(CONNECT_TIMEOUT).await else {
        // the node took the command but never reached us: stop it rather than leave it on
        let _ = bus.call("call", Method::Delete, &uri, None).await;
        return Err(ApiError::new(Error::unavailable(
            "MEDIA_STREAM_UNREACHABLE",
            format!("the media node did not connect to this API process at {address}"),
        )));
    };
    let draining = state.shutdown.draining_token();
    let codec = Codec::new(encap, rand::random());
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| relay::run(socket, conn, codec, call, draining)))
}
