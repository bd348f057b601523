//! `name-addr` / `addr-spec` header values (From, To, Contact, Route, Record-Route, ...):
//! optional display name, URI and header parameters such as `tag` or `expires`.

use crate::text_form::text_form;

use crate::error::ParseError;
use crate::grammar::trim_ws;
use crate::params::{for_each_header_param, Params};
use crate::uri::{Uri, UriRef};

/// A display name, URI and header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without surrounding quotes (escapes kept as written).
    pub display: Option<String>,
    /// The address.
    pub uri: Uri,
    /// Header parameters after the address (`tag`, `expires`, `q`, ...).
    pub params: Params,
}

impl NameAddr {
    /// A bare address without display name or parameters.
    pub fn new(uri: Uri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses `"Name" <uri>;params`, `Name <uri>;params` or `uri;params`.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let parts = NameAddrRef::parse(s)?;
        Ok(NameAddr {
            display: parts.display.map(str::to_string),
            uri: parts.uri.to_uri()?,
            params: match parts.params {
                "" => Params::new(),
                p => Params::parse_header(p)?,
            },
        })
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// The `expires` parameter (Contact), if numeric.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(|v| v.parse().ok())
    }

    /// The `q` parameter (Contact), if a number.
    pub fn q(&self) -> Option<f32> {
        self.params.value("q").and_then(|v| v.parse().ok())
    }

    /// Appends the value in `name-addr` form (`<uri>` always bracketed).
    pub(crate) fn write(&self, out: &mut String) {
        if let Some(d) = &self.display {
            out.push('"');
            out.push_str(d);
            out.push_str("\" ");
        }
        out.push('<');
        self.uri.write(out);
        out.push('>');
        self.params.write(out);
    }
}

/// Index of the closing quote in `s` (which starts just after the opening quote).
fn closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A checked name-addr whose parts are still slices of its text: what a message check needs,
/// without the copies of [`NameAddr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameAddrRef<'a> {
    /// Display name without surrounding quotes.
    pub(crate) display: Option<&'a str>,
    /// The address.
    pub(crate) uri: UriRef<'a>,
    /// Header parameters after the first `;`, checked (empty when there are none).
    pub(crate) params: &'a str,
}

impl<'a> NameAddrRef<'a> {
    /// Parses and checks `"Name" <uri>;params`, `Name <uri>;params` or `uri;params`.
    pub(crate) fn parse(s: &'a str) -> Result<NameAddrRef<'a>, ParseError> {
        let s = trim_ws(s);
        let (display, after_display) = if let Some(rest) = s.strip_prefix('"') {
            let end = closing_quote(rest).ok_or(ParseError::bad("Bad display name"))?;
            let rest = trim_ws(&rest[end + 1..]);
            if !rest.starts_with('<') {
                return Err(ParseError::bad("Missing <uri> after display name"));
            }
            (Some(&s[1..end + 1]), rest)
        } else if let Some(lt) = s.find('<') {
            let name = trim_ws(&s[..lt]);
            if name.bytes().any(|b| matches!(b, b'"' | b';' | b'>' | b',')) {
                return Err(ParseError::bad("Bad display name"));
            }
            ((!name.is_empty()).then_some(name), &s[lt..])
        } else {
            (None, s)
        };
        let (uri, rest) = if let Some(inner) = after_display.strip_prefix('<') {
            let gt = inner.find('>').ok_or(ParseError::bad("Missing >"))?;
            (UriRef::parse(&inner[..gt])?, trim_ws(&inner[gt + 1..]))
        } else {
            // addr-spec: every `;` after the URI belongs to the header (RFC 3261 20.10)
            let (uri_text, rest) = match after_display.find(';') {
                Some(i) => (&after_display[..i], &after_display[i..]),
                None => (after_display, ""),
            };
            if uri_text.contains('?') {
                return Err(ParseError::bad("URI with headers must be in <>"));
            }
            (UriRef::parse(trim_ws(uri_text))?, trim_ws(rest))
        };
        let params = if rest.is_empty() {
            ""
        } else {
            let p = rest
                .strip_prefix(';')
                .ok_or(ParseError::bad("Unexpected text after address"))?;
            for_each_header_param(p, |_, _| {})?;
            p
        };
        Ok(NameAddrRef {
            display,
            uri,
            params,
        })
    }
}

text_form!(NameAddr, 64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_name_addr() {
        let a = NameAddr::parse(r#""Alice \"A\" Smith" <sip:alice@a.com>;tag=1928301774"#).unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"Alice \"A\" Smith"#));
        assert_eq!(a.tag(), Some("1928301774"));
        let b = NameAddr::parse("Bob <sip:bob@b.com;transport=tcp>;expires=60;q=0.5").unwrap();
        assert_eq!(b.display.as_deref(), Some("Bob"));
        assert_eq!(b.uri.transport(), Some("tcp"));
        assert_eq!(b.expires(), Some(60));
        assert_eq!(b.q(), Some(0.5));
        let c = NameAddr::parse("sip:carol@c.com;tag=xyz").unwrap();
        assert_eq!(c.tag(), Some("xyz"));
        assert!(c.uri.params.is_empty());
        assert_eq!(c.to_string(), "<sip:carol@c.com>;tag=xyz");
    }

    #[test]
    fn display_round_trips_quoted() {
        let a = NameAddr::parse("Bob Jones <sip:bob@b.com>").unwrap();
        let again = NameAddr::parse(&a.to_string()).unwrap();
        assert_eq!(a, again);
    }

    #[test]
    fn malformed_name_addrs_are_errors() {
        for bad in [
            "\"unterminated <sip:a@b>",
            "<sip:a@b",
            "\"x\" sip:a@b",
            "<sip:a@b> junk",
            "sip:a@b?x=y",
            "<>",
            "",
            "Bob <http://x>",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }
}
