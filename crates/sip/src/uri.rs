//! SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966): user, password, host (domain, IPv4 or
//! bracketed IPv6), port, `;params` and `?headers`, parsed eagerly and written back verbatim.

use crate::text_form::text_form;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::params::{for_each_uri_param, Params};

/// URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:` (TLS all the way).
    Sips,
    /// `tel:` (RFC 3966); the number is in `Uri::user`.
    Tel,
}

impl Scheme {
    /// Scheme name without the colon.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        }
    }
}

/// Host part of a URI or Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as written (empty for tel URIs).
    Domain(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address, written in brackets.
    V6(Ipv6Addr),
}

impl Host {
    /// Parses a host: `[v6]`, dotted IPv4 or a domain name.
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        HostRef::parse(s).map(HostRef::to_host)
    }

    /// The IP address when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a) => Some(IpAddr::V6(*a)),
            Host::Domain(_) => None,
        }
    }

    /// Appends the host as written in a URI (IPv6 in brackets).
    pub(crate) fn write(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Host::Domain(d) => out.push_str(d),
            Host::V4(a) => crate::grammar::push_ipv4(out, *a),
            Host::V6(a) => {
                let _ = write!(out, "[{a}]");
            }
        }
    }
}

/// A checked host whose domain is still a slice of the text it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostRef<'a> {
    /// A domain name, as written.
    Domain(&'a str),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address.
    V6(Ipv6Addr),
}

impl<'a> HostRef<'a> {
    /// Parses a host: `[v6]`, dotted IPv4 or a domain name.
    pub(crate) fn parse(s: &'a str) -> Result<HostRef<'a>, ParseError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or(ParseError::bad("Bad IPv6 reference"))?;
            return inner
                .parse::<Ipv6Addr>()
                .map(HostRef::V6)
                .map_err(|_| ParseError::bad("Bad IPv6 address"));
        }
        if s.is_empty() {
            return Err(ParseError::bad("Empty host"));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            if let Ok(v4) = s.parse::<Ipv4Addr>() {
                return Ok(HostRef::V4(v4));
            }
        }
        if s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            Ok(HostRef::Domain(s))
        } else {
            Err(ParseError::bad("Bad host"))
        }
    }

    /// The owned host.
    pub(crate) fn to_host(self) -> Host {
        match self {
            HostRef::Domain(d) => Host::Domain(d.to_string()),
            HostRef::V4(a) => Host::V4(a),
            HostRef::V6(a) => Host::V6(a),
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(24);
        self.write(&mut s);
        f.write_str(&s)
    }
}

/// A parsed `sip:`, `sips:` or `tel:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Scheme.
    pub scheme: Scheme,
    /// User part (the number for tel URIs), escapes kept as written.
    pub user: Option<String>,
    /// Password of the userinfo (deprecated but legal).
    pub password: Option<String>,
    /// Host (`Host::Domain("")` for tel URIs).
    pub host: Host,
    /// Explicit port.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// URI headers (`?Replaces=...&X=y`), name and value as written.
    pub headers: Vec<(String, String)>,
}

impl Uri {
    /// A `sip:` URI for `user@host[:port]`.
    pub fn sip(user: Option<&str>, host: Host, port: Option<u16>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_string),
            password: None,
            host,
            port,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    /// Parses a URI; a scheme other than sip, sips or tel is a 416 error.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        UriRef::parse(s)?.to_uri()
    }

    /// The `transport` URI parameter, if any.
    pub fn transport(&self) -> Option<&str> {
        self.params.value("transport")
    }

    /// True when the URI has the `lr` (loose routing) parameter.
    pub fn is_loose_route(&self) -> bool {
        self.params.has("lr")
    }

    /// Appends the URI as written on the wire.
    pub(crate) fn write(&self, out: &mut String) {
        out.push_str(self.scheme.as_str());
        out.push(':');
        if let Some(u) = &self.user {
            out.push_str(u);
            if let Some(p) = &self.password {
                out.push(':');
                out.push_str(p);
            }
            if self.scheme != Scheme::Tel {
                out.push('@');
            }
        }
        if self.scheme != Scheme::Tel {
            self.host.write(out);
            if let Some(port) = self.port {
                out.push(':');
                crate::grammar::push_u32_str(out, u32::from(port));
            }
        }
        self.params.write(out);
        for (i, (n, v)) in self.headers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(n);
            out.push('=');
            out.push_str(v);
        }
    }
}

/// A checked URI whose parts are still slices of the text it was read from: what a message
/// check needs, without the copies of [`Uri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UriRef<'a> {
    pub(crate) scheme: Scheme,
    /// User part (the number for tel URIs).
    pub(crate) user: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
    /// Host (an empty domain for tel URIs).
    pub(crate) host: HostRef<'a>,
    pub(crate) port: Option<u16>,
    /// Parameters after the first `;`, checked (empty when there are none).
    pub(crate) params: &'a str,
    /// Headers after `?`, checked.
    pub(crate) headers: Option<&'a str>,
}

impl<'a> UriRef<'a> {
    /// Parses and checks a URI; a scheme other than sip, sips or tel is a 416 error.
    pub(crate) fn parse(s: &'a str) -> Result<UriRef<'a>, ParseError> {
        let colon = s.find(':').ok_or(ParseError::bad("Bad URI"))?;
        let scheme = &s[..colon];
        let rest = &s[colon + 1..];
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme.eq_ignore_ascii_case("tel") {
            return parse_tel(rest);
        } else {
            return Err(ParseError::with_status(416, "Unsupported URI Scheme"));
        };
        // One pass finds the first `@` and refuses what no URI holds (every request's URI and
        // the From and To of every request pass here).
        let mut at = None;
        for (i, &b) in rest.as_bytes().iter().enumerate() {
            match URI_BYTE[usize::from(b)] {
                PLAIN => {}
                AT => {
                    at.get_or_insert(i);
                }
                _ => return Err(ParseError::bad("Bad character in URI")),
            }
        }
        let position = |s: &str, wanted: &[u8]| s.bytes().position(|b| wanted.contains(&b));
        let (user, password, hostpart) = match at {
            Some(at) => {
                let userinfo = &rest[..at];
                let (user, password) = match position(userinfo, b":") {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if user.is_empty() {
                    return Err(ParseError::bad("Empty user in URI"));
                }
                (Some(user), password, &rest[at + 1..])
            }
            None => (None, None, rest),
        };
        let (hostport, tail) = match position(hostpart, b";?") {
            Some(i) => (&hostpart[..i], &hostpart[i..]),
            None => (hostpart, ""),
        };
        let (host, port) = split_host_port(hostport)?;
        let (params_text, headers) = match tail.find('?') {
            Some(i) => (&tail[..i], Some(&tail[i + 1..])),
            None => (tail, None),
        };
        let params = match params_text.strip_prefix(';') {
            Some(p) => {
                for_each_uri_param(p, |_, _| {})?;
                p
            }
            None => "",
        };
        if let Some(h) = headers {
            for_each_uri_header(h, |_, _| {})?;
        }
        Ok(UriRef {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// The owned URI.
    pub(crate) fn to_uri(self) -> Result<Uri, ParseError> {
        // A parsed `;` is never followed by nothing, so empty means no parameters.
        let params = if self.params.is_empty() {
            Params::new()
        } else {
            Params::parse_uri(self.params)?
        };
        let mut headers = Vec::new();
        if let Some(h) = self.headers {
            for_each_uri_header(h, |n, v| headers.push((n.to_string(), v.to_string())))?;
        }
        Ok(Uri {
            scheme: self.scheme,
            user: self.user.map(str::to_string),
            password: self.password.map(str::to_string),
            host: self.host.to_host(),
            port: self.port,
            params,
            headers,
        })
    }
}

/// Classes of bytes in a URI after its scheme: plain, `@`, or never allowed (controls, space,
/// `<`, `>`, `"`).
const PLAIN: u8 = 0;
const AT: u8 = 1;
const REFUSED: u8 = 2;
static URI_BYTE: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut b = 0;
    while b <= b' ' as usize {
        t[b] = REFUSED;
        b += 1;
    }
    t[b'<' as usize] = REFUSED;
    t[b'>' as usize] = REFUSED;
    t[b'"' as usize] = REFUSED;
    t[b'@' as usize] = AT;
    t
};

/// Checks the `&`-separated `name=value` headers of a URI and calls `each` with every pair.
fn for_each_uri_header<'a>(
    s: &'a str,
    mut each: impl FnMut(&'a str, &'a str),
) -> Result<(), ParseError> {
    for pair in s.split('&') {
        let (n, v) = pair
            .split_once('=')
            .ok_or(ParseError::bad("Bad URI header"))?;
        if n.is_empty() {
            return Err(ParseError::bad("Bad URI header"));
        }
        each(n, v);
    }
    Ok(())
}

/// Splits and checks `host[:port]` (with `[v6]:port`); the domain stays a slice.
pub(crate) fn split_host_port(s: &str) -> Result<(HostRef<'_>, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or(ParseError::bad("Bad IPv6 reference"))?;
        let after = &s[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(ParseError::bad("Bad host")),
        };
        (&s[..end + 1], port)
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| ParseError::bad("Bad port"))?)
        }
        Some(_) => return Err(ParseError::bad("Bad port")),
        None => None,
    };
    Ok((HostRef::parse(host)?, port))
}

/// Parses the part of a tel URI after `tel:`.
fn parse_tel(rest: &str) -> Result<UriRef<'_>, ParseError> {
    let (number, params) = match rest.find(';') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if rest.len() > number.len() {
        for_each_uri_param(params, |_, _| {})?;
    }
    if number.is_empty()
        || !number.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
        })
    {
        return Err(ParseError::bad("Bad tel URI"));
    }
    Ok(UriRef {
        scheme: Scheme::Tel,
        user: Some(number),
        password: None,
        host: HostRef::Domain(""),
        port: None,
        params,
        headers: None,
    })
}

text_form!(Uri, 48);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_sip_uri_parses() {
        let u = Uri::parse("sips:alice:secret@example.com:5061;transport=tls;lr?Subject=hi&X=1")
            .unwrap();
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::Domain("example.com".into()));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("tls"));
        assert!(u.is_loose_route());
        assert_eq!(
            u.headers,
            vec![("Subject".into(), "hi".into()), ("X".into(), "1".into())]
        );
        assert_eq!(
            u.to_string(),
            "sips:alice:secret@example.com:5061;transport=tls;lr?Subject=hi&X=1"
        );
    }

    #[test]
    fn ipv6_and_ipv4_hosts() {
        let u = Uri::parse("sip:bob@[2001:db8::1]:5070;maddr=[::1]").unwrap();
        assert_eq!(u.host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.to_string(), "sip:bob@[2001:db8::1]:5070;maddr=[::1]");
        let u = Uri::parse("sip:10.0.0.1").unwrap();
        assert_eq!(u.host, Host::V4("10.0.0.1".parse().unwrap()));
        assert_eq!(u.user, None);
        assert_eq!(Uri::parse("sip:[::1]").unwrap().host.to_string(), "[::1]");
    }

    #[test]
    fn tel_uri_keeps_number_and_params() {
        let u = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user.as_deref(), Some("+1-201-555-0123"));
        assert_eq!(
            u.to_string(),
            "tel:+1-201-555-0123;phone-context=example.com"
        );
    }

    #[test]
    fn bad_uris_are_errors_not_panics() {
        for bad in [
            "sip:",
            "sip:@host",
            "sip:a@",
            "sip:a@host:",
            "sip:a@host:99999",
            "sip:a@[::1",
            "sip:a@[zz]",
            "sip:a b@host",
            "http://x",
            "nocolon",
            "tel:",
            "sip:host?x",
            "sip:h;;",
            "sip:a@ho^st",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Uri::parse("mailto:a@b").unwrap_err().status(), 416);
    }
}
