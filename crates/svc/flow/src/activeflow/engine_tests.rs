//! The engine core alone: every control action, stacks, jumps, loop_count, variables and the
//! budgets, fed with inputs and a fixed clock, no database and no sockets.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_actions::{validate_actions_from, Action, ActionType, Origin, ID_FINISH, ID_START};
use voxbin_core::ErrorKind;

use super::engine::{Effect, Engine, Input, Limits, Outcome, Poll, Reply, Request};
use super::http::HttpResponse;
use super::model::{Activeflow, ActiveflowStatus, ReferenceType, MAIN_STACK_ID};
use super::variables::{Lookup, Variables};
use crate::flow::model::{Flow, FlowType};

/// Action ids used by the stories: `a(1)`, `a(2)`, ...
fn a(n: u128) -> Uuid {
    Uuid::from_u128(0x1000 + n)
}

fn s(n: u128) -> String {
    a(n).to_string()
}

/// Wednesday 2026-01-14 09:10:00 UTC.
fn wednesday_0910() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 14, 9, 10, 0).unwrap()
}

const LIMITS: Limits = Limits {
    max_actions_per_run: 1000,
    max_actions_total: 100_000,
};

/// A run under test: the activeflow, its variables and the clock.
struct Run {
    af: Activeflow,
    vars: Variables,
    now: DateTime<Utc>,
    limits: Limits,
    effects: Vec<Effect>,
}

impl Run {
    fn new(actions: Value) -> Run {
        Run::on(actions, ReferenceType::Call)
    }

    fn on(actions: Value, reference: ReferenceType) -> Run {
        let flow = Flow {
            id: Uuid::from_u128(0xf10),
            customer_id: Uuid::from_u128(0xc05),
            r#type: FlowType::Flow,
            name: "test".into(),
            detail: String::new(),
            actions: validate_actions_from(&actions, Origin::Service).unwrap(),
            direct_hash: String::new(),
            on_complete_flow_id: Uuid::nil(),
            tm_create: String::new(),
            tm_update: None,
            tm_delete: None,
            version: 0,
        };
        let af = Activeflow::start(
            flow.customer_id,
            &flow,
            reference,
            Uuid::from_u128(0xca11),
            "2026-01-14T09:00:00.000000Z",
        );
        Run {
            af,
            vars: Variables::default(),
            now: wednesday_0910(),
            limits: LIMITS,
            effects: Vec::new(),
        }
    }

    fn poll(&mut self, input: Input) -> Result<Poll, voxbin_core::Error> {
        let mut engine = Engine::new(&mut self.af, &mut self.vars, self.limits, self.now);
        let poll = engine.handle(input);
        self.effects.extend(engine.take_effects());
        poll
    }

    fn resume(&mut self, input: Input, reply: Reply) -> Outcome {
        let mut engine = Engine::new(&mut self.af, &mut self.vars, self.limits, self.now);
        let first = engine.handle(input).unwrap();
        assert!(matches!(first, Poll::Io(_)), "{first:?}");
        let poll = engine.resume(reply).unwrap();
        self.effects.extend(engine.take_effects());
        match poll {
            Poll::Done(outcome) => outcome,
            Poll::Io(request) => panic!("unexpected I/O {request:?}"),
        }
    }

    fn step(&mut self, input: Input) -> Outcome {
        match self.poll(input).unwrap() {
            Poll::Done(outcome) => outcome,
            Poll::Io(request) => panic!("unexpected I/O {request:?}"),
        }
    }

    fn start(&mut self) -> Outcome {
        self.step(Input::Execute)
    }

    /// Finishes the current action with `variables`.
    fn next_with(&mut self, variables: &[(&str, &str)]) -> Outcome {
        let action_id = self.current_id();
        let variables = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.step(Input::Next {
            action_id,
            variables,
        })
    }

    fn next(&mut self) -> Outcome {
        self.next_with(&[])
    }

    fn current_id(&self) -> Uuid {
        self.af.current_action["id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .unwrap()
    }

    /// Runs to the end, answering every call action; the call actions' ids in order.
    fn ids_to_end(&mut self) -> Vec<Uuid> {
        let mut seen = Vec::new();
        let mut outcome = self.start();
        while let Outcome::Execute(action) = outcome {
            seen.push(action.id);
            assert!(seen.len() < 1000, "does not end");
            outcome = self.next();
        }
        assert!(matches!(outcome, Outcome::Ended { .. }), "{outcome:?}");
        seen
    }
}

fn executed(outcome: &Outcome) -> &Action {
    match outcome {
        Outcome::Execute(action) => action,
        other => panic!("expected an action to execute, got {other:?}"),
    }
}

fn ended(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Ended { reason } => reason,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn talk(id: u128, text: &str) -> Value {
    json!({"id": s(id), "type": "talk", "option": {"text": text}})
}

#[test]
fn a_flow_runs_its_call_actions_in_order_then_finishes() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "answer"},
        talk(2, "hello"),
        {"id": s(3), "type": "hangup"},
    ]));
    let first = run.start();
    assert_eq!(executed(&first).id, a(1));
    assert_eq!(
        executed(&first).tm_execute.as_deref(),
        Some("2026-01-14T09:10:00.000000Z")
    );
    // Asking again while the call service runs it returns the same action.
    assert_eq!(run.start(), first);
    let err = run
        .poll(Input::Next {
            action_id: a(3),
            variables: BTreeMap::new(),
        })
        .unwrap_err();
    assert_eq!(err.reason, "STALE_ACTION");
    assert_eq!(executed(&run.next()).id, a(2));
    assert_eq!(executed(&run.next()).id, a(3));
    assert_eq!(ended(&run.next()), "the flow finished");
    assert_eq!(run.af.status, ActiveflowStatus::Ended);
    assert_eq!(run.af.execute_count, 3);
    assert_eq!(run.af.executed_actions.len(), 3);
    let err = run.poll(Input::Execute).unwrap_err();
    assert_eq!(err.reason, "ACTIVEFLOW_ENDED");
    assert_eq!(err.kind, ErrorKind::FailedPrecondition);
    // Stopping an ended flow changes nothing and keeps the first reason.
    assert_eq!(
        ended(&run.step(Input::Stop {
            reason: "late".into()
        })),
        "the flow finished"
    );
}

#[test]
fn next_id_and_reserved_ids_move_the_cursor() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "answer", "next_id": s(3)},
        talk(2, "skipped"),
        {"id": s(3), "type": "empty", "next_id": ID_START},
    ]));
    // answer -> (3) empty -> start -> answer again.
    assert_eq!(run.ids_to_end_limited(3), vec![a(1), a(1), a(1)]);

    let mut run = Run::new(json!([
        {"id": s(1), "type": "answer", "next_id": ID_FINISH},
        talk(2, "never"),
    ]));
    assert_eq!(run.ids_to_end(), vec![a(1)]);
}

impl Run {
    /// Like `ids_to_end` but stops after `n` call actions (for flows that loop forever).
    fn ids_to_end_limited(&mut self, n: usize) -> Vec<Uuid> {
        let mut seen = vec![executed(&self.start()).id];
        while seen.len() < n {
            seen.push(executed(&self.next()).id);
        }
        seen
    }
}

#[test]
fn goto_jumps_loop_count_times_then_falls_through() {
    let mut run = Run::new(json!([
        talk(1, "again"),
        {"id": s(2), "type": "goto", "option": {"target_id": s(1), "loop_count": 2}},
        {"id": s(3), "type": "hangup"},
    ]));
    assert_eq!(run.ids_to_end(), vec![a(1), a(1), a(1), a(3)]);
    let stored = &run.af.stack_map[&MAIN_STACK_ID].actions[1];
    assert_eq!(
        stored.option["loop_count"], 0,
        "the stored copy counted down"
    );

    let mut run = Run::new(json!([
        talk(1, "once"),
        {"id": s(2), "type": "goto", "option": {"target_id": s(1), "loop_count": 0}},
        {"id": s(3), "type": "hangup"},
    ]));
    assert_eq!(run.ids_to_end(), vec![a(1), a(3)]);
}

#[test]
fn branch_follows_the_value_or_the_default_and_consumes_the_variable() {
    let flow = json!([
        {"id": s(1), "type": "digits_receive", "option": {"length": 1}},
        {"id": s(2), "type": "branch", "option": {
            "target_ids": {"1": s(10), "2": s(20)}, "default_target_id": s(30)}},
        talk(10, "sales"),
        {"id": s(11), "type": "hangup", "next_id": ID_FINISH},
        talk(20, "support"),
        {"id": s(21), "type": "hangup", "next_id": ID_FINISH},
        talk(30, "sorry"),
        {"id": s(31), "type": "goto", "option": {"target_id": s(1), "loop_count": 3}},
    ]);
    for (digit, first) in [("1", a(10)), ("2", a(20)), ("9", a(30))] {
        let mut run = Run::new(flow.clone());
        assert_eq!(executed(&run.start()).id, a(1));
        let got = run.next_with(&[("voipbin.call.digits", digit)]);
        assert_eq!(executed(&got).id, first, "digit {digit}");
        assert_eq!(run.vars.get("voipbin.call.digits"), None, "consumed");
    }
    // No match and no default: on to the next action.
    let mut run = Run::new(json!([
        {"id": s(1), "type": "branch", "option": {"variable": "choice", "target_ids": {"x": s(3)}}},
        talk(2, "fallthrough"),
        talk(3, "x"),
    ]));
    run.vars.set_user("choice", "y").unwrap();
    assert_eq!(executed(&run.start()).id, a(2));
}

#[test]
fn condition_variable_compares_strings_numbers_and_lengths() {
    let case = |condition: &str, value_type: &str, operand: Value, value: &str| -> bool {
        let mut option = json!({"condition": condition, "variable": "${x}",
            "value_type": value_type, "false_target_id": s(3)});
        let key = format!("value_{value_type}");
        option[key.as_str()] = operand;
        let mut run = Run::new(json!([
            {"id": s(1), "type": "condition_variable", "option": option},
            talk(2, "true"),
            talk(3, "false"),
        ]));
        run.vars.set_user("x", value).unwrap();
        executed(&run.start()).id == a(2)
    };
    assert!(case("==", "string", json!("gold"), "gold"));
    assert!(!case("==", "string", json!("gold"), "silver"));
    assert!(case("!=", "string", json!("gold"), "silver"));
    assert!(case(">", "number", json!(10), "10.5"));
    assert!(!case(">", "number", json!(10), "9"));
    assert!(!case("<", "number", json!(10), "not a number"));
    assert!(case("<=", "number", json!(10), " 10 "));
    assert!(case(">=", "length", json!(4), "1234"));
    assert!(!case(">=", "length", json!(4), "123"));
    assert!(case("<", "length", json!(1), ""), "unknown reads as empty");
}

#[test]
fn condition_datetime_reads_the_injected_clock() {
    let case = |option: Value, now: DateTime<Utc>| -> bool {
        let mut option = option;
        option["false_target_id"] = json!(s(3));
        let mut run = Run::new(json!([
            {"id": s(1), "type": "condition_datetime", "option": option},
            talk(2, "open"),
            talk(3, "closed"),
        ]));
        run.now = now;
        executed(&run.start()).id == a(2)
    };
    let wed = wednesday_0910();
    let sat = Utc.with_ymd_and_hms(2026, 1, 17, 9, 10, 0).unwrap();
    let weekdays = json!([1, 2, 3, 4, 5]);
    let opens = json!({"condition": ">=", "hour": 8, "minute": 30, "day": -1, "month": 0,
        "weekdays": weekdays});
    assert!(case(opens.clone(), wed), "9:10 >= 8:30 on a Wednesday");
    assert!(!case(opens.clone(), sat), "Saturday is not listed");
    let early = Utc.with_ymd_and_hms(2026, 1, 14, 8, 29, 59).unwrap();
    assert!(!case(opens, early));
    let closes = json!({"condition": "<", "hour": 18, "minute": -1, "day": 0, "month": 0,
        "weekdays": []});
    assert!(case(closes.clone(), wed));
    assert!(!case(
        closes,
        Utc.with_ymd_and_hms(2026, 1, 14, 18, 0, 0).unwrap()
    ));
    let new_year = json!({"condition": "==", "month": 1, "day": 1, "hour": -1, "minute": -1,
        "weekdays": []});
    assert!(!case(new_year.clone(), wed));
    assert!(case(
        new_year,
        Utc.with_ymd_and_hms(2027, 1, 1, 23, 0, 0).unwrap()
    ));
}

#[test]
fn deprecated_call_conditions_read_the_call_variables() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "condition_call_digits", "option": {"length": 3, "false_target_id": s(4)}},
        {"id": s(2), "type": "condition_call_status", "option": {"status": "progressing", "false_target_id": s(4)}},
        talk(3, "both"),
        talk(4, "no"),
    ]));
    run.vars.set_internal("voipbin.call.digits", "123").unwrap();
    run.vars
        .set_internal("voipbin.call.status", "progressing")
        .unwrap();
    assert_eq!(executed(&run.start()).id, a(3));
    let mut run = Run::new(json!([
        {"id": s(1), "type": "condition_call_digits", "option": {"key": "#", "false_target_id": s(3)}},
        talk(2, "yes"),
        talk(3, "no"),
    ]));
    run.vars.set_internal("voipbin.call.digits", "12").unwrap();
    assert_eq!(executed(&run.start()).id, a(3));
}

#[test]
fn variable_set_feeds_later_options_and_builtins_cannot_be_set() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "variable_set", "option": {"key": "name", "value": "Ann"}},
        {"id": s(2), "type": "variable_set", "option": {"key": "greeting", "value": "Hi ${name} on ${voipbin.activeflow.reference_type}"}},
        talk(3, "${greeting}! Flow ${voipbin.activeflow.flow_id}, ${missing}."),
    ]));
    let action = executed(&run.start()).clone();
    assert_eq!(
        action.option["text"],
        format!("Hi Ann on call! Flow {}, .", Uuid::from_u128(0xf10))
    );
    assert!(run.vars.is_dirty());
    // The stored flow keeps its template.
    assert_eq!(
        run.af.stack_map[&MAIN_STACK_ID].actions[2].option["text"],
        "${greeting}! Flow ${voipbin.activeflow.flow_id}, ${missing}."
    );

    // A key that becomes voipbin.* by substitution is refused at run time.
    let mut run = Run::new(json!([
        {"id": s(1), "type": "variable_set", "option": {"key": "${prefix}call.digits", "value": "666"}},
        talk(2, "never"),
    ]));
    run.vars.set_user("prefix", "voipbin.").unwrap();
    let reason = run.start();
    let reason = ended(&reason);
    assert!(
        reason.contains("voipbin.* variables are read-only"),
        "{reason}"
    );
    assert_eq!(run.vars.get("voipbin.call.digits"), None);
}

#[test]
fn substitution_edge_cases() {
    let run = Run::new(json!([talk(1, "x")]));
    let mut vars = Variables::default();
    vars.set_user("a", "A").unwrap();
    vars.set_user("evil", "${voipbin.activeflow.id}${a}")
        .unwrap();
    vars.set_user("a${b", "weird").unwrap();
    let lookup = Lookup {
        af: &run.af,
        vars: &vars,
        action_id: a(1),
        now: "2026-01-14T09:10:00.000000Z",
    };
    let sub = |t: &str| lookup.substitute(t).into_owned();
    assert_eq!(sub("plain"), "plain");
    assert_eq!(sub("${a}${a}-${a}"), "AA-A");
    assert_eq!(sub("${unknown}|"), "|", "unknown reads as empty");
    assert_eq!(sub("${a${b}}"), "weird}", "a name runs to the first brace");
    assert_eq!(sub("${nope${a}}"), "}");
    assert_eq!(sub("${a"), "${a", "unterminated stays");
    assert_eq!(sub("$a {a} $"), "$a {a} $");
    assert_eq!(
        sub("${evil}"),
        "${voipbin.activeflow.id}${a}",
        "values are not substituted again"
    );
    assert_eq!(sub("${voipbin.activeflow.id}"), run.af.id.to_string());
    assert_eq!(sub("${voipbin.activeflow.current_action_id}"), s(1));
    assert_eq!(
        sub("${voipbin.activeflow.customer_id}"),
        Uuid::from_u128(0xc05).to_string()
    );
    assert_eq!(
        sub("${voipbin.activeflow.reference_id}"),
        Uuid::from_u128(0xca11).to_string()
    );
    assert_eq!(
        sub("${voipbin.activeflow.tm_now}"),
        "2026-01-14T09:10:00.000000Z"
    );
    assert_eq!(sub("${voipbin.activeflow.complete_count}"), "0");
    // Strings anywhere in the option, keys untouched, other values untouched.
    let option = json!({"${a}": ["${a}", {"deep": "x${a}"}, 3, true, null]});
    assert_eq!(
        lookup.substitute_value(&option),
        Some(json!({"${a}": ["A", {"deep": "xA"}, 3, true, null]}))
    );
    assert_eq!(lookup.substitute_value(&json!({"k": "none"})), None);

    // Limits and built-ins.
    let mut vars = Variables::default();
    assert!(vars
        .set_user("voipbin.call.digits", "1")
        .unwrap_err()
        .contains("read-only"));
    vars.set_internal("voipbin.call.digits", "1").unwrap();
    let big = "x".repeat(super::variables::MAX_VALUE_BYTES + 1);
    assert!(vars.set_user("big", &big).unwrap_err().contains("at most"));
    for i in 0..super::variables::MAX_KEYS - 1 {
        vars.set_user(&format!("k{i}"), "v").unwrap();
    }
    assert!(vars
        .set_user("one_more", "v")
        .unwrap_err()
        .contains("at most 100"));
    vars.set_user("k0", "replaced").unwrap();
}

#[test]
fn stop_ends_with_its_reason_and_starts_the_on_complete_flow() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "stop"},
        talk(2, "never"),
    ]));
    let next_flow = Uuid::from_u128(0xf11);
    run.af.on_complete_flow_id = next_flow;
    let outcome = run.start();
    assert_eq!(
        ended(&outcome),
        format!("stopped by the stop action {}", a(1))
    );
    assert_eq!(run.effects, vec![Effect::StartFlow { flow_id: next_flow }]);
    assert!(run.af.forward_action_id.is_nil());

    // A stop request ends a flow waiting on a call action.
    let mut run = Run::new(json!([talk(1, "hello")]));
    run.start();
    let outcome = run.step(Input::Stop {
        reason: "the call hung up".into(),
    });
    assert_eq!(ended(&outcome), "the call hung up");
    assert_eq!(run.af.end_reason, "the call hung up");
}

#[test]
fn fetch_pushes_the_returned_actions_and_returns_after_it() {
    let flow = json!([
        {"id": s(1), "type": "fetch", "option": {"event_url": "https://x.example/next?k=${k}", "event_method": "POST"}},
        talk(2, "back in main"),
    ]);
    let mut run = Run::new(flow.clone());
    run.vars.set_user("k", "v").unwrap();
    let Poll::Io(Request::Fetch(req)) = run.poll(Input::Execute).unwrap() else {
        panic!("expected a fetch")
    };
    assert_eq!(req.url, "https://x.example/next?k=v");
    let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["activeflow_id"], run.af.id.to_string());
    assert_eq!(body["reference_type"], "call");

    let mut run = Run::new(flow.clone());
    run.vars.set_user("k", "v").unwrap();
    let fetched = json!([talk(50, "fetched one"), {"id": s(51), "type": "answer"}]).to_string();
    let outcome = run.resume(
        Input::Execute,
        Reply::Http(Ok(HttpResponse {
            status: 200,
            body: fetched,
        })),
    );
    assert_eq!(executed(&outcome).id, a(50));
    assert_eq!(run.af.stack_map.len(), 2, "a stack was pushed");
    assert_ne!(run.af.current_stack_id, MAIN_STACK_ID);
    assert_eq!(executed(&run.next()).id, a(51));
    assert_eq!(executed(&run.next()).id, a(2), "back after the fetch");
    assert_eq!(run.af.stack_map.len(), 1, "the used stack is gone");
    assert_eq!(run.af.current_stack_id, MAIN_STACK_ID);

    // GET sends the ids as query parameters; failures end the flow with the reason.
    let mut run = Run::new(json!([
        {"id": s(1), "type": "fetch", "option": {"event_url": "https://x.example/a"}},
    ]));
    let Poll::Io(Request::Fetch(req)) = run.poll(Input::Execute).unwrap() else {
        panic!("expected a fetch")
    };
    assert!(
        req.url.starts_with("https://x.example/a?activeflow_id="),
        "{}",
        req.url
    );
    assert_eq!(req.body, None);
    for (reply, expected) in [
        (
            Reply::Http(Err("no answer within 5000 ms".into())),
            "no answer within",
        ),
        (
            Reply::Http(Ok(HttpResponse {
                status: 500,
                body: String::new(),
            })),
            "answered HTTP 500",
        ),
        (
            Reply::Http(Ok(HttpResponse {
                status: 200,
                body: "<html>".into(),
            })),
            "returned no JSON",
        ),
        (
            Reply::Http(Ok(HttpResponse {
                status: 200,
                body: json!({"actions": [{"type": "queue_join", "option": {"queue_id": s(9)}}]})
                    .to_string(),
            })),
            "not supported",
        ),
    ] {
        let mut run = Run::new(json!([
            {"id": s(1), "type": "fetch", "option": {"event_url": "https://x.example/a"}},
        ]));
        let outcome = run.resume(Input::Execute, reply);
        assert!(ended(&outcome).contains(expected), "{outcome:?}");
    }
}

#[test]
fn fetch_flow_runs_another_flows_actions() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "fetch_flow", "option": {"flow_id": "${other}"}},
        talk(2, "after"),
    ]));
    let other = Uuid::from_u128(0xf12);
    run.vars.set_user("other", &other.to_string()).unwrap();
    let mut engine = Engine::new(&mut run.af, &mut run.vars, LIMITS, run.now);
    assert_eq!(
        engine.handle(Input::Execute).unwrap(),
        Poll::Io(Request::LoadFlow { flow_id: other })
    );
    let actions = validate_actions_from(&json!([talk(60, "other flow")]), Origin::Flow).unwrap();
    let outcome = engine.resume(Reply::Flow(Ok(actions))).unwrap();
    let Poll::Done(outcome) = outcome else {
        panic!()
    };
    assert_eq!(executed(&outcome).id, a(60));
    assert_eq!(executed(&run.next()).id, a(2));

    let mut run =
        Run::new(json!([{"id": s(1), "type": "fetch_flow", "option": {"flow_id": s(99)}}]));
    let outcome = run.resume(Input::Execute, Reply::Flow(Err("no flow".into())));
    assert!(ended(&outcome).contains("fetch_flow"), "{outcome:?}");
}

#[test]
fn webhook_send_is_an_effect_or_waits_when_sync() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "webhook_send", "option": {"uri": "https://h.example/${k}", "data": "{\"d\":\"${k}\"}"}},
        {"id": s(2), "type": "webhook_send", "option": {"uri": "https://h.example/s", "method": "PUT", "sync": true}},
        talk(3, "done"),
    ]));
    run.vars.set_user("k", "v").unwrap();
    let outcome = run.resume(Input::Execute, Reply::Http(Err("down".into())));
    assert_eq!(
        executed(&outcome).id,
        a(3),
        "a failed webhook does not stop the flow"
    );
    let [Effect::Webhook(req)] = run.effects.as_slice() else {
        panic!("{:?}", run.effects)
    };
    assert_eq!(req.url, "https://h.example/v");
    assert_eq!(req.body.as_deref(), Some("{\"d\":\"v\"}"));
    assert_eq!(req.content_type.as_deref(), Some("application/json"));
}

#[test]
fn services_push_and_pop_their_own_stacks() {
    let mut run = Run::new(json!([talk(1, "main one"), talk(2, "main two"),]));
    assert_eq!(executed(&run.start()).id, a(1));
    let service = Uuid::from_u128(0x5e1);
    let pushed = validate_actions_from(
        &json!([talk(70, "service"), {"id": s(71), "type": "hangup"}]),
        Origin::Service,
    )
    .unwrap();
    assert_eq!(
        run.step(Input::Push {
            stack_id: service,
            actions: pushed.clone()
        }),
        Outcome::Waiting
    );
    let err = run
        .poll(Input::Push {
            stack_id: service,
            actions: pushed,
        })
        .unwrap_err();
    assert_eq!(err.reason, "STACK_EXISTS");
    // The current action (1) finishes: the pushed stack runs, then main goes on after 1.
    assert_eq!(executed(&run.next()).id, a(70));
    assert_eq!(run.af.current_stack_id, service);
    // The service is done early: its stack goes, and the flow resumes after action 1.
    assert_eq!(
        run.step(Input::PopStack { stack_id: service }),
        Outcome::Waiting
    );
    assert!(!run.af.stack_map.contains_key(&service));
    assert_eq!(executed(&run.next()).id, a(2));
    assert_eq!(ended(&run.next()), "the flow finished");
}

#[test]
fn jumps_cross_stacks_by_action_id() {
    let mut run = Run::new(json!([
        talk(1, "main"),
        talk(2, "jumped to from the pushed stack"),
        talk(3, "end"),
    ]));
    run.start();
    let pushed = validate_actions_from(
        &json!([
            talk(80, "pushed"),
            {"id": s(81), "type": "goto", "option": {"target_id": s(3), "loop_count": 1}},
        ]),
        Origin::Service,
    )
    .unwrap();
    let stack = Uuid::from_u128(0x5e2);
    run.step(Input::Push {
        stack_id: stack,
        actions: pushed,
    });
    assert_eq!(executed(&run.next()).id, a(80));
    assert_eq!(
        executed(&run.next()).id,
        a(3),
        "goto found 3 in the main stack"
    );
    assert_eq!(run.af.current_stack_id, MAIN_STACK_ID);
    assert!(
        !run.af.stack_map.contains_key(&stack),
        "the left stack is dropped"
    );

    // A service forwards the cursor into its own stack below the current one.
    let mut run = Run::new(json!([talk(1, "main")]));
    run.start();
    let queue = Uuid::from_u128(0x5e3);
    let pushed = validate_actions_from(
        &json!([talk(90, "wait music"), {"id": s(91), "type": "echo",
            "option": {"duration": 60000}}]),
        Origin::Service,
    )
    .unwrap();
    run.step(Input::Push {
        stack_id: queue,
        actions: pushed,
    });
    assert_eq!(executed(&run.next()).id, a(90));
    assert_eq!(
        run.step(Input::Forward { action_id: a(91) }),
        Outcome::Waiting
    );
    assert_eq!(executed(&run.next()).id, a(91));
    let err = run.poll(Input::Forward { action_id: a(404) }).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[test]
fn add_actions_insert_after_the_current_one() {
    let mut run = Run::new(json!([talk(1, "one"), talk(3, "three")]));
    run.start();
    let added = validate_actions_from(&json!([talk(2, "two")]), Origin::Service).unwrap();
    assert_eq!(
        run.step(Input::Add {
            actions: added.clone()
        }),
        Outcome::Waiting
    );
    let err = run.poll(Input::Add { actions: added }).unwrap_err();
    assert_eq!(err.reason, "DUPLICATE_ACTION_ID");
    assert_eq!(executed(&run.next()).id, a(2));
    assert_eq!(executed(&run.next()).id, a(3));
}

#[test]
fn block_waits_for_continue() {
    let mut run = Run::new(json!([
        {"id": s(1), "type": "block"},
        talk(2, "released"),
    ]));
    let outcome = run.start();
    assert!(
        matches!(&outcome, Outcome::Blocked(b) if b.id == a(1)),
        "{outcome:?}"
    );
    assert_eq!(run.start(), outcome, "still blocked");
    assert_eq!(
        run.poll(Input::Next {
            action_id: a(1),
            variables: BTreeMap::new()
        })
        .unwrap_err()
        .reason,
        "BLOCKED"
    );
    assert_eq!(
        run.poll(Input::Continue { action_id: a(9) })
            .unwrap_err()
            .reason,
        "NOT_BLOCKED"
    );
    assert_eq!(
        executed(&run.step(Input::Continue { action_id: a(1) })).id,
        a(2)
    );
}

#[test]
fn a_runaway_loop_is_stopped_by_the_per_run_budget() {
    // variable_set then branch back to it: control actions only, forever.
    let mut run = Run::new(json!([
        {"id": s(1), "type": "variable_set", "option": {"key": "v", "value": "x"}},
        {"id": s(2), "type": "branch", "option": {"variable": "v", "target_ids": {"x": s(1)}}},
        talk(3, "never"),
    ]));
    run.limits.max_actions_per_run = 50;
    let outcome = run.start();
    let reason = ended(&outcome);
    assert!(
        reason.contains("runaway") && reason.contains("flow.max_actions_per_run = 50"),
        "{reason}"
    );
    assert_eq!(run.af.end_reason, reason);
    assert_eq!(run.af.execute_count, 51, "50 ran, the 51st was refused");

    // Control actions between call actions start each run's budget afresh; the lifetime
    // budget still ends the flow.
    let mut run = Run::new(json!([
        talk(1, "menu"),
        {"id": s(2), "type": "goto", "option": {"target_id": s(1), "loop_count": 100}},
    ]));
    run.limits.max_actions_total = 9;
    let mut outcome = run.start();
    for _ in 0..4 {
        outcome = run.next();
    }
    assert_eq!(executed(&outcome).id, a(1));
    let reason = run.next();
    let reason = ended(&reason);
    assert!(reason.contains("flow.max_actions_total = 9"), "{reason}");
}

#[test]
fn call_actions_need_a_call_and_refused_types_end_clearly() {
    let mut run = Run::on(json!([talk(1, "hi")]), ReferenceType::Api);
    let outcome = run.start();
    assert!(
        ended(&outcome).contains("needs a call, but this activeflow runs against a api reference"),
        "{outcome:?}"
    );
    // A stored flow holding a type refused since (never created now) ends, not skips.
    let mut run = Run::new(json!([talk(1, "hi")]));
    let main = run.af.stack_map.get_mut(&MAIN_STACK_ID).unwrap();
    main.actions[0].r#type = ActionType::QueueJoin;
    main.actions[0].option = json!({"queue_id": s(5)});
    let outcome = run.start();
    assert!(ended(&outcome).contains("not supported"), "{outcome:?}");
}

#[test]
fn an_empty_flow_finishes_at_once() {
    let mut run = Run::new(json!([]));
    assert_eq!(ended(&run.start()), "the flow finished");
    let mut run = Run::on(
        json!([{"id": s(1), "type": "variable_set", "option": {"key": "a", "value": "b"}}]),
        ReferenceType::Api,
    );
    assert_eq!(ended(&run.start()), "the flow finished");
    assert_eq!(run.vars.get("a"), Some("b"));
}

#[test]
fn popping_a_service_stack_drops_the_stacks_pushed_above_it() {
    let mut run = Run::new(json!([talk(1, "main"), talk(2, "after the service")]));
    run.start();
    let queue = Uuid::from_u128(0x5e4);
    let pushed = validate_actions_from(
        &json!([
            {"id": s(40), "type": "fetch_flow", "option": {"flow_id": s(99)}},
            {"id": s(41), "type": "echo", "option": {"duration": 60000}},
        ]),
        Origin::Service,
    )
    .unwrap();
    run.step(Input::Push {
        stack_id: queue,
        actions: pushed,
    });
    // The queue's wait flow is fetched: a third stack above the queue's.
    let wait = validate_actions_from(&json!([talk(45, "wait music")]), Origin::Flow).unwrap();
    let action_id = run.current_id();
    let outcome = run.resume(
        Input::Next {
            action_id,
            variables: BTreeMap::new(),
        },
        Reply::Flow(Ok(wait)),
    );
    assert_eq!(executed(&outcome).id, a(45));
    assert_eq!(run.af.stack_map.len(), 3);
    // The caller leaves the queue: both stacks go, the flow resumes after action 1.
    run.step(Input::PopStack { stack_id: queue });
    assert_eq!(run.af.stack_map.len(), 1);
    assert_eq!(executed(&run.next()).id, a(2));
    assert_eq!(
        run.poll(Input::PopStack {
            stack_id: MAIN_STACK_ID
        })
        .unwrap_err()
        .kind,
        ErrorKind::InvalidArgument
    );
}
