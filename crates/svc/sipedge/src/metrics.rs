//! The SIP edge's metrics, registered in the process registry next to the seed's six.
//!
//! Label values come from closed sets (known methods, numeric status codes, fixed drop
//! reasons), so a flood of odd requests cannot grow the number of series without bound.

use std::sync::OnceLock;
use voxbin_core::telemetry::{metrics, CounterFamily, GaugeFamily};

/// Counters and gauges of the edge.
pub struct EdgeMetrics {
    /// `voxbin_sip_requests_total{method}`: requests received.
    pub requests: CounterFamily,
    /// `voxbin_sip_responses_total{method,code}`: responses sent or relayed.
    pub responses: CounterFamily,
    /// `voxbin_sip_dropped_total{reason}`: messages dropped unanswered.
    pub dropped: CounterFamily,
    /// `voxbin_sip_registrations_active`: addresses of record registered through this node.
    pub registrations: GaugeFamily,
    /// `voxbin_sip_transactions`: live SIP transactions on this node.
    pub transactions: GaugeFamily,
    /// `voxbin_sip_transactions_total{kind}`: transactions started, server or client.
    pub transactions_started: CounterFamily,
    /// `voxbin_sip_media_node_up{node}`: 1 while a media node is in rotation.
    pub media_node_up: GaugeFamily,
    /// `voxbin_sip_auth_total{result}`: digest checks by outcome.
    pub auth: CounterFamily,
}

/// The process-wide edge metrics, registered on first use.
pub fn edge_metrics() -> &'static EdgeMetrics {
    static M: OnceLock<EdgeMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = metrics().registry();
        EdgeMetrics {
            requests: r.counter(
                "voxbin_sip_requests_total",
                "SIP requests received by the edge, by method.",
                &["method"],
            ),
            responses: r.counter(
                "voxbin_sip_responses_total",
                "SIP responses sent or relayed by the edge, by CSeq method and status code.",
                &["method", "code"],
            ),
            dropped: r.counter(
                "voxbin_sip_dropped_total",
                "SIP messages dropped without an answer, by reason.",
                &["reason"],
            ),
            registrations: r.gauge(
                "voxbin_sip_registrations_active",
                "Addresses of record with a live registration made through this edge node.",
                &[],
            ),
            transactions: r.gauge(
                "voxbin_sip_transactions",
                "SIP transactions currently alive on this edge node.",
                &[],
            ),
            transactions_started: r.counter(
                "voxbin_sip_transactions_total",
                "SIP transactions started on this edge node, by kind (server or client).",
                &["kind"],
            ),
            media_node_up: r.gauge(
                "voxbin_sip_media_node_up",
                "1 while the media node takes new calls, 0 while its OPTIONS checks fail.",
                &["node"],
            ),
            auth: r.counter(
                "voxbin_sip_auth_total",
                "Digest authentications by result (ok, challenge, failed, refused).",
                &["result"],
            ),
        }
    })
}

/// A method name from the closed set used as a label; anything else is `OTHER`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "INFO",
        "UPDATE",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "REFER",
        "MESSAGE",
        "PUBLISH",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or("OTHER")
}

/// A status code as a label; codes outside 100-699 are `other`.
pub fn code_label(code: u16) -> String {
    if (100..700).contains(&code) {
        code.to_string()
    } else {
        "other".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_in_closed_sets() {
        assert_eq!(method_label("invite"), "INVITE");
        assert_eq!(method_label("XYZZY"), "OTHER");
        assert_eq!(code_label(486), "486");
        assert_eq!(code_label(999), "other");
    }

    #[test]
    fn families_render_in_the_process_registry() {
        let m = edge_metrics();
        m.requests.inc(&["OPTIONS"]);
        let text = metrics().render();
        assert!(text.contains("# TYPE voxbin_sip_requests_total counter"));
        assert!(text.contains("voxbin_sip_requests_total{method=\"OPTIONS\"}"));
        assert!(text.contains("# HELP voxbin_sip_registrations_active "));
    }
}

/// Per-message counts kept by the core's task and added to the registry about once a second,
/// so the hot path touches no shared map and allocates no label keys.
#[derive(Debug, Default)]
pub struct Tally {
    requests: Vec<(&'static str, u64)>,
    responses: Vec<((&'static str, u16), u64)>,
    server_tx: u64,
    client_tx: u64,
}

impl Tally {
    /// One request received.
    pub fn request(&mut self, method: &str) {
        let m = method_label(method);
        match self.requests.iter_mut().find(|(k, _)| *k == m) {
            Some((_, n)) => *n += 1,
            None => self.requests.push((m, 1)),
        }
    }

    /// One response sent or relayed.
    pub fn response(&mut self, method: &str, code: u16) {
        let key = (method_label(method), code);
        match self.responses.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.responses.push((key, 1)),
        }
    }

    /// One server transaction started.
    pub fn server_tx(&mut self) {
        self.server_tx += 1;
    }

    /// One client transaction started.
    pub fn client_tx(&mut self) {
        self.client_tx += 1;
    }

    /// Adds the counts to the registry and starts over.
    pub fn flush(&mut self) {
        let m = edge_metrics();
        for (method, n) in self.requests.drain(..) {
            m.requests.add(&[method], n);
        }
        for ((method, code), n) in self.responses.drain(..) {
            m.responses.add(&[method, &code_label(code)], n);
        }
        if self.server_tx > 0 {
            m.transactions_started.add(&["server"], self.server_tx);
        }
        if self.client_tx > 0 {
            m.transactions_started.add(&["client"], self.client_tx);
        }
        self.server_tx = 0;
        self.client_tx = 0;
    }
}

#[cfg(test)]
mod tally_tests {
    use super::*;

    #[test]
    fn tallies_reach_the_registry_on_flush() {
        let mut t = Tally::default();
        let before = edge_metrics().responses.get(&["PRACK", "599"]);
        t.response("PRACK", 599);
        t.response("PRACK", 599);
        t.request("prack");
        assert_eq!(edge_metrics().responses.get(&["PRACK", "599"]), before);
        t.flush();
        assert_eq!(edge_metrics().responses.get(&["PRACK", "599"]), before + 2);
    }
}
