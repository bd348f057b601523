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
    /// The flow engine.
    pub flow: FlowConfig,
    /// Webhook delivery and the event outbox.
    pub webhook: WebhookConfig,
    /// The `rtp-relay` role.
    pub rtp_relay: RtpRelayConfig,
    /// The `media` role (call legs; RTP ports come from `rtp`).
    pub media: MediaConfig,
    /// The call service: who may hand it inbound calls.
    pub call: CallConfig,
}

/// The `media` role: its internal SIP listener, identity on the bus, and file locations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// UDP (and TCP) address of the node's SIP user agent; empty turns the role off.
    pub sip_listen: String,
    /// IP written in Via, Contact and SDP, and announced to the edge; empty means the IP of
    /// `sip_listen` (loopback when that is a wildcard).
    pub advertise: String,
    /// This node's id on the bus (`bin-manager.media-manager.request.<node_id>`); empty
    /// means the host name.
    pub node_id: String,
    /// Where recordings are written; empty means `<data_dir>/recordings`.
    pub recordings_dir: String,
    /// Cache of downloaded prompts and speech; empty means `<data_dir>/media`.
    pub media_dir: String,
    /// Media worker threads (each runs its own 20 ms clock).
    pub workers: u16,
    /// RFC 4028 session interval asked for and accepted at most, in seconds (0: none).
    pub session_expires_secs: u32,
    /// Seconds between `medianode_updated` heartbeats.
    pub heartbeat_secs: u64,
    /// Seconds without RTP before a leg reports an RTP timeout.
    pub rtp_timeout_secs: u64,
    /// `SCHED_FIFO` priority of the media workers (1..=99) so a busy host cannot delay the
    /// 20 ms clock; 0 leaves them at normal priority (needs CAP_SYS_NICE or RLIMIT_RTPRIO).
    pub realtime_priority: u8,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Config::default().media
    }
}

impl MediaConfig {
    fn defaults(host: &str) -> Self {
        MediaConfig {
            sip_listen: format!("{host}:5080"),
            advertise: String::new(),
            node_id: String::new(),
            recordings_dir: String::new(),
            media_dir: String::new(),
            workers: 1,
            session_expires_secs: 1800,
            heartbeat_secs: 5,
            rtp_timeout_secs: 60,
            realtime_priority: 0,
        }
    }

    /// Checks addresses and budgets; the error names the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !self.sip_listen.is_empty() && self.sip_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err((
                "media.sip_listen",
                format!("{:?} is not a host:port socket address", self.sip_listen),
            ));
        }
        if !self.advertise.is_empty() && self.advertise.parse::<std::net::IpAddr>().is_err() {
            return Err((
                "media.advertise",
                format!("{:?} is not an IP address", self.advertise),
            ));
        }
        if self.realtime_priority > 99 {
            return Err((
                "media.realtime_priority",
                format!("{} is not within 0..=99", self.realtime_priority),
            ));
        }
        if self.workers == 0 {
            return Err(("media.workers", "must be at least 1".into()));
        }
        if self.session_expires_secs != 0 && self.session_expires_secs < 90 {
            return Err((
                "media.session_expires_secs",
                "must be 0 (no session timer) or at least 90 (RFC 4028 Min-SE)".into(),
            ));
        }
        if self.heartbeat_secs == 0 {
            return Err(("media.heartbeat_secs", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// Webhook delivery (retries, timeouts, SSRF guard) and the event outbox relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// How long a delivery is retried before it is dead-lettered, in seconds.
    pub max_retry_secs: u64,
    /// First retry delay in milliseconds; it doubles per attempt (with jitter).
    pub retry_base_ms: u64,
    /// Longest delay between two attempts, in milliseconds.
    pub retry_max_ms: u64,
    /// Connect timeout of a delivery, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Total timeout of a delivery (connect, send, answer), in milliseconds.
    pub timeout_ms: u64,
    /// Whether webhooks may reach private, loopback and link-local addresses.
    pub allow_private_targets: bool,
    /// Deliveries sent at once by one process.
    pub concurrency: u32,
    /// Fallback poll interval of the outbox relay and the delivery worker, in milliseconds.
    pub poll_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            max_retry_secs: 86_400,
            retry_base_ms: 1000,
            retry_max_ms: 600_000,
            connect_timeout_ms: 3000,
            timeout_ms: 10_000,
            allow_private_targets: false,
            concurrency: 32,
            poll_ms: 1000,
        }
    }
}

impl WebhookConfig {
    /// Checks the durations and limits; the error names the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (key, value) in [
            ("webhook.max_retry_secs", self.max_retry_secs),
            ("webhook.retry_base_ms", self.retry_base_ms),
            ("webhook.retry_max_ms", self.retry_max_ms),
            ("webhook.connect_timeout_ms", self.connect_timeout_ms),
            ("webhook.timeout_ms", self.timeout_ms),
            ("webhook.concurrency", u64::from(self.concurrency)),
            ("webhook.poll_ms", self.poll_ms),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        if self.retry_max_ms < self.retry_base_ms {
            return Err((
                "webhook.retry_max_ms",
                "must not be below webhook.retry_base_ms".into(),
            ));
        }
        Ok(())
    }
}

/// The call service's inbound policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallConfig {
    /// Whether calls to numbers from a loopback source skip the providers' inbound allow-list
    /// (local tests and the demo); off in production.
    pub allow_loopback_carriers: bool,
    /// Seconds an outgoing call may ring unanswered before it is given up (`noanswer`).
    pub ring_timeout_secs: u64,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            allow_loopback_carriers: true,
            ring_timeout_secs: 60,
        }
    }
}

impl CallConfig {
    /// Checks the ring timeout; the error names the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=3600).contains(&self.ring_timeout_secs) {
            return Err((
                "call.ring_timeout_secs",
                "must be between 1 and 3600 seconds".into(),
            ));
        }
        Ok(())
    }
}

/// The flow engine's budgets and outbound HTTP (fetch, webhook_send).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowConfig {
    /// Control actions one run step may execute before the activeflow is stopped as runaway.
    pub max_actions_per_run: u64,
    /// Actions one activeflow may execute in its whole life before it is stopped.
    pub max_actions_total: u64,
    /// Timeout of a fetch or webhook_send request, in milliseconds.
    pub http_timeout_ms: u64,
    /// Whether fetch and webhook_send may reach private, loopback and link-local addresses.
    pub allow_private_targets: bool,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_actions_per_run: 1000,
            max_actions_total: 100_000,
            http_timeout_ms: 5000,
            allow_private_targets: false,
        }
    }
}

impl FlowConfig {
    /// Checks the budgets and timeout; the error names the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (key, value) in [
            ("flow.max_actions_per_run", self.max_actions_per_run),
            ("flow.max_actions_total", self.max_actions_total),
            ("flow.http_timeout_ms", self.http_timeout_ms),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        Ok(())
    }
}

/// The `rtp-relay` role: its control listener, media addresses and port range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtpRelayConfig {
    /// UDP address of the rtpengine-compatible ng control protocol; empty turns it off.
    pub ng_listen: String,
    /// Local IP the relay's media sockets bind to.
    pub bind_ip: String,
    /// IP written into rewritten SDP; empty means `bind_ip`.
    pub advertise_ip: String,
    /// First port of the relay's own range (even ports carry RTP, the next odd one RTCP).
    pub port_min: u16,
    /// Last port of the relay's range.
    pub port_max: u16,
    /// Forwarding threads.
    pub workers: u16,
    /// Seconds without media after which a session is deleted.
    pub timeout_secs: u64,
}

impl Default for RtpRelayConfig {
    fn default() -> Self {
        Config::default().rtp_relay
    }
}

impl RtpRelayConfig {
    fn defaults(prod: bool, host: &str) -> Self {
        RtpRelayConfig {
            ng_listen: format!("{host}:22222"),
            bind_ip: host.to_string(),
            advertise_ip: String::new(),
            port_min: if prod { 10000 } else { 30000 },
            port_max: if prod { 60000 } else { 39999 },
            workers: 1,
            timeout_secs: 60,
        }
    }

    /// Checks addresses, range and budgets; the error names the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !self.ng_listen.is_empty() && self.ng_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err((
                "rtp_relay.ng_listen",
                format!("{:?} is not a host:port socket address", self.ng_listen),
            ));
        }
        if self.bind_ip.parse::<std::net::IpAddr>().is_err() {
            return Err((
                "rtp_relay.bind_ip",
                format!("{:?} is not an IP address", self.bind_ip),
            ));
        }
        if !self.advertise_ip.is_empty() && self.advertise_ip.parse::<std::net::IpAddr>().is_err() {
            return Err((
                "rtp_relay.advertise_ip",
                format!("{:?} is not an IP address", self.advertise_ip),
            ));
        }
        if self.port_min == 0 || self.port_max < self.port_min.saturating_add(3) {
            return Err((
                "rtp_relay.port_min",
                format!(
                    "range {}-{} holds fewer than 4 ports or starts at 0",
                    self.port_min, self.port_max
                ),
            ));
        }
        if self.workers == 0 {
            return Err(("rtp_relay.workers", "must be at least 1".into()));
        }
        if self.timeout_secs == 0 {
            return Err(("rtp_relay.timeout_secs", "must be at least 1".into()));
        }
        Ok(())
    }
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
    /// `host:port` media nodes dial to reach this process's audiosocket listener (on
    /// Kubernetes the pod IP, so the stream reaches the pod holding the websocket); empty
    /// means `audiosocket_listen`, a wildcard IP read as loopback.
    pub audiosocket_advertise: String,
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

/// SIP listeners, the platform's SIP domain and the SIP edge's routing and protection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// UDP and TCP address.
    pub listen: String,
    /// TLS address; empty disables it.
    pub tls_listen: String,
    /// PEM certificate chain for SIP over TLS; empty uses a generated self-signed one.
    pub tls_cert: String,
    /// PEM private key for SIP over TLS.
    pub tls_key: String,
    /// SIP over WebSocket (RFC 7118) address; empty disables it.
    pub ws_listen: String,
    /// `host:port` the edge writes into Via and Record-Route; empty uses `listen`.
    pub advertise: String,
    /// Base domain: `<customer_id>.registrar.<domain>`, `pstn.<domain>`, ...
    pub domain: String,
    /// Media nodes new calls are dispatched to: `host:port` or `host:port;weight=N`.
    pub media_nodes: Vec<String>,
    /// Milliseconds between OPTIONS health checks of each media node.
    pub options_interval_ms: u64,
    /// Milliseconds an OPTIONS check may take before it counts as failed.
    pub options_timeout_ms: u64,
    /// Consecutive failed OPTIONS checks that take a media node out of rotation.
    pub options_down_after: u32,
    /// SIP requests per second allowed per source IP.
    pub rate_limit_ip_per_sec: u32,
    /// Burst of SIP requests allowed per source IP.
    pub rate_limit_ip_burst: u32,
    /// Failed digest authentications from one IP before it is blocked; 0 never blocks.
    pub auth_failures_before_block: u32,
    /// Seconds a blocked source IP stays blocked.
    pub block_secs: u64,
    /// User-Agent substrings (case-insensitive) of scanners whose requests are dropped.
    pub blocked_user_agents: Vec<String>,
    /// Shortest registration accepted, in seconds (shorter ones get 423 Interval Too Brief).
    pub register_min_expires: u32,
    /// Longest registration granted, in seconds (longer ones are shortened).
    pub register_max_expires: u32,
    /// Most contacts one extension may register at once.
    pub register_max_contacts: u32,
    /// Microseconds the edge may wait after a busy UDP read so the next read takes several
    /// datagrams at once (fewer wake-ups and system calls under load); 0 never waits.
    pub udp_coalesce_us: u32,
}

/// Longest `sip.udp_coalesce_us` accepted: 20 ms.
pub const MAX_UDP_COALESCE_US: u32 = 20_000;

/// One parsed `sip.media_nodes` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaNodeEntry {
    /// Host name or IP address.
    pub host: String,
    /// SIP port.
    pub port: u16,
    /// Share of new calls relative to the other nodes (at least 1).
    pub weight: u32,
}

impl MediaNodeEntry {
    /// Parses `host:port` or `host:port;weight=N` (IPv6 hosts in brackets).
    pub fn parse(entry: &str) -> Result<MediaNodeEntry, String> {
        let entry = entry.trim();
        let (addr, params) = match entry.split_once(';') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let (host, port) = addr
            .rsplit_once(':')
            .filter(|(h, _)| !h.is_empty())
            .ok_or_else(|| format!("{entry:?} is not host:port[;weight=N]"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{entry:?} has no valid port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let valid_host = host.parse::<std::net::IpAddr>().is_ok()
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if host.is_empty() || !valid_host {
            return Err(format!("{entry:?} has no valid host"));
        }
        let mut weight = 1;
        if let Some(params) = params {
            let value = params
                .trim()
                .strip_prefix("weight=")
                .ok_or_else(|| format!("{entry:?}: the only parameter is weight=N"))?;
            weight = value
                .parse()
                .ok()
                .filter(|w| (1..=1000).contains(w))
                .ok_or_else(|| format!("{entry:?}: weight must be 1 to 1000"))?;
        }
        Ok(MediaNodeEntry {
            host: host.to_string(),
            port,
            weight,
        })
    }
}

impl SipConfig {
    /// Checks the SIP edge's values; the error names the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for entry in &self.media_nodes {
            MediaNodeEntry::parse(entry).map_err(|e| ("sip.media_nodes", e))?;
        }
        if !self.advertise.is_empty() && MediaNodeEntry::parse(&self.advertise).is_err() {
            return Err((
                "sip.advertise",
                format!("{:?} is not host:port", self.advertise),
            ));
        }
        if self.tls_cert.is_empty() != self.tls_key.is_empty() {
            return Err((
                "sip.tls_key",
                "sip.tls_cert and sip.tls_key must be set together".into(),
            ));
        }
        let positive: [(&'static str, u64); 6] = [
            ("sip.options_interval_ms", self.options_interval_ms),
            ("sip.options_timeout_ms", self.options_timeout_ms),
            ("sip.options_down_after", self.options_down_after.into()),
            (
                "sip.rate_limit_ip_per_sec",
                self.rate_limit_ip_per_sec.into(),
            ),
            ("sip.rate_limit_ip_burst", self.rate_limit_ip_burst.into()),
            (
                "sip.register_max_contacts",
                self.register_max_contacts.into(),
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        if self.register_min_expires == 0 || self.register_min_expires > self.register_max_expires {
            return Err((
                "sip.register_min_expires",
                format!(
                    "must be between 1 and sip.register_max_expires ({})",
                    self.register_max_expires
                ),
            ));
        }
        if self.udp_coalesce_us > MAX_UDP_COALESCE_US {
            return Err((
                "sip.udp_coalesce_us",
                format!("must be at most {MAX_UDP_COALESCE_US} (SIP answers would lag)"),
            ));
        }
        if self.domain.trim().is_empty() || self.domain.contains(|c: char| c.is_whitespace()) {
            return Err((
                "sip.domain",
                format!("{:?} is not a domain name", self.domain),
            ));
        }
        Ok(())
    }
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
    /// Prefix of every Redis key, so several deployments can share one Redis.
    pub prefix: String,
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
                audiosocket_advertise: String::new(),
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
                tls_cert: String::new(),
                tls_key: String::new(),
                ws_listen: String::new(),
                advertise: String::new(),
                domain: "voxbin.local".into(),
                media_nodes: vec![],
                options_interval_ms: 5000,
                options_timeout_ms: 2000,
                options_down_after: 2,
                rate_limit_ip_per_sec: if prod { 100 } else { 1000 },
                rate_limit_ip_burst: if prod { 200 } else { 2000 },
                auth_failures_before_block: 10,
                block_secs: 600,
                blocked_user_agents: [
                    "friendly-scanner",
                    "sipvicious",
                    "sipcli",
                    "sip-scan",
                    "iwar",
                    "sundayddr",
                    "vaxsipuseragent",
                ]
                .map(String::from)
                .to_vec(),
                register_min_expires: 60,
                register_max_expires: 3600,
                register_max_contacts: 10,
                udp_coalesce_us: 2000,
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
                prefix: "voxbin:".into(),
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
            flow: FlowConfig::default(),
            webhook: WebhookConfig::default(),
            rtp_relay: RtpRelayConfig::defaults(prod, host),
            media: MediaConfig::defaults(host),
            call: CallConfig {
                allow_loopback_carriers: !prod,
                ..CallConfig::default()
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

#[cfg(test)]
mod sip_tests {
    use super::*;
    use crate::config::{load, Sources};

    fn with_env(pairs: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        load(&Sources {
            env: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Default::default()
        })
    }

    #[test]
    fn media_node_entries_parse_with_and_without_weight() {
        let node = MediaNodeEntry::parse("10.0.0.5:5080").unwrap();
        assert_eq!(
            (node.host.as_str(), node.port, node.weight),
            ("10.0.0.5", 5080, 1)
        );
        let node = MediaNodeEntry::parse("media-1.voxbin.svc:5080;weight=3").unwrap();
        assert_eq!(
            (node.host.as_str(), node.port, node.weight),
            ("media-1.voxbin.svc", 5080, 3)
        );
        let node = MediaNodeEntry::parse("[::1]:5080").unwrap();
        assert_eq!(node.host, "::1");
        for bad in [
            "10.0.0.5",
            ":5080",
            "10.0.0.5:0",
            "10.0.0.5:x",
            "10.0.0.5:5080;weight=0",
            "10.0.0.5:5080;prio=2",
            "bad host:5080",
        ] {
            assert!(MediaNodeEntry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sip_edge_keys_load_from_the_environment() {
        let c = with_env(&[
            (
                "VOXBIN_SIP_MEDIA_NODES",
                "127.0.0.1:5080;weight=2, 127.0.0.1:5082",
            ),
            ("VOXBIN_SIP_OPTIONS_INTERVAL_MS", "250"),
            ("VOXBIN_SIP_WS_LISTEN", "127.0.0.1:5066"),
        ])
        .unwrap();
        assert_eq!(
            c.sip.media_nodes,
            vec!["127.0.0.1:5080;weight=2", "127.0.0.1:5082"]
        );
        assert_eq!(c.sip.options_interval_ms, 250);
        assert_eq!(c.sip.ws_listen, "127.0.0.1:5066");
        assert!(c
            .sip
            .blocked_user_agents
            .iter()
            .any(|u| u == "friendly-scanner"));
    }

    #[test]
    fn bad_sip_edge_values_name_the_key() {
        let cases = [
            ("VOXBIN_SIP_MEDIA_NODES", "10.0.0.5", "sip.media_nodes"),
            ("VOXBIN_SIP_WS_LISTEN", "nowhere", "sip.ws_listen"),
            ("VOXBIN_SIP_ADVERTISE", "edge", "sip.advertise"),
            (
                "VOXBIN_SIP_OPTIONS_INTERVAL_MS",
                "0",
                "sip.options_interval_ms",
            ),
            (
                "VOXBIN_SIP_RATE_LIMIT_IP_PER_SEC",
                "0",
                "sip.rate_limit_ip_per_sec",
            ),
            (
                "VOXBIN_SIP_REGISTER_MIN_EXPIRES",
                "7200",
                "sip.register_min_expires",
            ),
            ("VOXBIN_SIP_TLS_CERT", "/etc/cert.pem", "sip.tls_key"),
            ("VOXBIN_SIP_DOMAIN", " ", "sip.domain"),
            ("VOXBIN_SIP_UDP_COALESCE_US", "50000", "sip.udp_coalesce_us"),
            ("VOXBIN_SIP_UDP_COALESCE_US", "soon", "sip.udp_coalesce_us"),
        ];
        for (var, value, key) in cases {
            let e = with_env(&[(var, value)]).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{var}: {e}");
        }
    }
}
