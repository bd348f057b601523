//! The adapters a service is given: the same code runs embedded and distributed.

use std::sync::Arc;
use voxbin_bus::Bus;
use voxbin_cache::Cache;
use voxbin_core::config::Config;
use voxbin_store::Db;

/// Shared handles every service is built from.
#[derive(Clone)]
pub struct Deps {
    /// The message bus.
    pub bus: Arc<dyn Bus>,
    /// The database (writer and readers).
    pub db: Arc<Db>,
    /// The cache.
    pub cache: Arc<dyn Cache>,
    /// Effective configuration.
    pub config: Arc<Config>,
}
