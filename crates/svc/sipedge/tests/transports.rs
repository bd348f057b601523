//! The edge as a whole on real sockets: UDP, TCP and WebSocket answered, a new call with no
//! media node refused with 503, and draining on shutdown.

use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use voxbin_bus::InProcBus;
use voxbin_cache::MemoryCache;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;
use voxbin_sip::Transport;
use voxbin_svc_sipedge::{EdgeDeps, SipEdge};

const WAIT: Duration = Duration::from_secs(10);

async fn edge(shutdown: &Shutdown) -> SipEdge {
    edge_with_tls(shutdown, None).await
}

async fn edge_with_tls(shutdown: &Shutdown, tls: Option<(PathBuf, PathBuf)>) -> SipEdge {
    let mut config = Config::default();
    config.sip.listen = "127.0.0.1:0".into();
    config.sip.ws_listen = "127.0.0.1:0".into();
    if tls.is_some() {
        config.sip.tls_listen = "127.0.0.1:0".into();
    }
    SipEdge::start(EdgeDeps {
        bus: Arc::new(InProcBus::new()),
        cache: Arc::new(MemoryCache::new(1000)),
        config: Arc::new(config),
        shutdown: shutdown.clone(),
        tls_files: tls,
    })
    .await
    .expect("the edge starts")
}

fn options(transport: &str, branch: &str) -> String {
    format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:5099;branch=z9hG4bK{branch}\r\n\
         From: <sip:ping@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ping-{branch}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

async fn udp_exchange(to: SocketAddr, request: &str, replies: usize) -> Vec<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(request.as_bytes(), to).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_535];
    for _ in 0..replies {
        let (n, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

#[tokio::test]
async fn options_are_answered_over_udp_tcp_and_websocket() {
    let shutdown = Shutdown::new();
    let edge = edge(&shutdown).await;
    let udp = edge.local_addr(Transport::Udp).unwrap();
    let answer = udp_exchange(udp, &options("UDP", "u1"), 1).await;
    assert!(answer[0].starts_with("SIP/2.0 200 OK"), "{}", answer[0]);

    let tcp = edge.local_addr(Transport::Tcp).unwrap();
    assert_eq!(tcp, udp, "TCP listens on the UDP port");
    let mut stream = TcpStream::connect(tcp).await.unwrap();
    stream
        .write_all(options("TCP", "t1").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200 OK"));

    let ws = edge.local_addr(Transport::Ws).unwrap();
    let mut request = format!("ws://{ws}/").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    let stream = TcpStream::connect(ws).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    socket
        .send(WsMessage::text(options("WS", "w1")))
        .await
        .unwrap();
    let frame = tokio::time::timeout(WAIT, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(frame.to_text().unwrap().starts_with("SIP/2.0 200 OK"));
}

#[tokio::test]
async fn without_media_nodes_a_call_gets_503_and_garbage_gets_400() {
    let shutdown = Shutdown::new();
    let edge = edge(&shutdown).await;
    let udp = edge.local_addr(Transport::Udp).unwrap();
    let invite = options("UDP", "i1")
        .replace("OPTIONS sip:127.0.0.1", "INVITE sip:100@127.0.0.1")
        .replace("1 OPTIONS", "1 INVITE");
    let answers = udp_exchange(udp, &invite, 2).await;
    assert!(
        answers[0].starts_with("SIP/2.0 100 Trying"),
        "{}",
        answers[0]
    );
    assert!(answers[1].starts_with("SIP/2.0 503"), "{}", answers[1]);
    assert!(answers[1].contains("Retry-After: 5"));

    let broken = options("UDP", "b1").replace("Max-Forwards: 70", "Max-Forwards seventy");
    let answers = udp_exchange(udp, &broken, 1).await;
    assert!(answers[0].starts_with("SIP/2.0 400"), "{}", answers[0]);
}

#[tokio::test]
async fn a_draining_edge_refuses_new_requests_with_503_then_stops() {
    let shutdown = Shutdown::new();
    let edge = edge(&shutdown).await;
    let udp = edge.local_addr(Transport::Udp).unwrap();
    // The edge sees the draining flag on its next turn; ask until it answers 503.
    shutdown.begin();
    let mut last = String::new();
    for i in 0..50 {
        last = udp_exchange(udp, &options("UDP", &format!("d{i}")), 1)
            .await
            .remove(0);
        if last.starts_with("SIP/2.0 503") {
            break;
        }
    }
    assert!(last.starts_with("SIP/2.0 503"), "{last}");
    assert!(last.contains("Retry-After"));
    tokio::time::timeout(WAIT, edge.stopped())
        .await
        .expect("an idle draining edge stops");
}

#[tokio::test]
async fn options_are_answered_over_tls_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let shutdown = Shutdown::new();
    let edge = edge_with_tls(&shutdown, Some((cert_path, key_path))).await;
    let tls = edge.local_addr(Transport::Tls).expect("a TLS listener");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let name = rustls::pki_types::ServerName::IpAddress(tls.ip().into());
    let stream = TcpStream::connect(tls).await.unwrap();
    let mut stream = connector.connect(name, stream).await.unwrap();
    stream
        .write_all(options("TLS", "s1").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200 OK"));
}

#[tokio::test]
async fn a_broken_request_over_tcp_gets_its_400_on_the_same_connection() {
    let shutdown = Shutdown::new();
    let edge = edge(&shutdown).await;
    let tcp = edge.local_addr(Transport::Tcp).unwrap();
    let mut stream = TcpStream::connect(tcp).await.unwrap();
    let broken = options("TCP", "b1").replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nthis line is not a header\r\n",
    );
    stream
        .write_all(format!("{broken}{}", options("TCP", "b2")).as_bytes())
        .await
        .unwrap();
    let mut got = String::new();
    let mut buf = vec![0u8; 8192];
    while got.matches("\r\n\r\n").count() < 2 {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("answers in time")
            .unwrap();
        assert!(n > 0, "the edge closed the connection: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("SIP/2.0 400 "), "{got}");
    assert!(got.contains("branch=z9hG4bKb1"), "{got}");
    // The connection went on: the next request on it was answered too.
    assert!(
        got.contains("SIP/2.0 200 OK") && got.contains("z9hG4bKb2"),
        "{got}"
    );
    drop(edge);
}

#[tokio::test]
async fn a_media_node_announced_on_the_in_process_bus_is_checked_and_gets_calls() {
    use voxbin_bus::Bus;
    use voxbin_svc_sipedge::medianode::{MediaNodeAnnouncement, MediaNodeStatus};
    let shutdown = Shutdown::new();
    let bus = Arc::new(InProcBus::new());
    let mut config = Config::default();
    config.sip.listen = "127.0.0.1:0".into();
    let edge = SipEdge::start(EdgeDeps {
        bus: bus.clone(),
        cache: Arc::new(MemoryCache::new(1000)),
        config: Arc::new(config),
        shutdown: shutdown.clone(),
        tls_files: None,
    })
    .await
    .expect("the edge starts");
    let udp = edge.local_addr(Transport::Udp).unwrap();
    let node = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let announcement = MediaNodeAnnouncement {
        id: "0e5e0000-0000-4000-8000-000000000001".parse().unwrap(),
        address: node.local_addr().unwrap().to_string(),
        transport: "udp".into(),
        weight: 1,
        status: MediaNodeStatus::Up,
        tm_update: "2026-12-07T03:00:00Z".into(),
    };
    bus.publish(announcement.event()).await.unwrap();
    // The edge checks the node it just heard of.
    let mut buf = vec![0u8; 65_535];
    let (n, _) = tokio::time::timeout(WAIT, node.recv_from(&mut buf))
        .await
        .expect("an OPTIONS check")
        .unwrap();
    assert!(buf[..n].starts_with(b"OPTIONS "));
    // A new call goes to it.
    let invite = options("UDP", "i1")
        .replace("OPTIONS sip:127.0.0.1", "INVITE sip:100@127.0.0.1")
        .replace("1 OPTIONS", "1 INVITE");
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    phone.send_to(invite.as_bytes(), udp).await.unwrap();
    let forwarded = loop {
        let (n, _) = tokio::time::timeout(WAIT, node.recv_from(&mut buf))
            .await
            .expect("the INVITE is forwarded")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("INVITE ") {
            break text;
        }
    };
    assert!(forwarded.contains("Call-ID: ping-i1"), "{forwarded}");
    drop(edge);
}
