//! The call service: calls (`call_calls`), their status machine, inbound routing, outbound
//! dialling and the flow actions run on the media role.
//!
//! A call is one media leg (same id) on one media node, driven only through the media role's
//! bus protocol ([`media`]). The service subscribes to the media role's events
//! (`media-manager`: `leg_created`, `leg_answered`, `leg_hangup`, operation completions) and
//! answers the RPCs the API gateway forwards for `/calls`:
//!
//! | route | does |
//! |---|---|
//! | `GET /v1/calls`, `GET /v1/calls/{id}` | list, read |
//! | `POST /v1/calls` | outbound calls (sip, tel through routes) running a flow |
//! | `/v1/groupcalls` (list, create, get, delete, hangup) | group calls ([`groupcall`]) |
//! | `DELETE /v1/calls/{id}` | soft-delete a finished call (409 while live) |
//! | `POST /v1/calls/{id}/hangup` | hang up |
//! | `POST /v1/calls/{id}/talk`, `hold`/`moh`, `mute`, `silence` (and `DELETE` to undo) | media |
//! | `POST /v1/calls/{id}/recording_start`, `recording_stop` | record the call |
//! | `GET /v1/recordings`, `GET`/`DELETE /v1/recordings/{id}` | recordings |
//! | `GET /v1/recordings/{id}/file?offset=` | a chunk of the WAV, fetched from the media node that wrote it ([`recording`]) |
//! | `POST`/`DELETE /v1/calls/{id}/media_stream` | stream the call's audio to an audiosocket ([`stream`]) |
//!
//! Internal timer routes (`POST /v1/calls/{id}/op_done`, `/health`) arrive as delayed bus
//! messages: timed actions (sleep, echo) and the periodic leg health check, which also
//! enforces the maximum call duration. Call events (`call_created`, `call_ringing`,
//! `call_progressing`, `call_updated`, `call_hangup`, `call_deleted`) go out through the
//! transactional outbox with the change they report.
//!
//! Inbound calls to numbers are taken only from carriers: the caller's address (behind the
//! edge, from the Via the edge stamped) must be a provider's hostname, or loopback when
//! `call.allow_loopback_carriers` (embedded default); others get 403 and a failed call.
//! Calls to registered extensions, and from them to numbers, are routed by [`extension`].
//!
//! The flow actions `connect` and `call` dial out of a flow as chained calls ([`connect`]),
//! with the caller id rules of outgoing calls ([`connect::callerid`]); `POST
//! /v1/calls/{id}/chain` (internal, a bus message) carries a call's end to its chain.

#![warn(missing_docs)]

pub mod actions;
pub mod connect;
pub mod driver;
pub mod extension;
pub mod groupcall;
mod handlers;
pub mod media;
pub mod model;
pub mod outbound;
pub mod recording;
pub mod routing;
mod store;
pub mod stream;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use voxbin_bus::{request_queue, BusClient, Consumer, Handler, Method, Router};
use voxbin_core::Result;
use voxbin_store::Db;
use voxbin_svc_kit::outbox::Outbox;
use voxbin_svc_kit::Deps;

pub use model::{Address, Call, Direction, HangupBy, HangupReason, Status};

/// The service name: queue `bin-manager.call-manager.request`, publisher `call-manager`.
pub const SERVICE: &str = "call";

/// What the routes and the event handler share.
pub struct State {
    /// The database.
    pub db: Arc<Db>,
    /// Calls to the flow, number, route and media services, as `call-manager`.
    pub bus: BusClient,
    /// Call events, written with the change they report.
    pub outbox: Outbox,
    /// Whether calls to numbers from loopback skip the providers' inbound allow-list.
    pub allow_loopback_carriers: bool,
    /// How long an outgoing call may ring unanswered.
    pub ring_timeout: std::time::Duration,
}

impl State {
    /// The state of a call service over `deps`.
    pub fn new(deps: &Deps) -> Arc<State> {
        Arc::new(State {
            db: deps.db.clone(),
            bus: deps.client(SERVICE),
            outbox: Outbox::new(deps, SERVICE),
            allow_loopback_carriers: deps.config.call.allow_loopback_carriers,
            ring_timeout: std::time::Duration::from_secs(deps.config.call.ring_timeout_secs),
        })
    }
}

/// The bus handler of the call service's routes.
pub fn handler_with(state: Arc<State>) -> Arc<dyn Handler> {
    use handlers as h;
    Arc::new(
        Router::with_state(SERVICE, state)
            .route(Method::Get, "/v1/calls", h::list)
            .route(Method::Post, "/v1/calls", h::create)
            .route(Method::Get, "/v1/calls/{id}", h::get)
            .route(Method::Delete, "/v1/calls/{id}", h::delete)
            .route(Method::Post, "/v1/calls/{id}/hangup", h::hangup)
            .route(Method::Post, "/v1/calls/{id}/talk", h::talk)
            .route(Method::Post, "/v1/calls/{id}/hold", h::hold)
            .route(Method::Delete, "/v1/calls/{id}/hold", h::unhold)
            .route(Method::Post, "/v1/calls/{id}/moh", h::hold)
            .route(Method::Delete, "/v1/calls/{id}/moh", h::unhold)
            .route(Method::Post, "/v1/calls/{id}/mute", h::mute)
            .route(Method::Delete, "/v1/calls/{id}/mute", h::unmute)
            .route(Method::Post, "/v1/calls/{id}/silence", h::silence)
            .route(Method::Delete, "/v1/calls/{id}/silence", h::unsilence)
            .route(
                Method::Post,
                "/v1/calls/{id}/recording_start",
                h::recording_start,
            )
            .route(
                Method::Post,
                "/v1/calls/{id}/recording_stop",
                h::recording_stop,
            )
            .route(Method::Get, "/v1/recordings", h::recordings)
            .route(Method::Get, "/v1/recordings/{id}", h::recording)
            .route(Method::Delete, "/v1/recordings/{id}", h::recording_delete)
            .route(Method::Get, "/v1/recordings/{id}/file", h::recording_file)
            .route(Method::Post, "/v1/calls/{id}/media_stream", stream::start)
            .route(Method::Delete, "/v1/calls/{id}/media_stream", stream::stop)
            .route(Method::Get, "/v1/groupcalls", groupcall::handlers::list)
            .route(Method::Post, "/v1/groupcalls", groupcall::handlers::create)
            .route(Method::Get, "/v1/groupcalls/{id}", groupcall::handlers::get)
            .route(
                Method::Delete,
                "/v1/groupcalls/{id}",
                groupcall::handlers::delete,
            )
            .route(
                Method::Post,
                "/v1/groupcalls/{id}/hangup",
                groupcall::handlers::hangup,
            )
            .route(
                Method::Post,
                "/v1/groupcalls/{id}/ring_timeout",
                groupcall::handlers::ring_timeout,
            )
            .route(Method::Post, "/v1/calls/{id}/chain", connect::chain_route)
            .route(Method::Post, "/v1/calls/{id}/op_done", h::op_done)
            .route(Method::Post, "/v1/calls/{id}/health", h::health)
            .route(Method::Post, "/v1/calls/{id}/ring_timeout", h::ring_timeout),
    )
}

/// The bus handler of the call service's routes (without the media event subscription).
pub fn handler(deps: Deps) -> Arc<dyn Handler> {
    handler_with(State::new(&deps))
}

/// Serves the routes and follows the media role's events; stopping the returned consumer
/// stops both.
pub async fn start(deps: Deps) -> Result<Consumer> {
    let state = State::new(&deps);
    let events = deps
        .bus
        .subscribe_filtered(
            SERVICE,
            &["media"],
            driver::MEDIA_EVENTS,
            Arc::new(driver::MediaEvents::new(state.clone())),
        )
        .await?;
    let served = deps
        .bus
        .serve(&request_queue(SERVICE), handler_with(state))
        .await?;
    let stop = served.token().clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        events.shutdown().await;
    });
    Ok(served)
}
