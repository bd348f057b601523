//! What every handler can reach.

use crate::auth::Authenticator;
use crate::limits::RateLimiter;
use crate::ws::Hub;
use std::sync::Arc;
use voxbin_bus::BusClient;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;

/// Shared state of the API role.
#[derive(Clone)]
pub struct ApiState {
    /// Bus client used for the one domain call per request.
    pub bus: BusClient,
    /// Effective configuration.
    pub config: Arc<Config>,
    /// Process shutdown state, to refuse new work while draining.
    pub shutdown: Shutdown,
    /// Credential verification and token issue.
    pub auth: Authenticator,
    /// Per-IP and per-customer request rates.
    pub limits: Arc<RateLimiter>,
    /// The websocket event hub of this process.
    pub events: Hub,
    /// The audiosocket listener that media streams come in through.
    pub streams: crate::stream::Streams,
}
