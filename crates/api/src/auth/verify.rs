//! Turning a credential into an [`Identity`], with cached look-ups.
//!
//! Access keys are verified by the customer service and login tokens are checked against
//! the agent's record in the agent service; both answers are cached briefly, and the owning
//! service deletes the cache entry when a key is deleted or an agent's tokens are revoked, so
//! revocation is immediate while the hot path stays off the database.

use super::jwt::{self, Claims};
use super::{Credential, Identity, Permission, Via};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use voxbin_bus::{BusClient, Method};
use voxbin_cache::{Cache, CacheExt, CacheKind};
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_svc_kit::cache_keys;

/// How long a verified credential is trusted without asking its service again. The owning
/// services evict entries on delete, password change and logout; the short lifetime bounds
/// what an eviction that failed, or a customer freeze, can leave behind.
const VERIFIED_TTL: Duration = Duration::from_secs(10);

/// What the customer service says about a valid access key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyGrant {
    accesskey_id: Uuid,
    customer_id: Uuid,
    #[serde(default)]
    tm_expire: Option<String>,
}

/// What the agent service says about an agent, for token checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AgentAuth {
    id: Uuid,
    customer_id: Uuid,
    permission: u64,
    #[serde(default)]
    tm_password_update: Option<String>,
    #[serde(default)]
    tm_delete: Option<String>,
}

/// Cache key of a verified access key, by the SHA-256 of the token (the customer service
/// evicts the same key).
pub fn accesskey_cache_key(token: &str) -> String {
    cache_keys::accesskey(&cache_keys::accesskey_token_hash(token))
}

/// Cache key of an agent's auth record (the agent service evicts it on password change/logout).
pub fn agent_cache_key(agent_id: Uuid) -> String {
    cache_keys::agent_auth(agent_id)
}

/// Verifies credentials and issues login tokens.
#[derive(Clone)]
pub struct Authenticator {
    secret: Arc<Vec<u8>>,
    token_ttl: Duration,
    cache: Arc<dyn Cache>,
}

impl Authenticator {
    /// An authenticator signing with `secret`, issuing tokens valid for `token_ttl`.
    pub fn new(secret: Vec<u8>, token_ttl: Duration, cache: Arc<dyn Cache>) -> Self {
        Authenticator {
            secret: Arc::new(secret),
            token_ttl,
            cache,
        }
    }

    /// Issues a login token for an agent.
    pub fn issue(&self, agent_id: Uuid, customer_id: Uuid, permission: u64) -> Result<String> {
        let now_us = chrono::Utc::now().timestamp_micros();
        let now = now_us / 1_000_000;
        let claims = Claims {
            sub: agent_id,
            customer_id,
            permission,
            iat: now,
            iat_us: now_us,
            exp: now + self.token_ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
            kind: "agent".into(),
        };
        jwt::sign(&self.secret, &claims)
    }

    /// Verifies a credential; 401 for anything not valid now.
    pub async fn identify(&self, bus: &BusClient, credential: &Credential) -> Result<Identity> {
        match credential {
            Credential::AccessKey(token) => self.identify_key(bus, token).await,
            Credential::Token(token) => self.identify_token(bus, token).await,
        }
    }

    async fn identify_key(&self, bus: &BusClient, token: &str) -> Result<Identity> {
        let key = accesskey_cache_key(token);
        let grant = match self.cache.get_json::<KeyGrant>(&key).await.ok().flatten() {
            Some(g) => g,
            None => {
                let v = bus
                    .call(
                        "customer",
                        Method::Post,
                        "/v1/accesskeys/verify",
                        Some(json!({ "token": token })),
                    )
                    .await
                    .map_err(as_auth_error)?;
                let g: KeyGrant =
                    serde_json::from_value(v).map_err(|e| Error::internal(e.to_string()))?;
                let _ = self
                    .cache
                    .set_json(CacheKind::Other(VERIFIED_TTL), &key, &g)
                    .await;
                g
            }
        };
        if let Some(exp) = grant.tm_expire.as_deref().filter(|e| !e.is_empty()) {
            if exp <= clock::now().as_str() {
                return Err(Error::unauthenticated("The access key has expired."));
            }
        }
        // Access keys act as the customer's administrator, as in VoIPBIN.
        Ok(Identity {
            customer_id: grant.customer_id,
            permission: Permission::CUSTOMER_ADMIN,
            via: Via::AccessKey {
                id: grant.accesskey_id,
            },
        })
    }

    async fn identify_token(&self, bus: &BusClient, token: &str) -> Result<Identity> {
        let claims = jwt::verify(&self.secret, token, chrono::Utc::now().timestamp())?;
        let key = agent_cache_key(claims.sub);
        let agent = match self.cache.get_json::<AgentAuth>(&key).await.ok().flatten() {
            Some(a) => a,
            None => {
                let v = bus
                    .call(
                        "agent",
                        Method::Get,
                        &format!("/v1/agents/{}/auth", claims.sub),
                        None,
                    )
                    .await
                    .map_err(as_auth_error)?;
                let a: AgentAuth =
                    serde_json::from_value(v).map_err(|e| Error::internal(e.to_string()))?;
                let _ = self
                    .cache
                    .set_json(CacheKind::Other(VERIFIED_TTL), &key, &a)
                    .await;
                a
            }
        };
        if agent.tm_delete.is_some() || agent.customer_id != claims.customer_id {
            return Err(Error::unauthenticated(
                "The token's agent no longer exists.",
            ));
        }
        // Tokens issued before a password change or logout are revoked.
        if let Some(changed) = agent.tm_password_update.as_deref().and_then(clock::parse) {
            if claims.iat_us < changed.timestamp_micros() {
                return Err(Error::unauthenticated("The token has been revoked."));
            }
        }
        Ok(Identity {
            customer_id: agent.customer_id,
            permission: agent.permission,
            via: Via::Token { agent_id: agent.id },
        })
    }
}

/// A 404 or 401 from the verifying service means "not valid"; other failures keep their kind.
fn as_auth_error(e: Error) -> Error {
    match e.kind {
        ErrorKind::NotFound | ErrorKind::Unauthenticated | ErrorKind::InvalidArgument => {
            Error::unauthenticated("The credential is not valid.")
        }
        _ => e,
    }
}
