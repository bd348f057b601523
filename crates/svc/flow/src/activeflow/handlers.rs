//! Route handlers of `/v1/activeflows`: parse, check scope, one store call or engine step,
//! shape the answer. The engine routes (`execute`, `next`, `forward_action_id`,
//! `push_actions`, `add_actions`, `continue`, `service_stop`, `variables`) are for the
//! platform's services only; see [`super::engine`] for what each input does.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_actions::{validate_actions_from, Origin};
use voxbin_bus::Ctx;
use voxbin_core::{Error, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{page_request, Scope};

use super::engine::{Input, Outcome};
use super::model::{Activeflow, ReferenceType};
use super::{runner, store};
use crate::body::{invalid, kind, Body};
use crate::{fresh_reader, State};

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
/// for a reference, `{customer_id, flow_id, reference_type, reference_id, variables?}`.
/// The variables (strings) are seeded as the platform's, so `voipbin.call.*` may be set.
pub(crate) async fn create(ctx: Ctx<State>) -> Result<Value> {
    if Scope::from_ctx(&ctx)? != Scope::All {
        // The public `POST /activeflows` (inline actions) is not served yet; only services
        // start activeflows.
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
    let variables = string_map(&body, "variables")?;
    let af = runner::start(
        ctx.state(),
        customer_id,
        flow_id,
        reference_type,
        reference_id,
        Uuid::nil(),
        variables,
    )
    .await?;
    af.public_json()
}

/// An optional object of string values.
fn string_map(body: &Body, field: &str) -> Result<BTreeMap<String, String>> {
    let Some(value) = body.get(field) else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(map) = value else {
        return Err(invalid(
            field,
            format!("must be an object, got {}", kind(value)),
        ));
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(invalid(
                &format!("{field}.{k}"),
                format!("must be a string, got {}", kind(other)),
            )),
        })
        .collect()
}

/// `POST /v1/activeflows/{id}/stop`: ends the activeflow (internal callers may give a
/// `reason`); stopping an ended one returns it unchanged.
pub(crate) async fn stop(ctx: Ctx<State>) -> Result<Value> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let reason = match (&ctx.request().data, scope) {
        (Some(Value::Object(_)), Scope::All) => Body::from_ctx(&ctx)?.string("reason", 512)?,
        _ => None,
    };
    let reason = reason.unwrap_or_else(|| "stopped on request".to_owned());
    let (af, _) = runner::step(ctx.state(), id, scope, Input::Stop { reason }).await?;
    af.public_json()
}

/// The id of an engine route's activeflow, for internal callers only.
fn internal_id(ctx: &Ctx<State>) -> Result<Uuid> {
    if Scope::from_ctx(ctx)? != Scope::All {
        return Err(Error::permission_denied(
            "Only the platform's services drive activeflows.",
        ));
    }
    ctx.param_uuid("id")
}

/// The answer of an engine route: what to do now, and the activeflow.
///
/// `result` is `execute` (run `action`, then call `next` with its id), `blocked` (paused on
/// the `block` in `action` until `continue`), `waiting` (state changed; the current action
/// goes on) or `ended` (`reason` says why).
fn answer(af: &Activeflow, outcome: Outcome) -> Result<Value> {
    let (result, action, reason) = match outcome {
        Outcome::Execute(action) => ("execute", Some(action), None),
        Outcome::Blocked(action) => ("blocked", Some(action), None),
        Outcome::Waiting => ("waiting", None, None),
        Outcome::Ended { reason } => ("ended", None, Some(reason)),
    };
    Ok(json!({
        "result": result,
        "action": action,
        "reason": reason,
        "activeflow": af.public_json()?,
    }))
}

/// Runs `input` on the route's activeflow and answers.
async fn drive(ctx: &Ctx<State>, input: Input) -> Result<Value> {
    let id = internal_id(ctx)?;
    let (af, outcome) = runner::step(ctx.state(), id, Scope::All, input).await?;
    answer(&af, outcome)
}

/// `POST /v1/activeflows/{id}/execute`: run until an action for the call service (returned),
/// a block, or the end. Asking again while that action runs returns it again.
pub(crate) async fn execute(ctx: Ctx<State>) -> Result<Value> {
    drive(&ctx, Input::Execute).await
}

/// `POST /v1/activeflows/{id}/next` `{action_id, variables?}`: the call service finished the
/// current action (with result variables); runs on to the next one.
pub(crate) async fn next(ctx: Ctx<State>) -> Result<Value> {
    let body = Body::from_ctx(&ctx)?;
    let action_id = body.required_uuid("action_id")?;
    let variables = string_map(&body, "variables")?;
    drive(
        &ctx,
        Input::Next {
            action_id,
            variables,
        },
    )
    .await
}

/// `POST /v1/activeflows/{id}/forward_action_id` `{forward_action_id}`: jump there when the
/// current action finishes.
pub(crate) async fn forward(ctx: Ctx<State>) -> Result<Value> {
    let body = Body::from_ctx(&ctx)?;
    let action_id = body.required_uuid("forward_action_id")?;
    drive(&ctx, Input::Forward { action_id }).await
}

/// `POST /v1/activeflows/{id}/push_actions` `{stack_id, actions}`: a service pushes its own
/// stack (id = the service's id), run when the current action finishes.
pub(crate) async fn push_actions(ctx: Ctx<State>) -> Result<Value> {
    let body = Body::from_ctx(&ctx)?;
    let stack_id = body.required_uuid("stack_id")?;
    let actions = validate_actions_from(body.required("actions")?, Origin::Service)?;
    drive(&ctx, Input::Push { stack_id, actions }).await
}

/// `POST /v1/activeflows/{id}/add_actions` `{actions}`: inserts actions right after the
/// current one.
pub(crate) async fn add_actions(ctx: Ctx<State>) -> Result<Value> {
    let body = Body::from_ctx(&ctx)?;
    let actions = validate_actions_from(body.required("actions")?, Origin::Service)?;
    drive(&ctx, Input::Add { actions }).await
}

/// `POST /v1/activeflows/{id}/continue` `{action_id}`: leaves the block `action_id`.
pub(crate) async fn continue_(ctx: Ctx<State>) -> Result<Value> {
    let body = Body::from_ctx(&ctx)?;
    let action_id = body.required_uuid("action_id")?;
    drive(&ctx, Input::Continue { action_id }).await
}

/// `POST /v1/activeflows/{id}/service_stop` `{stack_id}`: a service is done with its stack.
pub(crate) async fn service_stop(ctx: Ctx<State>) -> Result<Value> {
    let body = Body::from_ctx(&ctx)?;
    let stack_id = body.required_uuid("stack_id")?;
    drive(&ctx, Input::PopStack { stack_id }).await
}

/// `GET /v1/activeflows/{id}/variables`: the stored variables (internal callers only).
pub(crate) async fn variables(ctx: Ctx<State>) -> Result<Value> {
    let id = internal_id(&ctx)?;
    let state = ctx.state();
    load_visible(state, id, Scope::All).await?;
    let vars = store::variables(state.deps.db.writer(), id).await?;
    Ok(json!({ "variables": vars.map() }))
}
