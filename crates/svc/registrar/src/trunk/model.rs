//! The trunk row, its public shape (`RegistrarManagerTrunk`) and the checks on its fields.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;
use voxbin_svc_kit::body::invalid;

/// Most entries accepted in `allowed_ips`.
pub const MAX_ALLOWED_IPS: usize = 256;

/// The digest realm (and SIP domain) of a trunk.
pub fn realm(domain_name: &str, sip_domain: &str) -> String {
    format!("{domain_name}.trunk.{sip_domain}")
}

/// How a trunk's requests are authenticated (`RegistrarManagerAuthType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    /// SIP digest with username and password.
    Basic,
    /// Source address in `allowed_ips`.
    Ip,
}

impl AuthType {
    /// Parses the wire name; 400 naming `field` for anything else.
    pub fn parse(field: &str, text: &str) -> Result<AuthType> {
        match text {
            "basic" => Ok(AuthType::Basic),
            "ip" => Ok(AuthType::Ip),
            _ => Err(invalid(field, "must be one of: basic, ip")),
        }
    }
}

/// Parses `auth_types`: at least one, known values, duplicates dropped (order kept).
pub fn parse_auth_types(items: &[String]) -> Result<Vec<AuthType>> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let kind = AuthType::parse(&format!("auth_types[{i}]"), item)?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    if out.is_empty() {
        return Err(invalid(
            "auth_types",
            "must name at least one of: basic, ip",
        ));
    }
    Ok(out)
}

/// Checks a trunk name: one lower-case DNS label (`[a-z0-9]`, inner `-`, at most 63), since it
/// becomes `<name>.trunk.<sip.domain>`.
pub fn check_domain_name(field: &str, value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be a DNS label: 1 to 63 lower-case letters, digits and inner hyphens",
        ))
    }
}

/// Parses one `allowed_ips` entry, an IPv4/IPv6 address or CIDR block, into canonical text.
pub fn parse_allowed_ip(field: &str, text: &str) -> Result<String> {
    let bad = || invalid(field, "must be an IPv4 or IPv6 address or CIDR block");
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    match prefix {
        None => Ok(ip.to_string()),
        Some(prefix) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            // Digits only: `u8::from_str` would also take "+8".
            if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            let bits: u8 = prefix.parse().map_err(|_| bad())?;
            if bits > max {
                return Err(bad());
            }
            Ok(format!("{ip}/{bits}"))
        }
    }
}

/// One row of `registrar_trunks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRow {
    /// Resource id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The trunk's DNS label, unique among live trunks.
    pub domain_name: String,
    /// Digest realm, `<domain_name>.trunk.<sip.domain>`.
    pub realm: String,
    /// Accepted authentication methods.
    pub auth_types: Vec<AuthType>,
    /// Digest user name (may be empty without `basic`).
    pub username: String,
    /// Clear digest password (may be empty without `basic`).
    pub password: String,
    /// MD5 HA1, lower-case hex; empty without credentials.
    pub ha1_md5: String,
    /// SHA-256 HA1, lower-case hex; empty without credentials.
    pub ha1_sha256: String,
    /// Source addresses or CIDR blocks, canonical text.
    pub allowed_ips: Vec<String>,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: String,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
}

impl TrunkRow {
    /// Decodes a row selected with [`crate::trunk::store::COLUMNS`].
    pub fn from_row(r: &AnyRow) -> Result<Self> {
        let auth_types = row::json::<Vec<String>>(r, "auth_types")?
            .iter()
            .map(|t| AuthType::parse("auth_types", t))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| Error::internal(format!("stored auth_types: {}", e.message)))?;
        Ok(TrunkRow {
            id: row::uuid(r, "id")?,
            customer_id: row::uuid(r, "customer_id")?,
            name: row::text(r, "name")?,
            detail: row::text(r, "detail")?,
            domain_name: row::text(r, "domain_name")?,
            realm: row::text(r, "realm")?,
            auth_types,
            username: row::text(r, "username")?,
            password: row::text(r, "password")?,
            ha1_md5: row::text(r, "ha1_md5")?,
            ha1_sha256: row::text(r, "ha1_sha256")?,
            allowed_ips: row::json::<Vec<String>>(r, "allowed_ips")?,
            tm_create: row::text(r, "tm_create")?,
            tm_update: row::text(r, "tm_update")?,
            tm_delete: row::opt_text(r, "tm_delete")?,
        })
    }

    /// The contract's public shape.
    pub fn public(&self) -> Trunk {
        Trunk {
            id: self.id,
            customer_id: self.customer_id,
            name: self.name.clone(),
            detail: self.detail.clone(),
            domain_name: self.domain_name.clone(),
            auth_types: self.auth_types.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            allowed_ips: self.allowed_ips.clone(),
            tm_create: self.tm_create.clone(),
            tm_update: self.tm_update.clone(),
            tm_delete: self.tm_delete.clone(),
        }
    }

    /// The internal shape for the SIP edge: public fields plus realm and HA1s.
    pub fn auth(&self) -> TrunkAuth {
        TrunkAuth {
            trunk: self.public(),
            realm: self.realm.clone(),
            ha1_md5: self.ha1_md5.clone(),
            ha1_sha256: self.ha1_sha256.clone(),
        }
    }
}

/// `RegistrarManagerTrunk`: what the public API returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trunk {
    /// Resource id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The trunk's DNS label.
    pub domain_name: String,
    /// Accepted authentication methods.
    pub auth_types: Vec<AuthType>,
    /// Digest user name.
    pub username: String,
    /// Digest password.
    pub password: String,
    /// Allowed source addresses.
    pub allowed_ips: Vec<String>,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: String,
    /// Deletion time; null while live.
    pub tm_delete: Option<String>,
}

/// The internal answer of `GET /v1/trunks/by_domain/{domain_name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkAuth {
    /// The public fields.
    #[serde(flatten)]
    pub trunk: Trunk,
    /// Digest realm.
    pub realm: String,
    /// MD5 HA1, lower-case hex; empty without credentials.
    pub ha1_md5: String,
    /// SHA-256 HA1, lower-case hex; empty without credentials.
    pub ha1_sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_ips_accept_addresses_and_cidrs_in_canonical_form() {
        let ok = [
            ("203.0.113.10", "203.0.113.10"),
            ("203.0.113.0/24", "203.0.113.0/24"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:DB8::1", "2001:db8::1"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("::1/128", "::1/128"),
        ];
        for (input, canonical) in ok {
            assert_eq!(
                parse_allowed_ip("allowed_ips[0]", input).unwrap(),
                canonical
            );
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "::1/129",
            "host.example.com",
            "1.2.3.4/8/8",
            " 1.2.3.4",
            "1.2.3.4/0008",
        ] {
            let err = parse_allowed_ip("allowed_ips[0]", bad).unwrap_err();
            assert!(err.message.starts_with("allowed_ips[0]"), "{bad}: {err}");
        }
    }

    #[test]
    fn domain_names_are_dns_labels() {
        for good in ["a", "acme", "acme-pbx-1", &"x".repeat(63)] {
            check_domain_name("domain_name", good).unwrap();
        }
        for bad in ["", "-a", "a-", "Acme", "a.b", "a_b", &"x".repeat(64)] {
            assert!(check_domain_name("domain_name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auth_types_are_known_and_deduplicated() {
        let items = ["ip".to_string(), "basic".into(), "ip".into()];
        assert_eq!(
            parse_auth_types(&items).unwrap(),
            vec![AuthType::Ip, AuthType::Basic]
        );
        assert!(parse_auth_types(&[]).is_err());
        let err = parse_auth_types(&["digest".to_string()]).unwrap_err();
        assert!(err.message.starts_with("auth_types[0]"), "{err}");
    }
}
