//! The way back to a registered phone, like an RFC 3327 Path: at REGISTER the edge stores with
//! each binding its own route URI carrying the flow token of the phone's connection. A media
//! node calling the phone preloads that route (`Route: <sip:edge;lr;ftok=...>`); the edge pops
//! it, sends the INVITE down the phone's flow and record-routes so the dialog keeps both ways.
//!
//! Record-Route of such an INVITE: the upper entry keeps the phone's token (the media node,
//! the caller, pops it last: its requests go down the phone's flow), the lower one has none
//! (the phone pops it last: its requests go on by Route or Request-URI to the media node).

use crate::proxy::flow::FlowSigner;
use crate::proxy::route::{Identity, NextHop, FLOW_PARAM};
use voxbin_sip::{HeaderName, Method, Request, Target};

/// The Path value for a phone reached at `flow` through the edge node at `hostport`.
pub fn path_for(hostport: &str, signer: &FlowSigner, flow: Target) -> String {
    format!("<sip:{hostport};lr;{FLOW_PARAM}={}>", signer.encode(flow))
}

/// Prepares a request without To tag that named the edge in its top Route, after the edge's
/// routes were popped (`hop` is where it goes): an INVITE from a media node (`from_node`) down a
/// phone's flow is record-routed; a request from anyone else loses any P-Asserted-Identity,
/// which only the edge itself vouches for after authentication.
pub fn initial_request_on_path(
    req: &mut Request,
    hop: &NextHop,
    from_node: bool,
    me: &Identity,
    signer: &FlowSigner,
) {
    if !from_node {
        req.headers.remove_all(&HeaderName::PAssertedIdentity);
        return;
    }
    if let (Method::Invite, NextHop::Flow(phone)) = (&req.method, hop) {
        let hostport = me.hostport();
        let towards_phone = path_for(hostport, signer, *phone);
        // insert_first puts each on top: the one towards the phone ends up first.
        req.headers
            .insert_first(HeaderName::RecordRoute, format!("<sip:{hostport};lr>"));
        req.headers
            .insert_first(HeaderName::RecordRoute, towards_phone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::route::loose_route;
    use voxbin_sip::{parse_datagram, Host, Message, NameAddr, Transport};

    fn me() -> Identity {
        Identity::new(Host::V4([127, 0, 0, 1].into()), 5060, vec![])
    }

    fn request(text: &str) -> Request {
        match parse_datagram(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
    }

    fn phone() -> Target {
        Target::new(Transport::Udp, "198.51.100.9:40000".parse().unwrap())
    }

    fn invite(route: &str) -> Request {
        request(&format!(
            "INVITE sip:1001@192.168.1.20:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5080;branch=z9hG4bKm1
Route: {route}
From: <sip:2001@c1.registrar.voxbin.local>;tag=m1
To: <sip:1001@192.168.1.20:5060>
Call-ID: m1
CSeq: 1 INVITE
P-Asserted-Identity: <sip:2001@c1.registrar.voxbin.local>
Contact: <sip:media@10.0.0.5:5080>
Max-Forwards: 70
Content-Length: 0

"
        ))
    }

    #[test]
    fn a_media_node_reaches_the_phone_by_its_path_and_both_sides_route_back() {
        let signer = FlowSigner::new(b"cluster");
        let path = path_for(me().hostport(), &signer, phone());
        let mut req = invite(&path);
        let hop = loose_route(&mut req, &me(), &signer).unwrap();
        assert_eq!(hop, NextHop::Flow(phone()));
        initial_request_on_path(&mut req, &hop, true, &me(), &signer);
        let rr: Vec<NameAddr> = req.headers.record_routes().unwrap();
        assert_eq!(rr.len(), 2);
        assert!(req.headers.get(&HeaderName::PAssertedIdentity).is_some());

        // The phone's BYE: routes in Record-Route order; it goes to the media node's Contact.
        let routes: Vec<String> = rr.iter().map(|r| r.to_string()).collect();
        let mut bye = invite(&routes[0]);
        bye.method = Method::Bye;
        bye.uri = voxbin_sip::Uri::parse("sip:media@10.0.0.5:5080").unwrap();
        bye.headers.push(HeaderName::Route, routes[1].clone());
        let NextHop::Uri(uri) = loose_route(&mut bye, &me(), &signer).unwrap() else {
            panic!("the phone's requests go to the media node's contact")
        };
        assert_eq!(uri.to_string(), "sip:media@10.0.0.5:5080");

        // The media node's BYE: reversed; it goes down the phone's flow, wherever its Contact.
        let mut bye = invite(&routes[1]);
        bye.method = Method::Bye;
        bye.headers.push(HeaderName::Route, routes[0].clone());
        assert_eq!(
            loose_route(&mut bye, &me(), &signer),
            Ok(NextHop::Flow(phone()))
        );
    }

    #[test]
    fn others_on_a_path_lose_their_asserted_identity_and_get_no_record_route() {
        let signer = FlowSigner::new(b"cluster");
        let mut req = invite(&path_for(me().hostport(), &signer, phone()));
        let hop = loose_route(&mut req, &me(), &signer).unwrap();
        initial_request_on_path(&mut req, &hop, false, &me(), &signer);
        assert!(req.headers.get(&HeaderName::PAssertedIdentity).is_none());
        assert!(req.headers.get(&HeaderName::RecordRoute).is_none());
    }
}
