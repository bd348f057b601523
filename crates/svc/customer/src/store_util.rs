//! Small helpers shared by the three stores: typed column reads that turn a bad value into a
//! 500 naming the column, instead of a panic.

use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::map_db_error;
use voxbin_store::sqlx::any::AnyRow;
use voxbin_store::sqlx::Row;

/// A text column.
pub fn get_str(row: &AnyRow, column: &str) -> Result<String> {
    row.try_get::<String, _>(column).map_err(map_db_error)
}

/// A nullable text column.
pub fn get_opt_str(row: &AnyRow, column: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(column)
        .map_err(map_db_error)
}

/// An integer column.
pub fn get_i64(row: &AnyRow, column: &str) -> Result<i64> {
    row.try_get::<i64, _>(column).map_err(map_db_error)
}

/// A UUID stored as text.
pub fn get_uuid(row: &AnyRow, column: &str) -> Result<Uuid> {
    let text = get_str(row, column)?;
    Uuid::parse_str(text.trim())
        .map_err(|_| Error::internal(format!("column {column} holds a bad UUID: {text:?}")))
}

/// A JSON value stored as text.
pub fn get_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let text = get_str(row, column)?;
    serde_json::from_str(&text)
        .map_err(|e| Error::internal(format!("column {column} holds bad JSON: {e}")))
}
