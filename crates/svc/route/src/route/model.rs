//! The route (`RouteManagerRoute`) and the checks on its fields.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;
use voxbin_svc_kit::body::invalid;

/// The `target` that matches every destination.
pub const TARGET_ALL: &str = "all";

/// Highest accepted `priority`.
pub const MAX_PRIORITY: i64 = i32::MAX as i64;

/// A route: one row of `route_routes` and its public shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Resource id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The provider calls take.
    pub provider_id: Uuid,
    /// Lower is tried first.
    pub priority: i64,
    /// A country calling code ("82") or `all`.
    pub target: String,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: String,
    /// Deletion time; null while live.
    pub tm_delete: Option<String>,
}

impl Route {
    /// Decodes a row selected with [`crate::route::store::COLUMNS`] (optionally prefixed).
    pub fn from_row(r: &AnyRow, prefix: &str) -> Result<Self> {
        let c = |name: &str| format!("{prefix}{name}");
        Ok(Route {
            id: row::uuid(r, &c("id"))?,
            customer_id: row::uuid(r, &c("customer_id"))?,
            name: row::text(r, &c("name"))?,
            detail: row::text(r, &c("detail"))?,
            provider_id: row::uuid(r, &c("provider_id"))?,
            priority: row::int(r, &c("priority"))?,
            target: row::text(r, &c("target"))?,
            tm_create: row::text(r, &c("tm_create"))?,
            tm_update: row::text(r, &c("tm_update"))?,
            tm_delete: row::opt_text(r, &c("tm_delete"))?,
        })
    }
}

/// Checks `target`: `all`, or a country calling code (1 to 3 digits, not starting with 0).
pub fn check_target(field: &str, value: &str) -> Result<()> {
    let code = !value.is_empty()
        && value.len() <= 3
        && value.bytes().all(|b| b.is_ascii_digit())
        && !value.starts_with('0');
    if value == TARGET_ALL || code {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be \"all\" or a country calling code such as \"82\"",
        ))
    }
}

/// Checks `priority`: 0 to 2^31 - 1, lower first.
pub fn check_priority(field: &str, value: i64) -> Result<()> {
    if (0..=MAX_PRIORITY).contains(&value) {
        Ok(())
    } else {
        Err(invalid(field, format!("must be from 0 to {MAX_PRIORITY}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_all_or_country_codes() {
        for good in ["all", "1", "82", "886"] {
            check_target("target", good).unwrap();
        }
        for bad in ["", "ALL", "0", "082", "8821", "+82", "kr"] {
            assert!(check_target("target", bad).is_err(), "{bad}");
        }
    }
}
