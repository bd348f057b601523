//! The websocket event stream, `GET /v1.0/ws`.
//!
//! A client authenticates like a REST call (`?accesskey=` or `?token=`, or the usual headers
//! and cookies), upgrades, then subscribes to topics (see [`topic`]) with
//! `{"type":"subscribe","topics":["customer_id:<id>:call:*"]}`. Events arrive as
//! `{"type":"<event_type>","topic":"<the key it matched>","data":{...the resource...}}`, per
//! resource in publish order. The [`hub`] of the process feeds every connection; [`session`]
//! is the message protocol and [`connection`] the socket shell with pings, the idle timeout
//! and the slow-consumer cut-off. A connection whose access key or token stops being valid is
//! closed with 1008 ([`credentials`]).

pub mod connection;
pub mod credentials;
pub mod hub;
mod metrics;
pub mod session;
pub mod topic;

pub use hub::Hub;

use crate::auth::{find_credential, Identity};
use crate::{ApiError, ApiState};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use credentials::Checker;
use voxbin_core::Error;

/// Largest client message accepted on the websocket.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The websocket route.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/v1.0/ws", get(upgrade))
}

/// Authenticates, then hands the upgraded socket to a connection task.
async fn upgrade(
    State(state): State<ApiState>,
    who: Identity,
    parts: Parts,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let hub = state.events.clone();
    let draining = state.shutdown.draining_token();
    // The identity extractor found it already; its absence here would be a 401 as well.
    let credential = find_credential(&parts).ok_or_else(|| {
        ApiError::new(Error::unauthenticated(
            "Authentication is required: a token or an accesskey.",
        ))
    })?;
    let checker = Checker {
        auth: state.auth.clone(),
        bus: state.bus.clone(),
        credential,
    };
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::run(socket, who, checker, hub, draining)))
}
