//! agent-manager's RPC entry points.

use serde_json::{json, Map, Value};
use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_svc_kit::{Deps, Scope};

use super::model::{
    Agent, ADDRESS_TYPES, CUSTOMER_PERMISSIONS, PERMISSIONS, RING_METHODS, STATUS_OFFLINE,
};
use super::password::{check_password, normalize_username, Hasher, MAX_PASSWORD_CHARS};
use super::store;
use crate::common::require_all;
use crate::fields::MAX_TEXT;
use voxbin_svc_kit::body::{invalid, Body};
use voxbin_svc_kit::outbox::Outbox;
use voxbin_svc_kit::page_request;

/// What agent-manager's handlers share.
pub struct AgentState {
    /// Adapters.
    pub deps: Deps,
    /// Password hashing.
    pub hasher: Hasher,
    /// Events of agents, written with the change they report.
    pub outbox: Outbox,
}

type AgentCtx = Ctx<AgentState>;

fn not_found() -> Error {
    Error::not_found("agent")
}

/// 401 for a failed login; the same for an unknown user and a wrong password.
fn invalid_credentials() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "INVALID_CREDENTIALS",
        "The username or password is not correct.",
    )
}

/// 409 for a username a live agent already has.
pub fn username_taken() -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        "ALREADY_EXISTS",
        "The username is already taken.",
    )
}

/// `GET /v1/agents`: live agents of the scope, newest first.
pub async fn list_agents(ctx: AgentCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    let page = store::list(&ctx.state().deps.db, scope.customer(), &req).await?;
    Ok(json!({
        "result": page.result.iter().map(Agent::to_public).collect::<Vec<_>>(),
        "next_page_token": page.next_page_token,
    }))
}

/// `POST /v1/agents`: {customer_id (internal callers), username, password, name, detail,
/// permission, ring_method, tag_ids, addresses} -> the agent.
pub async fn create_agent(ctx: AgentCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let body_customer = body.opt_uuid("customer_id")?;
    let customer_id = match (scope, body_customer) {
        (Scope::Customer(c), None) => c,
        (Scope::Customer(c), Some(given)) if given == c => c,
        (Scope::Customer(_), Some(_)) => {
            return Err(invalid(
                "customer_id",
                "does not match the caller's customer",
            ))
        }
        (Scope::All, Some(given)) => given,
        (Scope::All, None) => return Err(invalid("customer_id", "is required")),
    };
    let username = normalize_username("username", &body.str("username")?)?;
    let password = body.str("password")?;
    check_password("password", &password)?;
    let name = body.opt_str_max("name", MAX_TEXT)?.unwrap_or_default();
    let detail = body.opt_str_max("detail", MAX_TEXT)?.unwrap_or_default();
    let ring_method = body
        .opt_str("ring_method")?
        .unwrap_or_else(|| "ringall".into());
    if !RING_METHODS.contains(&ring_method.as_str()) {
        return Err(invalid("ring_method", "must be ringall or linear"));
    }
    let permission = match body.opt_i64("permission")? {
        None => 0,
        Some(p) => {
            let allowed: &[u64] = match scope {
                Scope::All => &PERMISSIONS,
                Scope::Customer(_) => &CUSTOMER_PERMISSIONS,
            };
            match u64::try_from(p) {
                Ok(p) if allowed.contains(&p) => p,
                _ => return Err(invalid("permission", format!("must be one of {allowed:?}"))),
            }
        }
    };
    let tag_ids = parse_tag_ids(&body)?;
    let addresses = parse_addresses(&body)?;

    let state = ctx.state();
    // Checked before hashing (which is slow on purpose); the unique index still decides races.
    if store::get_by_username(&state.deps.db, &username)
        .await?
        .is_some()
    {
        return Err(username_taken());
    }
    let password_hash = state.hasher.hash(&password).await?;
    let now = clock::now();
    let agent = Agent {
        id: voxbin_core::id::new_id(),
        customer_id,
        username,
        password_hash,
        name,
        detail,
        ring_method,
        status: STATUS_OFFLINE.into(),
        permission,
        tag_ids,
        addresses,
        direct_hash: String::new(),
        tm_password_update: now.clone(),
        tm_create: now.clone(),
        tm_update: Some(now),
        tm_delete: None,
    };
    let public = agent.to_public();
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut *tx, &agent).await?;
    tx.event("agent_created", agent.id, &public).await?;
    tx.commit().await?;
    Ok(public)
}

fn parse_tag_ids(body: &Body) -> Result<Vec<Uuid>> {
    let Some(items) = body.opt_array("tag_ids")? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(text) => voxbin_core::id::parse_id("tag_ids", text),
            _ => Err(invalid("tag_ids", "must hold UUID strings")),
        })
        .collect()
}

fn parse_addresses(body: &Body) -> Result<Vec<Value>> {
    let Some(items) = body.opt_array("addresses")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(fields) = item else {
            return Err(invalid("addresses", "must hold address objects"));
        };
        let mut address = Map::new();
        for key in ["type", "target", "target_name", "name", "detail"] {
            let text = match fields.get(key) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(invalid(&format!("addresses.{key}"), "must be a string")),
            };
            address.insert(key.into(), Value::String(text));
        }
        let kind = address.get("type").and_then(Value::as_str).unwrap_or("");
        if !ADDRESS_TYPES.contains(&kind) {
            return Err(invalid(
                "addresses.type",
                format!("must be one of {ADDRESS_TYPES:?}"),
            ));
        }
        out.push(Value::Object(address));
    }
    Ok(out)
}

/// `GET /v1/agents/{id}`: the agent's public shape.
pub async fn get_agent(ctx: AgentCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let agent = store::get(ctx.state().deps.db.writer(), id, scope.customer(), false)
        .await?
        .ok_or_else(not_found)?;
    Ok(agent.to_public())
}

/// `GET /v1/agents/{id}/auth` (internal): `{id, customer_id, permission, tm_password_update,
/// tm_delete}`, also for a deleted agent, so the gateway can revoke its tokens.
pub async fn get_agent_auth(ctx: AgentCtx) -> Result<Value> {
    require_all(Scope::from_ctx(&ctx)?)?;
    let id = ctx.param_uuid("id")?;
    let agent = store::get(ctx.state().deps.db.writer(), id, None, true)
        .await?
        .ok_or_else(not_found)?;
    Ok(agent.to_auth())
}

/// `PUT /v1/agents/{id}/password` {password}: sets a new hash and moves `tm_password_update`.
pub async fn set_password(ctx: AgentCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let password = body.str("password")?;
    check_password("password", &password)?;
    let state = ctx.state();
    let db = &state.deps.db;
    store::get(db.writer(), id, scope.customer(), false)
        .await?
        .ok_or_else(not_found)?;
    let hash = state.hasher.hash(&password).await?;
    let mut tx = state.outbox.begin().await?;
    if !store::set_password(&mut *tx, id, &hash).await? {
        return Err(not_found());
    }
    let agent = store::get(&mut *tx, id, None, false)
        .await?
        .ok_or_else(not_found)?;
    let public = agent.to_public();
    tx.event("agent_updated", agent.id, &public).await?;
    tx.commit().await?;
    // Tokens issued before now stop working at once: the gateway's cached copy goes too.
    evict_auth(&state.deps, id).await;
    Ok(public)
}

/// `POST /v1/agents/{id}/revoke_tokens` (logout): every login token issued to the agent
/// until now stops working; the password stays.
pub async fn revoke_tokens(ctx: AgentCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let state = ctx.state();
    let db = &state.deps.db;
    let agent = store::get(db.writer(), id, scope.customer(), false)
        .await?
        .ok_or_else(not_found)?;
    // Re-storing the same hash moves tm_password_update, which is what revokes tokens.
    if !store::set_password(db.writer(), id, &agent.password_hash).await? {
        return Err(not_found());
    }
    evict_auth(&state.deps, id).await;
    Ok(json!({ "id": id, "revoked": true }))
}

/// Drops the gateway's cached auth record of an agent; a failure only delays revocation by
/// the cache entry's short lifetime, so it is logged, not returned.
async fn evict_auth(deps: &voxbin_svc_kit::Deps, id: Uuid) {
    if let Err(e) = deps
        .cache
        .delete(&voxbin_svc_kit::cache_keys::agent_auth(id))
        .await
    {
        tracing::warn!(agent_id = %id, error = %e, "cannot evict cached agent auth");
    }
}

/// `DELETE /v1/agents/{id}`: soft-deletes the agent (freeing its username); answers the
/// deleted agent.
pub async fn delete_agent(ctx: AgentCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let state = ctx.state();
    let mut tx = state.outbox.begin().await?;
    if !store::delete(&mut *tx, id, scope.customer()).await? {
        return Err(not_found());
    }
    let agent = store::get(&mut *tx, id, None, true)
        .await?
        .ok_or_else(not_found)?;
    let public = agent.to_public();
    tx.event("agent_deleted", agent.id, &public).await?;
    tx.commit().await?;
    evict_auth(&state.deps, id).await;
    Ok(public)
}

/// `DELETE /v1/agents?customer_id=` (internal; customer-manager calls it when a customer is
/// deleted): soft-deletes every agent of that customer -> `{"deleted": n}`.
pub async fn delete_customer_agents(ctx: AgentCtx) -> Result<Value> {
    let Scope::Customer(customer) = Scope::from_ctx(&ctx)? else {
        return Err(invalid("customer_id", "is required"));
    };
    let deps = &ctx.state().deps;
    let ids = store::live_ids_of(&deps.db, customer).await?;
    let deleted = store::delete_all_of(&deps.db, customer).await?;
    // Their login tokens must stop working now, not when the gateway's cache entry expires.
    for id in ids {
        evict_auth(deps, id).await;
    }
    Ok(json!({ "deleted": deleted }))
}

/// `POST /v1/login` {username, password} (internal) -> the agent's public shape, or 401
/// `INVALID_CREDENTIALS` alike for an unknown user and a wrong password.
pub async fn login(ctx: AgentCtx) -> Result<Value> {
    require_all(Scope::from_ctx(&ctx)?)?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let username = body.str("username")?;
    let password = body.str("password")?;
    let state = ctx.state();
    // An over-long password cannot match (none is stored) and would only cost hashing time.
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(invalid_credentials());
    }
    match store::get_by_username(&state.deps.db, &username).await? {
        Some(agent) => {
            if state.hasher.verify(&password, &agent.password_hash).await? {
                Ok(agent.to_public())
            } else {
                Err(invalid_credentials())
            }
        }
        None => {
            state.hasher.verify_dummy(&password).await?;
            Err(invalid_credentials())
        }
    }
}
