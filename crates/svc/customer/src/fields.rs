//! Reading JSON request bodies field by field.
//!
//! serde's messages for a mistyped field do not name the field when a body is decoded from a
//! `Value`, and the contract wants every 400 to say which field is wrong; so bodies are read
//! as objects and each field is taken with a typed getter. Unknown fields are ignored (none of
//! the request schemas these services implement is closed). A JSON `null` reads as absent.

use serde_json::{Map, Value};
use voxbin_core::{Error, Result};

/// A request body: a JSON object (a missing body reads as an empty one).
pub struct Body(Map<String, Value>);

/// A 400 `INVALID_ARGUMENT` naming `field`.
pub fn invalid(field: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid_argument("INVALID_ARGUMENT", format!("{field} {what}"))
}

impl Body {
    /// Wraps a request body; anything but an object or `null` is refused.
    pub fn new(data: Option<&Value>) -> Result<Body> {
        match data {
            None | Some(Value::Null) => Ok(Body(Map::new())),
            Some(Value::Object(map)) => Ok(Body(map.clone())),
            Some(_) => Err(Error::invalid_argument(
                "INVALID_BODY",
                "the request body must be a JSON object",
            )),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// True when the field is present (and not `null`).
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// An optional string field.
    pub fn opt_str(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(field, "must be a string")),
        }
    }

    /// A required string field.
    pub fn req_str(&self, field: &str) -> Result<String> {
        self.opt_str(field)?
            .ok_or_else(|| invalid(field, "is required"))
    }

    /// An optional string field of at most `max` characters.
    pub fn opt_str_max(&self, field: &str, max: usize) -> Result<Option<String>> {
        let value = self.opt_str(field)?;
        if let Some(text) = &value {
            if text.chars().count() > max {
                return Err(invalid(field, format!("must be at most {max} characters")));
            }
        }
        Ok(value)
    }

    /// An optional integer field.
    pub fn opt_i64(&self, field: &str) -> Result<Option<i64>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| invalid(field, "must be a whole number")),
            Some(_) => Err(invalid(field, "must be a whole number")),
        }
    }

    /// An optional boolean field.
    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(field, "must be true or false")),
        }
    }

    /// An optional array field.
    pub fn opt_array(&self, field: &str) -> Result<Option<Vec<Value>>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(_) => Err(invalid(field, "must be an array")),
        }
    }

    /// An optional UUID field given as a string.
    pub fn opt_uuid(&self, field: &str) -> Result<Option<uuid::Uuid>> {
        match self.opt_str(field)? {
            None => Ok(None),
            Some(text) => voxbin_core::id::parse_id(field, &text).map(Some),
        }
    }
}

/// Longest name, detail, address or similar free text we keep.
pub const MAX_TEXT: usize = 10_000;

/// Longest single-line value (email, phone number, username).
pub const MAX_LINE: usize = 255;

/// Checks a webhook URI: empty, or an absolute http(s) URL with a host and no spaces.
pub fn check_webhook_uri(field: &str, uri: &str) -> Result<()> {
    if uri.is_empty() {
        return Ok(());
    }
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"));
    let ok = match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty()
                && !host.starts_with(':')
                && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
                && uri.len() <= 2048
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be an http:// or https:// URL, or empty",
        ))
    }
}

/// Checks a webhook method against the contract's enum (`""`, POST, GET, PUT, DELETE).
pub fn check_webhook_method(field: &str, method: &str) -> Result<()> {
    if ["", "POST", "GET", "PUT", "DELETE"].contains(&method) {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be one of \"\", POST, GET, PUT, DELETE",
        ))
    }
}

/// Checks an email address loosely: empty, or `local@domain` on one line.
pub fn check_email(field: &str, email: &str) -> Result<()> {
    if email.is_empty() {
        return Ok(());
    }
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if ok && email.len() <= MAX_LINE {
        Ok(())
    } else {
        Err(invalid(field, "must be an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn getters_name_the_field() {
        let body = Body::new(Some(&json!({"name": 5, "expire": "x", "ok": true}))).unwrap();
        assert!(body.opt_str("name").unwrap_err().message.contains("name"));
        assert!(body
            .opt_i64("expire")
            .unwrap_err()
            .message
            .contains("expire"));
        assert_eq!(body.opt_bool("ok").unwrap(), Some(true));
        assert_eq!(body.opt_str("missing").unwrap(), None);
        assert!(Body::new(Some(&json!([1]))).is_err());
        assert!(Body::new(None).is_ok());
    }

    #[test]
    fn webhook_uri_and_email_rules() {
        for good in ["", "http://a.example", "https://a.example/x?y=1"] {
            check_webhook_uri("webhook_uri", good).unwrap();
        }
        for bad in [
            "ftp://a",
            "https://",
            "a.example",
            "https://a b",
            "javascript:x",
        ] {
            assert!(check_webhook_uri("webhook_uri", bad).is_err(), "{bad}");
        }
        check_email("email", "a@b.example").unwrap();
        assert!(check_email("email", "nope").is_err());
        assert!(check_webhook_method("webhook_method", "PATCH").is_err());
    }
}
