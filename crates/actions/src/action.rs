//! One step of a flow: `{id, next_id, type, option, tm_execute}` as in the contract's
//! `FlowManagerAction`, plus the reserved action ids the flow engine understands.

use crate::option::ActionOption;
use crate::types::ActionType;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Reserved id `…0000`: no action (as `next_id`: go on with the next array element).
pub const ID_EMPTY: Uuid = Uuid::nil();
/// Reserved id `…0001`: the first action of the current stack.
pub const ID_START: Uuid = Uuid::from_u128(1);
/// Reserved id `…0002`: finish the flow.
pub const ID_FINISH: Uuid = Uuid::from_u128(2);
/// Reserved id `…0003`: move on to the next action.
pub const ID_NEXT: Uuid = Uuid::from_u128(3);

/// Whether `id` is one of the reserved ids `…0001` (start), `…0002` (finish), `…0003` (next).
pub fn is_reserved_target(id: Uuid) -> bool {
    id == ID_START || id == ID_FINISH || id == ID_NEXT
}

/// A flow action, serialised like the contract's `FlowManagerAction`.
///
/// `option` holds the canonical option object of the action's `type` (re-serialised from its typed
/// struct by validation); it is left out of the JSON when empty, as VoIPBIN does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// The action's id, unique within its list.
    pub id: Uuid,
    /// Where to go after this action; nil means the next array element.
    pub next_id: Uuid,
    /// What the action does.
    pub r#type: ActionType,
    /// The action's options (an object; `{}` when it has none).
    #[serde(skip_serializing_if = "is_empty_object")]
    pub option: Value,
    /// When the action ran (RFC 3339), set on activeflow copies only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tm_execute: Option<String>,
}

fn is_empty_object(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

impl Action {
    /// An action with a fresh id, no `next_id` and the given typed option.
    pub fn new(option: ActionOption) -> Action {
        Action {
            id: voxbin_core::id::new_id(),
            next_id: ID_EMPTY,
            r#type: option.action_type(),
            option: option.to_value(),
            tm_execute: None,
        }
    }

    /// The typed option, parsed from [`Action::option`].
    pub fn typed_option(&self) -> Result<ActionOption, voxbin_core::Error> {
        ActionOption::from_value(self.r#type, &self.option)
    }
}

/// Trusting deserialisation for actions already validated (store, bus); user input goes
/// through [`crate::validate_actions`] instead.
impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            id: Uuid,
            #[serde(default)]
            next_id: Option<Uuid>,
            r#type: ActionType,
            #[serde(default)]
            option: Option<Map<String, Value>>,
            #[serde(default)]
            tm_execute: Option<String>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(Action {
            id: raw.id,
            next_id: raw.next_id.unwrap_or(ID_EMPTY),
            r#type: raw.r#type,
            option: Value::Object(raw.option.unwrap_or_default()),
            tm_execute: raw.tm_execute.filter(|t| !t.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_like_flow_manager_action() {
        let a = Action {
            id: Uuid::from_u128(0x10),
            next_id: ID_EMPTY,
            r#type: ActionType::Answer,
            option: json!({}),
            tm_execute: None,
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({
                "id": "00000000-0000-0000-0000-000000000010",
                "next_id": "00000000-0000-0000-0000-000000000000",
                "type": "answer",
            })
        );
        let b = Action {
            option: json!({"duration": 5}),
            tm_execute: Some("2026-01-15T09:30:00.000000Z".into()),
            r#type: ActionType::Sleep,
            ..a
        };
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(v["option"], json!({"duration": 5}));
        assert_eq!(v["tm_execute"], "2026-01-15T09:30:00.000000Z");
        assert_eq!(serde_json::from_value::<Action>(v).unwrap(), b);
    }

    #[test]
    fn stored_action_defaults_next_id_and_option() {
        let a: Action = serde_json::from_value(json!({
            "id": "00000000-0000-0000-0000-000000000010",
            "type": "beep",
            "option": null,
        }))
        .unwrap();
        assert_eq!(a.next_id, ID_EMPTY);
        assert_eq!(a.option, json!({}));
    }

    #[test]
    fn reserved_ids_are_the_documented_ones() {
        assert_eq!(ID_START.to_string(), "00000000-0000-0000-0000-000000000001");
        assert_eq!(
            ID_FINISH.to_string(),
            "00000000-0000-0000-0000-000000000002"
        );
        assert_eq!(ID_NEXT.to_string(), "00000000-0000-0000-0000-000000000003");
        assert!(!is_reserved_target(ID_EMPTY));
        assert!(is_reserved_target(ID_FINISH));
    }
}
