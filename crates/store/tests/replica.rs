//! The store against a real MariaDB read replica (binlog replication from the writer): writes
//! reach `db.reader()` after the replication lag, the writer sees them at once, the replica
//! refuses writes, and when the replica becomes unreachable reads fall back to the writer while
//! `ping` reports the replica.
//!
//! Runs only when both `VOXBIN_TEST_MYSQL_DSN` (the primary) and
//! `VOXBIN_TEST_MYSQL_REPLICA_DSN` (a replica of it) are set; `scripts/mariadb-replica` sets the
//! replica up and prints its DSN:
//!
//! ```sh
//! VOXBIN_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/voxbin_store_test \
//! VOXBIN_TEST_MYSQL_REPLICA_DSN=$(scripts/mariadb-replica) \
//! cargo test -p voxbin-store --test replica
//! ```
//!
//! Each test works in its own database, `<db>_replica_<test>` (the database names in the DSNs
//! only supply `<db>`), dropped and recreated on the writer at the start.

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, Executor};
use voxbin_netfault::Relay;
use voxbin_store::Pool;
use voxbin_store::{Db, DbOptions, DATABASE_UNAVAILABLE};

/// How long replication may lag in these tests.
const LAG: Duration = Duration::from_secs(15);

/// MySQL "server is running with --read-only".
const ER_OPTION_PREVENTS_STATEMENT: u16 = 1290;

/// The pieces of a `mysql://` DSN: everything up to the host and port, and the query.
struct Dsn {
    server: String,
    db: String,
    query: String,
}

impl Dsn {
    fn parse(dsn: &str) -> Dsn {
        let (base, query) = match dsn.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (dsn, String::new()),
        };
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let (server, db) = match base[scheme_end..].find('/') {
            Some(i) => (&base[..scheme_end + i], &base[scheme_end + i + 1..]),
            None => (base, ""),
        };
        Dsn {
            server: server.to_string(),
            db: db.to_string(),
            query,
        }
    }

    fn with_db(&self, db: &str) -> String {
        format!("{}/{db}{}", self.server, self.query)
    }

    /// `host:port` of the server.
    fn host_port(&self) -> String {
        let rest = &self.server[self.server.find("://").map_or(0, |i| i + 3)..];
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:3306")
        }
    }

    /// The same DSN pointing at another `host:port`.
    fn via(&self, host_port: &str) -> Dsn {
        let start = self.server.find("://").map_or(0, |i| i + 3);
        let rest = &self.server[start..];
        let userinfo = rest.rsplit_once('@').map(|(u, _)| format!("{u}@"));
        Dsn {
            server: format!(
                "{}{}{host_port}",
                &self.server[..start],
                userinfo.unwrap_or_default()
            ),
            db: self.db.clone(),
            query: self.query.clone(),
        }
    }
}

/// The writer and replica DSNs, or `None` (after saying so) when they are not set.
fn env_dsns(test: &str) -> Option<(Dsn, Dsn)> {
    match (
        std::env::var("VOXBIN_TEST_MYSQL_DSN"),
        std::env::var("VOXBIN_TEST_MYSQL_REPLICA_DSN"),
    ) {
        (Ok(writer), Ok(replica)) => Some((Dsn::parse(&writer), Dsn::parse(&replica))),
        _ => {
            println!(
                "skipped {test}: set VOXBIN_TEST_MYSQL_DSN and VOXBIN_TEST_MYSQL_REPLICA_DSN \
                 (scripts/mariadb-replica prints the latter) to run it"
            );
            None
        }
    }
}

/// The test's database name.
fn db_name(writer: &Dsn, test: &str) -> String {
    let base = if writer.db.is_empty() {
        "voxbin_store_test"
    } else {
        writer.db.as_str()
    };
    format!("{base}_replica_{test}")
}

/// Recreates the test's database on the writer and waits until it reached the replica; returns
/// the writer DSN and the replica DSN for it.
async fn fresh_database(writer: &Dsn, replica: &Dsn, test: &str) -> (String, String) {
    let name = db_name(writer, test);
    let writer_dsn = writer.with_db(&name);
    let replica_dsn = replica.with_db(&name);
    let db = Db::connect(&DbOptions::new(writer_dsn.clone()))
        .await
        .unwrap();
    db.writer()
        .execute(AssertSqlSafe(format!("DROP DATABASE `{name}`")))
        .await
        .unwrap();
    db.close().await;
    // Connecting creates the database again; the replica follows: wait until it has applied
    // everything the writer logged so far.
    let db = Db::connect(&DbOptions::new(writer_dsn.clone()))
        .await
        .unwrap();
    let position: String = sqlx::query_scalar("SELECT @@gtid_binlog_pos")
        .fetch_one(db.writer())
        .await
        .unwrap();
    db.close().await;
    let mut conn = sqlx::AnyConnection::connect(&replica.with_db("information_schema"))
        .await
        .unwrap();
    let waited: i64 = sqlx::query_scalar("SELECT CAST(MASTER_GTID_WAIT(?, ?) AS SIGNED)")
        .bind(position.as_str())
        .bind(LAG.as_secs() as i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    assert_eq!(
        waited, 0,
        "the replica did not reach the writer's GTID position {position} within {LAG:?}"
    );
    (writer_dsn, replica_dsn)
}

async fn connect(writer: &str, replica: &str) -> Db {
    let mut opts = DbOptions::new(writer.to_string());
    opts.readers = vec![replica.to_string()];
    opts.connect_timeout = Duration::from_secs(3);
    Db::connect(&opts).await.unwrap()
}

async fn setting(pool: &Pool, key: &str) -> Option<String> {
    sqlx::query_scalar("SELECT value FROM platform_settings WHERE `key` = ?")
        .bind(key)
        .fetch_optional(pool)
        .await
        .unwrap()
}

/// Polls `pool` until `key` holds `want`; returns how long that took.
async fn wait_for_setting(pool: &Pool, key: &str, want: &str) -> Duration {
    let start = Instant::now();
    loop {
        // The table itself may not have replicated yet.
        let got: Option<String> =
            sqlx::query_scalar("SELECT value FROM platform_settings WHERE `key` = ?")
                .bind(key)
                .fetch_optional(pool)
                .await
                .ok()
                .flatten();
        if got.as_deref() == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < LAG,
            "{key} = {want} never reached the replica (last seen {got:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn server_id(pool: &Pool) -> i64 {
    // @@server_id is unsigned, which the Any driver does not decode.
    sqlx::query_scalar("SELECT CAST(@@server_id AS SIGNED)")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn is_writer(db: &Db, pool: &Pool) -> bool {
    std::ptr::eq(pool, db.writer())
}

#[tokio::test]
async fn replica_serves_reads_after_the_lag_and_refuses_writes() {
    let Some((writer, replica)) = env_dsns("replica_reads") else {
        return;
    };
    let (writer_dsn, replica_dsn) = fresh_database(&writer, &replica, "reads").await;
    let db = connect(&writer_dsn, &replica_dsn).await;
    db.ping().await.unwrap();
    let reader = db.reader();
    assert!(!is_writer(&db, reader), "reads go to the replica");
    assert_ne!(
        server_id(db.writer()).await,
        server_id(reader).await,
        "the reader is another server"
    );
    let read_only: i64 = sqlx::query_scalar("SELECT CAST(@@read_only AS SIGNED)")
        .fetch_one(reader)
        .await
        .unwrap();
    assert_eq!(read_only, 1);

    // Migrations run on the writer and replicate.
    assert!(!db.migrate().await.unwrap().is_empty());
    for (i, value) in ["v1", "v2", "v3"].into_iter().enumerate() {
        db.put_setting("k", value).await.unwrap();
        // Read-your-writes through the writer: at once.
        assert_eq!(setting(db.writer(), "k").await.as_deref(), Some(value));
        assert_eq!(
            db.get_setting("k").await.unwrap().as_deref(),
            Some(value),
            "get_setting reads the writer"
        );
        // Through the replica: after the replication lag.
        let lag = wait_for_setting(db.reader(), "k", value).await;
        println!("write {i} reached the replica after {lag:?}");
    }

    // The replica refuses writes, even to a table it has.
    let err =
        sqlx::query("INSERT INTO platform_settings (`key`, value, tm_create) VALUES (?, ?, ?)")
            .bind("on_replica")
            .bind("x")
            .bind("2026-01-01T00:00:00.000000Z")
            .execute(db.reader())
            .await
            .unwrap_err();
    let number = err
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .map(|m| m.number());
    assert_eq!(number, Some(ER_OPTION_PREVENTS_STATEMENT), "{err}");
    assert!(db
        .reader()
        .execute("DELETE FROM platform_settings")
        .await
        .is_err());
    assert_eq!(setting(db.writer(), "k").await.as_deref(), Some("v3"));
    assert_eq!(setting(db.reader(), "on_replica").await, None);
    db.close().await;
}

#[tokio::test]
async fn reads_fall_back_to_the_writer_while_the_replica_is_unreachable() {
    let Some((writer, replica)) = env_dsns("replica_outage") else {
        return;
    };
    let (writer_dsn, _) = fresh_database(&writer, &replica, "outage").await;
    let relay = Relay::start(replica.host_port(), true);
    let relayed = replica.via(&format!("127.0.0.1:{}", relay.port));
    let relayed_dsn = relayed.with_db(&db_name(&writer, "outage"));
    let db = connect(&writer_dsn, &relayed_dsn).await;
    // A second handle that nobody pings: only its background probe notices the outage.
    let quiet = connect(&writer_dsn, &relayed_dsn).await;
    // A third whose reads go through `Db::read`, which falls back on the failed read itself.
    let eager = connect(&writer_dsn, &relayed_dsn).await;
    db.migrate().await.unwrap();
    db.put_setting("k", "before").await.unwrap();
    wait_for_setting(db.reader(), "k", "before").await;
    assert!(!is_writer(&db, db.reader()));
    db.ping().await.unwrap();

    relay.cut();
    // Before any probe ran: the first read meets the dead replica and is retried on the writer.
    let read = eager
        .read(|pool| async move {
            sqlx::query_scalar::<_, String>("SELECT value FROM platform_settings WHERE `key` = ?")
                .bind("k")
                .fetch_optional(pool)
                .await
                .map_err(voxbin_store::map_db_error)
        })
        .await;
    assert_eq!(read.unwrap().as_deref(), Some("before"));
    assert!(
        is_writer(&eager, eager.reader()),
        "the failed reader is skipped now"
    );
    assert!(eager.ping_writer().await.is_ok());
    assert_eq!(eager.readers_down().await.len(), 1);
    eager.close().await;
    // The writer has it; reads through the fallback see it too.
    db.put_setting("k", "during").await.unwrap();
    let err = db.ping().await.unwrap_err();
    assert_eq!(err.reason, DATABASE_UNAVAILABLE);
    let relay_addr = format!("127.0.0.1:{}", relay.port);
    assert!(err.message.contains(&relay_addr), "{}", err.message);
    assert!(err.message.contains("read replica"), "{}", err.message);
    for _ in 0..10 {
        let reader = db.reader();
        assert!(is_writer(&db, reader), "reads fall back to the writer");
        assert_eq!(setting(reader, "k").await.as_deref(), Some("during"));
    }
    assert!(db.ping().await.is_err(), "ping keeps reporting the replica");

    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_writer(&quiet, quiet.reader()) {
        assert!(
            Instant::now() < deadline,
            "the background probe never noticed the replica outage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        setting(quiet.reader(), "k").await.as_deref(),
        Some("during")
    );

    relay.restore();
    for handle in [&db, &quiet] {
        let deadline = Instant::now() + Duration::from_secs(15);
        while is_writer(handle, handle.reader()) {
            assert!(
                Instant::now() < deadline,
                "reads never went back to the replica"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    db.ping().await.unwrap();
    wait_for_setting(db.reader(), "k", "during").await;
    db.close().await;
    quiet.close().await;
}
