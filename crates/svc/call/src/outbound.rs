//! `POST /v1/calls`: one outgoing call per destination, each running the given flow (or a
//! flow made of the given actions) once answered.
//!
//! A `sip` destination is dialled at its URI; a `tel` destination goes out through the
//! customer's dial routes (route service `GET /v1/dialroutes`) in order, with each provider's
//! tech prefix/postfix and headers: when a route fails before answer (no answer, 408, 5xx)
//! the call fails over to the next one. The whole request is checked before any call is
//! placed.

use serde_json::{json, Map, Value};
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::{clock, Error, Result};
use voxbin_svc_kit::body::{invalid, is_e164, Body};

use crate::connect::callerid;
use crate::driver::{arm_health, arm_ring_timeout, call_variables, ended};
use crate::media::{self, Dial};
use crate::model::{Address, Call, Direction, HangupBy, HangupReason, Status};
use crate::{store, State};

/// Most destinations one request may dial.
const MAX_DESTINATIONS: usize = 100;
/// Caller id used when the request gives none.
const ANONYMOUS: &str = "anonymous";

/// Places the calls of a `POST /v1/calls` body for `customer`.
pub async fn create(state: &State, customer: Uuid, data: Option<&Value>) -> Result<Value> {
    let body = Body::new(data)?;
    let source: Address = match data.and_then(|d| d.get("source")) {
        None | Some(Value::Null) => Address::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| invalid("source", format!("is not an address: {e}")))?,
    };
    callerid::check_source(&source, "source")?;
    let hide = callerid::Anonymous::of(data, "anonymous")?.hides(None);
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
            format!("at most {MAX_DESTINATIONS} per request"),
        ));
    }
    let variables = user_variables(data)?;
    let source = callerid::effective_source(state, customer, &source).await?;
    let mut dials = Vec::new();
    let mut agents = Vec::new();
    for (i, d) in destinations.iter().enumerate() {
        if d.kind == "agent" {
            // an agent is rung through a group call of its addresses
            let ring = crate::groupcall::agent::plan(state, customer, &source, d, i).await?;
            agents.push(ring);
            dials.push(Vec::new());
            continue;
        }
        let mut attempts = dials_for(state, customer, &source, d, i).await?;
        if matches!(d.kind.as_str(), "tel" | "sip") {
            for a in &mut attempts {
                callerid::apply(a, &source, hide, d.kind == "tel");
            }
        }
        dials.push(attempts);
    }
    let flow_id = flow_of(state, customer, &body, data).await?;
    let mut calls = Vec::new();
    for (dest, attempts) in destinations.into_iter().zip(dials) {
        if dest.kind == "agent" {
            continue;
        }
        let call = Call::new(
            voxbin_core::id::new_id(),
            customer,
            Direction::Outgoing,
            Status::Dialing,
            source.clone(),
            dest,
            String::new(),
            clock::now(),
        );
        calls.push(start_call(state, call, flow_id, &variables, attempts).await?);
    }
    let mut groupcalls = Vec::new();
    for ring in agents {
        let gc =
            crate::groupcall::agent::start(state, customer, &source, ring, flow_id, &variables)
                .await?;
        groupcalls.push(gc);
    }
    Ok(json!({"calls": calls, "groupcalls": groupcalls}))
}

/// Stores the new outgoing call `call` (`call_created`), starts flow `flow_id` for it with
/// `variables` on top of its built-ins and dials it through `attempts` (a call no media node
/// takes ends as failed); the call as stored then.
pub async fn start_call(
    state: &State,
    mut call: Call,
    flow_id: Uuid,
    variables: &Map<String, Value>,
    attempts: Vec<Dial>,
) -> Result<Call> {
    call.flow_id = flow_id;
    call.kind = "flow".into();
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut tx, &call).await?;
    tx.event("call_created", call.id, &call).await?;
    tx.commit().await?;
    let mut vars = call_variables(&call);
    vars.extend(variables.clone());
    let af = state
        .bus
        .call(
            "flow",
            Method::Post,
            "/v1/activeflows",
            Some(json!({"customer_id": call.customer_id, "flow_id": flow_id,
                        "reference_type": "call", "reference_id": call.id,
                        "variables": vars})),
        )
        .await?;
    let af = af
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Error::internal("the flow service answered an activeflow without id"))?;
    let mut conn = state.db.write_conn().await?;
    store::set_flow(&mut conn, call.id, flow_id, af).await?;
    drop(conn);
    if dial_next(state, call.id, attempts).await? {
        arm_health(state, call.id).await;
    } else {
        ended(state, call.id, HangupBy::Local, HangupReason::Failed).await?;
    }
    store::get(state.db.writer(), None, call.id).await
}

/// Places outgoing call `call` through the first of `attempts` a media node takes; the rest
/// are kept for failover. False when none was taken.
pub async fn dial_next(state: &State, call: Uuid, attempts: Vec<Dial>) -> Result<bool> {
    // a leg a connect bridges must be on its master's node
    let node = crate::connect::pinned_node(state, call).await?;
    dial_on(state, call, node.as_deref(), attempts).await
}

/// Places call `call` on media node `node` (any node when `None`) through the first of
/// `attempts` that is taken, the rest kept for failover, its ring timeout armed; false when
/// none was taken.
pub async fn dial_on(
    state: &State,
    call: Uuid,
    node: Option<&str>,
    attempts: Vec<Dial>,
) -> Result<bool> {
    let mut left = attempts.into_iter();
    while let Some(mut dial) = left.next() {
        dial.id = call;
        // what is left is stored before the INVITE: a fast failure must find it
        let rest: Vec<Dial> = left.clone().collect();
        let plan = if rest.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&rest).map_err(|e| Error::internal(e.to_string()))?)
        };
        let mut conn = state.db.write_conn().await?;
        store::set_dial_plan(&mut conn, call, plan.clone()).await?;
        drop(conn);
        match media::originate_on(&state.bus, node, &dial).await {
            Ok(node) => {
                let mut conn = state.db.write_conn().await?;
                store::set_node(&mut conn, call, &node).await?;
                drop(conn);
                arm_ring_timeout(state, call, plan.as_deref()).await;
                return Ok(true);
            }
            Err(e) => tracing::info!(%call, uri = %dial.uri, error = %e, "originate failed"),
        }
    }
    Ok(false)
}

/// The request's `variables`: strings, no `voipbin.*` keys (those are ignored, as the
/// contract says).
pub(crate) fn user_variables(data: Option<&Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    match data.and_then(|d| d.get("variables")) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if k.starts_with("voipbin.") {
                    continue;
                }
                if !v.is_string() {
                    return Err(invalid(&format!("variables.{k}"), "must be a string"));
                }
                out.insert(k.clone(), v.clone());
            }
        }
        Some(_) => return Err(invalid("variables", "must be an object of strings")),
    }
    Ok(out)
}

/// The flow to run: `flow_id` (checked to be the customer's), else a flow made of `actions`.
pub(crate) async fn flow_of(
    state: &State,
    customer: Uuid,
    body: &Body,
    data: Option<&Value>,
) -> Result<Uuid> {
    if let Some(flow) = body.opt_uuid("flow_id")? {
        let uri = format!("/v1/flows/{flow}?customer_id={customer}");
        return match state.bus.call("flow", Method::Get, &uri, None).await {
            Ok(_) => Ok(flow),
            Err(e) if e.kind == voxbin_core::ErrorKind::NotFound => Err(invalid(
                "flow_id",
                format!("the flow {flow} does not exist"),
            )),
            Err(e) => Err(e),
        };
    }
    let Some(actions) = data.and_then(|d| d.get("actions")).filter(|a| !a.is_null()) else {
        return Err(invalid("flow_id", "flow_id or actions is required"));
    };
    let made = state
        .bus
        .call(
            "flow",
            Method::Post,
            &format!("/v1/flows?customer_id={customer}"),
            Some(
                json!({"name": "outbound call", "detail": "made by POST /calls",
                        "actions": actions}),
            ),
        )
        .await
        .map_err(|e| match e.kind {
            voxbin_core::ErrorKind::InvalidArgument => {
                Error::invalid_argument(&e.reason, format!("actions: {}", e.message))
            }
            _ => e,
        })?;
    made.get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Error::internal("the flow service answered a flow without id"))
}

/// How to dial destination `i` (named in errors as `destinations[i]`): the attempts in
/// order (one per dial route for `tel`).
pub async fn dials_for(
    state: &State,
    customer: Uuid,
    source: &Address,
    dest: &Address,
    i: usize,
) -> Result<Vec<Dial>> {
    let field = format!("destinations[{i}]");
    let from_user = if source.target.is_empty() {
        ANONYMOUS.to_owned()
    } else {
        source.target.trim_start_matches("sip:").to_owned()
    };
    let from_user = from_user.split('@').next().unwrap_or(ANONYMOUS).to_owned();
    let id = voxbin_core::id::new_id();
    match dest.kind.as_str() {
        "sip" => {
            let uri = if dest.target.starts_with("sip:") || dest.target.starts_with("sips:") {
                dest.target.clone()
            } else {
                format!("sip:{}", dest.target)
            };
            if !uri.contains('@') {
                return Err(invalid(&field, "a sip target is user@host"));
            }
            Ok(vec![Dial {
                id,
                from: format!("<sip:{from_user}@voxbin.invalid>"),
                uri,
                proxy: None,
                headers: Vec::new(),
                auth: None,
            }])
        }
        "tel" => {
            if !is_e164(&dest.target) {
                return Err(invalid(&field, "a tel target is an E.164 number"));
            }
            let uri = format!(
                "/v1/dialroutes?customer_id={customer}&target={}",
                dest.target.replace('+', "%2B")
            );
            let routes = state.bus.call("route", Method::Get, &uri, None).await?;
            let routes = routes.as_array().cloned().unwrap_or_default();
            if routes.is_empty() {
                return Err(invalid(&field, "no route reaches this number"));
            }
            routes
                .iter()
                .map(|route| {
                    let p = &route["provider"];
                    let host = p["hostname"].as_str().unwrap_or("");
                    if host.is_empty() {
                        return Err(Error::internal("a route's provider has no hostname"));
                    }
                    let user = format!(
                        "{}{}{}",
                        p["tech_prefix"].as_str().unwrap_or(""),
                        dest.target,
                        p["tech_postfix"].as_str().unwrap_or("")
                    );
                    let headers = p["tech_headers"]
                        .as_object()
                        .map(|h| {
                            h.iter()
                                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok(Dial {
                        id,
                        from: format!("<sip:{from_user}@voxbin.invalid>"),
                        uri: format!("sip:{user}@{host}"),
                        proxy: None,
                        headers,
                        auth: None,
                    })
                })
                .collect()
        }
        "extension" => crate::extension::dials(state, customer, source, dest, &field).await,
        other => Err(invalid(
            &format!("{field}.type"),
            format!("{other:?}: this version dials sip, tel and extension destinations"),
        )),
    }
}
