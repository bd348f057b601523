//! The extension row and its public shape (`RegistrarManagerExtension`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;

/// The realm (SIP domain) of a customer's extensions.
pub fn realm(customer_id: Uuid, sip_domain: &str) -> String {
    format!("{customer_id}.registrar.{sip_domain}")
}

/// One row of `registrar_extensions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionRow {
    /// Resource id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The SIP user name (the contract's `extension` and `username`).
    pub extension: String,
    /// Digest realm, `<customer_id>.registrar.<sip.domain>`.
    pub realm: String,
    /// Clear SIP password (returned publicly, as VoIPBIN does).
    pub password: String,
    /// MD5(`extension:realm:password`), lower-case hex.
    pub ha1_md5: String,
    /// SHA-256(`extension:realm:password`), lower-case hex.
    pub ha1_sha256: String,
    /// `direct.<hash>` once a direct hash is assigned, else empty.
    pub direct_hash: String,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: String,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
}

impl ExtensionRow {
    /// Decodes a row selected with [`crate::extension::store::COLUMNS`].
    pub fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(ExtensionRow {
            id: row::uuid(r, "id")?,
            customer_id: row::uuid(r, "customer_id")?,
            name: row::text(r, "name")?,
            detail: row::text(r, "detail")?,
            extension: row::text(r, "extension")?,
            realm: row::text(r, "realm")?,
            password: row::text(r, "password")?,
            ha1_md5: row::text(r, "ha1_md5")?,
            ha1_sha256: row::text(r, "ha1_sha256")?,
            direct_hash: row::text(r, "direct_hash")?,
            tm_create: row::text(r, "tm_create")?,
            tm_update: row::text(r, "tm_update")?,
            tm_delete: row::opt_text(r, "tm_delete")?,
        })
    }

    /// The contract's public shape.
    pub fn public(&self) -> Extension {
        Extension {
            id: self.id,
            customer_id: self.customer_id,
            name: self.name.clone(),
            detail: self.detail.clone(),
            extension: self.extension.clone(),
            // VoIPBIN: "Domain name, same as the customer_id" (the realm's first label).
            domain_name: self.customer_id.to_string(),
            username: self.extension.clone(),
            password: self.password.clone(),
            direct_hash: self.direct_hash.clone(),
            tm_create: self.tm_create.clone(),
            tm_update: self.tm_update.clone(),
            tm_delete: self.tm_delete.clone(),
        }
    }

    /// The internal shape for the SIP edge: public fields plus realm and HA1s.
    pub fn auth(&self) -> ExtensionAuth {
        ExtensionAuth {
            extension: self.public(),
            realm: self.realm.clone(),
            ha1_md5: self.ha1_md5.clone(),
            ha1_sha256: self.ha1_sha256.clone(),
        }
    }
}

/// `RegistrarManagerExtension`: what the public API returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Resource id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The SIP extension (user name).
    pub extension: String,
    /// The customer id, as VoIPBIN puts it.
    pub domain_name: String,
    /// Same as `extension`.
    pub username: String,
    /// The SIP password.
    pub password: String,
    /// `direct.<hash>` or empty.
    pub direct_hash: String,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: String,
    /// Deletion time; null while live.
    pub tm_delete: Option<String>,
}

/// The internal answer of `GET /v1/extensions/by_username/{customer_id}/{username}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionAuth {
    /// The public fields.
    #[serde(flatten)]
    pub extension: Extension,
    /// Digest realm.
    pub realm: String,
    /// MD5 HA1, lower-case hex.
    pub ha1_md5: String,
    /// SHA-256 HA1, lower-case hex.
    pub ha1_sha256: String,
}
