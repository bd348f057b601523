//! The async shell of group calls: creates them, dials their calls through
//! [`crate::outbound::start_call`], and applies the [`ring`] decisions when a call of the
//! group answers or ends, when its ring timeout fires, or when the group is hung up.
//!
//! Each step first makes the store's guarded write (answer claimed, live count dropped, next
//! destination taken, status moved forward), then reads the group back and decides; events
//! of different calls handled at once therefore reach a single outcome.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{json, Map, Value};
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::{clock, Result};
use voxbin_svc_kit::body::{invalid, Body};

use super::model::{AnswerMethod, GroupStatus, Groupcall, RingMethod};
use super::ring::{self, AfterEnd, OnAnswer};
use super::store;
use crate::connect::callerid;
use crate::media::Dial;
use crate::model::{Address, Call, Direction, HangupReason, Status};
use crate::{driver, outbound, State, SERVICE};

/// How long each call of a group rings before it is given up as `noanswer`.
pub const RING_TIMEOUT: Duration = Duration::from_secs(30);
/// Most destinations one group call may dial.
const MAX_DESTINATIONS: usize = 100;

/// Creates the group call of a `POST /v1/groupcalls` body for `customer` and dials it; the
/// group as stored then. The whole request is checked before anything is dialled.
pub async fn create(state: &State, customer: Uuid, data: Option<&Value>) -> Result<Groupcall> {
    let body = Body::new(data)?;
    let source: Address = match data.and_then(|d| d.get("source")) {
        None | Some(Value::Null) => Address::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| invalid("source", format!("is not an address: {e}")))?,
    };
    let destinations: Vec<Address> = match body.opt_array("destinations")? {
        Some(items) if !items.is_empty() => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v)
                    .map_err(|e| invalid(&format!("destinations[{i}]"), e.to_string()))
            })
            .collect::<Result<_>>()?,
        _ => return Err(invalid("destinations", "needs at least one address")),
    };
    if destinations.len() > MAX_DESTINATIONS {
        return Err(invalid(
            "destinations",
            format!("at most {MAX_DESTINATIONS} per group call"),
        ));
    }
    let ring_method = body.opt_str("ring_method")?.unwrap_or_default();
    let ring_method = RingMethod::parse(&ring_method)
        .ok_or_else(|| invalid("ring_method", "is ring_all or linear"))?;
    let answer_method = body.opt_str("answer_method")?.unwrap_or_default();
    let answer_method = AnswerMethod::parse(&answer_method)
        .ok_or_else(|| invalid("answer_method", "is \"\" or hangup_others"))?;
    let variables = outbound::user_variables(data)?;
    callerid::check_source(&source, "source")?;
    let source = callerid::effective_source(state, customer, &source).await?;
    // every destination must be dialable now, even those a linear group reaches later
    let mut dials = Vec::new();
    for (i, d) in destinations.iter().enumerate() {
        dials.push(outbound::dials_for(state, customer, &source, d, i).await?);
    }
    let flow_id = outbound::flow_of(state, customer, &body, data).await?;
    let plan = Plan {
        customer,
        owner: None,
        source,
        destinations,
        ring_method,
        answer_method,
        flow_id,
        variables,
    };
    start(state, plan, dials).await
}

/// What a group call is made of, checked.
pub struct Plan {
    /// Its customer.
    pub customer: Uuid,
    /// Its owner (`agent`, id), if any.
    pub owner: Option<(String, Uuid)>,
    /// Caller id of its calls.
    pub source: Address,
    /// Whom it dials.
    pub destinations: Vec<Address>,
    /// All at once or one after another.
    pub ring_method: RingMethod,
    /// What an answer does to the others.
    pub answer_method: AnswerMethod,
    /// The flow its answered calls run.
    pub flow_id: Uuid,
    /// Variables seeded into each call's flow.
    pub variables: Map<String, Value>,
}

/// Stores group call `plan` (`groupcall_created`) and dials its first destinations through
/// `dials` (the attempts of each destination, checked already); the group as stored then.
pub async fn start(state: &State, plan: Plan, dials: Vec<Vec<Dial>>) -> Result<Groupcall> {
    let first = ring::first_dials(plan.ring_method, plan.destinations.len());
    let call_ids: Vec<Uuid> = first.iter().map(|_| voxbin_core::id::new_id()).collect();
    let now = clock::now();
    let (owner_type, owner_id) = plan.owner.unwrap_or_default();
    let gc = Groupcall {
        id: voxbin_core::id::new_id(),
        customer_id: plan.customer,
        owner_type,
        owner_id,
        status: GroupStatus::Progressing,
        flow_id: plan.flow_id,
        source: plan.source,
        destinations: plan.destinations,
        master_call_id: Uuid::nil(),
        master_groupcall_id: Uuid::nil(),
        ring_method: plan.ring_method,
        answer_method: plan.answer_method,
        answer_call_id: Uuid::nil(),
        call_ids: call_ids.clone(),
        answer_groupcall_id: Uuid::nil(),
        groupcall_ids: Vec::new(),
        call_count: call_ids.len() as i64,
        groupcall_count: 0,
        dial_index: 0,
        variables: plan.variables,
        tm_create: now.clone(),
        tm_update: Some(now),
        tm_delete: None,
    };
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut tx, &gc).await?;
    tx.event("groupcall_created", gc.id, &gc).await?;
    tx.commit().await?;
    let mut dials: Vec<Option<Vec<Dial>>> = dials.into_iter().map(Some).collect();
    for (index, call) in first.into_iter().zip(call_ids) {
        let attempts = dials.get_mut(index).and_then(Option::take);
        if let Err(e) = dial(state, &gc, index, call, attempts).await {
            tracing::warn!(groupcall = %gc.id, %call, error = %e, "group call's call not placed");
            not_placed(state, gc.id, call).await?;
        }
    }
    store::get(state.db.writer(), None, gc.id).await
}

/// Places call `call` of group `gc` to destination `index` (through `attempts`, or the
/// destination's dials as of now) with its ring timeout.
async fn dial(
    state: &State,
    gc: &Groupcall,
    index: usize,
    call: Uuid,
    attempts: Option<Vec<Dial>>,
) -> Result<()> {
    let dest = gc
        .destinations
        .get(index)
        .cloned()
        .ok_or_else(|| voxbin_core::Error::internal("group call destination out of range"))?;
    let mut attempts = match attempts {
        Some(a) => a,
        None => outbound::dials_for(state, gc.customer_id, &gc.source, &dest, index).await?,
    };
    if matches!(dest.kind.as_str(), "tel" | "sip") {
        for a in &mut attempts {
            callerid::apply(a, &gc.source, false, dest.kind == "tel");
        }
    }
    let mut record = Call::new(
        call,
        gc.customer_id,
        Direction::Outgoing,
        Status::Dialing,
        gc.source.clone(),
        dest,
        String::new(),
        clock::now(),
    );
    record.groupcall_id = gc.id;
    // the calls of an agent's group are the agent's
    record.owner_type = gc.owner_type.clone();
    record.owner_id = gc.owner_id;
    // armed before the INVITE, so a call that never answers is always given up
    arm_ring_timeout(state, gc.id, call).await;
    let placed = outbound::start_call(state, record, gc.flow_id, &gc.variables, attempts).await?;
    reconcile(state, gc.id, &placed).await
}

/// A call placed while its group moved on (another answered first, or the group is being
/// hung up) is hung up now: it had no node yet when the group hung up the others.
async fn reconcile(state: &State, group: Uuid, call: &Call) -> Result<()> {
    let Some(gc) = store::get_any(state.db.writer(), group).await? else {
        return Ok(());
    };
    let taken = gc.is_answered()
        && gc.answer_call_id != call.id
        && gc.answer_method == AnswerMethod::HangupOthers;
    if call.is_over() || !(taken || gc.status != GroupStatus::Progressing) {
        return Ok(());
    }
    let fresh = crate::store::get(state.db.writer(), None, call.id).await?;
    driver::hang_up(state, &fresh, ring::hangup_reason(fresh.status)).await
}

/// Call `call` of group `group` could not be placed: it ends as failed when it was stored,
/// else the group stops counting it and moves on.
async fn not_placed(state: &State, group: Uuid, call: Uuid) -> Result<()> {
    match crate::store::get_any(state.db.writer(), call).await? {
        Some(c) if !c.is_over() => {
            driver::ended(
                state,
                call,
                crate::model::HangupBy::Local,
                HangupReason::Failed,
            )
            .await
        }
        Some(_) => Ok(()),
        None => {
            let mut conn = state.db.write_conn().await?;
            store::call_gone(&mut conn, group).await?;
            drop(conn);
            after_end(state, group).await
        }
    }
}

/// Schedules the ring timeout of call `call` of group `group`.
async fn arm_ring_timeout(state: &State, group: Uuid, call: Uuid) {
    let uri = format!("/v1/groupcalls/{group}/ring_timeout");
    if let Err(e) = state
        .bus
        .delay(
            SERVICE,
            Method::Post,
            &uri,
            Some(json!({ "call_id": call })),
            RING_TIMEOUT,
        )
        .await
    {
        tracing::warn!(groupcall = %group, %call, error = %e, "ring timeout not scheduled");
    }
}

/// Call `call` of its group answered (status progressing already): true when it goes on to
/// run its flow, false when the group hung it up. The first to answer becomes the group's
/// answer (`groupcall_progressing`); with hangup_others the rest are hung up.
pub async fn call_answered(state: &State, call: &Call) -> Result<bool> {
    let group = call.groupcall_id;
    let mut tx = state.outbox.begin().await?;
    let claimed = store::claim_answer(&mut tx, group, call.id).await?;
    let Some(gc) = store::get_any(&mut *tx, group).await? else {
        return Ok(true);
    };
    if claimed {
        tx.event("groupcall_progressing", group, &gc).await?;
    }
    tx.commit().await?;
    match ring::on_answer(&gc, claimed) {
        OnAnswer::Run { hang_up_others } => {
            if hang_up_others {
                hang_up_calls(state, &gc, call.id).await?;
            }
            Ok(true)
        }
        OnAnswer::HangUp => {
            let fresh = crate::store::get(state.db.writer(), None, call.id).await?;
            driver::hang_up(state, &fresh, HangupReason::Normal).await?;
            Ok(false)
        }
    }
}

/// Hangs up the live calls of `gc` but `except` (cancelled before answer, normal after);
/// one that fails is logged, the others still go.
async fn hang_up_calls(state: &State, gc: &Groupcall, except: Uuid) -> Result<()> {
    let mut calls = Vec::new();
    for id in &gc.call_ids {
        if let Some(c) = crate::store::get_any(state.db.writer(), *id).await? {
            calls.push(c);
        }
    }
    // a call still being placed has no node to hang up on yet: [`reconcile`] ends it once
    // its dial returns
    let live: Vec<(Uuid, Status)> = calls
        .iter()
        .filter(|c| !(c.node_id.is_empty() && c.status == Status::Dialing))
        .map(|c| (c.id, c.status))
        .collect();
    for (id, reason) in ring::to_hang_up(&live, except) {
        let Some(c) = calls.iter().find(|c| c.id == id) else {
            continue;
        };
        if let Err(e) = driver::hang_up(state, c, reason).await {
            tracing::warn!(groupcall = %gc.id, call = %id, error = %e, "call of the group not hung up");
        }
    }
    Ok(())
}

/// Call `call` of its group ended (once): the group dials its next destination (linear, no
/// answer yet) or ends once none of its calls is live. Boxed: dialling the next call may end
/// it at once, which comes back here.
pub fn call_ended<'a>(
    state: &'a State,
    call: &'a Call,
) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        let mut conn = state.db.write_conn().await?;
        store::call_gone(&mut conn, call.groupcall_id).await?;
        drop(conn);
        after_end(state, call.groupcall_id).await
    })
}

/// The group's step after one of its calls went away.
async fn after_end(state: &State, group: Uuid) -> Result<()> {
    loop {
        let Some(gc) = store::get_any(state.db.writer(), group).await? else {
            return Ok(());
        };
        match ring::after_call_ended(&gc) {
            AfterEnd::Wait => return Ok(()),
            AfterEnd::Finish => return finish(state, group).await,
            AfterEnd::Dial(index) => {
                let call = voxbin_core::id::new_id();
                let mut conn = state.db.write_conn().await?;
                let taken = store::take_next(&mut conn, &gc, index as i64, call).await?;
                drop(conn);
                if !taken {
                    // the group changed meanwhile: decide again on what it is now
                    continue;
                }
                if let Err(e) = dial(state, &gc, index, call, None).await {
                    tracing::warn!(groupcall = %group, %call, error = %e, "next destination not placed");
                    return Box::pin(not_placed(state, group, call)).await;
                }
                return Ok(());
            }
        }
    }
}

/// Ends group call `group` (once) with `groupcall_hangup`.
async fn finish(state: &State, group: Uuid) -> Result<()> {
    let mut tx = state.outbox.begin().await?;
    if store::set_status(&mut tx, group, GroupStatus::Hangup).await? {
        if let Some(gc) = store::get_any(&mut *tx, group).await? {
            tx.event("groupcall_hangup", group, &gc).await?;
        }
    }
    tx.commit().await
}

/// Hangs up group call `gc`: no further destination is dialled, its live calls are hung up,
/// and it ends once they have (at once when none is live).
pub async fn hang_up(state: &State, gc: &Groupcall) -> Result<()> {
    if gc.is_over() {
        return Ok(());
    }
    let mut conn = state.db.write_conn().await?;
    store::set_status(&mut conn, gc.id, GroupStatus::Hangingup).await?;
    drop(conn);
    let Some(fresh) = store::get_any(state.db.writer(), gc.id).await? else {
        return Ok(());
    };
    hang_up_calls(state, &fresh, Uuid::nil()).await?;
    // the calls themselves say how many are live: a count left high (an end that was never
    // counted, say the process died in between) does not keep the group from ending
    let mut conn = state.db.write_conn().await?;
    let live = store::live_calls(&mut conn, gc.id).await?;
    if live == 0 {
        store::set_call_count(&mut conn, gc.id, 0).await?;
    }
    drop(conn);
    after_end(state, gc.id).await
}

/// The ring timeout of call `call` of group `group` fired: a call still not answered is
/// given up as `noanswer` (its end moves the group on).
pub async fn ring_timeout(state: &State, group: Uuid, call: Uuid) -> Result<()> {
    let Some(c) = crate::store::get_any(state.db.writer(), call).await? else {
        return Ok(());
    };
    if c.groupcall_id != group || !ring::ring_timed_out(c.status) {
        return Ok(());
    }
    driver::hang_up(state, &c, HangupReason::Noanswer).await
}
