//! The flow engine's metrics, registered in the process registry: actions run by kind and
//! activeflows ended (VoIPBIN's `action_executed_total`, in our naming).

use std::sync::OnceLock;
use voxbin_core::telemetry::{metrics, CounterFamily};

/// Counters of the engine.
pub struct FlowMetrics {
    /// `voxbin_flow_actions_total{kind}`: actions run, `control` or handed to the `call` service.
    pub actions: CounterFamily,
    /// `voxbin_flow_activeflows_ended_total`: activeflows that ended.
    pub ended: CounterFamily,
}

/// The process-wide flow metrics, registered on first use.
pub fn flow_metrics() -> &'static FlowMetrics {
    static M: OnceLock<FlowMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = metrics().registry();
        FlowMetrics {
            actions: r.counter(
                "voxbin_flow_actions_total",
                "Flow actions run, by kind: control (in the flow engine) or call (handed out).",
                &["kind"],
            ),
            ended: r.counter(
                "voxbin_flow_activeflows_ended_total",
                "Activeflows that ended (finished, stopped, or over a budget).",
                &[],
            ),
        }
    })
}
