//! The CSeq header value: sequence number and method.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::grammar::trim_ws;
use crate::method::Method;

/// `CSeq: <seq> <method>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (< 2^31 per RFC 3261 8.1.1.5, up to 2^32-1 accepted).
    pub seq: u32,
    /// Method of the request the CSeq belongs to.
    pub method: Method,
}

impl CSeq {
    /// Parses `123 INVITE`.
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        const BAD: ParseError = ParseError::bad("Bad CSeq header");
        let s = trim_ws(s);
        let ws = s.find([' ', '\t']).ok_or(BAD)?;
        let num = &s[..ws];
        if num.is_empty() || num.len() > 10 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BAD);
        }
        let seq = num.parse::<u32>().map_err(|_| BAD)?;
        let method = Method::parse(trim_ws(&s[ws..])).map_err(|_| BAD)?;
        Ok(CSeq { seq, method })
    }
}

impl FromStr for CSeq {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CSeq::parse(s)
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_parses_and_prints() {
        let c = CSeq::parse(" 314159   INVITE ").unwrap();
        assert_eq!(c.seq, 314159);
        assert_eq!(c.method, Method::Invite);
        assert_eq!(c.to_string(), "314159 INVITE");
        for bad in [
            "",
            "INVITE",
            "1",
            "x INVITE",
            "99999999999 INVITE",
            "1 IN VITE",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
    }
}
