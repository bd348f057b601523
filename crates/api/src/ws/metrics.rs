//! Websocket metrics, registered in the process registry.

use std::sync::OnceLock;
use voxbin_core::telemetry::{metrics, CounterFamily, GaugeFamily};

/// Counters and gauges of the websocket hub.
pub struct WsMetrics {
    /// `voxbin_ws_connections`: open websocket connections.
    pub connections: GaugeFamily,
    /// `voxbin_ws_events_total`: events queued to websocket clients.
    pub events: CounterFamily,
    /// `voxbin_ws_slow_consumers_total`: connections closed for not keeping up.
    pub slow_consumers: CounterFamily,
}

/// The process-wide websocket metrics, registered on first use.
pub fn ws_metrics() -> &'static WsMetrics {
    static M: OnceLock<WsMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = metrics().registry();
        WsMetrics {
            connections: r.gauge(
                "voxbin_ws_connections",
                "Open websocket event connections.",
                &[],
            ),
            events: r.counter(
                "voxbin_ws_events_total",
                "Events queued to websocket clients.",
                &[],
            ),
            slow_consumers: r.counter(
                "voxbin_ws_slow_consumers_total",
                "Websocket connections closed because the client did not read its events.",
                &[],
            ),
        }
    })
}
