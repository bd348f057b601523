//! Turning sqlx errors into the shared [`Error`] model.
//!
//! Services call [`map_db_error`] on every failed query so that a duplicate key becomes a 409,
//! a dead database a 503 (and `/ready` turns red), and everything else a 500.

use voxbin_core::{Error, ErrorKind};

/// Reason of every error that means "the database cannot be reached right now".
pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";

/// Reason of a write that lost a lock race (SQLite busy, MySQL deadlock or lock wait timeout).
pub const DATABASE_BUSY: &str = "DATABASE_BUSY";

/// Maps a sqlx error to an [`Error`]: unique violation -> 409, unreachable or busy -> 503, else 500.
pub fn map_db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return Error::new(
                    ErrorKind::AlreadyExists,
                    "ALREADY_EXISTS",
                    "A resource with the same identity already exists.",
                );
            }
            if db.is_foreign_key_violation() {
                return Error::new(
                    ErrorKind::FailedPrecondition,
                    "FOREIGN_KEY_VIOLATION",
                    "The resource refers to, or is referred to by, another resource.",
                );
            }
            if is_busy(db.as_ref()) {
                return Error::unavailable(DATABASE_BUSY, format!("database busy: {db}"));
            }
            Error::internal(format!("database error: {e}"))
        }
        sqlx::Error::RowNotFound => Error::new(ErrorKind::NotFound, "NOT_FOUND", "Not found."),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => {
            Error::unavailable(DATABASE_UNAVAILABLE, format!("database unavailable: {e}"))
        }
        _ => Error::internal(format!("database error: {e}")),
    }
}

/// A lost lock race worth retrying: SQLITE_BUSY / SQLITE_LOCKED (any extended code), MySQL lock
/// wait timeout (1205) or deadlock (1213).
fn is_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(m) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(m.number(), 1205 | 1213);
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let primary = db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|n| n & 0xff);
        return matches!(primary, Some(5 | 6));
    }
    false
}

/// Maps an error raised while migrating: unreachable database -> 503, anything else -> 500
/// `MIGRATION_FAILED` (a broken or edited migration must stop the process, not be retried).
pub(crate) fn map_migrate_error(e: sqlx::migrate::MigrateError) -> Error {
    if let sqlx::migrate::MigrateError::Execute(inner) = e {
        let mapped = map_db_error(inner);
        if mapped.kind == ErrorKind::Unavailable {
            return mapped;
        }
        return Error::new(ErrorKind::Internal, "MIGRATION_FAILED", mapped.message);
    }
    Error::new(
        ErrorKind::Internal,
        "MIGRATION_FAILED",
        format!("migration failed: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        let e = map_db_error(sqlx::Error::PoolTimedOut);
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert_eq!(e.reason, DATABASE_UNAVAILABLE);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            map_db_error(sqlx::Error::Io(io)).kind,
            ErrorKind::Unavailable
        );
    }
}
