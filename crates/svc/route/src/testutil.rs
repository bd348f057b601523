//! Test harness: the service on a fresh database, reached over the bus as the gateway does.

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer, InProcBus, Method};
use voxbin_cache::MemoryCache;
use voxbin_core::config::Config;
use voxbin_core::{Error, Result};
use voxbin_store::{Db, DbOptions};
use voxbin_svc_kit::Deps;

use crate::{handler, SERVICE};

/// A served route service and a client to call it.
pub struct Harness {
    /// Calls the service like the API gateway.
    pub client: BusClient,
    /// The service's dependencies (for direct row checks).
    pub deps: Deps,
    _server: Consumer,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    /// Serves the handler over `db`.
    async fn serve(db: Db, dir: Option<tempfile::TempDir>) -> Harness {
        db.migrate().await.unwrap();
        let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
        let deps = Deps {
            bus: bus.clone(),
            db: Arc::new(db),
            cache: Arc::new(MemoryCache::new(1000)),
            config: Arc::new(Config::default()),
        };
        let server = bus
            .serve(&request_queue(SERVICE), handler(deps.clone()))
            .await
            .unwrap();
        Harness {
            client: BusClient::new(bus, "api", Duration::from_secs(10)),
            deps,
            _server: server,
            _dir: dir,
        }
    }

    /// On a new SQLite file.
    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        Harness::serve(db, Some(dir)).await
    }

    /// On an emptied MariaDB database named after `test`, when `VOXBIN_TEST_MYSQL_DSN` is set.
    pub async fn mysql(test: &str) -> Option<Harness> {
        let Ok(base) = std::env::var("VOXBIN_TEST_MYSQL_DSN") else {
            println!("skipped {test}: VOXBIN_TEST_MYSQL_DSN is not set");
            return None;
        };
        let base = base.split('?').next().unwrap_or_default().to_string();
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let server = match base[scheme_end..].find('/') {
            Some(i) => base[..scheme_end + i].to_string(),
            None => base.clone(),
        };
        let dsn = format!("{server}/voxbin_{SERVICE}_test_{test}");
        let db = Db::connect(&DbOptions::new(dsn.clone())).await.unwrap();
        let name: String = voxbin_store::sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(db.writer())
            .await
            .unwrap();
        voxbin_store::sqlx::query(voxbin_store::sqlx::AssertSqlSafe(format!(
            "DROP DATABASE `{name}`"
        )))
        .execute(db.writer())
        .await
        .unwrap();
        db.close().await;
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        Some(Harness::serve(db, None).await)
    }

    /// Calls `method uri` with an optional body.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Result<Value> {
        self.client.call(SERVICE, method, uri, body).await
    }

    /// Calls and expects an error of HTTP status `status`; returns it.
    pub async fn fail(&self, method: Method, uri: &str, body: Option<Value>, status: u16) -> Error {
        match self.call(method, uri, body.clone()).await {
            Ok(v) => panic!("{method} {uri} {body:?} should fail with {status}, got {v}"),
            Err(e) => {
                assert_eq!(e.http_status(), status, "{method} {uri} {body:?}: {e}");
                e
            }
        }
    }

    /// Rows (live or not) in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        voxbin_store::sqlx::query_scalar::<_, i64>(voxbin_store::sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table}"
        )))
        .fetch_one(self.deps.db.writer())
        .await
        .unwrap()
    }
}

/// Asserts that `body` is the contract's response of `method path` with status 200 (strict).
pub fn check(method: &str, path: &str, body: &Value) {
    let contract = voxbin_contract::Contract::shared().unwrap();
    if let Err(errors) = contract.validate_response_strict(method, path, 200, body) {
        panic!("{method} {path} answer breaks the contract: {errors:?}\n{body:#}");
    }
}

/// This service's tables have the same columns, in the same order, on SQLite and MariaDB.
#[tokio::test]
async fn schema_is_the_same_on_sqlite_and_mariadb() {
    let sqlite = Harness::sqlite().await;
    let lite = sqlite.deps.db.tables_and_columns().await.unwrap();
    for table in ["route_providers", "route_routes"] {
        assert!(lite.contains_key(table), "{table} missing on SQLite");
    }
    let Some(mysql) = Harness::mysql("schema").await else {
        return;
    };
    let my = mysql.deps.db.tables_and_columns().await.unwrap();
    for table in ["route_providers", "route_routes"] {
        assert_eq!(lite.get(table), my.get(table), "{table}");
    }
}
