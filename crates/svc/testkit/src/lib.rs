//! Test harness shared by the service crates (a dev-dependency only).
//!
//! A [`Harness`] serves the code under test on an in-process bus over a fresh, migrated
//! database (a temporary SQLite file, or a scratch MariaDB database when
//! `VOXBIN_TEST_MYSQL_DSN` is set) with an in-memory cache, and calls it with a [`BusClient`]
//! exactly as the API gateway does. Each crate says what it serves once, in a [`Served`]
//! implementation, and names the harness with a type alias:
//!
//! ```text
//! struct Tag;
//! impl Served for Tag {
//!     const SERVICE: &'static str = SERVICE;
//!     const MYSQL_PREFIX: &'static str = "vxtag_";
//!     fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
//!         vec![(SERVICE, handler(deps.clone()))]
//!     }
//! }
//! type Env = Harness<Tag>;
//! ```
//!
//! Stories written once as `async fn story(env: Env)` run on both engines through
//! [`on_sqlite_and_mysql!`]. Answers are checked against the public contract with
//! [`assert_contract`] and [`contract_ok`]; refused input with [`assert_400`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer, Handler, InProcBus, Method};
use voxbin_cache::MemoryCache;
use voxbin_contract::Contract;
use voxbin_core::config::Config;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_store::sqlx::{self, AssertSqlSafe};
use voxbin_store::{Db, DbOptions};
use voxbin_svc_kit::Deps;

/// The environment variable naming the MariaDB server the MySQL variants of tests use.
pub const MYSQL_DSN_VAR: &str = "VOXBIN_TEST_MYSQL_DSN";

/// What a harness serves: the service under test, wired to the harness's dependencies.
pub trait Served {
    /// The bus service that [`Harness::call`], [`Harness::call_as`] and [`Harness::fail`] call.
    const SERVICE: &'static str;
    /// Start of the name of each test's scratch MariaDB database (the test's name follows).
    const MYSQL_PREFIX: &'static str;
    /// How long the client waits for an answer.
    const TIMEOUT: Duration = Duration::from_secs(10);
    /// The handlers to serve, each on the request queue of the service it names.
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)>;
}

/// A request body: a `Value` (`Value::Null` sends none) or an `Option<Value>` (sent as is).
pub struct Body(Option<Value>);

impl From<Value> for Body {
    fn from(value: Value) -> Body {
        Body((!value.is_null()).then_some(value))
    }
}

impl From<Option<Value>> for Body {
    fn from(value: Option<Value>) -> Body {
        Body(value)
    }
}

/// A fresh, empty database for one test, and the temporary folder that holds it (SQLite).
pub struct TestDb {
    db: Db,
    dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new SQLite file in a temporary folder.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        TestDb { db, dir: Some(dir) }
    }

    /// The MariaDB database `<prefix><test>` (test name cut to 48 characters, as MySQL names
    /// are at most 64), dropped and created again; `None` when `VOXBIN_TEST_MYSQL_DSN` is unset.
    pub async fn mysql(prefix: &str, test: &str) -> Option<TestDb> {
        let Ok(base) = std::env::var(MYSQL_DSN_VAR) else {
            println!("skipped {test} on MySQL: {MYSQL_DSN_VAR} is not set");
            return None;
        };
        let dsn = mysql_dsn(&base, &format!("{prefix}{}", &test[..test.len().min(48)]));
        let db = Db::connect(&DbOptions::new(dsn.clone())).await.unwrap();
        let name: String = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(db.writer())
            .await
            .unwrap();
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE `{name}`")))
            .execute(db.writer())
            .await
            .unwrap();
        db.close().await;
        let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
        Some(TestDb { db, dir: None })
    }

    /// The connected database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// `base` (scheme, credentials, host and options of a MySQL DSN) with database `name`.
fn mysql_dsn(base: &str, name: &str) -> String {
    let (base, options) = match base.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (base, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{server}/{name}{options}")
}

/// The services of `S` served over a fresh, migrated database, and a client playing the gateway.
pub struct Harness<S: Served> {
    /// The served code's dependencies (to look at rows and the cache directly).
    pub deps: Deps,
    /// Calls the served services like the API gateway.
    pub client: BusClient,
    servers: Vec<(&'static str, Consumer)>,
    _dir: Option<tempfile::TempDir>,
    _served: PhantomData<S>,
}

impl<S: Served> Harness<S> {
    /// Serves `S` on a new SQLite file.
    pub async fn sqlite() -> Harness<S> {
        Harness::over(TestDb::sqlite().await).await
    }

    /// Serves `S` on a scratch MariaDB database named after `test`, when one is set up.
    pub async fn mysql(test: &str) -> Option<Harness<S>> {
        Some(Harness::over(TestDb::mysql(S::MYSQL_PREFIX, test).await?).await)
    }

    /// Migrates `db` and serves `S` over it.
    pub async fn over(db: TestDb) -> Harness<S> {
        let TestDb { db, dir } = db;
        db.migrate().await.unwrap();
        let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
        let deps = Deps {
            bus: bus.clone(),
            db: Arc::new(db),
            cache: Arc::new(MemoryCache::new(1000)),
            config: Arc::new(Config::default()),
        };
        let mut servers = Vec::new();
        for (service, handler) in S::handlers(&deps) {
            let server = bus.serve(&request_queue(service), handler).await.unwrap();
            servers.push((service, server));
        }
        Harness {
            client: BusClient::new(bus, "api", S::TIMEOUT),
            deps,
            servers,
            _dir: dir,
            _served: PhantomData,
        }
    }

    /// Stops serving `service` (to test what callers do when it is down).
    pub fn stop(&mut self, service: &str) {
        let at = self.servers.iter().position(|(s, _)| *s == service);
        let (_, server) = self.servers.remove(at.expect("a served service"));
        server.stop();
    }

    /// Calls `method uri` of `S::SERVICE`.
    pub async fn call(
        &self,
        method: Method,
        uri: impl AsRef<str>,
        body: impl Into<Body>,
    ) -> Result<Value> {
        self.call_to(S::SERVICE, method, uri, body).await
    }

    /// Calls `method uri` of `service`.
    pub async fn call_to(
        &self,
        service: &str,
        method: Method,
        uri: impl AsRef<str>,
        body: impl Into<Body>,
    ) -> Result<Value> {
        let Body(data) = body.into();
        self.client.call(service, method, uri.as_ref(), data).await
    }

    /// Calls `method path` of `S::SERVICE` in the scope of `customer` (as the gateway does).
    pub async fn call_as(
        &self,
        customer: Uuid,
        method: Method,
        path: &str,
        body: impl Into<Body>,
    ) -> Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.call(method, format!("{path}{sep}customer_id={customer}"), body)
            .await
    }

    /// Calls `method uri` of `service` and expects an answer; returns it.
    pub async fn ok_to(
        &self,
        service: &str,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
    ) -> Value {
        match self.call_to(service, method, uri, body).await {
            Ok(value) => value,
            Err(e) => panic!("{method} {uri} failed: {e}"),
        }
    }

    /// Calls `method uri` of `service` and expects an error; returns it.
    pub async fn err_to(
        &self,
        service: &str,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
    ) -> Error {
        match self.call_to(service, method, uri, body).await {
            Ok(value) => panic!("{method} {uri} should fail, got {value}"),
            Err(e) => e,
        }
    }

    /// Calls `method uri` of `S::SERVICE` and expects an error of HTTP status `status`.
    pub async fn fail(
        &self,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
        status: u16,
    ) -> Error {
        let Body(body) = body.into();
        match self.call(method, uri, body.clone()).await {
            Ok(v) => panic!("{method} {uri} {body:?} should fail with {status}, got {v}"),
            Err(e) => {
                assert_eq!(e.http_status(), status, "{method} {uri} {body:?}: {e}");
                e
            }
        }
    }

    /// How many rows `table` holds, soft-deleted ones included.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.deps.db.writer())
            .await
            .unwrap()
    }

    /// Asserts that `tables` exist after migrating SQLite and, when MariaDB is set up, have the
    /// same columns in the same order there (database `<prefix>schema`).
    pub async fn assert_same_schema(tables: &[&str]) {
        let sqlite = Harness::<S>::sqlite().await;
        let lite = sqlite.deps.db.tables_and_columns().await.unwrap();
        for table in tables {
            assert!(lite.contains_key(*table), "{table} missing on SQLite");
        }
        let Some(mysql) = Harness::<S>::mysql("schema").await else {
            return;
        };
        let my = mysql.deps.db.tables_and_columns().await.unwrap();
        for table in tables {
            assert_eq!(lite.get(*table), my.get(*table), "{table}");
        }
    }

    /// Runs `sql` with text `binds` on the writer (to set up rows the API cannot make).
    pub async fn exec(&self, sql: &str, binds: &[&str]) {
        let mut query = sqlx::query(AssertSqlSafe(sql.to_string()));
        for bind in binds {
            query = query.bind(*bind);
        }
        query.execute(self.deps.db.writer()).await.unwrap();
    }
}

/// Asserts `body` is exactly what the contract says `method path` answers with `status`.
pub fn assert_contract(method: &str, path: &str, status: u16, body: &Value) {
    let contract = Contract::shared().expect("contract loads");
    if let Err(errors) = contract.validate_response_strict(method, path, status, body) {
        panic!("{method} {path} {status} answer breaks the contract: {errors:#?}\n{body:#}");
    }
}

/// Asserts `body` is exactly the contract's successful (200) answer of `method path`.
pub fn contract_ok(method: &str, path: &str, body: &Value) {
    assert_contract(method, path, 200, body);
}

/// Asserts `error` is an invalid-argument (400) error that names `field`.
pub fn assert_invalid(error: &Error, field: &str) {
    assert_eq!(error.kind, ErrorKind::InvalidArgument, "{field}: {error}");
    assert!(
        error.message.contains(field),
        "{field} not named in {error}"
    );
}

/// Asserts `result` is an invalid-argument (400) error that names `field`.
pub fn assert_400(result: Result<Value>, field: &str) {
    assert_invalid(&result.expect_err(field), field);
}

/// Runs each story `async fn story(env: H)` as a test on SQLite (module `sqlite`) and, when
/// `VOXBIN_TEST_MYSQL_DSN` is set, on its own MariaDB database (module `mysql`); `H` is the
/// crate's harness type, e.g. `on_sqlite_and_mysql!(Env: story_a, story_b)`.
#[macro_export]
macro_rules! on_sqlite_and_mysql {
    ($harness:ident: $($story:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $story() {
                super::$story(super::$harness::sqlite().await).await;
            })*
        }
        mod mysql {
            $(#[tokio::test]
            async fn $story() {
                if let Some(env) = super::$harness::mysql(stringify!($story)).await {
                    super::$story(env).await;
                }
            })*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_dsn_replaces_the_database_and_keeps_options() {
        assert_eq!(
            mysql_dsn("mysql://root@127.0.0.1:3306/x", "vx_a"),
            "mysql://root@127.0.0.1:3306/vx_a"
        );
        assert_eq!(
            mysql_dsn("mysql://u:p@h:3306?ssl-mode=disabled", "vx_b"),
            "mysql://u:p@h:3306/vx_b?ssl-mode=disabled"
        );
    }

    #[test]
    fn a_null_value_sends_no_body() {
        assert_eq!(Body::from(Value::Null).0, None);
        assert_eq!(Body::from(Some(Value::Null)).0, Some(Value::Null));
    }
}
