//! The header section of a message: an ordered list of `(name, value)` lines with lookups by
//! name and typed accessors that parse on demand (Via, From/To, Call-ID, CSeq, Contact, Route,
//! Record-Route, Max-Forwards, Expires). Content-Length is never stored here: it is derived
//! from the body when the message is written.

use bytestring::ByteString;

use crate::cseq::CSeq;
use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::name_addr::{NameAddr, NameAddrRef};
use crate::via::{Via, ViaRef};

/// One header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Field name.
    pub name: HeaderName,
    /// Field value, trimmed, folded lines joined by one space. A parsed value shares the
    /// message's buffer, so copying a header (to forward or answer) allocates nothing.
    pub value: ByteString,
}

/// The Contact header set of a REGISTER or dialog-creating message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    /// `Contact: *` (remove all bindings).
    Star,
    /// Zero or more addresses.
    List(Vec<NameAddr>),
}

/// Ordered header lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty header list with room for `n` lines.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0.iter().find(|h| &h.name == name).map(|h| &*h.value)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| &*h.value)
    }

    /// True when at least one `name` line is present.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.iter().any(|h| &h.name == name)
    }

    /// Appends a line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a line before the first line of the same name, or at the top if there is none.
    pub fn insert_first(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        let at = self.0.iter().position(|h| h.name == name).unwrap_or(0);
        self.0.insert(
            at,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces every `name` line by one line with `value` (at the first one's place).
    pub fn set(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(at) => {
                self.0[at].value = value;
                let mut seen = 0usize;
                self.0.retain(|h| {
                    if h.name == name {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes the first `name` line and returns its value.
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<ByteString> {
        let at = self.0.iter().position(|h| &h.name == name)?;
        Some(self.0.remove(at).value)
    }

    /// Removes every `name` line; returns how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let before = self.0.len();
        self.0.retain(|h| &h.name != name);
        before - self.0.len()
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no lines.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the lines.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// The Call-ID value.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        match self.get(&HeaderName::CallId) {
            Some(v) if !v.is_empty() && !v.contains([' ', '\t']) => Ok(v),
            Some(_) => Err(ParseError::bad("Bad Call-ID header")),
            None => Err(ParseError::bad("Missing Call-ID header")),
        }
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(
            self.get(&HeaderName::CSeq)
                .ok_or(ParseError::bad("Missing CSeq header"))?,
        )
    }

    /// The From header.
    pub fn from_hdr(&self) -> Result<NameAddr, ParseError> {
        let v = self
            .get(&HeaderName::From)
            .ok_or(ParseError::bad("Missing From header"))?;
        NameAddr::parse(v).map_err(|_| ParseError::bad("Bad From header"))
    }

    /// The To header.
    pub fn to_hdr(&self) -> Result<NameAddr, ParseError> {
        let v = self
            .get(&HeaderName::To)
            .ok_or(ParseError::bad("Missing To header"))?;
        NameAddr::parse(v).map_err(|_| ParseError::bad("Bad To header"))
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        Via::parse(
            self.get(&HeaderName::Via)
                .ok_or(ParseError::bad("Missing Via header"))?,
        )
    }

    /// The top Via's sent-by and `branch` as written, when the Via has its common shape
    /// (`SIP/2.0/<transport> <sent-by>;params`, no spaces or quotes inside); `None` for a missing
    /// Via or any other shape, which [`Headers::top_via`] reads. No copy, no full parse.
    pub fn top_via_ids(&self) -> Option<(&str, Option<&str>)> {
        crate::via::sent_by_and_branch(self.get(&HeaderName::Via)?)
    }

    /// Checks the top Via, From and To the way [`Headers::top_via`], [`Headers::from_hdr`] and
    /// [`Headers::to_hdr`] would read them, with the same errors, without copying anything:
    /// every message is checked, few are taken apart further.
    pub(crate) fn check_addressing(&self) -> Result<(), ParseError> {
        let via = self
            .get(&HeaderName::Via)
            .ok_or(ParseError::bad("Missing Via header"))?;
        ViaRef::parse(via)?;
        let from = self
            .get(&HeaderName::From)
            .ok_or(ParseError::bad("Missing From header"))?;
        NameAddrRef::parse(from).map_err(|_| ParseError::bad("Bad From header"))?;
        let to = self
            .get(&HeaderName::To)
            .ok_or(ParseError::bad("Missing To header"))?;
        NameAddrRef::parse(to).map_err(|_| ParseError::bad("Bad To header"))?;
        Ok(())
    }

    /// Every Via, top first.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.get_all(&HeaderName::Via).map(Via::parse).collect()
    }

    /// The Contact set (`*` or addresses).
    pub fn contacts(&self) -> Result<Contacts, ParseError> {
        let mut list = Vec::new();
        let mut star = false;
        for v in self.get_all(&HeaderName::Contact) {
            if v == "*" {
                star = true;
            } else {
                list.push(NameAddr::parse(v).map_err(|_| ParseError::bad("Bad Contact header"))?);
            }
        }
        match (star, list.is_empty()) {
            (true, true) => Ok(Contacts::Star),
            (true, false) => Err(ParseError::bad("Contact * mixed with addresses")),
            (false, _) => Ok(Contacts::List(list)),
        }
    }

    /// Route set, top first.
    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.name_addrs(&HeaderName::Route, "Bad Route header")
    }

    /// Record-Route set, top first.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.name_addrs(&HeaderName::RecordRoute, "Bad Record-Route header")
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.number(&HeaderName::MaxForwards, "Bad Max-Forwards header")
    }

    /// Expires header, if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.number(&HeaderName::Expires, "Bad Expires header")
    }

    /// Parses every `name` line as a name-addr.
    fn name_addrs(
        &self,
        name: &HeaderName,
        reason: &'static str,
    ) -> Result<Vec<NameAddr>, ParseError> {
        self.get_all(name)
            .map(|v| NameAddr::parse(v).map_err(|_| ParseError::bad(reason)))
            .collect()
    }

    /// Parses the first `name` line as a decimal number.
    fn number(&self, name: &HeaderName, reason: &'static str) -> Result<Option<u32>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
                v.parse().map(Some).map_err(|_| ParseError::bad(reason))
            }
            Some(_) => Err(ParseError::bad(reason)),
        }
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        let mut h = Headers::new();
        h.push(HeaderName::Via, "SIP/2.0/UDP a;branch=z9hG4bK1");
        h.push(HeaderName::Via, "SIP/2.0/TCP b;branch=z9hG4bK2");
        h.push(HeaderName::From, "<sip:a@x>;tag=f");
        h.push(HeaderName::To, "<sip:b@x>");
        h.push(HeaderName::CallId, "c1@x");
        h.push(HeaderName::CSeq, "7 REGISTER");
        h.push(HeaderName::Contact, "<sip:a@1.2.3.4>;expires=30");
        h.push(HeaderName::Contact, "<sip:a@5.6.7.8>");
        h.push(HeaderName::MaxForwards, "70");
        h
    }

    #[test]
    fn typed_access() {
        let h = sample();
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(h.vias().unwrap().len(), 2);
        assert_eq!(h.from_hdr().unwrap().tag(), Some("f"));
        assert_eq!(h.to_hdr().unwrap().tag(), None);
        assert_eq!(h.call_id().unwrap(), "c1@x");
        assert_eq!(h.cseq().unwrap().seq, 7);
        assert_eq!(h.max_forwards().unwrap(), Some(70));
        assert_eq!(h.expires().unwrap(), None);
        match h.contacts().unwrap() {
            Contacts::List(l) => assert_eq!(l[0].expires(), Some(30)),
            Contacts::Star => panic!("expected a list"),
        }
    }

    #[test]
    fn editing_lines() {
        let mut h = sample();
        h.insert_first(HeaderName::Via, "SIP/2.0/UDP edge;branch=z9hG4bK0");
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK0"));
        assert!(h.remove_first(&HeaderName::Via).is_some());
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
        h.set(HeaderName::Contact, "*");
        assert_eq!(h.contacts().unwrap(), Contacts::Star);
        assert_eq!(h.remove_all(&HeaderName::Via), 2);
        assert_eq!(h.top_via().unwrap_err().reason(), "Missing Via header");
        h.insert_first(HeaderName::RecordRoute, "<sip:edge;lr>");
        assert_eq!(h.0[0].name, HeaderName::RecordRoute);
    }

    #[test]
    fn the_copy_free_check_agrees_with_the_parsers() {
        let vias = [
            "SIP/2.0/UDP a;branch=z9hG4bK1",
            "SIP / 2.0 / TLS [2001:db8::9]:5061 ; branch=z9hG4bKx ; rport=7",
            "SIP/2.0/UDP a:99999;branch=z9hG4bK1",
            "SIP/2.0/UDP a;branch=",
            "SIP/2.0/UDP a;",
            "SIP/2.0 a",
        ];
        let addrs = [
            "<sip:a@x>;tag=f",
            "\"A \\\"q\\\"\" <sips:a:pw@[::1]:5061;transport=tls?X=1&Y=2>;tag=1;q=0.5",
            "sip:carol@c.com;tag=xyz",
            "tel:+1-555;phone-context=x",
            "tel:+1;",
            "<sip:a@x;>",
            "<sip:@x>",
            "<sip:a@x",
            "sip:a@x?y=z",
            "<http://x>",
            "Bob <sip:a b@x>",
            "<sip:a@x> junk",
            "<sip:a@x>;=1",
        ];
        for via in vias {
            for from in addrs {
                for to in [addrs[0], from] {
                    let mut h = Headers::new();
                    h.push(HeaderName::Via, via);
                    h.push(HeaderName::From, from);
                    h.push(HeaderName::To, to);
                    let parsed = h
                        .top_via()
                        .and_then(|_| h.from_hdr())
                        .and_then(|_| h.to_hdr())
                        .map(|_| ());
                    assert_eq!(h.check_addressing(), parsed, "{via} / {from} / {to}");
                }
            }
        }
    }

    #[test]
    fn bad_values_name_the_header() {
        let mut h = Headers::new();
        h.push(HeaderName::MaxForwards, "-1");
        h.push(HeaderName::From, "<sip:a@x");
        h.push(HeaderName::Contact, "*");
        h.push(HeaderName::Contact, "<sip:a@b>");
        assert_eq!(
            h.max_forwards().unwrap_err().reason(),
            "Bad Max-Forwards header"
        );
        assert_eq!(h.from_hdr().unwrap_err().reason(), "Bad From header");
        assert!(h.contacts().is_err());
        assert_eq!(h.cseq().unwrap_err().reason(), "Missing CSeq header");
    }
}
