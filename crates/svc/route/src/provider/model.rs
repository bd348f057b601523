//! The provider (`RouteManagerProvider`) and the checks on its fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;
use voxbin_svc_kit::body::invalid;

/// The only provider type of the contract (`RouteManagerProviderType`).
pub const TYPE_SIP: &str = "sip";

/// Health status of a provider never probed.
pub const HEALTH_UNKNOWN: &str = "unknown";

/// Most entries accepted in `tech_headers`.
pub const MAX_TECH_HEADERS: usize = 32;

/// Headers the SIP stack writes itself; a provider may not set or override them (full and
/// compact forms, compared case-insensitively).
const RESERVED_HEADERS: &[&str] = &[
    "via",
    "v",
    "from",
    "f",
    "to",
    "t",
    "call-id",
    "i",
    "cseq",
    "contact",
    "m",
    "max-forwards",
    "content-length",
    "l",
    "content-type",
    "c",
    "route",
    "record-route",
];

/// A provider: one row of `route_providers` and its public shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// Resource id.
    pub id: Uuid,
    /// Provider type; always `sip`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Destination `host[:port]`.
    pub hostname: String,
    /// Prepended to the dialled number.
    pub tech_prefix: String,
    /// Appended to the dialled number.
    pub tech_postfix: String,
    /// Extra SIP headers sent on calls through this provider.
    pub tech_headers: BTreeMap<String, String>,
    /// Carrier identifiers from automated setup; `{}` for providers made by hand.
    pub metadata: Map<String, Value>,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Comma-separated codec list, empty for the server default.
    pub codecs: String,
    /// `unknown`, `healthy` or `unhealthy`.
    pub health_status: String,
    /// Time of the last successful probe; null before one.
    pub health_checked_at: Option<String>,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: String,
    /// Deletion time; null while live.
    pub tm_delete: Option<String>,
}

impl Provider {
    /// Decodes a row selected with [`crate::provider::store::COLUMNS`] (optionally prefixed).
    pub fn from_row(r: &AnyRow, prefix: &str) -> Result<Self> {
        let c = |name: &str| format!("{prefix}{name}");
        Ok(Provider {
            id: row::uuid(r, &c("id"))?,
            kind: row::text(r, &c("type"))?,
            hostname: row::text(r, &c("hostname"))?,
            tech_prefix: row::text(r, &c("tech_prefix"))?,
            tech_postfix: row::text(r, &c("tech_postfix"))?,
            tech_headers: row::json(r, &c("tech_headers"))?,
            codecs: row::text(r, &c("codecs"))?,
            metadata: row::json(r, &c("metadata"))?,
            name: row::text(r, &c("name"))?,
            detail: row::text(r, &c("detail"))?,
            health_status: row::text(r, &c("health_status"))?,
            health_checked_at: row::opt_text(r, &c("health_checked_at"))?,
            tm_create: row::text(r, &c("tm_create"))?,
            tm_update: row::text(r, &c("tm_update"))?,
            tm_delete: row::opt_text(r, &c("tm_delete"))?,
        })
    }
}

/// Checks `type`: only `sip` exists.
pub fn check_type(field: &str, value: &str) -> Result<()> {
    if value == TYPE_SIP {
        Ok(())
    } else {
        Err(invalid(field, "must be one of: sip"))
    }
}

/// True for a DNS host name: dot-separated labels of letters, digits and inner hyphens.
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
        // An all-numeric dotted name is a malformed IPv4 address, not a host name.
        && !host.split('.').all(|label| label.bytes().all(|c| c.is_ascii_digit()))
}

/// Checks `hostname`: a DNS name, an IPv4 address or a bracketed IPv6 address (a bare IPv6
/// address is accepted too), optionally followed by `:port` (1 to 65535).
pub fn check_hostname(field: &str, value: &str) -> Result<()> {
    let bad = || {
        invalid(
            field,
            "must be host[:port] with a DNS name or an IP address",
        )
    };
    if value.parse::<Ipv6Addr>().is_ok() {
        return Ok(());
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or_else(bad)?;
        addr.parse::<Ipv6Addr>().map_err(|_| bad())?;
        match after {
            "" => return Ok(()),
            _ => (None, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match value.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(value), None),
        }
    };
    if let Some(host) = host {
        if host.parse::<Ipv4Addr>().is_err() && !is_dns_name(host) {
            return Err(bad());
        }
    }
    if let Some(port) = port {
        let ok = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && matches!(port.parse::<u32>(), Ok(1..=65535));
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// Checks a tech prefix or postfix: at most 32 of `0-9 A-Z a-z + * # . _ -`.
pub fn check_tech_affix(field: &str, value: &str) -> Result<()> {
    if value.len() > 32
        || !value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'*' | b'#' | b'.' | b'_' | b'-')
        })
    {
        return Err(invalid(
            field,
            "must be at most 32 of: letters, digits and + * # . _ -",
        ));
    }
    Ok(())
}

/// Parses `tech_headers`: header names are SIP tokens (not ones the stack sets itself), values
/// are strings without line breaks or other control characters (no header injection).
pub fn parse_tech_headers(
    field: &str,
    map: &Map<String, Value>,
) -> Result<BTreeMap<String, String>> {
    if map.len() > MAX_TECH_HEADERS {
        return Err(invalid(
            field,
            format!("may hold at most {MAX_TECH_HEADERS} headers"),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, value) in map {
        let here = format!("{field}.{name}");
        let token = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                    )
            });
        if !token {
            return Err(invalid(&here, "is not a valid SIP header name"));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(invalid(
                &here,
                "is set by the SIP stack and cannot be overridden",
            ));
        }
        let Value::String(text) = value else {
            return Err(invalid(&here, "must be a string"));
        };
        if text.len() > 1024 || text.chars().any(char::is_control) {
            return Err(invalid(
                &here,
                "must be at most 1024 bytes without control characters",
            ));
        }
        out.insert(name.clone(), text.clone());
    }
    Ok(out)
}

/// Normalises `codecs`: comma-separated codec names (letters, digits, `. _ / -`), spaces
/// around commas dropped; empty means the server default.
pub fn parse_codecs(field: &str, value: &str) -> Result<String> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    let mut names = Vec::new();
    for name in value.split(',').map(str::trim) {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
        if !ok {
            return Err(invalid(
                field,
                "must be a comma-separated list of codec names, e.g. PCMU,PCMA",
            ));
        }
        names.push(name);
    }
    let joined = names.join(",");
    if joined.len() > 255 {
        return Err(invalid(field, "must be at most 255 characters"));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostnames_are_host_and_optional_port() {
        for good in [
            "sip.provider.example.com",
            "sip.provider.example.com:5060",
            "203.0.113.5",
            "203.0.113.5:5080",
            "[2001:db8::1]",
            "[2001:db8::1]:5060",
            "2001:db8::1",
            "localhost",
        ] {
            check_hostname("hostname", good).unwrap();
        }
        for bad in [
            "",
            "sip..example.com",
            "-sip.example.com",
            "sip.example.com:",
            "sip.example.com:0",
            "sip.example.com:65536",
            "sip.example.com:+80",
            "sip example.com",
            "1.2.3",
            "[2001:db8::1",
            "[nope]:5060",
            "sip.example.com:5060:1",
            "host/path",
            "a_b.example",
        ] {
            let err = check_hostname("hostname", bad).unwrap_err();
            assert!(err.message.starts_with("hostname"), "{bad}: {err}");
        }
    }

    #[test]
    fn tech_headers_refuse_injection_and_reserved_names() {
        let ok = json!({"X-Custom-Header": "value1", "P-Preferred-Identity": "<sip:1@x>"});
        let parsed = parse_tech_headers("tech_headers", ok.as_object().unwrap()).unwrap();
        assert_eq!(parsed["X-Custom-Header"], "value1");
        for (bad, field) in [
            (json!({"X-A": 1}), "tech_headers.X-A"),
            (json!({"X-A": "a\r\nVia: evil"}), "tech_headers.X-A"),
            (json!({"Bad Name": "x"}), "tech_headers.Bad Name"),
            (json!({"CALL-ID": "x"}), "tech_headers.CALL-ID"),
            (json!({"": "x"}), "tech_headers."),
        ] {
            let err = parse_tech_headers("tech_headers", bad.as_object().unwrap()).unwrap_err();
            assert!(err.message.starts_with(field), "{bad}: {err}");
        }
    }

    #[test]
    fn codecs_are_normalised() {
        assert_eq!(parse_codecs("codecs", "PCMU, PCMA").unwrap(), "PCMU,PCMA");
        assert_eq!(parse_codecs("codecs", "").unwrap(), "");
        assert!(parse_codecs("codecs", "PCMU,,PCMA").is_err());
        assert!(parse_codecs("codecs", "PCMU;PCMA").is_err());
    }

    #[test]
    fn tech_affixes_are_dial_string_characters() {
        for good in ["", "9", "+1", "#", "*72", "00-1"] {
            check_tech_affix("tech_prefix", good).unwrap();
        }
        for bad in ["a b", "9@x", "1;x", &"9".repeat(33)] {
            assert!(check_tech_affix("tech_prefix", bad).is_err(), "{bad}");
        }
    }
}
