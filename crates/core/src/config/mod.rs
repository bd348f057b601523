//! Configuration: defaults, then a TOML file, then environment variables, then flags.
//!
//! Every key has an environment variable `VOXBIN_<SECTION>_<KEY>` (for example
//! `VOXBIN_API_LISTEN`), and the production seed's names are accepted too (`DSN`,
//! `DATABASE_DSN`, `RABBIT_ADDR`, `RABBITMQ_ADDRESS`, `REDIS_ADDRESS`). The `profile` key picks
//! the defaults: `embedded` binds loopback and unprivileged ports, `production` uses the seed's
//! ports on all interfaces. Any bad value stops start-up with a [`ConfigError`] naming the key.

mod load;
mod model;
mod normalize;

pub use load::{load, ConfigError, Sources};
pub use model::*;
pub use normalize::{mask_url, normalize_database_dsn, normalize_redis_address};
