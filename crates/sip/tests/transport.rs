//! The tokio shell on loopback: UDP with received/rport, TCP framing and keep-alive with
//! connection reuse both ways, TLS, and WebSocket with the `sip` subprotocol.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc::Receiver;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use voxbin_sip::dialog::response_to;
use voxbin_sip::{
    parse_datagram, Incoming, Message, SipTransport, Target, Transport, TransportConfig,
};

const WAIT: Duration = Duration::from_secs(10);

fn options(via_transport: &str, extra_via: &str) -> String {
    format!(
        "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{via_transport} 10.9.9.9:5060;branch=z9hG4bKt1{extra_via}\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:edge@127.0.0.1>\r\nCall-ID: t1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn next(rx: &mut Receiver<Incoming>) -> Incoming {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a message in time")
        .expect("transport alive")
}

async fn next_message(rx: &mut Receiver<Incoming>) -> (Message, Target) {
    match next(rx).await {
        Incoming::Message { msg, from, .. } => (msg, from),
        Incoming::Malformed { error, .. } => panic!("unexpected malformed input: {error}"),
    }
}

fn answer(msg: &Message) -> Message {
    match msg {
        Message::Request(r) => response_to(r, 200, "OK").into(),
        Message::Response(_) => panic!("request expected"),
    }
}

/// Reads from a stream until `count` CRLFCRLF-terminated heads have arrived.
async fn read_until(stream: &mut (impl AsyncReadExt + Unpin), needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("data in time")
            .unwrap();
        assert!(n > 0, "peer closed early");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn udp_request_gets_received_and_rport_and_an_answer() {
    let cfg = TransportConfig {
        udp: vec![loopback()],
        ..TransportConfig::default()
    };
    let (sip, mut rx) = SipTransport::bind(cfg).await.unwrap();
    let server = sip.local_addr(Transport::Udp).unwrap();
    let client = UdpSocket::bind(loopback()).await.unwrap();
    client.send_to(b"\r\n\r\n", server).await.unwrap();
    client.send_to(b"garbage\r\n\r\n", server).await.unwrap();
    client
        .send_to(options("UDP", ";rport").as_bytes(), server)
        .await
        .unwrap();
    assert!(matches!(next(&mut rx).await, Incoming::Malformed { .. }));
    let (msg, from) = next_message(&mut rx).await;
    assert_eq!(
        from,
        Target::new(Transport::Udp, client.local_addr().unwrap())
    );
    let via = msg.headers().top_via().unwrap();
    assert_eq!(via.received(), Some("127.0.0.1"));
    assert_eq!(via.rport(), Some(Some(client.local_addr().unwrap().port())));
    sip.send(from, &answer(&msg)).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(WAIT, client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let Message::Response(resp) = parse_datagram(&buf[..n]).unwrap() else {
        panic!()
    };
    assert_eq!(resp.status, 200);
    sip.shutdown();
}

#[tokio::test]
async fn tcp_frames_split_messages_answers_pings_and_reuses_the_connection() {
    let cfg = TransportConfig {
        tcp: vec![loopback()],
        ..TransportConfig::default()
    };
    let (sip, mut rx) = SipTransport::bind(cfg).await.unwrap();
    let server = sip.local_addr(Transport::Tcp).unwrap();
    let mut client = TcpStream::connect(server).await.unwrap();
    let two = format!("{}{}", options("TCP", ""), options("TCP", ";x=2"));
    let (a, b) = two.as_bytes().split_at(70);
    client.write_all(a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    client.write_all(b).await.unwrap();
    let (first, from) = next_message(&mut rx).await;
    let (second, _) = next_message(&mut rx).await;
    assert_eq!(from.transport, Transport::Tcp);
    assert_eq!(from.addr, client.local_addr().unwrap());
    assert!(second.headers().top_via().unwrap().params.has("x"));
    // RFC 5626 ping -> pong
    client.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, client.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    // the answer goes back over the same connection
    sip.send(from, &answer(&first)).await.unwrap();
    let text = read_until(&mut client, "\r\n\r\n").await;
    assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
    assert_eq!(sip.connections(), 1);
    // A broken request whose end is known is reported with its head (for a 400) and the
    // connection goes on with the next message.
    let broken = "INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 10.9.9.9;branch=z9hG4bKb\r\n\
                  this line is not a header\r\nContent-Length: 4\r\n\r\nbody";
    client
        .write_all(format!("{broken}{}", options("TCP", ";x=3")).as_bytes())
        .await
        .unwrap();
    match next(&mut rx).await {
        Incoming::Malformed { raw: Some(raw), .. } => {
            let raw = String::from_utf8(raw).unwrap();
            assert!(raw.starts_with("INVITE sip:x") && raw.ends_with("Content-Length: 4\r\n\r\n"));
        }
        other => panic!("a malformed report with the head, got {other:?}"),
    }
    let (third, _) = next_message(&mut rx).await;
    assert!(third.headers().top_via().unwrap().params.has("x"));
    // garbage closes the connection after a Malformed report
    client.write_all(b"NOT SIP AT ALL\r\n\r\n").await.unwrap();
    assert!(matches!(
        next(&mut rx).await,
        Incoming::Malformed { raw: None, .. }
    ));
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, client.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(closed.is_ok());
    sip.shutdown();
}

#[tokio::test]
async fn outgoing_tcp_connects_once_and_hears_replies_on_it() {
    let (sip, mut rx) = SipTransport::bind(TransportConfig::default())
        .await
        .unwrap();
    let peer = TcpListener::bind(loopback()).await.unwrap();
    let target = Target::new(Transport::Tcp, peer.local_addr().unwrap());
    let req = parse_datagram(options("TCP", "").as_bytes()).unwrap();
    sip.send(target, &req).await.unwrap();
    let (mut conn, _) = tokio::time::timeout(WAIT, peer.accept())
        .await
        .unwrap()
        .unwrap();
    read_until(&mut conn, "\r\n\r\n").await;
    sip.send(target, &req).await.unwrap();
    read_until(&mut conn, "\r\n\r\n").await;
    // the peer answers on the connection we opened
    conn.write_all(&answer(&req).to_bytes()).await.unwrap();
    let (msg, from) = next_message(&mut rx).await;
    assert!(!msg.is_request());
    assert_eq!(from, target);
    assert_eq!(sip.connections(), 1);
    // nobody else connected
    assert!(
        tokio::time::timeout(Duration::from_millis(100), peer.accept())
            .await
            .is_err()
    );
    sip.shutdown();
}

fn tls_configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

#[tokio::test]
async fn tls_between_two_transports() {
    let (server_tls, client_tls) = tls_configs();
    let cfg = TransportConfig {
        tls: vec![loopback()],
        tls_server: Some(server_tls),
        ..TransportConfig::default()
    };
    let (server, mut server_rx) = SipTransport::bind(cfg).await.unwrap();
    let cfg = TransportConfig {
        tls_client: Some(client_tls),
        ..TransportConfig::default()
    };
    let (client, mut client_rx) = SipTransport::bind(cfg).await.unwrap();
    let target = Target::new(Transport::Tls, server.local_addr(Transport::Tls).unwrap());
    let req = parse_datagram(options("TLS", "").as_bytes()).unwrap();
    client.send(target, &req).await.unwrap();
    let (msg, from) = next_message(&mut server_rx).await;
    assert_eq!(from.transport, Transport::Tls);
    server.send(from, &answer(&msg)).await.unwrap();
    let (resp, resp_from) = next_message(&mut client_rx).await;
    assert!(!resp.is_request());
    assert_eq!(resp_from, target);
    server.shutdown();
    client.shutdown();
}

#[tokio::test]
async fn tls_listener_without_certificate_is_refused() {
    let cfg = TransportConfig {
        tls: vec![loopback()],
        ..TransportConfig::default()
    };
    assert!(SipTransport::bind(cfg).await.is_err());
}

#[tokio::test]
async fn websocket_needs_sip_subprotocol_and_carries_one_message_per_frame() {
    let cfg = TransportConfig {
        ws: vec![loopback()],
        ..TransportConfig::default()
    };
    let (sip, mut rx) = SipTransport::bind(cfg).await.unwrap();
    let addr = sip.local_addr(Transport::Ws).unwrap();
    let url = format!("ws://{addr}/");

    let plain = TcpStream::connect(addr).await.unwrap();
    let refused = tokio_tungstenite::client_async(url.as_str(), plain).await;
    assert!(refused.is_err(), "no sip subprotocol offered");

    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, resp) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    assert_eq!(resp.headers().get("sec-websocket-protocol").unwrap(), "sip");
    ws.send(WsMessage::text(options("WS", ""))).await.unwrap();
    let (msg, from) = next_message(&mut rx).await;
    assert_eq!(from.transport, Transport::Ws);
    sip.send(from, &answer(&msg)).await.unwrap();
    let frame = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let WsMessage::Text(text) = frame else {
        panic!("text frame expected")
    };
    assert!(text.as_str().starts_with("SIP/2.0 200 OK"));
    // no connection to send to is an error, not a hang
    let nobody = Target::new(Transport::Ws, "127.0.0.1:9".parse().unwrap());
    assert!(sip.send(nobody, &msg).await.is_err());
    sip.shutdown();
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed() {
    let cfg = TransportConfig {
        tcp: vec![loopback()],
        max_connections: 1,
        ..TransportConfig::default()
    };
    let (sip, mut rx) = SipTransport::bind(cfg).await.unwrap();
    let server = sip.local_addr(Transport::Tcp).unwrap();
    let mut first = TcpStream::connect(server).await.unwrap();
    first
        .write_all(options("TCP", "").as_bytes())
        .await
        .unwrap();
    next_message(&mut rx).await;
    let mut second = TcpStream::connect(server).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(WAIT, second.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "the second connection is closed at once");
    assert_eq!(sip.connections(), 1);
    sip.shutdown();
}
