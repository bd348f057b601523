//! Checks that JSON Schema itself does not express: undeclared fields (strict mode) and the
//! `tm_*` timestamp format.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::convert::DEFS_PREFIX;

/// How deep `$ref`/`allOf`/`anyOf`/`oneOf` chains are followed without descending the body.
const MAX_SCHEMA_HOPS: usize = 64;

/// Escapes one JSON-pointer token (RFC 6901).
pub(crate) fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The pattern every `tm_*` string must match: `2026-01-15T09:30:00.000000Z`.
pub(crate) fn timestamp_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$").expect("valid regex")
    })
}

/// Reports every `tm_*` field whose value is a string not shaped like `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn check_tm_fields(value: &Value, pointer: &str, errors: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_ptr = format!("{pointer}/{}", escape_token(key));
                if key.starts_with("tm_") {
                    if let Value::String(s) = child {
                        if !timestamp_regex().is_match(s) {
                            errors.push(format!(
                                "{child_ptr}: timestamp {s:?} is not null and not in the form YYYY-MM-DDTHH:MM:SS.ffffffZ"
                            ));
                        }
                    }
                }
                check_tm_fields(child, &child_ptr, errors);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_tm_fields(child, &format!("{pointer}/{i}"), errors);
            }
        }
        _ => {}
    }
}

/// Walks a converted schema and a body together, reporting body fields the schema does not
/// declare and (for responses) fields the schema marks `writeOnly`.
pub(crate) struct StrictWalker<'a> {
    pub defs: &'a Map<String, Value>,
    pub response: bool,
}

impl StrictWalker<'_> {
    /// Collects the object-level schema facets reachable through `$ref` and compositions.
    fn facets<'s>(&'s self, schema: &'s Value, out: &mut Vec<&'s Map<String, Value>>, hops: usize) {
        if hops > MAX_SCHEMA_HOPS {
            return;
        }
        let Value::Object(obj) = schema else { return };
        out.push(obj);
        if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(resolved) = target
                .strip_prefix(DEFS_PREFIX)
                .and_then(|name| self.defs.get(name))
            {
                self.facets(resolved, out, hops + 1);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = obj.get(key) {
                for b in branches {
                    self.facets(b, out, hops + 1);
                }
            }
        }
    }

    /// Walks `value` against `schema`, appending `pointer: message` lines to `errors`.
    pub(crate) fn walk(
        &self,
        schema: &Value,
        value: &Value,
        pointer: &str,
        errors: &mut Vec<String>,
    ) {
        let mut facets = Vec::new();
        self.facets(schema, &mut facets, 0);
        match value {
            Value::Object(map) => self.walk_object(&facets, map, pointer, errors),
            Value::Array(items) => {
                let item_schemas: Vec<&Value> = facets
                    .iter()
                    .filter_map(|f| f.get("items"))
                    .filter(|s| s.is_object())
                    .collect();
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{pointer}/{i}");
                    for s in &item_schemas {
                        self.walk(s, item, &p, errors);
                    }
                }
            }
            _ => {}
        }
    }

    fn walk_object(
        &self,
        facets: &[&Map<String, Value>],
        map: &Map<String, Value>,
        pointer: &str,
        errors: &mut Vec<String>,
    ) {
        let declares = facets.iter().any(|f| f.contains_key("properties"));
        // Extra keys are part of the contract where a facet says so explicitly.
        let mut open = false;
        let mut extra_schemas: Vec<&Value> = Vec::new();
        for f in facets {
            match f.get("additionalProperties") {
                Some(Value::Bool(true)) => open = true,
                Some(s @ Value::Object(_)) => {
                    open = true;
                    extra_schemas.push(s);
                }
                _ => {}
            }
        }
        for (key, child) in map {
            let child_ptr = format!("{pointer}/{}", escape_token(key));
            let prop_schemas: Vec<&Value> = facets
                .iter()
                .filter_map(|f| f.get("properties").and_then(|p| p.get(key)))
                .collect();
            if prop_schemas.is_empty() {
                if declares && !open {
                    errors.push(format!(
                        "{child_ptr}: field {key:?} is not declared by the contract schema"
                    ));
                }
                for s in &extra_schemas {
                    self.walk(s, child, &child_ptr, errors);
                }
                continue;
            }
            if self.response && prop_schemas.iter().any(|s| self.is_write_only(s)) {
                errors.push(format!(
                    "{child_ptr}: field {key:?} is writeOnly in the contract and must not appear in a response"
                ));
            }
            for s in prop_schemas {
                self.walk(s, child, &child_ptr, errors);
            }
        }
    }

    fn is_write_only(&self, schema: &Value) -> bool {
        let mut facets = Vec::new();
        self.facets(schema, &mut facets, 0);
        facets
            .iter()
            .any(|f| f.get("writeOnly").and_then(Value::as_bool) == Some(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tm_fields_are_checked_recursively() {
        let body = json!({"tm_create": "2026-01-15T09:30:00.000000Z", "tm_delete": null,
            "items": [{"tm_update": "2026-01-15 09:30:00"}], "tm_x": 5});
        let mut errors = Vec::new();
        check_tm_fields(&body, "", &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("/items/0/tm_update:"), "{errors:?}");
    }

    #[test]
    fn strict_walk_follows_refs_all_of_and_items() {
        let defs = json!({"A": {"type": "object", "properties": {"a": {"type": "string"},
            "secret": {"type": "string", "writeOnly": true}}}});
        let defs = defs.as_object().unwrap();
        let schema = json!({"allOf": [{"properties": {"n": {"type": "string"}}},
            {"properties": {"result": {"type": "array", "items": {"$ref": "#/$defs/A"}}}}]});
        let w = StrictWalker {
            defs,
            response: true,
        };
        let body = json!({"n": "", "leak": 1, "result": [{"a": "", "b": 2, "secret": "s"}]});
        let mut errors = Vec::new();
        w.walk(&schema, &body, "", &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("/leak:")));
        assert!(errors.iter().any(|e| e.starts_with("/result/0/b:")));
        assert!(errors.iter().any(|e| e.starts_with("/result/0/secret:")));
    }
}
