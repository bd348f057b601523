//! Dialling out of a flow: the `connect` and `call` actions, chained calls and caller id.
//!
//! `connect` dials every destination at once from the call running the flow (the master) as
//! chained calls (`master_call_id` on them, `chained_call_ids` on the master), placed on the
//! master's media node so they can be bridged. While they ring, an unanswered master gets 180
//! (its phone plays ringback) or, with `early_media`, 183 and the first early media bridged
//! through. The first to answer is bridged to the master (answered first if need be); the
//! others are cancelled. When the bridged call hangs up, the master is hung up with `dialout`
//! (DESIGN section 7: ended because its dial-out ended), or with that call's own reason under
//! `relay_reason`; when the master hangs up, its chained calls go too (cancel before answer,
//! normal after). When nobody answers, the master's flow goes on with the action after the
//! connect (under `relay_reason` the master is hung up with the first call's reason instead).
//!
//! `call` places new outgoing calls exactly as `POST /v1/calls` does, each running its own
//! flow, not bridged; with `chained` they are chained calls and end with the master.
//!
//! The decisions are in [`machine`] (no I/O); what a call's end sets off runs from the internal
//! route `POST /v1/calls/{id}/chain`, sent by [`crate::driver::ended`] as a bus message.

pub mod callerid;
pub mod machine;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_svc_kit::Scope;

use self::callerid::Anonymous;
use self::machine::{drop_reason, Connect, Phase, Step};
use crate::driver::{arm_health, ended, hang_up};
use crate::media;
use crate::model::{Address, Call, Direction, HangupBy, HangupReason, Status};
use crate::{outbound, State, SERVICE};

/// What starting a dialling action came to: `Err` holds why the flow must stop.
pub type Started = std::result::Result<(), String>;

fn conn_err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("database: {e}"))
}

/// The `connect` action `action` of master call `master`, as operation `op` (the master's
/// flow waits for it; it goes on when nobody answers).
pub async fn start(state: &State, master: &Call, action: &Value, op: Uuid) -> Result<Started> {
    let empty = json!({});
    let o = action.get("option").unwrap_or(&empty);
    let destinations: Vec<Address> = match o.get("destinations").cloned() {
        Some(v) => match serde_json::from_value(v) {
            Ok(d) => d,
            Err(e) => return Ok(Err(format!("connect: destinations: {e}"))),
        },
        None => Vec::new(),
    };
    if destinations.is_empty() {
        return Ok(Err("connect: no destinations".into()));
    }
    let anonymous = match Anonymous::of(Some(o), "option.anonymous") {
        Ok(a) => a,
        Err(e) => return Ok(Err(format!("connect: {}", e.message))),
    };
    let source = match source_of(state, master, o).await? {
        Ok(s) => s,
        Err(why) => return Ok(Err(format!("connect: {why}"))),
    };
    let hide = anonymous.hides(Some(&master.source));
    let mut plans = Vec::new();
    for (i, dest) in destinations.iter().enumerate() {
        match outbound::dials_for(state, master.customer_id, &source, dest, i).await {
            Ok(mut attempts) => {
                for d in &mut attempts {
                    callerid::apply(d, &source, hide, dest.kind == "tel");
                }
                plans.push(attempts);
            }
            Err(e) if e.kind == ErrorKind::InvalidArgument => {
                return Ok(Err(format!("connect: option.{}", e.message)))
            }
            Err(e) => return Err(e),
        }
    }
    let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut calls = Vec::new();
    for dest in &destinations {
        let mut c = Call::new(
            voxbin_core::id::new_id(),
            master.customer_id,
            Direction::Outgoing,
            Status::Dialing,
            source.clone(),
            dest.clone(),
            String::new(),
            clock::now(),
        );
        c.master_call_id = master.id;
        calls.push(c);
    }
    let connect = Connect {
        id: op,
        customer_id: master.customer_id,
        master: master.id,
        calls: calls.iter().map(|c| c.id).collect(),
        phase: Phase::Dialing,
        answer: Uuid::nil(),
        early: Uuid::nil(),
        early_media: flag("early_media"),
        relay_reason: flag("relay_reason"),
        first_reason: HangupReason::None,
    };
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut tx, &connect).await?;
    for c in &calls {
        crate::store::insert(&mut tx, c).await?;
        tx.event("call_created", c.id, c).await?;
    }
    store::chain(&mut tx, master.id, &connect.calls).await?;
    let fresh = crate::store::get(&mut *tx, None, master.id).await?;
    tx.event("call_updated", master.id, &fresh).await?;
    tx.commit().await?;
    let answered = master.status >= Status::Progressing;
    run(state, &connect, master, Connect::on_start(answered)).await?;
    for (c, attempts) in calls.iter().zip(plans) {
        if outbound::dial_next(state, c.id, attempts).await? {
            arm_health(state, c.id).await;
        } else {
            ended(state, c.id, HangupBy::Local, HangupReason::Failed).await?;
        }
    }
    Ok(Ok(()))
}

/// The caller id of a connect: the option's source (checked like `POST /calls`), else the
/// master's caller, passed through. `Err` says what is wrong with the option.
async fn source_of(
    state: &State,
    master: &Call,
    o: &Value,
) -> Result<std::result::Result<Address, String>> {
    let given: Option<Address> = match o.get("source") {
        None | Some(Value::Null) => None,
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(a) => Some(a),
            Err(e) => return Ok(Err(format!("option.source: {e}"))),
        },
    };
    let Some(given) = given.filter(|a| !a.kind.is_empty() || !a.target.is_empty()) else {
        return Ok(Ok(master.source.clone()));
    };
    if let Err(e) = callerid::check_source(&given, "option.source") {
        return Ok(Err(e.message));
    }
    Ok(Ok(callerid::effective_source(
        state,
        master.customer_id,
        &given,
    )
    .await?))
}

/// The `call` action `action` of master call `master`: new outgoing calls running their own
/// flow, chained to the master when the option says so.
pub async fn call_action(state: &State, master: &Call, action: &Value) -> Result<Started> {
    let empty = json!({});
    let o = action.get("option").unwrap_or(&empty);
    let anonymous = match Anonymous::of(Some(o), "option.anonymous") {
        Ok(a) => a,
        Err(e) => return Ok(Err(format!("call: {}", e.message))),
    };
    let hide = anonymous.hides(Some(&master.source));
    let mut body = json!({
        "destinations": o.get("destinations").cloned().unwrap_or(json!([])),
        "anonymous": if hide { "yes" } else { "no" },
    });
    for key in ["source", "flow_id", "actions"] {
        if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
            body[key] = v.clone();
        }
    }
    let made = match outbound::create(state, master.customer_id, Some(&body)).await {
        Ok(m) => m,
        Err(e) if e.kind == ErrorKind::InvalidArgument => {
            return Ok(Err(format!("call: option.{}", e.message)))
        }
        Err(e) => return Err(e),
    };
    if o.get("chained").and_then(Value::as_bool).unwrap_or(false) {
        let ids: Vec<Uuid> = made["calls"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|c| c.get("id").and_then(Value::as_str))
            .filter_map(|s| Uuid::parse_str(s).ok())
            .collect();
        let mut tx = state.outbox.begin().await?;
        store::chain(&mut tx, master.id, &ids).await?;
        for id in ids.iter().chain([&master.id]) {
            let fresh = crate::store::get(&mut *tx, None, *id).await?;
            tx.event("call_updated", *id, &fresh).await?;
        }
        tx.commit().await?;
        // a chained call that ended before it was chained would outlive nothing: check now
        for id in ids {
            if let Some(c) = crate::store::get_any(state.db.writer(), id).await? {
                if c.is_over() {
                    on_over(state, id).await?;
                }
            }
        }
    }
    Ok(Ok(()))
}

/// The live connect of master `master` that dialled `call`.
async fn connect_of(state: &State, master: Uuid, call: Uuid) -> Result<Option<Connect>> {
    let all = store::live_of_master(state.db.writer(), master).await?;
    Ok(all.into_iter().find(|c| c.calls.contains(&call)))
}

/// The media node a call must be placed on: its master's, for a leg a connect bridges.
pub async fn pinned_node(state: &State, call: Uuid) -> Result<Option<String>> {
    let Some(c) = crate::store::get_any(state.db.writer(), call).await? else {
        return Ok(None);
    };
    if c.master_call_id.is_nil() || !c.activeflow_id.is_nil() {
        return Ok(None);
    }
    let master = crate::store::get_any(state.db.writer(), c.master_call_id).await?;
    Ok(master.map(|m| m.node_id).filter(|n| !n.is_empty()))
}

/// Chained call `call` answered: bridged to its master when it answered first, else dropped.
/// False when it is no connect's call.
pub async fn on_answered(state: &State, call: &Call) -> Result<bool> {
    if call.master_call_id.is_nil() {
        return Ok(false);
    }
    let Some(connect) = connect_of(state, call.master_call_id, call.id).await? else {
        return Ok(false);
    };
    let Some(master) = crate::store::get_any(state.db.writer(), connect.master).await? else {
        return Ok(true);
    };
    if master.is_over() {
        run(state, &connect, &master, connect.on_late_answer(call.id)).await?;
        return Ok(true);
    }
    let mut conn = state.db.writer().acquire().await.map_err(conn_err)?;
    let won = store::claim_answer(&mut conn, connect.id, call.id).await?;
    drop(conn);
    let steps = if won {
        connect.on_answer(call.id, master.status >= Status::Progressing)
    } else {
        connect.on_late_answer(call.id)
    };
    run(state, &connect, &master, steps).await?;
    Ok(true)
}

/// Chained call `leg` reports early media (`leg_progressing` with SDP): the master hears the
/// first one when its connect asked for early media.
pub async fn on_progressing(state: &State, leg: Uuid, data: &Value) -> Result<()> {
    if !data
        .get("early_media")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Ok(());
    }
    let Some(call) = crate::store::get_any(state.db.writer(), leg).await? else {
        return Ok(());
    };
    if call.master_call_id.is_nil() {
        return Ok(());
    }
    let Some(connect) = connect_of(state, call.master_call_id, leg).await? else {
        return Ok(());
    };
    if !connect.wants_early(leg) {
        return Ok(());
    }
    let Some(master) = crate::store::get_any(state.db.writer(), connect.master).await? else {
        return Ok(());
    };
    let mut conn = state.db.writer().acquire().await.map_err(conn_err)?;
    let claimed = store::claim_early(&mut conn, connect.id, leg).await?;
    drop(conn);
    if claimed && !master.is_over() {
        let steps = connect.on_early(leg, master.status >= Status::Progressing);
        run(state, &connect, &master, steps).await?;
    }
    Ok(())
}

/// The reason a connect hangs master `id` up with, if it is hanging it up.
pub async fn master_reason(state: &State, id: Uuid) -> Result<Option<HangupReason>> {
    store::master_reason(state.db.writer(), id).await
}

/// Asks for [`on_over`] of call `id` (a bus message: the end of one call hangs others up,
/// whose ends come back here).
pub async fn notify_over(state: &State, call: &Call) {
    if call.master_call_id.is_nil() && call.chained_call_ids.is_empty() {
        return;
    }
    let uri = format!("/v1/calls/{}/chain", call.id);
    if let Err(e) = state
        .bus
        .delay(SERVICE, Method::Post, &uri, None, Duration::ZERO)
        .await
    {
        tracing::warn!(call = %call.id, error = %e, "chained calls not told of the hangup");
    }
}

/// Call `id` is over: its chained calls are hung up; as a connect's call, the connect moves
/// on (master hung up, or its flow goes on).
pub async fn on_over(state: &State, id: Uuid) -> Result<()> {
    let Some(call) = crate::store::get_any(state.db.writer(), id).await? else {
        return Ok(());
    };
    if !call.is_over() {
        return Ok(());
    }
    if !call.chained_call_ids.is_empty() {
        for connect in store::live_of_master(state.db.writer(), id).await? {
            let mut conn = state.db.writer().acquire().await.map_err(conn_err)?;
            store::end(&mut conn, connect.id, connect.phase, HangupReason::None).await?;
        }
        for c in &call.chained_call_ids {
            drop_call(state, *c).await?;
        }
    }
    if call.master_call_id.is_nil() {
        return Ok(());
    }
    let Some(connect) = connect_of(state, call.master_call_id, id).await? else {
        return Ok(());
    };
    let mut conn = state.db.writer().acquire().await.map_err(conn_err)?;
    store::note_first_reason(&mut conn, connect.id, call.hangup_reason).await?;
    drop(conn);
    let Some(connect) = store::get(state.db.writer(), connect.id).await? else {
        return Ok(());
    };
    let mut all_over = true;
    for c in &connect.calls {
        let live = crate::store::get_any(state.db.writer(), *c).await?;
        all_over &= live.is_none_or(|l| l.is_over());
    }
    let Some(master) = crate::store::get_any(state.db.writer(), connect.master).await? else {
        return Ok(());
    };
    let answered = master.status >= Status::Progressing;
    let (phase, steps) = connect.on_call_ended(id, call.hangup_reason, all_over, answered);
    if phase == Some(Phase::Ended) {
        let why = steps
            .iter()
            .find_map(|s| match s {
                Step::HangUpMaster(r) => Some(*r),
                _ => None,
            })
            .unwrap_or(HangupReason::None);
        let mut conn = state.db.writer().acquire().await.map_err(conn_err)?;
        if !store::end(&mut conn, connect.id, connect.phase, why).await? {
            return Ok(());
        }
    }
    run(state, &connect, &master, steps).await
}

/// Hangs chained call `id` up if it is live (cancel before answer, normal after).
async fn drop_call(state: &State, id: Uuid) -> Result<()> {
    let Some(c) = crate::store::get_any(state.db.writer(), id).await? else {
        return Ok(());
    };
    if c.is_over() {
        return Ok(());
    }
    hang_up(state, &c, drop_reason(c.status)).await
}

/// Carries out `steps` of `connect` on master call `master`.
async fn run(state: &State, connect: &Connect, master: &Call, steps: Vec<Step>) -> Result<()> {
    let on_master = |verb: &'static str, body: Value| async move {
        if let Err(e) = media::command(&state.bus, &master.node_id, master.id, verb, body).await {
            tracing::info!(call = %master.id, %verb, error = %e, "connect: master command failed");
        }
    };
    for step in steps {
        match step {
            Step::Ring => on_master("ringing", json!({})).await,
            Step::Ringback => on_master("ringback", json!({})).await,
            Step::StopRingback => on_master("playback_stop", json!({})).await,
            Step::Progress => on_master("progress", json!({})).await,
            Step::AnswerMaster => on_master("answer", json!({})).await,
            Step::Unbridge => on_master("unbridge", json!({})).await,
            Step::Bridge(peer) => {
                let body = json!({ "peer_id": peer });
                if let Err(e) =
                    media::command(&state.bus, &master.node_id, master.id, "bridge", body).await
                {
                    // a bridge that cannot be made leaves two calls that hear nothing: end both
                    tracing::warn!(call = %master.id, %peer, error = %e, "connect: bridge failed");
                    drop_call(state, peer).await?;
                    hang_up(state, master, HangupReason::Failed).await?;
                }
            }
            Step::HangUp(c) => drop_call(state, c).await?,
            Step::HangUpMaster(reason) => {
                if !master.is_over() {
                    hang_up(state, master, reason).await?;
                }
            }
            Step::Continue => {
                let uri = format!("/v1/calls/{}/op_done", master.id);
                state
                    .bus
                    .delay(
                        SERVICE,
                        Method::Post,
                        &uri,
                        Some(json!({ "op_id": connect.id })),
                        Duration::ZERO,
                    )
                    .await?;
            }
        }
    }
    Ok(())
}

/// Internal route `POST /v1/calls/{id}/chain`: call `id` ended (see [`on_over`]).
pub async fn chain_route(ctx: voxbin_bus::Ctx<Arc<State>>) -> Result<Value> {
    if let Scope::Customer(_) = Scope::from_ctx(&ctx)? {
        return Err(Error::permission_denied(
            "Only the platform's services drive chained calls.",
        ));
    }
    let id = ctx.param_uuid("id")?;
    on_over(ctx.state(), id).await?;
    Ok(json!({ "id": id }))
}
