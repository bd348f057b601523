//! Where an extension's phones are: its live registrations, as the SIP edge keeps them in the
//! shared cache (`voxbin_svc_sipedge::bindings`), for the call service dialling it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use voxbin_bus::Ctx;
use voxbin_core::{Error, Result};
use voxbin_svc_sipedge::bindings::{aor, Binding, BindingStore};

use super::handlers::internal_only;
use super::model::Extension;
use super::store;
use crate::State;

/// An extension with its realm and live contacts.
#[derive(Debug, Serialize)]
pub struct Contacts {
    /// The extension (public fields).
    pub extension: Extension,
    /// Its realm, `<customer_id>.registrar.<sip.domain>`.
    pub realm: String,
    /// Its live registered contacts, each with the path to reach it through the edge.
    pub contacts: Vec<Binding>,
}

/// `GET /v1/extensions/by_username/{customer_id}/{username}/contacts` (internal, scope All):
/// the live extension and its registered contacts; 404 when there is no such extension.
pub async fn contacts(ctx: Ctx<State>) -> Result<Contacts> {
    internal_only(&ctx)?;
    let customer_id = ctx.param_uuid("customer_id")?;
    let username = ctx.param("username")?;
    let deps = &ctx.state().deps;
    let row = store::by_username(deps.db.writer(), customer_id, username)
        .await?
        .ok_or_else(|| Error::not_found("extension"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let bindings = BindingStore::new(deps.cache.clone())
        .lookup(&aor(&row.extension, &row.realm), now)
        .await?;
    Ok(Contacts {
        extension: row.public(),
        realm: row.realm.clone(),
        contacts: bindings,
    })
}
