//! The bus commands of a media node (see the crate docs for the protocol): leg signalling,
//! media operations, bridges and conferences. Each media operation answers with its op id at
//! once; its completion comes later as an event naming that op id.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{Ctx, Method, Router};
use voxbin_core::{Error, Result};
use voxbin_media::engine::{
    CollectSpec, ConferenceId, ExternalMediaSpec, LegId, MuteDirection, OpId, PlaySource,
    RecordDirection, RecordSpec,
};
use voxbin_sipua::HangupCause;

use crate::legs::{engine_error, originate, OriginateBody};
use crate::state::{LegEntry, NodeState};

type St = Arc<NodeState>;

/// The service name (`bin-manager.media-manager.request[.<node_id>]`).
pub const SERVICE: &str = "media";

/// The router of the shared queue: only `originate` (any node may place a call).
pub fn shared_router(state: St) -> Router<St> {
    Router::with_state(SERVICE, state).route(Method::Post, "/v1/legs", |ctx: Ctx<St>| async move {
        let body: OriginateBody = ctx.body()?;
        originate(ctx.state().clone(), body).await
    })
}

/// The router of the node's own queue: everything.
pub fn node_router(state: St) -> Router<St> {
    let r = Router::with_state(SERVICE, state)
        .route(Method::Post, "/v1/legs", |ctx: Ctx<St>| async move {
            let body: OriginateBody = ctx.body()?;
            originate(ctx.state().clone(), body).await
        })
        .route(Method::Get, "/v1/legs/{id}", |ctx: Ctx<St>| async move {
            let (id, leg) = leg(&ctx)?;
            Ok(json!({
                "id": id,
                "node_id": ctx.state().node_id,
                "direction": leg.direction.as_str(),
                "status": leg.status,
                "tm_create": leg.tm_create,
            }))
        })
        .route(Method::Get, "/v1/node", |ctx: Ctx<St>| async move {
            let s = ctx.state();
            Ok(json!({
                "id": s.node_id,
                "legs": s.legs.lock().len(),
                "status": if s.is_draining() { "draining" } else { "up" },
            }))
        });
    let r = signalling(r);
    let r = media_ops(r);
    let r = crate::files::routes(r);
    conferences(r)
}

/// The leg named by the `{id}` path parameter.
fn leg(ctx: &Ctx<St>) -> Result<(Uuid, LegEntry)> {
    let id = ctx.param_uuid("id")?;
    let leg = ctx.state().leg(id).ok_or_else(|| Error::not_found("leg"))?;
    Ok((id, leg))
}

/// A SIP command's failure as a 400 naming the state problem.
fn sip_error(e: voxbin_sipua::UaError) -> Error {
    match e {
        voxbin_sipua::UaError::NoLeg => Error::not_found("leg"),
        other => Error::invalid_argument("INVALID_STATE", other.to_string()),
    }
}

/// Body of `reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    /// SIP status 300-699 (486 busy, 480 unavailable, 603 decline ...).
    code: u16,
    /// Reason phrase.
    #[serde(default)]
    reason: Option<String>,
}

/// Body of `hangup`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HangupBody {
    /// `normal`, `busy`, `noanswer`, `cancel`, `timeout` or `failed`.
    #[serde(default)]
    cause: Option<String>,
}

/// Optional body of commands without arguments (tolerates `null`).
fn optional_body<T: for<'de> Deserialize<'de> + Default>(ctx: &Ctx<St>) -> Result<T> {
    match ctx.request().data {
        None | Some(Value::Null) => Ok(T::default()),
        _ => ctx.body(),
    }
}

/// The peer has our SDP now: the leg's media goes out (a leg already gone has nothing to send).
fn start_sending(ctx: &Ctx<St>, id: Uuid) {
    let _ = ctx.state().engine.set_sending(LegId(id), true);
}

fn signalling(r: Router<St>) -> Router<St> {
    r.route(
        Method::Post,
        "/v1/legs/{id}/ringing",
        |ctx: Ctx<St>| async move {
            let (id, leg) = leg(&ctx)?;
            leg.call.ringing().await.map_err(sip_error)?;
            set_status(&ctx, id, "ringing");
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/progress",
        |ctx: Ctx<St>| async move {
            let (id, leg) = leg(&ctx)?;
            leg.call
                .progress(Bytes::from(leg.local_sdp.clone()))
                .await
                .map_err(sip_error)?;
            start_sending(&ctx, id);
            set_status(&ctx, id, "progressing");
            ctx.state()
                .publish("leg_progressing", Some(id), Default::default())
                .await;
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/answer",
        |ctx: Ctx<St>| async move {
            let (id, leg) = leg(&ctx)?;
            leg.call
                .answer(Bytes::from(leg.local_sdp.clone()))
                .await
                .map_err(sip_error)?;
            start_sending(&ctx, id);
            set_status(&ctx, id, "answered");
            ctx.state()
                .publish("leg_answered", Some(id), Default::default())
                .await;
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/reject",
        |ctx: Ctx<St>| async move {
            let (id, leg) = leg(&ctx)?;
            let body: RejectBody = ctx.body()?;
            let reason = body.reason.unwrap_or_else(|| "Rejected".into());
            leg.call
                .reject(body.code, &reason)
                .await
                .map_err(sip_error)?;
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/hangup",
        |ctx: Ctx<St>| async move {
            let (id, leg) = leg(&ctx)?;
            let body: HangupBody = optional_body(&ctx)?;
            let cause = match body.cause.as_deref() {
                None => HangupCause::Normal,
                Some(c) => HangupCause::parse(c).ok_or_else(|| {
                    Error::invalid_argument(
                        "INVALID_CAUSE",
                        format!(
                            "cause: {c:?} is not normal, busy, noanswer, cancel, timeout or failed"
                        ),
                    )
                })?,
            };
            set_status(&ctx, id, "terminating");
            leg.call.hangup(cause).await.map_err(sip_error)?;
            Ok(json!({"id": id}))
        },
    )
}

/// Moves a leg's status.
fn set_status(ctx: &Ctx<St>, id: Uuid, status: &'static str) {
    if let Some(l) = ctx.state().legs.lock().get_mut(&id) {
        l.status = status;
    }
}

/// The op id of the body (`op_id`), or a new one.
fn op_of(v: &Value) -> Result<OpId> {
    match v.get("op_id") {
        None | Some(Value::Null) => Ok(OpId(voxbin_core::id::new_id())),
        Some(Value::String(s)) => voxbin_core::id::parse_id("op_id", s).map(OpId),
        Some(_) => Err(Error::invalid_argument(
            "INVALID_OP_ID",
            "op_id: not a string",
        )),
    }
}

/// Plays the generated `tone` on the request's leg as the body's `op_id` (or a new one).
async fn play_tone(ctx: &Ctx<St>, tone: PlaySource) -> Result<Value> {
    let (id, _) = leg(ctx)?;
    let op = op_of(&body_value(ctx))?;
    ctx.state()
        .engine
        .play(LegId(id), op, &[tone])
        .await
        .map_err(engine_error)?;
    Ok(started(id, op))
}

/// The request's JSON object (an empty one when there is none).
fn body_value(ctx: &Ctx<St>) -> Value {
    match &ctx.request().data {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    }
}

/// Milliseconds field as a duration.
fn ms(v: &Value, key: &str) -> Result<Option<Duration>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .map(|n| Some(Duration::from_millis(n)))
            .ok_or_else(|| {
                Error::invalid_argument("INVALID_ARGUMENT", format!("{key}: not a number of ms"))
            }),
    }
}

/// String field.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Answer of a started operation.
fn started(id: Uuid, op: OpId) -> Value {
    json!({"id": id, "op_id": op.0})
}

/// What `play` plays: `media_urls` (http/https or files on the node), or `text` (speech).
fn play_sources(v: &Value) -> Result<Vec<PlaySource>> {
    let mut out = Vec::new();
    if let Some(urls) = v.get("media_urls").and_then(Value::as_array) {
        for u in urls {
            let u = u.as_str().ok_or_else(|| {
                Error::invalid_argument("INVALID_ARGUMENT", "media_urls: strings only")
            })?;
            if u.starts_with("http://") || u.starts_with("https://") {
                out.push(PlaySource::Url(u.to_string()));
            } else {
                out.push(PlaySource::File(u.into()));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::invalid_argument(
            "INVALID_ARGUMENT",
            "media_urls: at least one URL or file",
        ));
    }
    Ok(out)
}

fn media_ops(r: Router<St>) -> Router<St> {
    r.route(
        Method::Post,
        "/v1/legs/{id}/play",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let sources = play_sources(&v)?;
            ctx.state()
                .engine
                .play(LegId(id), op, &sources)
                .await
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/talk",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let say = text(&v, "text").unwrap_or("");
            if say.trim().is_empty() {
                return Err(Error::invalid_argument("INVALID_ARGUMENT", "text: empty"));
            }
            let language = text(&v, "language").unwrap_or("en-US");
            let voice = text(&v, "voice").unwrap_or("");
            ctx.state()
                .engine
                .talk(LegId(id), op, say, voice, language)
                .await
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/beep",
        |ctx: Ctx<St>| async move { play_tone(&ctx, PlaySource::Beep).await },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/ringback",
        |ctx: Ctx<St>| async move { play_tone(&ctx, PlaySource::Ringback).await },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/silence",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let d = ms(&v, "duration_ms")?.ok_or_else(|| {
                Error::invalid_argument("INVALID_ARGUMENT", "duration_ms: required")
            })?;
            ctx.state()
                .engine
                .play(LegId(id), op, &[PlaySource::Silence(d)])
                .await
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/playback_stop",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            ctx.state()
                .engine
                .stop_playback(LegId(id))
                .map_err(engine_error)?;
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/echo",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let on = v.get("on").and_then(Value::as_bool).unwrap_or(true);
            ctx.state()
                .engine
                .echo(LegId(id), op, on)
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/digits_collect",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let spec = CollectSpec {
                max_digits: v.get("max_digits").and_then(Value::as_u64).unwrap_or(0) as usize,
                terminators: text(&v, "terminators").unwrap_or("").to_string(),
                inter_digit_timeout: ms(&v, "inter_digit_timeout_ms")?,
                total_timeout: ms(&v, "total_timeout_ms")?,
                stop_playback_on_digit: v
                    .get("stop_playback")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            };
            ctx.state()
                .engine
                .collect_digits(LegId(id), op, spec)
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/digits_send",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let digits = text(&v, "digits").unwrap_or("");
            let duration = v.get("duration_ms").and_then(Value::as_u64).unwrap_or(100) as u32;
            ctx.state()
                .engine
                .send_digits(LegId(id), op, digits, duration)
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/record_start",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let spec = record_spec(&v)?;
            let path = ctx
                .state()
                .engine
                .record(LegId(id), op, spec)
                .map_err(engine_error)?;
            Ok(json!({"id": id, "op_id": op.0, "path": path.display().to_string()}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/record_stop",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            ctx.state()
                .engine
                .stop_record(LegId(id))
                .map_err(engine_error)?;
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/hold",
        |ctx: Ctx<St>| async move { hold(ctx, true).await },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/unhold",
        |ctx: Ctx<St>| async move { hold(ctx, false).await },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/mute",
        |ctx: Ctx<St>| async move { mute(ctx, true) },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/unmute",
        |ctx: Ctx<St>| async move { mute(ctx, false) },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/bridge",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let peer = text(&v, "peer_id")
                .ok_or_else(|| Error::invalid_argument("INVALID_ARGUMENT", "peer_id: required"))?;
            let peer = voxbin_core::id::parse_id("peer_id", peer)?;
            ctx.state()
                .engine
                .bridge(LegId(id), LegId(peer))
                .map_err(engine_error)?;
            Ok(json!({"id": id, "peer_id": peer}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/unbridge",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            ctx.state()
                .engine
                .unbridge(LegId(id))
                .map_err(engine_error)?;
            Ok(json!({"id": id}))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/external_media_start",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let address = resolve(text(&v, "address").unwrap_or("")).await?;
            ctx.state()
                .engine
                .external_media(LegId(id), op, ExternalMediaSpec { address })
                .await
                .map_err(engine_error)?;
            Ok(started(id, op))
        },
    )
    .route(
        Method::Post,
        "/v1/legs/{id}/external_media_stop",
        |ctx: Ctx<St>| async move {
            let (id, _) = leg(&ctx)?;
            ctx.state()
                .engine
                .stop_external_media(LegId(id))
                .map_err(engine_error)?;
            Ok(json!({"id": id}))
        },
    )
}

/// An audiosocket server's `host:port` (an IP or a name to resolve) as a socket address.
async fn resolve(address: &str) -> Result<std::net::SocketAddr> {
    let bad = |why: String| Error::invalid_argument("INVALID_ARGUMENT", format!("address: {why}"));
    if let Ok(a) = address.parse() {
        return Ok(a);
    }
    if !address.contains(':') {
        return Err(bad(format!(
            "{address:?} is not host:port of an audiosocket server"
        )));
    }
    let mut found = tokio::net::lookup_host(address)
        .await
        .map_err(|e| bad(format!("{address:?} does not resolve: {e}")))?;
    found
        .next()
        .ok_or_else(|| bad(format!("{address:?} resolves to no address")))
}

/// `record_start`'s body: direction (`in`, `out`, `both`), end conditions, beep.
fn record_spec(v: &Value) -> Result<RecordSpec> {
    let direction = match text(v, "direction").unwrap_or("both") {
        "in" => RecordDirection::In,
        "out" => RecordDirection::Out,
        "both" => RecordDirection::Both,
        other => {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                format!("direction: {other:?} is not in, out or both"),
            ))
        }
    };
    Ok(RecordSpec {
        direction,
        stop_on_silence: ms(v, "stop_on_silence_ms")?,
        stop_keys: text(v, "stop_keys").unwrap_or("").to_string(),
        max_duration: ms(v, "max_duration_ms")?,
        beep: v.get("beep").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Puts the peer on hold (music) or back: the engine plays music on hold and a re-INVITE
/// tells the peer the new direction.
async fn hold(ctx: Ctx<St>, on: bool) -> Result<Value> {
    let (id, leg) = leg(&ctx)?;
    let state = ctx.state();
    state.engine.hold(LegId(id), on).map_err(engine_error)?;
    Ok(json!({"id": id, "hold": on, "signalled": signal_hold(state, id, &leg, on).await}))
}

/// Sends the hold/unhold re-INVITE; false when the peer could not be told (the music plays
/// anyway).
async fn signal_hold(state: &NodeState, id: Uuid, leg: &LegEntry, on: bool) -> bool {
    match state.engine.local_reoffer(LegId(id), on) {
        Ok(offer) => leg.call.reinvite(Bytes::from(offer)).await.is_ok(),
        Err(_) => false,
    }
}

/// `mute`/`unmute` with `direction` `in`, `out` or `both`.
fn mute(ctx: Ctx<St>, on: bool) -> Result<Value> {
    let (id, _) = leg(&ctx)?;
    let v = body_value(&ctx);
    let direction = match text(&v, "direction").unwrap_or("both") {
        "in" => MuteDirection::In,
        "out" => MuteDirection::Out,
        "both" => MuteDirection::Both,
        other => {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                format!("direction: {other:?} is not in, out or both"),
            ))
        }
    };
    ctx.state()
        .engine
        .mute(LegId(id), direction, on)
        .map_err(engine_error)?;
    Ok(json!({"id": id, "muted": on}))
}

/// The conference named by `{id}`.
fn conference_id(ctx: &Ctx<St>) -> Result<ConferenceId> {
    ctx.param_uuid("id").map(ConferenceId)
}

/// The leg named by `leg_id` in the body.
fn body_leg(v: &Value) -> Result<LegId> {
    let s = text(v, "leg_id")
        .ok_or_else(|| Error::invalid_argument("INVALID_ARGUMENT", "leg_id: required"))?;
    voxbin_core::id::parse_id("leg_id", s).map(LegId)
}

fn conferences(r: Router<St>) -> Router<St> {
    r.route(Method::Post, "/v1/conferences", |ctx: Ctx<St>| async move {
        let v = body_value(&ctx);
        let id = match text(&v, "id") {
            Some(s) => voxbin_core::id::parse_id("id", s)?,
            None => voxbin_core::id::new_id(),
        };
        let tones = v.get("tones").and_then(Value::as_bool).unwrap_or(true);
        ctx.state()
            .engine
            .conference_create(ConferenceId(id), tones)
            .map_err(engine_error)?;
        Ok(json!({"id": id, "node_id": ctx.state().node_id}))
    })
    .route(
        Method::Delete,
        "/v1/conferences/{id}",
        |ctx: Ctx<St>| async move {
            let c = conference_id(&ctx)?;
            ctx.state()
                .engine
                .conference_destroy(c)
                .map_err(engine_error)?;
            Ok(json!({"id": c.0}))
        },
    )
    .route(
        Method::Post,
        "/v1/conferences/{id}/join",
        |ctx: Ctx<St>| async move {
            let c = conference_id(&ctx)?;
            let v = body_value(&ctx);
            let leg = body_leg(&v)?;
            if ctx.state().leg(leg.0).is_none() {
                return Err(Error::not_found("leg"));
            }
            let muted = v.get("muted").and_then(Value::as_bool).unwrap_or(false);
            ctx.state()
                .engine
                .conference_join(c, leg, muted)
                .map_err(engine_error)?;
            Ok(json!({"id": c.0, "leg_id": leg.0}))
        },
    )
    .route(
        Method::Post,
        "/v1/conferences/{id}/leave",
        |ctx: Ctx<St>| async move {
            let c = conference_id(&ctx)?;
            let leg = body_leg(&body_value(&ctx))?;
            ctx.state()
                .engine
                .conference_leave(leg)
                .map_err(engine_error)?;
            Ok(json!({"id": c.0, "leg_id": leg.0}))
        },
    )
    .route(
        Method::Post,
        "/v1/conferences/{id}/mute",
        |ctx: Ctx<St>| async move {
            let c = conference_id(&ctx)?;
            let v = body_value(&ctx);
            let leg = body_leg(&v)?;
            let muted = v.get("muted").and_then(Value::as_bool).unwrap_or(true);
            ctx.state()
                .engine
                .conference_mute(leg, muted)
                .map_err(engine_error)?;
            Ok(json!({"id": c.0, "leg_id": leg.0, "muted": muted}))
        },
    )
    .route(
        Method::Post,
        "/v1/conferences/{id}/record_start",
        |ctx: Ctx<St>| async move {
            let c = conference_id(&ctx)?;
            let v = body_value(&ctx);
            let op = op_of(&v)?;
            let spec = record_spec(&v)?;
            let path = ctx
                .state()
                .engine
                .conference_record(c, op, spec)
                .map_err(engine_error)?;
            Ok(json!({"id": c.0, "op_id": op.0, "path": path.display().to_string()}))
        },
    )
    .route(
        Method::Post,
        "/v1/conferences/{id}/record_stop",
        |ctx: Ctx<St>| async move {
            let c = conference_id(&ctx)?;
            ctx.state()
                .engine
                .conference_stop_record(c)
                .map_err(engine_error)?;
            Ok(json!({"id": c.0}))
        },
    )
}
