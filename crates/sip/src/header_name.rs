//! Header names: the common ones as variants with their canonical spelling and compact forms
//! (RFC 3261 7.3.3, RFC 3265, RFC 3515, RFC 3841, RFC 3892, RFC 4028, RFC 4474), any other name
//! kept as written and compared case-insensitively.

use std::fmt;
use std::hash::{Hash, Hasher};

macro_rules! header_names {
    ($( $variant:ident => $text:literal, $compact:expr, $list:expr; )*) => {
        /// A SIP header field name.
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
            /// Any other header, spelled as received.
            Other(String),
        }

        /// Every known name with its compact letter and whether its comma list is split into
        /// one line per value when parsed (only where values are handled one by one).
        const KNOWN: &[(HeaderName, &str, Option<u8>, bool)] = &[
            $( (HeaderName::$variant, $text, $compact, $list), )*
        ];

        impl HeaderName {
            /// Canonical spelling used on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $text, )*
                    HeaderName::Other(s) => s,
                }
            }

            /// Index into `KNOWN`, `None` for `Other`.
            fn known_index(&self) -> Option<usize> {
                let mut i = 0usize;
                $(
                    if let HeaderName::$variant = self {
                        return Some(i);
                    }
                    i += 1;
                )*
                let _ = i;
                None
            }
        }
    };
}

header_names! {
    Accept => "Accept", None, false;
    AcceptContact => "Accept-Contact", Some(b'a'), false;
    AcceptEncoding => "Accept-Encoding", None, false;
    AcceptLanguage => "Accept-Language", None, false;
    AlertInfo => "Alert-Info", None, false;
    Allow => "Allow", None, false;
    AllowEvents => "Allow-Events", Some(b'u'), false;
    AuthenticationInfo => "Authentication-Info", None, false;
    Authorization => "Authorization", None, false;
    CallId => "Call-ID", Some(b'i'), false;
    CallInfo => "Call-Info", None, false;
    Contact => "Contact", Some(b'm'), true;
    ContentDisposition => "Content-Disposition", None, false;
    ContentEncoding => "Content-Encoding", Some(b'e'), false;
    ContentLanguage => "Content-Language", None, false;
    ContentLength => "Content-Length", Some(b'l'), false;
    ContentType => "Content-Type", Some(b'c'), false;
    CSeq => "CSeq", None, false;
    Date => "Date", None, false;
    ErrorInfo => "Error-Info", None, false;
    Event => "Event", Some(b'o'), false;
    Expires => "Expires", None, false;
    From => "From", Some(b'f'), false;
    Identity => "Identity", Some(b'y'), false;
    IdentityInfo => "Identity-Info", Some(b'n'), false;
    InReplyTo => "In-Reply-To", None, false;
    MaxForwards => "Max-Forwards", None, false;
    MimeVersion => "MIME-Version", None, false;
    MinExpires => "Min-Expires", None, false;
    MinSe => "Min-SE", None, false;
    Organization => "Organization", None, false;
    PAssertedIdentity => "P-Asserted-Identity", None, true;
    PPreferredIdentity => "P-Preferred-Identity", None, true;
    Path => "Path", None, true;
    Priority => "Priority", None, false;
    Privacy => "Privacy", None, false;
    ProxyAuthenticate => "Proxy-Authenticate", None, false;
    ProxyAuthorization => "Proxy-Authorization", None, false;
    ProxyRequire => "Proxy-Require", None, false;
    RAck => "RAck", None, false;
    Reason => "Reason", None, false;
    RecordRoute => "Record-Route", None, true;
    ReferTo => "Refer-To", Some(b'r'), false;
    ReferredBy => "Referred-By", Some(b'b'), false;
    RejectContact => "Reject-Contact", Some(b'j'), false;
    Replaces => "Replaces", None, false;
    ReplyTo => "Reply-To", None, false;
    RequestDisposition => "Request-Disposition", Some(b'd'), false;
    Require => "Require", None, false;
    RetryAfter => "Retry-After", None, false;
    Route => "Route", None, true;
    RSeq => "RSeq", None, false;
    Server => "Server", None, false;
    ServiceRoute => "Service-Route", None, true;
    SessionExpires => "Session-Expires", Some(b'x'), false;
    SipETag => "SIP-ETag", None, false;
    SipIfMatch => "SIP-If-Match", None, false;
    Subject => "Subject", Some(b's'), false;
    SubscriptionState => "Subscription-State", None, false;
    Supported => "Supported", Some(b'k'), false;
    Timestamp => "Timestamp", None, false;
    To => "To", Some(b't'), false;
    Unsupported => "Unsupported", None, false;
    UserAgent => "User-Agent", None, false;
    Via => "Via", Some(b'v'), true;
    Warning => "Warning", None, false;
    WwwAuthenticate => "WWW-Authenticate", None, false;
}

impl HeaderName {
    /// Parses a field name, mapping compact forms and any letter case to the known variant.
    pub fn parse(name: &str) -> HeaderName {
        Self::parse_with_list(name).0
    }

    /// Parses a field name and tells whether its value is a comma list (one table lookup).
    pub(crate) fn parse_with_list(name: &str) -> (HeaderName, bool) {
        let bytes = name.as_bytes();
        let found = match bytes.first() {
            Some(&first) if first.is_ascii_alphabetic() => {
                let first = first.to_ascii_lowercase();
                if bytes.len() == 1 {
                    KNOWN.iter().find(|k| k.2 == Some(first))
                } else {
                    buckets()[bucket(first, bytes.len())]
                        .iter()
                        .map(|&i| &KNOWN[i])
                        .find(|k| same_letters(k.1.as_bytes(), bytes))
                }
            }
            _ => None,
        };
        match found {
            Some(known) => (known.0.clone(), known.3),
            None => (HeaderName::Other(name.to_string()), false),
        }
    }

    /// The one-letter compact form, if the header has one.
    pub fn compact(&self) -> Option<char> {
        self.known_index().and_then(|i| KNOWN[i].2).map(char::from)
    }

    /// True for list headers that the parser splits into one line per value (Via, Route,
    /// Record-Route, Contact, Path, Service-Route, P-Asserted-Identity, P-Preferred-Identity).
    pub fn is_list(&self) -> bool {
        self.known_index().is_some_and(|i| KNOWN[i].3)
    }
}

/// Case-insensitive equality of a known name (letters and `-`) and any name, eight bytes at
/// a time: bit 5 is ignored only where the known name has a letter (bit 6 set), so `-` must
/// match exactly and nothing but a letter's other case matches a letter.
fn same_letters(known: &[u8], name: &[u8]) -> bool {
    const LETTER: u64 = 0x4040_4040_4040_4040;
    let same = |k: u64, n: u64| {
        let fold = (k & LETTER) >> 1;
        (k | fold) == (n | fold)
    };
    let len = known.len();
    if len != name.len() {
        return false;
    }
    // Whole-word loads, the last one overlapping the one before: no copy into a buffer.
    let word = |b: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |b: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    match len {
        0 => true,
        1..=3 => known
            .iter()
            .zip(name)
            .all(|(&k, &n)| same(u64::from(k), u64::from(n))),
        4..=7 => {
            same(half(known, 0), half(name, 0)) && same(half(known, len - 4), half(name, len - 4))
        }
        _ => {
            (0..len - 8)
                .step_by(8)
                .all(|at| same(word(known, at), word(name, at)))
                && same(word(known, len - 8), word(name, len - 8))
        }
    }
}

/// Longest name length with its own bucket; longer names share the last one.
const MAX_BUCKET_LEN: usize = 31;

/// Bucket of a name by lower-case first letter and length.
fn bucket(first_lower: u8, len: usize) -> usize {
    usize::from(first_lower - b'a') * (MAX_BUCKET_LEN + 1) + len.min(MAX_BUCKET_LEN)
}

/// Indexes into `KNOWN` grouped by first letter and length (mostly one per bucket), built once.
fn buckets() -> &'static [Vec<usize>] {
    static BUCKETS: std::sync::OnceLock<Vec<Vec<usize>>> = std::sync::OnceLock::new();
    BUCKETS.get_or_init(|| {
        let mut b = vec![Vec::new(); 26 * (MAX_BUCKET_LEN + 1)];
        for (i, k) in KNOWN.iter().enumerate() {
            let first = k.1.as_bytes()[0].to_ascii_lowercase();
            b[bucket(first, k.1.len())].push(i);
        }
        b
    })
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => false,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            HeaderName::Other(s) => {
                for b in s.bytes() {
                    state.write_u8(b.to_ascii_lowercase());
                }
            }
            known => std::mem::discriminant(known).hash(state),
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_map_to_full_names() {
        let pairs = [
            ("i", HeaderName::CallId),
            ("m", HeaderName::Contact),
            ("e", HeaderName::ContentEncoding),
            ("l", HeaderName::ContentLength),
            ("c", HeaderName::ContentType),
            ("f", HeaderName::From),
            ("s", HeaderName::Subject),
            ("K", HeaderName::Supported),
            ("t", HeaderName::To),
            ("v", HeaderName::Via),
            ("o", HeaderName::Event),
            ("u", HeaderName::AllowEvents),
            ("r", HeaderName::ReferTo),
            ("b", HeaderName::ReferredBy),
            ("x", HeaderName::SessionExpires),
            ("y", HeaderName::Identity),
        ];
        for (short, full) in pairs {
            assert_eq!(HeaderName::parse(short), full, "{short}");
        }
        assert_eq!(HeaderName::Via.compact(), Some('v'));
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(HeaderName::parse("call-id"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("CSEQ"), HeaderName::CSeq);
        let other = HeaderName::parse("X-Custom");
        assert_eq!(other, HeaderName::Other("x-CUSTOM".into()));
        assert_eq!(other.as_str(), "X-Custom");
        assert_ne!(other, HeaderName::Via);
        // a CR differs from '-' only in bit 5, which is folded for letters alone
        assert!(matches!(
            HeaderName::parse("Call\rID"),
            HeaderName::Other(_)
        ));
        assert_eq!(HeaderName::parse("mAX-fORWARDS"), HeaderName::MaxForwards);
    }

    #[test]
    fn every_known_name_matches_in_any_case_and_a_one_letter_change_does_not() {
        // Names of every length take the one-to-three, four-to-seven and word-wide paths.
        for (known, text, _, _) in KNOWN {
            let upper = text.to_ascii_uppercase();
            let lower = text.to_ascii_lowercase();
            assert_eq!(&HeaderName::parse(&upper), known, "{upper}");
            assert_eq!(&HeaderName::parse(&lower), known, "{lower}");
            for i in 0..text.len() {
                let mut changed = text.as_bytes().to_vec();
                changed[i] = if changed[i] == b'x' { b'y' } else { b'x' };
                let changed = String::from_utf8(changed).unwrap();
                if changed.eq_ignore_ascii_case(text) {
                    continue;
                }
                assert_ne!(&HeaderName::parse(&changed), known, "{changed}");
            }
        }
    }

    #[test]
    fn list_headers_are_known() {
        assert!(HeaderName::Via.is_list());
        assert!(HeaderName::Contact.is_list());
        assert!(!HeaderName::WwwAuthenticate.is_list());
        assert!(!HeaderName::Allow.is_list());
        assert!(!HeaderName::Other("X".into()).is_list());
    }
}
