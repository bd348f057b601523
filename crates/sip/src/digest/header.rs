//! Digest challenges (WWW-Authenticate / Proxy-Authenticate) and credentials
//! (Authorization / Proxy-Authorization) as header values.

use crate::digest::hash::Algorithm;
use crate::error::ParseError;
use crate::grammar::{find_top_level, is_token, trim_ws};

/// A `Digest` challenge sent by a server in a 401/407.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to echo back.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Offered qop values (`auth`, `auth-int`); empty means RFC 2069 style.
    pub qop: Vec<String>,
    /// True when a previous request had a correct response but an expired nonce.
    pub stale: bool,
}

/// `Digest` credentials sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Realm the user answers for.
    pub realm: String,
    /// The server nonce being answered.
    pub nonce: String,
    /// The digest-uri (the Request-URI as the client wrote it).
    pub uri: String,
    /// Hex response hash.
    pub response: String,
    /// Algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// Client nonce (with qop).
    pub cnonce: Option<String>,
    /// Nonce count, 8 hex digits (with qop).
    pub nc: Option<String>,
    /// Chosen qop.
    pub qop: Option<String>,
    /// Echoed opaque.
    pub opaque: Option<String>,
}

impl Challenge {
    /// Parses a `Digest ...` challenge header value.
    pub fn parse(s: &str) -> Result<Challenge, ParseError> {
        const BAD: ParseError = ParseError::bad("Bad digest challenge");
        let params = parse_digest(s).map_err(|_| BAD)?;
        let mut c = Challenge {
            realm: String::new(),
            nonce: String::new(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop: Vec::new(),
            stale: false,
        };
        let (mut realm, mut nonce) = (false, false);
        for (name, value) in params {
            match name.to_ascii_lowercase().as_str() {
                "realm" => (c.realm, realm) = (value, true),
                "nonce" => (c.nonce, nonce) = (value, true),
                "opaque" => c.opaque = Some(value),
                "algorithm" => c.algorithm = Algorithm::parse(&value)?,
                "qop" => {
                    c.qop = value
                        .split(',')
                        .map(|q| trim_ws(q).to_string())
                        .filter(|q| !q.is_empty())
                        .collect()
                }
                "stale" => c.stale = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        if !realm || !nonce {
            return Err(BAD);
        }
        Ok(c)
    }

    /// True when `qop=auth` is offered.
    pub fn offers_auth(&self) -> bool {
        self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
    }

    /// The header value (`Digest realm="..", nonce="..", ...`).
    pub fn to_header_value(&self) -> String {
        let mut s = String::with_capacity(160);
        s.push_str("Digest realm=");
        push_quoted(&mut s, &self.realm);
        s.push_str(", nonce=");
        push_quoted(&mut s, &self.nonce);
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            push_quoted(&mut s, o);
        }
        s.push_str(", algorithm=");
        s.push_str(self.algorithm.as_str());
        if !self.qop.is_empty() {
            s.push_str(", qop=");
            push_quoted(&mut s, &self.qop.join(","));
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        s
    }
}

impl Credentials {
    /// Parses a `Digest ...` credentials header value.
    pub fn parse(s: &str) -> Result<Credentials, ParseError> {
        const BAD: ParseError = ParseError::bad("Bad digest credentials");
        let params = parse_digest(s).map_err(|_| BAD)?;
        let mut c = Credentials {
            username: String::new(),
            realm: String::new(),
            nonce: String::new(),
            uri: String::new(),
            response: String::new(),
            algorithm: Algorithm::Md5,
            cnonce: None,
            nc: None,
            qop: None,
            opaque: None,
        };
        let mut seen = 0u8;
        for (name, value) in params {
            match name.to_ascii_lowercase().as_str() {
                "username" => (c.username, seen) = (value, seen | 1),
                "realm" => (c.realm, seen) = (value, seen | 2),
                "nonce" => (c.nonce, seen) = (value, seen | 4),
                "uri" => (c.uri, seen) = (value, seen | 8),
                "response" => (c.response, seen) = (value, seen | 16),
                "algorithm" => c.algorithm = Algorithm::parse(&value)?,
                "cnonce" => c.cnonce = Some(value),
                "nc" => c.nc = Some(value),
                "qop" => c.qop = Some(value),
                "opaque" => c.opaque = Some(value),
                _ => {}
            }
        }
        if seen != 31 {
            return Err(BAD);
        }
        if c.qop.is_some() && (c.cnonce.is_none() || c.nc.is_none()) {
            return Err(BAD);
        }
        Ok(c)
    }

    /// The header value (`Digest username="..", ...`).
    pub fn to_header_value(&self) -> String {
        let mut s = String::with_capacity(256);
        s.push_str("Digest username=");
        push_quoted(&mut s, &self.username);
        s.push_str(", realm=");
        push_quoted(&mut s, &self.realm);
        s.push_str(", nonce=");
        push_quoted(&mut s, &self.nonce);
        s.push_str(", uri=");
        push_quoted(&mut s, &self.uri);
        s.push_str(", response=");
        push_quoted(&mut s, &self.response);
        s.push_str(", algorithm=");
        s.push_str(self.algorithm.as_str());
        if let Some(cn) = &self.cnonce {
            s.push_str(", cnonce=");
            push_quoted(&mut s, cn);
        }
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            push_quoted(&mut s, o);
        }
        if let Some(q) = &self.qop {
            s.push_str(", qop=");
            s.push_str(q);
        }
        if let Some(nc) = &self.nc {
            s.push_str(", nc=");
            s.push_str(nc);
        }
        s
    }
}

/// Appends `"value"` with `"` and `\` escaped.
fn push_quoted(s: &mut String, v: &str) {
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
}

/// Splits `Digest a=b, c="d"` into unquoted name/value pairs.
fn parse_digest(s: &str) -> Result<Vec<(String, String)>, ()> {
    let s = trim_ws(s);
    let sp = s.find([' ', '\t']).ok_or(())?;
    if !s[..sp].eq_ignore_ascii_case("Digest") {
        return Err(());
    }
    let mut rest = trim_ws(&s[sp..]);
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (item, next) = match find_top_level(rest, b',') {
            Some(i) => (&rest[..i], trim_ws(&rest[i + 1..])),
            None => (rest, ""),
        };
        rest = next;
        let item = trim_ws(item);
        if item.is_empty() {
            continue;
        }
        let (name, value) = item.split_once('=').ok_or(())?;
        let name = trim_ws(name);
        if !is_token(name) {
            return Err(());
        }
        out.push((name.to_string(), unquote(trim_ws(value))?));
    }
    Ok(out)
}

/// Removes quotes and backslash escapes, or checks a bare token.
fn unquote(v: &str) -> Result<String, ()> {
    match v.strip_prefix('"') {
        Some(inner) => {
            let inner = inner.strip_suffix('"').ok_or(())?;
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    out.push(chars.next().ok_or(())?);
                } else if c == '"' {
                    return Err(());
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        }
        None if !v.is_empty() && !v.contains([' ', '\t', '"']) => Ok(v.to_string()),
        None => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_round_trip() {
        let c = Challenge {
            realm: "c1.registrar.voxbin.local".into(),
            nonce: "abc".into(),
            opaque: Some("o\"x".into()),
            algorithm: Algorithm::Sha256,
            qop: vec!["auth".into()],
            stale: true,
        };
        let v = c.to_header_value();
        assert_eq!(Challenge::parse(&v).unwrap(), c);
        assert!(c.offers_auth());
    }

    #[test]
    fn credentials_from_a_phone() {
        let v = r#"Digest username="1001",realm="c1.registrar.voxbin.local",nonce="n1",uri="sip:c1.registrar.voxbin.local",response="0123",algorithm=MD5,cnonce="cn",qop=auth,nc=00000001"#;
        let c = Credentials::parse(v).unwrap();
        assert_eq!(c.username, "1001");
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc.as_deref(), Some("00000001"));
        assert_eq!(Credentials::parse(&c.to_header_value()).unwrap(), c);
    }

    #[test]
    fn broken_auth_headers_are_errors() {
        for bad in [
            "Basic abc",
            "Digest",
            r#"Digest realm="x""#,
            r#"Digest username="a", realm="r", nonce="n", uri="u""#,
            r#"Digest username="a, realm="r""#,
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth"#,
            r#"Digest realm="r", nonce="n", algorithm=SHA-999"#,
        ] {
            assert!(
                Credentials::parse(bad).is_err() || Challenge::parse(bad).is_err(),
                "{bad}"
            );
        }
        assert!(Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-999"#).is_err());
    }
}
