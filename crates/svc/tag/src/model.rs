//! The tag as stored and as answered (contract schema `TagManagerTag`), and the request body
//! of `POST /tags` and `PUT /tags/{id}`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use voxbin_core::{id, Error, Result};

/// Longest `name` accepted (the column is VARCHAR(255)).
const MAX_NAME_CHARS: usize = 255;

/// Longest `detail` accepted; keeps rows small (the column is TEXT).
const MAX_DETAIL_CHARS: usize = 4096;

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

/// Decodes a request body as `T`; 400 naming the offending field (`name: invalid type ...`).
pub fn parse_body<T: DeserializeOwned>(data: Option<&Value>) -> Result<T> {
    let data = data.cloned().unwrap_or(Value::Null);
    if !data.is_object() {
        return Err(Error::invalid_argument(
            "INVALID_BODY",
            "the request body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize(data).map_err(|e| {
        Error::invalid_argument("INVALID_ARGUMENT", format!("{}: {}", e.path(), e.inner()))
    })
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

/// A text field of at most `max` characters.
fn text(field: &str, value: String, max: usize) -> Result<String> {
    if value.chars().count() > max {
        return Err(Error::invalid_argument(
            "INVALID_ARGUMENT",
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(value)
}
