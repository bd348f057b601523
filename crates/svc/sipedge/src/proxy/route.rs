//! Record-Route and Route handling: how the edge stays on a dialog's path without state.
//!
//! On a new INVITE the edge records two routes to itself (RFC 3261 16.6, the "double
//! Record-Route" shape): the upper one faces the media node, the lower one faces the caller and
//! carries a flow token of where the caller really is. The callee's route set lists them in
//! that order and the caller's in reverse, so on an in-dialog request the edge pops every route
//! of its own, and the last one popped says where to go: a flow token sends the request to the
//! caller's flow, no token means onward by the next Route or the Request-URI (the media node's
//! Contact). Any edge node with the cluster secret can do this.

use super::flow::FlowSigner;
use std::net::{IpAddr, SocketAddr};
use voxbin_sip::{HeaderName, Host, NameAddr, Request, Scheme, Target, Transport, Uri};

/// The URI parameter carrying a flow token.
pub const FLOW_PARAM: &str = "ftok";

/// The edge's own addresses, to recognise its routes.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Host written in Via and Record-Route.
    host: Host,
    /// Port written in Via and Record-Route.
    port: u16,
    /// Other `host:port` pairs that also mean "this edge" (listen addresses).
    aliases: Vec<(Host, u16)>,
    /// `host:port` as written, derived once: every in-dialog request is compared with it.
    hostport: String,
}

impl Identity {
    /// The edge at `host:port`, also known as each of `aliases`.
    pub fn new(host: Host, port: u16, aliases: Vec<(Host, u16)>) -> Identity {
        let hostport = format!("{host}:{port}");
        Identity {
            host,
            port,
            aliases,
            hostport,
        }
    }

    /// Host written in Via and Record-Route.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Port written in Via and Record-Route.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether `uri` points at this edge (same host and port, default 5060 / 5061 for sips).
    pub fn is_ours(&self, uri: &Uri) -> bool {
        let default = if uri.scheme == Scheme::Sips {
            5061
        } else {
            5060
        };
        let port = uri.port.unwrap_or(default);
        let same = |h: &Host, p: u16| p == port && host_eq(h, &uri.host);
        same(&self.host, self.port) || self.aliases.iter().any(|(h, p)| same(h, *p))
    }

    /// `host:port` as written in the edge's Via and Record-Route.
    pub fn hostport(&self) -> &str {
        &self.hostport
    }

    /// Reads a Route value the edge wrote itself (`<sip:HOST:PORT;lr>` or
    /// `<sip:HOST:PORT;lr;ftok=TOKEN>`, as [`record_route`] writes them) without parsing it:
    /// `Some(token)` when it is one, `None` for anything else (which may still be ours).
    pub fn own_route_text<'a>(&self, value: &'a str) -> Option<Option<&'a str>> {
        let rest = value.strip_prefix("<sip:")?;
        let rest = rest
            .strip_prefix(self.hostport.as_str())?
            .strip_prefix(";lr")?;
        if rest == ">" {
            return Some(None);
        }
        let token = rest.strip_prefix(";")?.strip_prefix(FLOW_PARAM)?;
        let token = token.strip_prefix('=')?.strip_suffix('>')?;
        let plain = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        (!token.is_empty() && token.as_bytes().iter().all(plain)).then_some(Some(token))
    }

    /// The URI of one of the edge's Record-Route entries.
    pub fn route_uri(&self, flow_token: Option<&str>) -> Uri {
        let mut uri = Uri::sip(None, self.host.clone(), Some(self.port));
        uri.params.set("lr", None);
        if let Some(t) = flow_token {
            uri.params.set(FLOW_PARAM, Some(t));
        }
        uri
    }
}

fn host_eq(a: &Host, b: &Host) -> bool {
    match (a, b) {
        (Host::Domain(x), Host::Domain(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Adds the edge's two Record-Route entries to a new INVITE whose source has the flow `token`
/// ([`FlowSigner::encode`]).
pub fn record_route(req: &mut Request, me: &Identity, token: &str) {
    let hostport = me.hostport();
    // Written directly: the same text as NameAddr/Uri would give, without building them.
    let mut inner = String::with_capacity(12 + hostport.len());
    inner.push_str("<sip:");
    inner.push_str(hostport);
    inner.push_str(";lr");
    let mut outer = String::with_capacity(inner.len() + 8 + token.len());
    outer.push_str(&inner);
    outer.push(';');
    outer.push_str(FLOW_PARAM);
    outer.push('=');
    outer.push_str(token);
    outer.push('>');
    inner.push('>');
    // insert_first puts each before the current first Record-Route: inner ends on top.
    req.headers.insert_first(HeaderName::RecordRoute, outer);
    req.headers.insert_first(HeaderName::RecordRoute, inner);
}

/// Where an in-dialog request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextHop {
    /// The flow a route token named (the caller's side).
    Flow(Target),
    /// This URI (the next Route, or the Request-URI).
    Uri(Uri),
}

/// Why an in-dialog request cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The top Route is not the edge's (or there is none).
    NotOurs,
    /// A Route header does not parse.
    BadRoute,
    /// The edge's route carries a token that was not signed by this cluster.
    ForgedToken,
}

/// Pops the edge's own routes from `req` (RFC 3261 16.4 loose routing, with the strict-router
/// case of a Request-URI that is one of the edge's routes) and tells where to send it.
pub fn loose_route(
    req: &mut Request,
    me: &Identity,
    signer: &FlowSigner,
) -> Result<NextHop, RouteError> {
    // A strict router before us put our route into the Request-URI and the target last.
    if me.is_ours(&req.uri) && req.uri.is_loose_route() {
        let last = req
            .headers
            .iter()
            .rposition(|h| h.name == HeaderName::Route)
            .ok_or(RouteError::NotOurs)?;
        let value = req.headers.0.remove(last).value;
        let target = NameAddr::parse(&value)
            .map_err(|_| RouteError::BadRoute)?
            .uri;
        let popped = std::mem::replace(&mut req.uri, target);
        let token = popped.params.value(FLOW_PARAM).map(str::to_string);
        return next_after(req, Some(token), me, signer);
    }
    next_after(req, None, me, signer)
}

/// Pops the routes of the edge on top of `req`; `last_ours` is the flow token of a route
/// popped already (`Some(None)`: one without a token).
fn next_after(
    req: &mut Request,
    mut last_ours: Option<Option<String>>,
    me: &Identity,
    signer: &FlowSigner,
) -> Result<NextHop, RouteError> {
    while let Some(value) = req.headers.get(&HeaderName::Route) {
        // The edge's own routes come back as it wrote them: read those without a parse.
        let token = match me.own_route_text(value) {
            Some(token) => token.map(str::to_string),
            None => {
                let route = NameAddr::parse(value).map_err(|_| RouteError::BadRoute)?;
                if !me.is_ours(&route.uri) {
                    break;
                }
                route.uri.params.value(FLOW_PARAM).map(str::to_string)
            }
        };
        req.headers.remove_first(&HeaderName::Route);
        last_ours = Some(token);
    }
    let last = last_ours.ok_or(RouteError::NotOurs)?;
    if let Some(token) = last {
        return signer
            .decode(&token)
            .map(NextHop::Flow)
            .ok_or(RouteError::ForgedToken);
    }
    match req.headers.get(&HeaderName::Route) {
        Some(next) => NameAddr::parse(next)
            .map(|n| NextHop::Uri(n.uri))
            .map_err(|_| RouteError::BadRoute),
        None => Ok(NextHop::Uri(req.uri.clone())),
    }
}

/// The flow a URI names when its host is an IP address: transport from `transport=` (or TLS
/// for sips), port from the URI or the scheme's default. `None` for host names.
pub fn uri_flow(uri: &Uri) -> Option<Target> {
    let ip: IpAddr = uri.host.ip()?;
    let transport = match uri.transport().map(str::to_ascii_lowercase).as_deref() {
        Some("tcp") => Transport::Tcp,
        Some("tls") => Transport::Tls,
        Some("ws") => Transport::Ws,
        Some("wss") => Transport::Wss,
        _ if uri.scheme == Scheme::Sips => Transport::Tls,
        _ => Transport::Udp,
    };
    let default = if transport == Transport::Tls {
        5061
    } else {
        5060
    };
    Some(Target::new(
        transport,
        SocketAddr::new(ip, uri.port.unwrap_or(default)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxbin_sip::parse_datagram;
    use voxbin_sip::Message;

    fn me() -> Identity {
        Identity::new(
            Host::V4([127, 0, 0, 1].into()),
            5060,
            vec![(Host::Domain("edge.example".into()), 5060)],
        )
    }

    fn request(text: &str) -> Request {
        match parse_datagram(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
    }

    const INVITE: &str = "INVITE sip:100@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1;rport=40000;received=198.51.100.9
Record-Route: <sip:upstream.example;lr>
From: <sip:a@example.com>;tag=1
To: <sip:100@127.0.0.1>
Call-ID: c1
CSeq: 1 INVITE
Contact: <sip:a@192.0.2.7:5060>
Max-Forwards: 70
Content-Length: 0

";

    fn caller() -> Target {
        Target::new(Transport::Udp, "198.51.100.9:40000".parse().unwrap())
    }

    #[test]
    fn requests_from_either_side_find_their_way_through_any_node() {
        let signer = FlowSigner::new(b"cluster");
        let mut invite = request(INVITE);
        record_route(&mut invite, &me(), &signer.encode(caller()));
        let rr: Vec<NameAddr> = invite.headers.record_routes().unwrap();
        assert_eq!(rr.len(), 3);
        assert!(me().is_ours(&rr[0].uri) && rr[0].uri.params.value(FLOW_PARAM).is_none());
        assert_eq!(
            rr[0].to_string(),
            NameAddr::new(me().route_uri(None)).to_string()
        );
        assert!(rr[1].uri.params.value(FLOW_PARAM).is_some());
        assert_eq!(rr[2].uri.host, Host::Domain("upstream.example".into()));

        // The callee's BYE: Route = the record-route set in order; R-URI = caller's Contact.
        let routes: Vec<String> = rr.iter().map(|r| r.to_string()).collect();
        let mut bye = request(&format!(
            "BYE sip:a@192.0.2.7:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5080;branch=z9hG4bK2
Route: {}
Route: {}
Route: {}
From: <sip:100@127.0.0.1>;tag=2
To: <sip:a@example.com>;tag=1
Call-ID: c1
CSeq: 1 BYE
Content-Length: 0

",
            routes[0], routes[1], routes[2]
        ));
        // Another node, same secret, no memory of the call.
        let other = FlowSigner::new(b"cluster");
        assert_eq!(
            loose_route(&mut bye, &me(), &other),
            Ok(NextHop::Flow(caller()))
        );
        assert_eq!(
            bye.headers.routes().unwrap().len(),
            1,
            "only the upstream route is left"
        );

        // The caller's BYE: Route = reversed set (upstream first, then ours).
        let mut bye = request(&format!(
            "BYE sip:media@10.0.0.5:5080 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK3
Route: {}
Route: {}
From: <sip:a@example.com>;tag=1
To: <sip:100@127.0.0.1>;tag=2
Call-ID: c1
CSeq: 2 BYE
Content-Length: 0

",
            routes[1], routes[0]
        ));
        let hop = loose_route(&mut bye, &me(), &other).unwrap();
        let NextHop::Uri(uri) = hop else {
            panic!("expected the media node's contact, got {hop:?}")
        };
        assert_eq!(
            uri_flow(&uri).unwrap().addr,
            "10.0.0.5:5080".parse::<SocketAddr>().unwrap()
        );
        assert!(bye.headers.routes().unwrap().is_empty());
    }

    #[test]
    fn foreign_routes_and_forged_tokens_are_refused() {
        let signer = FlowSigner::new(b"cluster");
        let mut req = request(&INVITE.replace(
            "Record-Route: <sip:upstream.example;lr>",
            "Route: <sip:elsewhere.example;lr>",
        ));
        assert_eq!(
            loose_route(&mut req, &me(), &signer),
            Err(RouteError::NotOurs)
        );
        let forged = FlowSigner::new(b"attacker").encode(caller());
        let mut req = request(&INVITE.replace(
            "Record-Route: <sip:upstream.example;lr>",
            &format!("Route: <sip:127.0.0.1:5060;lr;ftok={forged}>"),
        ));
        assert_eq!(
            loose_route(&mut req, &me(), &signer),
            Err(RouteError::ForgedToken)
        );
    }

    #[test]
    fn the_edges_own_routes_are_read_from_their_text() {
        let me = me();
        let signer = FlowSigner::new(b"k");
        let mut req = request("INVITE sip:b@10.0.0.2 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>\nCall-ID: c\nCSeq: 1 INVITE\n\n");
        record_route(&mut req, &me, &signer.encode(caller()));
        let written: Vec<String> = req
            .headers
            .get_all(&HeaderName::RecordRoute)
            .map(str::to_string)
            .collect();
        assert_eq!(me.own_route_text(&written[0]), Some(None));
        let token = me.own_route_text(&written[1]).flatten().expect("a token");
        assert_eq!(signer.decode(token), Some(caller()));
        // Anything else is left to the parser, even when it names the edge.
        for other in [
            "<sip:127.0.0.1;lr>",
            "<sip:127.0.0.1:5060;lr;x=1>",
            "<sip:127.0.0.1:5060>",
            "<sip:127.0.0.1:5060;lr;ftok=a b>",
            "<sip:127.0.0.1:50600;lr>",
            "<sip:edge.example:5060;lr>",
        ] {
            assert_eq!(me.own_route_text(other), None, "{other}");
        }
    }

    #[test]
    fn uri_flows_follow_transport_and_scheme() {
        let f = uri_flow(&Uri::parse("sip:a@10.0.0.1;transport=TCP").unwrap()).unwrap();
        assert_eq!((f.transport, f.addr.port()), (Transport::Tcp, 5060));
        let f = uri_flow(&Uri::parse("sips:a@[2001:db8::1]").unwrap()).unwrap();
        assert_eq!((f.transport, f.addr.port()), (Transport::Tls, 5061));
        assert_eq!(uri_flow(&Uri::parse("sip:a@media.example").unwrap()), None);
    }
}
