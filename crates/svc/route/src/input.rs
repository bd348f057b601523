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

    /// A required integer (a JSON number without fraction that fits in 64 bits).
    pub fn i64(&self, field: &str) -> Result<i64> {
        match self.value(field) {
            None => Err(invalid(field, "is required")),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| invalid(field, "must be an integer")),
        }
    }

    /// A required JSON object.
    pub fn object(&self, field: &str) -> Result<&Map<String, Value>> {
        match self.value(field) {
            None => Err(invalid(field, "is required")),
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(invalid(field, "must be an object")),
        }
    }

    /// A required UUID given as a string.
    pub fn uuid(&self, field: &str) -> Result<uuid::Uuid> {
        let text = self.str(field)?;
        uuid::Uuid::parse_str(&text).map_err(|_| invalid(field, "must be a UUID"))
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
