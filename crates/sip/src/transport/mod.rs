//! The tokio shell: UDP, TCP, TLS and WebSocket (RFC 7118, subprotocol `sip`) listeners
//! delivering parsed messages as `Incoming`, and `send` to a `Target` reusing the open
//! connection to that peer (connecting out for TCP and TLS when there is none). Requests get
//! `received`/`rport` stamped on their top Via. All protocol logic stays in the sans-IO core.

pub mod mmsg;
mod received;
mod registry;
mod stream;
mod udp;
mod ws;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::ParseError;
use crate::message::Message;
use crate::parse::Limits;
use crate::target::{Target, Transport};
use registry::Registry;

pub(crate) use received::stamp_received;

/// What to listen on and how.
#[derive(Clone)]
pub struct TransportConfig {
    /// UDP listen addresses.
    pub udp: Vec<SocketAddr>,
    /// TCP listen addresses.
    pub tcp: Vec<SocketAddr>,
    /// TLS listen addresses (need `tls_server`).
    pub tls: Vec<SocketAddr>,
    /// WebSocket listen addresses.
    pub ws: Vec<SocketAddr>,
    /// Secure WebSocket listen addresses (need `tls_server`).
    pub wss: Vec<SocketAddr>,
    /// Certificate and key for TLS and WSS listeners.
    pub tls_server: Option<Arc<rustls::ServerConfig>>,
    /// Client settings for outgoing TLS connections (none: outgoing TLS is refused).
    pub tls_client: Option<Arc<rustls::ClientConfig>>,
    /// Parser bounds.
    pub limits: Limits,
    /// Close stream connections silent for this long.
    pub idle_timeout: Duration,
    /// Capacity of the `Incoming` channel (back-pressure on readers when full).
    pub queue: usize,
    /// Most open stream and WebSocket connections; new inbound ones beyond it are closed.
    pub max_connections: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            udp: Vec::new(),
            tcp: Vec::new(),
            tls: Vec::new(),
            ws: Vec::new(),
            wss: Vec::new(),
            tls_server: None,
            tls_client: None,
            limits: Limits::default(),
            idle_timeout: Duration::from_secs(600),
            queue: 4096,
            max_connections: 10_000,
        }
    }
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("udp", &self.udp)
            .field("tcp", &self.tcp)
            .field("tls", &self.tls)
            .field("ws", &self.ws)
            .field("wss", &self.wss)
            .field("limits", &self.limits)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// Something that arrived.
// moved through the channel once and matched at once: boxing would only add an allocation
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A parsed message (requests carry `received`/`rport` on the top Via).
    Message {
        /// The message.
        msg: Message,
        /// Who sent it, over what.
        from: Target,
        /// Our address it arrived on.
        local: SocketAddr,
    },
    /// Bytes that did not parse. A stream connection stays open when the message's end was
    /// still known (then `raw` holds its header block), else it is closed after this.
    Malformed {
        /// What was wrong.
        error: ParseError,
        /// Who sent it.
        from: Target,
        /// The message's header block (the whole datagram or WebSocket message), when its
        /// boundary was known: enough to answer a request with a 400.
        raw: Option<Vec<u8>>,
    },
}

/// State shared by the listener and connection tasks.
pub(crate) struct Shared {
    pub incoming: mpsc::Sender<Incoming>,
    pub registry: Registry,
    pub limits: Limits,
    pub idle_timeout: Duration,
    pub cancel: CancellationToken,
    pub tls_client: Option<Arc<rustls::ClientConfig>>,
    pub max_connections: usize,
}

/// Handle to the running transports; cheap to clone.
#[derive(Clone)]
pub struct SipTransport {
    shared: Arc<Shared>,
    udp: Arc<Vec<(SocketAddr, Arc<UdpSocket>)>>,
    locals: Arc<Vec<(Transport, SocketAddr)>>,
}

impl std::fmt::Debug for SipTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTransport")
            .field("locals", &self.locals)
            .finish_non_exhaustive()
    }
}

impl SipTransport {
    /// Binds every configured listener and starts their tasks; messages arrive on the
    /// returned receiver.
    pub async fn bind(
        cfg: TransportConfig,
    ) -> io::Result<(SipTransport, mpsc::Receiver<Incoming>)> {
        if (!cfg.tls.is_empty() || !cfg.wss.is_empty()) && cfg.tls_server.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS and WSS listeners need a server certificate",
            ));
        }
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let shared = Arc::new(Shared {
            incoming: tx,
            registry: Registry::default(),
            limits: cfg.limits,
            idle_timeout: cfg.idle_timeout,
            cancel: CancellationToken::new(),
            tls_client: cfg.tls_client.clone(),
            max_connections: cfg.max_connections,
        });
        let mut locals = Vec::new();
        let mut udp_sockets = Vec::new();
        for addr in &cfg.udp {
            let socket = Arc::new(UdpSocket::bind(addr).await?);
            let local = socket.local_addr()?;
            locals.push((Transport::Udp, local));
            tokio::spawn(udp::run(socket.clone(), local, shared.clone()));
            udp_sockets.push((local, socket));
        }
        let listeners = [
            (Transport::Tcp, &cfg.tcp),
            (Transport::Tls, &cfg.tls),
            (Transport::Ws, &cfg.ws),
            (Transport::Wss, &cfg.wss),
        ];
        for (transport, addrs) in listeners {
            for addr in addrs {
                let listener = TcpListener::bind(addr).await?;
                let local = listener.local_addr()?;
                locals.push((transport, local));
                let acceptor = cfg.tls_server.clone().map(tokio_rustls::TlsAcceptor::from);
                tokio::spawn(accept_loop(
                    listener,
                    transport,
                    local,
                    acceptor,
                    shared.clone(),
                ));
            }
        }
        Ok((
            SipTransport {
                shared,
                udp: Arc::new(udp_sockets),
                locals: Arc::new(locals),
            },
            rx,
        ))
    }

    /// The first bound address of `transport` (the real port when bound to port 0).
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.locals
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
    }

    /// Every bound (transport, address).
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.locals
    }

    /// Number of open stream and WebSocket connections.
    pub fn connections(&self) -> usize {
        self.shared.registry.len()
    }

    /// Serialises and sends `msg` to `target`.
    pub async fn send(&self, target: Target, msg: &Message) -> io::Result<()> {
        self.send_bytes(target, msg.to_bytes()).await
    }

    /// Sends wire bytes to `target`: over UDP from a socket of the same address family,
    /// otherwise over the open connection to the peer, connecting for TCP/TLS if needed.
    pub async fn send_bytes(&self, target: Target, bytes: Vec<u8>) -> io::Result<()> {
        if target.transport == Transport::Udp {
            // local addresses are cached: no getsockname per datagram
            let (_, socket) = self
                .udp
                .iter()
                .find(|(local, _)| local.is_ipv4() == target.addr.is_ipv4())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::AddrNotAvailable,
                        "no UDP socket for this address family",
                    )
                })?;
            socket.send_to(&bytes, target.addr).await?;
            return Ok(());
        }
        let bytes = match self.shared.registry.get(target.transport, target.addr) {
            Some(conn) => match conn.tx.send(bytes).await {
                Ok(()) => return Ok(()),
                // the connection closed meanwhile: connect anew below
                Err(mpsc::error::SendError(bytes)) => bytes,
            },
            None => bytes,
        };
        let tx = self.connect(target).await?;
        tx.send(bytes)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "connection closed"))
    }

    /// Opens an outgoing TCP or TLS connection and starts its task.
    async fn connect(&self, target: Target) -> io::Result<mpsc::Sender<Vec<u8>>> {
        let shared = self.shared.clone();
        match target.transport {
            Transport::Tcp => {
                let stream = TcpStream::connect(target.addr).await?;
                let local = stream.local_addr()?;
                let _ = stream.set_nodelay(true);
                Ok(stream::spawn(stream, target, local, shared))
            }
            Transport::Tls => {
                let config = shared.tls_client.clone().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "no TLS client configuration")
                })?;
                let stream = TcpStream::connect(target.addr).await?;
                let local = stream.local_addr()?;
                let _ = stream.set_nodelay(true);
                let name = rustls::pki_types::ServerName::IpAddress(target.addr.ip().into());
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, stream)
                    .await?;
                Ok(stream::spawn(tls, target, local, shared))
            }
            Transport::Ws | Transport::Wss => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no WebSocket connection to this peer",
            )),
            Transport::Udp => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "UDP has no connections",
            )),
        }
    }

    /// Stops every listener and connection task.
    pub fn shutdown(&self) {
        self.shared.cancel.cancel();
    }
}

/// Accepts connections and hands each to its task (after TLS and WebSocket handshakes).
async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    local: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, %local, "SIP accept failed");
                // out of descriptors and the like: breathe instead of spinning
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if shared.registry.len() >= shared.max_connections {
            tracing::warn!(%peer, %local, "SIP connection limit reached, closing new connection");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let target = Target::new(transport, peer);
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let handshake = Duration::from_secs(10);
            match (transport, acceptor) {
                (Transport::Tcp, _) => {
                    stream::spawn(stream, target, local, shared);
                }
                (Transport::Tls, Some(acc)) => {
                    match tokio::time::timeout(handshake, acc.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            stream::spawn(tls, target, local, shared);
                        }
                        _ => tracing::debug!(%peer, "TLS handshake failed"),
                    }
                }
                (Transport::Ws, _) => ws::accept(stream, target, local, shared).await,
                (Transport::Wss, Some(acc)) => {
                    match tokio::time::timeout(handshake, acc.accept(stream)).await {
                        Ok(Ok(tls)) => ws::accept(tls, target, local, shared).await,
                        _ => tracing::debug!(%peer, "TLS handshake failed"),
                    }
                }
                _ => {}
            }
        });
    }
}

/// Stamps requests and hands a message to the receiver; false when nobody listens anymore.
pub(crate) async fn deliver(
    shared: &Shared,
    mut msg: Message,
    from: Target,
    local: SocketAddr,
) -> bool {
    if let Message::Request(req) = &mut msg {
        stamp_received(req, from.addr);
    }
    shared
        .incoming
        .send(Incoming::Message { msg, from, local })
        .await
        .is_ok()
}

/// Reports unparseable input; false when nobody listens anymore.
pub(crate) async fn deliver_error(
    shared: &Shared,
    error: ParseError,
    from: Target,
    raw: Option<Vec<u8>>,
) -> bool {
    shared
        .incoming
        .send(Incoming::Malformed { error, from, raw })
        .await
        .is_ok()
}
