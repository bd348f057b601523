//! Database access for every Voxbin service.
//!
//! One [`Db`] per process holds a writer pool and reader pools over SQLite (embedded mode) or
//! MySQL/MariaDB (distributed mode). Queries go through sqlx's `Any` driver with `?`
//! placeholders, so a service writes each query once for both engines. The crate also owns the
//! migrations of both dialects ([`Db::migrate`]), instance settings ([`Db::get_setting`]),
//! cursor paging ([`page`]), typed column reads ([`row`]) and soft delete ([`soft_delete()`],
//! [`LIVE`]).
//!
//! Data rules: ids are UUID v7 text (CHAR(36)); `tm_create`, `tm_update`, `tm_delete` are
//! fixed-width contract timestamps (`voxbin_core::clock`) stored as text so they sort by time on
//! both engines; `tm_delete IS NULL` means live; JSON values are stored as text; tables are
//! named `<service>_<plural>`. Avoid `RETURNING` and dialect-specific upserts.

#![warn(missing_docs)]

mod db;
mod error;
mod migrate;
mod options;
pub mod page;
mod pool;
pub mod row;
mod settings;
mod soft_delete;
#[cfg(test)]
mod testutil;

pub use db::Db;
pub use error::{map_db_error, DATABASE_BUSY, DATABASE_UNAVAILABLE};
pub use options::{redact, DbOptions, Dialect};
pub use page::{page_clause, BindAll, BindValue, Cursor, Page, PageRequest};
pub use pool::{Conn, Held, Opener, Pool, Tx};
pub use soft_delete::{soft_delete, soft_delete_and_set, LIVE};

/// The sqlx version this crate is built on, so services bind and decode with the same types.
pub use sqlx;
