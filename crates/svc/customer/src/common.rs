//! The scope check both services' handlers use (paging input and events come from
//! `voxbin_svc_kit`).

use voxbin_core::{Error, Result};
use voxbin_svc_kit::Scope;

/// Refuses callers scoped to one customer: the route is for the super-admin and services.
pub fn require_all(scope: Scope) -> Result<()> {
    match scope {
        Scope::All => Ok(()),
        Scope::Customer(_) => Err(Error::permission_denied(
            "Only the project super-admin or an internal service may do this.",
        )),
    }
}
