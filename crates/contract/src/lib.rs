//! Checks JSON bodies against VoIPBIN's REST API v1.0 contract.
//!
//! The contract is the OpenAPI 3.0 file `shared/contract/voipbin-openapi.yaml`. This crate loads
//! it, converts its schemas to JSON Schema draft 2020-12 (see below) and validates bodies with
//! the `jsonschema` crate, so the checks are derived from the file, never hand-written.
//!
//! ```no_run
//! use voxbin_contract::Contract;
//! let contract = Contract::shared().unwrap();
//! let body = serde_json::json!({"result": [], "next_page_token": ""});
//! contract.validate_response("GET", "/flows", 200, &body).unwrap();
//! ```
//!
//! Conversion from OpenAPI 3.0:
//! - `nullable: true` admits `null`; `$ref: '#/components/schemas/X'` points into `$defs`;
//!   `x-*`, `example`, `examples`, `externalDocs`, `xml`, `discriminator` are dropped.
//! - `additionalProperties` is kept as written (mostly absent, so extra fields pass);
//!   [`Contract::validate_response_strict`] reports undeclared and `writeOnly` fields too
//!   (a field counts as declared if any `allOf`/`anyOf`/`oneOf` branch declares it; objects with
//!   `additionalProperties` or without `properties` are open).
//! - Timestamps: every `type: string, format: date-time` schema also admits `null` (VoIPBIN
//!   returns `null` for unset timestamps, e.g. `tm_delete` of a live resource, although the file
//!   rarely says `nullable`), `date-time` is asserted as RFC 3339, other formats (`uuid`, `email`,
//!   `uri`, ...) are annotations, and every `tm_*` string in a response body must look like
//!   `2026-01-15T09:30:00.000000Z`. [`Options`] changes each of these.
//!
//! Paths are templates relative to `/v1.0` (`/flows/{id}`); a leading `/v1.0`, a query string,
//! other parameter names (`/flows/{flow_id}`) and concrete paths (`/flows/7f1c...`) are accepted
//! and mapped to the most specific template. Compiled validators are cached per schema, and a
//! [`Contract`] is `Send + Sync`; [`Contract::shared`] gives one instance per test process.

#![warn(missing_docs)]

mod convert;
mod walk;
mod yaml;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Map, Value};

use crate::convert::{convert, ConvertOptions};
use crate::walk::{check_tm_fields, StrictWalker};

/// Environment variable naming the contract file; overrides the search.
pub const CONTRACT_ENV: &str = "VOXBIN_CONTRACT";

/// Location of the contract below a directory that holds `shared/`.
pub const CONTRACT_RELATIVE_PATH: &str = "shared/contract/voipbin-openapi.yaml";

/// Longest message kept per error line (values quoted in messages can be large).
const MAX_MESSAGE_CHARS: usize = 400;

/// URI under which the converted component schemas are registered for `$ref` resolution.
const DEFS_URI: &str = "https://voxbin.invalid/contract/components.json";

/// HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which `format` keywords are asserted rather than kept as annotations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormatCheck {
    /// No format is asserted.
    Annotate,
    /// Only `date-time` is asserted (RFC 3339); the default.
    #[default]
    DateTime,
    /// Every format the validator knows (`date-time`, `uuid`, `email`, `uri`, `ipv4`, ...).
    All,
}

/// Knobs for how the contract is turned into checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Let every `format: date-time` string schema also accept `null` (default true).
    pub nullable_timestamps: bool,
    /// Which formats are asserted (default [`FormatCheck::DateTime`]).
    pub formats: FormatCheck,
    /// Require every `tm_*` string in response bodies to match `YYYY-MM-DDTHH:MM:SS.ffffffZ` (default true).
    pub check_tm_fields: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nullable_timestamps: true,
            formats: FormatCheck::DateTime,
            check_tm_fields: true,
        }
    }
}

/// A compiled schema and its converted JSON Schema (for the strict walk).
struct Compiled {
    validator: Validator,
    schema: Value,
}

/// One path template of the contract, split for matching.
struct Template {
    path: String,
    normalized: String,
    segments: Vec<Option<String>>,
}

/// Where a body schema sits in the contract: its JSON pointer and the schema, if any.
struct BodySchema<'a> {
    pointer: String,
    schema: Option<&'a Value>,
}

/// The loaded contract: operations, converted component schemas and a validator cache.
pub struct Contract {
    path: PathBuf,
    doc: Value,
    defs: Map<String, Value>,
    options: Options,
    templates: Vec<Template>,
    registry: OnceLock<Result<Registry<'static>, String>>,
    cache: Mutex<HashMap<String, Arc<Compiled>>>,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contract")
            .field("path", &self.path)
            .field("paths", &self.templates.len())
            .field("schemas", &self.defs.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Contract {
    /// Loads the contract found by [`Contract::locate`] with default [`Options`].
    pub fn load() -> Result<Self, String> {
        Self::load_with(Options::default())
    }

    /// Loads the contract found by [`Contract::locate`] with the given options.
    pub fn load_with(options: Options) -> Result<Self, String> {
        Self::from_path_with(Self::locate()?, options)
    }

    /// A process-wide contract loaded once with [`Contract::load`]; cheapest for tests.
    pub fn shared() -> Result<&'static Self, String> {
        static SHARED: OnceLock<Result<Contract, String>> = OnceLock::new();
        SHARED
            .get_or_init(Self::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Finds the contract: `$VOXBIN_CONTRACT`, else `shared/contract/voipbin-openapi.yaml` or
    /// `../shared/...` above `CARGO_MANIFEST_DIR` (run time, then build time) or the current dir.
    pub fn locate() -> Result<PathBuf, String> {
        if let Some(p) = std::env::var_os(CONTRACT_ENV).filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(format!("{CONTRACT_ENV}={} is not a file", p.display()))
            };
        }
        let mut starts: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            starts.push(dir.into());
        }
        starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        if let Ok(dir) = std::env::current_dir() {
            starts.push(dir);
        }
        for start in &starts {
            for dir in start.ancestors() {
                for candidate in [
                    dir.join(CONTRACT_RELATIVE_PATH),
                    dir.join("..").join(CONTRACT_RELATIVE_PATH),
                ] {
                    if candidate.is_file() {
                        return Ok(candidate);
                    }
                }
            }
        }
        Err(format!(
            "contract not found: set {CONTRACT_ENV} or put {CONTRACT_RELATIVE_PATH} in or beside an ancestor of {starts:?}"
        ))
    }

    /// Loads the contract from a file with default [`Options`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, String> {
        Self::from_path_with(path, Options::default())
    }

    /// Loads the contract from a file with the given options.
    pub fn from_path_with(path: impl AsRef<Path>, options: Options) -> Result<Self, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read contract {}: {e}", path.display()))?;
        let mut contract =
            Self::from_yaml_str(&text, options).map_err(|e| format!("{}: {e}", path.display()))?;
        contract.path = path.to_path_buf();
        Ok(contract)
    }

    /// Builds a contract from OpenAPI 3.0 YAML (or JSON) text.
    pub fn from_yaml_str(text: &str, options: Options) -> Result<Self, String> {
        let doc = yaml::parse(text)?;
        let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
        if !version.starts_with("3.0") {
            return Err(format!(
                "expected an OpenAPI 3.0 document, found openapi: {version:?}"
            ));
        }
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no paths")?;
        let conv = ConvertOptions {
            nullable_timestamps: options.nullable_timestamps,
            formats: options.formats,
        };
        let defs: Map<String, Value> = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| {
                schemas
                    .iter()
                    .map(|(name, s)| (name.clone(), convert(s, conv)))
                    .collect()
            })
            .unwrap_or_default();
        let templates = paths.keys().map(|p| Template::new(p)).collect();
        Ok(Self {
            path: PathBuf::new(),
            doc,
            defs,
            options,
            templates,
            registry: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The file the contract was loaded from (empty when built from text).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options the contract was loaded with.
    pub fn options(&self) -> Options {
        self.options
    }

    /// Every operation as (upper-case method, path template), sorted by path then method.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        for t in &self.templates {
            for m in METHODS {
                if self.path_item(&t.path).and_then(|i| i.get(m)).is_some() {
                    ops.push((m.to_ascii_uppercase(), t.path.clone()));
                }
            }
        }
        ops.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        ops
    }

    /// Whether the contract has this operation (path as a template or a concrete path).
    pub fn operation_exists(&self, method: &str, path: &str) -> bool {
        self.resolve_path(method, path).is_some()
    }

    /// The contract's path template for a template or concrete path that has this method.
    pub fn resolve_path(&self, method: &str, path: &str) -> Option<String> {
        let method = method.to_ascii_lowercase();
        let has_method = |t: &&Template| {
            self.path_item(&t.path)
                .and_then(|i| i.get(&method))
                .is_some()
        };
        let clean = clean_path(path);
        if let Some(t) = self
            .templates
            .iter()
            .filter(has_method)
            .find(|t| t.path == clean)
        {
            return Some(t.path.clone());
        }
        let normalized = normalize(&clean);
        if let Some(t) = self
            .templates
            .iter()
            .filter(has_method)
            .find(|t| t.normalized == normalized)
        {
            return Some(t.path.clone());
        }
        let segments: Vec<&str> = split(&clean);
        self.templates
            .iter()
            .filter(has_method)
            .filter(|t| t.matches(&segments))
            .max_by_key(|t| t.segments.iter().filter(|s| s.is_some()).count())
            .map(|t| t.path.clone())
    }

    /// Names of all component schemas (`components/schemas`), sorted.
    pub fn schema_names(&self) -> Vec<String> {
        self.defs.keys().cloned().collect()
    }

    /// Validates a response body of (method, path, status); falls back to `NXX` then `default`.
    /// A status with no body schema accepts any body. Errors read `/json/pointer: message`.
    pub fn validate_response(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        self.check_response(method, path_template, status, body, false)
    }

    /// Like [`Contract::validate_response`], and also reports body fields the schema does not
    /// declare (where it lists `properties` without `additionalProperties`) and `writeOnly` fields.
    pub fn validate_response_strict(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        self.check_response(method, path_template, status, body, true)
    }

    /// Validates a JSON request body of (method, path); `Value::Null` means "no body".
    pub fn validate_request(
        &self,
        method: &str,
        path_template: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        self.check_request(method, path_template, body, false)
    }

    /// Like [`Contract::validate_request`], and also reports fields the schema does not declare.
    pub fn validate_request_strict(
        &self,
        method: &str,
        path_template: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        self.check_request(method, path_template, body, true)
    }

    /// Validates a value against a named component schema (e.g. `FlowManagerFlow`), `tm_*` rule included.
    pub fn validate_schema(&self, schema_name: &str, value: &Value) -> Result<(), Vec<String>> {
        self.check_schema(schema_name, value, false)
    }

    /// Like [`Contract::validate_schema`], and also reports undeclared and `writeOnly` fields.
    pub fn validate_schema_strict(
        &self,
        schema_name: &str,
        value: &Value,
    ) -> Result<(), Vec<String>> {
        self.check_schema(schema_name, value, true)
    }

    /// The converted JSON Schema (draft 2020-12, refs into `$defs`, without `$defs`) of a response.
    pub fn response_json_schema(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
    ) -> Result<Option<Value>, String> {
        let target = self.response_target(method, path_template, status)?;
        Ok(target.schema.map(|s| convert(s, self.convert_options())))
    }

    /// A converted component schema (draft 2020-12, refs of the form `#/$defs/Name`).
    pub fn component_json_schema(&self, schema_name: &str) -> Option<&Value> {
        self.defs.get(schema_name)
    }

    fn convert_options(&self) -> ConvertOptions {
        ConvertOptions {
            nullable_timestamps: self.options.nullable_timestamps,
            formats: self.options.formats,
        }
    }

    fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
        strict: bool,
    ) -> Result<(), Vec<String>> {
        let target = self
            .response_target(method, path, status)
            .map_err(|e| vec![e])?;
        let Some(schema) = target.schema else {
            return Ok(());
        };
        self.run(&target.pointer, schema, body, strict, true)
    }

    fn check_request(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        strict: bool,
    ) -> Result<(), Vec<String>> {
        let (template, op) = self.operation(method, path).map_err(|e| vec![e])?;
        let label = format!("{} {template}", method.to_ascii_uppercase());
        let Some(rb) = op.get("requestBody") else {
            return if body.is_null() {
                Ok(())
            } else {
                Err(vec![format!("{label} declares no request body")])
            };
        };
        let (rb, rb_ptr) = self
            .deref(
                rb,
                format!(
                    "#/paths/{}/{}/requestBody",
                    walk::escape_token(&template),
                    method.to_ascii_lowercase()
                ),
            )
            .map_err(|e| vec![e])?;
        if body.is_null() {
            return if rb.get("required").and_then(Value::as_bool) == Some(true) {
                Err(vec![format!("{label} requires a request body")])
            } else {
                Ok(())
            };
        }
        let content = rb.get("content").and_then(Value::as_object);
        let Some((media, media_obj)) = content.and_then(json_media) else {
            let kinds: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
            return Err(vec![format!(
                "{label} has no JSON request body (content types: {kinds:?})"
            )]);
        };
        let Some(schema) = media_obj.get("schema") else {
            return Ok(());
        };
        let pointer = format!("{rb_ptr}/content/{}/schema", walk::escape_token(media));
        self.run(&pointer, schema, body, strict, false)
    }

    fn check_schema(&self, name: &str, value: &Value, strict: bool) -> Result<(), Vec<String>> {
        if !self.defs.contains_key(name) {
            return Err(vec![format!(
                "schema {name:?} is not in the contract's components/schemas"
            )]);
        }
        let pointer = format!("#/components/schemas/{}", walk::escape_token(name));
        let reference = serde_json::json!({ "$ref": pointer });
        self.run(&pointer, &reference, value, strict, true)
    }

    /// Validates `body` against the (OpenAPI) `schema` found at `pointer`, plus our own rules.
    fn run(
        &self,
        pointer: &str,
        schema: &Value,
        body: &Value,
        strict: bool,
        response: bool,
    ) -> Result<(), Vec<String>> {
        let compiled = self.compiled(pointer, schema).map_err(|e| vec![e])?;
        let mut errors: Vec<String> = compiled
            .validator
            .iter_errors(body)
            .map(|e| line(e.instance_path().as_str(), &e.to_string()))
            .collect();
        if response && self.options.check_tm_fields {
            check_tm_fields(body, "", &mut errors);
        }
        if strict {
            let walker = StrictWalker {
                defs: &self.defs,
                response,
            };
            walker.walk(&compiled.schema, body, "", &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            let mut seen = std::collections::HashSet::new();
            errors.retain(|e| seen.insert(e.clone()));
            Err(errors)
        }
    }

    /// The cached validator for the schema at `pointer`, compiled on first use.
    fn compiled(&self, pointer: &str, schema: &Value) -> Result<Arc<Compiled>, String> {
        if let Some(c) = self.lock_cache().get(pointer) {
            return Ok(Arc::clone(c));
        }
        let converted = convert(schema, self.convert_options());
        // The root points into the shared, pre-indexed components resource.
        let mut root = converted.clone();
        absolutize_refs(&mut root);
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(self.registry()?)
            .should_validate_formats(self.options.formats != FormatCheck::Annotate)
            .should_ignore_unknown_formats(true)
            .build(&root)
            .map_err(|e| format!("cannot compile the schema at {pointer}: {e}"))?;
        let compiled = Arc::new(Compiled {
            validator,
            schema: converted,
        });
        self.lock_cache()
            .entry(pointer.to_string())
            .or_insert_with(|| Arc::clone(&compiled));
        Ok(compiled)
    }

    /// The registry holding the converted component schemas, indexed once.
    fn registry(&self) -> Result<&Registry<'static>, String> {
        self.registry
            .get_or_init(|| {
                let mut doc = Map::new();
                doc.insert("$defs".into(), Value::Object(self.defs.clone()));
                let resource = Draft::Draft202012.create_resource(Value::Object(doc));
                Registry::new()
                    .draft(Draft::Draft202012)
                    .add(DEFS_URI, resource)
                    .and_then(|b| b.prepare())
                    .map_err(|e| format!("cannot index the contract's schemas: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Compiled>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn path_item(&self, template: &str) -> Option<&Value> {
        self.doc.get("paths").and_then(|p| p.get(template))
    }

    /// The operation object for (method, path) and its template.
    fn operation(&self, method: &str, path: &str) -> Result<(String, &Value), String> {
        let label = format!("{} {path}", method.to_ascii_uppercase());
        let template = self
            .resolve_path(method, path)
            .ok_or_else(|| format!("operation {label} is not in the contract"))?;
        let op = self
            .path_item(&template)
            .and_then(|i| i.get(method.to_ascii_lowercase()))
            .ok_or_else(|| format!("operation {label} is not in the contract"))?;
        Ok((template, op))
    }

    /// Follows local `$ref`s (e.g. `#/components/responses/NotFound`) and tracks the pointer.
    fn deref<'a>(
        &'a self,
        mut v: &'a Value,
        mut pointer: String,
    ) -> Result<(&'a Value, String), String> {
        for _ in 0..MAX_REF_HOPS {
            let Some(target) = v.get("$ref").and_then(Value::as_str) else {
                return Ok((v, pointer));
            };
            let inner = target
                .strip_prefix('#')
                .ok_or_else(|| format!("{pointer}: only local refs are supported, got {target}"))?;
            v = self
                .doc
                .pointer(inner)
                .ok_or_else(|| format!("{pointer}: unresolvable $ref {target}"))?;
            pointer = target.to_string();
        }
        Err(format!("{pointer}: $ref chain too long"))
    }

    /// The JSON body schema of (method, path, status), if the contract gives one.
    fn response_target(
        &self,
        method: &str,
        path: &str,
        status: u16,
    ) -> Result<BodySchema<'_>, String> {
        let (template, op) = self.operation(method, path)?;
        let label = format!("{} {template}", method.to_ascii_uppercase());
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{label} declares no responses"))?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = [
            exact.clone(),
            range.clone(),
            range.to_ascii_lowercase(),
            "default".into(),
        ]
        .into_iter()
        .find(|k| responses.contains_key(k))
        .ok_or_else(|| {
            let declared: Vec<&String> = responses.keys().collect();
            format!("{label} does not declare status {status} nor default (declared: {declared:?})")
        })?;
        let (response, ptr) = self.deref(
            &responses[&key],
            format!(
                "#/paths/{}/{}/responses/{key}",
                walk::escape_token(&template),
                method.to_ascii_lowercase()
            ),
        )?;
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return Ok(BodySchema {
                pointer: ptr,
                schema: None,
            });
        };
        let Some((media, media_obj)) = json_media(content) else {
            let kinds: Vec<&String> = content.keys().collect();
            return Err(format!(
                "{label} {key} has no JSON body (content types: {kinds:?})"
            ));
        };
        Ok(BodySchema {
            pointer: format!("{ptr}/content/{}/schema", walk::escape_token(media)),
            schema: media_obj.get("schema"),
        })
    }
}

/// Makes `#/$defs/X` refs of a root schema point at the registered components resource.
fn absolutize_refs(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(target) if key == "$ref" && target.starts_with("#/$defs/") => {
                        *target = format!("{DEFS_URI}{target}");
                    }
                    _ => absolutize_refs(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(absolutize_refs),
        _ => {}
    }
}

/// How many `$ref` hops [`Contract::deref`] follows before giving up.
const MAX_REF_HOPS: usize = 16;

/// The JSON media type entry of a content map (`application/json`, `...+json`).
fn json_media(content: &Map<String, Value>) -> Option<(&String, &Value)> {
    content.iter().find(|(k, _)| {
        let base = k.split(';').next().unwrap_or("").trim();
        base == "application/json" || base.ends_with("+json")
    })
}

/// Formats one error line, shortening very long messages.
fn line(pointer: &str, message: &str) -> String {
    let pointer = if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    };
    if message.chars().count() > MAX_MESSAGE_CHARS {
        let cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{pointer}: {cut}…")
    } else {
        format!("{pointer}: {message}")
    }
}

/// Strips a query string, the `/v1.0` base and a trailing slash.
fn clean_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = match path.strip_prefix("/v1.0") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    let mut p = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    while p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    p
}

fn split(path: &str) -> Vec<&str> {
    path.split('/').skip(1).collect()
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// A path with every `{param}` replaced by `{}`.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|s| if is_param(s) { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

impl Template {
    fn new(path: &str) -> Self {
        Self {
            path: path.to_string(),
            normalized: normalize(path),
            segments: split(path)
                .into_iter()
                .map(|s| (!is_param(s)).then(|| s.to_string()))
                .collect(),
        }
    }

    /// Whether a concrete path's segments fit this template.
    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self.segments.iter().zip(segments).all(|(t, s)| match t {
                Some(lit) => lit == s,
                None => !s.is_empty(),
            })
    }
}

#[cfg(test)]
mod tests;
