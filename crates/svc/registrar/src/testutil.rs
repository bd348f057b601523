//! The registrar as its tests serve it: see `voxbin_svc_testkit` for the harness.

use std::sync::Arc;
use voxbin_bus::Handler;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::Served;

use crate::{handler, SERVICE};

pub use voxbin_svc_testkit::contract_ok;

/// The registrar alone.
pub struct Registrar;

impl Served for Registrar {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "voxbin_registrar_test_";
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

/// A served registrar and a client to call it.
pub type Harness = voxbin_svc_testkit::Harness<Registrar>;

/// This service's tables have the same columns, in the same order, on SQLite and MariaDB.
#[tokio::test]
async fn schema_is_the_same_on_sqlite_and_mariadb() {
    Harness::assert_same_schema(&["registrar_extensions", "registrar_trunks"]).await;
}
