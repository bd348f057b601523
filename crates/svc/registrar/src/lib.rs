//! The registrar service: SIP extensions and SIP trunks, and the credentials the SIP edge
//! checks them with.
//!
//! An extension is a phone or softphone of a customer. It registers in the realm
//! `<customer_id>.registrar.<sip.domain>` with its `extension` as the SIP user name; extensions
//! are unique per customer among live ones. A trunk is a PBX or carrier that sends calls to
//! `<domain_name>.trunk.<sip.domain>`, authenticated by digest (`basic`), by source address
//! (`ip`), or both; trunk names are unique across the platform among live trunks.
//!
//! Passwords: SIP digest needs the clear password or an HA1, and VoIPBIN returns the password
//! in the public shape of both resources, so we store it and return it. Each row also keeps
//! `H(user:realm:password)` in MD5 and SHA-256 (internal columns, never public): the SIP edge
//! reads those through the scope-All RPCs `GET /v1/extensions/by_username/{customer_id}/{username}`
//! and `GET /v1/trunks/by_domain/{domain_name}`, which refuse customer-scoped callers. The call
//! service finds a callee's phones with `GET .../by_username/{customer_id}/{username}/contacts`
//! (the registrations the SIP edge keeps in the shared cache).
//!
//! Public RPCs follow `voxbin_svc_kit`'s conventions: `/v1/extensions` and `/v1/trunks` list and
//! create, `/v1/<r>/{id}` reads, updates and soft-deletes.

mod digest;
mod extension;
mod input;
#[cfg(test)]
mod testutil;
mod trunk;

use std::sync::Arc;
use voxbin_bus::{Method, Router};
use voxbin_svc_kit::Deps;

/// The service name; its RPC queue is `bin-manager.registrar-manager.request`.
pub const SERVICE: &str = "registrar";

/// What every route handler of this service reaches through `Ctx::state`.
pub(crate) struct State {
    /// Database, bus, cache and configuration.
    pub deps: Deps,
}

impl State {
    /// The platform's SIP base domain (`sip.domain`), e.g. `voxbin.local`.
    pub fn sip_domain(&self) -> &str {
        &self.deps.config.sip.domain
    }
}

/// The RPC handler of the registrar service, to serve on `request_queue(SERVICE)`.
pub fn handler(deps: Deps) -> Arc<dyn voxbin_bus::Handler> {
    use extension::handlers as ext;
    use trunk::handlers as tr;
    let router = Router::with_state(SERVICE, State { deps })
        .route(Method::Get, "/v1/extensions", ext::list)
        .route(Method::Post, "/v1/extensions", ext::create)
        .route(Method::Get, "/v1/extensions/{id}", ext::get)
        .route(Method::Put, "/v1/extensions/{id}", ext::update)
        .route(Method::Delete, "/v1/extensions/{id}", ext::delete)
        .route(
            Method::Get,
            "/v1/extensions/by_username/{customer_id}/{username}",
            ext::by_username,
        )
        .route(
            Method::Get,
            "/v1/extensions/by_username/{customer_id}/{username}/contacts",
            extension::contacts::contacts,
        )
        .route(Method::Get, "/v1/trunks", tr::list)
        .route(Method::Post, "/v1/trunks", tr::create)
        .route(Method::Get, "/v1/trunks/{id}", tr::get)
        .route(Method::Put, "/v1/trunks/{id}", tr::update)
        .route(Method::Delete, "/v1/trunks/{id}", tr::delete)
        .route(
            Method::Get,
            "/v1/trunks/by_domain/{domain_name}",
            tr::by_domain,
        );
    Arc::new(router)
}
