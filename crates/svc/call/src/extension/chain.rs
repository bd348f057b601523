//! A caller's leg and the legs dialled for it (chained calls): one per registered contact of
//! the callee extension (ring all), or one through the customer's routes for a number. The
//! caller waits (its `op_id` is the ring operation) until the first callee answers: that one
//! becomes the caller's only chained call and is bridged with it, the others are cancelled.
//! Afterwards the callee hanging up ends the caller (`dialout`); the caller's end hangs its
//! chained calls up like any master's (`connect::on_over`). If every callee fails first, the
//! caller is refused with what the last one said.

use serde_json::json;
use uuid::Uuid;
use voxbin_core::Result;

use super::plan::caller_failure;
use crate::driver::{arm_health, ended, hang_up};
use crate::media::{self, Dial};
use crate::model::{Call, Direction, HangupBy, HangupReason};
use crate::{store, State};

/// Refuses the caller's leg; a failure is logged (the leg may be gone already).
pub async fn reject(state: &State, call: &Call, code: u16, reason: &str) {
    let body = json!({"code": code, "reason": reason});
    if let Err(e) = media::command(&state.bus, &call.node_id, call.id, "reject", body).await {
        tracing::info!(call = %call.id, error = %e, "reject not delivered");
    }
}

/// Stores call `call` with its `call_created` event.
pub async fn insert(state: &State, call: &Call) -> Result<()> {
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut tx, call).await?;
    tx.event("call_created", call.id, call).await?;
    tx.commit().await
}

/// Dials chained call `fork` on `node` (the caller's, so both legs can be bridged there; any
/// node when empty) through the first of `attempts` that is taken; false when none was.
async fn dial(state: &State, node: &str, fork: Uuid, attempts: Vec<Dial>) -> Result<bool> {
    let node = (!node.is_empty()).then_some(node);
    crate::outbound::dial_on(state, fork, node, attempts).await
}

/// Starts the chained calls `forks` (already listed in the caller's `chained_call_ids`) of
/// the stored, ringing caller `caller`, each with its dial attempts; the caller hears ringing
/// once one is placed.
pub async fn start(state: &State, caller: &Call, forks: Vec<(Call, Vec<Dial>)>) -> Result<()> {
    let mut placed = 0;
    for (fork, attempts) in forks {
        insert(state, &fork).await?;
        if dial(state, &caller.node_id, fork.id, attempts).await? {
            arm_health(state, fork.id).await;
            placed += 1;
        } else {
            ended(state, fork.id, HangupBy::Local, HangupReason::Failed).await?;
            let master = store::get_any(state.db.writer(), caller.id).await?;
            if let Some(m) = master {
                fork_ended(state, &fork, m, 0, "failed").await?;
            }
        }
    }
    if placed > 0 {
        arm_health(state, caller.id).await;
        let ringing = media::command(&state.bus, &caller.node_id, caller.id, "ringing", json!({}));
        if let Err(e) = ringing.await {
            tracing::info!(call = %caller.id, error = %e, "ringing not delivered");
        }
    }
    Ok(())
}

/// A chained call `fork` was answered: the first one is bridged with its caller (answered
/// now) and the others are cancelled; a later one, or one whose caller is gone, hangs up.
pub async fn answered(state: &State, fork: &Call, master: Call) -> Result<()> {
    if master.is_over() {
        return hang_up(state, fork, HangupReason::Normal).await;
    }
    let mut tx = state.outbox.begin().await?;
    if !super::store::claim_answer(&mut tx, master.id, master.op_id, fork.id).await? {
        drop(tx);
        return hang_up(state, fork, HangupReason::Normal).await;
    }
    let fresh = store::get(&mut *tx, None, master.id).await?;
    tx.event("call_updated", master.id, &fresh).await?;
    tx.commit().await?;
    for other in master.chained_call_ids.iter().filter(|id| **id != fork.id) {
        if let Some(o) = store::get_any(state.db.writer(), *other).await? {
            hang_up(state, &o, HangupReason::Cancel).await?;
        }
    }
    let node = &master.node_id;
    let joined = async {
        media::command(&state.bus, node, master.id, "answer", json!({})).await?;
        let peer = json!({"peer_id": fork.id});
        media::command(&state.bus, node, master.id, "bridge", peer).await
    };
    if let Err(e) = joined.await {
        tracing::warn!(call = %master.id, chained = %fork.id, error = %e, "legs not bridged");
        hang_up(state, fork, HangupReason::Failed).await?;
        hang_up(state, &fresh, HangupReason::Failed).await?;
    }
    Ok(())
}

/// Chained call `fork` ended (`sip_status` and `cause` of its leg): the caller of an
/// answered one ends too (`dialout`); a caller whose callees all failed is refused.
pub async fn fork_ended(
    state: &State,
    fork: &Call,
    master: Call,
    sip_status: u64,
    cause: &str,
) -> Result<()> {
    if master.is_over() {
        return Ok(());
    }
    if !master.chained_call_ids.contains(&fork.id) {
        return Ok(()); // another callee answered; this one was cancelled
    }
    if master.op_id.is_nil() {
        // the bridged callee hung up; the reason is recorded before the media hangup, whose
        // leg_hangup event would otherwise end the caller first as `normal`
        ended(state, master.id, HangupBy::Local, HangupReason::Dialout).await?;
        return hang_up(state, &master, HangupReason::Dialout).await;
    }
    for id in &master.chained_call_ids {
        let live = store::get_any(state.db.writer(), *id)
            .await?
            .is_some_and(|c| !c.is_over());
        if live {
            return Ok(()); // still ringing elsewhere
        }
    }
    let (code, phrase, reason) = caller_failure(sip_status, cause);
    reject(state, &master, code, phrase).await;
    ended(state, master.id, HangupBy::Local, reason).await
}

/// Whether `master` is a caller whose chained calls this module placed (a call the number
/// routing or a flow's `connect` chains has an activeflow).
pub fn ours(master: &Call) -> bool {
    master.direction == Direction::Incoming && master.activeflow_id.is_nil()
}
