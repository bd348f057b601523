//! Flow tokens: where the far side of a dialog really is, carried in the edge's own
//! Record-Route entry instead of in any node's memory.
//!
//! A phone behind NAT, or on TCP, TLS or WebSocket, is reachable only through the address and
//! connection its requests came from, not through its Contact. The edge records that source in
//! the Record-Route entry facing the phone (`ftok=<transport>~<ip>~<port>~<mac>`), so any edge
//! node that later pops this route knows where to send the request. The MAC (HMAC-SHA256 with
//! the cluster secret, truncated) stops a forged Route from turning the edge into a relay.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use voxbin_sip::{Target, Transport};

fn letter(t: Transport) -> char {
    match t {
        Transport::Udp => 'u',
        Transport::Tcp => 't',
        Transport::Tls => 's',
        Transport::Ws => 'w',
        Transport::Wss => 'x',
    }
}

fn from_letter(c: char) -> Option<Transport> {
    Some(match c {
        'u' => Transport::Udp,
        't' => Transport::Tcp,
        's' => Transport::Tls,
        'w' => Transport::Ws,
        'x' => Transport::Wss,
        _ => return None,
    })
}

/// Lower-case transport name, as stored in bindings (`udp`, `tcp`, ...).
pub fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
        Transport::Ws => "ws",
        Transport::Wss => "wss",
    }
}

/// Length of the MAC in hex characters.
const MAC_HEX: usize = 16;

/// Signs and checks flow tokens with the cluster secret.
#[derive(Clone)]
pub struct FlowSigner {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for FlowSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowSigner")
    }
}

impl FlowSigner {
    /// A signer with the cluster secret.
    pub fn new(secret: &[u8]) -> FlowSigner {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new_from_slice(b"-").expect("key"));
        FlowSigner { mac }
    }

    /// Appends the MAC of `body` in lower-case hex to `out` (every new call and every
    /// in-dialog request passes here, so no formatter).
    fn push_tag(&self, body: &str, out: &mut String) {
        let mut m = self.mac.clone();
        m.update(body.as_bytes());
        voxbin_sip::push_hex(out, &m.finalize().into_bytes()[..MAC_HEX / 2]);
    }

    /// The token for `flow`: URI-parameter safe (IPv6 colons become `-`).
    pub fn encode(&self, flow: Target) -> String {
        let mut token = String::with_capacity(48 + MAC_HEX);
        token.push(letter(flow.transport));
        token.push('~');
        match flow.addr.ip() {
            IpAddr::V4(a) => voxbin_sip::push_ipv4(&mut token, a),
            IpAddr::V6(a) => token.push_str(&a.to_string().replace(':', "-")),
        }
        token.push('~');
        voxbin_sip::push_u32_str(&mut token, u32::from(flow.addr.port()));
        let mut tag = String::with_capacity(MAC_HEX);
        self.push_tag(&token, &mut tag);
        token.push('~');
        token.push_str(&tag);
        token
    }

    /// The flow in a token, if the token is well formed and signed by the cluster.
    pub fn decode(&self, token: &str) -> Option<Target> {
        let (body, tag) = token.rsplit_once('~')?;
        let mut expected = String::with_capacity(MAC_HEX);
        self.push_tag(body, &mut expected);
        if tag.len() != MAC_HEX || !constant_time_eq(expected.as_bytes(), tag.as_bytes()) {
            return None;
        }
        let mut parts = body.split('~');
        let mut letter = parts.next()?.chars();
        let transport = from_letter(letter.next()?)?;
        let ip: IpAddr = parts.next()?.replace('-', ":").parse().ok()?;
        let port: u16 = parts.next()?.parse().ok()?;
        if letter.next().is_some() || parts.next().is_some() {
            return None;
        }
        Some(Target::new(transport, SocketAddr::new(ip, port)))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_between_nodes_with_one_secret() {
        let a = FlowSigner::new(b"cluster");
        let b = FlowSigner::new(b"cluster");
        for (t, addr) in [
            (Transport::Udp, "192.0.2.7:40123"),
            (Transport::Wss, "[2001:db8::5]:443"),
            (Transport::Tcp, "10.1.2.3:5060"),
        ] {
            let flow = Target::new(t, addr.parse().unwrap());
            let token = a.encode(flow);
            assert!(!token.contains(':') && !token.contains(';'), "{token}");
            assert_eq!(b.decode(&token), Some(flow));
        }
    }

    #[test]
    fn tokens_keep_their_text_across_versions() {
        // Nodes of one cluster running different builds must read each other's routes.
        let flow = Target::new(Transport::Udp, "192.0.2.7:5060".parse().unwrap());
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(b"cluster").unwrap();
        m.update(b"u~192.0.2.7~5060");
        let mac = m.finalize().into_bytes();
        let hex: String = mac[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            FlowSigner::new(b"cluster").encode(flow),
            format!("u~192.0.2.7~5060~{hex}")
        );
        let v6 = Target::new(Transport::Tls, "[2001:db8::5]:5061".parse().unwrap());
        assert!(FlowSigner::new(b"cluster")
            .encode(v6)
            .starts_with("s~2001-db8--5~5061~"));
    }

    #[test]
    fn forged_or_garbled_tokens_are_refused() {
        let a = FlowSigner::new(b"cluster");
        let other = FlowSigner::new(b"another cluster");
        let flow = Target::new(Transport::Udp, "192.0.2.7:5060".parse().unwrap());
        let token = a.encode(flow);
        assert_eq!(other.decode(&token), None);
        let redirected = token.replace("192.0.2.7", "198.51.100.1");
        assert_eq!(a.decode(&redirected), None);
        for junk in ["", "~", "u~1.2.3.4~5060", "q~1.2.3.4~5060~0011223344556677"] {
            assert_eq!(a.decode(junk), None, "{junk}");
        }
    }
}
