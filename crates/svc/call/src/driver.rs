//! The call service's side of a call: media events in, call records and flow steps out.
//!
//! An incoming `leg_created` is routed ([`crate::routing`]) to a number's call flow: the call
//! is recorded, an activeflow started and executed. Each action the flow service hands back
//! is planned ([`crate::actions`]) and run on the leg's media node; an operation's completion
//! event (matched by op id, so stale ones are ignored) or a timer calls the flow's `next`
//! with result variables. `leg_*` events move the call's status forward; `leg_hangup` ends
//! the call and stops its activeflow with the reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;
use voxbin_bus::{Event, EventHandler, Method};
use voxbin_core::{clock, Error, ErrorKind, Result};

use crate::actions::{plan, result_variables, Plan};
use crate::media;
use crate::model::{Address, Call, Direction, HangupBy, HangupReason, Status};
use crate::recording::{self, Recording};
use crate::routing::{carrier_allowed, origin, provider_host, source_of, target_of, Target};
use crate::{store, State, SERVICE};

/// How often a live call's leg is checked on its media node.
pub const HEALTH_EVERY: Duration = Duration::from_secs(30);
/// Longest a call may last before it is hung up with `timeout`.
pub const MAX_CALL_DURATION: Duration = Duration::from_secs(4 * 3600);

/// Media events handled by the call service.
pub const MEDIA_EVENTS: &[&str] = &[
    "leg_created",
    "leg_ringing",
    "leg_answered",
    "leg_progressing",
    "leg_hangup",
    "playback_finished",
    "digits_collected",
    "digits_sent",
    "recording_finished",
];

/// How long a call's event worker waits for more events before it goes away.
const WORKER_IDLE: Duration = Duration::from_secs(60);

/// The event workers of live calls, by call id.
type Workers = Arc<Mutex<HashMap<Uuid, mpsc::UnboundedSender<(String, Value)>>>>;

/// The subscriber of media events: each call's events are handled in order by a worker of
/// that call, so one slow call never holds up the events of the others.
pub struct MediaEvents {
    state: Arc<State>,
    workers: Workers,
}

impl MediaEvents {
    /// The subscriber for `state`.
    pub fn new(state: Arc<State>) -> MediaEvents {
        MediaEvents {
            state,
            workers: Arc::default(),
        }
    }
}

#[async_trait]
impl EventHandler for MediaEvents {
    async fn handle(&self, event: Event) -> Result<()> {
        let data = event.data.unwrap_or(Value::Null);
        let Some(leg) = uuid_of(&data, "id") else {
            return Ok(());
        };
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        let item = (event.event_type, data);
        let item = match workers.get(&leg) {
            Some(tx) => match tx.send(item) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(item)) => item,
            },
            None => item,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(item);
        workers.insert(leg, tx);
        tokio::spawn(worker(self.state.clone(), self.workers.clone(), leg, rx));
        Ok(())
    }
}

/// Handles one call's events in order; leaves when idle or once the call hung up.
async fn worker(
    state: Arc<State>,
    workers: Workers,
    leg: Uuid,
    mut rx: mpsc::UnboundedReceiver<(String, Value)>,
) {
    loop {
        let next = tokio::time::timeout(WORKER_IDLE, rx.recv()).await;
        let over = match next {
            Ok(Some((kind, data))) => {
                if let Err(e) = on_media_event(&state, &kind, &data).await {
                    tracing::warn!(call = %leg, event = %kind, error = %e, "media event not handled");
                }
                kind == "leg_hangup"
            }
            Ok(None) => return,
            Err(_) => true,
        };
        if over {
            // senders push under this lock: an empty queue now stays empty
            let mut map = workers.lock().unwrap_or_else(|p| p.into_inner());
            if rx.is_empty() {
                map.remove(&leg);
                return;
            }
        }
    }
}

fn uuid_of(data: &Value, key: &str) -> Option<Uuid> {
    data.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn str_of<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Handles one media event.
pub async fn on_media_event(state: &State, kind: &str, data: &Value) -> Result<()> {
    let Some(leg) = uuid_of(data, "id") else {
        return Ok(());
    };
    if matches!(kind, "leg_ringing" | "leg_answered") {
        // the node of the live leg, known here even before originate's answer was stored
        let node = str_of(data, "node_id");
        if !node.is_empty() {
            let mut conn = state.db.write_conn().await?;
            store::set_node(&mut conn, leg, node).await?;
        }
    }
    match kind {
        "leg_created" if str_of(data, "direction") == "incoming" => inbound(state, leg, data).await,
        "leg_ringing" => advance(state, leg, Status::Ringing, "call_ringing")
            .await
            .map(|_| ()),
        "leg_answered" => {
            if !advance(state, leg, Status::Progressing, "call_progressing").await? {
                return Ok(());
            }
            if let Some(call) = store::get_any(state.db.writer(), leg).await? {
                // a group's call answering after another won (hangup_others) is hung up
                if !call.groupcall_id.is_nil()
                    && !crate::groupcall::call_answered(state, &call).await?
                {
                    return Ok(());
                }
                // a call a connect dialled is bridged to its master (or dropped)
                if crate::connect::on_answered(state, &call).await? {
                    return Ok(());
                }
                // an outgoing call runs its flow once answered
                if call.direction == Direction::Outgoing && !call.activeflow_id.is_nil() {
                    let answer = flow_call(state, &call, "execute", json!({})).await?;
                    drive(state, &call, answer).await?;
                }
                // a callee of an extension call joins its caller
                crate::extension::answered(state, &call).await?;
            }
            Ok(())
        }
        "leg_progressing" => crate::connect::on_progressing(state, leg, data).await,
        "leg_hangup" => {
            let by = match str_of(data, "hangup_by") {
                "local" => HangupBy::Local,
                _ => HangupBy::Remote,
            };
            let reason = HangupReason::from_cause(str_of(data, "hangup_reason"));
            if failover_cause(data) && fail_over(state, leg).await? {
                return Ok(());
            }
            ended(state, leg, by, reason).await?;
            // the other side of an extension call ends too
            crate::extension::hung_up(state, leg, data).await
        }
        "recording_finished" => match uuid_of(data, "op_id") {
            Some(rec) => {
                let ms = data.get("duration_ms").and_then(Value::as_i64).unwrap_or(0);
                recording_ended(state, leg, rec, ms).await
            }
            None => Ok(()),
        },
        "playback_finished" | "digits_collected" | "digits_sent" => match uuid_of(data, "op_id") {
            Some(op) => {
                let vars = result_variables(kind, data);
                op_done(state, leg, op, vars, None).await
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// True when a leg ended before answer for a reason another route may not have: no final
/// answer at all, 408, or a 5xx.
pub fn failover_cause(data: &Value) -> bool {
    match data.get("sip_status").and_then(Value::as_u64).unwrap_or(0) {
        0 | 408 => true,
        s => (500..600).contains(&s),
    }
}

/// Dials the next attempt of an outgoing call that has not been answered; true when a
/// media node took it.
async fn fail_over(state: &State, id: Uuid) -> Result<bool> {
    let Some(call) = store::get_any(state.db.writer(), id).await? else {
        return Ok(false);
    };
    if call.direction != Direction::Outgoing
        || !matches!(call.status, Status::Dialing | Status::Ringing)
    {
        return Ok(false);
    }
    let mut conn = state.db.write_conn().await?;
    let plan = store::take_dial_plan(&mut conn, id).await?;
    drop(conn);
    let Some(plan) = plan else {
        return Ok(false);
    };
    let attempts: Vec<media::Dial> = serde_json::from_str(&plan)
        .map_err(|e| Error::internal(format!("call {id}: bad dial plan: {e}")))?;
    tracing::info!(call = %id, left = attempts.len(), "route failed; failing over");
    crate::outbound::dial_next(state, id, attempts).await
}

/// Moves call `id` to `status` and reports it with `event`, if the machine allows.
async fn advance(state: &State, id: Uuid, status: Status, event: &str) -> Result<bool> {
    let mut tx = state.outbox.begin().await?;
    if !store::set_status(&mut tx, id, status).await? {
        return Ok(false);
    }
    let call = store::get(&mut *tx, None, id).await?;
    tx.event(event, id, &call).await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends call `id` (once) with `call_hangup`, and stops its activeflow with the reason.
pub async fn ended(state: &State, id: Uuid, by: HangupBy, reason: HangupReason) -> Result<()> {
    // a master a connect hung up ends with the connect's reason (dialout, relayed)
    let reason = match by {
        HangupBy::Local => crate::connect::master_reason(state, id)
            .await?
            .unwrap_or(reason),
        _ => reason,
    };
    let mut tx = state.outbox.begin().await?;
    if !store::set_hangup(&mut tx, id, by, reason).await? {
        return Ok(());
    }
    let call = store::get_any(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::not_found("call"))?;
    tx.event("call_hangup", id, &call).await?;
    tx.commit().await?;
    // its chained calls and connect move on (a bus message: their ends come back here)
    crate::connect::notify_over(state, &call).await;
    // a call that never recorded has nothing running (most calls: no query for them)
    let running = if call.recording_ids.is_empty() {
        Vec::new()
    } else {
        let mut conn = state.db.write_conn().await?;
        recording::running_of(&mut conn, id).await?
    };
    for rec in running {
        // the node may not report a recording cut by the hangup; its file ends here anyway
        recording_ended(state, id, rec, 0).await?;
    }
    if !call.activeflow_id.is_nil() {
        let who = match by {
            HangupBy::Local => "local",
            _ => "remote",
        };
        let reason = format!("call hangup: {} by {who}", reason.as_str());
        let uri = format!("/v1/activeflows/{}/stop", call.activeflow_id);
        if let Err(e) = state
            .bus
            .call(
                "flow",
                Method::Post,
                &uri,
                Some(json!({ "reason": reason })),
            )
            .await
        {
            tracing::warn!(call = %id, error = %e, "activeflow not stopped");
        }
    }
    if !call.groupcall_id.is_nil() {
        // its group dials the next destination or ends
        crate::groupcall::call_ended(state, &call).await?;
    }
    Ok(())
}

/// Routes an incoming leg: a number's call flow, or a rejection recorded as a failed call.
async fn inbound(state: &State, leg: Uuid, data: &Value) -> Result<()> {
    if crate::extension::inbound(state, leg, data).await? {
        return Ok(());
    }
    let node_id = str_of(data, "node_id").to_owned();
    let uri = str_of(data, "uri");
    let source = source_of(str_of(data, "from"));
    let now = clock::now();
    let (number, destination) = match target_of(uri) {
        Target::Number(n) if !from_carrier(state, &caller_address(data)).await => (
            Err(Error::permission_denied("source is not a provider")),
            Address::new("tel", n),
        ),
        Target::Number(n) => {
            let found = state
                .bus
                .call(
                    "number",
                    Method::Get,
                    &format!("/v1/numbers/by_number/{}", n.replace('+', "%2B")),
                    None,
                )
                .await;
            (found, Address::new("tel", n))
        }
        Target::Extension(e) => (
            Err(Error::not_found("extension")),
            Address::new("extension", e),
        ),
        Target::Unknown => (
            Err(Error::not_found("destination")),
            Address::new("sip", uri),
        ),
    };
    let mut forbidden = false;
    let (customer, flow) = match number {
        Ok(n) => (
            uuid_of(&n, "customer_id").unwrap_or(Uuid::nil()),
            uuid_of(&n, "call_flow_id").unwrap_or(Uuid::nil()),
        ),
        Err(e) if e.kind == ErrorKind::NotFound => (Uuid::nil(), Uuid::nil()),
        Err(e) if e.kind == ErrorKind::PermissionDenied => {
            forbidden = true;
            (Uuid::nil(), Uuid::nil())
        }
        Err(e) => {
            reject(state, &node_id, leg, 503, "Service Unavailable").await;
            return Err(e);
        }
    };
    let mut call = Call::new(
        leg,
        customer,
        Direction::Incoming,
        Status::Ringing,
        source,
        destination,
        node_id.clone(),
        now,
    );
    call.flow_id = flow;
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut tx, &call).await?;
    tx.event("call_created", leg, &call).await?;
    tx.commit().await?;
    if forbidden {
        // not from a carrier we know: 403, and the call stays on record as failed
        reject(state, &node_id, leg, 403, "Forbidden").await;
        return ended(state, leg, HangupBy::Local, HangupReason::Failed).await;
    }
    if flow.is_nil() {
        // nobody here by that name: 404, and the call stays on record as failed
        reject(state, &node_id, leg, 404, "Not Found").await;
        return ended(state, leg, HangupBy::Local, HangupReason::Failed).await;
    }
    let created = state
        .bus
        .call(
            "flow",
            Method::Post,
            "/v1/activeflows",
            Some(json!({
                "customer_id": customer,
                "flow_id": flow,
                "reference_type": "call",
                "reference_id": leg,
                "variables": call_variables(&call),
            })),
        )
        .await;
    let activeflow = match created.map(|af| uuid_of(&af, "id")) {
        Ok(Some(af)) => af,
        Ok(None) | Err(_) => {
            reject(state, &node_id, leg, 500, "Server Internal Error").await;
            return ended(state, leg, HangupBy::Local, HangupReason::Failed).await;
        }
    };
    let mut conn = state.db.write_conn().await?;
    store::set_flow(&mut conn, leg, flow, activeflow).await?;
    drop(conn);
    arm_health(state, leg).await;
    call.activeflow_id = activeflow;
    let answer = flow_call(state, &call, "execute", json!({})).await?;
    drive(state, &call, answer).await
}

/// The `voipbin.call.*` built-ins seeded into a call's activeflow.
pub fn call_variables(call: &Call) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("voipbin.call.id".into(), json!(call.id.to_string()));
    v.insert(
        "voipbin.call.direction".into(),
        json!(match call.direction {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        }),
    );
    v.insert("voipbin.call.source.type".into(), json!(call.source.kind));
    v.insert(
        "voipbin.call.source.target".into(),
        json!(call.source.target),
    );
    v.insert(
        "voipbin.call.source.target_name".into(),
        json!(call.source.target_name),
    );
    v.insert(
        "voipbin.call.destination.type".into(),
        json!(call.destination.kind),
    );
    v.insert(
        "voipbin.call.destination.target".into(),
        json!(call.destination.target),
    );
    v
}

/// Refuses an incoming leg; a failure is logged (the leg may be gone already).
async fn reject(state: &State, node_id: &str, leg: Uuid, code: u16, reason: &str) {
    let body = json!({"code": code, "reason": reason});
    if let Err(e) = media::command(&state.bus, node_id, leg, "reject", body).await {
        tracing::info!(%leg, error = %e, "reject not delivered");
    }
}

/// The caller's address of a `leg_created` event (behind the edge when it came through one).
fn caller_address(data: &Value) -> String {
    let vias: Vec<&str> = data["via"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    origin(str_of(data, "source"), &vias)
}

/// Whether a leg from `source` may reach a number: loopback when the config allows it, else
/// an address of some provider (their hostnames, resolved now). Lookup failures refuse.
pub(crate) async fn from_carrier(state: &State, source: &str) -> bool {
    if carrier_allowed(source, state.allow_loopback_carriers, &[]) {
        return true;
    }
    match provider_addresses(state).await {
        Ok(carriers) => carrier_allowed(source, false, &carriers),
        Err(e) => {
            tracing::warn!(error = %e, "providers not read; inbound call refused");
            false
        }
    }
}

/// The addresses of every provider's hostname (names that don't resolve are skipped).
async fn provider_addresses(state: &State) -> Result<Vec<std::net::IpAddr>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let uri = format!("/v1/providers?page_size=1000&page_token={token}");
        let page = state.bus.call("route", Method::Get, &uri, None).await?;
        for p in page["result"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let host = provider_host(str_of(p, "hostname"));
            if host.is_empty() {
                continue;
            }
            if let Ok(ip) = host.parse() {
                out.push(ip);
                continue;
            }
            match tokio::net::lookup_host((host, 0)).await {
                Ok(found) => out.extend(found.map(|a| a.ip())),
                Err(e) => tracing::info!(host, error = %e, "provider hostname not resolved"),
            }
        }
        // the token goes back in a query string: escape all but unreserved bytes
        token = str_of(&page, "next_page_token")
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        if token.is_empty() {
            return Ok(out);
        }
    }
}

/// Calls the flow service's engine route `verb` for the call's activeflow.
async fn flow_call(state: &State, call: &Call, verb: &str, body: Value) -> Result<Value> {
    let uri = format!("/v1/activeflows/{}/{verb}", call.activeflow_id);
    state.bus.call("flow", Method::Post, &uri, Some(body)).await
}

/// What running an action came to.
enum Ran {
    /// Finished now, with these result variables.
    Done(Vec<(String, String)>),
    /// Finishes later (an event or a timer).
    Pending,
    /// Cannot run: the activeflow stops with this reason.
    Stop(String),
}

/// Runs the flow's answers for `call` (as read by the caller) until an action has to wait or
/// the flow ends. The row is not read again per action: this call's media events wait behind
/// this run, and each action's `set_action` skips a call that hung up meanwhile.
pub async fn drive(state: &State, call: &Call, mut answer: Value) -> Result<()> {
    if call.is_over() {
        return Ok(());
    }
    loop {
        match str_of(&answer, "result") {
            "execute" => {
                let action = answer.get("action").cloned().unwrap_or(Value::Null);
                let action_id = uuid_of(&action, "id").unwrap_or(Uuid::nil());
                match run_action(state, call, &action).await? {
                    Ran::Done(vars) => {
                        let variables: Map<String, Value> =
                            vars.into_iter().map(|(k, v)| (k, json!(v))).collect();
                        let body = json!({"action_id": action_id, "variables": variables});
                        answer = flow_call(state, call, "next", body).await?;
                    }
                    Ran::Pending => return Ok(()),
                    Ran::Stop(reason) => {
                        let body = json!({ "reason": reason });
                        flow_call(state, call, "stop", body).await?;
                        return hang_up(state, call, HangupReason::Failed).await;
                    }
                }
            }
            "ended" => return hang_up(state, call, HangupReason::Normal).await,
            _ => return Ok(()),
        }
    }
}

/// Starts ending a live call: status terminating/canceling, then the media hangup (its
/// `leg_hangup` ends the record); a call without a leg ends at once.
pub async fn hang_up(state: &State, call: &Call, reason: HangupReason) -> Result<()> {
    if call.is_over() {
        return Ok(());
    }
    let ending = call.status.ending();
    let mut tx = state.outbox.begin().await?;
    if store::set_status(&mut tx, call.id, ending).await? {
        let fresh = store::get(&mut *tx, None, call.id).await?;
        tx.event("call_updated", call.id, &fresh).await?;
    }
    tx.commit().await?;
    let body = json!({"cause": reason.media_cause()});
    match media::command(&state.bus, &call.node_id, call.id, "hangup", body).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || e.reason == "NO_MEDIA" => {
            ended(state, call.id, HangupBy::Local, reason).await
        }
        Err(e) => Err(e),
    }
}

/// Runs one action on the call's leg.
async fn run_action(state: &State, call: &Call, action: &Value) -> Result<Ran> {
    let the_plan = plan(action);
    let op = match the_plan {
        Plan::Operation { .. } | Plan::Timed { .. } | Plan::Connect => voxbin_core::id::new_id(),
        _ => Uuid::nil(),
    };
    // the op id is stored before the node hears of it, so its completion is never missed
    let mut conn = state.db.write_conn().await?;
    let live = store::set_action(&mut conn, call.id, action, op).await?;
    drop(conn);
    if !live {
        return Ok(Ran::Pending);
    }
    let send = |verb: &'static str, body: Value| async move {
        media::command(&state.bus, &call.node_id, call.id, verb, body).await
    };
    let failed = |verb: &str, e: Error| {
        if e.kind == ErrorKind::NotFound {
            // the leg is gone: its leg_hangup ends the call and the flow
            Ok(Ran::Pending)
        } else {
            Ok(Ran::Stop(format!("{verb} failed: {}", e.message)))
        }
    };
    match the_plan {
        Plan::Command {
            verb: "record_start",
            body,
        } => match start_recording(state, call, body).await {
            Ok(_) => Ok(Ran::Done(Vec::new())),
            Err(e) => failed("record_start", e),
        },
        Plan::Command { verb, body } => match send(verb, body).await {
            Ok(_) => Ok(Ran::Done(Vec::new())),
            Err(e) => failed(verb, e),
        },
        Plan::Operation { verb, mut body } => {
            body["op_id"] = json!(op);
            match send(verb, body).await {
                Ok(_) => Ok(Ran::Pending),
                Err(e) => failed(verb, e),
            }
        }
        Plan::Timed { verb, ms, after } => {
            if let Some((v, body)) = verb {
                if let Err(e) = send(v, body).await {
                    return failed(v, e);
                }
            }
            let body =
                json!({"op_id": op, "after": after.map(|(v, b)| json!({"verb": v, "body": b}))});
            let uri = format!("/v1/calls/{}/op_done", call.id);
            state
                .bus
                .delay(
                    SERVICE,
                    Method::Post,
                    &uri,
                    Some(body),
                    Duration::from_millis(ms),
                )
                .await?;
            Ok(Ran::Pending)
        }
        Plan::Hangup(reason) => {
            hang_up(state, call, reason).await?;
            Ok(Ran::Pending)
        }
        Plan::Connect => match crate::connect::start(state, call, action, op).await? {
            Ok(()) => Ok(Ran::Pending),
            Err(why) => Ok(Ran::Stop(why)),
        },
        Plan::Call => match crate::connect::call_action(state, call, action).await? {
            Ok(()) => Ok(Ran::Done(Vec::new())),
            Err(why) => Ok(Ran::Stop(why)),
        },
        Plan::Unsupported(why) => Ok(Ran::Stop(why)),
    }
}

/// The operation `op` of call `id` finished: send `after` (if any), then the flow's `next`
/// with `vars` (once; a stale or repeated completion does nothing).
pub async fn op_done(
    state: &State,
    id: Uuid,
    op: Uuid,
    vars: Vec<(String, String)>,
    after: Option<(String, Value)>,
) -> Result<()> {
    let mut conn = state.db.write_conn().await?;
    let taken = store::take_op(&mut conn, id, op).await?;
    drop(conn);
    if !taken {
        return Ok(());
    }
    let Some(call) = store::get_any(state.db.writer(), id).await? else {
        return Ok(());
    };
    if let Some((verb, body)) = after {
        if let Err(e) = media::command(&state.bus, &call.node_id, id, &verb, body).await {
            tracing::info!(call = %id, %verb, error = %e, "after-action command failed");
        }
    }
    let variables: Map<String, Value> = vars.into_iter().map(|(k, v)| (k, json!(v))).collect();
    let body = json!({"action_id": call.op_action_id, "variables": variables});
    let answer = flow_call(state, &call, "next", body).await?;
    drive(state, &call, answer).await
}

/// Starts recording call `call` with the media node's `record_start` `body`; the recording
/// (whose id is the operation's) is stored and reported with `recording_started`.
pub async fn start_recording(state: &State, call: &Call, mut body: Value) -> Result<Recording> {
    let id = voxbin_core::id::new_id();
    body["op_id"] = json!(id);
    let answer = media::command(&state.bus, &call.node_id, call.id, "record_start", body).await?;
    let now = clock::now();
    let rec = Recording {
        id,
        customer_id: call.customer_id,
        owner_type: String::new(),
        owner_id: Uuid::nil(),
        reference_type: "call".into(),
        reference_id: call.id,
        status: "recording".into(),
        format: "wav".into(),
        activeflow_id: call.activeflow_id,
        on_end_flow_id: Uuid::nil(),
        path: str_of(&answer, "path").to_owned(),
        node_id: call.node_id.clone(),
        duration_ms: 0,
        tm_start: Some(now.clone()),
        tm_end: None,
        tm_create: now.clone(),
        tm_update: Some(now),
        tm_delete: None,
    };
    let mut tx = state.outbox.begin().await?;
    recording::insert(&mut tx, &rec).await?;
    let fresh = store::get_any(&mut *tx, call.id)
        .await?
        .ok_or_else(|| Error::not_found("call"))?;
    let mut all = fresh.recording_ids.clone();
    all.push(id);
    store::set_recordings(&mut tx, call.id, id, &all).await?;
    tx.event("recording_started", id, &rec).await?;
    tx.commit().await?;
    Ok(rec)
}

/// Recording `rec` of call `call` ended: stored as ended (once), taken off the call,
/// reported with `recording_finished`.
async fn recording_ended(state: &State, call: Uuid, rec: Uuid, ms: i64) -> Result<()> {
    let mut tx = state.outbox.begin().await?;
    if !recording::finish(&mut tx, rec, ms).await? {
        return Ok(());
    }
    if let Some(c) = store::get_any(&mut *tx, call).await? {
        if c.recording_id == rec {
            store::set_recordings(&mut tx, call, Uuid::nil(), &c.recording_ids).await?;
        }
    }
    let r = recording::get(&mut *tx, None, rec).await?;
    tx.event("recording_finished", rec, &r).await?;
    tx.commit().await
}

/// Schedules the ring timeout of the dial attempt of outgoing call `id` that just went out;
/// `plan` is what was left after it (stored with the call), so a later attempt's ringing is
/// not cut short by this one's timer.
pub async fn arm_ring_timeout(state: &State, id: Uuid, plan: Option<&str>) {
    let uri = format!("/v1/calls/{id}/ring_timeout");
    let body = json!({ "plan": plan });
    if let Err(e) = state
        .bus
        .delay(SERVICE, Method::Post, &uri, Some(body), state.ring_timeout)
        .await
    {
        tracing::warn!(call = %id, error = %e, "ring timeout not scheduled");
    }
}

/// The ring timeout of an attempt of outgoing call `id` is up: a call still dialing or
/// ringing on that attempt is given up (CANCEL, hangup reason `noanswer`).
pub async fn ring_timeout(state: &State, id: Uuid, plan: Option<String>) -> Result<()> {
    let Some(call) = store::get_any(state.db.writer(), id).await? else {
        return Ok(());
    };
    if call.direction != Direction::Outgoing
        || !matches!(call.status, Status::Dialing | Status::Ringing)
    {
        return Ok(());
    }
    let mut conn = state.db.write_conn().await?;
    let current = store::dial_plan(&mut conn, id).await?;
    drop(conn);
    if current != plan {
        return Ok(());
    }
    tracing::info!(call = %id, after = ?state.ring_timeout, "not answered; giving up");
    hang_up(state, &call, HangupReason::Noanswer).await
}

/// Schedules the next health check of call `id`.
pub async fn arm_health(state: &State, id: Uuid) {
    let uri = format!("/v1/calls/{id}/health");
    if let Err(e) = state
        .bus
        .delay(SERVICE, Method::Post, &uri, None, HEALTH_EVERY)
        .await
    {
        tracing::warn!(call = %id, error = %e, "health check not scheduled");
    }
}

/// Checks a live call: hung up with `timeout` past the maximum duration, ended as `failed`
/// when its leg vanished from its node, else checked again later.
pub async fn health(state: &State, id: Uuid) -> Result<()> {
    let Some(call) = store::get_any(state.db.writer(), id).await? else {
        return Ok(());
    };
    if call.is_over() {
        return Ok(());
    }
    let age = chrono::DateTime::parse_from_rfc3339(&call.tm_create)
        .map(|t| chrono::Utc::now().signed_duration_since(t))
        .ok()
        .and_then(|d| d.to_std().ok())
        .unwrap_or_default();
    if age > MAX_CALL_DURATION {
        return hang_up(state, &call, HangupReason::Timeout).await;
    }
    if !call.node_id.is_empty() {
        match media::leg_exists(&state.bus, &call.node_id, id).await {
            Ok(false) => return ended(state, id, HangupBy::Local, HangupReason::Failed).await,
            Ok(true) => {}
            // nobody serves the node's queue any more: the node and its legs are gone
            Err(e) if e.reason == "SERVICE_UNAVAILABLE" => {
                return ended(state, id, HangupBy::Local, HangupReason::Failed).await
            }
            Err(e) => tracing::info!(call = %id, error = %e, "leg not checked this time"),
        }
    }
    arm_health(state, id).await;
    Ok(())
}
