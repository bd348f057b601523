//! [`Pool`]: where statements run, either a sqlx pool or SQLite's one writer connection held
//! behind a fair lock.
//!
//! sqlx's pool pings every connection when it comes back (a round trip to the connection's
//! thread for SQLite), and the connection is unusable until that ping answered. SQLite's writer
//! is a single connection anyway, so it is held here without that pool: a statement on it costs
//! one trip to the connection's thread instead of two, and writers queue on a FIFO lock instead
//! of behind each other's pings. MySQL keeps sqlx's pool (its ping also finds dead sockets).
//!
//! Both kinds are a sqlx [`Executor`] (`query.execute(db.writer())`), lend one connection with
//! [`Pool::acquire`] and open a transaction with [`Pool::begin`].

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTransactionManager, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Describe, Either, Execute, Executor, SqlStr};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// Where statements run: a sqlx pool, or one connection of our own.
#[derive(Clone)]
pub enum Pool {
    /// A sqlx pool (MySQL, SQLite readers).
    Shared(AnyPool),
    /// One connection behind a FIFO lock (SQLite's writer, an in-memory database).
    Single(Single),
}

/// One connection shared by turns; `None` inside once closed.
#[derive(Clone)]
pub struct Single {
    conn: Arc<Mutex<Option<AnyConnection>>>,
    /// Longest wait for the connection, like a pool's acquire timeout.
    timeout: Duration,
}

impl Single {
    /// Holds `conn`; a turn waits at most `timeout` for it.
    pub fn new(conn: AnyConnection, timeout: Duration) -> Single {
        Single {
            conn: Arc::new(Mutex::new(Some(conn))),
            timeout,
        }
    }

    async fn lock(
        &self,
    ) -> Result<OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>, sqlx::Error> {
        let guard = tokio::time::timeout(self.timeout, self.conn.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)
    }
}

/// A connection lent by a [`Pool`]; derefs to the connection.
pub enum Conn {
    /// From a sqlx pool (back to it when dropped).
    Pooled(PoolConnection<Any>),
    /// The single connection, for as long as this lives.
    Single(OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>),
}

impl Conn {
    /// Closes a pooled connection (its session's locks go with it); the single connection
    /// stays open for the next turn.
    pub async fn close(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Pooled(c) => c.close().await,
            Conn::Single(_) => Ok(()),
        }
    }
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Single(c) => c,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Single(c) => c,
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
            Pool::Single(s) => s.lock().await.map(Conn::Single),
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
            Pool::Single(s) => s.conn.try_lock().is_ok_and(|c| c.is_none()),
        }
    }

    /// Most connections this pool opens.
    pub fn max_connections(&self) -> u32 {
        match self {
            Pool::Shared(p) => p.options().get_max_connections(),
            Pool::Single(_) => 1,
        }
    }

    /// Closes the pool, waiting for lent connections to come back.
    pub async fn close(&self) {
        match self {
            Pool::Shared(p) => p.close().await,
            Pool::Single(s) => {
                let conn = s.conn.lock().await.take();
                if let Some(conn) = conn {
                    let _ = conn.close().await;
                }
            }
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pool::Shared(p) => p.fmt(f),
            Pool::Single(_) => f.write_str("Pool::Single"),
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
            Pool::Single(s) => {
                let s = s.clone();
                // collected while the lock is held: the rows of one statement are few here
                let rows = async move {
                    let mut conn = s.lock().await?;
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
            Pool::Single(s) => {
                let s = s.clone();
                Box::pin(async move { s.lock().await?.fetch_optional(query).await })
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
            Pool::Single(s) => {
                let s = s.clone();
                Box::pin(async move { s.lock().await?.prepare_with(sql, parameters).await })
            }
        }
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        match self {
            Pool::Shared(p) => p.describe(sql),
            Pool::Single(s) => {
                let s = s.clone();
                Box::pin(async move { s.lock().await?.describe(sql).await })
            }
        }
    }
}
