//! The rtp-relay role as a real process (`voxbin serve --role rtp-relay`): a client speaking
//! rtpengine's ng protocol sets up a call, two UDP endpoints exchange RTP through it, the
//! metrics show it, and SIGTERM drains (no new calls, the call in progress keeps its media
//! until it is deleted, then the process exits).

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};
use support::{get, Server};
use voxbin_svc_rtprelay::ng::bencode::{decode, dict, Value};

struct Ng {
    socket: UdpSocket,
    n: u32,
}

impl Ng {
    fn new(addr: &str) -> Ng {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket.connect(addr).unwrap();
        Ng { socket, n: 0 }
    }

    fn call(&mut self, msg: Value) -> Value {
        self.n += 1;
        let cookie = format!("t{}", self.n);
        let mut out = format!("{cookie} ").into_bytes();
        msg.encode_into(&mut out);
        self.socket.send(&out).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = self.socket.recv(&mut buf).unwrap();
        assert!(buf[..n].starts_with(cookie.as_bytes()));
        decode(&buf[cookie.len() + 1..n]).unwrap()
    }

    fn sdp_call(&mut self, command: &str, call_id: &str, to_tag: Option<&str>, port: u16) -> Value {
        let sdp = format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n");
        let mut entries = vec![
            (b"command".to_vec(), Value::str(command)),
            (b"call-id".to_vec(), Value::str(call_id)),
            (b"from-tag".to_vec(), Value::str("caller")),
            (b"sdp".to_vec(), Value::str(&sdp)),
        ];
        if let Some(t) = to_tag {
            entries.push((b"to-tag".to_vec(), Value::str(t)));
        }
        self.call(Value::Dict(entries))
    }
}

fn media_port(v: &Value) -> u16 {
    let sdp = v
        .get_str("sdp")
        .unwrap_or_else(|| panic!("no sdp in {v:?}"));
    let line = sdp.lines().find(|l| l.starts_with("m=audio ")).unwrap();
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

fn metric(server: &Server, name: &str) -> f64 {
    let (_, body) = get(&server.metrics, "/metrics").unwrap();
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn wait_metric(server: &Server, name: &str, ok: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok(metric(server, name)) {
        assert!(Instant::now() < deadline, "{name} never got there");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn relay_role_carries_a_call_set_up_over_ng_and_drains_on_sigterm() {
    let mut server = Server::start(&[
        "--role",
        "rtp-relay",
        "--set",
        "rtp_relay.ng_listen=127.0.0.1:18540",
        "--set",
        "rtp_relay.port_min=50400",
        "--set",
        "rtp_relay.port_max=50499",
    ]);
    let mut ng = Ng::new("127.0.0.1:18540");
    assert_eq!(
        ng.call(dict([("command", Value::str("ping"))]))
            .get_str("result"),
        Some("pong")
    );

    let (a, b) = (
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        UdpSocket::bind("127.0.0.1:0").unwrap(),
    );
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    let offer = ng.sdp_call("offer", "e2e-1", None, a.local_addr().unwrap().port());
    let to_b = media_port(&offer);
    let answer = ng.sdp_call(
        "answer",
        "e2e-1",
        Some("callee"),
        b.local_addr().unwrap().port(),
    );
    let to_a = media_port(&answer);
    assert!((50400..=50499).contains(&to_a) && (50400..=50499).contains(&to_b));

    let exchange = |seq: u8| {
        let pkt = [0x80, 0, 0, seq, 0, 0, 0, 0, 0, 0, 0, 7, 0xff];
        let mut buf = [0u8; 64];
        a.send_to(&pkt, ("127.0.0.1", to_a)).unwrap();
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!((n, buf[3]), (pkt.len(), seq));
        b.send_to(&pkt, ("127.0.0.1", to_b)).unwrap();
        let (n, _) = a.recv_from(&mut buf).unwrap();
        assert_eq!((n, buf[3]), (pkt.len(), seq));
    };
    for seq in 0..5 {
        exchange(seq);
    }
    wait_metric(&server, "voxbin_rtp_relay_sessions", |v| v == 1.0);
    wait_metric(
        &server,
        "voxbin_rtp_relay_packets_total{result=\"forwarded\"}",
        |v| v >= 10.0,
    );

    // Draining: not ready, no new calls, the call in progress keeps its media.
    server.sigterm();
    server.wait_ready_status(503, Duration::from_secs(10));
    let refused = ng.sdp_call("offer", "e2e-2", None, 4000);
    assert_eq!(refused.get_str("result"), Some("error"), "{refused:?}");
    exchange(9);
    let deleted = ng.call(dict([
        ("command", Value::str("delete")),
        ("call-id", Value::str("e2e-1")),
    ]));
    assert_eq!(deleted.get_str("result"), Some("ok"));
    // With its last call gone the process exits well within the grace period.
    assert!(server.wait_exit(Duration::from_secs(20)).success());
}
