//! Instance-level facts in `platform_settings` (the instance id, for one).
//!
//! The upsert is written without dialect-specific syntax: UPDATE, and INSERT when no row
//! matched; if a concurrent writer inserted first, the unique violation sends us back to UPDATE.

use sqlx::Row;
use voxbin_core::{clock, ErrorKind, Result};

use crate::error::map_db_error;
use crate::Db;

impl Db {
    /// The value stored under `key`, read from the writer so it sees the latest `put_setting`.
    pub async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM platform_settings WHERE `key` = ?")
            .bind(key)
            .fetch_optional(self.writer())
            .await
            .map_err(map_db_error)?;
        match row {
            Some(row) => Ok(Some(row.try_get("value").map_err(map_db_error)?)),
            None => Ok(None),
        }
    }

    /// Stores `value` under `key`, inserting or replacing it.
    pub async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        if self.update_setting(key, value).await? {
            return Ok(());
        }
        let now = clock::now();
        let inserted = sqlx::query(
            "INSERT INTO platform_settings (`key`, value, tm_create, tm_update) VALUES (?, ?, ?, ?)",
        )
        .bind(key)
        .bind(value)
        .bind(now.as_str())
        .bind(now.as_str())
        .execute(self.writer())
        .await
        .map_err(map_db_error);
        match inserted {
            Ok(_) => Ok(()),
            // Someone inserted the key between our UPDATE and INSERT: the row exists now.
            Err(e) if e.kind == ErrorKind::AlreadyExists => {
                self.update_setting(key, value).await.map(|_| ())
            }
            Err(e) => Err(e),
        }
    }

    /// UPDATE of one setting; whether a row matched.
    async fn update_setting(&self, key: &str, value: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE platform_settings SET value = ?, tm_update = ? WHERE `key` = ?")
                .bind(value)
                .bind(clock::now())
                .bind(key)
                .execute(self.writer())
                .await
                .map_err(map_db_error)?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::temp_db;

    #[tokio::test]
    async fn settings_insert_then_update() {
        let (_dir, db) = temp_db().await;
        db.migrate().await.unwrap();
        assert_eq!(db.get_setting("instance_id").await.unwrap(), None);
        db.put_setting("instance_id", "a").await.unwrap();
        assert_eq!(
            db.get_setting("instance_id").await.unwrap().as_deref(),
            Some("a")
        );
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
    }
}
