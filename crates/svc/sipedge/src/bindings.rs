//! Registration bindings kept in the shared cache, so every edge node sees every phone.
//!
//! One cache entry per address of record (`sipedge:aor:<user>@<realm>`) holds the JSON list of
//! its contacts, each with its own absolute expiry; the entry lives as long as its longest
//! contact. Updates are read-modify-write under a short lock (`set_if_absent`), so two edge
//! nodes handling REGISTERs of one extension at once do not lose a contact. Other roles (the
//! call service finding a phone) read the same entry with [`BindingStore::lookup`].

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use voxbin_cache::{Cache, CacheExt, CacheKind};
use voxbin_core::{Error, ErrorKind, Result};

/// How long an update may hold the lock of one address of record.
const LOCK_TTL: Duration = Duration::from_secs(2);
/// How long to wait for the lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(1);
/// Pause between attempts to take the lock.
const LOCK_RETRY: Duration = Duration::from_millis(5);
/// Extra life of the cache entry past its last contact's expiry.
const ENTRY_SLACK_SECS: u64 = 10;

/// One registered contact of an address of record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    /// The Contact URI as the phone sent it.
    pub uri: String,
    /// Unix time (seconds) the binding ends.
    pub expires_at: u64,
    /// Preference (`q`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<f32>,
    /// Call-ID of the REGISTER that made or last refreshed it.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// `+sip.instance` of the device (RFC 5626), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Where the REGISTER really came from: `<transport>:<ip>:<port>` (reach NATed phones).
    pub received: String,
    /// The edge node (`host:port`) that holds the phone's connection or NAT binding.
    pub edge: String,
    /// The phone's User-Agent, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Route to reach the phone through the edge (like an RFC 3327 Path): the edge's URI with
    /// the flow token of the phone's connection, preloaded as `Route` by whoever calls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Binding {
    /// Seconds left at `now` (0 once expired).
    pub fn remaining(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    contacts: Vec<Binding>,
}

/// The address of record of `user` in `realm`: `user@realm` with the realm in lower case.
pub fn aor(user: &str, realm: &str) -> String {
    format!("{user}@{}", realm.to_ascii_lowercase())
}

/// Reads and updates bindings in the cache.
#[derive(Clone)]
pub struct BindingStore {
    cache: Arc<dyn Cache>,
}

impl BindingStore {
    /// A store over `cache`.
    pub fn new(cache: Arc<dyn Cache>) -> BindingStore {
        BindingStore { cache }
    }

    fn key(aor: &str) -> String {
        format!("sipedge:aor:{aor}")
    }

    /// The live bindings of `aor` at unix time `now`; none when the cache cannot answer.
    pub async fn lookup(&self, aor: &str, now: u64) -> Result<Vec<Binding>> {
        let record: Option<Record> = self.cache.get_json(&Self::key(aor)).await?;
        Ok(record
            .map(|r| {
                r.contacts
                    .into_iter()
                    .filter(|b| b.expires_at > now)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Applies `change` to the live bindings of `aor` under its lock and stores the result;
    /// returns what `change` returned (a change that refuses leaves the list as it was).
    pub async fn update<T>(
        &self,
        aor: &str,
        now: u64,
        change: impl FnOnce(&mut Vec<Binding>) -> T,
    ) -> Result<T> {
        let lock = format!("sipedge:lock:{aor}");
        self.acquire(&lock).await?;
        let result = self.update_locked(aor, now, change).await;
        if let Err(e) = self.cache.delete(&lock).await {
            // The lock's own TTL frees it soon; the update itself is done.
            tracing::warn!(aor, error = %e, "could not release a registration lock");
        }
        result
    }

    async fn update_locked<T>(
        &self,
        aor: &str,
        now: u64,
        change: impl FnOnce(&mut Vec<Binding>) -> T,
    ) -> Result<T> {
        let key = Self::key(aor);
        let mut contacts = self.lookup(aor, now).await?;
        let out = change(&mut contacts);
        contacts.retain(|b| b.expires_at > now);
        match contacts.iter().map(|b| b.expires_at).max() {
            None => self.cache.delete(&key).await?,
            Some(last) => {
                let ttl = Duration::from_secs(last - now + ENTRY_SLACK_SECS);
                self.cache
                    .set_json(CacheKind::Other(ttl), &key, &Record { contacts })
                    .await?
            }
        }
        Ok(out)
    }

    async fn acquire(&self, lock: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            if self
                .cache
                .set_if_absent(lock, b"1".to_vec(), LOCK_TTL)
                .await?
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "REGISTRATION_BUSY",
                    format!("the bindings of {lock} stayed locked"),
                ));
            }
            tokio::time::sleep(LOCK_RETRY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxbin_cache::MemoryCache;

    fn binding(uri: &str, expires_at: u64) -> Binding {
        Binding {
            uri: uri.into(),
            expires_at,
            q: None,
            call_id: "c1".into(),
            cseq: 1,
            instance: None,
            received: "udp:192.0.2.1:5060".into(),
            edge: "127.0.0.1:5060".into(),
            user_agent: None,
            path: None,
        }
    }

    fn store() -> BindingStore {
        BindingStore::new(Arc::new(MemoryCache::new(100)))
    }

    #[tokio::test]
    async fn bindings_round_trip_and_expire_by_contact() {
        let s = store();
        let a = aor("1001", "C1.registrar.voxbin.local");
        assert_eq!(a, "1001@c1.registrar.voxbin.local");
        s.update(&a, 1000, |b| {
            b.push(binding("sip:1001@192.0.2.1:5060", 1060));
            b.push(binding("sip:1001@192.0.2.2:5060", 1600));
        })
        .await
        .unwrap();
        assert_eq!(s.lookup(&a, 1001).await.unwrap().len(), 2);
        assert_eq!(s.lookup(&a, 1100).await.unwrap().len(), 1);
        assert_eq!(s.lookup(&a, 1600).await.unwrap().len(), 0);
    }

    #[tokio::test]
    async fn removing_the_last_contact_deletes_the_entry_and_frees_the_lock() {
        let s = store();
        let a = aor("1002", "c1.registrar.voxbin.local");
        s.update(&a, 1000, |b| b.push(binding("sip:x@192.0.2.1", 2000)))
            .await
            .unwrap();
        let left = s.update(&a, 1001, |b| {
            b.clear();
            b.len()
        });
        assert_eq!(left.await.unwrap(), 0);
        assert!(s.lookup(&a, 1001).await.unwrap().is_empty());
        // The lock was released: the next update does not wait for it to expire.
        let again = tokio::time::timeout(
            Duration::from_millis(500),
            s.update(&a, 1002, |b| b.push(binding("sip:y@192.0.2.1", 2000))),
        );
        again.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn concurrent_updates_of_one_aor_keep_every_contact() {
        let s = store();
        let a = aor("1003", "c1.registrar.voxbin.local");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let s = s.clone();
                let a = a.clone();
                tokio::spawn(async move {
                    s.update(&a, 1000, |b| {
                        b.push(binding(&format!("sip:1003@192.0.2.{i}"), 5000))
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(s.lookup(&a, 1000).await.unwrap().len(), 8);
    }
}
