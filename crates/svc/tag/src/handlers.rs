//! Bus entry points of the tag service: each reads the caller's scope, validates the request
//! completely and only then makes one write.

use std::sync::Arc;

use voxbin_core::{clock, Error, Result};
use voxbin_store::{Db, Page};
use voxbin_svc_kit::outbox::Outbox;
use voxbin_svc_kit::{made_before, page_request, Scope};

use crate::model::{Tag, TagBody};
use crate::store;
use voxbin_svc_kit::body::parse_body;

/// What the routes share.
pub struct State {
    /// The database.
    pub db: Arc<Db>,
    /// Events, as `tag-manager`, written with the change they report.
    pub outbox: Outbox,
}

type Ctx = voxbin_bus::Ctx<State>;

/// `GET /v1/tags`: a page of live tags, newest first.
pub async fn list(ctx: Ctx) -> Result<Page<Tag>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    store::list(&ctx.state().db, scope.customer(), &req).await
}

/// `POST /v1/tags`: creates a tag for the calling customer.
pub async fn create(ctx: Ctx) -> Result<Tag> {
    let customer = Scope::from_ctx(&ctx)?.customer().ok_or_else(|| {
        Error::invalid_argument(
            "INVALID_ARGUMENT",
            "customer_id is required to create a tag",
        )
    })?;
    let info = parse_body::<TagBody>(ctx.request().data.as_ref())?.validate()?;
    let mut tag = Tag::new(customer, info, clock::now());
    tag.id = ctx.new_id();
    let state = ctx.state();
    let made = async {
        let mut tx = state.outbox.begin().await?;
        store::insert(&mut tx, &tag).await?;
        tx.event("tag_created", tag.id, &tag).await?;
        tx.commit().await
    };
    let tag = match made.await {
        Ok(()) => tag,
        Err(e) => {
            let again = store::get(state.db.writer(), Some(customer), tag.id);
            made_before(&ctx, e, again).await?
        }
    };
    Ok(tag)
}

/// `GET /v1/tags/{id}`.
pub async fn get(ctx: Ctx) -> Result<Tag> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    ctx.state()
        .db
        .read(|pool| store::get(pool, scope.customer(), id))
        .await
}

/// `PUT /v1/tags/{id}`: replaces name and detail.
pub async fn update(ctx: Ctx) -> Result<Tag> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let info = parse_body::<TagBody>(ctx.request().data.as_ref())?.validate()?;
    let mut tx = ctx.state().outbox.begin().await?;
    let tag = store::update(&mut tx, scope.customer(), id, &info).await?;
    tx.event("tag_updated", tag.id, &tag).await?;
    tx.commit().await?;
    Ok(tag)
}

/// `DELETE /v1/tags/{id}`: soft-deletes and answers the deleted tag.
pub async fn delete(ctx: Ctx) -> Result<Tag> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let mut tx = ctx.state().outbox.begin().await?;
    let tag = store::delete(&mut tx, scope.customer(), id).await?;
    tx.event("tag_deleted", tag.id, &tag).await?;
    tx.commit().await?;
    Ok(tag)
}
