//! The async shell around the [`engine`](super::engine): load an activeflow and its variables,
//! run one step (doing the I/O the engine asks for), save both in one transaction, publish
//! `activeflow_updated`, then perform the step's effects (asynchronous webhooks, the
//! `on_complete_flow_id` flow).
//!
//! Two steps of one activeflow may race (a `next` and a `stop`); the loser finds another
//! `revision`, reloads and runs its input again on the new state, where a stale `next` is
//! then refused.

use std::collections::BTreeMap;

use chrono::Utc;
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};
use voxbin_store::map_db_error;
use voxbin_svc_kit::Scope;

use super::engine::{Effect, Engine, Input, Limits, Outcome, Poll, Reply, Request};
use super::metrics::flow_metrics;
use super::model::{Activeflow, ReferenceType};
use super::store;
use super::variables::{Variables, COMPLETE_COUNT};
use crate::{flow, fresh_reader, State};

/// Attempts of a step that keeps losing races before it gives up with a 503.
const MAX_ATTEMPTS: usize = 8;
/// Longest `on_complete_flow_id` chain (VoIPBIN's bound).
pub const MAX_COMPLETE_CHAIN: u32 = 5;

/// Runs `input` on activeflow `id` (visible in `scope`) and saves the result.
pub(crate) async fn step(
    state: &State,
    id: Uuid,
    scope: Scope,
    input: Input,
) -> Result<(Activeflow, Outcome)> {
    let limits = Limits::from_config(&state.deps.config.flow);
    // Loads need read-your-writes, not the writer: a stale read loses the revision check.
    let reader = fresh_reader(&state.deps.db);
    for _ in 0..MAX_ATTEMPTS {
        // both reads on one connection: one borrow from the pool instead of two
        let mut conn = reader.acquire().await.map_err(map_db_error)?;
        let mut af = match store::get_live(&mut *conn, id).await? {
            Some(af) if scope.allows(af.customer_id) => af,
            _ => return Err(Error::not_found("activeflow")),
        };
        let before = af.clone();
        let mut vars = store::variables(&mut *conn, id).await?;
        drop(conn);
        let now = Utc::now();
        let mut engine = Engine::new(&mut af, &mut vars, limits, now);
        let mut poll = engine.handle(input.clone())?;
        let outcome = loop {
            match poll {
                Poll::Done(outcome) => break outcome,
                Poll::Io(request) => {
                    let reply = perform(state, &before, request).await;
                    poll = engine.resume(reply)?;
                }
            }
        };
        let effects = engine.take_effects();
        let control_run = engine.control_actions_run();
        if af == before && !vars.is_dirty() {
            return Ok((af, outcome));
        }
        af.tm_update = Some(clock::format(now));
        // The step and its event commit together; a lost race rolls back (tx dropped).
        let mut tx = state.outbox.begin().await?;
        if !store::save_step(&mut tx, &mut af, &vars).await? {
            continue;
        }
        tx.event("activeflow_updated", af.id, af.public()).await?;
        tx.commit().await?;
        let m = flow_metrics();
        m.actions.add(&["control"], control_run);
        if matches!(outcome, Outcome::Execute(_)) {
            m.actions.inc(&["call"]);
        }
        if before.status != af.status {
            m.ended.inc(&[]);
        }
        for effect in effects {
            apply(state, &af, &vars, effect).await;
        }
        return Ok((af, outcome));
    }
    Err(Error::unavailable(
        "ACTIVEFLOW_BUSY",
        format!("activeflow {id} kept changing under this request; try again"),
    ))
}

/// Does the outside work of a control action.
async fn perform(state: &State, af: &Activeflow, request: Request) -> Reply {
    match request {
        Request::Fetch(req) | Request::Webhook(req) => {
            let answer = state.http.send(&req).await;
            if let Err(error) = &answer {
                tracing::warn!(activeflow = %af.id, url = %req.url, %error, "flow HTTP request failed");
            }
            Reply::Http(answer)
        }
        Request::LoadFlow { flow_id } => Reply::Flow(
            match flow::store::get_live(fresh_reader(&state.deps.db), flow_id).await {
                Ok(Some(f)) if f.customer_id == af.customer_id => Ok(f.actions),
                Ok(_) => Err(format!("no flow {flow_id} of this customer")),
                Err(e) => Err(e.message),
            },
        ),
    }
}

/// Performs one effect of a saved step; failures are logged (the step already happened).
async fn apply(state: &State, af: &Activeflow, vars: &Variables, effect: Effect) {
    match effect {
        Effect::Webhook(req) => {
            let http = state.http.clone();
            let activeflow = af.id;
            tokio::spawn(async move {
                if let Err(error) = http.send(&req).await {
                    tracing::warn!(%activeflow, url = %req.url, %error, "webhook_send failed");
                }
            });
        }
        Effect::StartFlow { flow_id } => {
            if let Err(error) = start_on_complete(state, af, vars, flow_id).await {
                tracing::warn!(activeflow = %af.id, %flow_id, %error, "on_complete_flow_id not started");
            }
        }
    }
}

/// Starts `flow_id` on the ended activeflow's reference, inheriting its variables.
async fn start_on_complete(
    state: &State,
    ended: &Activeflow,
    vars: &Variables,
    flow_id: Uuid,
) -> Result<()> {
    let depth: u32 = vars
        .get(COMPLETE_COUNT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + 1;
    if depth >= MAX_COMPLETE_CHAIN {
        return Err(Error::invalid_argument(
            "COMPLETE_CHAIN_TOO_LONG",
            format!("on_complete_flow_id chains stop at {MAX_COMPLETE_CHAIN} flows"),
        ));
    }
    let mut inherited = vars.map().clone();
    inherited.insert(COMPLETE_COUNT.to_owned(), depth.to_string());
    start(
        state,
        ended.customer_id,
        flow_id,
        ended.reference_type,
        ended.reference_id,
        ended.id,
        inherited,
    )
    .await
    .map(|_| ())
}

/// Creates a `running` activeflow of `flow_id` (a flow of `customer_id`) with `variables`
/// (already checked), and publishes `activeflow_created`.
pub(crate) async fn start(
    state: &State,
    customer_id: Uuid,
    flow_id: Uuid,
    reference_type: ReferenceType,
    reference_id: Uuid,
    reference_activeflow_id: Uuid,
    variables: BTreeMap<String, String>,
) -> Result<Activeflow> {
    let flow = match flow::store::get_live(fresh_reader(&state.deps.db), flow_id).await? {
        Some(flow) if flow.customer_id == customer_id => flow,
        _ => {
            return Err(crate::body::invalid(
                "flow_id",
                format!("no flow {flow_id} of this customer"),
            ))
        }
    };
    let mut af = Activeflow::start(
        customer_id,
        &flow,
        reference_type,
        reference_id,
        &clock::now(),
    );
    af.reference_activeflow_id = reference_activeflow_id;
    let mut vars = Variables::default();
    for (key, value) in &variables {
        vars.set_internal(key, value)
            .map_err(|e| crate::body::invalid("variables", e))?;
    }
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut tx, &af, &vars).await?;
    tx.event("activeflow_created", af.id, af.public()).await?;
    tx.commit().await?;
    Ok(af)
}
