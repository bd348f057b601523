//! Issue 6: every action type of the contract either runs or is refused when a flow is created.
//!
//! Walks the `type` enum of the contract's `FlowManagerAction` (loaded the way the contract
//! crate finds it) and holds each name to [`SUPPORTED`]: a supported type must pass validation
//! in a flow and inline in a `call` action; any other must be refused with a 400 that names it,
//! in both places. `docs/flow-actions.md` is the table of the same split.

use crate::types::{ActionType, Handling};
use crate::validate::{validate_actions, REASON_INVALID_ACTION};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use voxbin_core::ErrorKind;

/// The types a customer's flow may hold, each with an option that runs as is.
const SUPPORTED: &[&str] = &[
    "answer",
    "beep",
    "branch",
    "call",
    "condition_call_digits",
    "condition_call_status",
    "condition_datetime",
    "condition_variable",
    "connect",
    "digits_receive",
    "digits_send",
    "echo",
    "external_media_start",
    "external_media_stop",
    "fetch",
    "fetch_flow",
    "goto",
    "hangup",
    "mute",
    "play",
    "recording_start",
    "recording_stop",
    "sleep",
    "stop",
    "stream_echo",
    "talk",
    "variable_set",
    "webhook_send",
];

/// The action every jump of [`runnable_option`] lands on.
const FIRST: &str = "0190a000-0000-7000-8000-0000000000f1";

/// A small option each supported type runs with.
fn runnable_option(name: &str) -> Value {
    let tel = json!([{"type": "tel", "target": "+15550100"}]);
    match name {
        "branch" => json!({"target_ids": {"1": FIRST}}),
        "call" => json!({"destinations": tel, "actions": [{"type": "talk",
                         "option": {"text": "hello"}}]}),
        "condition_call_digits" => json!({"length": 1, "false_target_id": FIRST}),
        "condition_call_status" => json!({"status": "progressing", "false_target_id": FIRST}),
        "condition_datetime" => json!({"condition": ">=", "hour": 8, "false_target_id": FIRST}),
        "condition_variable" => json!({"condition": "==", "variable": "${x}",
                                       "value_type": "string", "value_string": "1",
                                       "false_target_id": FIRST}),
        "connect" => json!({"destinations": tel}),
        "digits_send" => json!({"digits": "12#"}),
        "external_media_start" => json!({"external_host": "10.0.0.9:9000",
                                         "encapsulation": "audiosocket", "transport": "tcp",
                                         "format": "slin"}),
        "fetch" => json!({"event_url": "https://example.com/actions"}),
        "fetch_flow" => json!({"flow_id": FIRST}),
        "goto" => json!({"target_id": FIRST, "loop_count": 1}),
        "play" => json!({"stream_urls": ["https://example.com/a.wav"]}),
        "recording_start" => json!({"format": "wav", "duration": 10}),
        "sleep" => json!({"duration": 100}),
        "talk" => json!({"text": "hello", "language": "en-US"}),
        "variable_set" => json!({"key": "x", "value": "1"}),
        "webhook_send" => json!({"uri": "https://example.com/hook"}),
        _ => json!({}),
    }
}

/// The names of the contract's `FlowManagerActionType` enum, checked to be what
/// `FlowManagerAction.type` refers to.
fn contract_action_types() -> BTreeSet<String> {
    let contract = voxbin_contract::Contract::shared()
        .unwrap_or_else(|e| panic!("the contract is needed for this test: {e}"));
    let action = contract
        .component_json_schema("FlowManagerAction")
        .expect("the contract has FlowManagerAction");
    let type_ref = action["properties"]["type"].to_string();
    assert!(
        type_ref.contains("FlowManagerActionType"),
        "FlowManagerAction.type is {type_ref}"
    );
    let schema = contract
        .component_json_schema("FlowManagerActionType")
        .expect("the contract has FlowManagerActionType");
    let names: BTreeSet<String> = schema["enum"]
        .as_array()
        .expect("FlowManagerActionType has an enum")
        .iter()
        .map(|v| v.as_str().expect("enum items are strings").to_string())
        .collect();
    assert!(names.len() >= 40, "only {} action types", names.len());
    names
}

/// `[answer, <action>]` as a flow, and the same action inline in a `call` action (the
/// inline actions of `POST /calls` are stored as a flow through the same check).
fn placements(name: &str, option: &Value) -> [(Value, String); 2] {
    let action = json!({"type": name, "option": option});
    [
        (
            json!([{"id": FIRST, "type": "answer"}, action]),
            "actions[1].type".to_string(),
        ),
        (
            json!([{"type": "call", "option": {
                "destinations": [{"type": "tel", "target": "+15550100"}],
                "actions": [{"id": FIRST, "type": "answer"}, action]}}]),
            "actions[0].option.actions[1].type".to_string(),
        ),
    ]
}

#[test]
fn every_contract_action_type_runs_or_is_refused_naming_it() {
    let contract = contract_action_types();
    for name in SUPPORTED {
        assert!(contract.contains(*name), "{name} is not a contract type");
    }
    for name in &contract {
        let t = ActionType::from_wire(name)
            .unwrap_or_else(|| panic!("contract type {name:?} is unknown here"));
        let option = runnable_option(name);
        for (flow, type_path) in placements(name, &option) {
            let result = validate_actions(&flow);
            if SUPPORTED.contains(&name.as_str()) {
                assert!(
                    matches!(t.handling(), Handling::Control | Handling::Call),
                    "{name} is supported but handled as {:?}",
                    t.handling()
                );
                if let Err(e) = result {
                    panic!("{name} is supported but refused: {}", e.message);
                }
            } else {
                let e = result.expect_err(name);
                assert_eq!(e.kind, ErrorKind::InvalidArgument, "{name}");
                assert_eq!(e.http_status(), 400, "{name}");
                assert_eq!(e.reason, REASON_INVALID_ACTION, "{name}");
                let head = format!("{type_path}: action type {name:?} is not supported: ");
                assert!(e.message.starts_with(&head), "{name}: {}", e.message);
                assert!(
                    e.message.len() > head.len(),
                    "{name} is refused without a reason"
                );
            }
        }
    }
}

/// Each option value the call service cannot honour is refused at creation, naming the action
/// and the field, instead of stopping (or silently doing something else) when the flow runs.
#[test]
fn options_the_call_service_cannot_honour_are_refused_at_creation() {
    let cases = [
        (
            "external_media_start",
            json!({"external_host": "h:1"}),
            "encapsulation",
            "external_media_start with encapsulation \"rtp\" is not supported in this version: \
          set encapsulation audiosocket, transport tcp, connection_type client, format slin",
        ),
        (
            "external_media_start",
            json!({"external_host": "h:1", "encapsulation": "audiosocket",
         "transport": "udp"}),
            "transport",
            "transport \"udp\"",
        ),
        (
            "external_media_start",
            json!({"external_host": "h:1", "encapsulation": "audiosocket",
         "transport": "tcp", "connection_type": "server"}),
            "connection_type",
            "connection_type \"server\"",
        ),
        (
            "external_media_start",
            json!({"external_host": "h:1", "encapsulation": "audiosocket",
         "transport": "tcp", "format": "ulaw"}),
            "format",
            "format \"ulaw\"",
        ),
        (
            "external_media_start",
            json!({"external_host": "h:1", "encapsulation": "audiosocket",
         "transport": "tcp", "format": "slin", "direction": "in"}),
            "direction",
            "external_media_start with direction is not supported",
        ),
        (
            "external_media_start",
            json!({"external_host": "h:1", "encapsulation": "audiosocket",
         "transport": "tcp", "format": "slin", "transport_data": "x"}),
            "transport_data",
            "external_media_start with transport_data is not supported",
        ),
        (
            "talk",
            json!({"text": "hi", "async": true}),
            "async",
            "talk with async",
        ),
        (
            "talk",
            json!({"text": "hi", "digits_handle": "next"}),
            "digits_handle",
            "talk with digits_handle",
        ),
        (
            "talk",
            json!({"text": "hi", "provider": "gcp"}),
            "provider",
            "talk with provider",
        ),
        (
            "talk",
            json!({"text": "hi", "voice_id": "en-US-Wavenet-D"}),
            "voice_id",
            "talk with voice_id",
        ),
        (
            "recording_start",
            json!({"format": "mp3"}),
            "format",
            "recording_start with format",
        ),
        (
            "recording_start",
            json!({"on_end_flow_id": FIRST}),
            "on_end_flow_id",
            "recording_start with on_end_flow_id",
        ),
        (
            "recording_start",
            json!({"end_of_key": "any"}),
            "end_of_key",
            "recording_start with end_of_key \"any\"",
        ),
        (
            "hangup",
            json!({"reference_id": FIRST}),
            "reference_id",
            "hangup with reference_id",
        ),
        (
            "digits_send",
            json!({"digits": "1", "interval": 500}),
            "interval",
            "digits_send with interval",
        ),
        (
            "play",
            json!({"stream_urls": ["/var/lib/voxbin/recordings/x.wav"]}),
            "stream_urls[0]",
            "play takes http:// or https:// URLs",
        ),
    ];
    for (name, option, field, words) in cases {
        for (flow, type_path) in placements(name, &option) {
            let e = validate_actions(&flow).expect_err(name);
            assert_eq!(e.http_status(), 400);
            let at = type_path.replace(".type", &format!(".option.{field}: "));
            assert!(e.message.starts_with(&at), "{name}: {}", e.message);
            assert!(e.message.contains(words), "{name}: {}", e.message);
        }
    }
    // Names are exact, as the call service compares them.
    let odd_case = json!([{"type": "external_media_start", "option": {"external_host": "h:1",
        "encapsulation": "AudioSocket", "transport": "tcp", "format": "slin"}}]);
    assert!(validate_actions(&odd_case).is_err());
    // The words of the call service's run-time refusal, kept for flows stored before this check.
    assert_eq!(
        crate::option::external_media_refusal("format", "ulaw"),
        "external_media_start with format \"ulaw\" is not supported in this version: set \
         encapsulation audiosocket, transport tcp, connection_type client, format slin"
    );
    // What runs stays accepted.
    let ok = json!([{"type": "play", "option": {"stream_urls": ["HTTPS://example.com/a.wav"]}},
        {"type": "digits_send", "option": {"digits": "1".repeat(64), "interval": 0}},
        {"type": "recording_start", "option": {"format": "wav", "end_of_key": "#"}}]);
    validate_actions(&ok).unwrap_or_else(|e| panic!("{}", e.message));
}
