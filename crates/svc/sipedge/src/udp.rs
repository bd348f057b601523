//! The edge's own UDP socket: received straight in the core's task, sent without a hop.
//!
//! Nearly all SIP traffic of the edge is UDP, and handing every datagram from a receiving task
//! to the core's task cost more CPU (thread wake-ups) than parsing and routing it. So the core's
//! task reads the socket itself, draining every datagram that is ready before it sleeps again,
//! and writes with non-blocking sends. TCP, TLS and WebSocket stay with the `voxbin-sip`
//! transports.

use std::io;
use std::net::SocketAddr;
use voxbin_sip::{parse_datagram, HeaderName, Message, ParseError, Request};

/// What one datagram turned out to be.
// Made and matched at once, never stored: boxing the message would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Datagram {
    /// A SIP message (a request has `received`/`rport` stamped on its top Via).
    Sip(Message),
    /// A keep-alive (only CR/LF or whitespace).
    KeepAlive,
    /// Bytes that are not SIP; [`bad_request`] makes the answer, once the source was admitted.
    Malformed(ParseError),
}

/// Parses one received datagram from `source`.
pub fn decode(bytes: &[u8], source: SocketAddr) -> Datagram {
    if bytes
        .iter()
        .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0))
    {
        return Datagram::KeepAlive;
    }
    match parse_datagram(bytes) {
        Ok(Message::Request(mut req)) => {
            stamp_received(&mut req, source);
            Datagram::Sip(Message::Request(req))
        }
        Ok(msg) => Datagram::Sip(msg),
        Err(e) => Datagram::Malformed(e),
    }
}

/// A 400 (513 when too large) for a request that does not parse, built from its raw Via, From,
/// To, Call-ID and CSeq lines (full or compact names); `None` for responses and for input
/// without them.
pub fn bad_request(bytes: &[u8], error: &ParseError) -> Option<Vec<u8>> {
    let (status, reason) = (error.status(), error.reason());
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let start = lines.next()?;
    // A request line ends in SIP/2.0; a status line starts with it.
    if start.starts_with("SIP/") || !start.trim_end().ends_with("SIP/2.0") {
        return None;
    }
    let wanted = |name: &str| -> Option<&'static str> {
        let n = name.trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "via" | "v" => "Via",
            "from" | "f" => "From",
            "to" | "t" => "To",
            "call-id" | "i" => "Call-ID",
            "cseq" => "CSeq",
            _ => return None,
        })
    };
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    let mut seen = [false; 5];
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let Some(canonical) = wanted(name) else {
            continue;
        };
        let i = ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .position(|c| *c == canonical)
            .unwrap_or(0);
        seen[i] = true;
        out.push_str(&format!("{canonical}: {}\r\n", value.trim()));
    }
    if seen.iter().any(|s| !s) {
        return None;
    }
    out.push_str("Server: voxbin-sip-edge\r\nContent-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// RFC 3261 18.2.1 and RFC 3581: `received` when the source differs from the sent-by host
/// (or `rport` was asked for), `rport=<source port>` when asked for. Works on the header text
/// (no parse and re-serialise of the whole Via), as every request passes here.
pub fn stamp_received(req: &mut Request, source: SocketAddr) {
    let Some(line) = req.headers.0.iter_mut().find(|h| h.name == HeaderName::Via) else {
        return;
    };
    if let Some(stamped) = stamp_via(&line.value, source) {
        line.value = stamped.into();
    }
}

/// The Via value with `received`/`rport` filled in; `None` when nothing changes or the value
/// is not a Via (left for the transaction layer to report).
fn stamp_via(value: &str, source: SocketAddr) -> Option<String> {
    let (head, params) = match value.find(';') {
        Some(i) => (&value[..i], &value[i + 1..]),
        None => (value, ""),
    };
    let sent_by = head.trim().rsplit([' ', '\t']).next()?;
    let host = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => sent_by.split(':').next()?,
    };
    let ip = source.ip();
    let host_is_source = host.parse::<std::net::IpAddr>().ok() == Some(ip);
    let mut wants_rport = false;
    let mut has_received = false;
    for p in params.split(';') {
        let name = p.split('=').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("rport") {
            wants_rport = true;
        } else if name.eq_ignore_ascii_case("received") {
            has_received = true;
        }
    }
    if host_is_source && !wants_rport {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 40);
    out.push_str(head);
    for p in params.split(';').filter(|p| !p.is_empty()) {
        let name = p.split('=').next().unwrap_or("").trim();
        out.push(';');
        if name.eq_ignore_ascii_case("rport") {
            out.push_str("rport=");
            voxbin_sip::push_u32_str(&mut out, u32::from(source.port()));
        } else if name.eq_ignore_ascii_case("received") {
            out.push_str("received=");
            push_ip(&mut out, ip);
        } else {
            out.push_str(p);
        }
    }
    if !has_received {
        out.push_str(";received=");
        push_ip(&mut out, ip);
    }
    Some(out)
}

/// Appends an address as a Via `received` value (every request passes here, so no formatter).
fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(a) => voxbin_sip::push_ipv4(out, a),
        std::net::IpAddr::V6(a) => {
            use std::fmt::Write;
            let _ = write!(out, "{a}");
        }
    }
}

/// Sends `bytes` without waiting when the socket has room, else waits for it.
pub async fn send(socket: &tokio::net::UdpSocket, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
    match socket.try_send_to(bytes, to) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            socket.send_to(bytes, to).await.map(|_| ())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_get_their_source_and_keepalives_are_told_apart() {
        let text = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let source: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let Datagram::Sip(Message::Request(req)) = decode(text.as_bytes(), source) else {
            panic!("a request")
        };
        let via = req.headers.top_via().unwrap();
        assert_eq!(via.received(), Some("203.0.113.9"));
        assert_eq!(via.rport(), Some(Some(40000)));
        assert!(matches!(decode(b"\r\n\r\n", source), Datagram::KeepAlive));
        let Datagram::Malformed(e) = decode(b"HELLO", source) else {
            panic!("malformed")
        };
        assert!(bad_request(b"HELLO", &e).is_none());
    }

    #[test]
    fn stamping_follows_rfc_3581() {
        let src: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let stamp = |v: &str| stamp_via(v, src);
        assert_eq!(
            stamp("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport").as_deref(),
            Some("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000;received=203.0.113.9")
        );
        assert_eq!(
            stamp("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1").as_deref(),
            Some("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1;received=203.0.113.9")
        );
        // The source itself, no rport asked: nothing to add.
        assert_eq!(stamp("SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK1"), None);
        // The source itself with rport: the port still gets filled in.
        assert_eq!(
            stamp("SIP/2.0/UDP 203.0.113.9:5060;rport;branch=z9hG4bK1").as_deref(),
            Some("SIP/2.0/UDP 203.0.113.9:5060;rport=40000;branch=z9hG4bK1;received=203.0.113.9")
        );
        // A stale received is replaced; IPv6 sent-by in brackets.
        let v6: SocketAddr = "[2001:db8::9]:5070".parse().unwrap();
        assert_eq!(
            stamp_via("SIP/2.0/TCP [2001:db8::1]:5060;received=1.2.3.4;rport", v6).as_deref(),
            Some("SIP/2.0/TCP [2001:db8::1]:5060;received=2001:db8::9;rport=5070")
        );
        // Whatever the text, the result parses as a Via with the stamped values.
        let via =
            voxbin_sip::Via::parse(&stamp("SIP/2.0/UDP a.example;rport;branch=z9hG4bKx").unwrap())
                .unwrap();
        assert_eq!(via.received(), Some("203.0.113.9"));
        assert_eq!(via.rport(), Some(Some(40000)));
    }

    #[test]
    fn a_broken_request_still_gets_its_400() {
        let text = "INVITE sip:x SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nthis line is not a header\r\nContent-Length: 0\r\n\r\n";
        let source: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let Datagram::Malformed(e) = decode(text.as_bytes(), source) else {
            panic!("malformed")
        };
        let reply = bad_request(text.as_bytes(), &e).expect("a 400");
        let Ok(Message::Response(resp)) = parse_datagram(&reply) else {
            panic!("the 400 parses")
        };
        assert_eq!(resp.status, 400);
        assert_eq!(resp.headers.get(&HeaderName::CallId), Some("c"));
        assert!(resp
            .headers
            .get(&HeaderName::Via)
            .unwrap()
            .contains("z9hG4bK1"));
        // Without Via there is nowhere to answer; responses are never answered.
        let x = ParseError::bad("x");
        assert!(bad_request(b"INVITE sip:x SIP/2.0\r\nbroken\r\n\r\n", &x).is_none());
        assert!(bad_request(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", &x).is_none());
    }
}
