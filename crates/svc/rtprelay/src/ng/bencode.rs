//! Bencode, the encoding of rtpengine's ng control protocol: integers `i42e`, byte strings
//! `4:spam`, lists `l...e` and dictionaries `d...e`. The parser bounds nesting and never panics
//! on input; the encoder writes dictionaries in the order they were built.

use std::fmt;

/// Deepest nesting the parser accepts (ng messages are two or three levels deep).
const MAX_DEPTH: usize = 32;

/// One bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Value>),
    /// A dictionary, keys in wire order.
    Dict(Vec<(Vec<u8>, Value)>),
}

/// Why bytes are not bencode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad bencode at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

impl Value {
    /// A byte string from text.
    pub fn str(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    /// The value under `key` when this is a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .find(|(k, _)| k.as_slice() == key.as_bytes())
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as UTF-8 text when it is a byte string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The text under `key`, if it is a UTF-8 byte string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The byte strings of a list under `key` (non-strings skipped; absent is empty).
    pub fn get_strs(&self, key: &str) -> Vec<&str> {
        match self.get(key) {
            Some(Value::List(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(v) => v.as_str().into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// Appends the encoding of this value to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(i) => {
                out.push(b'i');
                out.extend_from_slice(i.to_string().as_bytes());
                out.push(b'e');
            }
            Value::Bytes(b) => encode_bytes(b, out),
            Value::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            Value::Dict(entries) => {
                out.push(b'd');
                for (k, v) in entries {
                    encode_bytes(k, out);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }

    /// The encoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// Builds a dictionary from text keys.
pub fn dict<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect(),
    )
}

/// Decodes exactly one value filling all of `input`.
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    let mut p = Parser { input, pos: 0 };
    let v = p.value(0)?;
    if p.pos != input.len() {
        return Err(p.err("trailing bytes after the value"));
    }
    Ok(v)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.err("unexpected end"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                let n = self.number(b'e')?;
                Ok(Value::Int(n))
            }
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut entries = Vec::new();
                while self.peek()? != b'e' {
                    if !self.peek()?.is_ascii_digit() {
                        return Err(self.err("dictionary key is not a byte string"));
                    }
                    let k = self.bytes()?;
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            _ => Err(self.err("not a bencode value")),
        }
    }

    /// A decimal integer up to the terminator, which is consumed.
    fn number(&mut self, end: u8) -> Result<i64, DecodeError> {
        let start = self.pos;
        let rest = &self.input[start..];
        let len = rest
            .iter()
            .position(|&b| b == end)
            .ok_or_else(|| self.err("number without its terminator"))?;
        let text =
            std::str::from_utf8(&rest[..len]).map_err(|_| self.err("number is not ASCII"))?;
        let valid = !text.is_empty()
            && text != "-"
            && text
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'));
        if !valid {
            return Err(self.err("not a decimal number"));
        }
        let n = text.parse().map_err(|_| self.err("number out of range"))?;
        self.pos = start + len + 1;
        Ok(n)
    }

    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let len = self.number(b':')?;
        let len = usize::try_from(len).map_err(|_| self.err("negative string length"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.input.len())
            .ok_or_else(|| self.err("string runs past the end"))?;
        let b = self.input[self.pos..end].to_vec();
        self.pos = end;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_an_ng_offer() {
        let v = decode(b"d7:command5:offer7:call-id3:abc5:flagsl13:trust-addressee").unwrap();
        assert_eq!(v.get_str("command"), Some("offer"));
        assert_eq!(v.get_str("call-id"), Some("abc"));
        assert_eq!(v.get_strs("flags"), vec!["trust-address"]);
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn encodes_and_round_trips() {
        let v = dict([
            ("result", Value::str("ok")),
            ("n", Value::Int(-7)),
            ("l", Value::List(vec![Value::Int(0), Value::str("")])),
        ]);
        let bytes = v.encode();
        assert_eq!(bytes, b"d6:result2:ok1:ni-7e1:lli0e0:ee".to_vec());
        assert_eq!(decode(&bytes).unwrap(), v);
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in [
            &b""[..],
            b"i12",
            b"ie",
            b"i-e",
            b"i1x2e",
            b"5:abc",
            b"-1:a",
            b"d3:abce",
            b"di1ei2ee",
            b"l",
            b"x",
            b"i1ei2e",
            b"99999999999999999999999:a",
        ] {
            assert!(
                decode(bad).is_err(),
                "{:?} should not decode",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "l".repeat(100) + &"e".repeat(100);
        assert_eq!(
            decode(deep.as_bytes()).unwrap_err().reason,
            "nested too deeply"
        );
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
                proptest::collection::vec(
                    (proptest::collection::vec(any::<u8>(), 0..8), inner),
                    0..6
                )
                .prop_map(Value::Dict),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(v in value(), at in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = v.encode();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
            let _ = decode(&bytes);
        }

        #[test]
        fn encode_then_decode_is_identity(v in value()) {
            prop_assert_eq!(decode(&v.encode()).unwrap(), v);
        }
    }
}
