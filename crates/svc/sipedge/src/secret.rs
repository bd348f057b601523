//! The secret every edge node of a cluster shares, kept in the shared cache.
//!
//! It signs digest nonces and the flow tokens in Record-Route, so a nonce issued by one node
//! is accepted by another and a route recorded by one is honoured by all. The first node to
//! start stores a random secret with `set_if_absent`; the others read it. Without a reachable
//! cache a node keeps a random secret of its own (correct alone, not across nodes) and adopts
//! the shared one once the cache answers.

use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;
use voxbin_cache::Cache;
use voxbin_core::Result;

/// Cache key of the cluster secret.
const KEY: &str = "sipedge:secret";
/// Life of the stored secret; each node re-stores it when it has expired.
const TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A fresh random secret, hex encoded.
pub fn random_secret() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cluster secret: the stored one, or `fallback` stored as the new one.
pub async fn shared_secret(cache: &Arc<dyn Cache>, fallback: &str) -> Result<String> {
    if let Some(v) = cache.get(KEY).await? {
        if let Ok(s) = String::from_utf8(v) {
            if !s.is_empty() {
                return Ok(s);
            }
        }
    }
    cache
        .set_if_absent(KEY, fallback.as_bytes().to_vec(), TTL)
        .await?;
    // Another node may have won the race: read what is stored now.
    match cache.get(KEY).await? {
        Some(v) => Ok(String::from_utf8(v).unwrap_or_else(|_| fallback.to_string())),
        None => Ok(fallback.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxbin_cache::MemoryCache;

    #[tokio::test]
    async fn two_nodes_end_up_with_one_secret() {
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(10));
        let a = shared_secret(&cache, &random_secret()).await.unwrap();
        let b = shared_secret(&cache, &random_secret()).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }
}
