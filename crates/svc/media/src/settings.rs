//! The node's settings, resolved from the `media.*` and `rtp.*` configuration sections.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use voxbin_core::config::Config;
use voxbin_core::{Error, Result};

/// How one media node runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Id on the bus (its own request queue and the heartbeat's `id`).
    pub node_id: String,
    /// SIP listen address (UDP and TCP).
    pub sip_listen: SocketAddr,
    /// IP written in SIP, SDP and the heartbeat.
    pub advertise: IpAddr,
    /// RTP port range.
    pub rtp_ports: (u16, u16),
    /// Recordings directory.
    pub recordings_dir: PathBuf,
    /// Prompt and speech cache.
    pub media_dir: PathBuf,
    /// Media worker threads.
    pub workers: usize,
    /// RFC 4028 interval (`None`: no session timers).
    pub session_expires: Option<u32>,
    /// Smallest session interval accepted (tests lower it).
    pub min_se: u32,
    /// Time between heartbeats.
    pub heartbeat: Duration,
    /// Silence on RTP after which a leg is hung up.
    pub rtp_timeout: Option<Duration>,
    /// `SCHED_FIFO` priority of the media workers (`None`: normal priority).
    pub realtime_priority: Option<u8>,
}

impl Settings {
    /// From the checked configuration; an unusable value is an error naming its key.
    pub fn from_config(c: &Config) -> Result<Settings> {
        let m = &c.media;
        let bad = |key: &str, why: String| {
            Error::invalid_argument("INVALID_CONFIG", format!("{key}: {why}"))
        };
        let sip_listen: SocketAddr = m.sip_listen.parse().map_err(|_| {
            bad(
                "media.sip_listen",
                format!("{:?} is not host:port", m.sip_listen),
            )
        })?;
        let advertise = if m.advertise.is_empty() {
            if sip_listen.ip().is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                sip_listen.ip()
            }
        } else {
            m.advertise
                .parse()
                .map_err(|_| bad("media.advertise", format!("{:?} is not an IP", m.advertise)))?
        };
        let data = PathBuf::from(&c.data_dir);
        let dir = |v: &str, default: &str| {
            if v.is_empty() {
                data.join(default)
            } else {
                PathBuf::from(v)
            }
        };
        let node_id = if m.node_id.is_empty() {
            host_name().unwrap_or_else(|| format!("media-{}", sip_listen.port()))
        } else {
            m.node_id.clone()
        };
        Ok(Settings {
            node_id,
            sip_listen,
            advertise,
            rtp_ports: (c.rtp.port_min, c.rtp.port_max),
            recordings_dir: dir(&m.recordings_dir, "recordings"),
            media_dir: dir(&m.media_dir, "media"),
            workers: usize::from(m.workers.max(1)),
            session_expires: (m.session_expires_secs > 0).then_some(m.session_expires_secs),
            min_se: voxbin_sipua::session_timer::MIN_SE,
            heartbeat: Duration::from_secs(m.heartbeat_secs.max(1)),
            rtp_timeout: (m.rtp_timeout_secs > 0).then(|| Duration::from_secs(m.rtp_timeout_secs)),
            realtime_priority: (m.realtime_priority > 0).then_some(m.realtime_priority),
        })
    }
}

/// The host name (Kubernetes pod names make good node ids).
fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}
