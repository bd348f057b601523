//! Responses the edge writes itself (challenges, refusals, 200 to OPTIONS and REGISTER).
//!
//! RFC 3261 8.2.6: the response copies every Via, From, To, Call-ID and CSeq of the request;
//! any final response gets a To tag when the request had none. The tag is derived from the
//! request, so every edge node answers a retransmission with the same tag.

use std::hash::{Hash, Hasher};
use voxbin_sip::{HeaderName, Request, Response};

/// `Server` header value of the edge's own responses.
pub const SERVER: &str = "voxbin-sip-edge";

/// A response of `status` to `req`.
pub fn reply(req: &Request, status: u16, reason: &str) -> Response {
    let mut resp = Response::new(status, reason);
    for h in req.headers.iter() {
        let copy = matches!(
            h.name,
            HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq
        );
        if copy {
            resp.headers.push(h.name.clone(), h.value.clone());
        } else if h.name == HeaderName::To {
            let needs_tag = status > 100 && !has_tag(&h.value);
            let value = if needs_tag {
                format!("{};tag={}", h.value, local_tag(req)).into()
            } else {
                h.value.clone()
            };
            resp.headers.push(HeaderName::To, value);
        }
    }
    resp.headers.push(HeaderName::Server, SERVER);
    resp
}

/// Whether a From/To value carries a `tag` parameter (outside the `<uri>`).
pub fn has_tag(value: &str) -> bool {
    let params = match value.rfind('>') {
        Some(i) => &value[i..],
        None => value,
    };
    params.split(';').skip(1).any(|p| {
        p.trim()
            .get(..4)
            .is_some_and(|t| t.eq_ignore_ascii_case("tag="))
    })
}

/// A To tag for the edge's own responses, stable for one request on every node.
fn local_tag(req: &Request) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    req.headers.get(&HeaderName::CallId).hash(&mut h);
    req.headers.get(&HeaderName::From).hash(&mut h);
    format!("vxe{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxbin_sip::{parse_datagram, Message};

    #[test]
    fn replies_copy_the_transaction_headers_and_tag_the_to() {
        let text = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c\r\nCSeq: 7 OPTIONS\r\nUser-Agent: x\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Request(req)) = parse_datagram(text.as_bytes()) else {
            panic!("parses")
        };
        let resp = reply(&req, 200, "OK");
        assert_eq!(resp.headers.get_all(&HeaderName::Via).count(), 2);
        let to = resp.headers.get(&HeaderName::To).unwrap();
        assert!(to.starts_with("<sip:127.0.0.1>;tag=vxe"), "{to}");
        assert_eq!(
            reply(&req, 200, "OK").headers.get(&HeaderName::To),
            Some(to)
        );
        assert_eq!(resp.headers.get(&HeaderName::CSeq), Some("7 OPTIONS"));
        assert!(resp.headers.get(&HeaderName::UserAgent).is_none());
        let trying = reply(&req, 100, "Trying");
        assert_eq!(trying.headers.get(&HeaderName::To), Some("<sip:127.0.0.1>"));
        assert!(has_tag("<sip:a@x;tag=no>;tag=yes"));
        assert!(!has_tag("<sip:a@x;tag=inside-uri>"));
    }
}
