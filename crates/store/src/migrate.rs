//! Schema migrations, one directory per dialect, embedded in the binary.
//!
//! `migrations/sqlite` and `migrations/mysql` hold the same numbered files, written by hand for
//! each engine; [`Db::tables_and_columns`] lets a test prove the two schemas stay in step.

use std::collections::{BTreeMap, HashSet};

use sqlx::migrate::{Migrate, Migrator};
use sqlx::Row;
use voxbin_core::{Error, Result};

use crate::error::{map_db_error, map_migrate_error};
use crate::{Db, Dialect};

/// Migrations for SQLite (embedded mode).
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Migrations for MySQL / MariaDB (distributed mode).
static MYSQL: Migrator = sqlx::migrate!("./migrations/mysql");

/// Name of sqlx's bookkeeping table, left out of introspection.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// How long `migrate` waits for another process to finish migrating (MySQL).
const MIGRATE_LOCK_WAIT_SECS: i64 = 300;

impl Db {
    /// Applies pending migrations on the writer; returns the names (`0001_platform`) applied now.
    pub async fn migrate(&self) -> Result<Vec<String>> {
        let migrator = match self.dialect() {
            Dialect::Sqlite => &SQLITE,
            Dialect::MySql => &MYSQL,
        };
        let mut conn = self.writer().acquire().await.map_err(map_db_error)?;
        // Hold our own lock while listing and applying, so that what we report as "applied now"
        // is exactly what this process applied even when several processes start together.
        // (sqlx's own MySQL lock uses GET_LOCK(name, -1), which MariaDB answers with NULL at
        // once instead of waiting; it is a different name, so nesting cannot deadlock.)
        if self.dialect() == Dialect::MySql {
            let got: Option<i64> = sqlx::query_scalar(
                "SELECT GET_LOCK(CONCAT('voxbin_migrate_', CRC32(DATABASE())), ?)",
            )
            .bind(MIGRATE_LOCK_WAIT_SECS)
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_error)?;
            if got != Some(1) {
                return Err(Error::unavailable(
                    "MIGRATION_LOCKED",
                    format!(
                        "another process held the migration lock for over {MIGRATE_LOCK_WAIT_SECS} s"
                    ),
                ));
            }
        }
        let outcome = async {
            conn.ensure_migrations_table(MIGRATIONS_TABLE).await?;
            let applied: HashSet<i64> = conn
                .list_applied_migrations(MIGRATIONS_TABLE)
                .await?
                .into_iter()
                .map(|m| m.version)
                .collect();
            let pending: Vec<String> = migrator
                .iter()
                .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
                .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
                .collect();
            migrator.run_direct(None, &mut *conn, false).await?;
            Ok::<_, sqlx::migrate::MigrateError>(pending)
        }
        .await;
        if outcome.is_ok() && self.dialect() == Dialect::MySql {
            sqlx::query("SELECT RELEASE_LOCK(CONCAT('voxbin_migrate_', CRC32(DATABASE())))")
                .execute(&mut *conn)
                .await
                .map_err(map_db_error)?;
        }
        match outcome {
            Ok(pending) => {
                for name in &pending {
                    tracing::info!(migration = %name, dialect = %self.dialect(), "migration applied");
                }
                Ok(pending)
            }
            Err(e) => {
                // Closing the session releases the locks the failed run still holds.
                let _ = conn.close().await;
                Err(map_migrate_error(e))
            }
        }
    }

    /// Every table (but sqlx's own) and its columns in declaration order, read from the schema.
    pub async fn tables_and_columns(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT m.name AS table_name, p.name AS column_name \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                   AND m.name <> '_sqlx_migrations' \
                 ORDER BY m.name, p.cid"
            }
            // CAST: information_schema columns may come back as binary strings.
            Dialect::MySql => {
                "SELECT CAST(TABLE_NAME AS CHAR) AS table_name, CAST(COLUMN_NAME AS CHAR) AS column_name \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> '_sqlx_migrations' \
                 ORDER BY TABLE_NAME, ORDINAL_POSITION"
            }
        };
        let rows = sqlx::query(sql)
            .fetch_all(self.writer())
            .await
            .map_err(map_db_error)?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows {
            let table: String = row.try_get("table_name").map_err(map_db_error)?;
            let column: String = row.try_get("column_name").map_err(map_db_error)?;
            out.entry(table).or_default().push(column);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::temp_db;

    /// The migration files of a dialect, by name, in order.
    fn all_migration_names(dialect: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
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
    async fn migrate_is_idempotent() {
        let (_dir, db) = temp_db().await;
        let first = db.migrate().await.unwrap();
        assert_eq!(first, all_migration_names("sqlite"));
        assert_eq!(first[0], "0001_platform");
        assert!(db.migrate().await.unwrap().is_empty());
        let schema = db.tables_and_columns().await.unwrap();
        assert_eq!(
            schema.get("platform_settings").unwrap(),
            &vec!["key", "value", "tm_create", "tm_update"]
        );
        assert!(!schema.contains_key("_sqlx_migrations"));
    }

    #[test]
    fn both_dialects_have_the_same_migrations() {
        let names = |m: &super::Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&super::SQLITE), names(&super::MYSQL));
    }
}
