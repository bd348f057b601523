//! Where a customer's webhooks go, asked of customer-manager (which owns customers) and cached
//! with the configuration TTL; a `customer_updated` or `customer_deleted` event drops the entry.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_bus::{BusClient, Method};
use voxbin_cache::{Cache, CacheExt, CacheKind};
use voxbin_core::{ErrorKind, Result};

/// A customer's webhook settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// HTTP method (empty: POST).
    pub webhook_method: String,
    /// Target URL (empty: the customer takes no webhooks).
    pub webhook_uri: String,
    /// Signing key (empty: deliveries are not signed).
    pub webhook_secret: String,
}

impl Target {
    /// The method to use.
    pub fn method(&self) -> &str {
        if self.webhook_method.is_empty() {
            "POST"
        } else {
            &self.webhook_method
        }
    }
}

/// Looks targets up, through the cache.
#[derive(Clone)]
pub struct Targets {
    client: BusClient,
    cache: Arc<dyn Cache>,
}

fn key(customer: Uuid) -> String {
    format!("webhook-target:{customer}")
}

impl Targets {
    /// Asks customer-manager through `client`, caching in `cache`.
    pub fn new(client: BusClient, cache: Arc<dyn Cache>) -> Targets {
        Targets { client, cache }
    }

    /// The customer's target; `None` when the customer is not (or no longer) live.
    pub async fn of(&self, customer: Uuid) -> Result<Option<Target>> {
        let key = key(customer);
        match self.cache.get_json::<Target>(&key).await {
            Ok(Some(t)) => return Ok(Some(t)),
            Ok(None) => {}
            // A cache outage costs a lookup, not a delivery.
            Err(e) => tracing::debug!(%customer, error = %e, "webhook target cache unavailable"),
        }
        let uri = format!("/v1/customers/{customer}/webhook");
        let target: Target = match self
            .client
            .call_as("customer", Method::Get, &uri, None)
            .await
        {
            Ok(t) => t,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Err(e) = self.cache.set_json(CacheKind::Config, &key, &target).await {
            tracing::debug!(%customer, error = %e, "cannot cache the webhook target");
        }
        Ok(Some(target))
    }

    /// Drops the cached target (the customer changed).
    pub async fn forget(&self, customer: Uuid) {
        if let Err(e) = self.cache.delete(&key(customer)).await {
            tracing::warn!(%customer, error = %e, "cannot drop a cached webhook target");
        }
    }
}
