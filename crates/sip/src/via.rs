//! The Via header value (RFC 3261 20.42): transport, sent-by and parameters, with typed
//! access to `branch`, `received` and `rport` (RFC 3581).

use crate::text_form::text_form;

use crate::error::ParseError;
use crate::grammar::{is_token, is_token_byte, trim_ws};
use crate::params::{for_each_header_param, Params};
use crate::uri::{split_host_port, Host, HostRef};

/// The RFC 3261 branch prefix ("magic cookie").
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token in upper case (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, ...).
    pub transport: String,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`, ...).
    pub params: Params,
}

impl Via {
    /// A Via for `transport host:port;branch=...`.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        }
    }

    /// Parses `SIP/2.0/UDP host:port;params`.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let parts = ViaRef::parse(s)?;
        Ok(Via {
            transport: parts.transport.to_ascii_uppercase(),
            host: parts.host.to_host(),
            port: parts.port,
            params: match parts.params {
                "" => Params::new(),
                p => Params::parse_header(p)?,
            },
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// `Some(None)` for a bare `rport` flag, `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// The sent-by as `host[:port]` (IPv6 in brackets), as written on the wire.
    pub fn sent_by(&self) -> String {
        let mut s = String::with_capacity(24);
        self.write_sent_by(&mut s);
        s
    }

    /// Appends `host[:port]`.
    fn write_sent_by(&self, out: &mut String) {
        self.host.write(out);
        if let Some(p) = self.port {
            out.push(':');
            crate::grammar::push_u32_str(out, u32::from(p));
        }
    }

    /// True when the branch carries the RFC 3261 magic cookie.
    pub fn is_rfc3261(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(BRANCH_COOKIE))
    }

    /// Appends the value as written on the wire.
    pub(crate) fn write(&self, out: &mut String) {
        out.push_str("SIP/2.0/");
        out.push_str(&self.transport);
        out.push(' ');
        self.write_sent_by(out);
        self.params.write(out);
    }
}

/// A checked Via value whose parts are still slices of its text: what a message check needs,
/// without the copies of [`Via`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ViaRef<'a> {
    /// Transport token as written.
    pub(crate) transport: &'a str,
    /// sent-by host.
    pub(crate) host: HostRef<'a>,
    /// sent-by port.
    pub(crate) port: Option<u16>,
    /// Parameters after the first `;`, checked (empty when there are none).
    pub(crate) params: &'a str,
}

impl<'a> ViaRef<'a> {
    /// Parses and checks `SIP/2.0/UDP host:port;params`.
    pub(crate) fn parse(s: &'a str) -> Result<ViaRef<'a>, ParseError> {
        const BAD: ParseError = ParseError::bad("Bad Via header");
        let s = trim_ws(s);
        let mut parts = s.splitn(3, '/');
        let name = trim_ws(parts.next().ok_or(BAD)?);
        let version = trim_ws(parts.next().ok_or(BAD)?);
        let rest = trim_ws(parts.next().ok_or(BAD)?);
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(BAD);
        }
        let ws = rest.find([' ', '\t']).ok_or(BAD)?;
        let transport = &rest[..ws];
        if !is_token(transport) {
            return Err(BAD);
        }
        let rest = trim_ws(&rest[ws..]);
        let (sent_by, params) = match rest.find(';') {
            Some(i) => {
                let p = &rest[i + 1..];
                for_each_header_param(p, |_, _| {})?;
                (trim_ws(&rest[..i]), p)
            }
            None => (rest, ""),
        };
        let (host, port) = split_host_port(sent_by).map_err(|_| BAD)?;
        Ok(ViaRef {
            transport,
            host,
            port,
            params,
        })
    }
}

text_form!(Via, 64);

/// The sent-by (`host[:port]` as written) and the `branch` of a Via value in its common shape
/// (`SIP/2.0/<transport> <sent-by>;params`, no spaces inside), read without building a [`Via`]:
/// transaction matching needs them for every message. `None` for any other shape; callers then
/// parse the Via, so the same text always takes the same path.
pub(crate) fn sent_by_and_branch(value: &str) -> Option<(&str, Option<&str>)> {
    // One pass over the bytes: every message is matched through here, several times.
    let rest = value.strip_prefix("SIP/2.0/")?;
    let b = rest.as_bytes();
    let skip = |mut i: usize, keep: fn(u8) -> bool| {
        while i < b.len() && keep(b[i]) {
            i += 1;
        }
        i
    };
    let sp = skip(0, is_token_byte);
    if sp == 0 || b.get(sp) != Some(&b' ') {
        return None;
    }
    let plain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']');
    let end = skip(sp + 1, plain);
    if end == sp + 1 {
        return None;
    }
    let sent_by = &rest[sp + 1..end];
    // Parameters are only looked through for `branch`: the Via is validated where it is parsed.
    let mut branch = None;
    let mut i = end;
    while i < b.len() {
        if b[i] != b';' {
            return None;
        }
        let start = i + 1;
        i = skip(start, |c| c != b';' && c != b'"');
        if b.get(i) == Some(&b'"') {
            return None; // a quoted parameter value may hide a ';'
        }
        let p = &b[start..i];
        if p.len() >= 7 && p[..7].eq_ignore_ascii_case(b"branch=") {
            // the first 7 bytes are ASCII, so start + 7 is a char boundary
            let v = &rest[start + 7..i];
            if !is_token(v) {
                return None;
            }
            branch = Some(v);
        }
    }
    Some((sent_by, branch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_branch_received_rport() {
        let v = Via::parse("SIP/2.0/udp 192.0.2.1:5060;branch=z9hG4bK776;rport;received=1.2.3.4")
            .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK776"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("1.2.3.4"));
        assert!(v.is_rfc3261());
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport;received=1.2.3.4"
        );
    }

    #[test]
    fn via_with_spaces_and_ipv6() {
        let v =
            Via::parse("SIP / 2.0 / TLS [2001:db8::9]:5061 ; branch=z9hG4bKx ; rport=7").unwrap();
        assert_eq!(v.host, Host::V6("2001:db8::9".parse().unwrap()));
        assert_eq!(v.rport(), Some(Some(7)));
    }

    #[test]
    fn the_common_shape_is_read_without_a_parse() {
        let v = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport=5;received=1.2.3.4";
        assert_eq!(
            sent_by_and_branch(v),
            Some(("192.0.2.1:5060", Some("z9hG4bK776")))
        );
        assert_eq!(
            sent_by_and_branch("SIP/2.0/TLS [2001:db8::9]:5061;rport"),
            Some(("[2001:db8::9]:5061", None))
        );
        // Other shapes are left to Via::parse.
        for other in [
            "SIP / 2.0 / UDP h;branch=z9hG4bK1",
            "SIP/2.0/UDP h ;branch=z9hG4bK1",
            "SIP/2.0/UDP h;branch=z9hG4bK1 ",
            "SIP/2.0/UDP h;branch=",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP h@x",
            "sip/2.0/udp h",
            "SIP/2.0/UDP h;x=\"a;branch=z9hG4bK2\";branch=z9hG4bK1",
        ] {
            assert_eq!(sent_by_and_branch(other), None, "{other}");
        }
    }

    #[test]
    fn bad_vias() {
        for bad in [
            "SIP/2.0/UDP",
            "SIP/3.0/UDP h",
            "HTTP/2.0/UDP h",
            "SIP/2.0/UDP h:x",
            "",
            "SIP/2.0/U(P h",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }
}
