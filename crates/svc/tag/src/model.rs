//! The tag as stored and as answered (contract schema `TagManagerTag`), and the request body
//! of `POST /tags` and `PUT /tags/{id}`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_core::{id, Error, Result};
use voxbin_svc_kit::body::{text, MAX_DETAIL_CHARS, MAX_NAME_CHARS};

/// A tag, in the public shape of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// Unique among the owner's live tags.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Created.
    pub tm_create: String,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted; `None` while live.
    pub tm_delete: Option<String>,
}

impl Tag {
    /// A fresh tag of `customer_id` created `now`.
    pub fn new(customer_id: Uuid, info: TagInfo, now: String) -> Tag {
        Tag {
            id: id::new_id(),
            customer_id,
            name: info.name,
            detail: info.detail,
            tm_create: now.clone(),
            tm_update: Some(now),
            tm_delete: None,
        }
    }
}

/// Body of `POST /tags` and `PUT /tags/{id}` (a full replacement); unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub struct TagBody {
    name: Option<String>,
    detail: Option<String>,
}

/// A validated tag body.
#[derive(Debug, Clone)]
pub struct TagInfo {
    /// Not empty.
    pub name: String,
    /// Free text.
    pub detail: String,
}

impl TagBody {
    /// Checks both fields: a name is required, the detail may be empty.
    pub fn validate(self) -> Result<TagInfo> {
        let name = self.name.unwrap_or_default();
        if name.trim().is_empty() {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                "name is required and must not be blank",
            ));
        }
        Ok(TagInfo {
            name: text("name", name, MAX_NAME_CHARS)?,
            detail: text("detail", self.detail.unwrap_or_default(), MAX_DETAIL_CHARS)?,
        })
    }
}
