//! The route service as its tests serve it: see `voxbin_svc_testkit` for the harness.

use std::sync::Arc;
use voxbin_bus::Handler;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::Served;

use crate::{handler, SERVICE};

pub use voxbin_svc_testkit::contract_ok;

/// The route service alone.
pub struct Route;

impl Served for Route {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "voxbin_route_test_";
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

/// A served route service and a client to call it.
pub type Harness = voxbin_svc_testkit::Harness<Route>;

/// This service's tables have the same columns, in the same order, on SQLite and MariaDB.
#[tokio::test]
async fn schema_is_the_same_on_sqlite_and_mariadb() {
    Harness::assert_same_schema(&["route_providers", "route_routes"]).await;
}
