//! The text of a transaction key (a branch, a sent-by): kept inline when short, as nearly all
//! are, so that a key owns its bytes without an allocation and without holding on to the
//! datagram it was read from for the transaction's 32 s.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest text kept inline (RFC 3261 branches of common phones and proxies, any IPv4 sent-by).
const INLINE: usize = 38;

/// Immutable text, inline up to 38 bytes, on the heap beyond.
#[derive(Clone)]
pub struct KeyText(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl KeyText {
    /// The empty text.
    pub const fn new() -> KeyText {
        KeyText(Repr::Inline {
            len: 0,
            bytes: [0; INLINE],
        })
    }

    /// `s` in lower case (ASCII letters only, as sent-by hosts compare).
    pub(crate) fn lowercase(s: &str) -> KeyText {
        let mut text = KeyText::from(s);
        match &mut text.0 {
            Repr::Inline { len, bytes } => bytes[..usize::from(*len)].make_ascii_lowercase(),
            Repr::Heap(b) => b.make_ascii_lowercase(),
        }
        text
    }

    /// The bytes of the text (compared and hashed without a UTF-8 check).
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(b) => b.as_bytes(),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // only whole `&str`s are copied in, so the bytes are UTF-8
            Repr::Inline { .. } => std::str::from_utf8(self.bytes()).unwrap_or_default(),
            Repr::Heap(b) => b,
        }
    }
}

impl Default for KeyText {
    fn default() -> Self {
        KeyText::new()
    }
}

impl From<&str> for KeyText {
    fn from(s: &str) -> Self {
        if s.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            KeyText(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            KeyText(Repr::Heap(s.into()))
        }
    }
}

impl From<String> for KeyText {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            KeyText::from(s.as_str())
        } else {
            KeyText(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl Deref for KeyText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for KeyText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for KeyText {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for KeyText {}

impl PartialEq<str> for KeyText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for KeyText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for KeyText {
    // as `str` hashes, which `Borrow<str>` requires
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.bytes());
        state.write_u8(0xff);
    }
}

impl fmt::Debug for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash(t: &KeyText) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn short_and_long_texts_compare_and_hash_by_content() {
        let short = "z9hG4bK-1234-1-0";
        let long = "z9hG4bKPj0f8e3a4c-7c1d-4b8e-9a0b-123456789abc";
        for s in [
            short,
            long,
            "",
            &"x".repeat(INLINE),
            &"y".repeat(INLINE + 1),
        ] {
            let a = KeyText::from(s);
            let b = KeyText::from(s.to_string());
            assert_eq!(a.as_str(), s);
            assert_eq!(a, b);
            assert_eq!(hash(&a), hash(&b));
            let mut h = DefaultHasher::new();
            s.hash(&mut h);
            assert_eq!(hash(&a), h.finish(), "hashes as str does");
            assert_eq!(a.clone(), a);
            assert_eq!(a.to_string(), s);
        }
        assert_ne!(KeyText::from(short), KeyText::from(long));
        assert_eq!(KeyText::lowercase("Host.Example:5060"), "host.example:5060");
        assert_eq!(
            KeyText::lowercase(&"AB".repeat(30)),
            "ab".repeat(30).as_str()
        );
        assert_eq!(KeyText::new(), KeyText::default());
    }
}
