//! customer-manager's access key routes, including the gateway's token check.

use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::{clock, id::new_id, Error, ErrorKind, Result};
use voxbin_svc_kit::Scope;

use super::model::{hash_token, new_token, token_prefix, Accesskey};
use super::store;
use crate::agent::model::PERMISSION_CUSTOMER_ADMIN;
use crate::common::require_all;
use crate::customer::handlers::CustomerState;
use crate::customer::model::{STATUS_ACTIVE, STATUS_FROZEN};
use crate::customer::store as customer_store;
use crate::fields::MAX_TEXT;
use voxbin_svc_kit::body::{invalid, Body};
use voxbin_svc_kit::page_request;

type CustomerCtx = Ctx<CustomerState>;

/// Longest lifetime a key may be given: 100 years, in seconds.
pub const MAX_EXPIRE_SECS: i64 = 100 * 366 * 24 * 3600;

fn not_found() -> Error {
    Error::not_found("accesskey")
}

/// 401 for every token that does not open a live, unexpired key (one answer, so nothing leaks).
fn invalid_accesskey() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "INVALID_ACCESSKEY",
        "The access key is not valid.",
    )
}

/// A new key for `customer_id` and its plain token; `expire` is seconds from now, `None` or 0
/// for a key that never expires.
pub fn new_accesskey(
    customer_id: Uuid,
    name: String,
    detail: String,
    expire: Option<i64>,
) -> Result<(Accesskey, String)> {
    let tm_expire = match expire {
        None | Some(0) => None,
        Some(secs) if (1..=MAX_EXPIRE_SECS).contains(&secs) => {
            Some(clock::format(Utc::now() + TimeDelta::seconds(secs)))
        }
        Some(_) => {
            return Err(invalid(
                "expire",
                format!("must be seconds from now, 0 (never) to {MAX_EXPIRE_SECS}"),
            ))
        }
    };
    let token = new_token();
    let now = clock::now();
    let key = Accesskey {
        id: new_id(),
        customer_id,
        name,
        detail,
        token_hash: hash_token(&token),
        token_prefix: token_prefix(&token),
        tm_expire,
        tm_create: now.clone(),
        tm_update: Some(now),
        tm_delete: None,
    };
    Ok((key, token))
}

/// `POST /v1/accesskeys?customer_id=` {name, detail, expire} -> the key with its `token`,
/// shown this once.
pub async fn create(ctx: CustomerCtx) -> Result<Value> {
    let Scope::Customer(customer_id) = Scope::from_ctx(&ctx)? else {
        return Err(invalid("customer_id", "is required"));
    };
    let body = Body::new(ctx.request().data.as_ref())?;
    let name = body.opt_str_max("name", MAX_TEXT)?.unwrap_or_default();
    let detail = body.opt_str_max("detail", MAX_TEXT)?.unwrap_or_default();
    let (key, token) = new_accesskey(customer_id, name, detail, body.opt_i64("expire")?)?;
    let state = ctx.state();
    customer_store::get(&state.deps.db, customer_id)
        .await?
        .ok_or_else(|| Error::not_found("customer"))?;
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut *tx, &key).await?;
    tx.event("accesskey_created", key.id, key.to_public())
        .await?;
    tx.commit().await?;
    Ok(key.to_public_with_token(&token))
}

/// `GET /v1/accesskeys`: live keys of the scope, newest first, without tokens.
pub async fn list(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    let page = store::list(&ctx.state().deps.db, scope.customer(), &req).await?;
    Ok(json!({
        "result": page.result.iter().map(Accesskey::to_public).collect::<Vec<_>>(),
        "next_page_token": page.next_page_token,
    }))
}

/// `GET /v1/accesskeys/{id}`: the key, without its token.
pub async fn get(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let key = store::get(&ctx.state().deps.db, id, scope.customer())
        .await?
        .ok_or_else(not_found)?;
    Ok(key.to_public())
}

/// `PUT /v1/accesskeys/{id}` {name, detail}: fields left out keep their value.
pub async fn update(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let name = body.opt_str_max("name", MAX_TEXT)?;
    let detail = body.opt_str_max("detail", MAX_TEXT)?;
    let state = ctx.state();
    let db = &state.deps.db;
    let key = store::get(db, id, scope.customer())
        .await?
        .ok_or_else(not_found)?;
    let name = name.unwrap_or(key.name);
    let detail = detail.unwrap_or(key.detail);
    let mut tx = state.outbox.begin().await?;
    if !store::update(&mut *tx, id, &name, &detail).await? {
        return Err(not_found());
    }
    let key = store::get_any(&mut *tx, id, None)
        .await?
        .ok_or_else(not_found)?;
    tx.event("accesskey_updated", key.id, key.to_public())
        .await?;
    tx.commit().await?;
    Ok(key.to_public())
}

/// `DELETE /v1/accesskeys/{id}`: the key stops working at once; answers the deleted key.
pub async fn delete(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let state = ctx.state();
    let mut tx = state.outbox.begin().await?;
    if !voxbin_store::soft_delete(&mut *tx, "customer_accesskeys", id, scope.customer()).await? {
        return Err(not_found());
    }
    let key = store::get_any(&mut *tx, id, None)
        .await?
        .ok_or_else(not_found)?;
    tx.event("accesskey_deleted", key.id, key.to_public())
        .await?;
    tx.commit().await?;
    // The gateway caches verified keys; deleting must take effect at once.
    if let Err(e) = state
        .deps
        .cache
        .delete(&voxbin_svc_kit::cache_keys::accesskey(&key.token_hash))
        .await
    {
        tracing::warn!(accesskey_id = %id, error = %e, "cannot evict cached access key");
    }
    Ok(key.to_public())
}

/// `POST /v1/accesskeys/verify` {token} (internal): `{accesskey_id, customer_id, permission}`
/// for a live, unexpired key of an active customer. Unknown, expired and deleted keys (and
/// keys of deleted customers) all get 401 `INVALID_ACCESSKEY`; a frozen account gets 403
/// `ACCOUNT_FROZEN`, another inactive one 403 `ACCOUNT_NOT_ACTIVE`.
pub async fn verify(ctx: CustomerCtx) -> Result<Value> {
    require_all(Scope::from_ctx(&ctx)?)?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let token = body.str("token")?;
    let state = ctx.state();
    let db = &state.deps.db;
    // Hash whatever came: a malformed token simply matches nothing.
    let key = store::get_by_hash(db, &hash_token(&token))
        .await?
        .filter(|key| !key.expired_at(&clock::now()))
        .ok_or_else(invalid_accesskey)?;
    let customer = customer_store::get(db, key.customer_id)
        .await?
        .ok_or_else(invalid_accesskey)?;
    match customer.status.as_str() {
        STATUS_ACTIVE => {}
        STATUS_FROZEN => {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "ACCOUNT_FROZEN",
                "The account is frozen.",
            ))
        }
        _ => {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "ACCOUNT_NOT_ACTIVE",
                "The account is not active.",
            ))
        }
    }
    Ok(json!({
        "accesskey_id": key.id,
        "customer_id": key.customer_id,
        "permission": PERMISSION_CUSTOMER_ADMIN,
        "tm_expire": key.tm_expire,
    }))
}
