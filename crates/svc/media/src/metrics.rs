//! The node's Prometheus series: live legs, and events published by type.

use std::sync::OnceLock;

use voxbin_core::telemetry::{metrics, CounterFamily, GaugeFamily};

/// The role's metric families.
pub struct Metrics {
    /// `voxbin_media_legs`: legs up on this node.
    pub legs: GaugeFamily,
    /// `voxbin_media_events_total{type}`: events published.
    pub events: CounterFamily,
}

/// The families, registered once.
pub fn get() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = metrics().registry();
        Metrics {
            legs: r.gauge("voxbin_media_legs", "Call legs up on this media node.", &[]),
            events: r.counter(
                "voxbin_media_events_total",
                "Events the media node published, by type.",
                &["type"],
            ),
        }
    })
}
