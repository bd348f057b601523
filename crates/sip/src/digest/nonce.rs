//! Stateless nonces: a timestamp and random bytes signed with HMAC-SHA256 under a shared
//! secret, so any edge node holding the secret checks a nonce made by another, and a nonce
//! past its age is told apart from a forged one (stale vs invalid).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Timestamp (8) + random (8) + truncated MAC (16).
const NONCE_BYTES: usize = 32;
/// How far in the future a node's clock may be and its nonces still count.
const CLOCK_SKEW_SECS: u64 = 30;

/// What a presented nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Signed by us and fresh.
    Valid,
    /// Signed by us but older than the allowed age: challenge again with `stale=true`.
    Stale,
    /// Not ours, garbled, or from the future.
    Invalid,
}

/// Issues and checks nonces under a shared secret.
#[derive(Clone)]
pub struct NonceSigner {
    mac: Hmac<Sha256>,
    max_age: Duration,
}

impl std::fmt::Debug for NonceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceSigner")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl NonceSigner {
    /// A signer with the cluster-wide `secret` and the nonce lifetime.
    pub fn new(secret: &[u8], max_age: Duration) -> NonceSigner {
        // HMAC takes keys of any length, so this cannot fail
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| {
            <Hmac<Sha256> as KeyInit>::new_from_slice(&[0u8; 32]).expect("fixed key")
        });
        NonceSigner { mac, max_age }
    }

    /// A fresh nonce stamped with `now_unix` (seconds since the epoch).
    pub fn issue(&self, now_unix: u64) -> String {
        let mut raw = [0u8; NONCE_BYTES];
        raw[..8].copy_from_slice(&now_unix.to_be_bytes());
        rand::rng().fill_bytes(&mut raw[8..16]);
        let tag = self.sign(&raw[..16]);
        raw[16..].copy_from_slice(&tag[..16]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks a nonce presented at `now_unix`.
    pub fn check(&self, nonce: &str, now_unix: u64) -> NonceState {
        let mut raw = [0u8; NONCE_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(nonce.as_bytes(), &mut raw) {
            Ok(NONCE_BYTES) => {}
            _ => return NonceState::Invalid,
        }
        let tag = self.sign(&raw[..16]);
        if !constant_time_eq(&tag[..16], &raw[16..]) {
            return NonceState::Invalid;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        let issued = u64::from_be_bytes(ts);
        if issued > now_unix.saturating_add(CLOCK_SKEW_SECS) {
            return NonceState::Invalid;
        }
        if now_unix.saturating_sub(issued) > self.max_age.as_secs() {
            NonceState::Stale
        } else {
            NonceState::Valid
        }
    }

    /// HMAC-SHA256 of `data`.
    fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// Compares without an early exit, so timing does not reveal the matching prefix.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_node_with_the_same_secret_accepts_the_nonce() {
        let a = NonceSigner::new(b"cluster secret", Duration::from_secs(300));
        let b = NonceSigner::new(b"cluster secret", Duration::from_secs(300));
        let n = a.issue(1_000_000);
        assert_eq!(b.check(&n, 1_000_100), NonceState::Valid);
        assert_eq!(b.check(&n, 1_000_301), NonceState::Stale);
        assert_ne!(a.issue(1_000_000), n, "random part differs");
    }

    #[test]
    fn forged_or_foreign_nonces_are_invalid() {
        let a = NonceSigner::new(b"secret a", Duration::from_secs(300));
        let b = NonceSigner::new(b"secret b", Duration::from_secs(300));
        let n = a.issue(1_000_000);
        assert_eq!(b.check(&n, 1_000_000), NonceState::Invalid);
        assert_eq!(a.check("", 1_000_000), NonceState::Invalid);
        assert_eq!(a.check("!!!", 1_000_000), NonceState::Invalid);
        assert_eq!(a.check(&n[..n.len() - 1], 1_000_000), NonceState::Invalid);
        // issued far in the future
        assert_eq!(a.check(&a.issue(2_000_000), 1_000_000), NonceState::Invalid);
        let mut bytes = URL_SAFE_NO_PAD.decode(&n).unwrap();
        bytes[0] ^= 1;
        assert_eq!(
            a.check(&URL_SAFE_NO_PAD.encode(bytes), 1_000_000),
            NonceState::Invalid
        );
    }
}
