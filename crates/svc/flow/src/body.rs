//! Reading request bodies field by field, so every refusal names the field at fault.
//!
//! Bodies arrive as untrusted JSON. Decoding them with `serde` into a struct would report
//! errors as "invalid type at line 1 column 37"; reading the object by hand lets each message
//! start with the field (`name: must be a string`), as the API promises. Unknown fields are
//! ignored because the contract's request schemas are open.

use serde_json::{Map, Value};
use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::{Error, Result};

/// Reason of a body field with a wrong type or value.
pub(crate) const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";

/// A 400 `INVALID_ARGUMENT` whose message starts with `field`.
pub(crate) fn invalid(field: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid_argument(INVALID_ARGUMENT, format!("{field}: {message}"))
}

/// A request body that is a JSON object.
pub(crate) struct Body(Map<String, Value>);

impl Body {
    /// The body of the request; anything but an object is refused.
    pub(crate) fn from_ctx<S>(ctx: &Ctx<S>) -> Result<Body> {
        match &ctx.request().data {
            Some(Value::Object(map)) => Ok(Body(map.clone())),
            _ => Err(Error::invalid_argument(
                "INVALID_BODY",
                "the request body must be a JSON object",
            )),
        }
    }

    /// The raw value of `field`; `null` counts as absent.
    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// A required value: absent or `null` is refused.
    pub(crate) fn required(&self, field: &str) -> Result<&Value> {
        self.get(field).ok_or_else(|| invalid(field, "is required"))
    }

    /// An optional string of at most `max_chars` characters.
    pub(crate) fn string(&self, field: &str, max_chars: usize) -> Result<Option<String>> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let Value::String(text) = value else {
            return Err(invalid(
                field,
                format!("must be a string, got {}", kind(value)),
            ));
        };
        let chars = text.chars().count();
        if chars > max_chars {
            return Err(invalid(
                field,
                format!("is {chars} characters long; at most {max_chars} are allowed"),
            ));
        }
        if text.contains('\0') {
            return Err(invalid(field, "must not contain NUL characters"));
        }
        Ok(Some(text.clone()))
    }

    /// A required string of at most `max_chars` characters (may be empty).
    pub(crate) fn required_string(&self, field: &str, max_chars: usize) -> Result<String> {
        self.required(field)?;
        Ok(self.string(field, max_chars)?.unwrap_or_default())
    }

    /// An optional UUID; `null`, `""` and the nil UUID all mean "none".
    pub(crate) fn uuid(&self, field: &str) -> Result<Option<Uuid>> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let Value::String(text) = value else {
            return Err(invalid(
                field,
                format!("must be a UUID string, got {}", kind(value)),
            ));
        };
        if text.is_empty() {
            return Ok(None);
        }
        let id = Uuid::try_parse(text)
            .map_err(|_| invalid(field, format!("is not a valid UUID: {text:?}")))?;
        Ok((!id.is_nil()).then_some(id))
    }

    /// A required, non-nil UUID.
    pub(crate) fn required_uuid(&self, field: &str) -> Result<Uuid> {
        self.required(field)?;
        self.uuid(field)?
            .ok_or_else(|| invalid(field, "must be a non-nil UUID"))
    }

    /// An optional string that must be one of `allowed`.
    pub(crate) fn one_of(&self, field: &str, allowed: &[&str]) -> Result<Option<String>> {
        let Some(text) = self.string(field, 64)? else {
            return Ok(None);
        };
        if allowed.contains(&text.as_str()) {
            Ok(Some(text))
        } else {
            Err(invalid(
                field,
                format!("must be one of {}, got {text:?}", allowed.join(", ")),
            ))
        }
    }
}

/// The JSON kind of a value, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        match v {
            Value::Object(m) => Body(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn fields_are_named_in_every_refusal() {
        let b = body(
            json!({"name": 3, "long": "abcd", "id": "x", "nil": "00000000-0000-0000-0000-000000000000", "t": "nope"}),
        );
        assert!(b
            .string("name", 10)
            .unwrap_err()
            .message
            .starts_with("name:"));
        assert!(b
            .string("long", 3)
            .unwrap_err()
            .message
            .starts_with("long:"));
        assert!(b.uuid("id").unwrap_err().message.starts_with("id:"));
        assert_eq!(b.uuid("nil").unwrap(), None);
        assert!(b
            .required_uuid("nil")
            .unwrap_err()
            .message
            .starts_with("nil:"));
        assert!(b
            .required("missing")
            .unwrap_err()
            .message
            .starts_with("missing:"));
        assert!(b
            .one_of("t", &["a", "b"])
            .unwrap_err()
            .message
            .contains("a, b"));
        assert_eq!(b.string("absent", 3).unwrap(), None);
    }
}
