//! Reading request bodies field by field, so every refusal is a 400 that names the field.
//!
//! serde's derive reports a wrong type without the field's name; these helpers read the JSON
//! object directly and say `name must be a string`. Unknown fields are ignored (the contract's
//! request schemas here are open). `null` counts as absent.

use serde_json::{Map, Value};
use voxbin_bus::Ctx;
use voxbin_core::{Error, Result};

/// Longest accepted `name`, in characters (the column is VARCHAR(255)).
pub const MAX_NAME_CHARS: usize = 255;

/// Longest accepted `detail`, in characters (fits a MySQL TEXT in utf8mb4).
pub const MAX_DETAIL_CHARS: usize = 4096;

/// A 400 `INVALID_ARGUMENT` whose message starts with the field's name.
pub fn invalid(field: &str, problem: &str) -> Error {
    Error::invalid_argument("INVALID_ARGUMENT", format!("{field} {problem}"))
}

/// A request body that is a JSON object.
pub struct Body(Map<String, Value>);

impl Body {
    /// The body of the request; 400 `INVALID_BODY` unless it is a JSON object.
    pub fn from_ctx<S>(ctx: &Ctx<S>) -> Result<Body> {
        match &ctx.request().data {
            Some(Value::Object(map)) => Ok(Body(map.clone())),
            _ => Err(Error::invalid_argument(
                "INVALID_BODY",
                "the request body must be a JSON object",
            )),
        }
    }

    /// The value of `field`, `None` when absent or null.
    fn value(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// An optional string field.
    pub fn opt_str(&self, field: &str) -> Result<Option<String>> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(field, "must be a string")),
        }
    }

    /// A required string field.
    pub fn str(&self, field: &str) -> Result<String> {
        self.opt_str(field)?
            .ok_or_else(|| invalid(field, "is required"))
    }

    /// A required array of strings.
    pub fn str_array(&self, field: &str) -> Result<Vec<String>> {
        match self.value(field) {
            None => Err(invalid(field, "is required")),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(invalid(&format!("{field}[{i}]"), "must be a string")),
                })
                .collect(),
            Some(_) => Err(invalid(field, "must be an array of strings")),
        }
    }
}

/// Checks a display `name`: at most [`MAX_NAME_CHARS`] characters, no control characters.
pub fn check_name(field: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            field,
            &format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks a free-text `detail`: at most [`MAX_DETAIL_CHARS`] characters.
pub fn check_detail(field: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_DETAIL_CHARS {
        return Err(invalid(
            field,
            &format!("must be at most {MAX_DETAIL_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Checks a SIP password: 1 to 128 characters, no control characters (they cannot be typed
/// into a phone and would corrupt the digest input).
pub fn check_password(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().count() > 128 {
        return Err(invalid(field, "must be at most 128 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks a SIP user name: 1 to 64 characters of `A-Z a-z 0-9 . _ ~ + -` (the unreserved user
/// part of a SIP URI that needs no escaping, and no `:` that would blur the HA1 input).
pub fn check_sip_user(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 {
        return Err(invalid(field, "must be 1 to 64 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'-'))
    {
        return Err(invalid(
            field,
            "may contain only letters, digits and . _ ~ + -",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_user_names_are_plain_uri_user_parts() {
        for good in ["1001", "alice", "a.b_c~d+e-f", "X"] {
            check_sip_user("extension", good).unwrap();
        }
        for bad in ["", "a:b", "a b", "a@b", "é", &"1".repeat(65)] {
            let err = check_sip_user("extension", bad).unwrap_err();
            assert!(err.message.starts_with("extension"), "{bad}: {err}");
        }
    }

    #[test]
    fn passwords_are_non_empty_printable() {
        check_password("password", "s3cur3P@ss word").unwrap();
        for bad in ["", "a\nb", &"x".repeat(129)] {
            assert!(check_password("password", bad).is_err(), "{bad:?}");
        }
    }
}
