//! Reading typed columns out of query rows.
//!
//! Every table follows the data rules of this crate (UUIDs and timestamps as text, flags as
//! integers, JSON as text), so the same few readers decode every service's rows. A value that
//! does not decode means a broken row of our own table: a 500 naming the column, never a panic.

use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;
use voxbin_core::{Error, Result};

/// A text column.
pub fn text(row: &AnyRow, column: &str) -> Result<String> {
    row.try_get::<String, _>(column)
        .map_err(|e| Error::internal(format!("cannot read column {column}: {e}")))
}

/// A nullable text column (such as `tm_update` or `tm_delete`).
pub fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(column)
        .map_err(|e| Error::internal(format!("cannot read column {column}: {e}")))
}

/// An integer column.
pub fn int(row: &AnyRow, column: &str) -> Result<i64> {
    row.try_get::<i64, _>(column)
        .map_err(|e| Error::internal(format!("cannot read column {column}: {e}")))
}

/// A flag stored as an integer (0 is false).
pub fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    int(row, column).map(|v| v != 0)
}

/// A UUID stored as CHAR(36) text.
pub fn uuid(row: &AnyRow, column: &str) -> Result<Uuid> {
    let value = text(row, column)?;
    Uuid::parse_str(value.trim())
        .map_err(|_| Error::internal(format!("column {column} holds a bad UUID: {value:?}")))
}

/// A text column holding serialised JSON.
pub fn json<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let value = text(row, column)?;
    serde_json::from_str(&value)
        .map_err(|e| Error::internal(format!("column {column} holds bad JSON: {e}")))
}

/// A text column holding the bare name of an enum variant (such as `active`).
pub fn variant<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let value = text(row, column)?;
    serde_json::from_value(serde_json::Value::String(value))
        .map_err(|e| Error::internal(format!("column {column} holds a bad value: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::temp_db;
    use sqlx::AssertSqlSafe;

    #[tokio::test]
    async fn columns_decode_or_name_the_column() {
        let (_dir, db) = temp_db().await;
        let id = Uuid::now_v7();
        let sql = format!(
            "SELECT '{id}' AS id, 'x' AS bad, NULL AS gone, 1 AS yes, '[\"a\"]' AS list, \
             'active' AS status"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .fetch_one(db.writer())
            .await
            .unwrap();
        assert_eq!(uuid(&row, "id").unwrap(), id);
        assert_eq!(opt_text(&row, "gone").unwrap(), None);
        assert!(flag(&row, "yes").unwrap());
        assert_eq!(json::<Vec<String>>(&row, "list").unwrap(), vec!["a"]);
        assert_eq!(variant::<String>(&row, "status").unwrap(), "active");
        assert!(uuid(&row, "bad").unwrap_err().message.contains("bad"));
        assert!(text(&row, "missing")
            .unwrap_err()
            .message
            .contains("missing"));
    }
}
