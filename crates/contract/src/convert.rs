//! OpenAPI 3.0 Schema Objects to JSON Schema draft 2020-12.
//!
//! - `nullable: true` lets `null` through (a `type` list when possible, else an `anyOf`);
//! - `$ref: '#/components/schemas/X'` becomes `$ref: '#/$defs/X'`;
//! - `x-*`, `example`, `examples`, `externalDocs`, `xml` and `discriminator` are dropped;
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` (3.0 style) become numeric ones;
//! - `format` is kept only where the [`FormatCheck`] policy asserts it.

use serde_json::{Map, Value};

use crate::FormatCheck;

/// How OpenAPI schemas are turned into JSON Schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvertOptions {
    pub nullable_timestamps: bool,
    pub formats: FormatCheck,
}

const COMPONENT_PREFIX: &str = "#/components/schemas/";
pub(crate) const DEFS_PREFIX: &str = "#/$defs/";

/// Converts one OpenAPI schema (and everything nested in it).
pub(crate) fn convert(schema: &Value, opts: ConvertOptions) -> Value {
    match schema {
        Value::Object(obj) => Value::Object(convert_object(obj, opts)),
        // Booleans are valid JSON Schemas; anything else is left for the validator to reject.
        other => other.clone(),
    }
}

fn convert_map_of_schemas(v: &Value, opts: ConvertOptions) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, s)| (k.clone(), convert(s, opts)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn convert_list_of_schemas(v: &Value, opts: ConvertOptions) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|s| convert(s, opts)).collect()),
        other => convert(other, opts),
    }
}

fn is_timestamp(obj: &Map<String, Value>) -> bool {
    obj.get("type").and_then(Value::as_str) == Some("string")
        && obj.get("format").and_then(Value::as_str) == Some("date-time")
}

fn keep_format(format: &Value, policy: FormatCheck) -> bool {
    match policy {
        FormatCheck::Annotate => false,
        FormatCheck::DateTime => format.as_str() == Some("date-time"),
        FormatCheck::All => true,
    }
}

fn convert_object(obj: &Map<String, Value>, opts: ConvertOptions) -> Map<String, Value> {
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true)
        || (opts.nullable_timestamps && is_timestamp(obj));
    let mut out = Map::with_capacity(obj.len());
    for (key, value) in obj {
        if key.starts_with("x-") {
            continue;
        }
        match key.as_str() {
            "nullable" | "example" | "examples" | "externalDocs" | "xml" | "discriminator" => {}
            "$ref" => {
                let target = value.as_str().unwrap_or_default();
                let rewritten = match target.strip_prefix(COMPONENT_PREFIX) {
                    Some(name) => format!("{DEFS_PREFIX}{name}"),
                    None => target.to_string(),
                };
                out.insert(key.clone(), Value::String(rewritten));
            }
            "format" => {
                if keep_format(value, opts.formats) {
                    out.insert(key.clone(), value.clone());
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                out.insert(key.clone(), convert_map_of_schemas(value, opts));
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                out.insert(key.clone(), convert_list_of_schemas(value, opts));
            }
            "items" => {
                out.insert(key.clone(), convert_list_of_schemas(value, opts));
            }
            "additionalProperties"
            | "not"
            | "contains"
            | "propertyNames"
            | "if"
            | "then"
            | "else"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "additionalItems" => {
                out.insert(key.clone(), convert(value, opts));
            }
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {
                // OpenAPI 3.0 (draft-04 style): a flag on minimum/maximum.
                let bound = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                if value.as_bool() == Some(true) {
                    if let Some(limit) = obj.get(bound) {
                        out.insert(key.clone(), limit.clone());
                    }
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    // A boolean exclusive bound replaced its numeric bound.
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if obj.get(flag).and_then(Value::as_bool) == Some(true) {
            out.remove(bound);
        }
    }
    if nullable {
        make_nullable(out)
    } else {
        out
    }
}

fn make_nullable(mut out: Map<String, Value>) -> Map<String, Value> {
    let composed = ["$ref", "allOf", "anyOf", "oneOf", "not"]
        .iter()
        .any(|k| out.contains_key(*k));
    match out.get_mut("type") {
        Some(t) if !composed => {
            match t {
                Value::String(s) if s != "null" => {
                    *t = Value::Array(vec![Value::String(s.clone()), "null".into()]);
                }
                Value::Array(list) if !list.iter().any(|x| x == "null") => {
                    list.push("null".into());
                }
                _ => {}
            }
            if let Some(Value::Array(values)) = out.get_mut("enum") {
                if !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
            }
            out
        }
        // No `type` and no composition: the schema already admits null unless an
        // `enum`/`const` excludes it.
        None if !composed => {
            if let Some(Value::Array(values)) = out.get_mut("enum") {
                if !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
            }
            if out.contains_key("const") {
                return wrap_any_of_null(out);
            }
            out
        }
        _ => wrap_any_of_null(out),
    }
}

fn wrap_any_of_null(out: Map<String, Value>) -> Map<String, Value> {
    let mut wrapper = Map::new();
    if let Some(d) = out.get("description") {
        wrapper.insert("description".into(), d.clone());
    }
    wrapper.insert(
        "anyOf".into(),
        Value::Array(vec![
            Value::Object(out),
            serde_json::json!({"type": "null"}),
        ]),
    );
    wrapper
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPTS: ConvertOptions = ConvertOptions {
        nullable_timestamps: true,
        formats: FormatCheck::DateTime,
    };

    #[test]
    fn nullable_type_gets_null_in_type_and_enum() {
        let s = json!({"type": "string", "nullable": true, "enum": ["a"], "x-go-type": "s", "example": "a"});
        assert_eq!(
            convert(&s, OPTS),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn nullable_ref_is_wrapped_in_any_of() {
        let s = json!({"$ref": "#/components/schemas/X", "nullable": true});
        assert_eq!(
            convert(&s, OPTS),
            json!({"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]})
        );
    }

    #[test]
    fn property_names_that_look_like_keywords_are_kept() {
        let s = json!({"type": "object", "properties": {"example": {"type": "string", "format": "uuid"}, "x-y": {"type": "integer"}}});
        assert_eq!(
            convert(&s, OPTS),
            json!({"type": "object", "properties": {"example": {"type": "string"}, "x-y": {"type": "integer"}}})
        );
    }

    #[test]
    fn timestamps_become_nullable_and_keep_their_format() {
        let s = json!({"type": "string", "format": "date-time"});
        assert_eq!(
            convert(&s, OPTS),
            json!({"type": ["string", "null"], "format": "date-time"})
        );
        let strict = ConvertOptions {
            nullable_timestamps: false,
            formats: FormatCheck::Annotate,
        };
        assert_eq!(convert(&s, strict), json!({"type": "string"}));
    }

    #[test]
    fn boolean_exclusive_bounds_become_numeric() {
        let s = json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true});
        assert_eq!(
            convert(&s, OPTS),
            json!({"type": "integer", "exclusiveMinimum": 1})
        );
    }
}
