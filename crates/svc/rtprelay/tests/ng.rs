//! rtpengine's ng protocol over real UDP: a client speaking bencode sets up a call the way
//! Kamailio's rtpengine module does, and bad input gets an error reply, never silence or a crash.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;
use voxbin_bus::{Bus, InProcBus};
use voxbin_svc_rtprelay::ng::bencode::{decode, dict, Value};
use voxbin_svc_rtprelay::{RtpRelay, Settings};

struct Client {
    socket: UdpSocket,
    n: u32,
}

impl Client {
    fn new(relay: &RtpRelay) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket.connect(relay.ng_addr().unwrap()).unwrap();
        Client { socket, n: 0 }
    }

    fn raw(&mut self, body: &[u8]) -> Vec<u8> {
        self.n += 1;
        let cookie = format!("{}_{}", std::process::id(), self.n);
        let mut msg = format!("{cookie} ").into_bytes();
        msg.extend_from_slice(body);
        self.socket.send(&msg).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = self.socket.recv(&mut buf).unwrap();
        let reply = &buf[..n];
        assert!(
            reply.starts_with(format!("{cookie} ").as_bytes()),
            "{:?}",
            String::from_utf8_lossy(reply)
        );
        reply[cookie.len() + 1..].to_vec()
    }

    fn call(&mut self, msg: Value) -> Value {
        decode(&self.raw(&msg.encode())).unwrap()
    }
}

fn sdp(port: u16) -> String {
    format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 8\r\na=ice-ufrag:abc\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 {port} typ host\r\n")
}

fn media_port(sdp: &str) -> u16 {
    let line = sdp.lines().find(|l| l.starts_with("m=audio ")).unwrap();
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

async fn relay() -> RtpRelay {
    relay_on(18500, 50200).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kamailio_style_client_sets_up_relays_and_tears_down_a_call() {
    let relay = relay().await;
    let (mut c, rtp_a, rtp_b) = (
        Client::new(&relay),
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        UdpSocket::bind("127.0.0.1:0").unwrap(),
    );
    rtp_b
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let r = tokio::task::block_in_place(|| c.call(dict([("command", Value::str("ping"))])));
    assert_eq!(r.get_str("result"), Some("pong"));

    let offer = dict([
        ("command", Value::str("offer")),
        ("call-id", Value::str("kam-1")),
        ("from-tag", Value::str("ft")),
        ("sdp", Value::str(&sdp(rtp_a.local_addr().unwrap().port()))),
        ("ICE", Value::str("remove")),
        (
            "replace",
            Value::List(vec![Value::str("origin"), Value::str("session-connection")]),
        ),
        ("flags", Value::List(vec![Value::str("trust-address")])),
    ]);
    let r = tokio::task::block_in_place(|| c.call(offer));
    assert_eq!(r.get_str("result"), Some("ok"), "{r:?}");
    let out = r.get_str("sdp").unwrap().to_string();
    assert!(
        !out.contains("candidate") && !out.contains("ice-ufrag"),
        "{out}"
    );
    assert!(out.contains("a=rtpmap") || out.contains("m=audio"), "{out}");
    let to_b = media_port(&out);

    let answer = dict([
        ("command", Value::str("answer")),
        ("call-id", Value::str("kam-1")),
        ("from-tag", Value::str("ft")),
        ("to-tag", Value::str("tt")),
        ("sdp", Value::str(&sdp(rtp_b.local_addr().unwrap().port()))),
    ]);
    let r = tokio::task::block_in_place(|| c.call(answer));
    assert_eq!(r.get_str("result"), Some("ok"), "{r:?}");
    let to_a = media_port(r.get_str("sdp").unwrap());

    // media flows A -> relay -> B, from the port B was told about
    let pkt = [0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff];
    rtp_a.send_to(&pkt, ("127.0.0.1", to_a)).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = rtp_b.recv_from(&mut buf).unwrap();
    assert_eq!((n, from.port()), (pkt.len(), to_b));

    let r = tokio::task::block_in_place(|| {
        c.call(dict([
            ("command", Value::str("query")),
            ("call-id", Value::str("kam-1")),
        ]))
    });
    assert_eq!(r.get_str("result"), Some("ok"), "{r:?}");
    let rtp = r.get("totals").and_then(|t| t.get("RTP")).unwrap();
    assert_eq!(rtp.get("packets"), Some(&Value::Int(1)));
    assert!(r.get("tags").and_then(|t| t.get("tt")).is_some(), "{r:?}");

    let r = tokio::task::block_in_place(|| c.call(dict([("command", Value::str("list"))])));
    assert_eq!(
        r.get("calls"),
        Some(&Value::List(vec![Value::str("kam-1")]))
    );
    let r = tokio::task::block_in_place(|| {
        c.call(dict([
            ("command", Value::str("delete")),
            ("call-id", Value::str("kam-1")),
            ("from-tag", Value::str("ft")),
        ]))
    });
    assert_eq!(r.get_str("result"), Some("ok"), "{r:?}");
    let r = tokio::task::block_in_place(|| {
        c.call(dict([
            ("command", Value::str("delete")),
            ("call-id", Value::str("kam-1")),
        ]))
    });
    assert_eq!(r.get_str("result"), Some("error"));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_error_reply() {
    let relay = relay_on(18501, 50300).await;
    let mut c = Client::new(&relay);
    for body in [
        &b"garbage"[..],
        b"li1ee",
        b"d7:command4:nopee",
        b"d3:sdp1:xe",
        b"d7:command5:offer7:call-id1:xe",
        b"d7:command5:offer7:call-id1:x8:from-tag1:y3:sdp9:not a sdpe",
        b"d7:command6:answer7:call-id1:x8:from-tag1:y3:sdp1:ve",
        b"d7:command5:querye",
    ] {
        let r = tokio::task::block_in_place(|| decode(&c.raw(body)).unwrap());
        assert_eq!(
            r.get_str("result"),
            Some("error"),
            "{:?} -> {r:?}",
            String::from_utf8_lossy(body)
        );
        assert!(r.get_str("error-reason").is_some_and(|s| !s.is_empty()));
    }
    // still alive
    let r = tokio::task::block_in_place(|| c.call(dict([("command", Value::str("ping"))])));
    assert_eq!(r.get_str("result"), Some("pong"));
    relay.stop().await;
}

async fn relay_on(ng_port: u16, port_min: u16) -> RtpRelay {
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let settings = Settings {
        ng_listen: Some(format!("127.0.0.1:{ng_port}")),
        bind_ip: "127.0.0.1".parse().unwrap(),
        advertise_ip: "127.0.0.1".parse().unwrap(),
        port_min,
        port_max: port_min + 99,
        workers: 1,
        timeout: Duration::from_secs(60),
    };
    RtpRelay::start(settings, bus, Duration::from_secs(3))
        .await
        .unwrap()
}
