//! Starting the `media` role: a media node on `media.sip_listen` with its engine, bus queues
//! and heartbeat; on shutdown it drains (503 to new calls) and lets calls finish until grace.

use std::sync::Arc;
use std::time::Duration;

use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;
use voxbin_services::Deps;
use voxbin_svc_media::{MediaNode, Settings};

/// Starts the media node when the role is selected; its shutdown is tracked by `shutdown`.
pub async fn start(
    roles: &[String],
    config: &Arc<Config>,
    deps: &Deps,
    shutdown: &Shutdown,
) -> Result<(), String> {
    if !roles.iter().any(|r| r == "media") || config.media.sip_listen.is_empty() {
        return Ok(());
    }
    let settings =
        Settings::from_config(config).map_err(|e| format!("role media: {}", e.message))?;
    let node = MediaNode::start(settings, deps.bus.clone())
        .await
        .map_err(|e| format!("role media: {}", e.message))?;
    tracing::info!(node = node.node_id(), sip = %node.sip_addr(), "media node ready");
    let draining = shutdown.draining_token();
    // calls in flight get the grace period, less a margin for the BYEs at the end
    let grace = Duration::from_secs(config.shutdown.grace_period_secs.saturating_sub(3));
    shutdown.tracker().spawn(async move {
        draining.cancelled().await;
        node.drain().await;
        if !node.wait_idle(grace).await {
            tracing::warn!(
                legs = node.legs(),
                "media legs still up at the end of the grace period"
            );
        }
        node.stop().await;
    });
    Ok(())
}
