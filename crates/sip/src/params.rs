//! `;name=value` parameter lists of URIs and header values, kept in order as written.
//! Names compare case-insensitively; values are kept verbatim (quoted strings keep their quotes).

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{find_top_level, is_token, trim_ws};

/// One `name[=value]` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name as written.
    pub name: String,
    /// Value as written (quotes kept), `None` for a flag such as `lr` or `rport`.
    pub value: Option<String>,
}

/// An ordered parameter list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// An empty list.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// `Some(value)` when the parameter is present (`Some(None)` for a flag).
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }

    /// The parameter's value when present with one.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    /// True when the parameter is present, with or without a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets (replacing) or appends a parameter.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value,
            None => self.0.push(Param {
                name: name.to_string(),
                value,
            }),
        }
    }

    /// Removes a parameter; true when it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        before != self.0.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Param> {
        self.0.iter()
    }

    /// Parses header parameters: `s` is the text after the first `;` (quotes respected).
    pub(crate) fn parse_header(s: &str) -> Result<Params, ParseError> {
        let mut out = Vec::new();
        for_each_header_param(s, |name, value| out.push(Param::new(name, value)))?;
        Ok(Params(out))
    }

    /// Parses URI parameters: `s` is the text after the first `;`, split on every `;`.
    pub(crate) fn parse_uri(s: &str) -> Result<Params, ParseError> {
        let mut out = Vec::new();
        for_each_uri_param(s, |name, value| out.push(Param::new(name, value)))?;
        Ok(Params(out))
    }

    /// Appends `;name[=value]` for every parameter.
    pub(crate) fn write(&self, out: &mut String) {
        for p in &self.0 {
            out.push(';');
            out.push_str(&p.name);
            if let Some(v) = &p.value {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

impl Param {
    fn new(name: &str, value: Option<&str>) -> Param {
        Param {
            name: name.to_string(),
            value: value.map(str::to_string),
        }
    }
}

/// Checks header parameters (`s` is the text after the first `;`, quotes respected) and calls
/// `each` with every name and value, trimmed; nothing is copied.
pub(crate) fn for_each_header_param<'a>(
    mut s: &'a str,
    mut each: impl FnMut(&'a str, Option<&'a str>),
) -> Result<(), ParseError> {
    loop {
        let (item, rest) = match find_top_level(s, b';') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let (name, value) = split_one(item)?;
        each(name, value);
        match rest {
            Some(r) => s = r,
            None => return Ok(()),
        }
    }
}

/// Checks URI parameters (`s` is the text after the first `;`, split on every `;`) and calls
/// `each` with every name and value; nothing is copied.
pub(crate) fn for_each_uri_param<'a>(
    s: &'a str,
    mut each: impl FnMut(&'a str, Option<&'a str>),
) -> Result<(), ParseError> {
    for item in s.split(';') {
        let (name, value) = split_one(item)?;
        each(name, value);
    }
    Ok(())
}

/// Checks one `name[=value]` item and returns its name and value, trimmed.
fn split_one(item: &str) -> Result<(&str, Option<&str>), ParseError> {
    let (name, value) = match item.find('=') {
        Some(i) => (trim_ws(&item[..i]), Some(trim_ws(&item[i + 1..]))),
        None => (trim_ws(item), None),
    };
    if !is_token(name) {
        return Err(ParseError::bad("Bad parameter name"));
    }
    if let Some(v) = value {
        if v.is_empty() || v.bytes().any(|b| b < b' ' && b != b'\t') {
            return Err(ParseError::bad("Bad parameter value"));
        }
        if v.starts_with('"') && (v.len() < 2 || !v.ends_with('"')) {
            return Err(ParseError::bad("Bad quoted parameter value"));
        }
        if !v.starts_with('"') && v.bytes().any(|b| b == b' ' || b == b'\t' || b == b'"') {
            return Err(ParseError::bad("Bad parameter value"));
        }
    }
    Ok((name, value))
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = &'a Param;
    type IntoIter = std::slice::Iter<'a, Param>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_keep_quotes_and_flags() {
        let p = Params::parse_header(r#"tag=abc; lr ;+sip.instance="<urn:uuid:1;2>""#).unwrap();
        assert_eq!(p.get("TAG"), Some(Some("abc")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("+sip.instance"), Some(r#""<urn:uuid:1;2>""#));
        assert_eq!(
            p.to_string(),
            r#";tag=abc;lr;+sip.instance="<urn:uuid:1;2>""#
        );
    }

    #[test]
    fn set_and_remove_work_in_place() {
        let mut p = Params::parse_uri("transport=tcp;lr").unwrap();
        p.set("transport", Some("tls"));
        p.set("maddr", Some("10.0.0.1"));
        assert!(p.remove("lr"));
        assert!(!p.remove("lr"));
        assert_eq!(p.to_string(), ";transport=tls;maddr=10.0.0.1");
    }

    #[test]
    fn bad_params_are_errors() {
        assert!(Params::parse_header("=x").is_err());
        assert!(Params::parse_header("a=").is_err());
        assert!(Params::parse_header("a=\"x").is_err());
        assert!(Params::parse_header("a=b c").is_err());
        assert!(Params::parse_uri("a;;b").is_err());
    }
}
