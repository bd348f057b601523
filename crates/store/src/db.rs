//! [`Db`]: one writer pool plus reader pools, opened from [`DbOptions`].
//!
//! SQLite (embedded mode) gets a writer pool of exactly one connection, because a single writer
//! never meets `SQLITE_BUSY`, and a reader pool of several connections on the same file; WAL
//! lets those readers see every committed write. MySQL gets a writer pool and one pool per
//! replica; without replicas, reads go to the writer.
//!
//! Reader health: every reader carries a flag that the last check of it set. [`Db::ping`] checks
//! every pool, and with MySQL replicas a background task checks each replica every
//! [`PROBE_INTERVAL`]. [`Db::reader`] skips readers whose last check failed and falls back to the
//! writer when none is healthy, so a lost replica costs at most one probe interval of failed
//! reads; it reads one atomic per reader and takes no lock.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, ConnectOptions, Connection, Executor};
use std::future::Future;
use voxbin_core::{Error, ErrorKind, Result};

use crate::error::{map_db_error, DATABASE_UNAVAILABLE};
use crate::options::{DbOptions, Dialect};
use crate::pool::{Conn, Held, Opener, Pool};

/// How long `ping` waits for `SELECT 1` on each pool.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the background task checks MySQL replicas.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// SQLite busy timeout, set on every connection.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5000;

/// MySQL error number for "unknown database".
const ER_BAD_DB_ERROR: u16 = 1049;

/// Database handle shared by all services of a process; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    dialect: Dialect,
    writer: Target,
    /// Empty when reads go to the writer.
    readers: Vec<Target>,
    next_reader: AtomicUsize,
}

/// A pool and a printable, password-free name of where it points.
struct Target {
    pool: Pool,
    label: String,
    /// Readers only: whether the last check answered. Starts true (the pool just connected).
    healthy: AtomicBool,
}

impl Target {
    fn new(pool: Pool, label: String) -> Target {
        Target {
            pool,
            label,
            healthy: AtomicBool::new(true),
        }
    }

    fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Records the outcome of a check of this reader, logging when it changes.
    fn set_healthy(&self, ok: bool, failure: Option<&Error>) {
        if self.healthy.swap(ok, Ordering::Relaxed) == ok {
            return;
        }
        if ok {
            tracing::info!(replica = %self.label, "read replica answers again; reads use it");
        } else {
            tracing::warn!(
                replica = %self.label,
                error = failure.map_or("", |e| e.message.as_str()),
                "read replica failed a check; reads skip it"
            );
        }
    }

    /// `SELECT 1` within [`PING_TIMEOUT`]; the error is the 503 that `ping` reports.
    async fn check(&self, what: &str) -> Result<()> {
        match tokio::time::timeout(PING_TIMEOUT, (&self.pool).execute("SELECT 1")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let mapped = map_db_error(e);
                Err(Error::unavailable(
                    DATABASE_UNAVAILABLE,
                    format!("{what} at {} failed a ping: {}", self.label, mapped.message),
                ))
            }
            Err(_) => Err(Error::unavailable(
                DATABASE_UNAVAILABLE,
                format!(
                    "{what} at {} did not answer a ping within {:?}",
                    self.label, PING_TIMEOUT
                ),
            )),
        }
    }

    /// Checks a reader and records the outcome.
    async fn check_reader(&self, dialect: Dialect) -> Result<()> {
        let what = match dialect {
            Dialect::MySql => "read replica",
            Dialect::Sqlite => "database reader",
        };
        let outcome = self.check(what).await;
        self.set_healthy(outcome.is_ok(), outcome.as_ref().err());
        outcome
    }
}

/// The reader to use on this turn: the first healthy one at or after `turn` (round robin), or
/// `None` when none is healthy.
fn pick_reader(count: usize, turn: usize, healthy: impl Fn(usize) -> bool) -> Option<usize> {
    (0..count)
        .map(|k| turn.wrapping_add(k) % count)
        .find(|&i| healthy(i))
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dialect", &self.inner.dialect)
            .field("writer", &self.inner.writer.label)
            .field(
                "readers",
                &self
                    .inner
                    .readers
                    .iter()
                    .map(|r| r.label.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Db {
    /// Opens the writer and reader pools (creating the SQLite file or the MySQL database if
    /// missing); fails with 503 `DATABASE_UNAVAILABLE` when the database cannot be reached.
    pub async fn connect(opts: &DbOptions) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_dsn(&opts.dsn)?;
        for reader in &opts.readers {
            if Dialect::of_dsn(reader)? != dialect {
                return Err(Error::invalid_argument(
                    "INVALID_DSN",
                    "Reader DSNs must use the same engine as the writer DSN.",
                ));
            }
        }
        let inner = match dialect {
            Dialect::Sqlite => connect_sqlite(opts).await?,
            Dialect::MySql => connect_mysql(opts).await?,
        };
        tracing::info!(
            dialect = %inner.dialect,
            writer = %inner.writer.label,
            readers = inner.readers.len(),
            "database connected"
        );
        let probe = dialect == Dialect::MySql && !inner.readers.is_empty();
        let inner = Arc::new(inner);
        if probe {
            spawn_reader_probe(Arc::downgrade(&inner));
        }
        Ok(Db { inner })
    }

    /// The pool for writes and read-your-writes reads.
    pub fn writer(&self) -> &Pool {
        &self.inner.writer.pool
    }

    /// One connection to the writer, for several statements in a row.
    pub async fn write_conn(&self) -> Result<Conn> {
        self.writer().acquire().await.map_err(map_db_error)
    }

    /// A pool for reads that may lag behind writes: round robin across the healthy readers,
    /// the writer when there are none (or no healthy one).
    pub fn reader(&self) -> &Pool {
        let readers = &self.inner.readers;
        if readers.is_empty() {
            return &self.inner.writer.pool;
        }
        let turn = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        match pick_reader(readers.len(), turn, |i| readers[i].is_healthy()) {
            Some(i) => &readers[i].pool,
            None => &self.inner.writer.pool,
        }
    }

    /// Runs `read` on a reader as [`Db::reader`] picks it; when that reader turns out to be
    /// unreachable it is marked down (the probe brings it back) and `read` runs again on the
    /// writer, so losing a replica fails no read.
    pub async fn read<'a, T, F, Fut>(&'a self, read: F) -> Result<T>
    where
        F: Fn(&'a Pool) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let readers = &self.inner.readers;
        let writer = &self.inner.writer.pool;
        if readers.is_empty() {
            return read(writer).await;
        }
        let turn = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        let Some(i) = pick_reader(readers.len(), turn, |i| readers[i].is_healthy()) else {
            return read(writer).await;
        };
        match read(&readers[i].pool).await {
            Err(e) if e.kind == ErrorKind::Unavailable && e.reason == DATABASE_UNAVAILABLE => {
                readers[i].set_healthy(false, Some(&e));
                read(writer).await
            }
            other => other,
        }
    }

    /// The engine behind this handle.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// Runs `SELECT 1` on the writer and every reader with a short timeout (for `/ready`), and
    /// records each reader's health. Fails with 503 `DATABASE_UNAVAILABLE` naming the first pool
    /// that did not answer, even when only a replica is down and reads still work through the
    /// writer.
    pub async fn ping(&self) -> Result<()> {
        let mut failure = self.inner.writer.check("database").await.err();
        for reader in &self.inner.readers {
            if let Err(e) = reader.check_reader(self.inner.dialect).await {
                failure.get_or_insert(e);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `SELECT 1` on the writer alone: whether this process can serve (for `/ready`).
    pub async fn ping_writer(&self) -> Result<()> {
        self.inner.writer.check("database").await
    }

    /// Checks every reader, records each one's health, and names those that failed (reads
    /// skip them meanwhile, so this degrades service rather than stopping it).
    pub async fn readers_down(&self) -> Vec<String> {
        let mut down = Vec::new();
        for reader in &self.inner.readers {
            if let Err(e) = reader.check_reader(self.inner.dialect).await {
                down.push(e.message);
            }
        }
        down
    }

    /// Closes every pool, waiting for borrowed connections to come back.
    pub async fn close(&self) {
        for target in &self.inner.readers {
            target.pool.close().await;
        }
        self.inner.writer.pool.close().await;
    }
}

/// Checks every reader each [`PROBE_INTERVAL`] until the `Db` is dropped or closed.
fn spawn_reader_probe(inner: Weak<Inner>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROBE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            if inner.writer.pool.is_closed() {
                return;
            }
            for reader in &inner.readers {
                let _ = reader.check_reader(inner.dialect).await;
            }
        }
    });
}

/// SQLite: create the file (and its directory), then a 1-connection writer and a reader pool.
async fn connect_sqlite(opts: &DbOptions) -> Result<Inner> {
    let file = sqlite_file(&opts.dsn);
    let label = match &file {
        Some(path) => path.display().to_string(),
        None => "memory".to_string(),
    };
    let Some(path) = file else {
        // An in-memory database lives only as long as its one connection: a single pool that
        // never lets that connection go serves both writes and reads.
        let conn = sqlite_connection(&opts.dsn, &label, opts.connect_timeout, false).await?;
        let pool = Pool::Held(Held::single(conn, opts.connect_timeout));
        return Ok(Inner {
            dialect: Dialect::Sqlite,
            writer: Target::new(pool, label),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        });
    };
    create_sqlite_file(&path).await.map_err(|e| {
        Error::unavailable(
            DATABASE_UNAVAILABLE,
            format!("cannot create the SQLite database file {label}: {e}"),
        )
    })?;

    let timeout = opts.connect_timeout;
    let conn = sqlite_connection(&opts.dsn, &label, timeout, false).await?;
    let writer = Target::new(Pool::Held(Held::single(conn, timeout)), label.clone());

    let size = opts.max_connections.max(1) as usize;
    let mut readers = Vec::new();
    if opts.readers.is_empty() {
        readers.push(sqlite_readers(&opts.dsn, label, size, timeout).await?);
    } else {
        for dsn in &opts.readers {
            let label = sqlite_file(dsn).map_or("memory".into(), |p| p.display().to_string());
            readers.push(sqlite_readers(dsn, label, size, timeout).await?);
        }
    }
    Ok(Inner {
        dialect: Dialect::Sqlite,
        writer,
        readers,
        next_reader: AtomicUsize::new(0),
    })
}

/// The PRAGMAs every SQLite connection runs first (`query_only` on readers).
async fn sqlite_pragmas(conn: &mut AnyConnection, read_only: bool) -> sqlx::Result<()> {
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    let busy = format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}");
    conn.execute(sqlx::AssertSqlSafe(busy)).await?;
    if read_only {
        conn.execute("PRAGMA query_only = ON").await?;
    }
    Ok(())
}

/// One SQLite connection with its PRAGMAs (`query_only` for a reader).
async fn sqlite_connection(
    dsn: &str,
    label: &str,
    timeout: Duration,
    read_only: bool,
) -> Result<AnyConnection> {
    let opts =
        AnyConnectOptions::from_str(dsn).map_err(|e| unreachable_db(label, dsn, &e.to_string()))?;
    let mut conn = connect_once(&opts, timeout)
        .await
        .map_err(|e| unreachable_db(label, dsn, &e.to_string()))?;
    sqlite_pragmas(&mut conn, read_only)
        .await
        .map_err(|e| unreachable_db(label, dsn, &e.to_string()))?;
    Ok(conn)
}

/// Up to `size` read-only connections on the SQLite file of `dsn`: the first opened now (it
/// proves the settings), the others when reads first need them.
async fn sqlite_readers(
    dsn: &str,
    label: String,
    size: usize,
    timeout: Duration,
) -> Result<Target> {
    let first = sqlite_connection(dsn, &label, timeout, true).await?;
    let (dsn_owned, label_owned) = (dsn.to_owned(), label.clone());
    let opener: Opener = Arc::new(move || {
        let (dsn, label) = (dsn_owned.clone(), label_owned.clone());
        Box::pin(async move {
            sqlite_connection(&dsn, &label, timeout, true)
                .await
                .map_err(|e| sqlx::Error::Io(std::io::Error::other(e.message)))
        })
    });
    Ok(Target::new(
        Pool::Held(Held::lazy(size, Some(first), opener, timeout)),
        label,
    ))
}

/// The file behind a SQLite DSN, or `None` for an in-memory database.
fn sqlite_file(dsn: &str) -> Option<PathBuf> {
    let rest = dsn
        .strip_prefix("sqlite://")
        .or_else(|| dsn.strip_prefix("sqlite:"))?;
    let (path, params) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    let in_memory =
        path.is_empty() || path == ":memory:" || params.split('&').any(|kv| kv == "mode=memory");
    if in_memory {
        return None;
    }
    Some(PathBuf::from(percent_decode(path)))
}

/// Decodes `%XX` escapes the way sqlx does for SQLite paths; invalid escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn create_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            tokio::fs::create_dir_all(dir).await?;
        }
    }
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    Ok(())
}

/// MySQL: probe the writer (creating its database when it is unknown), then open the pools.
async fn connect_mysql(opts: &DbOptions) -> Result<Inner> {
    let size = opts.max_connections.max(1);
    let writer_label = mysql_label(&opts.dsn);
    probe_mysql(&opts.dsn, &writer_label, opts.connect_timeout, true).await?;
    let writer = open_pool(
        mysql_pool(size, opts.connect_timeout),
        &opts.dsn,
        writer_label,
        opts.connect_timeout,
    )
    .await?;
    let mut readers = Vec::new();
    for dsn in &opts.readers {
        let label = mysql_label(dsn);
        // Replicas are read-only: never try to create their database.
        probe_mysql(dsn, &label, opts.connect_timeout, false).await?;
        readers.push(
            open_pool(
                mysql_pool(size, opts.connect_timeout),
                dsn,
                label,
                opts.connect_timeout,
            )
            .await?,
        );
    }
    Ok(Inner {
        dialect: Dialect::MySql,
        writer,
        readers,
        next_reader: AtomicUsize::new(0),
    })
}

fn mysql_pool(max: u32, timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(timeout)
}

/// `host:port/db` of a MySQL DSN, without user or password.
fn mysql_label(dsn: &str) -> String {
    match AnyConnectOptions::from_str(dsn) {
        Ok(o) => {
            let url = &o.database_url;
            format!(
                "{}:{}{}",
                url.host_str().unwrap_or("localhost"),
                url.port().unwrap_or(3306),
                url.path()
            )
        }
        Err(_) => "an unparsable DSN".to_string(),
    }
}

/// Opens one connection to learn the real failure (a pool would only say "timed out"); when
/// the database does not exist and `create` is set, creates it through a connection without a
/// database name.
async fn probe_mysql(dsn: &str, label: &str, timeout: Duration, create: bool) -> Result<()> {
    let opts = AnyConnectOptions::from_str(dsn)
        .map_err(|_| Error::invalid_argument("INVALID_DSN", "The MySQL DSN is not a valid URL."))?;
    match connect_once(&opts, timeout).await {
        Ok(conn) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Err(ProbeError::Sqlx(sqlx::Error::Database(db)))
            if create
                && db
                    .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .is_some_and(|m| m.number() == ER_BAD_DB_ERROR) => {}
        Err(e) => return Err(unreachable_db(label, dsn, &e.to_string())),
    }

    let name = opts.database_url.path().trim_start_matches('/').to_string();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Err(Error::invalid_argument(
            "INVALID_DSN",
            "The MySQL database name may only hold letters, digits, '_' and '$'.",
        ));
    }
    let mut server = opts.clone();
    server.database_url.set_path("");
    let mut conn = connect_once(&server, timeout)
        .await
        .map_err(|e| unreachable_db(label, dsn, &e.to_string()))?;
    // utf8mb4_bin compares like SQLite does (byte-wise), so both engines agree on equality and order.
    let ddl =
        format!("CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    let created = conn.execute(sqlx::AssertSqlSafe(ddl)).await;
    let _ = conn.close().await;
    created.map_err(|e| unreachable_db(label, dsn, &e.to_string()))?;
    tracing::info!(database = %name, "created MySQL database");
    Ok(())
}

enum ProbeError {
    Sqlx(sqlx::Error),
    Timeout(Duration),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Sqlx(e) => write!(f, "{e}"),
            ProbeError::Timeout(t) => write!(f, "no connection within {t:?}"),
        }
    }
}

async fn connect_once(
    opts: &AnyConnectOptions,
    timeout: Duration,
) -> std::result::Result<AnyConnection, ProbeError> {
    match tokio::time::timeout(timeout, opts.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(ProbeError::Sqlx(e)),
        Err(_) => Err(ProbeError::Timeout(timeout)),
    }
}

/// Connects a pool (it opens one connection to prove the settings) within `timeout`.
async fn open_pool(
    pool: AnyPoolOptions,
    dsn: &str,
    label: String,
    timeout: Duration,
) -> Result<Target> {
    // The pool already honours its acquire timeout; the outer one guards slow DNS or TLS.
    match tokio::time::timeout(timeout + Duration::from_secs(1), pool.connect(dsn)).await {
        Ok(Ok(pool)) => Ok(Target::new(Pool::Shared(pool), label)),
        Ok(Err(e)) => Err(unreachable_db(&label, dsn, &e.to_string())),
        Err(_) => Err(unreachable_db(
            &label,
            dsn,
            &format!("no connection within {timeout:?}"),
        )),
    }
}

/// 503 naming where the database is, with any password scrubbed from the driver's text.
fn unreachable_db(label: &str, dsn: &str, detail: &str) -> Error {
    let mut detail = detail.to_string();
    if let Ok(o) = AnyConnectOptions::from_str(dsn) {
        if let Some(password) = o.database_url.password().filter(|p| !p.is_empty()) {
            detail = detail.replace(password, "***");
            let decoded = percent_decode(password);
            if !decoded.is_empty() {
                detail = detail.replace(&decoded, "***");
            }
        }
    }
    Error::unavailable(
        DATABASE_UNAVAILABLE,
        format!("cannot connect to the database at {label}: {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_dsn_paths() {
        assert_eq!(
            sqlite_file("sqlite:///tmp/a/b.db"),
            Some(PathBuf::from("/tmp/a/b.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://data/voxbin.db?mode=rwc"),
            Some(PathBuf::from("data/voxbin.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:x%20y.db"),
            Some(PathBuf::from("x y.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://?mode=memory"), None);
    }

    #[test]
    fn mysql_label_hides_credentials() {
        let label = mysql_label("mysql://u:s3cr3t@db.internal:3307/voxbin");
        assert_eq!(label, "db.internal:3307/voxbin");
        let e = unreachable_db(
            &label,
            "mysql://u:s3cr3t@db.internal:3307/voxbin",
            "bad s3cr3t",
        );
        assert_eq!(e.reason, DATABASE_UNAVAILABLE);
        assert!(e.message.contains("db.internal"), "{}", e.message);
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
    }

    #[tokio::test]
    async fn unreachable_mysql_is_unavailable_and_names_the_host() {
        let mut opts = DbOptions::new("mysql://root:pw@127.0.0.1:1/voxbin");
        opts.connect_timeout = Duration::from_millis(500);
        let err = Db::connect(&opts).await.unwrap_err();
        assert_eq!(err.kind, voxbin_core::ErrorKind::Unavailable);
        assert_eq!(err.reason, DATABASE_UNAVAILABLE);
        assert!(err.message.contains("127.0.0.1:1"), "{}", err.message);
        assert!(!err.message.contains("pw@"), "{}", err.message);
    }

    #[tokio::test]
    async fn sqlite_write_on_writer_is_visible_on_reader() {
        let (_dir, db) = crate::testutil::temp_db().await;
        assert_eq!(db.dialect(), Dialect::Sqlite);
        assert_eq!(db.writer().max_connections(), 1);
        assert!(
            !std::ptr::eq(db.writer(), db.reader()),
            "separate reader pool"
        );
        db.ping().await.unwrap();

        db.writer()
            .execute("CREATE TABLE test_notes (id CHAR(36) PRIMARY KEY, body TEXT)")
            .await
            .unwrap();
        sqlx::query("INSERT INTO test_notes (id, body) VALUES (?, ?)")
            .bind("n1")
            .bind("hello")
            .execute(db.writer())
            .await
            .unwrap();
        let body: String = sqlx::query_scalar("SELECT body FROM test_notes WHERE id = ?")
            .bind("n1")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert_eq!(body, "hello");

        // Every connection carries the PRAGMAs; readers refuse writes.
        for pool in [db.writer(), db.reader()] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(sync, 1, "NORMAL");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(busy, 5000);
        }
        assert!(db.reader().execute("DELETE FROM test_notes").await.is_err());
        db.close().await;
        assert_eq!(db.ping().await.unwrap_err().reason, DATABASE_UNAVAILABLE);
    }

    #[test]
    fn pick_reader_round_robins_over_healthy_readers_only() {
        let all = |_| true;
        let picks: Vec<_> = (0..6).map(|t| pick_reader(3, t, all)).collect();
        assert_eq!(
            picks,
            [Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]
        );
        let not_1 = |i| i != 1;
        let picks: Vec<_> = (0..4).map(|t| pick_reader(3, t, not_1)).collect();
        assert_eq!(picks, [Some(0), Some(2), Some(2), Some(0)]);
        assert_eq!(pick_reader(3, 7, |_| false), None);
        assert_eq!(pick_reader(0, 0, |_| true), None);
        // The turn counter wraps without skipping or panicking.
        assert_eq!(pick_reader(3, usize::MAX, all), Some(usize::MAX % 3));
        assert_eq!(pick_reader(3, usize::MAX, |i| i == 0), Some(0));
    }

    /// A SQLite `Db` with two reader pools on the writer's file.
    async fn two_reader_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}", dir.path().join("r.db").display());
        let mut opts = DbOptions::new(dsn.clone());
        opts.readers = vec![dsn.clone(), dsn];
        let db = Db::connect(&opts).await.unwrap();
        db.migrate().await.unwrap();
        db.put_setting("k", "v").await.unwrap();
        (dir, db)
    }

    fn which(db: &Db, pool: &Pool) -> &'static str {
        let r = &db.inner.readers;
        if std::ptr::eq(pool, db.writer()) {
            "writer"
        } else if std::ptr::eq(pool, &r[0].pool) {
            "r0"
        } else if std::ptr::eq(pool, &r[1].pool) {
            "r1"
        } else {
            "unknown"
        }
    }

    #[tokio::test]
    async fn unhealthy_readers_are_skipped_and_the_writer_takes_over() {
        let (_dir, db) = two_reader_db().await;
        let picks: Vec<_> = (0..4).map(|_| which(&db, db.reader())).collect();
        assert!(picks.contains(&"r0") && picks.contains(&"r1"), "{picks:?}");

        db.inner.readers[0].set_healthy(false, None);
        assert!((0..4).all(|_| which(&db, db.reader()) == "r1"));
        db.inner.readers[1].set_healthy(false, None);
        assert!((0..4).all(|_| which(&db, db.reader()) == "writer"));
        let v: String = sqlx::query_scalar("SELECT value FROM platform_settings WHERE key = ?")
            .bind("k")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert_eq!(v, "v");

        // Readers that answer a check are used again.
        db.ping().await.unwrap();
        assert!(db.inner.readers.iter().all(Target::is_healthy));
        let picks: Vec<_> = (0..4).map(|_| which(&db, db.reader())).collect();
        assert!(!picks.contains(&"writer"), "{picks:?}");
    }

    #[tokio::test]
    async fn ping_reports_a_failed_reader_while_reads_go_on() {
        let (_dir, db) = two_reader_db().await;
        db.inner.readers[0].pool.close().await;
        let err = db.ping().await.unwrap_err();
        assert_eq!(err.reason, DATABASE_UNAVAILABLE);
        assert!(err.message.contains("database reader"), "{}", err.message);
        assert!(!db.inner.readers[0].is_healthy());
        assert!(db.inner.readers[1].is_healthy());
        for _ in 0..4 {
            assert_eq!(which(&db, db.reader()), "r1");
            let v: String = sqlx::query_scalar("SELECT value FROM platform_settings WHERE key = ?")
                .bind("k")
                .fetch_one(db.reader())
                .await
                .unwrap();
            assert_eq!(v, "v");
        }
        db.inner.readers[1].pool.close().await;
        assert!(db.ping().await.is_err());
        assert_eq!(which(&db, db.reader()), "writer");
        assert_eq!(db.get_setting("k").await.unwrap().as_deref(), Some("v"));
    }

    #[tokio::test]
    async fn sqlite_in_memory_uses_one_pool() {
        let db = Db::connect(&DbOptions::new("sqlite::memory:"))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db.put_setting("k", "v").await.unwrap();
        assert_eq!(db.get_setting("k").await.unwrap().as_deref(), Some("v"));
        assert!(std::ptr::eq(db.writer(), db.reader()));
    }
}
