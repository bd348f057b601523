//! Engine configuration: addresses, the RTP port range, worker threads, where prompts and
//! recordings live, and the TTS engine.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::tts::Tts;

use super::error::EngineError;

/// How the engine runs.
#[derive(Clone)]
pub struct EngineConfig {
    /// Address the RTP sockets bind to (e.g. `0.0.0.0` or one interface).
    pub bind_ip: IpAddr,
    /// Address written into our SDP (the public address behind NAT).
    pub advertise_ip: IpAddr,
    /// Lowest RTP port (an even port is taken for RTP, the next odd one for RTCP).
    pub port_min: u16,
    /// Highest RTP/RTCP port.
    pub port_max: u16,
    /// Worker threads, each with its own 20 ms clock (one per core is the usual choice).
    pub workers: usize,
    /// Speech engine for `talk` (wrap it in `CachedTts` to cache on disk).
    pub tts: Arc<dyn Tts>,
    /// Cache of downloaded prompts (files named by the URL's hash).
    pub media_dir: PathBuf,
    /// Where recordings are written (`<op id>.wav`).
    pub recordings_dir: PathBuf,
    /// Music on hold (a WAV file); a soft two-tone pattern is played when `None`.
    pub music_on_hold: Option<PathBuf>,
    /// A leg receiving no RTP for this long reports `RtpTimeout` once (`None`: never).
    pub rtp_timeout: Option<Duration>,
    /// Largest prompt downloaded over HTTP, in bytes.
    pub max_download: usize,
    /// Events kept for slow subscribers before they see `Lagged`.
    pub event_capacity: usize,
    /// Run workers under `SCHED_FIFO` at this priority (1..=99) so a busy host cannot delay
    /// the media clock; needs CAP_SYS_NICE (a refusal is logged and the worker runs normally).
    pub realtime_priority: Option<u8>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("bind_ip", &self.bind_ip)
            .field("advertise_ip", &self.advertise_ip)
            .field("port_min", &self.port_min)
            .field("port_max", &self.port_max)
            .field("workers", &self.workers)
            .field("tts", &self.tts.name())
            .field("media_dir", &self.media_dir)
            .field("recordings_dir", &self.recordings_dir)
            .field("music_on_hold", &self.music_on_hold)
            .field("rtp_timeout", &self.rtp_timeout)
            .field("realtime_priority", &self.realtime_priority)
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    /// A configuration with the usual defaults: one worker, 30 s RTP timeout, 50 MB downloads.
    pub fn new(
        bind_ip: IpAddr,
        advertise_ip: IpAddr,
        ports: (u16, u16),
        tts: Arc<dyn Tts>,
        media_dir: impl Into<PathBuf>,
        recordings_dir: impl Into<PathBuf>,
    ) -> Self {
        EngineConfig {
            bind_ip,
            advertise_ip,
            port_min: ports.0,
            port_max: ports.1,
            workers: 1,
            tts,
            media_dir: media_dir.into(),
            recordings_dir: recordings_dir.into(),
            music_on_hold: None,
            rtp_timeout: Some(Duration::from_secs(30)),
            max_download: 50 * 1024 * 1024,
            event_capacity: 4096,
            realtime_priority: None,
        }
    }

    /// Checks the values, naming the bad one.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.port_min == 0 || self.port_max < self.port_min.saturating_add(1) {
            return Err(EngineError::Config(format!(
                "port_min/port_max: {}..{} must hold at least one RTP/RTCP pair above 0",
                self.port_min, self.port_max
            )));
        }
        if self.workers == 0 || self.workers > 256 {
            return Err(EngineError::Config(format!(
                "workers: {} is not in 1..=256",
                self.workers
            )));
        }
        if self.advertise_ip.is_unspecified() {
            return Err(EngineError::Config(
                "advertise_ip: an unspecified address cannot be sent in SDP".into(),
            ));
        }
        if self
            .realtime_priority
            .is_some_and(|p| !(1..=99).contains(&p))
        {
            return Err(EngineError::Config(format!(
                "realtime_priority: {:?} is not in 1..=99",
                self.realtime_priority
            )));
        }
        if self.event_capacity == 0 {
            return Err(EngineError::Config(
                "event_capacity: must be above 0".into(),
            ));
        }
        Ok(())
    }
}
