//! The flow service as its tests serve it: see `voxbin_svc_testkit` for the harness.

use std::sync::Arc;
use std::time::Duration;
use voxbin_bus::Handler;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::Served;

use crate::{handler, SERVICE};

pub(crate) use voxbin_svc_testkit::assert_contract;

/// The flow service alone.
pub(crate) struct Flow;

impl Served for Flow {
    const SERVICE: &'static str = SERVICE;
    const MYSQL_PREFIX: &'static str = "voxbin_svc_flow_";
    const TIMEOUT: Duration = Duration::from_secs(5);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![(SERVICE, handler(deps.clone()))]
    }
}

/// A served flow service on a fresh SQLite database and a client to call it.
pub(crate) type Harness = voxbin_svc_testkit::Harness<Flow>;
