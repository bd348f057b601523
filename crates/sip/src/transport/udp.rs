//! The UDP receive loop: one datagram is one message.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::parse::parse_datagram_with;
use crate::target::{Target, Transport};
use crate::transport::{deliver, deliver_error, Shared};

/// Receives datagrams until cancelled or nobody listens.
pub(crate) async fn run(socket: Arc<UdpSocket>, local: SocketAddr, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let received = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let (n, peer) = match received {
            Ok(r) => r,
            // ICMP errors from earlier sends surface here on some systems: keep going
            Err(_) => continue,
        };
        let data = &buf[..n];
        // keep-alives (CRLF) and empty datagrams carry nothing
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0))
        {
            continue;
        }
        let from = Target::new(Transport::Udp, peer);
        let alive = match parse_datagram_with(data, &shared.limits) {
            Ok(msg) => deliver(&shared, msg, from, local).await,
            Err(error) => deliver_error(&shared, error, from, Some(data.to_vec())).await,
        };
        if !alive {
            return;
        }
    }
}
