//! What every service is built from.
//!
//! [`Deps`] holds the adapters (the same service code runs embedded and distributed; only
//! the adapters differ). [`Scope`] is the caller identity the API gateway forwards on every
//! RPC, so a service checks ownership again itself (defence in depth).
//!
//! RPC conventions for customer-owned resources (`<r>` is the plural, e.g. `flows`):
//! `GET /v1/<r>?page_size=&page_token=` lists, `POST /v1/<r>` creates, `GET|PUT|DELETE
//! /v1/<r>/{id}` reads, updates, deletes. The scope travels as query parameters
//! `customer_id=<uuid>` (absent only for the project super-admin and internal callers).
//! A row of another customer is reported as not found, never as forbidden, so ids do not leak.
//! Services answer with the contract's public shape of the resource (internal fields removed).
//!
//! Besides, [`body`] reads request bodies so every 400 names its field, [`scoped`] holds the
//! scoped get, list and soft-delete queries of customer-owned tables, and [`page_request`] and
//! [`publish`] are the paging input and a best-effort publish for events that report no stored
//! change. Events about stored changes go through the transactional [`outbox`]; [`http`] is the
//! outbound HTTP client (with its SSRF guard) of flow fetches and webhooks.

pub mod body;
pub mod http;
pub mod outbox;
pub mod scoped;

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use voxbin_bus::{Bus, BusClient, Ctx};
use voxbin_cache::Cache;
use voxbin_core::config::Config;
use voxbin_core::{Error, Result};
use voxbin_store::{Db, PageRequest};

/// Shared handles every service is built from.
#[derive(Clone)]
pub struct Deps {
    /// The message bus.
    pub bus: Arc<dyn Bus>,
    /// The database (writer and readers).
    pub db: Arc<Db>,
    /// The cache.
    pub cache: Arc<dyn Cache>,
    /// Effective configuration.
    pub config: Arc<Config>,
}

impl Deps {
    /// A bus client that calls and publishes as `service`, waiting the configured RPC timeout.
    pub fn client(&self, service: &str) -> BusClient {
        let timeout = Duration::from_millis(self.config.bus.rpc_timeout_ms);
        BusClient::new(self.bus.clone(), service, timeout)
    }
}

/// Whose data a request may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One customer's rows only.
    Customer(Uuid),
    /// Every customer's rows (project super-admin or an internal service).
    All,
}

impl Scope {
    /// Reads the scope from the `customer_id` query parameter of an RPC.
    pub fn from_ctx<S>(ctx: &Ctx<S>) -> Result<Scope> {
        match ctx.query("customer_id") {
            None | Some("") => Ok(Scope::All),
            Some(text) => Uuid::parse_str(text).map(Scope::Customer).map_err(|_| {
                Error::invalid_argument("INVALID_ID", "customer_id is not a valid UUID")
            }),
        }
    }

    /// True when a row owned by `owner` is visible in this scope.
    pub fn allows(&self, owner: Uuid) -> bool {
        match self {
            Scope::Customer(c) => *c == owner,
            Scope::All => true,
        }
    }

    /// The customer, when scoped to one.
    pub fn customer(&self) -> Option<Uuid> {
        match self {
            Scope::Customer(c) => Some(*c),
            Scope::All => None,
        }
    }

    /// The query string suffix that carries this scope on an RPC uri (`customer_id=...` or empty).
    pub fn query(&self) -> String {
        match self {
            Scope::Customer(c) => format!("customer_id={c}"),
            Scope::All => String::new(),
        }
    }
}

/// The `page_size` / `page_token` query parameters of a list RPC; 400 when they are bad.
pub fn page_request<S>(ctx: &Ctx<S>) -> Result<PageRequest> {
    PageRequest::from_query(ctx.query("page_size"), ctx.query("page_token"))
}

/// Publishes an event as `client`'s service. Best effort, for events that report no stored
/// change (stored changes use [`outbox::Outbox`]); a failure is logged, never answered.
pub async fn publish(client: &BusClient, event_type: &str, data: impl Serialize) {
    if let Err(error) = client.publish_event(event_type, data).await {
        tracing::warn!(event_type, %error, "could not publish the event");
    }
}

/// The answer of a create whose insert failed with `error`: when the id was taken and the
/// broker may have delivered this request before (its replica died before acknowledging), the
/// row that delivery made is the answer, read by `made` (the new id, in the caller's scope);
/// otherwise `error`. Creates take their id from [`Ctx::new_id`] for this to hold.
pub async fn made_before<S, T>(
    ctx: &Ctx<S>,
    error: Error,
    made: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    if error.kind == voxbin_core::ErrorKind::AlreadyExists && ctx.may_be_redelivered() {
        if let Ok(row) = made.await {
            tracing::info!(uri = %ctx.request().uri, "redelivered create answered with the row it made");
            return Ok(row);
        }
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_allows_only_its_customer() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert!(Scope::Customer(a).allows(a));
        assert!(!Scope::Customer(a).allows(b));
        assert!(Scope::All.allows(b));
        assert_eq!(Scope::Customer(a).query(), format!("customer_id={a}"));
    }
}

/// Cache keys shared between the gateway, which caches verified credentials, and the services
/// that own them, which evict the entries the moment a credential stops being valid.
pub mod cache_keys {
    use uuid::Uuid;

    /// A verified access key, by the SHA-256 hex of its token.
    pub fn accesskey(token_hash_hex: &str) -> String {
        format!("accesskey:{token_hash_hex}")
    }

    /// The SHA-256 hex of an access key token: what the customer service stores and the
    /// gateway's cache key is made from.
    pub fn accesskey_token_hash(token: &str) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// An agent's authentication record (permission, password change time).
    pub fn agent_auth(agent_id: Uuid) -> String {
        format!("agent-auth:{agent_id}")
    }
}
