//! Leg life cycle: an incoming INVITE becomes an engine leg and a `leg_created` event; an
//! `originate` becomes an engine offer and an INVITE; each leg's SIP events drive the engine
//! (answers, re-offers) and become `leg_*` events; the end destroys the engine leg.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_media::engine::{LegId, LegSpec};
use voxbin_sip::{Target, Uri};
use voxbin_sipua::{
    CallEvent, CallHandle, DigestCredentials, HangupCause, IncomingCall, Originate, Party,
};

use crate::state::{Direction, LegEntry, NodeState};

/// Takes an incoming call: an engine leg answering its offer, then `leg_created`.
pub async fn on_incoming(state: Arc<NodeState>, call: IncomingCall) {
    let IncomingCall {
        info,
        call: handle,
        events,
    } = call;
    if state.is_draining() {
        let _ = handle.reject(503, "Service Unavailable").await;
        return;
    }
    let id = voxbin_core::id::new_id();
    let offer = String::from_utf8_lossy(&info.offer).to_string();
    if offer.is_empty() {
        // we answer offers; offerless INVITEs are not supported by the engine's API
        let _ = handle.reject(488, "Not Acceptable Here").await;
        return;
    }
    let created = state.engine.create_leg(LegSpec {
        id: LegId(id),
        remote_offer: Some(&offer),
    });
    let local_sdp = match created {
        Ok((leg, sdp)) => {
            // silent until the 183 or 200 carries our answer (commands `progress`, `answer`)
            let _ = state.engine.set_sending(leg, false);
            sdp
        }
        Err(e) => {
            tracing::info!(error = %e, "incoming offer refused");
            let _ = handle.reject(488, "Not Acceptable Here").await;
            return;
        }
    };
    let tm_create = voxbin_core::clock::now();
    state.legs.lock().insert(
        id,
        LegEntry {
            call: handle.clone(),
            direction: Direction::Incoming,
            status: "ringing",
            local_sdp,
            media_ready: true,
            tm_create: tm_create.clone(),
        },
    );
    let mut data = Map::new();
    data.insert("direction".into(), json!("incoming"));
    data.insert("uri".into(), json!(info.uri.to_string()));
    data.insert("from".into(), json!(info.from));
    data.insert("to".into(), json!(info.to));
    data.insert("pai".into(), json!(info.pai));
    data.insert("sip_call_id".into(), json!(info.call_id));
    data.insert("source".into(), json!(info.source.addr.to_string()));
    data.insert("headers".into(), headers_json(&info.request));
    data.insert("via".into(), via_json(&info.request));
    data.insert("tm_create".into(), json!(tm_create));
    state.publish("leg_created", Some(id), data).await;
    tokio::spawn(pump(state, id, handle, events));
}

/// X- headers of the INVITE (the edge passes routing data this way), by name.
fn headers_json(req: &voxbin_sip::Request) -> Value {
    let mut map = Map::new();
    for h in req.headers.iter() {
        let name = h.name.as_str();
        if name.len() > 2 && name[..2].eq_ignore_ascii_case("x-") {
            map.insert(name.to_string(), json!(&*h.value));
        }
    }
    Value::Object(map)
}

/// The INVITE's Via values, top first (the call service finds the caller behind the edge).
fn via_json(req: &voxbin_sip::Request) -> Value {
    let vias = req
        .headers
        .iter()
        .filter(|h| h.name == voxbin_sip::HeaderName::Via);
    let values = vias.flat_map(|h| h.value.split(',').map(|v| v.trim().to_string()));
    json!(values.collect::<Vec<_>>())
}

/// What `originate` takes.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateBody {
    /// Leg id to use (the call id); a new one when absent.
    pub id: Option<Uuid>,
    /// Request-URI, e.g. `sip:+15550100@trunk.example` or `sip:2001@edge`.
    pub uri: String,
    /// `host:port` to send the INVITE to (the edge or a trunk); the URI's host when absent.
    pub proxy: Option<String>,
    /// From header value, e.g. `"Alice" <sip:+15550199@voxbin.local>`.
    pub from: String,
    /// To header value; the URI when absent.
    pub to: Option<String>,
    /// P-Asserted-Identity.
    pub pai: Option<String>,
    /// Extra headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Digest user name for a 401/407.
    pub auth_username: Option<String>,
    /// Digest password.
    pub auth_password: Option<String>,
    /// Offer SRTP (RTP/SAVP with an SDES key), e.g. towards a trunk reached over TLS; a
    /// `sips:` URI asks for it too.
    #[serde(default)]
    pub srtp: bool,
}

/// Starts an outgoing leg: the engine's offer in an INVITE; `leg_created` now, more later.
pub async fn originate(state: Arc<NodeState>, body: OriginateBody) -> Result<Value> {
    if state.is_draining() {
        return Err(Error::unavailable(
            "DRAINING",
            "this media node is shutting down",
        ));
    }
    let uri = Uri::parse(&body.uri)
        .map_err(|e| Error::invalid_argument("INVALID_URI", format!("uri: {e}")))?;
    let proxy = match &body.proxy {
        Some(p) => Some(resolve(p).await?),
        None => None,
    };
    let target = voxbin_sipua::resolve_target(&uri, proxy)
        .await
        .map_err(|e| Error::invalid_argument("INVALID_URI", format!("uri: {e}")))?;
    let target = Target::new(
        if proxy.is_some() {
            voxbin_sipua::core::uri_transport_or_udp(&uri)
        } else {
            target.transport
        },
        target.addr,
    );
    let id = body.id.unwrap_or_else(voxbin_core::id::new_id);
    if state.legs.lock().contains_key(&id) {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            "LEG_EXISTS",
            format!("leg {id} exists"),
        ));
    }
    let spec = LegSpec {
        id: LegId(id),
        remote_offer: None,
    };
    let srtp = body.srtp || body.uri.starts_with("sips:");
    let created = if srtp {
        state.engine.create_srtp_leg(spec)
    } else {
        state.engine.create_leg(spec)
    };
    let (_, offer) = created.map_err(engine_error)?;
    let credentials = match (body.auth_username, body.auth_password) {
        (Some(username), Some(password)) => Some(DigestCredentials { username, password }),
        _ => None,
    };
    let o = Originate {
        uri: uri.clone(),
        target,
        from: body.from,
        to: body.to,
        pai: body.pai,
        headers: body.headers.into_iter().collect(),
        offer: Bytes::from(offer.clone()),
        credentials,
    };
    let (handle, events) = match state.ua.originate(o).await {
        Ok(x) => x,
        Err(e) => {
            let _ = state.engine.destroy_leg(LegId(id));
            return Err(Error::invalid_argument("INVALID_ORIGINATE", e.to_string()));
        }
    };
    let tm_create = voxbin_core::clock::now();
    state.legs.lock().insert(
        id,
        LegEntry {
            call: handle.clone(),
            direction: Direction::Outgoing,
            status: "dialing",
            local_sdp: offer,
            media_ready: false,
            tm_create: tm_create.clone(),
        },
    );
    let mut data = Map::new();
    data.insert("direction".into(), json!("outgoing"));
    data.insert("uri".into(), json!(uri.to_string()));
    data.insert("tm_create".into(), json!(tm_create));
    state.publish("leg_created", Some(id), data).await;
    tokio::spawn(pump(state.clone(), id, handle, events));
    Ok(json!({"id": id, "node_id": state.node_id}))
}

/// `host:port` to a socket address (DNS for names).
async fn resolve(hostport: &str) -> Result<std::net::SocketAddr> {
    let bad = |why: String| Error::invalid_argument("INVALID_PROXY", format!("proxy: {why}"));
    let mut addrs = tokio::net::lookup_host(hostport)
        .await
        .map_err(|e| bad(format!("{hostport:?}: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| bad(format!("{hostport:?} has no address")))
}

/// Maps an engine error to the bus error envelope.
pub fn engine_error(e: voxbin_media::engine::EngineError) -> Error {
    use voxbin_media::engine::EngineError as E;
    match e {
        E::UnknownLeg(_) | E::UnknownConference(_) => {
            Error::new(ErrorKind::NotFound, "NOT_FOUND", e.to_string())
        }
        E::LegExists(_) | E::ConferenceExists(_) | E::Busy(..) => {
            Error::new(ErrorKind::AlreadyExists, "CONFLICT", e.to_string())
        }
        E::BadRequest(_) | E::Sdp(_) | E::Negotiation(_) | E::DtmfNotNegotiated => {
            Error::invalid_argument("INVALID_ARGUMENT", e.to_string())
        }
        E::NoOfferOutstanding(_) => Error::invalid_argument("INVALID_STATE", e.to_string()),
        _ => Error::new(ErrorKind::Internal, "MEDIA_ERROR", e.to_string()),
    }
}

/// Moves a leg's status forward and publishes its event.
async fn set_status(
    state: &NodeState,
    id: Uuid,
    status: &'static str,
    event: &str,
    extra: Map<String, Value>,
) {
    if let Some(l) = state.legs.lock().get_mut(&id) {
        l.status = status;
    }
    state.publish(event, Some(id), extra).await;
}

/// Follows one leg's SIP events until it ends.
async fn pump(
    state: Arc<NodeState>,
    id: Uuid,
    handle: CallHandle,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
) {
    let leg = LegId(id);
    while let Some(ev) = events.recv().await {
        match ev {
            CallEvent::Provisional { status, sdp } => {
                let mut extra = Map::new();
                extra.insert("sip_status".into(), json!(status));
                let early_media = !sdp.is_empty() && take_answer(&state, id, &sdp);
                if early_media || status == 183 {
                    extra.insert("early_media".into(), json!(early_media));
                    set_status(&state, id, "progressing", "leg_progressing", extra).await;
                } else {
                    set_status(&state, id, "ringing", "leg_ringing", extra).await;
                }
            }
            CallEvent::Answered { sdp } => {
                let ready = state.leg(id).is_some_and(|l| l.media_ready);
                if !ready && !take_answer(&state, id, &sdp) {
                    let _ = handle.hangup(HangupCause::Failed).await;
                    continue;
                }
                set_status(&state, id, "answered", "leg_answered", Map::new()).await;
            }
            CallEvent::RemoteOffer { offer } => {
                let sdp = String::from_utf8_lossy(&offer).to_string();
                match state.engine.remote_reoffer(leg, &sdp) {
                    Ok(re) => {
                        if let Some(l) = state.legs.lock().get_mut(&id) {
                            l.local_sdp = re.answer.clone();
                        }
                        let _ = handle.answer_offer(Bytes::from(re.answer)).await;
                        let mut extra = Map::new();
                        extra.insert("remote_hold".into(), json!(re.remote_hold));
                        state.publish("leg_updated", Some(id), extra).await;
                    }
                    Err(_) => {
                        let _ = handle.reject_offer(488, "Not Acceptable Here").await;
                    }
                }
            }
            CallEvent::ReinviteAnswered { sdp } => {
                let _ = state
                    .engine
                    .remote_answer(leg, &String::from_utf8_lossy(&sdp));
                let mut extra = Map::new();
                extra.insert("reinvite".into(), json!("answered"));
                state.publish("leg_updated", Some(id), extra).await;
            }
            CallEvent::ReinviteFailed { status } => {
                let mut extra = Map::new();
                extra.insert("reinvite".into(), json!("failed"));
                extra.insert("sip_status".into(), json!(status));
                state.publish("leg_updated", Some(id), extra).await;
            }
            CallEvent::Terminated { cause, by, status } => {
                let _ = state.engine.destroy_leg(leg);
                let entry = state.legs.lock().remove(&id);
                let mut extra = Map::new();
                extra.insert("hangup_reason".into(), json!(cause.as_str()));
                extra.insert(
                    "hangup_by".into(),
                    json!(match by {
                        Party::Local => "local",
                        Party::Remote => "remote",
                    }),
                );
                extra.insert("sip_status".into(), json!(status));
                if let Some(e) = entry {
                    extra.insert("direction".into(), json!(e.direction.as_str()));
                }
                state.publish("leg_hangup", Some(id), extra).await;
                return;
            }
            CallEvent::Confirmed
            | CallEvent::Info { .. }
            | CallEvent::SessionRefreshed
            | CallEvent::SessionExpired => {}
        }
    }
}

/// Hands the peer's answer SDP to the engine once; false when it does not fit our offer.
fn take_answer(state: &NodeState, id: Uuid, sdp: &Bytes) -> bool {
    if state.leg(id).is_some_and(|l| l.media_ready) {
        return true;
    }
    let text = String::from_utf8_lossy(sdp);
    match state.engine.remote_answer(LegId(id), &text) {
        Ok(()) => {
            if let Some(l) = state.legs.lock().get_mut(&id) {
                l.media_ready = true;
            }
            true
        }
        Err(e) => {
            tracing::info!(leg = %id, error = %e, "peer's answer refused");
            false
        }
    }
}
