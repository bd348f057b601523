//! Starting and draining the `rtp-relay` role: media sockets, its bus queue and the ng port.

use std::sync::Arc;
use std::time::Duration;
use voxbin_bus::Bus;
use voxbin_core::config::Config;
use voxbin_svc_rtprelay::{RtpRelay, Settings};

/// Starts the relay when the role is selected.
pub async fn start(
    roles: &[String],
    config: &Config,
    bus: &Arc<dyn Bus>,
) -> Result<Option<RtpRelay>, String> {
    if !roles.iter().any(|r| r == "rtp-relay") {
        return Ok(None);
    }
    let settings = Settings::from_config(&config.rtp_relay).map_err(|e| e.message)?;
    let relay = RtpRelay::start(
        settings,
        bus.clone(),
        Duration::from_millis(config.bus.rpc_timeout_ms),
    )
    .await
    .map_err(|e| format!("role rtp-relay: {}", e.message))?;
    if let Some(ng) = relay.ng_addr() {
        tracing::info!(%ng, "rtp-relay serves rtpengine's ng protocol");
    }
    Ok(Some(relay))
}

/// Refuses new calls, lets the calls in progress keep their media for up to `grace`, then
/// stops (sessions left are deleted).
pub async fn stop(relay: Option<RtpRelay>, grace: Duration) {
    let Some(relay) = relay else { return };
    relay.drain();
    if !relay.wait_idle(grace).await {
        tracing::warn!("rtp-relay sessions still active at the end of the grace period");
    }
    relay.stop().await;
}
