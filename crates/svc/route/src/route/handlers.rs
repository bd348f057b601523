//! RPC entry points for routes: validate, one store call, answer the public shape.

use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::{clock, Error, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{made_before, page_request, Scope};

use super::model::{check_priority, check_target, Route};
use super::store;
use crate::provider::store as providers;
use crate::State;
use voxbin_svc_kit::body::{check_detail, check_name, invalid, Body};

/// The validated editable fields of a route.
struct Fields {
    name: String,
    detail: String,
    provider_id: Uuid,
    priority: i64,
    target: String,
}

/// Reads and checks the body of a create or an update, including that the provider exists.
async fn read_fields(ctx: &Ctx<State>, body: &Body) -> Result<Fields> {
    let name = body.str("name")?;
    check_name("name", &name)?;
    let detail = body.str("detail")?;
    check_detail("detail", &detail)?;
    let provider_id = body.uuid("provider_id")?;
    let priority = body.i64("priority")?;
    check_priority("priority", priority)?;
    let target = body.str("target")?;
    check_target("target", &target)?;
    // Providers are platform-wide, so any live provider may carry any customer's route.
    if providers::get(ctx.state().deps.db.writer(), provider_id, false)
        .await?
        .is_none()
    {
        return Err(invalid("provider_id", "does not name an existing provider"));
    }
    Ok(Fields {
        name,
        detail,
        provider_id,
        priority,
        target,
    })
}

/// `GET /v1/routes`: the caller's live routes (every customer's for scope All), newest first.
pub async fn list(ctx: Ctx<State>) -> Result<Page<Route>> {
    let scope = Scope::from_ctx(&ctx)?;
    let page = page_request(&ctx)?;
    let rows = ctx
        .state()
        .deps
        .db
        .read(|pool| store::list(pool, scope, &page))
        .await?;
    Ok(Page::from_rows(rows, page.size, |r: &Route| {
        (r.tm_create.clone(), r.id)
    }))
}

/// `POST /v1/routes`. The body's `customer_id` names the owner: required for scope All; for a
/// customer it may be left out and otherwise must be the caller (403 for another customer).
pub async fn create(ctx: Ctx<State>) -> Result<Route> {
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let customer_id = match (scope, body.opt_str("customer_id")?) {
        (Scope::All, None) => return Err(invalid("customer_id", "is required")),
        (Scope::Customer(caller), None) => caller,
        (_, Some(text)) => {
            let owner =
                Uuid::parse_str(&text).map_err(|_| invalid("customer_id", "must be a UUID"))?;
            if !scope.allows(owner) {
                return Err(Error::permission_denied(
                    "customer_id must be the calling customer",
                ));
            }
            owner
        }
    };
    let f = read_fields(&ctx, &body).await?;
    let now = clock::now();
    let route = Route {
        id: ctx.new_id(),
        customer_id,
        name: f.name,
        detail: f.detail,
        provider_id: f.provider_id,
        priority: f.priority,
        target: f.target,
        tm_create: now.clone(),
        tm_update: now,
        tm_delete: None,
    };
    let db = ctx.state().deps.db.writer();
    match store::insert(db, &route).await {
        Ok(()) => Ok(route),
        Err(e) => {
            let made = async {
                store::get(db, route.id, Scope::Customer(customer_id), false)
                    .await?
                    .ok_or_else(|| Error::not_found("route"))
            };
            made_before(&ctx, e, made).await
        }
    }
}

/// `GET /v1/routes/{id}`.
pub async fn get(ctx: Ctx<State>) -> Result<Route> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    ctx.state()
        .deps
        .db
        .read(|pool| store::get(pool, id, scope, false))
        .await?
        .ok_or_else(|| Error::not_found("route"))
}

/// `PUT /v1/routes/{id}`: replaces name, detail, provider, priority and target.
pub async fn update(ctx: Ctx<State>) -> Result<Route> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let db = &ctx.state().deps.db;
    // Look the route up first, so another customer learns nothing about our providers check.
    let mut route = store::get(db.writer(), id, scope, false)
        .await?
        .ok_or_else(|| Error::not_found("route"))?;
    let f = read_fields(&ctx, &body).await?;
    route.name = f.name;
    route.detail = f.detail;
    route.provider_id = f.provider_id;
    route.priority = f.priority;
    route.target = f.target;
    route.tm_update = clock::now();
    if !store::update(db.writer(), &route).await? {
        return Err(Error::not_found("route"));
    }
    Ok(route)
}

/// `DELETE /v1/routes/{id}`: soft-deletes and answers the deleted route.
pub async fn delete(ctx: Ctx<State>) -> Result<Route> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let db = &ctx.state().deps.db;
    if !store::delete(db.writer(), id, scope).await? {
        return Err(Error::not_found("route"));
    }
    store::get(db.writer(), id, scope, true)
        .await?
        .ok_or_else(|| Error::not_found("route"))
}
