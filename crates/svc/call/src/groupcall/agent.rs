//! An `agent` destination of `POST /v1/calls`: a group call, owned by the agent, ringing the
//! agent's addresses in the agent's ring method (`ringall` or `linear`); the first address to
//! answer wins and the others are cancelled. The agent is read from agent-manager over the bus.

use serde_json::{Map, Value};
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::{ErrorKind, Result};
use voxbin_svc_kit::body::invalid;

use super::model::{AnswerMethod, Groupcall, RingMethod};
use super::run::{self, Plan};
use crate::media::Dial;
use crate::model::Address;
use crate::{outbound, State};

/// The bus service name of agent-manager.
const AGENT: &str = "agent";

/// An agent destination, checked: whom to ring and how.
pub struct AgentRing {
    /// The agent.
    pub agent: Uuid,
    /// Its addresses.
    pub destinations: Vec<Address>,
    /// Its ring method.
    pub ring_method: RingMethod,
    /// How to dial each address, checked now.
    pub dials: Vec<Vec<Dial>>,
}

/// Checks agent destination `dest` (named `destinations[i]` in errors) of `customer`: the
/// agent exists, has addresses, and each can be dialled from `source`.
pub async fn plan(
    state: &State,
    customer: Uuid,
    source: &Address,
    dest: &Address,
    i: usize,
) -> Result<AgentRing> {
    let field = format!("destinations[{i}]");
    let agent = Uuid::parse_str(dest.target.trim()).map_err(|_| {
        invalid(
            &format!("{field}.target"),
            "an agent target is the agent's id",
        )
    })?;
    let uri = format!("/v1/agents/{agent}?customer_id={customer}");
    let found = match state.bus.call(AGENT, Method::Get, &uri, None).await {
        Ok(a) => a,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(invalid(
                &format!("{field}.target"),
                format!("the agent {agent} does not exist"),
            ))
        }
        Err(e) => return Err(e),
    };
    let ring_method = ring_method_of(found.get("ring_method").and_then(Value::as_str));
    let destinations: Vec<Address> = found
        .get("addresses")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| voxbin_core::Error::internal(format!("agent {agent}'s addresses: {e}")))?
        .unwrap_or_default();
    if destinations.is_empty() {
        return Err(invalid(&field, "the agent has no address to ring"));
    }
    let mut dials = Vec::new();
    for (n, d) in destinations.iter().enumerate() {
        match outbound::dials_for(state, customer, source, d, n).await {
            Ok(a) => dials.push(a),
            Err(e) if e.kind == ErrorKind::InvalidArgument => {
                return Err(invalid(
                    &field,
                    format!("the agent's address {n} cannot be dialled: {}", e.message),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(AgentRing {
        agent,
        destinations,
        ring_method,
        dials,
    })
}

/// The group call ring method of an agent's (`ringall` or `linear`; ringall when unset).
pub fn ring_method_of(agent_ring_method: Option<&str>) -> RingMethod {
    match agent_ring_method {
        Some("linear") => RingMethod::Linear,
        _ => RingMethod::RingAll,
    }
}

/// Starts the group call of agent destination `ring`, its answered call running `flow_id`.
pub async fn start(
    state: &State,
    customer: Uuid,
    source: &Address,
    ring: AgentRing,
    flow_id: Uuid,
    variables: &Map<String, Value>,
) -> Result<Groupcall> {
    let plan = Plan {
        customer,
        owner: Some(("agent".into(), ring.agent)),
        source: source.clone(),
        destinations: ring.destinations,
        ring_method: ring.ring_method,
        answer_method: AnswerMethod::HangupOthers,
        flow_id,
        variables: variables.clone(),
    };
    run::start(state, plan, ring.dials).await
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn an_agent_rings_all_unless_it_rings_linear() {
        assert_eq!(ring_method_of(Some("linear")), RingMethod::Linear);
        assert_eq!(ring_method_of(Some("ringall")), RingMethod::RingAll);
        assert_eq!(ring_method_of(None), RingMethod::RingAll);
    }
}
