//! Reading request bodies so that every refusal is a 400 that names the field at fault.
//!
//! Two ways in, for two styles of service: [`parse_body`] decodes a whole body into a serde
//! type and reports the path of the bad field (`source.type: unknown variant ...`); [`Body`]
//! reads a JSON object field by field (`name must be a string`), for handlers that validate as
//! they go. Unknown fields are ignored (the contract's request schemas are open) and `null`
//! counts as absent. The length limits and checks below are the ones the services share.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::{Error, Result};

/// Longest accepted `name`, in characters (the columns are VARCHAR(255)).
pub const MAX_NAME_CHARS: usize = 255;

/// Longest accepted `detail`, in characters (fits a MySQL TEXT in utf8mb4, keeps rows small).
pub const MAX_DETAIL_CHARS: usize = 4096;

/// A 400 `INVALID_ARGUMENT` whose message is the field's name and then `problem`.
pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Error {
    Error::invalid_argument("INVALID_ARGUMENT", format!("{field} {problem}"))
}

/// The 400 `INVALID_BODY` for a body that is not a JSON object.
fn not_an_object() -> Error {
    Error::invalid_argument("INVALID_BODY", "the request body must be a JSON object")
}

/// Decodes a request body (a JSON object) as `T`; 400 naming the offending field's path.
pub fn parse_body<T: DeserializeOwned>(data: Option<&Value>) -> Result<T> {
    let data = data.cloned().unwrap_or(Value::Null);
    if !data.is_object() {
        return Err(not_an_object());
    }
    serde_path_to_error::deserialize(data).map_err(|e| {
        Error::invalid_argument("INVALID_ARGUMENT", format!("{}: {}", e.path(), e.inner()))
    })
}

/// `value` when it has at most `max` characters; otherwise 400 `<field> is longer than ...`.
pub fn text(field: &str, value: String, max: usize) -> Result<String> {
    if value.chars().count() > max {
        return Err(invalid(field, format!("is longer than {max} characters")));
    }
    Ok(value)
}

/// Checks a display `name`: at most [`MAX_NAME_CHARS`] characters, no control characters.
pub fn check_name(field: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
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
            format!("must be at most {MAX_DETAIL_CHARS} characters"),
        ));
    }
    Ok(())
}

/// True for an E.164 number as we store it: `+` then 7 to 15 digits.
pub fn is_e164(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A request body that is a JSON object, read field by field.
pub struct Body(Map<String, Value>);

impl Body {
    /// The body of the request; 400 `INVALID_BODY` unless it is a JSON object.
    pub fn from_ctx<S>(ctx: &Ctx<S>) -> Result<Body> {
        match &ctx.request().data {
            Some(Value::Object(map)) => Ok(Body(map.clone())),
            _ => Err(not_an_object()),
        }
    }

    /// A body that may be missing (read as an empty object); anything but an object or `null`
    /// is 400 `INVALID_BODY`.
    pub fn new(data: Option<&Value>) -> Result<Body> {
        match data {
            None | Some(Value::Null) => Ok(Body(Map::new())),
            Some(Value::Object(map)) => Ok(Body(map.clone())),
            Some(_) => Err(not_an_object()),
        }
    }

    /// The value of `field`, `None` when absent or null.
    fn value(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// True when the field is present (and not `null`).
    pub fn has(&self, field: &str) -> bool {
        self.value(field).is_some()
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

    /// A required integer (a JSON number without fraction that fits in 64 bits).
    pub fn i64(&self, field: &str) -> Result<i64> {
        match self.value(field) {
            None => Err(invalid(field, "is required")),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| invalid(field, "must be an integer")),
        }
    }

    /// An optional integer field.
    pub fn opt_i64(&self, field: &str) -> Result<Option<i64>> {
        match self.value(field) {
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
        match self.value(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(field, "must be true or false")),
        }
    }

    /// An optional array field.
    pub fn opt_array(&self, field: &str) -> Result<Option<Vec<Value>>> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(_) => Err(invalid(field, "must be an array")),
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
    pub fn uuid(&self, field: &str) -> Result<Uuid> {
        let text = self.str(field)?;
        Uuid::parse_str(&text).map_err(|_| invalid(field, "must be a UUID"))
    }

    /// An optional UUID given as a string (refused as `voxbin_core::id::parse_id` does).
    pub fn opt_uuid(&self, field: &str) -> Result<Option<Uuid>> {
        match self.opt_str(field)? {
            None => Ok(None),
            Some(text) => voxbin_core::id::parse_id(field, &text).map(Some),
        }
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
    fn parse_body_names_the_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Named {
            #[allow(dead_code)]
            name: Option<String>,
        }
        let err = parse_body::<Named>(Some(&json!({"name": 5}))).unwrap_err();
        assert!(err.message.starts_with("name: "), "{err}");
        let err = parse_body::<Named>(None).unwrap_err();
        assert_eq!(err.reason, "INVALID_BODY");
    }

    #[test]
    fn e164_is_plus_and_7_to_15_digits() {
        assert!(is_e164("+14155550100"));
        for bad in [
            "14155550100",
            "+123456",
            "+1234567890123456",
            "+1415555010a",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
        assert_eq!(
            text("name", "é".repeat(3), 2).unwrap_err().message,
            "name is longer than 2 characters"
        );
    }
}
