//! Bus control of the relay on `bin-manager.rtp-relay-manager.request`: offer and answer
//! (SDP in, SDP pointing at the relay out), query, list and delete of sessions by Call-ID.

use crate::control::{Control, Flags};
use crate::session::SessionInfo;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use voxbin_bus::{Handler, Method, Router};
use voxbin_core::Result;

/// The service name: queue `bin-manager.rtp-relay-manager.request`, publisher `rtp-relay-manager`.
pub const SERVICE: &str = "rtp-relay";

type Ctx = voxbin_bus::Ctx<Arc<Control>>;

/// Body of `POST /v1/rtpsessions/offer` and `/answer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdpBody {
    /// The SIP Call-ID.
    pub call_id: String,
    /// Tag of the offerer.
    pub from_tag: String,
    /// Tag of the answerer (answers only).
    #[serde(default)]
    pub to_tag: String,
    /// The SDP to rewrite.
    pub sdp: String,
    /// Replace the `o=` address too.
    #[serde(default)]
    pub replace_origin: bool,
    /// Keep ICE attributes.
    #[serde(default)]
    pub keep_ice: bool,
}

impl SdpBody {
    fn flags(&self) -> Flags {
        Flags {
            replace_origin: self.replace_origin,
            keep_ice: self.keep_ice,
        }
    }
}

/// Answer of offer and answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SdpReply {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The rewritten SDP.
    pub sdp: String,
}

/// Answer of the list.
#[derive(Debug, Serialize)]
pub struct List {
    /// Every session.
    pub result: Vec<SessionInfo>,
}

/// The bus handler of a relay.
pub fn handler(control: Arc<Control>) -> Arc<dyn Handler> {
    Arc::new(
        Router::with_state(SERVICE, control)
            .route(Method::Post, "/v1/rtpsessions/offer", offer)
            .route(Method::Post, "/v1/rtpsessions/answer", answer)
            .route(Method::Get, "/v1/rtpsessions", list)
            .route(Method::Get, "/v1/rtpsessions/{call_id}", get)
            .route(Method::Delete, "/v1/rtpsessions/{call_id}", delete),
    )
}

async fn offer(ctx: Ctx) -> Result<SdpReply> {
    let b: SdpBody = ctx.body()?;
    let sdp = ctx
        .state()
        .offer(&b.call_id, &b.from_tag, &b.sdp, b.flags())?;
    Ok(SdpReply {
        call_id: b.call_id,
        sdp,
    })
}

async fn answer(ctx: Ctx) -> Result<SdpReply> {
    let b: SdpBody = ctx.body()?;
    let sdp = ctx
        .state()
        .answer(&b.call_id, &b.from_tag, &b.to_tag, &b.sdp, b.flags())?;
    Ok(SdpReply {
        call_id: b.call_id,
        sdp,
    })
}

async fn list(ctx: Ctx) -> Result<List> {
    Ok(List {
        result: ctx.state().list(),
    })
}

async fn get(ctx: Ctx) -> Result<SessionInfo> {
    ctx.state().query(ctx.param("call_id")?)
}

async fn delete(ctx: Ctx) -> Result<SessionInfo> {
    ctx.state().delete(ctx.param("call_id")?)
}
