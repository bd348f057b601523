//! `name-addr` / `addr-spec` header values (From, To, Contact, Route, Record-Route, ...):
//! optional display name, URI and header parameters such as `tag` or `expires`.

use crate::text_form::text_form;

use crate::error::ParseError;
use crate::grammar::trim_ws;
use crate::params::Params;
use crate::uri::Uri;

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
        let s = trim_ws(s);
        let (display, after_display) = if let Some(rest) = s.strip_prefix('"') {
            let end = closing_quote(rest).ok_or(ParseError::bad("Bad display name"))?;
            let rest = trim_ws(&rest[end + 1..]);
            if !rest.starts_with('<') {
                return Err(ParseError::bad("Missing <uri> after display name"));
            }
            (Some(s[1..end + 1].to_string()), rest)
        } else if let Some(lt) = s.find('<') {
            let name = trim_ws(&s[..lt]);
            if name.bytes().any(|b| matches!(b, b'"' | b';' | b'>' | b',')) {
                return Err(ParseError::bad("Bad display name"));
            }
            let display = (!name.is_empty()).then(|| name.to_string());
            (display, &s[lt..])
        } else {
            (None, s)
        };
        if let Some(inner) = after_display.strip_prefix('<') {
            let gt = inner.find('>').ok_or(ParseError::bad("Missing >"))?;
            let uri = Uri::parse(&inner[..gt])?;
            let rest = trim_ws(&inner[gt + 1..]);
            let params = parse_trailing_params(rest)?;
            Ok(NameAddr {
                display,
                uri,
                params,
            })
        } else {
            // addr-spec: every `;` after the URI belongs to the header (RFC 3261 20.10)
            let (uri_text, rest) = match after_display.find(';') {
                Some(i) => (&after_display[..i], &after_display[i..]),
                None => (after_display, ""),
            };
            if uri_text.contains('?') {
                return Err(ParseError::bad("URI with headers must be in <>"));
            }
            let uri = Uri::parse(trim_ws(uri_text))?;
            Ok(NameAddr {
                display: None,
                uri,
                params: parse_trailing_params(rest)?,
            })
        }
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

/// Parses `;a=b;c` after the address, or nothing.
fn parse_trailing_params(rest: &str) -> Result<Params, ParseError> {
    let rest = trim_ws(rest);
    if rest.is_empty() {
        return Ok(Params::new());
    }
    match rest.strip_prefix(';') {
        Some(p) => Params::parse_header(p),
        None => Err(ParseError::bad("Unexpected text after address")),
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
