//! RPC entry points for extensions: validate, one store call, answer the public shape.

use voxbin_bus::{errors, Ctx};
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{made_before, page_request, Scope};

use super::model::{realm, Extension, ExtensionAuth, ExtensionRow};
use super::store;
use crate::digest::{ha1_md5, ha1_sha256};
use crate::input::{check_password, check_sip_user};
use crate::State;
use voxbin_svc_kit::body::{check_detail, check_name, invalid, Body};

/// `GET /v1/extensions`: the caller's live extensions, newest first.
pub async fn list(ctx: Ctx<State>) -> Result<Page<Extension>> {
    let scope = Scope::from_ctx(&ctx)?;
    let page = page_request(&ctx)?;
    let rows = ctx
        .state()
        .deps
        .db
        .read(|pool| store::list(pool, scope, &page))
        .await?;
    let items = rows.iter().map(ExtensionRow::public).collect();
    Ok(Page::from_rows(items, page.size, |e: &Extension| {
        (e.tm_create.clone(), e.id)
    }))
}

/// `POST /v1/extensions`: creates an extension for the calling customer.
pub async fn create(ctx: Ctx<State>) -> Result<Extension> {
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let extension = body.str("extension")?;
    let password = body.str("password")?;
    let name = body.str("name")?;
    let detail = body.str("detail")?;
    check_sip_user("extension", &extension)?;
    check_password("password", &password)?;
    check_name("name", &name)?;
    check_detail("detail", &detail)?;
    // The body names no customer, so a super-admin call must say whose extension this is.
    let customer_id = scope
        .customer()
        .ok_or_else(|| invalid("customer_id", "is required to create an extension"))?;

    let now = clock::now();
    let realm = realm(customer_id, ctx.state().sip_domain());
    let row = ExtensionRow {
        id: ctx.new_id(),
        customer_id,
        name,
        detail,
        ha1_md5: ha1_md5(&extension, &realm, &password),
        ha1_sha256: ha1_sha256(&extension, &realm, &password),
        extension,
        realm,
        password,
        direct_hash: String::new(),
        tm_create: now.clone(),
        tm_update: now,
        tm_delete: None,
    };
    let db = ctx.state().deps.db.writer();
    match store::insert(db, &row).await {
        Ok(()) => Ok(row.public()),
        Err(e) => {
            let made = async {
                store::get(db, row.id, Scope::Customer(customer_id), false)
                    .await?
                    .map(|made| made.public())
                    .ok_or_else(|| Error::not_found("extension"))
            };
            made_before(&ctx, e, made).await
        }
    }
}

/// `GET /v1/extensions/{id}`.
pub async fn get(ctx: Ctx<State>) -> Result<Extension> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    ctx.state()
        .deps
        .db
        .read(|pool| store::get(pool, id, scope, false))
        .await?
        .map(|row| row.public())
        .ok_or_else(|| Error::not_found("extension"))
}

/// `PUT /v1/extensions/{id}`: replaces name, detail and password.
pub async fn update(ctx: Ctx<State>) -> Result<Extension> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let name = body.str("name")?;
    let detail = body.str("detail")?;
    let password = body.str("password")?;
    check_name("name", &name)?;
    check_detail("detail", &detail)?;
    check_password("password", &password)?;

    let db = &ctx.state().deps.db;
    let mut row = store::get(db.writer(), id, scope, false)
        .await?
        .ok_or_else(|| Error::not_found("extension"))?;
    // The realm follows the configured SIP domain, so an update also heals a renamed platform.
    row.realm = realm(row.customer_id, ctx.state().sip_domain());
    row.ha1_md5 = ha1_md5(&row.extension, &row.realm, &password);
    row.ha1_sha256 = ha1_sha256(&row.extension, &row.realm, &password);
    row.name = name;
    row.detail = detail;
    row.password = password;
    row.tm_update = clock::now();
    if !store::update(db.writer(), &row).await? {
        return Err(Error::not_found("extension"));
    }
    Ok(row.public())
}

/// `DELETE /v1/extensions/{id}`: soft-deletes and answers the deleted extension.
pub async fn delete(ctx: Ctx<State>) -> Result<Extension> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let db = &ctx.state().deps.db;
    if !store::delete(db.writer(), id, scope).await? {
        return Err(Error::not_found("extension"));
    }
    store::get(db.writer(), id, scope, true)
        .await?
        .map(|row| row.public())
        .ok_or_else(|| Error::not_found("extension"))
}

/// `GET /v1/extensions/by_username/{customer_id}/{username}` (internal, scope All only): the
/// live extension with its realm and HA1s, for the SIP edge's digest check.
pub async fn by_username(ctx: Ctx<State>) -> Result<ExtensionAuth> {
    internal_only(&ctx)?;
    let customer_id = ctx.param_uuid("customer_id")?;
    let username = ctx.param("username")?;
    store::by_username(ctx.state().deps.db.writer(), customer_id, username)
        .await?
        .map(|row| row.auth())
        .ok_or_else(|| Error::not_found("extension"))
}

/// Refuses a customer-scoped caller as if the route did not exist: internal routes must not be
/// reachable through the gateway's 1:1 forwarding, and their existence is nobody's business.
pub fn internal_only(ctx: &Ctx<State>) -> Result<()> {
    match Scope::from_ctx(ctx) {
        Ok(Scope::All) => Ok(()),
        _ => Err(Error::new(
            ErrorKind::NotFound,
            errors::ROUTE_NOT_FOUND,
            format!("no route for {} {}", ctx.method(), ctx.request().path()),
        )),
    }
}
