//! [`Pool`]: where statements run, either a sqlx pool or SQLite connections held here behind
//! fair locks.
//!
//! sqlx's pool pings every connection when it comes back (a round trip to the connection's
//! thread for SQLite), and the connection is unusable until that ping answered. A SQLite file
//! does not go away the way a socket does, so SQLite's connections (the one writer, the
//! readers) are held here without that pool: a statement costs one trip to the connection's
//! thread instead of two, and writers queue on a FIFO lock instead of behind each other's
//! pings. MySQL keeps sqlx's pool (its ping also finds dead sockets).
//!
//! Both kinds are a sqlx [`Executor`] (`query.execute(db.writer())`), lend one connection with
//! [`Pool::acquire`] and open a transaction with [`Pool::begin`].

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTransactionManager, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Describe, Either, Execute, Executor, SqlStr};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// Where statements run: a sqlx pool, or SQLite connections of our own.
#[derive(Clone)]
pub enum Pool {
    /// A sqlx pool (MySQL).
    Shared(AnyPool),
    /// SQLite connections held here, each behind a FIFO lock.
    Held(Held),
}

/// Opens one more connection for a [`Held`] pool.
pub type Opener =
    Arc<dyn Fn() -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> + Send + Sync>;

/// A slot: `None` before its connection is opened, and again once closed.
type Slot = Arc<Mutex<Option<AnyConnection>>>;

/// Connections held without sqlx's pool: one (SQLite's writer, an in-memory database) or
/// several opened on first use (SQLite's readers).
#[derive(Clone)]
pub struct Held {
    slots: Arc<[Slot]>,
    /// Opens an empty slot's connection; `None` when every slot was filled at the start.
    opener: Option<Opener>,
    next: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
    /// Longest wait for a connection, like a pool's acquire timeout.
    timeout: Duration,
}

impl Held {
    /// Holds the one connection `conn`; a turn waits at most `timeout` for it.
    pub fn single(conn: AnyConnection, timeout: Duration) -> Held {
        Held::with_slots(vec![Some(conn)], None, timeout)
    }

    /// Up to `size` connections: `first` (if given), the others opened by `opener` when first
    /// needed.
    pub fn lazy(
        size: usize,
        first: Option<AnyConnection>,
        opener: Opener,
        timeout: Duration,
    ) -> Held {
        let mut slots = vec![first];
        slots.resize_with(size.max(1), || None);
        Held::with_slots(slots, Some(opener), timeout)
    }

    fn with_slots(
        slots: Vec<Option<AnyConnection>>,
        opener: Option<Opener>,
        timeout: Duration,
    ) -> Held {
        Held {
            slots: slots.into_iter().map(|c| Arc::new(Mutex::new(c))).collect(),
            opener,
            next: Arc::default(),
            closed: Arc::default(),
            timeout,
        }
    }

    /// A free connection (trying each slot once from this turn's), else the turn's own slot
    /// once its holder lets go.
    async fn lock(
        &self,
    ) -> Result<OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>, sqlx::Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let count = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let free = (0..count).find_map(|k| {
            self.slots[(start + k) % count]
                .clone()
                .try_lock_owned()
                .ok()
        });
        let mut guard = match free {
            Some(guard) => guard,
            None => tokio::time::timeout(self.timeout, self.slots[start].clone().lock_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?,
        };
        if guard.is_none() {
            match &self.opener {
                Some(open) if !self.closed.load(Ordering::Acquire) => *guard = Some(open().await?),
                _ => return Err(sqlx::Error::PoolClosed),
            }
        }
        OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)
    }

    /// Closes every connection, waiting for lent ones to come back.
    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in self.slots.iter() {
            let conn = slot.lock().await.take();
            if let Some(conn) = conn {
                let _ = conn.close().await;
            }
        }
    }
}

/// A connection lent by a [`Pool`]; derefs to the connection.
pub enum Conn {
    /// From a sqlx pool (back to it when dropped).
    Pooled(PoolConnection<Any>),
    /// A held connection, for as long as this lives.
    Held(OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>),
}

impl Conn {
    /// Closes a pooled connection (its session's locks go with it); a held connection stays
    /// open for the next turn.
    pub async fn close(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Pooled(c) => c.close().await,
            Conn::Held(_) => Ok(()),
        }
    }
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Held(c) => c,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Held(c) => c,
        }
    }
}

/// A transaction on a lent connection: rolled back when dropped without [`Tx::commit`].
pub struct Tx {
    conn: Conn,
    open: bool,
}

impl Tx {
    /// Begins a transaction on `conn`.
    pub async fn begin(mut conn: Conn) -> Result<Tx, sqlx::Error> {
        AnyTransactionManager::begin(&mut conn, None).await?;
        Ok(Tx { conn, open: true })
    }

    /// Commits the transaction.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        AnyTransactionManager::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }

    /// Rolls the transaction back.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        AnyTransactionManager::rollback(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // queued on the connection: its next user finds no transaction open
            AnyTransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl Pool {
    /// Lends one connection (waits for it up to the pool's acquire timeout).
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        match self {
            Pool::Shared(p) => p.acquire().await.map(Conn::Pooled),
            Pool::Held(h) => h.lock().await.map(Conn::Held),
        }
    }

    /// Begins a transaction on a connection of this pool.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Tx::begin(self.acquire().await?).await
    }

    /// Whether [`Pool::close`] ran.
    pub fn is_closed(&self) -> bool {
        match self {
            Pool::Shared(p) => p.is_closed(),
            Pool::Held(h) => h.closed.load(Ordering::Acquire),
        }
    }

    /// Most connections this pool opens.
    pub fn max_connections(&self) -> u32 {
        match self {
            Pool::Shared(p) => p.options().get_max_connections(),
            Pool::Held(h) => h.slots.len() as u32,
        }
    }

    /// Closes the pool, waiting for lent connections to come back.
    pub async fn close(&self) {
        match self {
            Pool::Shared(p) => p.close().await,
            Pool::Held(h) => h.close().await,
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pool::Shared(p) => p.fmt(f),
            Pool::Held(h) => write!(f, "Pool::Held({} connections)", h.slots.len()),
        }
    }
}

// `describe` is part of the trait because the workspace's sqlx has its `macros` feature.
impl<'p> Executor<'p> for &'_ Pool {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Pool::Shared(p) => p.fetch_many(query),
            Pool::Held(h) => {
                let h = h.clone();
                // collected while the lock is held: the rows of one statement are few here
                let rows = async move {
                    let mut conn = h.lock().await?;
                    conn.fetch_many(query).try_collect::<Vec<_>>().await
                };
                stream::once(rows)
                    .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
                    .try_flatten()
                    .boxed()
            }
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Pool::Shared(p) => p.fetch_optional(query),
            Pool::Held(h) => {
                let h = h.clone();
                Box::pin(async move { h.lock().await?.fetch_optional(query).await })
            }
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'p: 'e,
    {
        match self {
            Pool::Shared(p) => p.prepare_with(sql, parameters),
            Pool::Held(h) => {
                let h = h.clone();
                Box::pin(async move { h.lock().await?.prepare_with(sql, parameters).await })
            }
        }
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        match self {
            Pool::Shared(p) => p.describe(sql),
            Pool::Held(h) => {
                let h = h.clone();
                Box::pin(async move { h.lock().await?.describe(sql).await })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    async fn open(dsn: &str) -> AnyConnection {
        sqlx::any::install_default_drivers();
        let opts = sqlx::any::AnyConnectOptions::from_str(dsn).unwrap();
        sqlx::ConnectOptions::connect(&opts).await.unwrap()
    }

    #[tokio::test]
    async fn a_dropped_transaction_rolls_back_and_a_committed_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let pool = Pool::Held(Held::single(open(&dsn).await, Duration::from_secs(2)));
        pool.execute("CREATE TABLE t (n INTEGER)").await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(rows, vec![2]);
    }

    #[tokio::test]
    async fn lazy_slots_open_on_demand_and_turns_queue_for_a_busy_slot() {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let opened = Arc::new(AtomicUsize::new(0));
        let (count, target) = (opened.clone(), dsn.clone());
        let opener: Opener = Arc::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
            let dsn = target.clone();
            Box::pin(async move { Ok(open(&dsn).await) })
        });
        let pool = Pool::Held(Held::lazy(2, None, opener, Duration::from_secs(2)));
        let first = pool.acquire().await.unwrap();
        let second = pool.acquire().await.unwrap();
        assert_eq!(opened.load(Ordering::SeqCst), 2);
        // both slots lent: a third turn waits, then gets one when it is given back
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move { pool.acquire().await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap().unwrap();
        drop(second);
        assert_eq!(opened.load(Ordering::SeqCst), 2);
        pool.close().await;
        assert!(pool.is_closed());
        assert!(matches!(pool.acquire().await, Err(sqlx::Error::PoolClosed)));
    }

    #[tokio::test]
    async fn a_turn_that_waits_too_long_times_out() {
        let pool = Pool::Held(Held::single(
            open("sqlite::memory:").await,
            Duration::from_millis(50),
        ));
        let held = pool.acquire().await.unwrap();
        assert!(matches!(
            pool.acquire().await,
            Err(sqlx::Error::PoolTimedOut)
        ));
        drop(held);
        assert_eq!(pool.max_connections(), 1);
        pool.acquire().await.unwrap();
    }
}
