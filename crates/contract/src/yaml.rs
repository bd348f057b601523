//! YAML text to `serde_json::Value`, via the pure-Rust `yaml-rust2` parser.

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses a single-document YAML text into JSON.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("YAML parse error: {e}"))?;
    let mut docs = docs.into_iter();
    let first = docs.next().ok_or("YAML text holds no document")?;
    if docs.next().is_some() {
        return Err("YAML text holds more than one document".into());
    }
    to_json(first, "")
}

fn to_json(y: Yaml, at: &str) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(s) => {
            let f = y_real(&s).ok_or_else(|| format!("{at}: bad YAML number {s:?}"))?;
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{at}: non-finite number {s:?} has no JSON form"))?
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| to_json(v, &format!("{at}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Hash(h) => {
            let mut m = Map::with_capacity(h.len());
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Null => "null".to_string(),
                    other => return Err(format!("{at}: unsupported YAML map key {other:?}")),
                };
                let child = format!("{at}/{key}");
                m.insert(key, to_json(v, &child)?);
            }
            Value::Object(m)
        }
        Yaml::Alias(_) => return Err(format!("{at}: YAML aliases are not supported")),
        Yaml::BadValue => return Err(format!("{at}: invalid YAML value")),
    })
}

fn y_real(s: &str) -> Option<f64> {
    Yaml::Real(s.to_string()).as_f64()
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn yaml_scalars_maps_and_lists_become_json() {
        let v = parse("a: 1\nb: 0.5\n'200': x\nc: [true, null, 'q']\nd:\n  e: -3\n").unwrap();
        assert_eq!(
            v,
            json!({"a": 1, "b": 0.5, "200": "x", "c": [true, null, "q"], "d": {"e": -3}})
        );
    }

    #[test]
    fn yaml_errors_are_reported() {
        assert!(parse("a: [1, 2\n").is_err());
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        // Aliases are resolved by the loader.
        assert_eq!(parse("a: &x 1\nb: *x\n").unwrap(), json!({"a": 1, "b": 1}));
    }
}
