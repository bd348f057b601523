//! Route handlers of `/v1/activeflows`: parse, check scope, one store call, shape the answer.

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::{clock, Error, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{page_request, Scope};

use super::model::{
    start_action, Activeflow, ActiveflowStatus, ReferenceType, Stack, MAIN_STACK_ID,
};
use super::store;
use crate::body::{invalid, Body};
use crate::{events, flow, fresh_reader, State};

/// The live activeflow `id` visible in `scope`, read fresh; 404 otherwise.
async fn load_visible(state: &State, id: Uuid, scope: Scope) -> Result<Activeflow> {
    match store::get_live(fresh_reader(&state.deps.db), id).await? {
        Some(af) if scope.allows(af.customer_id) => Ok(af),
        _ => Err(Error::not_found("activeflow")),
    }
}

/// `GET /v1/activeflows`: one page of activeflows, newest first.
pub(crate) async fn list(ctx: Ctx<State>) -> Result<Page<Value>> {
    let scope = Scope::from_ctx(&ctx)?;
    let page = page_request(&ctx)?;
    let rows = ctx
        .state()
        .deps
        .db
        .read(|pool| store::list(pool, scope.customer(), &page))
        .await?;
    let page = Page::from_rows(rows, page.size, |af| (af.tm_create.clone(), af.id));
    Ok(Page {
        result: page
            .result
            .iter()
            .map(Activeflow::public_json)
            .collect::<Result<_>>()?,
        next_page_token: page.next_page_token,
    })
}

/// `GET /v1/activeflows/{id}`.
pub(crate) async fn get(ctx: Ctx<State>) -> Result<Value> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    load_visible(ctx.state(), id, scope).await?.public_json()
}

/// `POST /v1/activeflows` (internal callers only): starts a `running` activeflow of a flow
/// for a reference, `{customer_id, flow_id, reference_type, reference_id}`.
pub(crate) async fn create(ctx: Ctx<State>) -> Result<Value> {
    if Scope::from_ctx(&ctx)? != Scope::All {
        // The public `POST /activeflows` (inline actions, variables) needs the execution
        // engine; until it exists, only services start activeflows.
        return Err(Error::permission_denied(
            "Activeflows are started by the platform (calls, campaigns, ...); creating one \
             through the API is not supported yet.",
        ));
    }
    let body = Body::from_ctx(&ctx)?;
    let customer_id = body.required_uuid("customer_id")?;
    let flow_id = body.required_uuid("flow_id")?;
    let reference_type = body
        .one_of("reference_type", ReferenceType::NAMES)?
        .and_then(|name| ReferenceType::from_wire(&name))
        .ok_or_else(|| invalid("reference_type", "is required"))?;
    let reference_id = body.uuid("reference_id")?.unwrap_or(Uuid::nil());

    let state = ctx.state();
    let db = state.deps.db.writer();
    let flow = match flow::store::get_live(fresh_reader(&state.deps.db), flow_id).await? {
        Some(flow) if flow.customer_id == customer_id => flow,
        _ => {
            return Err(invalid(
                "flow_id",
                format!("no flow {flow_id} of this customer"),
            ))
        }
    };
    let main = Stack {
        id: MAIN_STACK_ID,
        actions: flow.actions,
        return_stack_id: Uuid::nil(),
        return_action_id: Uuid::nil(),
    };
    let now = clock::now();
    let af = Activeflow {
        id: voxbin_core::id::new_id(),
        customer_id,
        flow_id,
        status: ActiveflowStatus::Running,
        reference_type,
        reference_id,
        reference_activeflow_id: Uuid::nil(),
        on_complete_flow_id: flow.on_complete_flow_id,
        webhook_uri: String::new(),
        webhook_method: String::new(),
        stack_map: BTreeMap::from([(MAIN_STACK_ID, main)]),
        current_stack_id: MAIN_STACK_ID,
        current_action: start_action(),
        forward_stack_id: Uuid::nil(),
        forward_action_id: Uuid::nil(),
        execute_count: 0,
        executed_actions: Vec::new(),
        tm_create: now.clone(),
        tm_update: Some(now),
        tm_delete: None,
    };
    store::insert(db, &af).await?;
    let public = af.public_json()?;
    events::publish(&state.events, "activeflow_created", &public).await;
    Ok(public)
}

/// `POST /v1/activeflows/{id}/stop`: ends the activeflow; stopping an ended one returns it
/// unchanged.
pub(crate) async fn stop(ctx: Ctx<State>) -> Result<Value> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let state = ctx.state();
    let af = load_visible(state, id, scope).await?;
    if af.status == ActiveflowStatus::Ended {
        return af.public_json();
    }
    let db = state.deps.db.writer();
    let changed = store::end(db, id, &clock::now()).await?;
    let af = store::get_live(db, id)
        .await?
        .ok_or_else(|| Error::not_found("activeflow"))?;
    let public = af.public_json()?;
    // Only the request that actually ended it announces it, so consumers see one event.
    if changed {
        events::publish(&state.events, "activeflow_updated", &public).await;
    }
    Ok(public)
}
