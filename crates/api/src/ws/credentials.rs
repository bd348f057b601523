//! Keeping a websocket's credential honest while it is open: a connection authenticated once,
//! at the upgrade, so its access key or login token is checked again every
//! [`RECHECK_INTERVAL`], and at once when the hub sees an event that may have revoked it.
//! A connection whose credential no longer holds is closed with 1008.
//!
//! Events: the deletion of the connection's own access key, agent or customer revokes it
//! without asking anybody; any other change of the customer's access keys or agents (an
//! expiry moved, a password changed) asks for a check now, through the same verification as a
//! REST call.

use crate::auth::{Authenticator, Credential, Identity, Via};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;
use voxbin_bus::{BusClient, Event};
use voxbin_core::{ErrorKind, Result};

/// How often an open connection's credential is verified again.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(30);

/// How long one check may take; a check that cannot finish keeps the connection.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What an event means for a connection's credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The credential is gone: close now.
    Revoked,
    /// It may have changed: verify it now.
    Recheck,
}

/// Whether events of `event_type` can touch a credential (the hub looks at no others).
pub fn about_credentials(event_type: &str) -> bool {
    ["customer_", "accesskey_", "agent_"]
        .iter()
        .any(|p| event_type.starts_with(p))
}

/// What `event` means for a connection of `customer` authenticated `via`; `None` when nothing.
pub fn effect(event: &Event, customer: Uuid, via: &Via) -> Option<Effect> {
    let data = event.data.as_ref()?;
    let uuid = |field: &str| {
        data.get(field)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let kind = event.event_type.as_str();
    if kind.starts_with("customer_") {
        return match (uuid("id") == Some(customer), kind) {
            (true, "customer_deleted") => Some(Effect::Revoked),
            _ => None,
        };
    }
    let (resource, verb) = kind.split_once('_')?;
    if (resource != "accesskey" && resource != "agent") || uuid("customer_id") != Some(customer) {
        return None;
    }
    let own = match via {
        Via::AccessKey { id } => resource == "accesskey" && uuid("id") == Some(*id),
        Via::Token { agent_id } => resource == "agent" && uuid("id") == Some(*agent_id),
    };
    match (own, verb) {
        (_, "created") => None,
        (true, "deleted") => Some(Effect::Revoked),
        _ => Some(Effect::Recheck),
    }
}

/// Verifies one connection's credential again.
#[derive(Clone)]
pub struct Checker {
    /// The verifier REST calls use.
    pub auth: Authenticator,
    /// Where verifications are asked.
    pub bus: BusClient,
    /// The credential the connection presented.
    pub credential: Credential,
}

impl Checker {
    /// `false` when the credential no longer identifies `who`'s customer (deleted, expired,
    /// revoked); `true` when it still does or the check could not tell (a verifier that is
    /// down must not drop every client).
    pub async fn still_valid(&self, who: &Identity) -> bool {
        let checked: Result<Identity> = match tokio::time::timeout(
            CHECK_TIMEOUT,
            self.auth.identify(&self.bus, &self.credential),
        )
        .await
        {
            Ok(checked) => checked,
            Err(_) => return true,
        };
        match checked {
            Ok(now) => now.customer_id == who.customer_id,
            Err(e) => e.kind != ErrorKind::Unauthenticated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const C: Uuid = Uuid::from_u128(0xc1);
    const D: Uuid = Uuid::from_u128(0xd1);
    const KEY: Uuid = Uuid::from_u128(0x41);
    const AGENT: Uuid = Uuid::from_u128(0xa1);

    fn ev(kind: &str, data: Value) -> Event {
        Event::new(kind, "customer-manager", data)
    }

    #[test]
    fn own_key_agent_or_customer_deleted_revokes() {
        let key = Via::AccessKey { id: KEY };
        let agent = Via::Token { agent_id: AGENT };
        let gone_key = ev("accesskey_deleted", json!({"id": KEY, "customer_id": C}));
        let gone_agent = ev("agent_deleted", json!({"id": AGENT, "customer_id": C}));
        let gone_customer = ev("customer_deleted", json!({"id": C}));
        assert_eq!(effect(&gone_key, C, &key), Some(Effect::Revoked));
        assert_eq!(effect(&gone_agent, C, &agent), Some(Effect::Revoked));
        assert_eq!(effect(&gone_customer, C, &key), Some(Effect::Revoked));
        assert_eq!(effect(&gone_customer, C, &agent), Some(Effect::Revoked));
        // Another key or agent of the customer going away is only worth a check.
        assert_eq!(effect(&gone_key, C, &agent), Some(Effect::Recheck));
        assert_eq!(effect(&gone_agent, C, &key), Some(Effect::Recheck));
    }

    #[test]
    fn changes_ask_for_a_check_and_others_customers_do_nothing() {
        let key = Via::AccessKey { id: KEY };
        let updated = ev("accesskey_updated", json!({"id": KEY, "customer_id": C}));
        assert_eq!(effect(&updated, C, &key), Some(Effect::Recheck));
        let password = ev("agent_updated", json!({"id": AGENT, "customer_id": C}));
        assert_eq!(effect(&password, C, &key), Some(Effect::Recheck));
        let created = ev("accesskey_created", json!({"id": KEY, "customer_id": C}));
        assert_eq!(effect(&created, C, &key), None);
        let theirs = ev("accesskey_deleted", json!({"id": KEY, "customer_id": D}));
        assert_eq!(effect(&theirs, C, &key), None);
        assert_eq!(
            effect(&ev("customer_deleted", json!({"id": D})), C, &key),
            None
        );
        assert_eq!(
            effect(&ev("customer_updated", json!({"id": C})), C, &key),
            None
        );
        let call = ev("call_hangup", json!({"id": KEY, "customer_id": C}));
        assert_eq!(effect(&call, C, &key), None);
        assert_eq!(effect(&ev("accesskey_deleted", Value::Null), C, &key), None);
    }
}
