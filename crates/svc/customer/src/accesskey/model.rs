//! An access key as stored, its public JSON shape, and how tokens are made and hashed.
//!
//! A token is `vb_` + 32 alphanumeric characters from a CSPRNG (about 190 bits). Only its
//! SHA-256 (hex), an 11-character prefix (`vb_` + 8, enough to tell keys apart in a list) and
//! the expiry are stored, so a database leak yields no usable key; the token itself appears
//! once, in the answer to the create request.

use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;

/// Prefix of every access key token.
pub const TOKEN_PREFIX: &str = "vb_";

/// Random characters after the prefix.
pub const TOKEN_RANDOM_LEN: usize = 32;

/// Characters of the token kept in clear for identification.
pub const TOKEN_PREFIX_LEN: usize = 11;

/// One row of `customer_accesskeys` (the hash stays inside the service).
#[derive(Debug, Clone, PartialEq)]
pub struct Accesskey {
    /// Access key id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// SHA-256 of the token, lower-case hex.
    pub token_hash: String,
    /// First [`TOKEN_PREFIX_LEN`] characters of the token.
    pub token_prefix: String,
    /// Expiry; `None` never expires.
    pub tm_expire: Option<String>,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: Option<String>,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
}

impl Accesskey {
    /// Decodes a row selected with [`super::store::COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Accesskey> {
        Ok(Accesskey {
            id: row::uuid(row, "id")?,
            customer_id: row::uuid(row, "customer_id")?,
            name: row::text(row, "name")?,
            detail: row::text(row, "detail")?,
            token_hash: row::text(row, "token_hash")?,
            token_prefix: row::text(row, "token_prefix")?,
            tm_expire: row::opt_text(row, "tm_expire")?,
            tm_create: row::text(row, "tm_create")?,
            tm_update: row::opt_text(row, "tm_update")?,
            tm_delete: row::opt_text(row, "tm_delete")?,
        })
    }

    /// The contract's `CustomerManagerAccesskey` without `token` (every answer but create).
    pub fn to_public(&self) -> Value {
        json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "name": self.name,
            "detail": self.detail,
            "token_prefix": self.token_prefix,
            "tm_expire": self.tm_expire,
            "tm_create": self.tm_create,
            "tm_update": self.tm_update,
            "tm_delete": self.tm_delete,
        })
    }

    /// The public shape plus the plain token: the create answer, the only time it is shown.
    pub fn to_public_with_token(&self, token: &str) -> Value {
        let mut value = self.to_public();
        if let Some(map) = value.as_object_mut() {
            map.insert("token".into(), Value::String(token.to_string()));
        }
        value
    }

    /// True when the key has expired at `now` (a contract timestamp; text order is time order).
    pub fn expired_at(&self, now: &str) -> bool {
        self.tm_expire.as_deref().is_some_and(|t| t <= now)
    }
}

/// A fresh token from the thread-local CSPRNG (ChaCha, seeded from the OS).
pub fn new_token() -> String {
    let random = Alphanumeric.sample_string(&mut rand::rng(), TOKEN_RANDOM_LEN);
    format!("{TOKEN_PREFIX}{random}")
}

/// SHA-256 of a token as lower-case hex: what is stored and looked up.
pub fn hash_token(token: &str) -> String {
    voxbin_svc_kit::cache_keys::accesskey_token_hash(token)
}

/// The part of a token kept in clear.
pub fn token_prefix(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_right_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 35);
        assert!(a.starts_with("vb_"));
        assert!(a[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(token_prefix(&a).len(), 11);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
