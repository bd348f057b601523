//! The store against MySQL/MariaDB: migrations, paging, soft delete, settings, and the schema
//! kept in step with SQLite.
//!
//! Runs only when `VOXBIN_TEST_MYSQL_DSN` is set, e.g.
//! `VOXBIN_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/voxbin_store_test cargo test -p voxbin-store --test mysql`.
//! Each test works in its own database, `<db>_<test>`, dropped and recreated at the start.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Executor, Row};
use uuid::Uuid;
use voxbin_core::clock;
use voxbin_store::{
    page_clause, soft_delete, BindAll, Db, DbOptions, Dialect, Page, PageRequest, LIVE,
};

/// The DSN of a fresh database for one test, or `None` (after saying so) when MySQL is not set up.
fn dsn_for(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("VOXBIN_TEST_MYSQL_DSN") else {
        println!("skipped {test}: set VOXBIN_TEST_MYSQL_DSN (e.g. mysql://root@127.0.0.1:3306/voxbin_store_test) to run it");
        return None;
    };
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (base, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let (server, db) = match base[scheme_end..].find('/') {
        Some(i) => (&base[..scheme_end + i], &base[scheme_end + i + 1..]),
        None => (base.as_str(), ""),
    };
    let db = if db.is_empty() {
        "voxbin_store_test"
    } else {
        db
    };
    Some(format!("{server}/{db}_{test}{query}"))
}

/// Connects to an empty database named after the test.
async fn fresh_db(test: &str) -> Option<Db> {
    let dsn = dsn_for(test)?;
    let db = Db::connect(&DbOptions::new(dsn.clone())).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(db.writer())
        .await
        .unwrap();
    db.writer()
        .execute(AssertSqlSafe(format!("DROP DATABASE `{name}`")))
        .await
        .unwrap();
    db.close().await;
    let db = Db::connect(&DbOptions::new(dsn)).await.unwrap();
    assert_eq!(db.dialect(), Dialect::MySql);
    Some(db)
}

/// The MySQL migration files, by name, in order.
fn all_migration_names() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/mysql");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".sql")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn mysql_migrate_is_idempotent() {
    let Some(db) = fresh_db("migrate").await else {
        return;
    };
    assert_eq!(db.migrate().await.unwrap(), all_migration_names());
    assert!(db.migrate().await.unwrap().is_empty());
    let schema = db.tables_and_columns().await.unwrap();
    assert_eq!(
        schema["platform_settings"],
        vec!["key", "value", "tm_create", "tm_update"]
    );
    assert!(!schema.contains_key("_sqlx_migrations"));
    db.ping().await.unwrap();
}

#[tokio::test]
async fn mysql_concurrent_migrations_report_each_migration_once() {
    let Some(db) = fresh_db("migrate_race").await else {
        return;
    };
    let other = Db::connect(&DbOptions::new(dsn_for("migrate_race").unwrap()))
        .await
        .unwrap();
    let (a, b) = tokio::join!(db.migrate(), other.migrate());
    let mut all = a.unwrap();
    all.extend(b.unwrap());
    all.sort();
    assert_eq!(all, all_migration_names());
}

#[tokio::test]
async fn sqlite_and_mysql_schemas_have_the_same_tables_and_columns() {
    let Some(mysql) = fresh_db("schema").await else {
        return;
    };
    mysql.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite_dsn = format!("sqlite://{}", dir.path().join("schema.db").display());
    let sqlite = Db::connect(&DbOptions::new(sqlite_dsn)).await.unwrap();
    sqlite.migrate().await.unwrap();
    assert_eq!(
        sqlite.tables_and_columns().await.unwrap(),
        mysql.tables_and_columns().await.unwrap()
    );
}

#[tokio::test]
async fn mysql_paging_yields_every_row_once_in_order_despite_equal_timestamps() {
    let Some(db) = fresh_db("paging").await else {
        return;
    };
    db.writer()
        .execute(
            "CREATE TABLE test_items (id CHAR(36) NOT NULL PRIMARY KEY, \
             tm_create VARCHAR(32) NOT NULL, tm_delete VARCHAR(32) NULL, \
             INDEX idx_test_items_tm_create (tm_create, id))",
        )
        .await
        .unwrap();
    let base = clock::parse("2026-01-15T09:30:00.000000Z").unwrap();
    let mut expected = Vec::new();
    for i in 0..250i64 {
        // Groups of 4 rows share a timestamp, so ties must be broken by the id.
        let tm = clock::format(base + chrono::TimeDelta::seconds(i / 4));
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO test_items (id, tm_create) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(tm.as_str())
            .execute(db.writer())
            .await
            .unwrap();
        expected.push((tm, id));
    }
    expected.sort_by(|a, b| b.cmp(a));

    for page_size in [1u32, 7, 100] {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let size = page_size.to_string();
            let req = PageRequest::from_query(Some(&size), Some(&token)).unwrap();
            let (clause, binds) = page_clause(&req);
            let sql = format!("SELECT id, tm_create FROM test_items WHERE {LIVE}{clause}");
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind_all(binds)
                .fetch_all(db.reader())
                .await
                .unwrap();
            let rows: Vec<(String, Uuid)> = rows
                .iter()
                .map(|r| {
                    let id: String = r.get("id");
                    (r.get("tm_create"), Uuid::parse_str(&id).unwrap())
                })
                .collect();
            let page = Page::from_rows(rows, req.size, |r| r.clone());
            assert!(page.result.len() <= page_size as usize);
            seen.extend(page.result);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen, expected, "page size {page_size}");
    }

    // A bare VoIPBIN timestamp returns the rows strictly older than it.
    let (tm, _) = &expected[10];
    let req = PageRequest::from_query(Some("1000"), Some(tm)).unwrap();
    let (clause, binds) = page_clause(&req);
    let sql = format!("SELECT id FROM test_items WHERE {LIVE}{clause}");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind_all(binds)
        .fetch_all(db.reader())
        .await
        .unwrap();
    assert_eq!(rows.len(), expected.iter().filter(|(t, _)| t < tm).count());
}

#[tokio::test]
async fn mysql_soft_delete_hides_the_row_once() {
    let Some(db) = fresh_db("soft_delete").await else {
        return;
    };
    db.writer()
        .execute(
            "CREATE TABLE test_things (id CHAR(36) NOT NULL PRIMARY KEY, customer_id CHAR(36) NOT NULL, \
             tm_create VARCHAR(32) NOT NULL, tm_update VARCHAR(32) NULL, tm_delete VARCHAR(32) NULL)",
        )
        .await
        .unwrap();
    let (id, customer, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    sqlx::query("INSERT INTO test_things (id, customer_id, tm_create) VALUES (?, ?, ?)")
        .bind(id.to_string())
        .bind(customer.to_string())
        .bind(clock::now())
        .execute(db.writer())
        .await
        .unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM test_things WHERE id = ? AND {LIVE}"
        )))
        .bind(id.to_string())
        .fetch_one(db.writer())
        .await
        .unwrap()
    };
    assert_eq!(count().await, 1);
    assert!(!soft_delete(db.writer(), "test_things", id, Some(other))
        .await
        .unwrap());
    assert_eq!(count().await, 1);
    assert!(soft_delete(db.writer(), "test_things", id, Some(customer))
        .await
        .unwrap());
    assert_eq!(count().await, 0);
    assert!(
        !soft_delete(db.writer(), "test_things", id, None)
            .await
            .unwrap(),
        "second delete"
    );
}

#[tokio::test]
async fn mysql_settings_upsert_survives_concurrent_writers() {
    let Some(db) = fresh_db("settings").await else {
        return;
    };
    db.migrate().await.unwrap();
    assert_eq!(db.get_setting("instance_id").await.unwrap(), None);
    db.put_setting("instance_id", "a").await.unwrap();
    db.put_setting("instance_id", "b").await.unwrap();
    db.put_setting("instance_id", "b").await.unwrap();
    assert_eq!(
        db.get_setting("instance_id").await.unwrap().as_deref(),
        Some("b")
    );
    assert_eq!(
        db.get_setting("Instance_ID").await.unwrap(),
        None,
        "keys are case-sensitive"
    );

    // Many writers racing to create the same key: every call succeeds, one value wins.
    let values: Vec<String> = (0..8).map(|i| format!("v{i}")).collect();
    let tasks: Vec<_> = values
        .iter()
        .map(|v| {
            let (db, v) = (db.clone(), v.clone());
            tokio::spawn(async move { db.put_setting("raced", &v).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let won = db.get_setting("raced").await.unwrap().unwrap();
    assert!(values.contains(&won), "{won}");
}

#[tokio::test]
async fn mysql_write_then_read_through_reader_pools() {
    let Some(db) = fresh_db("readers").await else {
        return;
    };
    db.close().await;
    let dsn = dsn_for("readers").unwrap();
    // The same server stands in for two replicas, to exercise the round robin.
    let mut opts = DbOptions::new(dsn.clone());
    opts.readers = vec![dsn.clone(), dsn];
    let db = Db::connect(&opts).await.unwrap();
    db.ping().await.unwrap();
    db.migrate().await.unwrap();
    db.put_setting("k", "v").await.unwrap();
    let mut pools = HashSet::new();
    for _ in 0..4 {
        let reader = db.reader();
        pools.insert(reader as *const _ as usize);
        let v: String = sqlx::query_scalar("SELECT value FROM platform_settings WHERE `key` = ?")
            .bind("k")
            .fetch_one(reader)
            .await
            .unwrap();
        assert_eq!(v, "v");
    }
    assert_eq!(pools.len(), 2, "round robin over both readers");
    assert!(!pools.contains(&(db.writer() as *const _ as usize)));
}
