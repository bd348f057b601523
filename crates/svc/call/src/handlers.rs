//! Bus entry points of the call service: the public `/v1/calls` routes (scoped to the
//! caller's customer) and the internal timer routes (`op_done`, `health`).

use std::sync::Arc;

use serde_json::{json, Value};
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_store::Page;
use voxbin_svc_kit::body::Body;
use voxbin_svc_kit::{page_request, Scope};

use crate::driver;
use crate::media;
use crate::model::{Call, HangupReason};
use crate::outbound;
use crate::store;
use crate::State;

type Ctx = voxbin_bus::Ctx<Arc<State>>;

/// `GET /v1/calls`: a page of live calls, newest first.
pub async fn list(ctx: Ctx) -> Result<Page<Call>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    store::list(&ctx.state().db, scope.customer(), &req).await
}

/// The call of the `{id}` path visible to the caller.
pub(crate) async fn visible(ctx: &Ctx) -> Result<Call> {
    let scope = Scope::from_ctx(ctx)?;
    let id = ctx.param_uuid("id")?;
    ctx.state()
        .db
        .read(|pool| store::get(pool, scope.customer(), id))
        .await
}

/// `GET /v1/calls/{id}`.
pub async fn get(ctx: Ctx) -> Result<Call> {
    visible(&ctx).await
}

/// `POST /v1/calls`: outbound calls to each destination (see [`outbound`]).
pub async fn create(ctx: Ctx) -> Result<Value> {
    let customer = Scope::from_ctx(&ctx)?.customer().ok_or_else(|| {
        Error::invalid_argument("INVALID_ARGUMENT", "customer_id is required to make a call")
    })?;
    outbound::create(ctx.state(), customer, ctx.request().data.as_ref()).await
}

/// `DELETE /v1/calls/{id}`: soft-deletes a call that is over; 409 while it is live.
pub async fn delete(ctx: Ctx) -> Result<Call> {
    let call = visible(&ctx).await?;
    if !call.is_over() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            "CALL_IN_PROGRESS",
            "the call is still in progress; hang it up first",
        ));
    }
    let state = ctx.state();
    let mut tx = state.outbox.begin().await?;
    let deleted = store::delete(&mut tx, Some(call.customer_id), call.id).await?;
    tx.event("call_deleted", deleted.id, &deleted).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// `POST /v1/calls/{id}/hangup`: starts hanging up; answers the call as it is then.
pub async fn hangup(ctx: Ctx) -> Result<Call> {
    let call = visible(&ctx).await?;
    let state = ctx.state();
    driver::hang_up(state, &call, HangupReason::Normal).await?;
    store::get(state.db.writer(), None, call.id).await
}

/// A live call's media command for the routes below; 409 when the call is over.
async fn on_leg(ctx: &Ctx, verb: &str, body: Value) -> Result<Call> {
    let call = visible(ctx).await?;
    if call.is_over() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            "CALL_OVER",
            "the call has hung up",
        ));
    }
    media::command(&ctx.state().bus, &call.node_id, call.id, verb, body).await?;
    Ok(call)
}

/// `POST /v1/calls/{id}/talk` `{text, language?, voice_id?}`.
pub async fn talk(ctx: Ctx) -> Result<Call> {
    let body = Body::from_ctx(&ctx)?;
    let text = body.str("text")?;
    if text.trim().is_empty() {
        return Err(voxbin_svc_kit::body::invalid("text", "must not be empty"));
    }
    let mut cmd = json!({ "text": text });
    if let Some(l) = body.opt_str("language")? {
        cmd["language"] = json!(l);
    }
    if let Some(v) = body.opt_str("voice_id")? {
        cmd["voice"] = json!(v);
    }
    on_leg(&ctx, "talk", cmd).await
}

/// `POST /v1/calls/{id}/hold` and `/moh`: music on hold for the peer.
pub async fn hold(ctx: Ctx) -> Result<Call> {
    on_leg(&ctx, "hold", json!({})).await
}

/// `DELETE /v1/calls/{id}/hold` and `/moh`.
pub async fn unhold(ctx: Ctx) -> Result<Call> {
    on_leg(&ctx, "unhold", json!({})).await
}

/// The `direction` of a mute body (`both` when absent).
fn mute_direction(ctx: &Ctx) -> Result<String> {
    let direction = match &ctx.request().data {
        Some(Value::Object(_)) => Body::from_ctx(ctx)?.opt_str("direction")?,
        _ => None,
    };
    match direction.as_deref() {
        None | Some("") | Some("both") => Ok("both".into()),
        Some(d @ ("in" | "out")) => Ok(d.into()),
        Some(other) => Err(voxbin_svc_kit::body::invalid(
            "direction",
            format!("{other:?} is not both, in or out"),
        )),
    }
}

/// `POST /v1/calls/{id}/mute` `{direction?}`.
pub async fn mute(ctx: Ctx) -> Result<Call> {
    let d = mute_direction(&ctx)?;
    let call = on_leg(&ctx, "mute", json!({ "direction": d })).await?;
    set_mute(&ctx, call, &d).await
}

/// `DELETE /v1/calls/{id}/mute`.
pub async fn unmute(ctx: Ctx) -> Result<Call> {
    let d = mute_direction(&ctx)?;
    let call = on_leg(&ctx, "unmute", json!({ "direction": d })).await?;
    set_mute(&ctx, call, "").await
}

/// `POST /v1/calls/{id}/silence`: the peer hears nothing from us.
pub async fn silence(ctx: Ctx) -> Result<Call> {
    let call = on_leg(&ctx, "mute", json!({"direction": "out"})).await?;
    set_mute(&ctx, call, "out").await
}

/// `DELETE /v1/calls/{id}/silence`.
pub async fn unsilence(ctx: Ctx) -> Result<Call> {
    let call = on_leg(&ctx, "unmute", json!({"direction": "out"})).await?;
    set_mute(&ctx, call, "").await
}

async fn set_mute(ctx: &Ctx, call: Call, direction: &str) -> Result<Call> {
    let state = ctx.state();
    let mut tx = state.outbox.begin().await?;
    store::set_mute(&mut tx, call.id, direction).await?;
    let fresh = store::get(&mut *tx, None, call.id).await?;
    tx.event("call_updated", call.id, &fresh).await?;
    tx.commit().await?;
    Ok(fresh)
}

/// Internal: the timer of a timed action (`{op_id, after?}`) is up.
pub async fn op_done(ctx: Ctx) -> Result<Value> {
    internal(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let body = Body::from_ctx(&ctx)?;
    let op = body.uuid("op_id")?;
    let after = if body.has("after") {
        let a = body.object("after")?;
        a.get("verb")
            .and_then(Value::as_str)
            .map(|v| (v.to_owned(), a.get("body").cloned().unwrap_or(json!({}))))
    } else {
        None
    };
    driver::op_done(ctx.state(), id, op, Vec::new(), after).await?;
    Ok(json!({ "id": id }))
}

/// Internal: a live call's periodic check.
pub async fn health(ctx: Ctx) -> Result<Value> {
    internal(&ctx)?;
    let id = ctx.param_uuid("id")?;
    driver::health(ctx.state(), id).await?;
    Ok(json!({ "id": id }))
}

/// Internal: the ring timeout of one dial attempt of call `{id}` is up (`plan` in the body:
/// the attempts that were left after it, which tells a later attempt's ringing apart).
pub async fn ring_timeout(ctx: Ctx) -> Result<Value> {
    internal(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let plan = Body::from_ctx(&ctx)?.opt_str("plan")?;
    driver::ring_timeout(ctx.state(), id, plan).await?;
    Ok(json!({ "id": id }))
}

/// Refuses internal routes to customers.
fn internal(ctx: &Ctx) -> Result<()> {
    match Scope::from_ctx(ctx)? {
        Scope::All => Ok(()),
        Scope::Customer(_) => Err(Error::permission_denied(
            "Only the platform's services drive calls' timers.",
        )),
    }
}

/// `POST /v1/calls/{id}/recording_start` `{format, end_of_silence, end_of_key, duration}`
/// (seconds, 0 for no limit).
pub async fn recording_start(ctx: Ctx) -> Result<Call> {
    let call = visible(&ctx).await?;
    if call.status != crate::model::Status::Progressing {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            "CALL_NOT_ANSWERED",
            "only an answered call can be recorded",
        ));
    }
    let body = voxbin_svc_kit::body::Body::new(ctx.request().data.as_ref())?;
    if let Some(f) = body.opt_str("format")? {
        if f != "wav" {
            return Err(voxbin_svc_kit::body::invalid(
                "format",
                "only wav is supported",
            ));
        }
    }
    let action = json!({"type": "recording_start", "option": {
        "end_of_silence": body.opt_i64("end_of_silence")?.unwrap_or(0).max(0),
        "end_of_key": body.opt_str("end_of_key")?.unwrap_or_default(),
        "duration": body.opt_i64("duration")?.unwrap_or(0).max(0),
    }});
    let crate::actions::Plan::Command { body: cmd, .. } = crate::actions::plan(&action) else {
        return Err(Error::internal("recording_start is a media command"));
    };
    let state = ctx.state();
    driver::start_recording(state, &call, cmd).await?;
    store::get(state.db.writer(), None, call.id).await
}

/// `POST /v1/calls/{id}/recording_stop`.
pub async fn recording_stop(ctx: Ctx) -> Result<Call> {
    on_leg(&ctx, "record_stop", json!({})).await
}

/// `GET /v1/recordings`.
pub async fn recordings(ctx: Ctx) -> Result<Page<crate::recording::Recording>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    crate::recording::list(&ctx.state().db, scope.customer(), &req).await
}

/// The recording of the `{id}` path visible to the caller.
async fn visible_recording(ctx: &Ctx) -> Result<crate::recording::Recording> {
    let scope = Scope::from_ctx(ctx)?;
    let id = ctx.param_uuid("id")?;
    ctx.state()
        .db
        .read(|pool| crate::recording::get(pool, scope.customer(), id))
        .await
}

/// `GET /v1/recordings/{id}`.
pub async fn recording(ctx: Ctx) -> Result<crate::recording::Recording> {
    visible_recording(&ctx).await
}

/// `DELETE /v1/recordings/{id}`: soft-deletes the record and removes the file.
pub async fn recording_delete(ctx: Ctx) -> Result<crate::recording::Recording> {
    let rec = visible_recording(&ctx).await?;
    let state = ctx.state();
    let mut tx = state.outbox.begin().await?;
    let deleted = crate::recording::delete(&mut tx, Some(rec.customer_id), rec.id).await?;
    tx.event("recording_deleted", rec.id, &deleted).await?;
    tx.commit().await?;
    crate::recording::remove_file(&state.bus, &rec).await;
    Ok(deleted)
}

/// `GET /v1/recordings/{id}/file?offset=`: a chunk of the WAV (see
/// [`crate::recording::file_chunk`]).
pub async fn recording_file(ctx: Ctx) -> Result<Value> {
    let rec = visible_recording(&ctx).await?;
    let offset: u64 = ctx.query_as("offset")?.unwrap_or(0);
    crate::recording::file_chunk(&ctx.state().bus, &rec, offset).await
}
