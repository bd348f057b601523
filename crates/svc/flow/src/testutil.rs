//! A flow service on a temporary SQLite database, called through the bus as the gateway does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer, InProcBus, Method};
use voxbin_cache::{Cache, MemoryCache};
use voxbin_core::config::Config;
use voxbin_core::Result;
use voxbin_store::{Db, DbOptions};
use voxbin_svc_kit::Deps;

use crate::{handler, SERVICE};

/// A served flow service and a client to call it.
pub(crate) struct Harness {
    /// The service's dependencies (to peek at the database and the cache).
    pub deps: Deps,
    /// Calls the service like the API gateway.
    pub client: BusClient,
    _server: Consumer,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A fresh service on an empty, migrated SQLite database.
    pub(crate) async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        db.migrate().await.unwrap();
        let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(1000));
        let deps = Deps {
            bus: bus.clone(),
            db: Arc::new(db),
            cache,
            config: Arc::new(Config::default()),
        };
        let server = bus
            .serve(&request_queue(SERVICE), handler(deps.clone()))
            .await
            .unwrap();
        let client = BusClient::new(bus, "api", Duration::from_secs(5));
        Harness {
            deps,
            client,
            _server: server,
            _dir: dir,
        }
    }

    /// Calls `method uri` with an optional body.
    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        self.client.call(SERVICE, method, uri, body).await
    }

    /// Calls `method path` in the scope of `customer` (the gateway appends `customer_id`).
    pub(crate) async fn call_as(
        &self,
        customer: Uuid,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.call(method, &format!("{path}{sep}customer_id={customer}"), body)
            .await
    }

    /// How many rows `table` holds, deleted ones included.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        voxbin_store::sqlx::query_scalar::<_, i64>(voxbin_store::sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table}"
        )))
        .fetch_one(self.deps.db.writer())
        .await
        .unwrap()
    }
}

/// Asserts `body` is what the contract says `method path` answers with `status` (strictly).
pub(crate) fn assert_contract(method: &str, path: &str, status: u16, body: &Value) {
    let contract = voxbin_contract::Contract::shared().expect("contract loads");
    if let Err(errors) = contract.validate_response_strict(method, path, status, body) {
        panic!("{method} {path} answer breaks the contract: {errors:#?}\n{body:#}");
    }
}
