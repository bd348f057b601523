//! The decisions of calls to and from extensions, without I/O: whose extension a request
//! names, who an asserted caller is, how to dial a registered contact and what to answer a
//! caller whose callee legs all failed.

use uuid::Uuid;
use voxbin_svc_sipedge::bindings::Binding;

use crate::media::Dial;
use crate::model::HangupReason;
use crate::routing::user_part;

/// The host of a SIP URI or name-addr, lower case (`<sip:1001@Host:5060;x>` -> `host`).
pub fn host_of(value: &str) -> String {
    let inner = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value,
    };
    let rest = inner.split_once(':').map(|(_, r)| r).unwrap_or(inner);
    let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let end = if rest.starts_with('[') {
        rest.find(']').map(|i| i + 1).unwrap_or(rest.len())
    } else {
        rest.find([':', ';', '?', '>']).unwrap_or(rest.len())
    };
    rest[..end].to_ascii_lowercase()
}

/// The customer whose extensions live in the realm of `uri`'s host
/// (`<customer_id>.registrar.<sip.domain>`).
pub fn customer_of(uri: &str) -> Option<Uuid> {
    let host = host_of(uri);
    let mut labels = host.split('.');
    let customer = Uuid::parse_str(labels.next()?).ok()?;
    (labels.next()? == "registrar" && labels.next().is_some()).then_some(customer)
}

/// The extension a P-Asserted-Identity vouches for: its customer and name, when it is in a
/// registrar realm (only the edge writes those, after authenticating the phone).
pub fn asserted(pai: &str) -> Option<(Uuid, String)> {
    if pai.is_empty() {
        return None;
    }
    let customer = customer_of(pai)?;
    Some((customer, user_part(pai)?.to_owned()))
}

/// The `host:port` of the route URI in a path value (`<sip:10.0.0.1:5060;lr;ftok=..>`).
fn route_hostport(path: &str) -> Option<String> {
    let inner = path.trim().trim_start_matches('<');
    let rest = inner.strip_prefix("sip:")?;
    let end = rest.find([';', '>']).unwrap_or(rest.len());
    let hostport = &rest[..end];
    (!hostport.is_empty() && !hostport.contains('@')).then(|| hostport.to_owned())
}

/// How to call one registered contact: its Contact URI through the edge, with the binding's
/// path preloaded as `Route` (the edge then reaches the phone behind NAT or on its
/// connection); without a path, straight to the edge that registered it.
pub fn dial_contact(id: Uuid, binding: &Binding, from: &str, pai: Option<&str>) -> Dial {
    let mut headers = Vec::new();
    let proxy = match binding
        .path
        .as_deref()
        .and_then(|p| route_hostport(p).map(|hp| (hp, p.to_owned())))
    {
        Some((hostport, path)) => {
            headers.push(("Route".to_owned(), path));
            Some(hostport)
        }
        None => (!binding.edge.is_empty()).then(|| binding.edge.clone()),
    };
    if let Some(pai) = pai {
        headers.push(("P-Asserted-Identity".to_owned(), pai.to_owned()));
    }
    Dial {
        id,
        uri: binding.uri.clone(),
        proxy,
        from: from.to_owned(),
        headers,
        auth: None,
    }
}

/// Contacts in the order to try: highest `q` first, then the most recently registered.
pub fn by_preference(mut bindings: Vec<Binding>) -> Vec<Binding> {
    bindings.sort_by(|a, b| {
        let (qa, qb) = (a.q.unwrap_or(1.0), b.q.unwrap_or(1.0));
        qb.total_cmp(&qa).then(b.expires_at.cmp(&a.expires_at))
    });
    bindings
}

/// What the caller hears when every callee leg failed, from the last one's SIP status and
/// hangup cause: the status, its reason phrase and the caller's hangup reason.
pub fn caller_failure(sip_status: u64, cause: &str) -> (u16, &'static str, HangupReason) {
    match (sip_status, cause) {
        (486 | 600, _) | (_, "busy") => (486, "Busy Here", HangupReason::Busy),
        (603, _) => (603, "Decline", HangupReason::Busy),
        (0 | 408 | 480, _) | (_, "noanswer" | "timeout") => {
            (480, "Temporarily Unavailable", HangupReason::Noanswer)
        }
        (404 | 484 | 604, _) => (404, "Not Found", HangupReason::Failed),
        _ => (480, "Temporarily Unavailable", HangupReason::Failed),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    const SUFFIX: &str = ".registrar.voxbin.local";

    fn binding(uri: &str, q: Option<f32>, expires_at: u64, path: Option<&str>) -> Binding {
        Binding {
            uri: uri.into(),
            expires_at,
            q,
            call_id: "c".into(),
            cseq: 1,
            instance: None,
            received: "udp:198.51.100.9:40000".into(),
            edge: "127.0.0.1:5060".into(),
            user_agent: None,
            path: path.map(str::to_owned),
        }
    }

    #[test]
    fn customers_come_from_the_registrar_realm() {
        let c = Uuid::now_v7();
        let uri = format!("sip:1001@{c}.registrar.VOXBIN.local;user=phone");
        assert_eq!(customer_of(&uri), Some(c));
        let named = format!("\"A\" <sip:2001@{c}{SUFFIX}:5060>;tag=1");
        assert_eq!(host_of(&named), format!("{c}{SUFFIX}"));
        assert_eq!(customer_of("sip:1001@pstn.voxbin.local"), None);
        assert_eq!(
            customer_of("sip:1001@nonsense.registrar.voxbin.local"),
            None
        );
        assert_eq!(
            customer_of(&format!("sip:1001@{c}.trunk.voxbin.local")),
            None
        );
        assert_eq!(customer_of(&format!("sip:1001@{c}.registrar")), None);
        assert_eq!(host_of("sip:[2001:db8::1]:5060"), "[2001:db8::1]");
        let pai = format!("<sip:2001@{c}{SUFFIX}>");
        assert_eq!(asserted(&pai), Some((c, "2001".into())));
        assert_eq!(asserted(""), None);
        assert_eq!(asserted("<sip:+15550199@carrier.example>"), None);
    }

    #[test]
    fn contacts_are_dialled_along_their_path_or_through_their_edge() {
        let id = Uuid::now_v7();
        let path = "<sip:10.0.0.7:5060;lr;ftok=u~198.51.100.9~40000~0011223344556677>";
        let b = binding("sip:1001@192.168.1.20:5060", None, 100, Some(path));
        let d = dial_contact(id, &b, "<sip:2001@realm>", Some("<sip:2001@realm>"));
        assert_eq!(d.uri, "sip:1001@192.168.1.20:5060");
        assert_eq!(d.proxy.as_deref(), Some("10.0.0.7:5060"));
        assert_eq!(d.headers[0], ("Route".to_owned(), path.to_owned()));
        assert_eq!(d.headers[1].0, "P-Asserted-Identity");
        let b = binding("sip:1001@192.168.1.20:5060", None, 100, None);
        let d = dial_contact(id, &b, "<sip:2001@realm>", None);
        assert_eq!(d.proxy.as_deref(), Some("127.0.0.1:5060"));
        assert!(d.headers.is_empty());
    }

    #[test]
    fn preferred_contacts_first() {
        let list = vec![
            binding("sip:a@h", Some(0.5), 300, None),
            binding("sip:b@h", None, 100, None),
            binding("sip:c@h", None, 200, None),
        ];
        let uris: Vec<String> = by_preference(list).into_iter().map(|b| b.uri).collect();
        assert_eq!(uris, ["sip:c@h", "sip:b@h", "sip:a@h"]);
    }

    #[test]
    fn failed_callees_become_the_callers_answer() {
        assert_eq!(caller_failure(486, "busy").0, 486);
        assert_eq!(caller_failure(0, "failed").2, HangupReason::Noanswer);
        assert_eq!(caller_failure(408, "timeout").0, 480);
        assert_eq!(caller_failure(603, "failed").0, 603);
        assert_eq!(caller_failure(404, "failed").0, 404);
        assert_eq!(
            caller_failure(500, "failed"),
            (480, "Temporarily Unavailable", HangupReason::Failed)
        );
    }
}
