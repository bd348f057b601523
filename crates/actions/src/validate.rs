//! Validation of the `actions` of `POST /flows` and `PUT /flows/{id}`.
//!
//! Input is untrusted JSON; output is the normalised list the flow service stores: every action
//! has an id, every option is re-serialised from its typed struct, and every jump lands on an
//! action of the same list or on a reserved id. The first problem found is returned as a 400
//! `INVALID_ACTION` whose message starts with the path of the offending value, e.g.
//! `actions[3].option.duration: invalid type: string "x", expected u64`.

use crate::action::{is_reserved_target, Action, ID_EMPTY};
use crate::option::{join_path, kind, ActionOption};
use crate::types::{ActionType, Handling};
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;
use voxbin_core::Error;

/// The error reason of every validation failure.
pub const REASON_INVALID_ACTION: &str = "INVALID_ACTION";
/// Most actions in one flow, inline `call` actions included.
pub const MAX_ACTIONS: usize = 1000;
/// Deepest nesting of inline `call` actions (a call in a call in a call).
pub const MAX_NESTING: usize = 3;

const ACTION_FIELDS: [&str; 5] = ["id", "next_id", "type", "option", "tm_execute"];

/// Who wrote the actions being validated, which decides the types allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A customer's flow (`POST /flows`, fetched actions): unsupported and internal types are
    /// refused with a 400 naming the action.
    Flow,
    /// A service's pushed stack: internal types (`block`, `empty`) are allowed too.
    Service,
    /// Every type (the option schema checks of this crate's tests).
    #[cfg(test)]
    Any,
}

/// Validates a flow's `actions` array and returns the normalised actions.
///
/// Types the platform cannot run yet ([`Handling::Unsupported`]) and internal types are
/// refused, naming the action and why.
/// Refuses a non-array, more than [`MAX_ACTIONS`] actions, unknown types, bad options,
/// duplicate ids, and jumps (`next_id`, `target_id`, `target_ids`, `default_target_id`,
/// `false_target_id`) to ids that are neither in the list nor reserved (`…0001` start,
/// `…0002` finish, `…0003` next; the nil id as `next_id` means "the next element").
/// Missing ids get a fresh UUID v7; `tm_execute` is dropped (it is set at run time).
pub fn validate_actions(value: &Value) -> Result<Vec<Action>, Error> {
    validate_actions_from(value, Origin::Flow)
}

/// Validates an `actions` array written by `origin` (see [`validate_actions`]).
pub fn validate_actions_from(value: &Value, origin: Origin) -> Result<Vec<Action>, Error> {
    let mut budget = MAX_ACTIONS;
    validate_list(value, "actions", 0, &mut budget, origin)
}

/// Validates one action found at `actions[index]`, without checking where its jumps land.
pub fn validate_action(index: usize, value: &Value) -> Result<Action, Error> {
    let mut budget = MAX_ACTIONS;
    let (action, _) = validate_one(
        value,
        &format!("actions[{index}]"),
        0,
        &mut budget,
        Origin::Flow,
    )?;
    Ok(action)
}

/// Longest error message; longer ones (echoing huge input) are cut.
const MAX_MESSAGE: usize = 512;

fn invalid(path: &str, message: impl std::fmt::Display) -> Error {
    let mut text = format!("{path}: {message}");
    if text.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    Error::invalid_argument(REASON_INVALID_ACTION, text)
}

/// A list of actions at `path`; `budget` counts the actions still allowed in the whole flow.
fn validate_list(
    value: &Value,
    path: &str,
    depth: usize,
    budget: &mut usize,
    origin: Origin,
) -> Result<Vec<Action>, Error> {
    let Value::Array(items) = value else {
        return Err(invalid(
            path,
            format!("expected an array of actions, got {}", kind(value)),
        ));
    };
    if items.len() > *budget {
        return Err(invalid(
            path,
            format!(
                "too many actions ({}); a flow holds at most {MAX_ACTIONS}, inline call actions included",
                items.len()
            ),
        ));
    }
    *budget -= items.len();

    let mut actions = Vec::with_capacity(items.len());
    let mut jumps = Vec::with_capacity(items.len());
    let mut index_of: HashMap<Uuid, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let (action, targets) = validate_one(item, &at, depth, budget, origin)?;
        if let Some(first) = index_of.insert(action.id, i) {
            return Err(invalid(
                &format!("{at}.id"),
                format!(
                    "duplicate action id {} (also {path}[{first}].id)",
                    action.id
                ),
            ));
        }
        actions.push(action);
        jumps.push(targets);
    }

    for (i, (action, targets)) in actions.iter().zip(&jumps).enumerate() {
        let at = format!("{path}[{i}]");
        if action.next_id != ID_EMPTY {
            check_target(&index_of, &format!("{at}.next_id"), action.next_id, origin)?;
        }
        for (field, id) in targets {
            let field = join_path(&format!("{at}.option"), field);
            if id.is_nil() {
                return Err(invalid(&field, "must be an action id, not the nil id"));
            }
            check_target(&index_of, &field, *id, origin)?;
        }
    }
    Ok(actions)
}

/// A jump must land in the list, except in a service's stack, which may jump to actions of
/// the stacks below it (the engine checks those when it jumps).
fn check_target(
    index_of: &HashMap<Uuid, usize>,
    field: &str,
    id: Uuid,
    origin: Origin,
) -> Result<(), Error> {
    if is_reserved_target(id) || index_of.contains_key(&id) || origin == Origin::Service {
        return Ok(());
    }
    Err(invalid(
        field,
        format!("points at no action in this flow: {id}"),
    ))
}

/// One action at `path`; returns it with the jump targets of its option.
fn validate_one(
    value: &Value,
    path: &str,
    depth: usize,
    budget: &mut usize,
    origin: Origin,
) -> Result<(Action, Vec<(String, Uuid)>), Error> {
    let Value::Object(map) = value else {
        return Err(invalid(
            path,
            format!("expected an action object, got {}", kind(value)),
        ));
    };
    if let Some(key) = map.keys().find(|k| !ACTION_FIELDS.contains(&k.as_str())) {
        return Err(invalid(
            &format!("{path}.{key}"),
            "unknown field, expected one of id, next_id, type, option, tm_execute",
        ));
    }

    let r#type = match map.get("type") {
        None | Some(Value::Null) => {
            return Err(invalid(&format!("{path}.type"), "missing required field"))
        }
        Some(Value::String(name)) => ActionType::from_wire(name).ok_or_else(|| {
            invalid(
                &format!("{path}.type"),
                format!("unknown action type {name:?}"),
            )
        })?,
        Some(other) => {
            return Err(invalid(
                &format!("{path}.type"),
                format!("expected a string, got {}", kind(other)),
            ))
        }
    };
    refuse_unsupported(r#type, path, origin)?;

    let id = match uuid_field(map, path, "id")? {
        Some(id) if is_reserved_target(id) => {
            return Err(invalid(
                &format!("{path}.id"),
                format!("{id} is a reserved action id"),
            ))
        }
        Some(id) => id,
        None => voxbin_core::id::new_id(),
    };
    let next_id = uuid_field(map, path, "next_id")?.unwrap_or(ID_EMPTY);
    match map.get("tm_execute") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(other) => {
            return Err(invalid(
                &format!("{path}.tm_execute"),
                format!("expected a string, got {}", kind(other)),
            ))
        }
    }

    let mut option = map
        .get("option")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if r#type == ActionType::Call {
        inline_actions(&mut option, path, depth, budget, origin)?;
    }
    let typed = ActionOption::parse(r#type, &option)
        .map_err(|e| invalid(&join_path(&format!("{path}.option"), &e.field), e.message))?;
    let targets = typed.targets();
    let action = Action {
        id,
        next_id,
        r#type,
        option: typed.to_value(),
        tm_execute: None,
    };
    Ok((action, targets))
}

/// Validates a `call` option's inline `actions` as a flow of their own and puts the
/// normalised list back, so the typed option reads trusted actions.
fn inline_actions(
    option: &mut Value,
    path: &str,
    depth: usize,
    budget: &mut usize,
    origin: Origin,
) -> Result<(), Error> {
    let Value::Object(map) = option else {
        return Ok(()); // the typed parse reports the wrong kind
    };
    let Some(raw) = map.get("actions").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let at = format!("{path}.option.actions");
    if depth + 1 > MAX_NESTING {
        return Err(invalid(
            &at,
            format!("inline call actions nest at most {MAX_NESTING} deep"),
        ));
    }
    let nested = validate_list(raw, &at, depth + 1, budget, origin)?;
    let nested = serde_json::to_value(&nested)
        .map_err(|e| Error::internal(format!("re-serialising inline actions: {e}")))?;
    map.insert("actions".to_string(), nested);
    Ok(())
}

/// Refuses a type `origin` may not use, naming it and why (before its options are read, so
/// the reason is the first thing the author learns).
fn refuse_unsupported(t: ActionType, path: &str, origin: Origin) -> Result<(), Error> {
    let at = format!("{path}.type");
    match (t.handling(), origin) {
        (Handling::Unsupported(why), Origin::Flow | Origin::Service) => Err(invalid(
            &at,
            format!("action type {:?} is not supported: {why}", t.as_str()),
        )),
        (Handling::Internal, Origin::Flow) => Err(invalid(
            &at,
            format!(
                "action type {:?} is internal; only services push it",
                t.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// An optional UUID field of the action; `null`, `""` and the nil UUID read as absent.
fn uuid_field(map: &Map<String, Value>, path: &str, key: &str) -> Result<Option<Uuid>, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => match Uuid::parse_str(s) {
            Ok(id) if id.is_nil() => Ok(None),
            Ok(id) => Ok(Some(id)),
            Err(_) => Err(invalid(
                &format!("{path}.{key}"),
                format!("invalid UUID {s:?}"),
            )),
        },
        Some(other) => Err(invalid(
            &format!("{path}.{key}"),
            format!("expected a UUID string, got {}", kind(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{ID_FINISH, ID_NEXT, ID_START};
    use serde_json::json;
    use std::collections::BTreeSet;
    use voxbin_core::ErrorKind;

    /// The id of the action every example may jump to.
    const T: &str = "550e8400-e29b-41d4-a716-446655440000";

    /// A valid option per type, from the contract's `example:` values where it has them.
    fn examples() -> Vec<(ActionType, Value)> {
        use ActionType as A;
        let flow = "a1b2c3d4-e5f6-7890-1234-567890abcdef";
        let tel = json!({"type": "tel", "target": "+14155551234", "target_name": "John Smith",
                         "name": "Main Office", "detail": "Primary contact number"});
        let transcribe = json!({"language": "en-US", "on_end_flow_id": flow,
                                "provider": "gcp", "direction": "both"});
        vec![
            (
                A::AiTalk,
                json!({"ai_id": "6f7a8b9c-0d1e-2345-f012-345678901234",
                "assistance_type": "ai", "assistance_id": "6f7a8b9c-0d1e-2345-f012-345678901234",
                "duration": 300}),
            ),
            (
                A::AiSummary,
                json!({"on_end_flow_id": flow, "reference_type": "call",
                "reference_id": "f6a7b8c9-d0e1-2345-6789-0abcdef01234", "language": "en-US"}),
            ),
            (A::Amd, json!({"machine_handle": "hangup", "async": false})),
            (A::Answer, json!({})),
            (A::Beep, json!({})),
            (
                A::Branch,
                json!({"variable": "call_digits", "default_target_id": T,
                "target_ids": {"1": T, "2": T}}),
            ),
            (
                A::Call,
                json!({"source": tel, "destinations": [tel], "flow_id": flow,
                "actions": [{"type": "talk", "option": {"text": "hello", "language": "en-US"}}],
                "chained": true, "early_execution": false, "anonymous": "auto"}),
            ),
            (
                A::ConditionCallDigits,
                json!({"length": 10, "key": "#", "false_target_id": T}),
            ),
            (
                A::ConditionCallStatus,
                json!({"status": "progressing", "false_target_id": T}),
            ),
            (
                A::ConditionDatetime,
                json!({"condition": ">=", "minute": 0, "hour": 8, "day": -1,
                "month": 0, "weekdays": [1, 2, 3, 4, 5], "false_target_id": T}),
            ),
            (
                A::ConditionVariable,
                json!({"condition": "==",
                "variable": "${voipbin.call.source.target}", "value_type": "string",
                "value_string": "+821100000001", "false_target_id": T}),
            ),
            (
                A::ConfbridgeJoin,
                json!({"confbridge_id": "0d1e2f3a-4b5c-6789-2345-678901abcdef"}),
            ),
            (
                A::ConferenceJoin,
                json!({"conference_id": "8b9c0d1e-2f3a-4567-0123-456789abcdef"}),
            ),
            (
                A::Connect,
                json!({"source": tel, "destinations": [tel], "early_media": false,
                "relay_reason": true, "anonymous": "auto"}),
            ),
            (
                A::ConversationSend,
                json!({"conversation_id": T,
                "text": "Your verification code is 1234.", "sync": false}),
            ),
            (
                A::DigitsReceive,
                json!({"duration": 10000, "key": "#", "length": 4}),
            ),
            (
                A::DigitsSend,
                json!({"digits": "1234#", "duration": 250, "interval": 0}),
            ),
            (A::Echo, json!({"duration": 30000})),
            (
                A::EmailSend,
                json!({"destinations": [{"type": "email", "target": "ann@example.com"}],
                "subject": "Meeting Recording", "content": "Your recording is attached.",
                "attachments": [{"reference_type": "recording",
                                 "reference_id": "e5f6a7b8-c9d0-1234-5678-90abcdef0123"}]}),
            ),
            (
                A::ExternalMediaStart,
                json!({"external_host": "media.example.com:10000",
                "encapsulation": "audiosocket", "transport": "tcp", "connection_type": "client",
                "format": "slin", "direction": "both", "data": "", "transport_data": ""}),
            ),
            (A::ExternalMediaStop, json!({})),
            (
                A::Fetch,
                json!({"event_url": "https://api.example.com/webhooks/flow-event",
                "event_method": "POST"}),
            ),
            (A::FetchFlow, json!({"flow_id": flow})),
            (A::Goto, json!({"target_id": T, "loop_count": 3})),
            (A::Hangup, json!({"reason": "normal", "reference_id": ""})),
            (
                A::MessageSend,
                json!({"source": tel, "destinations": [tel],
                "text": "Your verification code is 1234."}),
            ),
            (A::Mute, json!({})),
            (
                A::Play,
                json!({"stream_urls": ["https://media.voipbin.net/audio/greeting.wav"]}),
            ),
            (
                A::QueueJoin,
                json!({"queue_id": "1a2b3c4d-5e6f-7890-abcd-ef1234567890"}),
            ),
            (
                A::RecordingStart,
                json!({"format": "wav", "end_of_silence": 5, "end_of_key": "#",
                "duration": 300, "beep_start": true, "on_end_flow_id": ""}),
            ),
            (A::RecordingStop, json!({})),
            (A::Sleep, json!({"duration": 5000})),
            (A::Stop, json!({})),
            (A::StreamEcho, json!({"duration": 30000})),
            (
                A::Talk,
                json!({"text": "Welcome to VoIPBin. How can I help you?", "gender": "female",
                "language": "en-US", "digits_handle": "", "async": false}),
            ),
            (A::TranscribeStart, transcribe.clone()),
            (A::TranscribeStop, json!({})),
            (A::TranscribeRecording, transcribe),
            (
                A::VariableSet,
                json!({"key": "caller_name", "value": "John Smith"}),
            ),
            (
                A::WebhookSend,
                json!({"sync": false, "uri": "https://api.example.com/webhooks",
                "method": "POST", "data_type": "application/json", "data": "{}"}),
            ),
        ]
    }

    /// Validates with every type allowed, to check the option schemas of refused types too.
    fn any(value: &Value) -> Result<Vec<Action>, Error> {
        validate_actions_from(value, Origin::Any)
    }

    #[test]
    fn unsupported_and_internal_types_are_refused_naming_the_action() {
        let m = validate_actions(&json!([{"type": "answer"}, {"type": "queue_join",
            "option": {"queue_id": T}}]))
        .unwrap_err();
        assert_eq!(m.http_status(), 400);
        assert_eq!(
            m.message,
            "actions[1].type: action type \"queue_join\" is not supported: queues are not \
             available in this version yet"
        );
        for &t in ActionType::ALL {
            let refused = validate_actions(&json!([{"type": t.as_str()}])).err();
            if let Handling::Unsupported(_) = t.handling() {
                let e = refused.expect("refused");
                assert!(e.message.contains(t.as_str()), "{}", e.message);
                assert!(e.message.contains("not supported"), "{}", e.message);
            } else if let Some(e) = refused {
                assert!(!e.message.contains("not supported"), "{t}: {}", e.message);
            }
        }
        // The call service cannot detect machines or join confbridges yet: refused at creation.
        for t in ["amd", "confbridge_join"] {
            let e = validate_actions(&json!([{"type": "answer"}, {"type": t}])).unwrap_err();
            assert!(
                e.message.starts_with(&format!(
                    "actions[1].type: action type \"{t}\" is not supported"
                )),
                "{}",
                e.message
            );
        }
        // An inline call's nested actions are held to the same rules.
        let e = validate_actions(&json!([{"type": "call", "option": {
            "destinations": [{"type": "tel", "target": "+1"}],
            "actions": [{"type": "ai_talk", "option": {"ai_id": T}}]}}]))
        .unwrap_err();
        assert!(
            e.message
                .starts_with("actions[0].option.actions[0].type: action type \"ai_talk\""),
            "{}",
            e.message
        );
        // Dialling from a flow: connect and call pass; what they cannot do is refused.
        validate_actions(&json!([{"type": "connect", "option": {
            "destinations": [{"type": "sip", "target": "sip:bob@example.com"}]}},
            {"type": "call", "option": {"destinations": [{"type": "tel", "target": "+15550100"}],
            "actions": [{"type": "talk", "option": {"text": "hi"}}]}}]))
        .unwrap();
        let e = validate_actions(&json!([{"type": "connect", "option": {
            "destinations": [{"type": "agent", "target": T}]}}]))
        .unwrap_err();
        assert!(
            e.message.starts_with(
                "actions[0].option.destinations[0].type: \"agent\" is not dialled from a flow"
            ),
            "{}",
            e.message
        );
        let e = validate_actions(&json!([{"type": "call", "option": {
            "destinations": [{"type": "tel", "target": "+15550100"}], "early_execution": true}}]))
        .unwrap_err();
        assert!(
            e.message.starts_with("actions[0].option.early_execution: "),
            "{}",
            e.message
        );
        // Internal types: never in a flow, fine in a service's stack.
        let e = validate_actions(&json!([{"type": "block"}])).unwrap_err();
        assert!(e.message.contains("internal"), "{}", e.message);
        let pushed = validate_actions_from(
            &json!([{"type": "empty"}, {"type": "block"}]),
            Origin::Service,
        )
        .unwrap();
        assert_eq!(pushed[1].r#type, ActionType::Block);
        // A service's stack may jump into the stacks below it.
        let below = "0190d9a0-0000-7000-8000-000000000001";
        validate_actions_from(
            &json!([{"type": "empty", "next_id": below}]),
            Origin::Service,
        )
        .unwrap();
        assert!(validate_actions(&json!([{"type": "answer", "next_id": below}])).is_err());
        let e =
            validate_actions_from(&json!([{"type": "email_send"}]), Origin::Service).unwrap_err();
        assert!(e.message.contains("not supported"), "{}", e.message);
    }

    #[test]
    fn variable_set_of_a_builtin_is_refused() {
        let e = validate_actions(&json!([{"type": "variable_set",
            "option": {"key": "voipbin.call.digits", "value": "1"}}]))
        .unwrap_err();
        assert_eq!(
            e.message,
            "actions[0].option.key: \"voipbin.call.digits\" is a built-in variable; voipbin.* \
             variables are read-only"
        );
    }

    /// `[answer (id T), <action>]`.
    fn flow_with(action: Value) -> Value {
        json!([{"id": T, "type": "answer"}, action])
    }

    fn message(value: &Value) -> String {
        let e = any(value).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert_eq!(e.reason, REASON_INVALID_ACTION);
        assert_eq!(e.http_status(), 400);
        e.message
    }

    #[test]
    fn every_type_accepts_its_contract_example_and_round_trips() {
        let examples = examples();
        let covered: BTreeSet<_> = examples.iter().map(|(t, _)| *t).collect();
        assert_eq!(covered.len(), ActionType::ALL.len(), "one example per type");

        for (t, option) in examples {
            let input = flow_with(json!({"type": t.as_str(), "option": option}));
            let first = any(&input).unwrap_or_else(|e| panic!("{t}: {}", e.message));
            let action = &first[1];
            assert_eq!(action.r#type, t);
            assert_eq!(action.typed_option().unwrap().action_type(), t);

            // What we store validates again to the same thing.
            let stored = serde_json::to_value(&first).unwrap();
            let second = any(&stored).unwrap();
            assert_eq!(first, second, "{t} round trip");
            // And reads back through the trusting deserialiser unchanged.
            let read: Vec<Action> = serde_json::from_value(stored).unwrap();
            assert_eq!(read, first, "{t} stored form");
        }
    }

    #[test]
    fn contract_examples_keep_their_values() {
        let talk = &any(&json!([{"type": "talk", "option":
            {"text": "hi", "language": "en-US", "gender": "female", "async": false}}]))
        .unwrap()[0];
        assert_eq!(
            talk.option,
            json!({"text": "hi", "language": "en-US", "gender": "female", "async": false})
        );
        assert_eq!(talk.typed_option().unwrap().action_type(), ActionType::Talk);
        assert_eq!(ActionType::Talk.handling(), Handling::Call);
    }

    #[test]
    fn documented_defaults_are_filled_in() {
        let out = any(&json!([
            {"id": T, "type": "answer"},
            {"type": "branch", "option": {"variable": "", "default_target_id": T}},
            {"type": "external_media_start", "option": {"external_host": "h:1",
                "encapsulation": "audiosocket", "transport": "tcp", "format": "slin",
                "connection_type": "", "direction": ""}},
            {"type": "transcribe_start", "option": {"language": "en-US"}},
            {"type": "connect", "option": {"destinations": [{"type": "tel", "target": "+1"}]}},
            {"type": "goto", "option": {"target_id": T}},
        ]))
        .unwrap();
        assert_eq!(out[1].option["variable"], "voipbin.call.digits");
        assert_eq!(
            out[2].option,
            json!({"external_host": "h:1", "encapsulation": "audiosocket", "transport": "tcp",
                   "connection_type": "client", "format": "slin", "direction": "both"})
        );
        assert_eq!(out[3].option["direction"], "both");
        assert_eq!(out[4].option["anonymous"], "auto");
        assert_eq!(out[4].option["early_media"], false);
        assert_eq!(out[5].option["loop_count"], 0);
    }

    #[test]
    fn missing_ids_are_filled_in_and_next_id_defaults_to_nil() {
        let out = any(&json!([
            {"type": "answer"},
            {"id": "", "next_id": "", "type": "beep", "option": null},
            {"id": "00000000-0000-0000-0000-000000000000", "type": "hangup",
             "tm_execute": "2026-01-15T09:30:00.000000Z"},
        ]))
        .unwrap();
        for a in &out {
            assert_eq!(a.id.get_version_num(), 7);
            assert_eq!(a.next_id, ID_EMPTY);
            assert_eq!(a.option, json!({}));
            assert_eq!(a.tm_execute, None);
        }
        assert_ne!(out[0].id, out[1].id);
    }

    #[test]
    fn unknown_type_is_refused_with_its_index() {
        let input = json!([{"type": "answer"}, {"type": "beep"}, {"type": "tlak"}]);
        assert_eq!(
            message(&input),
            r#"actions[2].type: unknown action type "tlak""#
        );
        assert_eq!(
            message(&json!([{"option": {}}])),
            "actions[0].type: missing required field"
        );
        assert_eq!(
            message(&json!([{"type": 7}])),
            "actions[0].type: expected a string, got a number"
        );
    }

    #[test]
    fn wrong_option_type_names_index_and_field() {
        let input = json!([
            {"type": "answer"}, {"type": "beep"}, {"type": "beep"},
            {"type": "sleep", "option": {"duration": "x"}},
        ]);
        assert_eq!(
            message(&input),
            r#"actions[3].option.duration: invalid type: string "x", expected u64"#
        );
        let m = message(&json!([{"type": "echo", "option": {"duration": -5}}]));
        assert!(
            m.starts_with("actions[0].option.duration: invalid value: integer `-5`"),
            "{m}"
        );
        let m = message(&json!([{"type": "amd", "option": {"machine_handle": "hang"}}]));
        assert!(
            m.starts_with("actions[0].option.machine_handle: unknown variant `hang`"),
            "{m}"
        );
        let m = message(&json!([{"type": "connect",
            "option": {"destinations": [{"type": "fax", "target": "+1"}]}}]));
        assert!(
            m.starts_with("actions[0].option.destinations[0].type: unknown variant `fax`"),
            "{m}"
        );
        let m = message(&json!([{"type": "talk", "option": "hello"}]));
        assert_eq!(m, "actions[0].option: expected an object, got a string");
    }

    #[test]
    fn unknown_option_key_is_refused() {
        let m = message(&json!([{"type": "talk", "option": {"text": "hi", "langauge": "en"}}]));
        assert!(
            m.starts_with("actions[0].option.langauge: unknown option key"),
            "{m}"
        );
        let m = message(&json!([{"type": "answer", "option": {"x": 1}}]));
        assert_eq!(
            m,
            "actions[0].option.x: unknown option key; this action takes no options"
        );
        let m = message(&json!([{"type": "connect",
            "option": {"destinations": [{"type": "tel", "target": "+1", "number": "2"}]}}]));
        assert!(
            m.starts_with("actions[0].option.destinations[0].number: unknown option key"),
            "{m}"
        );
        let m = message(&json!([{"type": "answer", "extra": true}]));
        assert!(m.starts_with("actions[0].extra: unknown field"), "{m}");
    }

    #[test]
    fn missing_required_option_is_refused() {
        let cases = [
            (
                json!({"type": "talk"}),
                "actions[0].option.text: missing required field",
            ),
            (
                json!({"type": "talk", "option": {"text": " "}}),
                "actions[0].option.text: must not be empty",
            ),
            (
                json!({"type": "play", "option": {"stream_urls": []}}),
                "actions[0].option.stream_urls: must contain at least one URL",
            ),
            (
                json!({"type": "connect", "option": {}}),
                "actions[0].option.destinations: missing required field",
            ),
            (
                json!({"type": "message_send", "option": {"destinations": []}}),
                "actions[0].option.destinations: must contain at least one destination",
            ),
            (
                json!({"type": "queue_join", "option": {"queue_id": ""}}),
                "actions[0].option.queue_id: must be a UUID or a ${variable}, not empty",
            ),
            (
                json!({"type": "conference_join"}),
                "actions[0].option.conference_id: missing required field",
            ),
            (
                json!({"type": "fetch_flow", "option": {"flow_id": null}}),
                "actions[0].option.flow_id: must be a UUID or a ${variable}, not empty",
            ),
            (
                json!({"type": "goto", "option": {"loop_count": 1}}),
                "actions[0].option.target_id: missing required field",
            ),
            (
                json!({"type": "condition_variable", "option": {"condition": "==",
                "variable": "x", "value_type": "string"}}),
                "actions[0].option.false_target_id: missing required field",
            ),
            (
                json!({"type": "branch", "option": {"variable": "x"}}),
                "actions[0].option.target_ids: branch needs target_ids or a default_target_id",
            ),
            (
                json!({"type": "email_send", "option": {"destinations": [{"type": "email"}],
                "attachments": [{"reference_type": "recording"}]}}),
                "actions[0].option.attachments[0].reference_id: missing required field",
            ),
            (
                json!({"type": "ai_talk", "option": {"duration": 10}}),
                "actions[0].option.assistance_id: missing required field (or ai_id)",
            ),
        ];
        for (action, expected) in cases {
            assert_eq!(message(&json!([action])), expected);
        }
    }

    #[test]
    fn ranges_and_key_sets_are_checked() {
        let cases = [
            (
                json!({"type": "digits_send", "option": {"digits": "12x"}}),
                r#"actions[0].option.digits: invalid DTMF key 'x'; allowed: 0-9, A-D, #, *"#,
            ),
            (
                json!({"type": "digits_send", "option": {"digits": "1", "duration": 50}}),
                "actions[0].option.duration: must be 100 to 1000 ms, got 50",
            ),
            (
                json!({"type": "digits_send", "option": {"digits": "1", "interval": 5001}}),
                "actions[0].option.interval: must be 0 to 5000 ms, got 5001",
            ),
            (
                json!({"type": "digits_receive", "option": {"key": "#e"}}),
                r#"actions[0].option.key: invalid DTMF key 'e'; allowed: 0-9, A-D, #, *"#,
            ),
            (
                json!({"type": "recording_start", "option": {"end_of_key": "5"}}),
                r#"actions[0].option.end_of_key: must be one of none, any, *, #; got "5""#,
            ),
            (
                json!({"type": "condition_datetime", "option": {"condition": "==", "hour": 24,
                "false_target_id": ID_FINISH}}),
                "actions[0].option.hour: must be -1 to 23, got 24",
            ),
            (
                json!({"type": "condition_datetime", "option": {"condition": "==", "weekdays": [7],
                "false_target_id": ID_FINISH}}),
                "actions[0].option.weekdays[0]: must be 0 (Sunday) to 6 (Saturday), got 7",
            ),
        ];
        for (action, expected) in cases {
            assert_eq!(message(&json!([action])), expected);
        }
        let m = message(
            &json!([{"type": "condition_variable", "option": {"condition": "=~",
            "variable": "x", "value_type": "string", "false_target_id": ID_FINISH}}]),
        );
        assert!(
            m.starts_with("actions[0].option.condition: unknown variant `=~`"),
            "{m}"
        );
        let m = message(&json!([{"type": "digits_send", "option": {"digits": "1".repeat(65)}}]));
        assert_eq!(m, "actions[0].option.digits: at most 64 keys");
    }

    #[test]
    fn goto_loop_count_is_bounded() {
        let goto = |n: i64| {
            json!([{"id": T, "type": "answer"},
            {"type": "goto", "option": {"target_id": T, "loop_count": n}}])
        };
        assert!(any(&goto(0)).is_ok());
        assert!(any(&goto(MAX_LOOP as i64)).is_ok());
        assert_eq!(
            message(&goto(MAX_LOOP as i64 + 1)),
            "actions[1].option.loop_count: must be 0 to 100, got 101"
        );
        assert!(message(&goto(-1)).starts_with("actions[1].option.loop_count: invalid value"));
    }
    const MAX_LOOP: u32 = crate::option::MAX_LOOP_COUNT;

    #[test]
    fn dangling_jumps_are_refused() {
        let nowhere = "11111111-2222-3333-4444-555555555555";
        let cases = [
            (
                json!({"type": "goto", "option": {"target_id": nowhere}}),
                "option.target_id",
            ),
            (
                json!({"type": "branch", "option": {"target_ids": {"1": T, "2": nowhere}}}),
                "option.target_ids.2",
            ),
            (
                json!({"type": "branch", "option": {"default_target_id": nowhere}}),
                "option.default_target_id",
            ),
            (
                json!({"type": "condition_call_status",
                "option": {"status": "ringing", "false_target_id": nowhere}}),
                "option.false_target_id",
            ),
            (json!({"type": "beep", "next_id": nowhere}), "next_id"),
        ];
        for (action, field) in cases {
            assert_eq!(
                message(&flow_with(action)),
                format!("actions[1].{field}: points at no action in this flow: {nowhere}")
            );
        }
        let m = message(&flow_with(json!({"type": "branch",
            "option": {"target_ids": {"1": ID_EMPTY}}})));
        assert_eq!(
            m,
            "actions[1].option.target_ids.1: must be an action id, not the nil id"
        );
        let m = message(&json!([{"type": "goto", "option": {"target_id": "nope"}}]));
        assert_eq!(m, r#"actions[0].option.target_id: invalid UUID "nope""#);
    }

    #[test]
    fn jumps_may_land_on_reserved_ids_and_later_actions() {
        let later = "11111111-2222-3333-4444-555555555555";
        let out = any(&json!([
            {"type": "goto", "option": {"target_id": ID_START, "loop_count": 2}},
            {"type": "beep", "next_id": later},
            {"type": "condition_variable", "option": {"condition": "!=", "variable": "${x}",
                "value_type": "length", "value_length": 2, "false_target_id": ID_FINISH}},
            {"type": "branch", "option": {"target_ids": {"1": ID_NEXT}}},
            {"id": later, "type": "hangup"},
        ]))
        .unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out[1].next_id.to_string(), later);
    }

    #[test]
    fn duplicate_and_reserved_ids_are_refused() {
        let input = json!([
            {"id": T, "type": "answer"}, {"type": "beep"}, {"id": T, "type": "hangup"},
        ]);
        assert_eq!(
            message(&input),
            format!("actions[2].id: duplicate action id {T} (also actions[0].id)")
        );
        assert_eq!(
            message(&json!([{"id": ID_FINISH, "type": "answer"}])),
            format!("actions[0].id: {ID_FINISH} is a reserved action id")
        );
        assert_eq!(
            message(&json!([{"id": "x", "type": "answer"}])),
            r#"actions[0].id: invalid UUID "x""#
        );
    }

    #[test]
    fn list_shape_and_size_are_checked() {
        assert_eq!(
            message(&json!({"type": "answer"})),
            "actions: expected an array of actions, got an object"
        );
        assert_eq!(
            message(&json!([1])),
            "actions[0]: expected an action object, got a number"
        );
        assert!(any(&json!([])).unwrap().is_empty());
        let many = Value::Array(vec![json!({"type": "beep"}); MAX_ACTIONS]);
        assert_eq!(any(&many).unwrap().len(), MAX_ACTIONS);
        let too_many = Value::Array(vec![json!({"type": "beep"}); MAX_ACTIONS + 1]);
        assert!(message(&too_many).starts_with("actions: too many actions (1001)"));
    }

    #[test]
    fn inline_call_actions_are_a_flow_of_their_own() {
        let call = |actions: Value| {
            json!([{"type": "call", "option": {
            "destinations": [{"type": "tel", "target": "+1"}], "actions": actions}}])
        };
        let out = any(&call(json!([
            {"id": T, "type": "talk", "option": {"text": "hi"}},
            {"type": "goto", "option": {"target_id": T, "loop_count": 1}},
        ])))
        .unwrap();
        let nested = &out[0].option["actions"];
        assert_eq!(nested[0]["id"], T);
        assert!(nested[1]["id"].as_str().is_some_and(|s| s != T));
        let crate::option::ActionOption::Call(opt) = out[0].typed_option().unwrap() else {
            panic!("not a call option");
        };
        assert_eq!(opt.actions.len(), 2);

        assert_eq!(
            message(&call(json!([{"type": "answer"}, {"type": "tlak"}]))),
            r#"actions[0].option.actions[1].type: unknown action type "tlak""#
        );
        // Targets resolve inside the inline list only.
        let m = message(&json!([
            {"id": T, "type": "answer"},
            {"type": "call", "option": {"destinations": [{"type": "tel"}],
                "actions": [{"type": "goto", "option": {"target_id": T}}]}},
        ]));
        assert_eq!(
            m,
            format!("actions[1].option.actions[0].option.target_id: points at no action in this flow: {T}")
        );
        // Nesting is bounded.
        let mut deep = json!([{"type": "answer"}]);
        for _ in 0..=MAX_NESTING {
            deep = call(deep);
        }
        assert!(message(&deep).contains("inline call actions nest at most 3 deep"));
    }

    #[test]
    fn resource_ids_may_be_variables_but_not_junk() {
        let out = any(&json!([{"type": "fetch_flow",
            "option": {"flow_id": "${next_flow}"}}]))
        .unwrap();
        assert_eq!(out[0].option["flow_id"], "${next_flow}");
        let m = message(&json!([{"type": "queue_join", "option": {"queue_id": "abc"}}]));
        assert_eq!(
            m,
            r#"actions[0].option.queue_id: expected a UUID or a ${variable}, got "abc""#
        );
    }

    #[test]
    fn go_zero_values_read_as_absent() {
        let out = any(&json!([{
            "id": "00000000-0000-0000-0000-000000000000",
            "next_id": "00000000-0000-0000-0000-000000000000",
            "type": "talk",
            "option": {"text": "hi", "language": "", "gender": "", "digits_handle": "",
                       "async": false},
        }, {
            "type": "hangup",
            "option": {"reason": "", "reference_id": "00000000-0000-0000-0000-000000000000"},
        }]))
        .unwrap();
        assert_eq!(out[0].option, json!({"text": "hi", "async": false}));
        assert_eq!(out[1].option, json!({}));
    }

    #[test]
    fn huge_input_is_not_echoed_whole() {
        let name = "é".repeat(10_000);
        let m = message(&json!([{"type": name}]));
        assert!(m.starts_with("actions[0].type: unknown action type"));
        assert!(m.len() <= MAX_MESSAGE + '…'.len_utf8(), "{}", m.len());
    }

    #[test]
    fn single_action_validation_names_its_index() {
        let a = validate_action(4, &json!({"type": "sleep", "option": {"duration": 10}})).unwrap();
        assert_eq!(a.option, json!({"duration": 10}));
        let e = validate_action(4, &json!({"type": "sleep", "option": {"duration": true}}))
            .unwrap_err();
        assert_eq!(
            e.message,
            "actions[4].option.duration: invalid type: boolean `true`, expected u64"
        );
        // Jumps are not resolved without the list.
        assert!(validate_action(
            0,
            &json!({"type": "goto",
            "option": {"target_id": "11111111-2222-3333-4444-555555555555"}})
        )
        .is_ok());
    }

    #[test]
    fn typed_option_errors_name_the_field() {
        let e = ActionOption::from_value(ActionType::Sleep, &json!({"duration": "x"})).unwrap_err();
        assert_eq!(e.reason, REASON_INVALID_ACTION);
        assert_eq!(
            e.message,
            r#"option.duration: invalid type: string "x", expected u64"#
        );
    }

    /// Every property of every `FlowManagerActionOption<Type>` schema in the contract is a key
    /// our option structs know (no "unknown option key" for it).
    #[test]
    fn option_structs_know_every_contract_property() {
        let path = std::env::var("VOXBIN_CONTRACT").unwrap_or_else(|_| {
            format!(
                "{}/../../../shared/contract/voipbin-openapi.yaml",
                env!("CARGO_MANIFEST_DIR")
            )
        });
        let Ok(yaml) = std::fs::read_to_string(&path) else {
            println!("skipped: contract not found at {path}");
            return;
        };
        let mut checked = 0;
        for &t in ActionType::ALL {
            let squashed = t.as_str().replace('_', "");
            let Some(props) = option_schema_properties(&yaml, &squashed) else {
                continue; // the contract has no option schema for this type
            };
            for prop in props {
                let e = ActionOption::parse(t, &json!({ prop.clone(): null }));
                if let Err(e) = e {
                    assert!(
                        !e.message.starts_with("unknown option key"),
                        "{t}.{prop}: {}",
                        e.message
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 80, "only {checked} contract properties found");
    }

    /// Property names of the `FlowManagerActionOption<X>` schema whose lower-cased `X` is
    /// `squashed`, by a line scan of the yaml.
    fn option_schema_properties(yaml: &str, squashed: &str) -> Option<Vec<String>> {
        let lines: Vec<&str> = yaml.lines().collect();
        let start = lines.iter().position(|l| {
            l.strip_prefix("    FlowManagerActionOption")
                .and_then(|rest| rest.strip_suffix(':'))
                .is_some_and(|name| !name.contains(' ') && name.to_lowercase() == squashed)
        })?;
        let mut props = Vec::new();
        let mut in_props = false;
        for line in &lines[start + 1..] {
            if line.starts_with("    ") && !line.starts_with("     ") {
                break;
            }
            if *line == "      properties:" {
                in_props = true;
            } else if line.starts_with("      ") && !line.starts_with("       ") {
                in_props = false;
            } else if in_props && line.starts_with("        ") && !line.starts_with("         ") {
                props.push(line.trim().trim_end_matches(':').to_string());
            }
        }
        Some(props)
    }
}
