//! Where an incoming leg goes, decided from its Request-URI and From alone (no I/O): a number
//! of the platform (`sip:<E.164>@...`), an extension (`sip:<name>@...`), or nothing we know.

use std::net::{IpAddr, SocketAddr};

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

/// Whether a leg from `source` (`ip:port` as the media node saw it) may reach a number:
/// loopback when `allow_loopback`, otherwise only an address of some provider (`carriers`).
/// An unreadable source is refused.
pub fn carrier_allowed(source: &str, allow_loopback: bool, carriers: &[IpAddr]) -> bool {
    let ip = match source.parse::<SocketAddr>() {
        Ok(a) => a.ip(),
        Err(_) => match source.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return false,
        },
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    (allow_loopback && ip.is_loopback()) || carriers.contains(&ip)
}

/// Where a leg really comes from: the media node saw `source`, but when the INVITE came
/// through the edge (two Vias or more) the caller is the edge's upstream, whose Via the edge
/// stamped with `received` when its sent-by wasn't the packet's address.
pub fn origin(source: &str, vias: &[&str]) -> String {
    let Some(upstream) = vias.get(1) else {
        return source.to_owned();
    };
    let mut parts = upstream.split(';');
    let sent_by = parts
        .next()
        .and_then(|head| head.split_whitespace().nth(1))
        .unwrap_or("");
    let received = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("received").then(|| v.trim())
    });
    provider_host(received.unwrap_or(sent_by)).to_owned()
}

/// The host of a provider's `host[:port]` (`[v6]:port`, bare v6 and v4 forms too).
pub fn provider_host(hostname: &str) -> &str {
    if hostname.parse::<IpAddr>().is_ok() {
        return hostname;
    }
    if let Some(rest) = hostname.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    hostname.split(':').next().unwrap_or(hostname)
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

    #[test]
    fn origins_behind_the_edge() {
        assert_eq!(origin("127.0.0.1:5090", &[]), "127.0.0.1:5090");
        let edge = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKe";
        assert_eq!(origin("10.0.0.5:5060", &[edge]), "10.0.0.5:5060");
        let stamped =
            "SIP/2.0/UDP 192.168.1.9:5060;branch=z9hG4bKc;received=203.0.113.7;rport=5070";
        assert_eq!(origin("10.0.0.5:5060", &[edge, stamped]), "203.0.113.7");
        let plain = "SIP/2.0/UDP 203.0.113.8:5060;branch=z9hG4bKd";
        assert_eq!(origin("10.0.0.5:5060", &[edge, plain]), "203.0.113.8");
        let v6 = "SIP/2.0/TCP [2001:db8::5]:5060;branch=z9hG4bKf";
        assert_eq!(origin("10.0.0.5:5060", &[edge, v6]), "2001:db8::5");
    }

    #[test]
    fn provider_hosts() {
        assert_eq!(
            provider_host("sip.carrier.example:5080"),
            "sip.carrier.example"
        );
        assert_eq!(provider_host("203.0.113.7"), "203.0.113.7");
        assert_eq!(provider_host("[2001:db8::5]:5060"), "2001:db8::5");
        assert_eq!(provider_host("2001:db8::5"), "2001:db8::5");
    }

    #[test]
    fn carriers_come_from_loopback_or_a_provider() {
        let carriers: Vec<IpAddr> = vec![
            "203.0.113.7".parse().unwrap(),
            "2001:db8::5".parse().unwrap(),
        ];
        assert!(carrier_allowed("127.0.0.1:5060", true, &[]));
        assert!(!carrier_allowed("127.0.0.1:5060", false, &[]));
        assert!(carrier_allowed("[::1]:5060", true, &[]));
        assert!(carrier_allowed("203.0.113.7:5080", false, &carriers));
        assert!(carrier_allowed(
            "[::ffff:203.0.113.7]:5080",
            false,
            &carriers
        ));
        assert!(carrier_allowed("[2001:db8::5]:5060", false, &carriers));
        assert!(!carrier_allowed("198.51.100.1:5060", true, &carriers));
        assert!(!carrier_allowed("", true, &carriers));
        assert!(!carrier_allowed("not-an-address", true, &carriers));
    }
}
