//! Stamping `received` and `rport` on the top Via of an incoming request (RFC 3261 18.2.1,
//! RFC 3581), so responses can find their way back through NAT.

use std::net::SocketAddr;

use crate::header_name::HeaderName;
use crate::message::Request;
use crate::via::Via;

/// Adds `received=<source ip>` when the sent-by host differs from the source (or `rport` was
/// asked for) and fills in `rport=<source port>` when the client asked for it.
pub(crate) fn stamp_received(req: &mut Request, source: SocketAddr) {
    let Some(line) = req.headers.0.iter_mut().find(|h| h.name == HeaderName::Via) else {
        return;
    };
    // an unparseable Via is left for the transaction layer to report
    let Ok(mut via) = Via::parse(&line.value) else {
        return;
    };
    let ip = source.ip();
    let wants_rport = via.params.has("rport");
    if via.host.ip() != Some(ip) || wants_rport {
        via.params.set("received", Some(&ip.to_string()));
    }
    if wants_rport {
        via.params.set("rport", Some(&source.port().to_string()));
    }
    line.value = via.to_string().into();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Method, Uri};

    fn req(via: &str) -> Request {
        let mut r = Request::new(Method::Options, Uri::parse("sip:x").unwrap());
        r.headers.push(HeaderName::Via, via);
        r.headers
            .push(HeaderName::Via, "SIP/2.0/UDP second;branch=z9hG4bK2");
        r
    }

    #[test]
    fn received_and_rport_are_filled_in() {
        let mut r = req("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1");
        stamp_received(&mut r, "203.0.113.9:40000".parse().unwrap());
        let via = r.headers.top_via().unwrap();
        assert_eq!(via.received(), Some("203.0.113.9"));
        assert_eq!(via.rport(), Some(Some(40000)));
        assert_eq!(r.headers.vias().unwrap()[1].received(), None);
    }

    #[test]
    fn matching_host_without_rport_is_untouched() {
        let mut r = req("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1");
        let before = r.clone();
        stamp_received(&mut r, "10.0.0.5:5060".parse().unwrap());
        assert_eq!(r, before);
        let mut r = req("SIP/2.0/UDP phone.example;branch=z9hG4bK1");
        stamp_received(&mut r, "[2001:db8::7]:5062".parse().unwrap());
        assert_eq!(r.headers.top_via().unwrap().received(), Some("2001:db8::7"));
    }
}
