//! What an event is about: the resource, its owner and the activeflow it belongs to, read from
//! the event's type and data.
//!
//! Events carry the resource as it is now (`<resource>_<verb>` with the resource's public
//! shape as data), so the subject is the type's first word and the data's `id`, owned by the
//! data's `customer_id` (a customer's own events name it by `id`). The websocket hub and the
//! timeline service both route by it.

use serde_json::Value;
use uuid::Uuid;

/// The resource an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Singular resource name: `call`, `flow`, `activeflow`, `agent`, ...
    pub resource: String,
    /// The resource's id.
    pub id: Uuid,
    /// The customer owning the resource.
    pub customer_id: Uuid,
    /// The agent the resource is for: the agent itself, or the data's `owner_id`.
    pub agent_id: Option<Uuid>,
    /// The activeflow the event belongs to: the activeflow itself, or the data's `activeflow_id`.
    pub activeflow_id: Option<Uuid>,
}

impl Subject {
    /// The subject of an event; `None` when the data names no resource id or no owner.
    pub fn of(event_type: &str, data: Option<&Value>) -> Option<Subject> {
        let resource = resource_of(event_type)?;
        let data = data?;
        let id = uuid_field(data, "id")?;
        let customer_id = match uuid_field(data, "customer_id") {
            Some(c) => c,
            None if resource == "customer" => id,
            None => return None,
        };
        let own = |kind: &str, field: &str| match resource == kind {
            true => Some(id),
            false => uuid_field(data, field),
        };
        Some(Subject {
            agent_id: own("agent", "owner_id"),
            activeflow_id: own("activeflow", "activeflow_id"),
            resource: resource.to_owned(),
            id,
            customer_id,
        })
    }
}

/// The resource word of an event type: `activeflow` for `activeflow_updated`, `call` for
/// `call.outbound_whitelist_rejected`; `None` for an empty or malformed type.
pub fn resource_of(event_type: &str) -> Option<&str> {
    let word = event_type.split(['_', '.']).next()?;
    let valid = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then_some(word)
}

/// A non-nil UUID field of a JSON object.
fn uuid_field(data: &Value, field: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(data.get(field)?.as_str()?).ok()?;
    (!id.is_nil()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const C: &str = "01900000-0000-7000-8000-0000000000c1";
    const R: &str = "01900000-0000-7000-8000-0000000000a1";
    const F: &str = "01900000-0000-7000-8000-0000000000f1";
    const NIL: &str = "00000000-0000-0000-0000-000000000000";

    fn uuid(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    #[test]
    fn call_event_names_call_owner_agent_and_activeflow() {
        let data = json!({"id": R, "customer_id": C, "owner_id": F, "activeflow_id": F});
        let s = Subject::of("call_hangup", Some(&data)).unwrap();
        assert_eq!(s.resource, "call");
        assert_eq!((s.id, s.customer_id), (uuid(R), uuid(C)));
        assert_eq!(s.agent_id, Some(uuid(F)));
        assert_eq!(s.activeflow_id, Some(uuid(F)));
    }

    #[test]
    fn an_activeflow_and_an_agent_are_their_own_subjects() {
        let data = json!({"id": R, "customer_id": C, "activeflow_id": NIL, "owner_id": NIL});
        let af = Subject::of("activeflow_updated", Some(&data)).unwrap();
        assert_eq!(af.activeflow_id, Some(uuid(R)));
        assert_eq!(af.agent_id, None, "a nil owner is no owner");
        let agent = Subject::of("agent_status_updated", Some(&data)).unwrap();
        assert_eq!(agent.resource, "agent");
        assert_eq!(agent.agent_id, Some(uuid(R)));
    }

    #[test]
    fn a_customer_owns_itself() {
        let s = Subject::of("customer_created", Some(&json!({"id": C}))).unwrap();
        assert_eq!((s.resource.as_str(), s.customer_id), ("customer", uuid(C)));
    }

    #[test]
    fn events_without_id_or_owner_have_no_subject() {
        assert_eq!(Subject::of("flow_created", None), None);
        assert_eq!(Subject::of("flow_created", Some(&json!({"id": R}))), None);
        assert_eq!(
            Subject::of("flow_created", Some(&json!({"id": 5, "customer_id": C}))),
            None
        );
        assert_eq!(
            Subject::of("", Some(&json!({"id": R, "customer_id": C}))),
            None
        );
        assert_eq!(
            resource_of("call.outbound_whitelist_rejected"),
            Some("call")
        );
        assert_eq!(resource_of("bad-type_x"), None);
    }
}
