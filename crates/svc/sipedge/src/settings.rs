//! The SIP edge's settings, resolved once from the `sip.*` configuration keys.
//!
//! The configuration loader already refused bad values (naming the key); this turns the text
//! into the types the edge works with, so the rest of the crate never parses configuration.

use std::net::SocketAddr;
use std::time::Duration;
use voxbin_core::config::{MediaNodeEntry, SipConfig};
use voxbin_core::{Error, Result};

/// Everything the edge needs from the configuration.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// UDP and TCP address.
    pub listen: SocketAddr,
    /// TLS address, when enabled.
    pub tls_listen: Option<SocketAddr>,
    /// WebSocket address, when enabled.
    pub ws_listen: Option<SocketAddr>,
    /// PEM certificate and key files for TLS; `None` generates a self-signed pair.
    pub tls_files: Option<(String, String)>,
    /// Host written into Via and Record-Route.
    pub advertise_host: String,
    /// Port written into Via and Record-Route.
    pub advertise_port: u16,
    /// The platform's base SIP domain (`sip.domain`).
    pub domain: String,
    /// Media nodes from the configuration.
    pub media_nodes: Vec<MediaNodeEntry>,
    /// Time between OPTIONS checks of one media node.
    pub options_interval: Duration,
    /// Time an OPTIONS check may take.
    pub options_timeout: Duration,
    /// Consecutive failed checks that take a node out of rotation.
    pub options_down_after: u32,
    /// Requests per second per source IP.
    pub rate_per_sec: u32,
    /// Request burst per source IP.
    pub rate_burst: u32,
    /// Failed authentications before an IP is blocked; 0 never blocks.
    pub auth_failures_before_block: u32,
    /// How long a blocked IP stays blocked.
    pub block_for: Duration,
    /// Lower-case User-Agent substrings of scanners.
    pub blocked_user_agents: Vec<String>,
    /// Shortest registration accepted, seconds.
    pub register_min_expires: u32,
    /// Longest registration granted, seconds.
    pub register_max_expires: u32,
    /// Most contacts per extension.
    pub register_max_contacts: usize,
    /// Longest wait after a busy UDP read (see [`crate::coalesce`]).
    pub udp_coalesce: Duration,
}

impl EdgeSettings {
    /// Resolves the settings; an unusable value is an `InvalidArgument` naming the key.
    pub fn from_config(c: &SipConfig) -> Result<EdgeSettings> {
        let addr = |key: &str, v: &str| -> Result<Option<SocketAddr>> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse().map(Some).map_err(|_| {
                Error::invalid_argument("CONFIG", format!("{key}: {v:?} is not host:port"))
            })
        };
        let listen = addr("sip.listen", &c.listen)?.ok_or_else(|| {
            Error::invalid_argument("CONFIG", "sip.listen: the sip-edge role needs an address")
        })?;
        let media_nodes = c
            .media_nodes
            .iter()
            .map(|e| {
                MediaNodeEntry::parse(e)
                    .map_err(|r| Error::invalid_argument("CONFIG", format!("sip.media_nodes: {r}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let (advertise_host, advertise_port) = if c.advertise.is_empty() {
            (listen.ip().to_string(), listen.port())
        } else {
            let a = MediaNodeEntry::parse(&c.advertise)
                .map_err(|r| Error::invalid_argument("CONFIG", format!("sip.advertise: {r}")))?;
            (a.host, a.port)
        };
        Ok(EdgeSettings {
            listen,
            tls_listen: addr("sip.tls_listen", &c.tls_listen)?,
            ws_listen: addr("sip.ws_listen", &c.ws_listen)?,
            tls_files: (!c.tls_cert.is_empty()).then(|| (c.tls_cert.clone(), c.tls_key.clone())),
            advertise_host,
            advertise_port,
            domain: c.domain.to_ascii_lowercase(),
            media_nodes,
            options_interval: Duration::from_millis(c.options_interval_ms),
            options_timeout: Duration::from_millis(c.options_timeout_ms),
            options_down_after: c.options_down_after.max(1),
            rate_per_sec: c.rate_limit_ip_per_sec.max(1),
            rate_burst: c.rate_limit_ip_burst.max(1),
            auth_failures_before_block: c.auth_failures_before_block,
            block_for: Duration::from_secs(c.block_secs),
            blocked_user_agents: c
                .blocked_user_agents
                .iter()
                .map(|u| u.trim().to_ascii_lowercase())
                .filter(|u| !u.is_empty())
                .collect(),
            register_min_expires: c.register_min_expires,
            register_max_expires: c.register_max_expires,
            register_max_contacts: c.register_max_contacts.max(1) as usize,
            udp_coalesce: Duration::from_micros(c.udp_coalesce_us.into()),
        })
    }

    /// `host:port` as written in Via and Record-Route (IPv6 in brackets).
    pub fn advertised(&self) -> String {
        if self.advertise_host.contains(':') {
            format!("[{}]:{}", self.advertise_host, self.advertise_port)
        } else {
            format!("{}:{}", self.advertise_host, self.advertise_port)
        }
    }

    /// The registrar realm suffix, `.registrar.<domain>`.
    pub fn registrar_suffix(&self) -> String {
        format!(".registrar.{}", self.domain)
    }

    /// The trunk realm suffix, `.trunk.<domain>`.
    pub fn trunk_suffix(&self) -> String {
        format!(".trunk.{}", self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxbin_core::config::Config;

    #[test]
    fn advertised_address_defaults_to_listen() {
        let mut c = Config::default().sip;
        c.listen = "127.0.0.1:5070".into();
        c.media_nodes = vec!["127.0.0.1:5080;weight=3".into()];
        let s = EdgeSettings::from_config(&c).unwrap();
        assert_eq!(s.advertised(), "127.0.0.1:5070");
        assert_eq!(s.media_nodes[0].weight, 3);
        assert_eq!(s.registrar_suffix(), ".registrar.voxbin.local");
        c.advertise = "sip.example.com:5060".into();
        let s = EdgeSettings::from_config(&c).unwrap();
        assert_eq!(s.advertised(), "sip.example.com:5060");
    }

    #[test]
    fn an_edge_without_a_listen_address_is_a_config_error() {
        let mut c = Config::default().sip;
        c.listen = String::new();
        let e = EdgeSettings::from_config(&c).unwrap_err();
        assert!(e.message.contains("sip.listen"), "{}", e.message);
    }
}
