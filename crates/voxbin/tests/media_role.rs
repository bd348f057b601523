//! The media role as a real process (`voxbin serve --role media`): its SIP user agent
//! answers the edge's OPTIONS health checks, takes an INVITE, and on SIGTERM drains - OPTIONS
//! and new INVITEs get 503 while the call in flight stays - then exits once the grace is over.

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};
use support::Server;

/// A UDP SIP peer on loopback.
struct Peer {
    socket: UdpSocket,
    port: u16,
}

impl Peer {
    fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        Peer { socket, port }
    }

    fn send(&self, to: &str, text: &str) {
        self.socket.send_to(text.as_bytes(), to).unwrap();
    }

    /// The status of the next response whose CSeq names `method` (others are skipped).
    fn status_for(&self, method: &str, within: Duration) -> Option<u16> {
        let deadline = Instant::now() + within;
        let mut buf = vec![0u8; 65536];
        while Instant::now() < deadline {
            let Ok((n, _)) = self.socket.recv_from(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            let is_for = text
                .lines()
                .any(|l| l.starts_with("CSeq:") && l.trim_end().ends_with(method));
            if text.starts_with("SIP/2.0 ") && is_for {
                return text[8..11].parse().ok();
            }
        }
        None
    }

    fn options(&self, to: &str, n: u32) -> String {
        format!(
            "OPTIONS sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bKopt{n}\r\n\
             From: <sip:edge@127.0.0.1>;tag=e{n}\r\nTo: <sip:{to}>\r\nCall-ID: opt{n}@test\r\n\
             CSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            p = self.port
        )
    }

    fn invite(&self, to: &str, n: u32) -> String {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 45990 RTP/AVP 0\r\n";
        format!(
            "INVITE sip:ivr@{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bKinv{n}\r\n\
             From: <sip:caller@127.0.0.1>;tag=c{n}\r\nTo: <sip:ivr@{to}>\r\nCall-ID: inv{n}@test\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:{p}>\r\nMax-Forwards: 70\r\n\
             Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
            p = self.port,
            len = sdp.len()
        )
    }
}

#[test]
fn media_role_answers_health_checks_and_drains_on_sigterm() {
    let port = support::free_port();
    let sip = format!("127.0.0.1:{port}");
    let listen = format!("media.sip_listen={sip}");
    let mut server = Server::start(&[
        "--role",
        "media",
        "--set",
        &listen,
        "--set",
        "rtp.port_min=47000",
        "--set",
        "rtp.port_max=47199",
        "--set",
        "shutdown.grace_period_secs=6",
    ]);
    let peer = Peer::new();
    peer.send(&sip, &peer.options(&sip, 1));
    assert_eq!(
        peer.status_for("OPTIONS", Duration::from_secs(5)),
        Some(200)
    );

    // a call nobody answers yet: it keeps the node busy through the drain
    peer.send(&sip, &peer.invite(&sip, 1));
    assert_eq!(peer.status_for("INVITE", Duration::from_secs(5)), Some(100));

    server.sigterm();
    let mut refused = None;
    for n in 2..40 {
        peer.send(&sip, &peer.options(&sip, n));
        match peer.status_for("OPTIONS", Duration::from_millis(500)) {
            Some(503) => {
                refused = Some(n);
                break;
            }
            _ => continue,
        }
    }
    assert!(refused.is_some(), "OPTIONS never got 503 while draining");
    peer.send(&sip, &peer.invite(&sip, 2));
    let mut second = None;
    for _ in 0..10 {
        match peer.status_for("INVITE", Duration::from_millis(500)) {
            Some(100) | None => continue,
            other => {
                second = other;
                break;
            }
        }
    }
    assert_eq!(second, Some(503), "a new INVITE while draining");
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
}
