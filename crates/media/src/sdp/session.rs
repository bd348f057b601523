//! SDP session descriptions (RFC 4566): a typed model of the lines media needs (v, o, s, c, t,
//! b, m, a) that keeps every other line verbatim, a strict-but-forgiving parser (CRLF or LF,
//! errors name the line) and a serialiser that writes CRLF in the RFC's order.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use thiserror::Error;

/// Largest SDP body accepted, to bound the work an attacker can cause.
pub const MAX_SDP_LEN: usize = 64 * 1024;

/// Why an SDP body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// A line is malformed; `line` counts from 1.
    #[error("sdp line {line}: {reason}")]
    Syntax {
        /// Line number (1-based).
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A required line is absent.
    #[error("sdp has no {0} line")]
    Missing(&'static str),
    /// The body is larger than [`MAX_SDP_LEN`].
    #[error("sdp body of {0} bytes is too large")]
    TooLarge(usize),
}

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Send and receive (the default).
    SendRecv,
    /// Only send (the side putting the other on hold).
    SendOnly,
    /// Only receive.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// From the sending and receiving flags.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether this side sends.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an attribute name stands for.
    pub fn from_attribute(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// An `a=` line: `name` or `name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Value after the colon, if any.
    pub value: Option<String>,
}

impl Attribute {
    /// An attribute with a value.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Attribute {
            name: name.to_string(),
            value: Some(value.into()),
        }
    }

    /// A flag attribute (no value).
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.to_string(),
            value: None,
        }
    }
}

/// The `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id (digits by the RFC, kept as text).
    pub session_id: String,
    /// Session version, incremented on each new offer.
    pub session_version: String,
    /// Address type (`IP4` or `IP6`).
    pub addr_type: String,
    /// Address of the originator.
    pub address: String,
}

/// A `c=` line (network type is always IN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Address type (`IP4` or `IP6`).
    pub addr_type: String,
    /// Address, possibly with `/ttl` for multicast.
    pub address: String,
}

impl Connection {
    /// A connection line for an IP address.
    pub fn from_ip(ip: IpAddr) -> Self {
        let addr_type = if ip.is_ipv4() { "IP4" } else { "IP6" };
        Connection {
            addr_type: addr_type.to_string(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, without any `/ttl` suffix.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.split('/').next()?.parse().ok()
    }
}

/// An `a=rtpmap` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels, if given.
    pub channels: Option<u8>,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type (`audio`, `video`, ...).
    pub media: String,
    /// Transport port (0 = rejected or disabled).
    pub port: u16,
    /// Number of ports when given as `port/count`.
    pub port_count: Option<u16>,
    /// Transport protocol (`RTP/AVP`, `RTP/SAVP`, ...).
    pub protocol: String,
    /// Format list (payload type numbers for RTP).
    pub formats: Vec<String>,
    /// Media-level connection, overriding the session's.
    pub connection: Option<Connection>,
    /// `b=` values.
    pub bandwidths: Vec<String>,
    /// `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Other lines (`i=`, `k=`) kept verbatim as (letter, value).
    pub other: Vec<(char, String)>,
}

impl MediaDescription {
    /// The first value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.as_deref())
    }

    /// Whether a flag or valued attribute `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name == name)
    }

    /// Payload type numbers of the format list (non-numeric formats skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// Every well-formed rtpmap line.
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.name == "rtpmap")
            .filter_map(|a| parse_rtpmap(a.value.as_deref()?))
    }

    /// The rtpmap for one payload type.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.rtpmaps().find(|m| m.payload_type == pt)
    }

    /// The fmtp parameters for one payload type.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|a| a.name == "fmtp")
            .find_map(|a| {
                let v = a.value.as_deref()?;
                let (num, params) = v.split_once(' ').unwrap_or((v, ""));
                (num.parse::<u8>().ok()? == pt).then_some(params.trim())
            })
    }

    /// The packetisation time in ms, if given.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime")?.trim().parse().ok()
    }

    /// The direction attribute at media level, if any.
    pub fn direction_attribute(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .find_map(|a| Direction::from_attribute(&a.name))
    }

    /// Values of the `a=crypto` lines (SDES keys, RFC 4568), kept for the SRTP layer.
    pub fn crypto(&self) -> impl Iterator<Item = &str> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.name == "crypto")
            .filter_map(|a| a.value.as_deref())
    }
}

/// Parses an rtpmap value: `<pt> <encoding>/<rate>[/<channels>]`.
pub fn parse_rtpmap(value: &str) -> Option<RtpMap> {
    let (pt, rest) = value.trim().split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?.to_string();
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(RtpMap {
        payload_type: pt.parse().ok()?,
        encoding,
        clock_rate,
        channels,
    })
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` when none).
    pub session_name: String,
    /// Session-level connection.
    pub connection: Option<Connection>,
    /// Session-level `b=` values.
    pub bandwidths: Vec<String>,
    /// The first `t=` line (start, stop).
    pub timing: (u64, u64),
    /// Session-level attributes.
    pub attributes: Vec<Attribute>,
    /// Media sections in order.
    pub media: Vec<MediaDescription>,
    /// Other session lines (`i u e p r z k`, extra `t`) kept verbatim as (letter, value).
    pub other: Vec<(char, String)>,
}

impl SessionDescription {
    /// The direction of media section `index`: its own attribute, else the session's, else sendrecv.
    pub fn direction(&self, index: usize) -> Direction {
        self.media
            .get(index)
            .and_then(|m| m.direction_attribute())
            .or_else(|| {
                self.attributes
                    .iter()
                    .find_map(|a| Direction::from_attribute(&a.name))
            })
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection that applies to media section `index` (its own, else the session's).
    pub fn connection_for(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connection.as_ref())
            .or(self.connection.as_ref())
    }
}

fn syntax(line: usize, reason: &'static str) -> SdpError {
    SdpError::Syntax { line, reason }
}

fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(net), Some(addr_type), Some(address), None) =
        (f.next(), f.next(), f.next(), f.next())
    else {
        return Err(syntax(line, "c= needs <nettype> <addrtype> <address>"));
    };
    if net != "IN" {
        return Err(syntax(line, "c= network type is not IN"));
    }
    Ok(Connection {
        addr_type: addr_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_media(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(protocol)) = (f.next(), f.next(), f.next()) else {
        return Err(syntax(line, "m= needs <media> <port> <proto> <fmt>..."));
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (
            p,
            Some(
                n.parse()
                    .map_err(|_| syntax(line, "m= port count is not a number"))?,
            ),
        ),
        None => (port, None),
    };
    let port = port
        .parse()
        .map_err(|_| syntax(line, "m= port is not a number"))?;
    Ok(MediaDescription {
        media: media.to_string(),
        port,
        port_count,
        protocol: protocol.to_string(),
        formats: f.map(str::to_string).collect(),
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

fn parse_attribute(value: &str) -> Attribute {
    match value.split_once(':') {
        Some((name, v)) => Attribute {
            name: name.to_string(),
            value: Some(v.to_string()),
        },
        None => Attribute {
            name: value.to_string(),
            value: None,
        },
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(text: &str) -> Result<Self, SdpError> {
        if text.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge(text.len()));
        }
        let mut version = false;
        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut bandwidths = Vec::new();
        let mut timing = None;
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        let mut other = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.is_empty() {
                continue;
            }
            let b = line.as_bytes();
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(syntax(n, "line is not <letter>=<value>"));
            }
            let kind = b[0] as char;
            let value = &line[2..];
            if !version {
                if kind != 'v' || value.trim() != "0" {
                    return Err(syntax(n, "sdp must start with v=0"));
                }
                version = true;
                continue;
            }
            if let Some(m) = media.last_mut() {
                match kind {
                    'm' => {}
                    'c' => {
                        m.connection = Some(parse_connection(value, n)?);
                        continue;
                    }
                    'b' => {
                        m.bandwidths.push(value.to_string());
                        continue;
                    }
                    'a' => {
                        m.attributes.push(parse_attribute(value));
                        continue;
                    }
                    'i' | 'k' => {
                        m.other.push((kind, value.to_string()));
                        continue;
                    }
                    _ => return Err(syntax(n, "line not allowed in a media section")),
                }
            }
            match kind {
                'v' => return Err(syntax(n, "repeated v= line")),
                'o' => {
                    let f: Vec<&str> = value.split_ascii_whitespace().collect();
                    if f.len() != 6 || f[3] != "IN" {
                        return Err(syntax(n, "o= needs 6 fields with nettype IN"));
                    }
                    origin = Some(Origin {
                        username: f[0].to_string(),
                        session_id: f[1].to_string(),
                        session_version: f[2].to_string(),
                        addr_type: f[4].to_string(),
                        address: f[5].to_string(),
                    });
                }
                's' => session_name = Some(value.to_string()),
                'c' => connection = Some(parse_connection(value, n)?),
                'b' => bandwidths.push(value.to_string()),
                't' if timing.is_none() => {
                    let mut f = value.split_ascii_whitespace().map(str::parse::<u64>);
                    let (Some(Ok(start)), Some(Ok(stop)), None) = (f.next(), f.next(), f.next())
                    else {
                        return Err(syntax(n, "t= needs two numbers"));
                    };
                    timing = Some((start, stop));
                }
                'a' => attributes.push(parse_attribute(value)),
                'm' => media.push(parse_media(value, n)?),
                'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' | 't' => {
                    other.push((kind, value.to_string()))
                }
                _ => return Err(syntax(n, "unknown line type")),
            }
        }
        if !version {
            return Err(SdpError::Missing("v="));
        }
        Ok(SessionDescription {
            origin: origin.ok_or(SdpError::Missing("o="))?,
            // s= is mandatory, but many UAs omit it; treat it as "-"
            session_name: session_name.unwrap_or_else(|| "-".to_string()),
            connection,
            bandwidths,
            timing: timing.unwrap_or((0, 0)),
            attributes,
            media,
            other,
        })
    }
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        match &a.value {
            Some(v) => write!(f, "a={}:{}\r\n", a.name, v)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} IN {} {}\r\ns={}\r\n",
            o.username, o.session_id, o.session_version, o.addr_type, o.address, self.session_name
        )?;
        for (k, v) in self
            .other
            .iter()
            .filter(|(k, _)| matches!(k, 'i' | 'u' | 'e' | 'p'))
        {
            write!(f, "{k}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {}\r\n", c.addr_type, c.address)?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        write!(f, "t={} {}\r\n", self.timing.0, self.timing.1)?;
        for (k, v) in self
            .other
            .iter()
            .filter(|(k, _)| matches!(k, 't' | 'r' | 'z' | 'k'))
        {
            write!(f, "{k}={v}\r\n")?;
        }
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {}", m.media, m.port)?;
            if let Some(n) = m.port_count {
                write!(f, "/{n}")?;
            }
            write!(f, " {}", m.protocol)?;
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            f.write_str("\r\n")?;
            for (k, v) in m.other.iter().filter(|(k, _)| *k == 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            if let Some(c) = &m.connection {
                write!(f, "c=IN {} {}\r\n", c.addr_type, c.address)?;
            }
            for b in &m.bandwidths {
                write!(f, "b={b}\r\n")?;
            }
            for (k, v) in m.other.iter().filter(|(k, _)| *k == 'k') {
                write!(f, "{k}={v}\r\n")?;
            }
            write_attributes(f, &m.attributes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_OFFER: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 10.0.0.5\r\n\
s=-\r\n\
c=IN IP4 10.0.0.5\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 8 0 101\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
m=video 0 RTP/AVP 96\r\n";

    #[test]
    fn parses_a_typical_offer() {
        let sdp: SessionDescription = SIPP_OFFER.parse().unwrap();
        assert_eq!(sdp.origin.session_id, "53655765");
        assert_eq!(
            sdp.connection.as_ref().unwrap().ip(),
            Some("10.0.0.5".parse().unwrap())
        );
        assert_eq!(sdp.media.len(), 2);
        let audio = &sdp.media[0];
        assert_eq!((audio.port, audio.protocol.as_str()), (6000, "RTP/AVP"));
        assert_eq!(audio.payload_types().collect::<Vec<_>>(), vec![8, 0, 101]);
        assert_eq!(audio.rtpmap(101).unwrap().encoding, "telephone-event");
        assert_eq!(audio.rtpmap(8).unwrap().clock_rate, 8000);
        assert_eq!(audio.fmtp(101), Some("0-16"));
        assert_eq!(audio.ptime(), Some(20));
        assert_eq!(sdp.direction(0), Direction::SendRecv);
        assert_eq!(sdp.connection_for(1).unwrap().address, "10.0.0.5");
    }

    #[test]
    fn serialises_back_to_the_same_text() {
        let sdp: SessionDescription = SIPP_OFFER.parse().unwrap();
        assert_eq!(sdp.to_string(), SIPP_OFFER);
        // LF-only input gives the same model
        let lf: SessionDescription = SIPP_OFFER.replace("\r\n", "\n").parse().unwrap();
        assert_eq!(lf, sdp);
    }

    #[test]
    fn keeps_crypto_and_other_lines() {
        let text = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=call\r\ni=info\r\nc=IN IP6 ::1\r\nb=AS:64\r\nt=0 0\r\na=sendonly\r\n\
m=audio 4000/2 RTP/SAVP 0\r\ni=voice\r\nc=IN IP4 192.0.2.1/127\r\nb=TIAS:64000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\na=x-custom\r\n";
        let sdp: SessionDescription = text.parse().unwrap();
        assert_eq!(sdp.to_string(), text);
        let m = &sdp.media[0];
        assert_eq!(m.port_count, Some(2));
        assert_eq!(m.crypto().count(), 1);
        assert!(m.has_attribute("x-custom"));
        assert_eq!(sdp.direction(0), Direction::SendOnly);
        assert_eq!(
            m.connection.as_ref().unwrap().ip(),
            Some("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn bad_input_is_an_error_with_the_line() {
        let cases: [(&str, SdpError); 7] = [
            ("", SdpError::Missing("v=")),
            ("v=1\r\n", syntax(1, "sdp must start with v=0")),
            (
                "v=0\r\nbogus\r\n",
                syntax(2, "line is not <letter>=<value>"),
            ),
            (
                "v=0\r\no=a b c IN IP4\r\n",
                syntax(2, "o= needs 6 fields with nettype IN"),
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
                syntax(3, "m= port is not a number"),
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
                syntax(4, "line not allowed in a media section"),
            ),
            ("v=0\r\ns=x\r\n", SdpError::Missing("o=")),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<SessionDescription>(), Err(err), "{text:?}");
        }
        assert_eq!(
            "v=0\r\n".repeat(20000).parse::<SessionDescription>(),
            Err(SdpError::TooLarge(100_000))
        );
        assert_eq!(parse_rtpmap("0 PCMU"), None);
        assert_eq!(parse_rtpmap("96 opus/48000/2").unwrap().channels, Some(2));
    }
}
