//! Bus entry points of the campaign service (outplans): each reads the caller's scope,
//! validates the request completely and only then makes one write.

use std::sync::Arc;

use voxbin_core::{clock, Error, Result};
use voxbin_store::{Db, Page};
use voxbin_svc_kit::outbox::Outbox;
use voxbin_svc_kit::{made_before, page_request, Scope};

use crate::model::{DialBody, InfoBody, Outplan};
use crate::store;
use voxbin_svc_kit::body::parse_body;

/// What the routes share.
pub struct State {
    /// The database.
    pub db: Arc<Db>,
    /// Events, as `campaign-manager`, written with the change they report.
    pub outbox: Outbox,
}

type Ctx = voxbin_bus::Ctx<State>;

/// `GET /v1/outplans`: a page of live outplans, newest first.
pub async fn list(ctx: Ctx) -> Result<Page<Outplan>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    store::list(&ctx.state().db, scope.customer(), &req).await
}

/// `POST /v1/outplans`: creates an outplan for the calling customer.
pub async fn create(ctx: Ctx) -> Result<Outplan> {
    let customer = Scope::from_ctx(&ctx)?.customer().ok_or_else(|| {
        Error::invalid_argument(
            "INVALID_ARGUMENT",
            "customer_id is required to create an outplan",
        )
    })?;
    // One body, read twice: each part ignores the other's fields.
    let body = ctx.request().data.as_ref();
    let info = parse_body::<InfoBody>(body)?.validate()?;
    let dial = parse_body::<DialBody>(body)?.validate()?;
    let mut outplan = Outplan::new(customer, info, dial, clock::now());
    outplan.id = ctx.new_id();
    let state = ctx.state();
    let made = async {
        let mut tx = state.outbox.begin().await?;
        store::insert(&mut tx, &outplan).await?;
        tx.event("outplan_created", outplan.id, &outplan).await?;
        tx.commit().await
    };
    let outplan = match made.await {
        Ok(()) => outplan,
        Err(e) => {
            let again = store::get(state.db.writer(), Some(customer), outplan.id);
            made_before(&ctx, e, again).await?
        }
    };
    Ok(outplan)
}

/// `GET /v1/outplans/{id}`.
pub async fn get(ctx: Ctx) -> Result<Outplan> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    ctx.state()
        .db
        .read(|pool| store::get(pool, scope.customer(), id))
        .await
}

/// `PUT /v1/outplans/{id}`: replaces name and detail.
pub async fn update(ctx: Ctx) -> Result<Outplan> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let info = parse_body::<InfoBody>(ctx.request().data.as_ref())?.validate()?;
    let mut tx = ctx.state().outbox.begin().await?;
    let outplan = store::update_info(&mut tx, scope.customer(), id, info).await?;
    tx.event("outplan_updated", outplan.id, &outplan).await?;
    tx.commit().await?;
    Ok(outplan)
}

/// `PUT /v1/outplans/{id}/dial_info`: replaces source, timings and try counts.
pub async fn update_dial_info(ctx: Ctx) -> Result<Outplan> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let dial = parse_body::<DialBody>(ctx.request().data.as_ref())?.validate()?;
    let mut tx = ctx.state().outbox.begin().await?;
    let outplan = store::update_dial_info(&mut tx, scope.customer(), id, dial).await?;
    tx.event("outplan_updated", outplan.id, &outplan).await?;
    tx.commit().await?;
    Ok(outplan)
}

/// `DELETE /v1/outplans/{id}`: soft-deletes and answers the deleted outplan.
pub async fn delete(ctx: Ctx) -> Result<Outplan> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let mut tx = ctx.state().outbox.begin().await?;
    let outplan = store::delete(&mut tx, scope.customer(), id).await?;
    tx.event("outplan_deleted", outplan.id, &outplan).await?;
    tx.commit().await?;
    Ok(outplan)
}
