//! Where a message goes or came from: the transport kind and the remote socket address.

use std::fmt;
use std::net::SocketAddr;

use crate::error::ParseError;

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP (unreliable: transactions retransmit).
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// True for transports that deliver reliably (no retransmission timers).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// True for transports framed as a byte stream (Content-Length framing).
    pub fn is_stream(&self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// The token used in Via headers.
    pub fn via_name(&self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Parses a Via transport token or a `transport=` URI parameter (case-insensitive).
    pub fn parse(s: &str) -> Result<Transport, ParseError> {
        [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Ws,
            Transport::Wss,
        ]
        .into_iter()
        .find(|t| t.via_name().eq_ignore_ascii_case(s))
        .ok_or(ParseError::bad("Unsupported transport"))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_name())
    }
}

/// A remote endpoint: transport plus address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// Transport to use.
    pub transport: Transport,
    /// Remote socket address.
    pub addr: SocketAddr,
}

impl Target {
    /// A target.
    pub fn new(transport: Transport, addr: SocketAddr) -> Target {
        Target { transport, addr }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}
