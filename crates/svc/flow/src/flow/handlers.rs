//! Route handlers of `/v1/flows`: parse, check scope, one store call, shape the answer.

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;
use voxbin_actions::{validate_actions, Action};
use voxbin_bus::Ctx;
use voxbin_cache::Cache;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{page_request, Scope};

use super::cache::{self, Cached};
use super::model::{Flow, FlowType, MAX_DETAIL_CHARS, MAX_FLOWS_PER_CUSTOMER, MAX_NAME_CHARS};
use super::store;
use crate::body::{invalid, Body};
use crate::{fresh_reader, State};

/// What `POST /flows` and `PUT /flows/{id}` may set, validated.
struct FlowInput {
    name: String,
    detail: String,
    actions: Vec<Action>,
    on_complete_flow_id: Option<Uuid>,
}

impl FlowInput {
    /// Reads and checks the fields shared by create and update (the contract requires
    /// `name`, `detail` and `actions` on both).
    fn parse(body: &Body) -> Result<FlowInput> {
        let name = body.required_string("name", MAX_NAME_CHARS)?;
        let detail = body.required_string("detail", MAX_DETAIL_CHARS)?;
        let actions = validate_actions(body.required("actions")?)?;
        let on_complete_flow_id = body.uuid("on_complete_flow_id")?;
        Ok(FlowInput {
            name,
            detail,
            actions,
            on_complete_flow_id,
        })
    }
}

/// The flow `id` of `customer`, read fresh: 400 naming `field` if it is missing,
/// deleted or someone else's.
async fn check_reference(state: &State, field: &str, id: Uuid, customer: Uuid) -> Result<()> {
    match store::get_live(fresh_reader(&state.deps.db), id).await? {
        Some(flow) if flow.customer_id == customer => Ok(()),
        _ => Err(invalid(field, format!("no flow {id} of this customer"))),
    }
}

/// Whether the cached JSON of a flow belongs to a customer visible in `scope`.
fn cached_owner_allowed(value: &Value, scope: Scope) -> bool {
    match scope {
        Scope::All => true,
        Scope::Customer(customer) => {
            value
                .get("customer_id")
                .and_then(Value::as_str)
                .and_then(|text| Uuid::try_parse(text).ok())
                == Some(customer)
        }
    }
}

/// The live flow `id` visible in `scope`, from the writer (read-your-writes); 404 otherwise.
async fn load_visible(state: &State, id: Uuid, scope: Scope) -> Result<Flow> {
    match store::get_live(state.deps.db.writer(), id).await? {
        Some(flow) if scope.allows(flow.customer_id) => Ok(flow),
        _ => Err(Error::not_found("flow")),
    }
}

/// `GET /v1/flows`: one page of live flows, newest first.
pub(crate) async fn list(ctx: Ctx<State>) -> Result<Page<Flow>> {
    let scope = Scope::from_ctx(&ctx)?;
    let page = page_request(&ctx)?;
    let rows = ctx
        .state()
        .deps
        .db
        .read(|pool| store::list(pool, scope.customer(), &page))
        .await?;
    Ok(Page::from_rows(rows, page.size, |f| {
        (f.tm_create.clone(), f.id)
    }))
}

/// `POST /v1/flows`: creates a flow owned by the scope's customer (or by the body's
/// `customer_id` for internal callers).
pub(crate) async fn create(ctx: Ctx<State>) -> Result<Flow> {
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let customer_id = match scope {
        Scope::Customer(customer) => customer,
        Scope::All => body.required_uuid("customer_id")?,
    };
    let r#type = match body.one_of("type", FlowType::NAMES)? {
        Some(name) => FlowType::from_wire(&name).unwrap_or(FlowType::Flow),
        None => FlowType::Flow,
    };
    let input = FlowInput::parse(&body)?;
    let state = ctx.state();
    let db = state.deps.db.writer();
    if let Some(target) = input.on_complete_flow_id {
        check_reference(state, "on_complete_flow_id", target, customer_id).await?;
    }
    // A soft cap: two concurrent creates at 9,999 may both pass; the limit guards against
    // runaway scripts, not a precise quota, so a replica's count is good enough and keeps
    // the single writer free.
    if state
        .deps
        .db
        .read(|pool| store::count_live(pool, customer_id))
        .await?
        >= MAX_FLOWS_PER_CUSTOMER
    {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            "FAILED_PRECONDITION",
            format!(
                "A customer may keep at most {MAX_FLOWS_PER_CUSTOMER} flows; delete some first."
            ),
        ));
    }
    let now = clock::now();
    let flow = Flow {
        id: ctx.new_id(),
        customer_id,
        r#type,
        name: input.name,
        detail: input.detail,
        actions: input.actions,
        direct_hash: String::new(),
        on_complete_flow_id: input.on_complete_flow_id.unwrap_or(Uuid::nil()),
        tm_create: now.clone(),
        tm_update: Some(now),
        tm_delete: None,
        version: 1,
    };
    let written = async {
        let mut tx = state.outbox.begin().await?;
        store::insert(&mut tx, &flow).await?;
        tx.event("flow_created", flow.id, &flow).await?;
        tx.commit().await
    };
    if let Err(error) = written.await {
        return match error.kind {
            // A redelivery of a create whose first delivery got as far as the insert (its
            // event was committed with it).
            ErrorKind::AlreadyExists if ctx.may_be_redelivered() => {
                match store::get_any(db, flow.id).await? {
                    Some(made) if made.customer_id == customer_id => {
                        tracing::info!(id = %made.id, "redelivered flow create answered with the flow it made");
                        Ok(made)
                    }
                    _ => Err(error),
                }
            }
            _ => Err(error),
        };
    }
    cache::fill(&state.deps.cache, &flow).await;
    Ok(flow)
}

/// `GET /v1/flows/{id}`: served from the cache when possible (the hot path of every call).
pub(crate) async fn get(ctx: Ctx<State>) -> Result<Value> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let cache: &Arc<dyn Cache> = &ctx.state().deps.cache;
    match cache::read(cache, id).await {
        Cached::Live(value) if cached_owner_allowed(&value, scope) => return Ok(value),
        Cached::Live(_) | Cached::Deleted => return Err(Error::not_found("flow")),
        Cached::Miss => {}
    }
    // Never a lagging replica: it would put an old flow in the cache for an hour.
    let Some(flow) = store::get_live(fresh_reader(&ctx.state().deps.db), id).await? else {
        return Err(Error::not_found("flow"));
    };
    cache::fill(cache, &flow).await;
    if !scope.allows(flow.customer_id) {
        return Err(Error::not_found("flow"));
    }
    serde_json::to_value(&flow).map_err(|e| Error::internal(format!("cannot encode flow: {e}")))
}

/// `PUT /v1/flows/{id}`: replaces name, detail, actions and on_complete_flow_id.
pub(crate) async fn update(ctx: Ctx<State>) -> Result<Flow> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let input = FlowInput::parse(&Body::from_ctx(&ctx)?)?;
    let state = ctx.state();
    let mut flow = load_visible(state, id, scope).await?;
    if let Some(target) = input.on_complete_flow_id {
        check_reference(state, "on_complete_flow_id", target, flow.customer_id).await?;
    }
    flow.name = input.name;
    flow.detail = input.detail;
    flow.actions = input.actions;
    flow.on_complete_flow_id = input.on_complete_flow_id.unwrap_or(Uuid::nil());
    flow.tm_update = Some(clock::now());
    // Deleted between the read and the write: as if the delete came first.
    let mut tx = state.outbox.begin().await?;
    let Some(version) = store::update(&mut tx, &flow).await? else {
        return Err(Error::not_found("flow"));
    };
    flow.version = version;
    tx.event("flow_updated", flow.id, &flow).await?;
    tx.commit().await?;
    state.repairs.put(&state.deps.cache, &flow, false).await;
    Ok(flow)
}

/// `DELETE /v1/flows/{id}`: soft-deletes the flow and answers it as deleted.
pub(crate) async fn delete(ctx: Ctx<State>) -> Result<Flow> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let state = ctx.state();
    let live = load_visible(state, id, scope).await?;
    let mut tx = state.outbox.begin().await?;
    let Some(flow) = store::delete(&mut tx, id, live.customer_id).await? else {
        return Err(Error::not_found("flow"));
    };
    tx.event("flow_deleted", flow.id, &flow).await?;
    tx.commit().await?;
    state.repairs.put(&state.deps.cache, &flow, true).await;
    Ok(flow)
}
