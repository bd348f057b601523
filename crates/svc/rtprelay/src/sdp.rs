//! Rewriting an SDP body so both endpoints send their media to the relay: every `m=` port
//! becomes the relay's port for that stream, the connection addresses become the relay's,
//! `a=rtcp` follows, and ICE attributes are removed (the relay is the only path).

use std::net::{IpAddr, SocketAddr};
use voxbin_media::sdp::{Attribute, Connection, SessionDescription};

/// ICE attributes dropped from a rewritten body.
const ICE_ATTRIBUTES: &[&str] = &[
    "candidate",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "remote-candidates",
    "end-of-candidates",
];

/// How to rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    /// The relay's address, written into `c=` (and `o=` when asked).
    pub ip: IpAddr,
    /// Also replace the origin's address (ng `replace: origin`).
    pub replace_origin: bool,
    /// Remove ICE attributes (the default; ng `ICE: force` would keep them, we never do ICE).
    pub remove_ice: bool,
}

/// The address each `m=` line asks media to be sent to; `None` for a disabled (port 0)
/// stream or one without a usable connection address.
pub fn remotes(sdp: &SessionDescription) -> Vec<Option<SocketAddr>> {
    (0..sdp.media.len())
        .map(|i| {
            let port = sdp.media[i].port;
            let ip = sdp.connection_for(i)?.ip()?;
            (port != 0 && !ip.is_unspecified()).then(|| SocketAddr::new(ip, port))
        })
        .collect()
}

/// Points every enabled `m=` line of `sdp` at `ports[i]` on the relay's address.
pub fn rewrite(sdp: &mut SessionDescription, ports: &[u16], how: Rewrite) {
    let conn = Connection::from_ip(how.ip);
    let held = sdp
        .connection
        .as_ref()
        .and_then(Connection::ip)
        .is_some_and(|ip| ip.is_unspecified());
    // An old-style hold (c=0.0.0.0) stays a hold; otherwise media comes to us.
    if !held {
        sdp.connection = Some(conn.clone());
    }
    if how.replace_origin {
        sdp.origin.addr_type = conn.addr_type.clone();
        sdp.origin.address = conn.address.clone();
    }
    if how.remove_ice {
        sdp.attributes
            .retain(|a| !ICE_ATTRIBUTES.contains(&a.name.as_str()));
    }
    for (m, &port) in sdp.media.iter_mut().zip(ports) {
        if m.port == 0 {
            continue;
        }
        m.port = port;
        let media_held = m
            .connection
            .as_ref()
            .and_then(Connection::ip)
            .is_some_and(|ip| ip.is_unspecified());
        if m.connection.is_some() && !media_held {
            m.connection = Some(conn.clone());
        }
        if how.remove_ice {
            m.attributes
                .retain(|a| !ICE_ATTRIBUTES.contains(&a.name.as_str()));
        }
        for a in m.attributes.iter_mut().filter(|a| a.name == "rtcp") {
            *a = Attribute::new(
                "rtcp",
                format!(
                    "{} IN {} {}",
                    port.wrapping_add(1),
                    conn.addr_type,
                    conn.address
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=ice-lite\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:4001\r\na=candidate:1 1 UDP 1 10.0.0.1 4000 typ host\r\na=ice-ufrag:x\r\na=sendrecv\r\nm=video 0 RTP/AVP 96\r\n";

    #[test]
    fn media_goes_to_the_relay_and_ice_is_gone() {
        let mut sdp: SessionDescription = OFFER.parse().unwrap();
        assert_eq!(
            remotes(&sdp),
            vec![Some("10.0.0.1:4000".parse().unwrap()), None]
        );
        let how = Rewrite {
            ip: "192.0.2.10".parse().unwrap(),
            replace_origin: true,
            remove_ice: true,
        };
        rewrite(&mut sdp, &[50000, 50004], how);
        let text = sdp.to_string();
        assert!(text.contains("c=IN IP4 192.0.2.10\r\n"), "{text}");
        assert!(text.contains("o=alice 1 1 IN IP4 192.0.2.10\r\n"), "{text}");
        assert!(text.contains("m=audio 50000 RTP/AVP 0 101\r\n"), "{text}");
        assert!(
            text.contains("a=rtcp:50001 IN IP4 192.0.2.10\r\n"),
            "{text}"
        );
        assert!(text.contains("m=video 0 RTP/AVP 96\r\n"), "{text}");
        assert!(text.contains("a=sendrecv"), "{text}");
        assert!(
            !text.contains("candidate") && !text.contains("ice-"),
            "{text}"
        );
        let back: SessionDescription = text.parse().unwrap();
        assert_eq!(remotes(&back)[0], Some("192.0.2.10:50000".parse().unwrap()));
    }

    #[test]
    fn a_hold_stays_a_hold() {
        let mut sdp: SessionDescription = OFFER
            .replace("c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0")
            .parse()
            .unwrap();
        assert_eq!(remotes(&sdp)[0], None);
        let how = Rewrite {
            ip: "192.0.2.10".parse().unwrap(),
            replace_origin: false,
            remove_ice: false,
        };
        rewrite(&mut sdp, &[50000, 0], how);
        let text = sdp.to_string();
        assert!(text.contains("c=IN IP4 0.0.0.0\r\n"), "{text}");
        assert!(text.contains("o=alice 1 1 IN IP4 10.0.0.1\r\n"), "{text}");
        assert!(text.contains("a=ice-ufrag:x"), "{text}");
    }
}
