//! Control actions per second of the flow engine, in the embedded shape.
//!
//! ```text
//! cargo run --release -p voxbin-svc-flow --example flow_bench -- [--seconds 3] [--callers 8]
//! ```
//!
//! 1. core: the sans-IO engine alone, one thread, no database: an activeflow whose flow loops
//!    `variable_set` (with a `${...}` substitution), `condition_variable`, `branch` and `goto`
//!    (loop_count 100), about 400 control actions before it reaches a `talk`; rerun from a
//!    fresh copy for `--seconds`.
//! 2. bus, long steps: the flow service on the in-process bus over a SQLite file (what
//!    `voxbin serve` runs), `--callers` concurrent callers each creating an activeflow of that
//!    flow and calling `execute` (one step, one transaction, ~400 control actions) and `next`.
//! 3. bus, IVR steps: a menu loop where every `next` runs 3 control actions and hands back a
//!    `talk` (one transaction per step), the shape of a real call flow.
//!
//! Every answer is checked (the expected action type comes back); figures are control
//! actions per second, plus steps per second for the bus shapes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_actions::{validate_actions, Handling};
use voxbin_bus::{Handler, Method};
use voxbin_svc_flow::activeflow::engine::{Engine, Input, Limits, Outcome, Poll};
use voxbin_svc_flow::activeflow::variables::Variables;
use voxbin_svc_flow::activeflow::{Activeflow, ReferenceType};
use voxbin_svc_flow::flow::{Flow, FlowType};
use voxbin_svc_flow::{handler, SERVICE};
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{Harness, Served};

const LOOP: &str = "0190d9a0-0000-7000-8000-00000000000a";
const TALK: &str = "0190d9a0-0000-7000-8000-00000000000f";

/// ~400 control actions (4 per loop, 100 loops) then a talk.
fn long_flow() -> Value {
    json!([
        {"id": LOOP, "type": "variable_set", "option": {"key": "seen", "value": "${voipbin.activeflow.id}"}},
        {"type": "condition_variable", "option": {"condition": "!=", "variable": "${seen}",
            "value_type": "string", "value_string": "", "false_target_id": TALK}},
        {"type": "branch", "option": {"variable": "seen", "target_ids": {"x": TALK},
            "default_target_id": "0190d9a0-0000-7000-8000-00000000000b"}},
        {"id": "0190d9a0-0000-7000-8000-00000000000b", "type": "goto",
            "option": {"target_id": LOOP, "loop_count": 100}},
        {"id": TALK, "type": "talk", "option": {"text": "done ${seen}"}},
    ])
}

/// A menu: 3 control actions, then a talk that loops back to the start.
fn ivr_flow() -> Value {
    json!([
        {"id": LOOP, "type": "variable_set", "option": {"key": "menu", "value": "main"}},
        {"type": "condition_variable", "option": {"condition": "==", "variable": "${menu}",
            "value_type": "string", "value_string": "main", "false_target_id": TALK}},
        {"type": "branch", "option": {"variable": "voipbin.call.digits",
            "target_ids": {"1": TALK}, "default_target_id": TALK}},
        {"id": TALK, "type": "talk", "next_id": LOOP, "option": {"text": "menu ${menu}"}},
    ])
}

/// Control actions run per `execute` of [`long_flow`]: 101 passes of 4 (the goto jumps 100
/// times, then falls through).
const LONG_CONTROL: u64 = 4 * 101;

struct Args {
    seconds: f64,
    callers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 3.0,
        callers: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => args.seconds = value.parse().map_err(|_| "bad --seconds")?,
            "--callers" => args.callers = value.parse().map_err(|_| "bad --callers")?,
            _ => return Err(format!("unknown flag {flag}; use --seconds S --callers N")),
        }
    }
    Ok(args)
}

fn core(seconds: f64) -> Result<(), String> {
    let flow = Flow {
        id: Uuid::now_v7(),
        customer_id: Uuid::now_v7(),
        r#type: FlowType::Flow,
        name: "bench".into(),
        detail: String::new(),
        actions: validate_actions(&long_flow()).map_err(|e| e.message)?,
        direct_hash: String::new(),
        on_complete_flow_id: Uuid::nil(),
        tm_create: String::new(),
        tm_update: None,
        tm_delete: None,
        version: 0,
    };
    let fresh = Activeflow::start(
        flow.customer_id,
        &flow,
        ReferenceType::Call,
        Uuid::now_v7(),
        "2026-01-14T09:00:00.000000Z",
    );
    let limits = Limits {
        max_actions_per_run: 1_000_000,
        max_actions_total: u64::MAX,
    };
    let started = Instant::now();
    let (mut control, mut runs) = (0u64, 0u64);
    while started.elapsed().as_secs_f64() < seconds {
        let mut af = fresh.clone();
        let mut vars = Variables::default();
        let mut engine = Engine::new(&mut af, &mut vars, limits, chrono::Utc::now());
        match engine.handle(Input::Execute).map_err(|e| e.message)? {
            Poll::Done(Outcome::Execute(a)) if a.r#type.handling() == Handling::Call => {}
            other => return Err(format!("core: unexpected {other:?}")),
        }
        if engine.control_actions_run() != LONG_CONTROL {
            return Err(format!(
                "core: ran {} control actions, expected {LONG_CONTROL}",
                engine.control_actions_run()
            ));
        }
        control += LONG_CONTROL;
        runs += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "core (engine alone, 1 thread): {:>10.0} control actions/s ({runs} runs of {} actions in {secs:.1} s)",
        control as f64 / secs,
        control / runs.max(1)
    );
    Ok(())
}

struct FlowService;

impl Served for FlowService {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "vxflowbench_";
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

type Env = Harness<FlowService>;

async fn new_activeflow(env: &Env, customer: Uuid, flow_id: &Value) -> Result<String, String> {
    let af = env
        .call(
            Method::Post,
            "/v1/activeflows",
            json!({"customer_id": customer, "flow_id": flow_id, "reference_type": "call",
                   "reference_id": Uuid::now_v7()}),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(af["id"].as_str().unwrap_or_default().to_owned())
}

async fn expect(env: &Env, uri: String, body: Value, result: &str) -> Result<Value, String> {
    let answer = env
        .call(Method::Post, &uri, body)
        .await
        .map_err(|e| format!("{uri}: {e}"))?;
    if answer["result"] != result {
        return Err(format!("{uri}: expected {result}, got {answer}"));
    }
    Ok(answer)
}

async fn bus(args: &Args) -> Result<(), String> {
    let env = Arc::new(Env::sqlite().await);
    let customer = Uuid::now_v7();
    let mut flows = BTreeMap::new();
    for (name, actions) in [("long", long_flow()), ("ivr", ivr_flow())] {
        let f = env
            .call_as(
                customer,
                Method::Post,
                "/v1/flows",
                json!({"name": name, "detail": "", "actions": actions}),
            )
            .await
            .map_err(|e| e.to_string())?;
        flows.insert(name, f["id"].clone());
    }

    for shape in ["long", "ivr"] {
        let control = Arc::new(AtomicU64::new(0));
        let steps = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.callers {
            let (env, control, steps) = (env.clone(), control.clone(), steps.clone());
            let flow_id = flows[shape].clone();
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let id = new_activeflow(&env, customer, &flow_id).await?;
                    let base = format!("/v1/activeflows/{id}");
                    let mut answer =
                        expect(&env, format!("{base}/execute"), Value::Null, "execute").await?;
                    steps.fetch_add(1, Ordering::Relaxed);
                    if shape == "long" {
                        control.fetch_add(LONG_CONTROL, Ordering::Relaxed);
                        let body = json!({"action_id": answer["action"]["id"]});
                        expect(&env, format!("{base}/next"), body, "ended").await?;
                        steps.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    control.fetch_add(3, Ordering::Relaxed);
                    for _ in 0..50 {
                        let body = json!({"action_id": answer["action"]["id"],
                                          "variables": {"voipbin.call.digits": "1"}});
                        answer = expect(&env, format!("{base}/next"), body, "execute").await?;
                        steps.fetch_add(1, Ordering::Relaxed);
                        control.fetch_add(3, Ordering::Relaxed);
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                }
                Ok::<(), String>(())
            }));
        }
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        let secs = started.elapsed().as_secs_f64();
        let (c, s) = (
            control.load(Ordering::Relaxed),
            steps.load(Ordering::Relaxed),
        );
        let label = if shape == "long" {
            "bus + SQLite, ~400 per step"
        } else {
            "bus + SQLite, IVR 3 per step"
        };
        println!(
            "{label}: {:>10.0} control actions/s, {:>7.0} steps/s ({} callers, {secs:.1} s)",
            c as f64 / secs,
            s as f64 / secs,
            args.callers
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = core(args.seconds) {
        eprintln!("core: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bus(&args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bus: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
