//! The configuration tree and its per-profile defaults.

use serde::{Deserialize, Serialize};

/// The whole effective configuration of one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `embedded` (one process, loopback) or `production` (seed ports, all interfaces).
    pub profile: String,
    /// Where the SQLite database, recordings and generated certificates live.
    pub data_dir: String,
    /// Roles this process runs; empty means all of them.
    pub roles: Vec<String>,
    /// The REST gateway.
    pub api: ApiConfig,
    /// The `/health` and `/ready` listener.
    pub health: ListenConfig,
    /// The Prometheus `/metrics` listener.
    pub metrics: ListenConfig,
    /// SIP signalling.
    pub sip: SipConfig,
    /// RTP media ports.
    pub rtp: RtpConfig,
    /// The relational database.
    pub database: DatabaseConfig,
    /// The message bus.
    pub bus: BusConfig,
    /// The cache.
    pub cache: CacheConfig,
    /// Logging.
    pub log: LogConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
    /// Authentication.
    pub auth: AuthConfig,
}

/// The REST gateway's listeners and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Plain HTTP address; empty disables it.
    pub listen: String,
    /// HTTPS address; empty disables it.
    pub tls_listen: String,
    /// PEM certificate chain for HTTPS; empty generates a self-signed one under `data_dir`.
    pub tls_cert: String,
    /// PEM private key for HTTPS.
    pub tls_key: String,
    /// AudioSocket (TLV media stream) address.
    pub audiosocket_listen: String,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: u64,
    /// Deepest accepted JSON nesting.
    pub json_depth_limit: u32,
    /// Requests per second allowed per client IP.
    pub rate_limit_ip_per_sec: u32,
    /// Burst allowed per client IP.
    pub rate_limit_ip_burst: u32,
    /// Requests per second allowed per customer.
    pub rate_limit_customer_per_sec: u32,
    /// Burst allowed per customer.
    pub rate_limit_customer_burst: u32,
}

/// A single listening address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenConfig {
    /// `host:port`; empty disables the listener.
    pub listen: String,
}

/// SIP listeners and the platform's SIP domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// UDP and TCP address.
    pub listen: String,
    /// TLS address; empty disables it.
    pub tls_listen: String,
    /// Base domain: `<customer_id>.registrar.<domain>`, `pstn.<domain>`, ...
    pub domain: String,
}

/// The UDP port range for RTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtpConfig {
    /// First port of the range.
    pub port_min: u16,
    /// Last port of the range.
    pub port_max: u16,
}

/// Database connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `mysql://user:pass@host:port/db`; empty means `<data_dir>/voxbin.db`.
    pub dsn: String,
    /// Read replica DSNs (MySQL only).
    pub readers: Vec<String>,
    /// Connections per pool.
    pub max_connections: u32,
}

/// Message bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// `inproc` or `amqp://user:pass@host:port/vhost`.
    pub address: String,
    /// Default RPC timeout in milliseconds.
    pub rpc_timeout_ms: u64,
}

/// Cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// `memory` or `redis://host:port`.
    pub address: String,
    /// Entry bound of the in-memory cache.
    pub max_entries: u64,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `voxbin=debug,info`.
    pub level: String,
    /// `auto`, `json` or `text`.
    pub format: String,
}

/// Graceful shutdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds that work in flight gets to finish after SIGTERM.
    pub grace_period_secs: u64,
}

/// Authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HMAC secret for JWTs; empty generates one and keeps it in the database.
    pub jwt_secret: String,
    /// JWT lifetime in seconds.
    pub token_ttl_secs: u64,
    /// Whether `POST /auth/signup` is open.
    pub signup_enabled: bool,
}

/// The profile names.
pub const PROFILES: &[&str] = &["embedded", "production"];

impl Config {
    /// The defaults of a profile (`embedded` for anything unknown; validation rejects it later).
    pub fn defaults(profile: &str) -> Config {
        let prod = profile == "production";
        let host = if prod { "0.0.0.0" } else { "127.0.0.1" };
        Config {
            profile: if prod { "production" } else { "embedded" }.into(),
            data_dir: if prod {
                "/var/lib/voxbin"
            } else {
                "./voxbin-data"
            }
            .into(),
            roles: vec![],
            api: ApiConfig {
                listen: if prod {
                    String::new()
                } else {
                    format!("{host}:8000")
                },
                tls_listen: if prod {
                    format!("{host}:443")
                } else {
                    format!("{host}:8443")
                },
                tls_cert: String::new(),
                tls_key: String::new(),
                audiosocket_listen: format!("{host}:9000"),
                body_limit_bytes: 1024 * 1024,
                json_depth_limit: 32,
                rate_limit_ip_per_sec: 200,
                rate_limit_ip_burst: 400,
                rate_limit_customer_per_sec: if prod { 17 } else { 1000 },
                rate_limit_customer_burst: if prod { 33 } else { 2000 },
            },
            health: ListenConfig {
                listen: format!("{host}:8080"),
            },
            metrics: ListenConfig {
                listen: format!("{host}:2112"),
            },
            sip: SipConfig {
                listen: format!("{host}:5060"),
                tls_listen: if prod {
                    format!("{host}:5061")
                } else {
                    String::new()
                },
                domain: "voxbin.local".into(),
            },
            rtp: RtpConfig {
                port_min: 10000,
                port_max: if prod { 60000 } else { 20000 },
            },
            database: DatabaseConfig {
                dsn: String::new(),
                readers: vec![],
                max_connections: 16,
            },
            bus: BusConfig {
                address: "inproc".into(),
                rpc_timeout_ms: 3000,
            },
            cache: CacheConfig {
                address: "memory".into(),
                max_entries: 100_000,
            },
            log: LogConfig {
                level: "info".into(),
                format: "auto".into(),
            },
            shutdown: ShutdownConfig {
                grace_period_secs: 30,
            },
            auth: AuthConfig {
                jwt_secret: String::new(),
                token_ttl_secs: 3600,
                signup_enabled: !prod,
            },
        }
    }

    /// The database DSN to use, resolving the embedded default under `data_dir`.
    pub fn database_dsn(&self) -> String {
        if self.database.dsn.is_empty() {
            format!("sqlite://{}/voxbin.db", self.data_dir.trim_end_matches('/'))
        } else {
            self.database.dsn.clone()
        }
    }

    /// A copy safe to print: passwords in URLs and secrets replaced by `***`.
    pub fn masked(&self) -> Config {
        let mut c = self.clone();
        c.database.dsn = super::mask_url(&c.database.dsn);
        c.database.readers = c
            .database
            .readers
            .iter()
            .map(|r| super::mask_url(r))
            .collect();
        c.bus.address = super::mask_url(&c.bus.address);
        c.cache.address = super::mask_url(&c.cache.address);
        if !c.auth.jwt_secret.is_empty() {
            c.auth.jwt_secret = "***".into();
        }
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::defaults("embedded")
    }
}

macro_rules! default_from_config {
    ($($t:ident => $field:ident),* $(,)?) => {
        $(impl Default for $t {
            fn default() -> Self {
                Config::default().$field
            }
        })*
    };
}

default_from_config!(
    ApiConfig => api, SipConfig => sip, RtpConfig => rtp, DatabaseConfig => database,
    BusConfig => bus, CacheConfig => cache, LogConfig => log, ShutdownConfig => shutdown,
    AuthConfig => auth,
);
