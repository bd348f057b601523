//! Opening the adapters named by the configuration.

use std::sync::Arc;
use std::time::Duration;
use voxbin_bus::{AmqpBus, AmqpOptions, Bus, InProcBus};
use voxbin_cache::{Cache, MemoryCache, RedisCache, RedisOptions};
use voxbin_core::config::Config;
use voxbin_store::{Db, DbOptions};

/// Opens the database, creating the data directory for the embedded SQLite file.
pub async fn open_db(config: &Config) -> Result<Db, String> {
    let dsn = config.database_dsn();
    if dsn.starts_with("sqlite://") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create data_dir {:?}: {e}", config.data_dir))?;
    }
    let opts = DbOptions {
        dsn,
        readers: config.database.readers.clone(),
        max_connections: config.database.max_connections,
        connect_timeout: Duration::from_secs(5),
    };
    Db::connect(&opts)
        .await
        .map_err(|e| format!("database: {}", e.message))
}

/// Opens the bus named by `bus.address`.
pub async fn open_bus(config: &Config) -> Result<Arc<dyn Bus>, String> {
    match config.bus.address.as_str() {
        "inproc" => Ok(Arc::new(InProcBus::new())),
        url => {
            let opts = AmqpOptions {
                connection_name: Some(format!("voxbin-{}", std::process::id())),
                ..AmqpOptions::default()
            };
            AmqpBus::connect(url, opts)
                .await
                .map(|b| Arc::new(b) as Arc<dyn Bus>)
                .map_err(|e| format!("bus.address: {}", e.message))
        }
    }
}

/// Opens the cache named by `cache.address`.
pub async fn open_cache(config: &Config) -> Result<Arc<dyn Cache>, String> {
    match config.cache.address.as_str() {
        "memory" => {
            let cache = Arc::new(MemoryCache::new(config.cache.max_entries as usize));
            cache.spawn_sweeper(Duration::from_secs(30));
            Ok(cache)
        }
        // Lazy: the process starts while Redis is down and uses it once it answers; until
        // then every read is a miss served from the database.
        url => RedisCache::connect_lazy_with(
            url,
            RedisOptions {
                prefix: config.cache.prefix.clone(),
                ..RedisOptions::default()
            },
        )
        .map(|c| Arc::new(c) as Arc<dyn Cache>)
        .map_err(|e| format!("cache.address: {}", e.message)),
    }
}
