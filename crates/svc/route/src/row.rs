//! Reading columns out of database rows, with decoding failures as 500s instead of panics.

use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::sqlx::any::AnyRow;
use voxbin_store::sqlx::Row;

/// A text column.
pub fn text(row: &AnyRow, column: &str) -> Result<String> {
    row.try_get::<String, _>(column)
        .map_err(|e| Error::internal(format!("cannot read column {column}: {e}")))
}

/// A nullable text column.
pub fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(column)
        .map_err(|e| Error::internal(format!("cannot read column {column}: {e}")))
}

/// A UUID stored as CHAR(36) text.
pub fn uuid(row: &AnyRow, column: &str) -> Result<Uuid> {
    let value = text(row, column)?;
    Uuid::parse_str(&value)
        .map_err(|_| Error::internal(format!("column {column} holds a bad UUID: {value:?}")))
}

/// A text column holding serialised JSON.
pub fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let value = text(row, column)?;
    serde_json::from_str(&value)
        .map_err(|e| Error::internal(format!("column {column} holds bad JSON: {e}")))
}

/// A BIGINT column.
pub fn int(row: &AnyRow, column: &str) -> Result<i64> {
    row.try_get::<i64, _>(column)
        .map_err(|e| Error::internal(format!("cannot read column {column}: {e}")))
}
