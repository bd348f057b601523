//! Where an incoming leg goes, decided from its Request-URI and From alone (no I/O): a number
//! of the platform (`sip:<E.164>@...`), an extension (`sip:<name>@...`), or nothing we know.

use crate::model::Address;

/// What an incoming call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An E.164 number: runs the number's call flow.
    Number(String),
    /// A name or short number: an extension of a customer.
    Extension(String),
    /// No user part at all.
    Unknown,
}

/// The user part of a SIP URI or a name-addr (`"Bob" <sip:+1555@host;x=y>` -> `+1555`).
pub fn user_part(value: &str) -> Option<&str> {
    let inner = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value,
    };
    let rest = inner
        .strip_prefix("sips:")
        .or_else(|| inner.strip_prefix("sip:"))
        .or_else(|| inner.strip_prefix("tel:"))?;
    let end = rest.find(['@', ';', '?', '>']).unwrap_or(rest.len());
    let user = &rest[..end];
    (!user.is_empty()).then_some(user)
}

/// The display name of a name-addr (`"Bob" <sip:...>` -> `Bob`), empty when none.
pub fn display_name(value: &str) -> String {
    match value.find('<') {
        Some(i) => value[..i].trim().trim_matches('"').to_owned(),
        None => String::new(),
    }
}

/// Where a Request-URI points.
pub fn target_of(uri: &str) -> Target {
    match user_part(uri) {
        Some(user) if voxbin_svc_kit::body::is_e164(user) => Target::Number(user.to_owned()),
        Some(user) => Target::Extension(user.to_owned()),
        None => Target::Unknown,
    }
}

/// The caller as a contract address: `tel` for E.164 users, else `sip` with the whole URI.
pub fn source_of(from: &str) -> Address {
    let user = user_part(from).unwrap_or("");
    let mut a = if voxbin_svc_kit::body::is_e164(user) {
        Address::new("tel", user)
    } else {
        let inner = match (from.find('<'), from.rfind('>')) {
            (Some(a), Some(b)) if a < b => &from[a + 1..b],
            _ => from,
        };
        let uri = inner.split(';').next().unwrap_or(inner);
        Address::new("sip", uri)
    };
    a.target_name = display_name(from);
    a
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn user_parts_of_uris_and_name_addrs() {
        assert_eq!(
            user_part("sip:+15550100@pstn.voxbin.local"),
            Some("+15550100")
        );
        assert_eq!(
            user_part("\"Bob\" <sip:2001@x;transport=tcp>;tag=1"),
            Some("2001")
        );
        assert_eq!(user_part("sip:alice;x=1@h"), Some("alice"));
        assert_eq!(user_part("tel:+15550100"), Some("+15550100"));
        assert_eq!(user_part("sip:host.only"), Some("host.only"));
        assert_eq!(user_part("<sip:@h>"), None);
        assert_eq!(user_part("mailto:x@y"), None);
    }

    #[test]
    fn targets_and_sources() {
        assert_eq!(
            target_of("sip:+15550100@pstn.voxbin.local"),
            Target::Number("+15550100".into())
        );
        assert_eq!(
            target_of("sip:2001@voxbin.local"),
            Target::Extension("2001".into())
        );
        assert_eq!(target_of("https://x"), Target::Unknown);
        let s = source_of("\"Alice\" <sip:+15550199@carrier;user=phone>;tag=9");
        assert_eq!((s.kind.as_str(), s.target.as_str()), ("tel", "+15550199"));
        assert_eq!(s.target_name, "Alice");
        let s = source_of("<sip:alice@example.com;transport=udp>;tag=1");
        assert_eq!(
            (s.kind.as_str(), s.target.as_str()),
            ("sip", "sip:alice@example.com")
        );
    }
}
