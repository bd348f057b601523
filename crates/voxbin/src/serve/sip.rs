//! Starting the `sip-edge` role: its certificate for TLS and its dependencies.

use super::tls;
use std::sync::Arc;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;
use voxbin_services::Deps;
use voxbin_svc_sipedge::{EdgeDeps, SipEdge};

/// Starts the SIP edge when the role is selected; it drains with the process.
pub async fn start(
    roles: &[String],
    config: &Arc<Config>,
    deps: &Deps,
    shutdown: &Shutdown,
) -> Result<Option<SipEdge>, String> {
    if !roles.iter().any(|r| r == "sip-edge") || config.sip.listen.is_empty() {
        return Ok(None);
    }
    let tls_files = if config.sip.tls_listen.is_empty() {
        None
    } else if !config.sip.tls_cert.is_empty() {
        Some((
            config.sip.tls_cert.clone().into(),
            config.sip.tls_key.clone().into(),
        ))
    } else {
        // The API's certificate (configured or generated once under data_dir) serves SIP too.
        let files = tls::files(config)?;
        Some((files.cert, files.key))
    };
    let edge = SipEdge::start(EdgeDeps {
        bus: deps.bus.clone(),
        cache: deps.cache.clone(),
        config: config.clone(),
        shutdown: shutdown.clone(),
        tls_files,
    })
    .await
    .map_err(|e| format!("role sip-edge: {}", e.message))?;
    Ok(Some(edge))
}
