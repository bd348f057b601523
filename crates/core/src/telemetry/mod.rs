//! Logs and metrics.
//!
//! Metrics are kept in a small registry of our own that renders the Prometheus text format
//! (0.0.4): the seed's six metric names must be listed with HELP and TYPE from the first
//! scrape, before any sample exists, which the common exporters do not do. Logs go through
//! `tracing`, as JSON when stderr is not a terminal and human-readable when it is.

mod logging;
mod process;
mod registry;

pub use logging::{init_logging, LogFormat};
pub use registry::{CounterFamily, GaugeFamily, HistogramFamily, Registry};

use std::sync::OnceLock;

/// Buckets for request durations in seconds, from 0.5 ms to 10 s.
pub const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The platform's metrics, named as in the production seed.
pub struct Metrics {
    registry: Registry,
    /// `voipbin_http_requests_total{service,method,route,status}`.
    pub http_requests: CounterFamily,
    /// `voipbin_http_request_duration_seconds{service,method,route,status}`.
    pub http_duration: HistogramFamily,
    /// `voipbin_rpc_requests_total{service,method,uri,status}`.
    pub rpc_requests: CounterFamily,
    /// `voipbin_rpc_request_duration_seconds{service,method,uri,status}`.
    pub rpc_duration: HistogramFamily,
    /// `voipbin_active_calls_gauge{service}`.
    pub active_calls: GaugeFamily,
    /// `voipbin_queue_depth_gauge{service,queue}`.
    pub queue_depth: GaugeFamily,
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::default();
        let http_labels = &["service", "method", "route", "status"];
        let rpc_labels = &["service", "method", "uri", "status"];
        Metrics {
            http_requests: registry.counter(
                "voipbin_http_requests_total",
                "HTTP requests served, by route template and status.",
                http_labels,
            ),
            http_duration: registry.histogram(
                "voipbin_http_request_duration_seconds",
                "HTTP request latency in seconds, by route template and status.",
                http_labels,
                DURATION_BUCKETS,
            ),
            rpc_requests: registry.counter(
                "voipbin_rpc_requests_total",
                "Bus RPC requests handled, by service, method, uri template and status.",
                rpc_labels,
            ),
            rpc_duration: registry.histogram(
                "voipbin_rpc_request_duration_seconds",
                "Bus RPC handling latency in seconds, by service, method, uri template and status.",
                rpc_labels,
                DURATION_BUCKETS,
            ),
            active_calls: registry.gauge(
                "voipbin_active_calls_gauge",
                "Calls currently up, by service.",
                &["service"],
            ),
            queue_depth: registry.gauge(
                "voipbin_queue_depth_gauge",
                "Work items waiting, by service and queue.",
                &["service", "queue"],
            ),
            registry,
        }
    }

    /// Records one served HTTP request.
    pub fn observe_http(
        &self,
        service: &str,
        method: &str,
        route: &str,
        status: u16,
        seconds: f64,
    ) {
        let status = status_label(status);
        let labels = [service, method, route, status.as_str()];
        self.http_requests.inc(&labels);
        self.http_duration.observe(&labels, seconds);
    }

    /// Records one handled bus RPC.
    pub fn observe_rpc(&self, service: &str, method: &str, uri: &str, status: u16, seconds: f64) {
        let status = status_label(status);
        let labels = [service, method, uri, status.as_str()];
        self.rpc_requests.inc(&labels);
        self.rpc_duration.observe(&labels, seconds);
    }

    /// The registry, for roles that register families of their own (the SIP edge's, say).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Renders every metric, then the process metrics, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = self.registry.render();
        process::render(&mut out);
        out
    }
}

fn status_label(status: u16) -> String {
    status.to_string()
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_seed_names_render_before_any_sample() {
        let text = Metrics::new().render();
        for name in [
            "voipbin_http_requests_total",
            "voipbin_http_request_duration_seconds",
            "voipbin_rpc_requests_total",
            "voipbin_rpc_request_duration_seconds",
            "voipbin_active_calls_gauge",
            "voipbin_queue_depth_gauge",
        ] {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} missing HELP"
            );
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing TYPE"
            );
        }
        assert!(text.contains("process_resident_memory_bytes"));
    }

    #[test]
    fn observations_show_up_with_labels() {
        let m = Metrics::new();
        m.observe_http("api", "GET", "/v1.0/flows/{id}", 200, 0.002);
        m.observe_http("api", "GET", "/v1.0/flows/{id}", 200, 0.004);
        let text = m.render();
        assert!(text.contains(
            "voipbin_http_requests_total{service=\"api\",method=\"GET\",route=\"/v1.0/flows/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("voipbin_http_request_duration_seconds_count{service=\"api\",method=\"GET\",route=\"/v1.0/flows/{id}\",status=\"200\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}
