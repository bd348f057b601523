//! Credentials of extensions and trunks, asked of the registrar service over the bus.
//!
//! The registrar service owns those tables; the edge only calls its internal routes
//! `GET /v1/extensions/by_username/{customer_id}/{username}` and
//! `GET /v1/trunks/by_domain/{domain_name}`, which answer with the HA1 hashes (never used
//! here in any other way than to check a digest response).

use serde::Deserialize;
use uuid::Uuid;
use voxbin_bus::{BusClient, Method};
use voxbin_core::{ErrorKind, Result};

/// The registrar service's name on the bus.
const REGISTRAR: &str = "registrar";

/// An extension's digest credentials.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExtensionCreds {
    /// Extension id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// SIP user name.
    pub extension: String,
    /// Digest realm.
    pub realm: String,
    /// MD5 HA1, lower-case hex.
    pub ha1_md5: String,
    /// SHA-256 HA1, lower-case hex.
    pub ha1_sha256: String,
}

/// A trunk's credentials and source allow-list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrunkCreds {
    /// Trunk id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// The trunk's DNS label.
    pub domain_name: String,
    /// Digest realm, `<domain_name>.trunk.<sip.domain>`.
    pub realm: String,
    /// `basic` and/or `ip`.
    pub auth_types: Vec<String>,
    /// Digest user name.
    #[serde(default)]
    pub username: String,
    /// MD5 HA1; empty without credentials.
    #[serde(default)]
    pub ha1_md5: String,
    /// SHA-256 HA1; empty without credentials.
    #[serde(default)]
    pub ha1_sha256: String,
    /// Allowed source addresses or CIDR blocks.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

impl TrunkCreds {
    /// Whether `auth_types` includes `kind` (`basic` or `ip`).
    pub fn allows(&self, kind: &str) -> bool {
        self.auth_types.iter().any(|t| t == kind)
    }

    /// Whether `ip` is in the allow-list.
    pub fn ip_allowed(&self, ip: std::net::IpAddr) -> bool {
        self.allowed_ips
            .iter()
            .any(|entry| cidr_contains(entry, ip))
    }
}

/// Whether `entry` (an address or `address/bits`) contains `ip`.
pub fn cidr_contains(entry: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(net) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    // An IPv4 peer may show up as an IPv4-mapped IPv6 address on a dual-stack socket.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Looks credentials up through the bus.
#[derive(Clone)]
pub struct Directory {
    client: BusClient,
}

impl Directory {
    /// A directory calling the registrar service with `client`.
    pub fn new(client: BusClient) -> Directory {
        Directory { client }
    }

    /// The live extension `username` of `customer_id`; `None` when there is none.
    pub async fn extension(
        &self,
        customer_id: Uuid,
        username: &str,
    ) -> Result<Option<ExtensionCreds>> {
        let uri = format!(
            "/v1/extensions/by_username/{customer_id}/{}",
            path_segment(username)
        );
        missing_as_none(
            self.client
                .call_as(REGISTRAR, Method::Get, &uri, None)
                .await,
        )
    }

    /// The live trunk named `domain` (bare name or full `<name>.trunk.<domain>`).
    pub async fn trunk(&self, domain: &str) -> Result<Option<TrunkCreds>> {
        let uri = format!("/v1/trunks/by_domain/{}", path_segment(domain));
        missing_as_none(
            self.client
                .call_as(REGISTRAR, Method::Get, &uri, None)
                .await,
        )
    }
}

/// `text` as one URI path segment: anything but unreserved characters percent-encoded.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn missing_as_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::NotFound || e.kind == ErrorKind::InvalidArgument => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_entries_match_addresses_and_blocks() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(cidr_contains("203.0.113.10", ip("203.0.113.10")));
        assert!(!cidr_contains("203.0.113.10", ip("203.0.113.11")));
        assert!(cidr_contains("203.0.113.0/24", ip("203.0.113.200")));
        assert!(!cidr_contains("203.0.113.0/24", ip("203.0.114.1")));
        assert!(cidr_contains("0.0.0.0/0", ip("198.51.100.1")));
        assert!(cidr_contains("2001:db8::/32", ip("2001:db8:1::5")));
        assert!(!cidr_contains("2001:db8::/32", ip("2001:db9::5")));
        assert!(cidr_contains("192.0.2.1", ip("::ffff:192.0.2.1")));
        assert!(!cidr_contains("not an address", ip("192.0.2.1")));
    }

    #[test]
    fn user_names_become_one_path_segment() {
        assert_eq!(path_segment("1001"), "1001");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
