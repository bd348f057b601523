//! Bus entry points of group calls: the public `/v1/groupcalls` routes (scoped to the
//! caller's customer) and the internal ring timeout timer.

use std::sync::Arc;

use serde_json::{json, Value};
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_store::Page;
use voxbin_svc_kit::body::Body;
use voxbin_svc_kit::{page_request, Scope};

use super::model::Groupcall;
use super::{run, store};
use crate::State;

type Ctx = voxbin_bus::Ctx<Arc<State>>;

/// `GET /v1/groupcalls`: a page of live group calls, newest first.
pub async fn list(ctx: Ctx) -> Result<Page<Groupcall>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    store::list(&ctx.state().db, scope.customer(), &req).await
}

/// The group call of the `{id}` path visible to the caller.
async fn visible(ctx: &Ctx) -> Result<Groupcall> {
    let scope = Scope::from_ctx(ctx)?;
    let id = ctx.param_uuid("id")?;
    ctx.state()
        .db
        .read(|pool| store::get(pool, scope.customer(), id))
        .await
}

/// `GET /v1/groupcalls/{id}`.
pub async fn get(ctx: Ctx) -> Result<Groupcall> {
    visible(&ctx).await
}

/// `POST /v1/groupcalls`: a group call dialling its destinations (see [`run::create`]).
pub async fn create(ctx: Ctx) -> Result<Groupcall> {
    let customer = Scope::from_ctx(&ctx)?.customer().ok_or_else(|| {
        Error::invalid_argument(
            "INVALID_ARGUMENT",
            "customer_id is required to make a group call",
        )
    })?;
    run::create(ctx.state(), customer, ctx.request().data.as_ref()).await
}

/// `DELETE /v1/groupcalls/{id}`: soft-deletes a group call that is over; 409 while live.
pub async fn delete(ctx: Ctx) -> Result<Groupcall> {
    let gc = visible(&ctx).await?;
    if !gc.is_over() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            "GROUPCALL_IN_PROGRESS",
            "the group call is still in progress; hang it up first",
        ));
    }
    let state = ctx.state();
    let mut tx = state.outbox.begin().await?;
    let deleted = store::delete(&mut tx, Some(gc.customer_id), gc.id).await?;
    tx.event("groupcall_deleted", deleted.id, &deleted).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// `POST /v1/groupcalls/{id}/hangup`: hangs up its calls; answers the group as it is then.
pub async fn hangup(ctx: Ctx) -> Result<Groupcall> {
    let gc = visible(&ctx).await?;
    let state = ctx.state();
    run::hang_up(state, &gc).await?;
    store::get(state.db.writer(), None, gc.id).await
}

/// Internal: the ring timeout of one call of the group (`{call_id}`) is up.
pub async fn ring_timeout(ctx: Ctx) -> Result<Value> {
    if let Scope::Customer(_) = Scope::from_ctx(&ctx)? {
        return Err(Error::permission_denied(
            "Only the platform's services drive group calls' timers.",
        ));
    }
    let id = ctx.param_uuid("id")?;
    let call = Body::from_ctx(&ctx)?.uuid("call_id")?;
    run::ring_timeout(ctx.state(), id, call).await?;
    Ok(json!({ "id": id }))
}
