//! Layering the sources and checking every value, so start-up fails early and clearly.

use super::model::{Config, PROFILES};
use super::normalize::{normalize_database_dsn, normalize_redis_address};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// What the configuration is built from, lowest precedence first.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// A TOML file (`--config`).
    pub file: Option<PathBuf>,
    /// Environment variables (usually `std::env::vars()`).
    pub env: Vec<(String, String)>,
    /// Flag overrides as (dotted key, value), e.g. `("api.listen", "127.0.0.1:9001")`.
    pub flags: Vec<(String, String)>,
}

/// A configuration problem: which key, where it came from, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The dotted key, when one is at fault.
    pub key: Option<String>,
    /// Where the value came from: a file and line, an environment variable or a flag.
    pub origin: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(
                f,
                "config error in {}: key `{k}`: {}",
                self.origin, self.reason
            ),
            None => write!(f, "config error in {}: {}", self.origin, self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(key: Option<&str>, origin: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.map(str::to_string),
        origin: origin.into(),
        reason: reason.into(),
    }
}

/// Seed-era environment names and the key each one sets.
const ENV_ALIASES: &[(&str, &str)] = &[
    ("DSN", "database.dsn"),
    ("DATABASE_DSN", "database.dsn"),
    ("RABBIT_ADDR", "bus.address"),
    ("RABBITMQ_ADDRESS", "bus.address"),
    ("REDIS_ADDRESS", "cache.address"),
];

/// Variables in our namespace that are not config keys.
const ENV_IGNORED_PREFIXES: &[&str] = &["VOXBIN_CONFIG", "VOXBIN_TEST_", "VOXBIN_BIN"];

/// Builds the effective configuration: defaults < file < environment < flags.
pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
    let file = match &sources.file {
        Some(path) => Some(read_file(path)?),
        None => None,
    };
    let env = env_overrides(&sources.env)?;
    let flags: Vec<(String, String, String)> = sources
        .flags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone(), format!("flag --set {k}")))
        .collect();

    // The profile decides the defaults, so find it first, by the same precedence.
    let mut profile = "embedded".to_string();
    if let Some((_, t)) = &file {
        if let Some(p) = t.get("profile").and_then(Value::as_str) {
            profile = p.to_string();
        }
    }
    for (k, v, _) in env.iter().chain(flags.iter()) {
        if k == "profile" {
            profile = v.clone();
        }
    }
    if !PROFILES.contains(&profile.as_str()) {
        return Err(err(
            Some("profile"),
            "configuration",
            format!("unknown profile {profile:?}; expected one of {PROFILES:?}"),
        ));
    }

    let defaults = Config::defaults(&profile);
    let mut tree = Value::try_from(&defaults).map_err(|e| err(None, "defaults", e.to_string()))?;
    if let Some((_, t)) = file {
        merge(&mut tree, Value::Table(t));
    }
    for (key, raw, origin) in env.iter().chain(flags.iter()) {
        set_leaf(&mut tree, &defaults, key, raw, origin)?;
    }
    let mut config: Config = tree
        .try_into()
        .map_err(|e: toml::de::Error| err(None, "configuration", e.message().to_string()))?;
    config.database.dsn = normalize_database_dsn(&config.database.dsn);
    config.database.readers = config
        .database
        .readers
        .iter()
        .map(|r| normalize_database_dsn(r))
        .collect();
    config.cache.address = normalize_redis_address(&config.cache.address);
    validate(&config)?;
    Ok(config)
}

fn read_file(path: &Path) -> Result<(PathBuf, Table), ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(None, &shown, format!("cannot read the file: {e}")))?;
    // Checking against the typed tree gives spans for unknown keys and wrong types.
    if let Err(e) = toml::from_str::<Config>(&text) {
        let (line, key) = match e.span() {
            Some(span) => locate(&text, span.start),
            None => (0, None),
        };
        let origin = if line > 0 {
            format!("{shown}, line {line}")
        } else {
            shown.clone()
        };
        let reason = e
            .message()
            .replace("unknown field", "unknown key")
            .replace("field", "key");
        return Err(ConfigError {
            key,
            origin,
            reason,
        });
    }
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(None, &shown, e.message().to_string()))?;
    Ok((path.to_path_buf(), table))
}

/// The 1-based line of a byte offset and the dotted key written on that line, if any.
fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_no = before.matches('\n').count() + 1;
    let section = before.lines().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']'))
            .then(|| l.trim_matches(['[', ']']).trim().to_string())
    });
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string());
    let key = match (section, key) {
        (Some(s), Some(k)) => Some(format!("{s}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(s), None) => Some(s),
        (None, None) => None,
    };
    (line_no, key)
}

/// Maps environment variables to (dotted key, value, origin); unknown `VOXBIN_*` names fail.
fn env_overrides(vars: &[(String, String)]) -> Result<Vec<(String, String, String)>, ConfigError> {
    let keys = leaf_keys(&Value::try_from(Config::default()).unwrap_or(Value::Table(Table::new())));
    let mut out = Vec::new();
    // Seed aliases first so the explicit VOXBIN_* names win over them.
    for (alias, key) in ENV_ALIASES {
        if let Some((_, v)) = vars.iter().find(|(n, _)| n == alias) {
            out.push((
                key.to_string(),
                v.clone(),
                format!("environment variable {alias}"),
            ));
        }
    }
    let mut ours: Vec<&(String, String)> = vars
        .iter()
        .filter(|(n, _)| n.starts_with("VOXBIN_"))
        .collect();
    ours.sort();
    for (name, value) in ours {
        if ENV_IGNORED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        match keys.iter().find(|k| env_name(k) == *name) {
            Some(k) => out.push((k.clone(), value.clone(), format!("environment variable {name}"))),
            None => {
                return Err(err(
                    None,
                    format!("environment variable {name}"),
                    "not a Voxbin setting (see `voxbin config` for the keys; each is VOXBIN_<SECTION>_<KEY>)",
                ))
            }
        }
    }
    Ok(out)
}

/// `api.listen` -> `VOXBIN_API_LISTEN`.
pub(crate) fn env_name(key: &str) -> String {
    format!("VOXBIN_{}", key.replace('.', "_").to_ascii_uppercase())
}

fn leaf_keys(v: &Value) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Table(t) => {
                for (k, v) in t {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&p, v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Table(b), Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Sets one dotted key from text, typed like the key's default.
fn set_leaf(
    tree: &mut Value,
    defaults: &Config,
    key: &str,
    raw: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    let default_tree =
        Value::try_from(defaults).map_err(|e| err(None, "defaults", e.to_string()))?;
    let mut proto = &default_tree;
    for part in key.split('.') {
        proto = proto
            .get(part)
            .ok_or_else(|| err(Some(key), origin, "no such key"))?;
    }
    let value = match proto {
        Value::String(_) => Value::String(raw.to_string()),
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| {
            err(
                Some(key),
                origin,
                format!("expected an integer, got {raw:?}"),
            )
        })?),
        Value::Boolean(_) => Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(err(
                    Some(key),
                    origin,
                    format!("expected true or false, got {raw:?}"),
                ))
            }
        }),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        ),
        _ => return Err(err(Some(key), origin, "this key cannot be set from text")),
    };
    let mut slot = tree;
    let parts: Vec<&str> = key.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        slot = slot
            .get_mut(*part)
            .ok_or_else(|| err(Some(key), origin, "no such key"))?;
    }
    if let Value::Table(t) = slot {
        t.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(())
}

fn validate(c: &Config) -> Result<(), ConfigError> {
    let bad = |key: &str, reason: String| err(Some(key), "configuration", reason);
    let addr = |key: &str, v: &str, optional: bool| -> Result<(), ConfigError> {
        if v.is_empty() && optional {
            return Ok(());
        }
        v.parse::<SocketAddr>().map(|_| ()).map_err(|_| {
            bad(
                key,
                format!("{v:?} is not a host:port socket address (e.g. 127.0.0.1:8000)"),
            )
        })
    };
    addr("api.listen", &c.api.listen, true)?;
    addr("api.tls_listen", &c.api.tls_listen, true)?;
    addr("api.audiosocket_listen", &c.api.audiosocket_listen, true)?;
    addr("health.listen", &c.health.listen, false)?;
    addr("metrics.listen", &c.metrics.listen, false)?;
    addr("sip.listen", &c.sip.listen, true)?;
    addr("sip.tls_listen", &c.sip.tls_listen, true)?;
    addr("sip.ws_listen", &c.sip.ws_listen, true)?;
    c.sip.check().map_err(|(key, reason)| bad(key, reason))?;
    c.flow.check().map_err(|(key, reason)| bad(key, reason))?;
    c.call.check().map_err(|(key, reason)| bad(key, reason))?;
    c.rtp_relay
        .check()
        .map_err(|(key, reason)| bad(key, reason))?;
    c.media.check().map_err(|(key, reason)| bad(key, reason))?;
    c.webhook
        .check()
        .map_err(|(key, reason)| bad(key, reason))?;
    if c.api.tls_cert.is_empty() != c.api.tls_key.is_empty() {
        return Err(bad(
            "api.tls_key",
            "api.tls_cert and api.tls_key must be set together".into(),
        ));
    }
    if c.data_dir.trim().is_empty() {
        return Err(bad("data_dir", "must not be empty".into()));
    }
    if c.rtp.port_min == 0 || c.rtp.port_min >= c.rtp.port_max {
        return Err(bad(
            "rtp.port_min",
            format!(
                "range {}-{} is empty or starts at 0",
                c.rtp.port_min, c.rtp.port_max
            ),
        ));
    }
    let dsn = &c.database.dsn;
    if !dsn.is_empty()
        && !dsn.starts_with("sqlite://")
        && !dsn.starts_with("mysql://")
        && !dsn.starts_with("mariadb://")
    {
        return Err(bad("database.dsn", format!("{:?} must start with sqlite:// or mysql:// (or be a user:pass@tcp(host:port)/db DSN)", super::mask_url(dsn))));
    }
    for r in &c.database.readers {
        if !r.starts_with("mysql://") && !r.starts_with("mariadb://") {
            return Err(bad(
                "database.readers",
                format!("{:?} must be a mysql:// DSN", super::mask_url(r)),
            ));
        }
    }
    if c.database.max_connections == 0 {
        return Err(bad("database.max_connections", "must be at least 1".into()));
    }
    let bus = &c.bus.address;
    if bus != "inproc" && !bus.starts_with("amqp://") && !bus.starts_with("amqps://") {
        return Err(bad(
            "bus.address",
            format!(
                "{:?} must be `inproc` or an amqp:// URL",
                super::mask_url(bus)
            ),
        ));
    }
    if c.bus.rpc_timeout_ms == 0 {
        return Err(bad("bus.rpc_timeout_ms", "must be at least 1".into()));
    }
    let cache = &c.cache.address;
    if cache != "memory" && !cache.starts_with("redis://") && !cache.starts_with("rediss://") {
        return Err(bad(
            "cache.address",
            format!(
                "{:?} must be `memory` or a redis:// URL",
                super::mask_url(cache)
            ),
        ));
    }
    if c.cache.prefix.is_empty() || c.cache.prefix.chars().any(|ch| ch.is_whitespace()) {
        return Err(bad(
            "cache.prefix",
            format!("{:?} must be non-empty and without spaces", c.cache.prefix),
        ));
    }
    if crate::telemetry::LogFormat::parse(&c.log.format).is_none() {
        return Err(bad(
            "log.format",
            format!("{:?} must be auto, json or text", c.log.format),
        ));
    }
    if tracing_subscriber::EnvFilter::try_new(&c.log.level).is_err() {
        return Err(bad(
            "log.level",
            format!(
                "{:?} is not a log filter such as info or voxbin=debug",
                c.log.level
            ),
        ));
    }
    if c.api.body_limit_bytes == 0 || c.api.json_depth_limit == 0 {
        return Err(bad(
            "api.body_limit_bytes",
            "limits must be positive".into(),
        ));
    }
    if c.api.rate_limit_ip_per_sec == 0 || c.api.rate_limit_customer_per_sec == 0 {
        return Err(bad(
            "api.rate_limit_ip_per_sec",
            "rates must be positive".into(),
        ));
    }
    if c.auth.token_ttl_secs == 0 {
        return Err(bad("auth.token_ttl_secs", "must be at least 1".into()));
    }
    if !c.auth.jwt_secret.is_empty() && c.auth.jwt_secret.len() < 32 {
        return Err(bad(
            "auth.jwt_secret",
            "must be at least 32 characters".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
