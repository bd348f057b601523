//! Flow variables: the `${name}` substitution into action options, the read-only `voipbin.*`
//! built-ins, and the limits that keep one activeflow's variables small.
//!
//! Rules (documented for flow authors):
//! - `${name}` is replaced by the variable's value; an unknown name reads as the empty string.
//! - A name runs to the first `}`: `${a${b}}` reads the variable named `a${b` (normally
//!   unknown, so empty) and keeps the trailing `}`. References are not evaluated inside names.
//! - Substitution is one pass: a value that itself contains `${...}` is inserted as text and
//!   never substituted again, so a caller's digits or a fetched value cannot inject references.
//! - `voipbin.*` names are built-ins. Flows read them; only the platform's services set them
//!   (result variables of `/next`); `variable_set` of one is refused.
//! - At most [`MAX_KEYS`] variables, [`MAX_VALUE_BYTES`] per value and [`MAX_TOTAL_BYTES`] in
//!   all (VoIPBIN's limits); a write beyond them is an error, never a silent cut.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;
use voxbin_actions::option::BUILTIN_PREFIX;

use super::model::Activeflow;

/// Most variables one activeflow may hold.
pub const MAX_KEYS: usize = 100;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 32 * 1024;
/// Largest sum of key and value sizes, in bytes.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024;
/// Longest variable name, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// Built-in completion depth: how many `on_complete_flow_id` hops led to this activeflow.
pub const COMPLETE_COUNT: &str = "voipbin.activeflow.complete_count";

/// The variables of one activeflow, and whether they changed since they were loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    map: BTreeMap<String, String>,
    dirty: bool,
}

impl Variables {
    /// Variables as loaded from the database (not dirty).
    pub fn from_map(map: BTreeMap<String, String>) -> Variables {
        Variables { map, dirty: false }
    }

    /// Every stored variable (computed built-ins excluded).
    pub fn map(&self) -> &BTreeMap<String, String> {
        &self.map
    }

    /// Whether a write happened since loading.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// A stored variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Sets a variable for a flow (`variable_set`, API seeds): `voipbin.*` names are refused.
    pub fn set_user(&mut self, key: &str, value: &str) -> Result<(), String> {
        if key.starts_with(BUILTIN_PREFIX) {
            return Err(format!(
                "variable {key:?} is a built-in; voipbin.* variables are read-only"
            ));
        }
        self.set_internal(key, value)
    }

    /// Sets a variable for a platform service (built-ins allowed), within the limits.
    pub fn set_internal(&mut self, key: &str, value: &str) -> Result<(), String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "variable names are 1 to {MAX_KEY_BYTES} bytes long, got {}",
                key.len()
            ));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!(
                "variable {key:?}: value of {} bytes; at most {MAX_VALUE_BYTES} are allowed",
                value.len()
            ));
        }
        let old = self.map.get(key).map_or(0, |v| key.len() + v.len());
        if old == 0 && self.map.len() >= MAX_KEYS {
            return Err(format!(
                "variable {key:?}: an activeflow holds at most {MAX_KEYS} variables"
            ));
        }
        let total = self.total_bytes() - old + key.len() + value.len();
        if total > MAX_TOTAL_BYTES {
            return Err(format!(
                "variable {key:?}: variables would take {total} bytes; at most \
                 {MAX_TOTAL_BYTES} are allowed"
            ));
        }
        if self.map.get(key).map(String::as_str) != Some(value) {
            self.map.insert(key.to_owned(), value.to_owned());
            self.dirty = true;
        }
        Ok(())
    }

    /// Removes a variable (a `branch` consumes the one it read).
    pub fn remove(&mut self, key: &str) {
        if self.map.remove(key).is_some() {
            self.dirty = true;
        }
    }

    fn total_bytes(&self) -> usize {
        self.map.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// Reads variables for substitution: computed built-ins first, then stored variables.
pub struct Lookup<'a> {
    /// The activeflow the built-ins describe.
    pub af: &'a Activeflow,
    /// Its variables.
    pub vars: &'a Variables,
    /// The id of the action being run (`voipbin.activeflow.current_action_id`).
    pub action_id: uuid::Uuid,
    /// The engine's clock, as a contract timestamp (`voipbin.activeflow.tm_now`).
    pub now: &'a str,
}

impl Lookup<'_> {
    /// The value of `name`; unknown names read as the empty string.
    pub fn value(&self, name: &str) -> Cow<'_, str> {
        let af = self.af;
        let computed = match name {
            "voipbin.activeflow.id" => af.id.to_string(),
            "voipbin.activeflow.flow_id" => af.flow_id.to_string(),
            "voipbin.activeflow.customer_id" => af.customer_id.to_string(),
            "voipbin.activeflow.reference_type" => af.reference_type.as_str().to_owned(),
            "voipbin.activeflow.reference_id" => af.reference_id.to_string(),
            "voipbin.activeflow.reference_activeflow_id" => af.reference_activeflow_id.to_string(),
            "voipbin.activeflow.current_action_id" => self.action_id.to_string(),
            "voipbin.activeflow.execute_count" => af.execute_count.to_string(),
            "voipbin.activeflow.tm_create" => af.tm_create.clone(),
            "voipbin.activeflow.tm_now" => self.now.to_owned(),
            COMPLETE_COUNT => {
                return Cow::Borrowed(self.vars.get(COMPLETE_COUNT).unwrap_or("0"));
            }
            _ => return Cow::Borrowed(self.vars.get(name).unwrap_or("")),
        };
        Cow::Owned(computed)
    }

    /// `text` with every `${name}` replaced, in one pass (see the module rules).
    pub fn substitute<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let Some(first) = text.find("${") else {
            return Cow::Borrowed(text);
        };
        let mut out = String::with_capacity(text.len());
        out.push_str(&text[..first]);
        let mut rest = &text[first..];
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    out.push_str(&self.value(&after[..end]));
                    rest = &after[end + 1..];
                }
                None => {
                    // No closing brace: the text stays as written.
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Cow::Owned(out)
    }

    /// A copy of `value` with every string substituted (object keys stay as written);
    /// `None` when nothing changes, which spares a copy on the hot path.
    pub fn substitute_value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::String(s) => match self.substitute(s) {
                Cow::Borrowed(_) => None,
                Cow::Owned(new) => Some(Value::String(new)),
            },
            Value::Array(items) => {
                let changed: Vec<Option<Value>> =
                    items.iter().map(|v| self.substitute_value(v)).collect();
                if changed.iter().all(Option::is_none) {
                    return None;
                }
                Some(Value::Array(
                    changed
                        .into_iter()
                        .zip(items)
                        .map(|(new, old)| new.unwrap_or_else(|| old.clone()))
                        .collect(),
                ))
            }
            Value::Object(map) => {
                let mut out: Option<serde_json::Map<String, Value>> = None;
                for (k, v) in map {
                    if let Some(new) = self.substitute_value(v) {
                        out.get_or_insert_with(|| map.clone())
                            .insert(k.clone(), new);
                    }
                }
                out.map(Value::Object)
            }
            _ => None,
        }
    }
}
