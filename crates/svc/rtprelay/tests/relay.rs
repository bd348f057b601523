//! Two real UDP endpoints talk through the relay, set up over the (in-process) bus the way the
//! call service does it: offer, answer, query, delete, and idle timeout.

use serde_json::{json, Value};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use voxbin_bus::{event_handler_fn, Bus, BusClient, InProcBus, Method};
use voxbin_svc_rtprelay::{RtpRelay, Settings};

fn settings(port_min: u16, timeout: Duration) -> Settings {
    Settings {
        ng_listen: None,
        bind_ip: "127.0.0.1".parse().unwrap(),
        advertise_ip: "127.0.0.1".parse().unwrap(),
        port_min,
        port_max: port_min + 99,
        workers: 2,
        timeout,
    }
}

fn sdp(port: u16) -> String {
    format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
}

/// The port of the first `m=` line.
fn media_port(sdp: &str) -> u16 {
    let line = sdp.lines().find(|l| l.starts_with("m=audio ")).unwrap();
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

fn rtp(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 160, 1, 2, 3, 4];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

fn endpoint() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn relay_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Receives one datagram; answers its sequence number and source.
fn recv_seq(s: &UdpSocket) -> Option<(u16, SocketAddr)> {
    let mut buf = [0u8; 2048];
    let (n, from) = s.recv_from(&mut buf).ok()?;
    (n >= 12).then(|| (u16::from_be_bytes([buf[2], buf[3]]), from))
}

async fn events(bus: &Arc<dyn Bus>) -> mpsc::UnboundedReceiver<(String, Value)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let consumer = bus
        .subscribe(
            "rtprelay-test",
            &["rtp-relay-manager"],
            event_handler_fn(move |e| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((e.event_type, e.data.unwrap_or_default()));
                    Ok(())
                }
            }),
        )
        .await
        .unwrap();
    std::mem::forget(consumer);
    rx
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<(String, Value)>) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("an event in time")
        .expect("the event channel is open")
}

/// The relay's view of the test's session.
async fn session(client: &BusClient) -> voxbin_core::Result<Value> {
    client
        .call(
            "rtp-relay",
            Method::Get,
            "/v1/rtpsessions/call-1@test",
            None,
        )
        .await
}

/// Waits until the relay counted `n` packets from `side` of the first stream.
async fn wait_for_packets(client: &BusClient, side: &str, n: u64) {
    for _ in 0..500 {
        let q = session(client).await.unwrap();
        if q["streams"][0][side]["packets"].as_u64() >= Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the relay never counted {n} packets from {side}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_behind_nat_talk_through_the_relay_until_deleted() {
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let mut ev = events(&bus).await;
    let relay = RtpRelay::start(
        settings(50000, Duration::from_secs(60)),
        bus.clone(),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let client = BusClient::new(bus.clone(), "call", Duration::from_secs(3));

    // The SDPs name ports nobody reads: the real sockets sit behind "NATs" on other ports.
    let (a, b) = (endpoint(), endpoint());
    let offer: Value = client
        .call(
            "rtp-relay",
            Method::Post,
            "/v1/rtpsessions/offer",
            Some(json!({
                "call_id": "call-1@test", "from_tag": "alice", "sdp": sdp(9),
            })),
        )
        .await
        .unwrap();
    let to_b = media_port(offer["sdp"].as_str().unwrap());
    let answer: Value = client
        .call(
            "rtp-relay",
            Method::Post,
            "/v1/rtpsessions/answer",
            Some(json!({
                "call_id": "call-1@test", "from_tag": "alice", "to_tag": "bob", "sdp": sdp(11),
            })),
        )
        .await
        .unwrap();
    let to_a = media_port(answer["sdp"].as_str().unwrap());
    assert_ne!(to_a, to_b);
    assert!((50000..50100).contains(&to_a) && (50000..50100).contains(&to_b));

    let (created, data) = next_event(&mut ev).await;
    assert_eq!(
        (created.as_str(), data["call_id"].as_str()),
        ("rtpsession_created", Some("call-1@test"))
    );

    // B speaks first (latching B), then A; each reaches the other's real socket.
    b.send_to(&rtp(1), relay_addr(to_b)).unwrap();
    // The two ports are read by different workers: A's packet must not overtake B's latch.
    wait_for_packets(&client, "b", 1).await;
    a.send_to(&rtp(2), relay_addr(to_a)).unwrap();
    assert_eq!(recv_seq(&b), Some((2, relay_addr(to_b))));
    b.send_to(&rtp(3), relay_addr(to_b)).unwrap();
    assert_eq!(recv_seq(&a), Some((3, relay_addr(to_a))));
    // B's first packet went to the SDP's port 9 before A had latched; nothing else reaches A.
    for seq in 10..20 {
        a.send_to(&rtp(seq), relay_addr(to_a)).unwrap();
        assert_eq!(recv_seq(&b).map(|r| r.0), Some(seq));
    }
    // A stranger cannot hijack A's latched leg.
    let stranger = endpoint();
    stranger.send_to(&rtp(99), relay_addr(to_a)).unwrap();
    b.send_to(&rtp(4), relay_addr(to_b)).unwrap();
    assert_eq!(recv_seq(&a).map(|r| r.0), Some(4));

    let q = session(&client).await.unwrap();
    let s = &q["streams"][0];
    assert_eq!(
        (s["a"]["packets"].as_u64(), s["b"]["packets"].as_u64()),
        (Some(11), Some(3))
    );
    assert_eq!(s["a"]["dropped"].as_u64(), Some(1));
    assert_eq!(
        s["a"]["remote"].as_str(),
        Some(a.local_addr().unwrap().to_string().as_str())
    );
    let list: Value = client
        .call("rtp-relay", Method::Get, "/v1/rtpsessions", None)
        .await
        .unwrap();
    assert_eq!(list["result"].as_array().map(Vec::len), Some(1));

    let gone: Value = client
        .call(
            "rtp-relay",
            Method::Delete,
            "/v1/rtpsessions/call-1@test",
            None,
        )
        .await
        .unwrap();
    assert_eq!(gone["call_id"], "call-1@test");
    let (deleted, data) = next_event(&mut ev).await;
    assert_eq!(
        (deleted.as_str(), data["reason"].as_str()),
        ("rtpsession_deleted", Some("deleted"))
    );

    // After the delete the relay's ports are closed: nothing is relayed any more.
    a.send_to(&rtp(50), relay_addr(to_a)).unwrap();
    b.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert_eq!(recv_seq(&b), None);
    let err = session(&client).await.unwrap_err();
    assert_eq!(err.http_status(), 404);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_400_and_an_idle_session_times_out() {
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let mut ev = events(&bus).await;
    let relay = RtpRelay::start(
        settings(50100, Duration::from_secs(1)),
        bus.clone(),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let client = BusClient::new(bus.clone(), "call", Duration::from_secs(3));
    for body in [
        json!({"call_id": "x", "from_tag": "a", "sdp": "not sdp"}),
        json!({"call_id": "x", "sdp": sdp(9)}),
        json!({"call_id": "", "from_tag": "a", "sdp": sdp(9)}),
    ] {
        let err = client
            .call(
                "rtp-relay",
                Method::Post,
                "/v1/rtpsessions/offer",
                Some(body),
            )
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 400, "{err:?}");
    }
    client
        .call(
            "rtp-relay",
            Method::Post,
            "/v1/rtpsessions/offer",
            Some(json!({
                "call_id": "idle", "from_tag": "a", "sdp": sdp(9),
            })),
        )
        .await
        .unwrap();
    assert_eq!(next_event(&mut ev).await.0, "rtpsession_created");
    let (deleted, data) = next_event(&mut ev).await;
    assert_eq!(
        (
            deleted.as_str(),
            data["reason"].as_str(),
            data["call_id"].as_str()
        ),
        ("rtpsession_deleted", Some("timeout"), Some("idle"))
    );
    assert_eq!(relay.control().sessions(), 0);
    relay.stop().await;
}
